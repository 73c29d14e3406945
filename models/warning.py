"""Warnings (预警) raised by scheduled checks and cured by the actions that fix them."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import WarningKind

__all__ = ["Warning"]


class Warning(Model):
    # ``key`` names the condition (e.g. ``VISIT_OVERDUE:beneficiary:7``): while a
    # warning with that key is open, raising it again changes nothing.
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(WarningKind, max_length=20)
    unit: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="warnings", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    subject_type = fields.CharField(max_length=40)
    subject_id = fields.IntField()
    key = fields.CharField(max_length=160, db_index=True)
    # Only one open warning per key: a NULL-free marker column, cleared on cure,
    # carries the unique constraint on both databases.
    open_key = fields.CharField(max_length=160, null=True, unique=True)
    raised_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    resolved_by_id = fields.IntField(null=True)
    resolution = fields.CharField(max_length=200, default="")
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    unit_id: int

    class Meta:
        table = "warning"
        indexes = (("subject_type", "subject_id"),)
