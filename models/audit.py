"""The append-only audit trail: sensitive reads and every write."""

from typing import Any

from tortoise import fields
from tortoise.exceptions import OperationalError
from tortoise.models import Model

from models.enums import Outcome

__all__ = ["AuditRecord", "Outcome"]


class AuditRecord(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    person_id = fields.IntField(null=True, db_index=True)
    token_id = fields.IntField(null=True)
    role = fields.CharField(max_length=20, default="")
    action = fields.CharField(max_length=60, db_index=True)
    subject_type = fields.CharField(max_length=40, default="")
    subject_ids: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    field = fields.CharField(max_length=60, default="")
    outcome = fields.CharEnumField(Outcome, max_length=8)
    client_address = fields.CharField(max_length=64, default="")
    unit_path = fields.CharField(max_length=255, default="", db_index=True)
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "audit_record"

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if self._saved_in_db:
            raise OperationalError("audit records are append-only")
        await super().save(*args, **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise OperationalError("audit records are append-only")
