"""Notifications: stored per person inside the write that causes them, published
to that person's own channel after the commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models import Notification
from resolvers.base import Invalid, UserError, Work
from resolvers.context import Context
from resolvers.events import Event

__all__ = ["TOPIC", "mark_read", "notify", "person_channel"]

TOPIC = "notification"


def person_channel(person_id: int) -> str:
    """The event path of one person's notifications (not a unit path)."""
    return f"@person/{person_id}/"


async def notify(
    work: Work,
    person_ids: Iterable[int],
    *,
    kind: str,
    title: str,
    key: str,
    body: str = "",
    subject_type: str = "",
    subject_id: int | None = None,
    unit_path: str = "",
) -> list[int]:
    """Store one notification per person not yet holding ``key``; their ids.

    Safe to call twice with the same key: the second call stores nothing.
    """
    wanted = sorted(set(person_ids))
    if not wanted:
        return []
    rows = await Notification.filter(person_id__in=wanted, key=key).values("person_id")
    held = {row["person_id"] for row in rows}
    now = work.context.clock()
    fresh = [
        Notification(
            person_id=person_id,
            kind=kind,
            title=title,
            body=body,
            subject_type=subject_type,
            subject_id=subject_id,
            unit_path=unit_path,
            key=key,
            created_at=now,
        )
        for person_id in wanted
        if person_id not in held
    ]
    if not fresh:
        return []
    await Notification.bulk_create(fresh)
    stored = await Notification.filter(
        person_id__in=[n.person_id for n in fresh], key=key
    ).values("id", "person_id")

    for row in stored:
        work.emit(
            Event(
                topic=TOPIC,
                kind=kind,
                unit_path=person_channel(row["person_id"]),
                subject_type="Notification",
                subject_id=row["id"],
                at=now,
                data={"title": title},
            )
        )
    return [row["id"] for row in stored]


async def mark_read(context: Context, ids: list[int]) -> int:
    """Mark the caller's own notifications read; anyone else's are refused."""
    person_id = context.caller.person_id
    if person_id is None:
        raise Invalid([UserError("ids", "只有个人账号有通知。", "NO_PERSON")])
    owned: Any = Notification.filter(id__in=ids, person_id=person_id)
    if await owned.count() != len(set(ids)):
        raise Invalid([UserError("ids", "有通知不存在或不属于你。", "NOT_YOURS")])
    return int(
        await Notification.filter(
            id__in=ids, person_id=person_id, read_at__isnull=True
        ).update(read_at=context.clock())
    )
