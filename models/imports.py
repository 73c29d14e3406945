"""Imports of files from departments and registers: each run and its row report."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import ImportOutcome, ImportStatus

__all__ = ["ImportRowReport", "ImportRun"]


class ImportRun(Model):
    id = fields.IntField(primary_key=True)
    # What was imported: ``PROPERTY_REGISTER``, ``BENEFICIARIES:ZHELIJIU``, ...
    kind = fields.CharField(max_length=60, db_index=True)
    unit: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="imports", null=True, on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, default="", db_index=True)
    # A further target inside the unit, e.g. the estate of a register.
    target_type = fields.CharField(max_length=40, default="")
    target_id = fields.IntField(null=True)
    filename = fields.CharField(max_length=200)
    digest = fields.CharField(max_length=64)
    started_by_id = fields.IntField(null=True)
    token_id = fields.IntField(null=True)
    status = fields.CharEnumField(ImportStatus, max_length=10)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    total_rows = fields.IntField(default=0)
    done_rows = fields.IntField(default=0)
    counts: fields.JSONField[dict[str, int]] = fields.JSONField(default=dict)
    failure = fields.CharField(max_length=300, default="")

    unit_id: int | None

    class Meta:
        table = "import_run"


class ImportRowReport(Model):
    # One row that was refused or merged, or changed something worth saying.
    id = fields.IntField(primary_key=True)
    run: fields.ForeignKeyRelation[ImportRun] = fields.ForeignKeyField(
        "models.ImportRun", related_name="reports", on_delete=fields.CASCADE
    )
    row_number = fields.IntField()
    outcome = fields.CharEnumField(ImportOutcome, max_length=10)
    code = fields.CharField(max_length=60, default="")
    message = fields.CharField(max_length=300, default="")

    run_id: int

    class Meta:
        table = "import_row_report"
        indexes = (("run_id", "row_number"),)
