"""Notifications stored for a person: reminders, escalations, what needs them."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.person import Person

__all__ = ["Notification"]


class Notification(Model):
    # One message to one person. ``key`` makes producers idempotent: a job that
    # runs twice stores a reminder once (unique per person and key).
    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation["Person"] = fields.ForeignKeyField(
        "models.Person", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=40)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    subject_type = fields.CharField(max_length=40, default="")
    subject_id = fields.IntField(null=True)
    unit_path = fields.CharField(max_length=255, default="")
    key = fields.CharField(max_length=160)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    person_id: int

    class Meta:
        table = "notification"
        unique_together = (("person", "key"),)
        indexes = (("person_id", "read_at"),)
