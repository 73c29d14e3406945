"""Webhooks a property firm registers, and each signed delivery to them.

The secret signs deliveries (HMAC-SHA256), so it is kept: it is shown to the
firm once, at registration, and no field of the schema ever reads it again.
A delivery row is written in the same transaction as the change it reports
(an outbox), then sent and retried by a job.
"""

from tortoise import fields
from tortoise.models import Model

from models.enums import DeliveryStatus
from models.organization import Organization

__all__ = ["Webhook", "WebhookDelivery"]


class Webhook(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="webhooks", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    url = fields.CharField(max_length=500)
    secret = fields.CharField(max_length=100)
    events: fields.JSONField[list[str]] = fields.JSONField(default=list)
    is_active = fields.BooleanField(default=True)
    created_by_token_id = fields.IntField(null=True)
    created_by_person_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    organization_id: int

    class Meta:
        table = "webhook"


class WebhookDelivery(Model):
    id = fields.IntField(primary_key=True)
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "models.Webhook",
        related_name="deliveries",
        on_delete=fields.CASCADE,
        db_index=True,
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    event = fields.CharField(max_length=40)
    subject_id = fields.IntField()
    body = fields.TextField()
    status = fields.CharEnumField(DeliveryStatus, max_length=12, db_index=True)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    webhook_id: int

    class Meta:
        table = "webhook_delivery"
