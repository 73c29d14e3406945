"""Webhooks of property firms and their deliveries in the schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from models import Webhook as WebhookModel
from models import WebhookDelivery as WebhookDeliveryModel
from models.enums import DeliveryStatus, Role
from permissions.rules import VISIBLE, HasRole
from permissions.scope import visible
from resolvers import webhook as webhook_rules
from resolvers.base import Invalid
from resolvers.loaders import columns
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    failed,
    field,
    payload,
    rows,
    structural,
)
from schema.node import register_node

__all__ = ["WebhookMutation", "WebhookQuery"]

DeliveryStatusType = strawberry.enum(
    DeliveryStatus, description="Whether a delivery reached the firm's system."
)
FIRMS = HasRole(Role.ADMIN, Role.OFFICIAL, Role.PROPERTY_COMPANY)


@strawberry.type(description="One signed POST of an event to a webhook.")
class WebhookDelivery(Node):
    event: str = field(VISIBLE, "The event, e.g. request.dispatched.")
    status: DeliveryStatusType = field(VISIBLE, "Pending, delivered or failed.")  # type: ignore[valid-type]
    attempts: int = field(VISIBLE, "Attempts made so far.")
    next_attempt_at: datetime = field(VISIBLE, "When it is tried next, if pending.")
    last_status_code: int | None = field(VISIBLE, "The HTTP status last answered.")
    last_error: str = field(VISIBLE, "Why the last attempt failed, if it did.")
    created_at: datetime = field(VISIBLE, "When the event happened.")
    delivered_at: datetime | None = field(VISIBLE, "When the firm took it.")
    body: str = field(VISIBLE, "The JSON body, as signed and sent.")


@strawberry.type(description="An address in a firm's system that receives events.")
class Webhook(Node):
    url: str = field(VISIBLE, "Where deliveries are POSTed.")
    events: list[str] = field(VISIBLE, "The events it receives.")
    is_active: bool = field(VISIBLE, "False once removed.")
    created_at: datetime = field(VISIBLE, "When it was registered.")

    @field(VISIBLE, "Its deliveries, oldest first.")
    async def deliveries(
        self, info: AppInfo, first: int = 20, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        queryset = visible(WebhookDeliveryModel, info.context.caller).filter(
            webhook_id=as_row(self)["id"]
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


register_node("Webhook", WebhookModel)
register_node("WebhookDelivery", WebhookDeliveryModel)


@strawberry.type
class WebhookQuery:
    @field(FIRMS, "The caller's firm's webhooks (officials: of firms under them).")
    async def webhooks(self, info: AppInfo, active_only: bool = True) -> list[Webhook]:
        queryset = visible(WebhookModel, info.context.caller)
        if active_only:
            queryset = queryset.filter(is_active=True)
        found = await queryset.order_by("id").values(*columns(WebhookModel))
        return rows(Webhook, found)


@structural
@strawberry.type(description="A registered webhook and its secret, shown this once.")
class WebhookCreatePayload:
    errors: list[UserErrorType]
    webhook: Webhook | None
    secret: str | None = strawberry.field(
        description="Signs every delivery (HMAC-SHA256); it is not shown again."
    )


@structural
@strawberry.type(description="The result of removing a webhook.")
class WebhookDeletePayload:
    errors: list[UserErrorType]
    webhook: Webhook | None


@strawberry.type
class WebhookMutation:
    @field(
        HasRole(Role.PROPERTY_COMPANY),
        "Register a webhook of the caller's company; events default to all.",
    )
    async def webhook_create(
        self, info: AppInfo, url: str, events: list[str] | None = None
    ) -> WebhookCreatePayload:
        try:
            made = await webhook_rules.create_webhook(info.context, url, events or [])
        except Invalid as invalid:
            return failed(invalid, "webhook", "secret")  # type: ignore[no-any-return]
        return payload(webhook=made.row, secret=made.secret)  # type: ignore[no-any-return]

    @field(FIRMS, "Remove a webhook; its delivery records stay.")
    async def webhook_delete(
        self, info: AppInfo, id: strawberry.ID
    ) -> WebhookDeletePayload:
        _, pk = decode_id(id, "Webhook")
        try:
            row = await webhook_rules.delete_webhook(info.context, pk)
        except Invalid as invalid:
            return failed(invalid, "webhook")  # type: ignore[no-any-return]
        return payload(webhook=row)  # type: ignore[no-any-return]
