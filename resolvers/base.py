"""Writes: validation errors as data, one transaction, audit inside it, events after.

A mutation validates first and returns ``UserError``s without touching anything.
What can only be found while writing (a unique key taken meanwhile) raises
``Invalid`` inside ``write``: the transaction rolls back, a FAILED audit record is
kept, and the caller turns the errors into payload data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from models import AuditRecord
from models.enums import Outcome
from resolvers.context import Context
from resolvers.events import Event

__all__ = ["Invalid", "UserError", "Work", "audit", "write"]


@dataclass(frozen=True, slots=True)
class UserError:
    """Something the user can fix: which input, what is wrong, a stable code."""

    field: str
    message: str
    code: str


class Invalid(Exception):
    def __init__(self, errors: Iterable[UserError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))


@dataclass
class Work:
    """What one write does besides its rows: events to publish and audit records."""

    context: Context
    action: str
    events: list[Event] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def audit(
        self,
        subject_type: str,
        subject_ids: Iterable[Any],
        unit_path: str = "",
        **detail: Any,
    ) -> None:
        self.records.append(
            _record(
                self.context,
                self.action,
                Outcome.OK,
                subject_type,
                list(subject_ids),
                unit_path,
                detail,
            )
        )


def _record(
    context: Context,
    action: str,
    outcome: Outcome,
    subject_type: str = "",
    subject_ids: list[Any] | None = None,
    unit_path: str = "",
    detail: dict[str, Any] | None = None,
    field_name: str = "",
) -> AuditRecord:
    caller = context.caller
    return AuditRecord(
        at=context.clock(),
        person_id=caller.person_id,
        token_id=caller.token_id,
        role=caller.primary_role,
        action=action,
        subject_type=subject_type,
        subject_ids=subject_ids or [],
        field=field_name,
        outcome=outcome,
        client_address=caller.client_address,
        unit_path=unit_path,
        detail=detail or {},
    )


async def audit(
    context: Context,
    action: str,
    outcome: Outcome,
    subject_type: str = "",
    subject_ids: list[Any] | None = None,
    unit_path: str = "",
    field_name: str = "",
    **detail: Any,
) -> None:
    """Write one audit record now, outside any transaction of the caller's."""
    await _record(
        context,
        action,
        outcome,
        subject_type,
        subject_ids,
        unit_path,
        detail,
        field_name,
    ).save()


@asynccontextmanager
async def write(context: Context, action: str) -> AsyncIterator[Work]:
    """One transaction for a mutation; its events go out only after the commit."""
    work = Work(context, action)
    try:
        async with in_transaction():
            yield work
            if work.records:
                await AuditRecord.bulk_create(work.records)
    except Invalid as invalid:
        await audit(
            context,
            action,
            Outcome.FAILED,
            codes=[e.code for e in invalid.errors],
        )
        raise

    for event in work.events:
        await context.bus.publish(event)
