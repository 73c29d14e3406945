"""Service requests (你说我做): categories, requests, their history, and joins.

A request's ``unit_path`` is the path of the community it lies in, so staff
scoping works as for every row below the units. ``handler_organization`` is the
property company or department it is dispatched to (none for the community).
"""

from tortoise import fields
from tortoise.models import Model

from models.enums import HandlerKind, RequestAction, RequestStage
from models.org import Estate, OrgUnit
from models.organization import Organization
from models.person import Person

__all__ = ["RequestCategory", "RequestJoin", "RequestStep", "ServiceRequest"]


class RequestCategory(Model):
    # Configuration: what residents may ask for, who handles it, how fast.

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=50)
    description = fields.CharField(max_length=500, default="")
    group = fields.CharField(max_length=50, default="")
    keywords = fields.CharField(max_length=200, default="")
    handler_kind = fields.CharEnumField(HandlerKind, max_length=20)
    department: fields.ForeignKeyNullableRelation[Organization] = (
        fields.ForeignKeyField(
            "models.Organization",
            related_name="request_categories",
            null=True,
            on_delete=fields.RESTRICT,
        )
    )
    deadline_hours = fields.IntField()
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    department_id: int | None

    class Meta:
        table = "request_category"


class ServiceRequest(Model):
    id = fields.IntField(primary_key=True)
    category: fields.ForeignKeyRelation[RequestCategory] = fields.ForeignKeyField(
        "models.RequestCategory", related_name="requests", on_delete=fields.RESTRICT
    )
    raised_by: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person",
        related_name="service_requests",
        on_delete=fields.RESTRICT,
        db_index=True,
    )
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="service_requests", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    estate: fields.ForeignKeyNullableRelation[Estate] = fields.ForeignKeyField(
        "models.Estate",
        related_name="service_requests",
        null=True,
        on_delete=fields.RESTRICT,
        db_index=True,
    )
    text = fields.CharField(max_length=4000)
    address = fields.CharField(max_length=200, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    photo_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    # Shared into the library of small needs (微需求), which others may join.
    is_public = fields.BooleanField(default=False)
    join_count = fields.IntField(default=0)

    stage = fields.CharEnumField(RequestStage, max_length=16, db_index=True)
    handler_kind = fields.CharEnumField(HandlerKind, max_length=20, null=True)
    handler_organization: fields.ForeignKeyNullableRelation[Organization] = (
        fields.ForeignKeyField(
            "models.Organization",
            related_name="handled_requests",
            null=True,
            on_delete=fields.RESTRICT,
            db_index=True,
        )
    )
    due_at = fields.DatetimeField(null=True, db_index=True)
    escalation_level = fields.SmallIntField(default=0)
    reopen_count = fields.SmallIntField(default=0)
    rating = fields.SmallIntField(null=True)
    comment = fields.CharField(max_length=1000, default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    category_id: int
    raised_by_id: int
    unit_id: int
    estate_id: int | None
    handler_organization_id: int | None

    class Meta:
        table = "service_request"


class RequestStep(Model):
    # One step of a request's history: who did what, when, from which stage.

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[ServiceRequest] = fields.ForeignKeyField(
        "models.ServiceRequest",
        related_name="steps",
        on_delete=fields.CASCADE,
        db_index=True,
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    action = fields.CharEnumField(RequestAction, max_length=16)
    from_stage = fields.CharEnumField(RequestStage, max_length=16, null=True)
    to_stage = fields.CharEnumField(RequestStage, max_length=16)
    actor_person_id = fields.IntField(null=True)
    actor_token_id = fields.IntField(null=True)
    actor_role = fields.CharField(max_length=20)
    note = fields.CharField(max_length=1000, default="")
    photo_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    at = fields.DatetimeField()

    request_id: int

    class Meta:
        table = "request_step"


class RequestJoin(Model):
    # Another resident adds their voice (+1) to a shared request, once.

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[ServiceRequest] = fields.ForeignKeyField(
        "models.ServiceRequest",
        related_name="joins",
        on_delete=fields.CASCADE,
        db_index=True,
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="request_joins", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    at = fields.DatetimeField()

    request_id: int
    person_id: int

    class Meta:
        table = "request_join"
        unique_together = (("request", "person"),)
