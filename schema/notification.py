"""A person's own notifications: reminders, escalations, what needs them."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Any

import strawberry

from models import Notification as NotificationModel
from permissions.errors import Unauthenticated
from permissions.rules import SIGNED_IN, VISIBLE
from permissions.scope import visible
from resolvers import notifications as rules
from resolvers.base import Invalid
from resolvers.events import Event
from resolvers.live import stream
from resolvers.loaders import columns
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    encode_id,
    failed,
    field,
    payload,
    structural,
)
from schema.node import register_node


@strawberry.type(description="A message for one person: a reminder, an escalation.")
class Notification(Node):
    kind: str = field(VISIBLE, "What it is about, e.g. TASK_DUE_SOON.")
    title: str = field(VISIBLE, "One line, for a list.")
    body: str = field(VISIBLE, "More, if any.")
    subject_type: str = field(VISIBLE, "The type of the object it concerns.")
    created_at: datetime = field(VISIBLE, "When it was stored.")
    read_at: datetime | None = field(VISIBLE, "When its person marked it read.")

    @field(VISIBLE, "The global id of the object it concerns, if any.")
    def subject_id(self) -> strawberry.ID | None:
        row = as_row(self)
        if not row["subject_type"] or row["subject_id"] is None:
            return None
        return encode_id(row["subject_type"], row["subject_id"])


register_node("Notification", NotificationModel)


@structural
@strawberry.type
class NotificationsReadPayload:
    errors: list[UserErrorType]
    count: int | None


@strawberry.type
class NotificationQuery:
    @field(SIGNED_IN, "The caller's own notifications, newest last.")
    async def notifications(
        self,
        info: AppInfo,
        unread: bool = False,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Notification]:
        queryset = visible(NotificationModel, info.context.caller)
        if unread:
            queryset = queryset.filter(read_at__isnull=True)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


@strawberry.type
class NotificationMutation:
    @field(SIGNED_IN, "Mark some of the caller's own notifications read.")
    async def mark_notifications_read(
        self, info: AppInfo, ids: list[strawberry.ID]
    ) -> NotificationsReadPayload:
        try:
            keys = [decode_id(i, "Notification")[1] for i in ids]
            count = await rules.mark_read(info.context, keys)
        except Invalid as invalid:
            return failed(invalid, "count")  # type: ignore[no-any-return]
        return payload(count=count)  # type: ignore[no-any-return]


@strawberry.type
class NotificationSubscription:
    @field(
        SIGNED_IN,
        "The caller's new notifications, as they are stored.",
        is_subscription=True,
    )
    async def notification_added(
        self, info: AppInfo
    ) -> AsyncGenerator[Notification, None]:
        context = info.context
        person_id = context.caller.person_id
        if person_id is None:
            raise Unauthenticated("Only a person has notifications.")

        def admit(event: Event) -> bool:
            return event.unit_path == rules.person_channel(person_id)

        channel = (rules.person_channel(person_id),)
        events = stream(context, rules.TOPIC, channel, admit)
        async with aclosing(events):
            async for event in events:
                found = await (
                    visible(NotificationModel, context.caller)
                    .filter(id=event.subject_id)
                    .values(*columns(NotificationModel))
                )
                if found:
                    yield found[0]  # type: ignore[misc]
