"""Three-party coordination (三方协调): the duties of an estate's three parties,
broken into checkable items, and the checks recorded against them."""

from tortoise import fields
from tortoise.models import Model

from models.enums import DutyFrequency, DutyParty
from models.file import StoredFile
from models.org import Estate

__all__ = ["DutyCheck", "DutyItem"]


class DutyItem(Model):
    # A small duty of one party in one estate, due once per ``frequency``.

    id = fields.IntField(primary_key=True)
    estate: fields.ForeignKeyRelation[Estate] = fields.ForeignKeyField(
        "models.Estate", related_name="duty_items", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    party = fields.CharEnumField(DutyParty, max_length=20)
    title = fields.CharField(max_length=100)
    description = fields.CharField(max_length=500, default="")
    frequency = fields.CharEnumField(DutyFrequency, max_length=10)
    starts_on = fields.DateField()
    ended_on = fields.DateField(null=True)
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    estate_id: int

    class Meta:
        table = "duty_item"


class DutyCheck(Model):
    # The item was done for one period (``2026-W05``, ``2026-01``, ``2026-Q1``,
    # ``2026``), with its evidence.

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[DutyItem] = fields.ForeignKeyField(
        "models.DutyItem", related_name="checks", on_delete=fields.RESTRICT
    )
    estate_id = fields.IntField(db_index=True)
    unit_path = fields.CharField(max_length=255, db_index=True)
    period_key = fields.CharField(max_length=10)
    checked_on = fields.DateField()
    note = fields.CharField(max_length=500, default="")
    evidence: fields.ForeignKeyNullableRelation[StoredFile] = fields.ForeignKeyField(
        "models.StoredFile",
        related_name="duty_checks",
        null=True,
        on_delete=fields.RESTRICT,
    )
    checked_by_id = fields.IntField(null=True)
    token_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    item_id: int
    evidence_id: int | None

    class Meta:
        table = "duty_check"
        unique_together = (("item", "period_key"),)
