"""The org hierarchy: units from province to grid, then estates, buildings, households.

Every unit carries a materialised path of its ancestors' ids (``/1/4/27/``), so a
subtree is one ``LIKE 'prefix%'`` on either database. Rows below the units copy the
path of the unit they belong to into ``unit_path``, which is what jurisdiction
scoping filters on.
"""

from tortoise import fields
from tortoise.models import Model

from models.enums import CommunityKind, Level

__all__ = ["Building", "CommunityKind", "Estate", "Household", "Level", "OrgUnit"]


class OrgUnit(Model):
    id = fields.IntField(primary_key=True)
    parent: fields.ForeignKeyNullableRelation["OrgUnit"] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    level = fields.CharEnumField(Level, max_length=16)
    kind = fields.CharEnumField(CommunityKind, max_length=8, null=True)
    name = fields.CharField(max_length=100)
    code = fields.CharField(max_length=32, unique=True)
    path = fields.CharField(max_length=255, db_index=True)
    depth = fields.SmallIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    parent_id: int | None

    class Meta:
        table = "org_unit"


class Estate(Model):
    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="estates", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    name = fields.CharField(max_length=100)
    address = fields.CharField(max_length=200, default="")
    built_year = fields.SmallIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    unit_id: int

    class Meta:
        table = "estate"


class Building(Model):
    id = fields.IntField(primary_key=True)
    estate: fields.ForeignKeyRelation[Estate] = fields.ForeignKeyField(
        "models.Estate", related_name="buildings", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    name = fields.CharField(max_length=50)
    floors = fields.SmallIntField(default=1)

    estate_id: int

    class Meta:
        table = "building"


class Household(Model):
    # A dwelling and the people registered in it; in a village, a house.

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="households", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    building: fields.ForeignKeyNullableRelation[Building] = fields.ForeignKeyField(
        "models.Building",
        related_name="households",
        null=True,
        on_delete=fields.RESTRICT,
    )
    address = fields.CharField(max_length=200)

    unit_id: int
    building_id: int | None

    class Meta:
        table = "household"
