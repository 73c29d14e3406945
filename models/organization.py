"""Organisations attached to org units, and which estates a property company manages."""

from tortoise import fields
from tortoise.models import Model

from models.enums import OrganizationKind
from models.org import Estate, OrgUnit

__all__ = ["EstateManagement", "Organization", "OrganizationKind"]


class Organization(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(OrganizationKind, max_length=24)
    name = fields.CharField(max_length=120)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="organizations", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    estate: fields.ForeignKeyNullableRelation[Estate] = fields.ForeignKeyField(
        "models.Estate",
        related_name="organizations",
        null=True,
        on_delete=fields.RESTRICT,
    )
    credit_code = fields.CharField(max_length=18, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    unit_id: int
    estate_id: int | None

    class Meta:
        table = "organization"


class EstateManagement(Model):
    # A property company manages an estate from ``starts_on`` until ``ends_on``.

    id = fields.IntField(primary_key=True)
    company: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="managements", on_delete=fields.RESTRICT
    )
    estate: fields.ForeignKeyRelation[Estate] = fields.ForeignKeyField(
        "models.Estate", related_name="managements", on_delete=fields.RESTRICT
    )
    starts_on = fields.DateField()
    ends_on = fields.DateField(null=True)

    company_id: int
    estate_id: int

    class Meta:
        table = "estate_management"
