"""Warnings (预警): raised idempotently by the checks that find a condition, cured
by the actions that end it, both inside the caller's ``write()``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from models import Warning
from models.enums import WarningKind
from resolvers.base import Work
from resolvers.events import Event

__all__ = ["TOPIC", "raise_warning", "resolve_warnings"]

TOPIC = "warning"


async def raise_warning(
    work: Work,
    *,
    kind: WarningKind,
    unit_id: int,
    unit_path: str,
    subject_type: str,
    subject_id: int,
    key: str,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Open a warning unless one with ``key`` is open already; whether it opened."""
    if await Warning.filter(open_key=key).exists():
        return False
    now = work.context.clock()
    try:
        warning = await Warning.create(
            kind=kind,
            unit_id=unit_id,
            unit_path=unit_path,
            subject_type=subject_type,
            subject_id=subject_id,
            key=key,
            open_key=key,
            raised_at=now,
            detail=detail or {},
        )
    except IntegrityError:
        # Another worker raised it between the check and the insert.
        return False

    work.audit("Warning", [warning.id], unit_path, kind=kind.value, key=key)
    work.emit(_event(warning, "WARNING_RAISED", now))
    return True


async def resolve_warnings(
    work: Work,
    *,
    key: str | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    kinds: Iterable[WarningKind] | None = None,
    resolution: str = "",
) -> int:
    """Cure the open warnings of a key, or of a subject (of some kinds); how many."""
    query = Warning.filter(resolved_at__isnull=True)
    if key is not None:
        query = query.filter(key=key)
    elif subject_type is not None and subject_id is not None:
        query = query.filter(subject_type=subject_type, subject_id=subject_id)
    else:
        raise ValueError("resolve_warnings needs a key or a subject")
    if kinds is not None:
        query = query.filter(kind__in=list(kinds))

    warnings = await query
    if not warnings:
        return 0
    now = work.context.clock()
    await Warning.filter(id__in=[w.id for w in warnings]).update(
        resolved_at=now,
        open_key=None,
        resolved_by_id=work.context.caller.person_id,
        resolution=resolution[:200],
    )
    for warning in warnings:
        warning.resolved_at = now
        work.audit("Warning", [warning.id], warning.unit_path, cured=warning.key)
        work.emit(_event(warning, "WARNING_RESOLVED", now))
    return len(warnings)


def _event(warning: Warning, kind: str, at: datetime) -> Event:
    return Event(
        at=at,
        topic=TOPIC,
        kind=kind,
        unit_path=warning.unit_path,
        subject_type="Warning",
        subject_id=warning.id,
        data={"warning_kind": warning.kind.value, "key": warning.key},
    )
