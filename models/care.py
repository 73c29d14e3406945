"""Beneficiaries (补助走访对象), their tags, visits (民情走访), orders and tracks.

A beneficiary is one person per resident ID number, whatever the departments'
lists that name them. The number is matched by its keyed fingerprint; the clear
number is kept only for the few who may read it (a sensitive field). Locations
are stored in WGS-84. Rows carry the path of their community (or grid) in
``unit_path``, which is what jurisdiction scoping filters on.
"""

from tortoise import fields
from tortoise.models import Model

from models.enums import (
    BeneficiarySource,
    BeneficiaryStatus,
    BeneficiaryTagKind,
    TagReview,
    TagStatus,
    VisitKind,
    VisitOrderReason,
    VisitOrderStatus,
    VisitStatus,
)
from models.file import StoredFile
from models.org import Household, OrgUnit
from models.person import Person

__all__ = [
    "Beneficiary",
    "BeneficiaryTag",
    "CareSetting",
    "TrackPoint",
    "Visit",
    "VisitOrder",
    "VisitPhoto",
]


class Beneficiary(Model):
    id = fields.IntField(primary_key=True)
    id_fingerprint = fields.CharField(max_length=64, unique=True)
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50)
    gender = fields.CharField(max_length=1, null=True)
    birth_date = fields.DateField(null=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="beneficiaries", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    address = fields.CharField(max_length=200, default="")
    # The platform's own records of the same person and dwelling, where found.
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person",
        related_name="beneficiary_records",
        null=True,
        on_delete=fields.SET_NULL,
    )
    household: fields.ForeignKeyNullableRelation[Household] = fields.ForeignKeyField(
        "models.Household",
        related_name="beneficiaries",
        null=True,
        on_delete=fields.SET_NULL,
    )
    # The cadre who answers for the visits.
    responsible: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person",
        related_name="beneficiaries_in_charge",
        null=True,
        on_delete=fields.SET_NULL,
    )
    carer_name = fields.CharField(max_length=50, default="")
    carer_phone = fields.CharField(max_length=20, default="")
    carer_gone = fields.BooleanField(default=False)
    health = fields.CharField(max_length=200, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    status = fields.CharEnumField(
        BeneficiaryStatus, max_length=10, default=BeneficiaryStatus.ACTIVE
    )
    deceased_on = fields.DateField(null=True)
    listed_at = fields.DatetimeField()
    last_visit_at = fields.DatetimeField(null=True)
    # The shortest interval of the active tags, and when the next visit is due.
    interval_days = fields.IntField(null=True)
    visit_due_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    unit_id: int
    person_id: int | None
    household_id: int | None
    responsible_id: int | None

    class Meta:
        table = "beneficiary"


class BeneficiaryTag(Model):
    # One department's finding about a beneficiary (低保, 残疾 with its grade, ...).

    id = fields.IntField(primary_key=True)
    beneficiary: fields.ForeignKeyRelation[Beneficiary] = fields.ForeignKeyField(
        "models.Beneficiary", related_name="tags", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    kind = fields.CharEnumField(BeneficiaryTagKind, max_length=24)
    source = fields.CharEnumField(BeneficiarySource, max_length=24)
    grade = fields.CharField(max_length=20, default="")
    detail = fields.CharField(max_length=100, default="")
    starts_on = fields.DateField(null=True)
    ends_on = fields.DateField(null=True)
    status = fields.CharEnumField(TagStatus, max_length=8, default=TagStatus.ACTIVE)
    review = fields.CharEnumField(TagReview, max_length=12, null=True)
    evidence: fields.ForeignKeyNullableRelation[StoredFile] = fields.ForeignKeyField(
        "models.StoredFile",
        related_name="beneficiary_tags",
        null=True,
        on_delete=fields.SET_NULL,
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    beneficiary_id: int
    evidence_id: int | None

    class Meta:
        table = "beneficiary_tag"
        unique_together = (("beneficiary", "kind", "source"),)


class CareSetting(Model):
    # Configuration of the care domain: visit intervals per tag, check-in limits.

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=40, unique=True)
    value = fields.IntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "care_setting"


class VisitOrder(Model):
    # 派单: a visit ordered by an official or the system, to a cadre, by a deadline.

    id = fields.IntField(primary_key=True)
    beneficiary: fields.ForeignKeyRelation[Beneficiary] = fields.ForeignKeyField(
        "models.Beneficiary", related_name="orders", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    assignee: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="visit_orders", on_delete=fields.RESTRICT
    )
    issued_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person",
        related_name="visit_orders_issued",
        null=True,
        on_delete=fields.SET_NULL,
    )
    reason = fields.CharEnumField(VisitOrderReason, max_length=16)
    note = fields.CharField(max_length=200, default="")
    deadline = fields.DatetimeField()
    status = fields.CharEnumField(
        VisitOrderStatus, max_length=8, default=VisitOrderStatus.OPEN
    )
    # Orders made by the system are made once per key.
    key = fields.CharField(max_length=80, unique=True, null=True)
    closed_reason = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    beneficiary_id: int
    assignee_id: int
    issued_by_id: int | None

    class Meta:
        table = "visit_order"


class Visit(Model):
    id = fields.IntField(primary_key=True)
    beneficiary: fields.ForeignKeyRelation[Beneficiary] = fields.ForeignKeyField(
        "models.Beneficiary", related_name="visits", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    kind = fields.CharEnumField(VisitKind, max_length=10)
    order: fields.ForeignKeyNullableRelation[VisitOrder] = fields.ForeignKeyField(
        "models.VisitOrder", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    visitor: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="visits_made", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(VisitStatus, max_length=10)
    checked_in_at = fields.DatetimeField(db_index=True)
    latitude = fields.FloatField()
    longitude = fields.FloatField()
    accuracy_m = fields.FloatField()
    distance_m = fields.FloatField()
    situation = fields.TextField(default="")
    needs = fields.TextField(default="")
    reported_at = fields.DatetimeField(null=True)

    beneficiary_id: int
    order_id: int | None
    visitor_id: int

    class Meta:
        table = "visit"


class VisitPhoto(Model):
    id = fields.IntField(primary_key=True)
    visit: fields.ForeignKeyRelation[Visit] = fields.ForeignKeyField(
        "models.Visit", related_name="photos", on_delete=fields.RESTRICT
    )
    file: fields.ForeignKeyRelation[StoredFile] = fields.ForeignKeyField(
        "models.StoredFile", related_name="visit_photos", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)

    visit_id: int
    file_id: int

    class Meta:
        table = "visit_photo"


class TrackPoint(Model):
    # One point of a cadre's route of the day, in WGS-84.

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="track_points", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    at = fields.DatetimeField()
    latitude = fields.FloatField()
    longitude = fields.FloatField()
    accuracy_m = fields.FloatField(null=True)

    person_id: int

    class Meta:
        table = "track_point"
        unique_together = (("person", "at"),)
