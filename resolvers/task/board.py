"""The board of a unit: counts by state per community and child unit, and its
live feed, computed once per channel."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from models import (
    OrgUnit,
    TaskAssignment,
)
from models.enums import Level, Role, TaskState
from permissions.caller import STAFF_ROLES, Caller, Grant
from permissions.errors import NotFound
from permissions.scope import visible
from resolvers.context import Context
from resolvers.events import Event
from resolvers.live import shared_view
from resolvers.loaders import columns
from resolvers.task.common import (
    OPEN_STATES,
    TOPIC,
)

# -- the board -------------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    unit: dict[str, Any]
    totals: dict[str, Any]
    communities: list[dict[str, Any]]
    children: list[dict[str, Any]]


COUNTED = (
    TaskState.ISSUED,
    TaskState.ACCEPTED,
    TaskState.SUBMITTED,
    TaskState.VERIFIED,
    TaskState.RETURNED,
)


def _empty(unit: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {state.value.lower(): 0 for state in COUNTED}
    entry.update(
        unit=unit,
        total=0,
        overdue=0,
        submit_sum=0,
        submit_count=0,
        verify_sum=0,
        verify_count=0,
    )
    return entry


def _add(into: dict[str, Any], entry: dict[str, Any]) -> None:
    for key in (
        *(s.value.lower() for s in COUNTED),
        "total",
        "overdue",
        "submit_sum",
        "submit_count",
        "verify_sum",
        "verify_count",
    ):
        into[key] += entry[key]


async def board_unit(caller: Caller, unit_id: int) -> dict[str, Any]:
    """The row of a unit whose board the caller may see: staff whose jurisdiction
    covers the whole unit."""
    found = await visible(OrgUnit, caller).filter(id=unit_id).values(*columns(OrgUnit))
    if not found:
        raise NotFound("No OrgUnit has this id.")
    if not (caller.is_admin or caller.covers(found[0]["path"], STAFF_ROLES)):
        raise NotFound("No OrgUnit has this id in your jurisdiction.")
    row: dict[str, Any] = found[0]
    return row


async def board_entries(
    caller: Caller, path: str, now: datetime, task_id: int | None = None
) -> dict[int, dict[str, Any]]:
    """Counts per community under ``path``, in one statement, by community id."""
    open_states = [s.value for s in OPEN_STATES]
    annotations: dict[str, Any] = {
        state.value.lower(): Count("id", _filter=Q(state=state)) for state in COUNTED
    }
    annotations.update(
        total=Count("id"),
        overdue=Count("id", _filter=Q(state__in=open_states, deadline__lt=now)),
        submit_sum=Sum("submit_seconds"),
        submit_count=Count("submit_seconds"),
        verify_sum=Sum("verify_seconds"),
        verify_count=Count("verify_seconds"),
    )
    queryset = visible(TaskAssignment, caller).filter(unit_path__startswith=path)
    if task_id is not None:
        queryset = queryset.filter(task_id=task_id)
    found = (
        await queryset.annotate(**annotations)
        .group_by("unit_id")
        .values("unit_id", *annotations)
    )
    entries: dict[int, dict[str, Any]] = {}
    for row in found:
        entry = _empty(None)
        for key in annotations:
            entry[key] = int(row[key] or 0)
        entries[row["unit_id"]] = entry
    return entries


async def board(context: Context, unit_id: int, task_id: int | None = None) -> Board:
    """The board of a unit: every community under it, and each child unit, with
    counts by state, overdue, and average times to submit and to verify."""
    caller = context.caller
    unit_row = await board_unit(caller, unit_id)
    path = unit_row["path"]

    counts = await board_entries(caller, path, context.clock(), task_id)
    communities = await (
        OrgUnit.filter(path__startswith=path, level=Level.COMMUNITY)
        .order_by("id")
        .values(*columns(OrgUnit))
    )
    totals = _empty(unit_row)
    entries = []
    for community in communities:
        entry = {**counts.get(community["id"], _empty(None)), "unit": community}
        entries.append(entry)
        _add(totals, entry)
    children = await _children(unit_row, entries)
    return Board(unit_row, totals, entries, children)


async def _children(
    unit: dict[str, Any], entries: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Entries rolled up to the unit's direct children (by their path segment)."""
    if unit["level"] == Level.SUBDISTRICT:
        return list(entries)
    rows = await (
        OrgUnit.filter(parent_id=unit["id"]).order_by("id").values(*columns(OrgUnit))
    )
    path = unit["path"]
    by_path = {row["path"]: _empty(row) for row in rows}
    for entry in entries:
        head = entry["unit"]["path"][len(path) :].split("/", 1)[0]
        child = by_path.get(f"{path}{head}/")
        if child is not None:
            _add(child, entry)
    return list(by_path.values())


# -- the live board --------------------------------------------------------------------


def _community_of(event: Event) -> Any:
    return event.data.get("unit_id")


async def board_updates(context: Context, unit_id: int) -> AsyncGenerator[Any, None]:
    """The board of ``unit_id``, live: the entries of the communities that changed,
    computed once per batch of changes for every subscriber of this unit's board."""
    unit_row = await board_unit(context.caller, unit_id)
    path = unit_row["path"]
    # The channel reads as an official of exactly this unit: its scope is the
    # board's subtree whoever subscribed first.
    channel_caller = Caller(grants=(Grant(Role.OFFICIAL, unit_id, path),))

    async def compute(own: Context, marks: frozenset[Any]) -> list[dict[str, Any]]:
        communities = sorted(m for m in marks if isinstance(m, int))
        if not communities:
            return []
        now = own.clock()
        counts = await board_entries(own.caller, path, now)
        units = await OrgUnit.filter(id__in=communities, path__startswith=path).values(
            *columns(OrgUnit)
        )
        totals = _empty(unit_row)
        for entry in counts.values():
            _add(totals, entry)
        return [
            {
                "unit": unit_row,
                "entry": {**counts.get(row["id"], _empty(None)), "unit": row},
                "totals": totals,
                "at": now,
            }
            for row in sorted(units, key=lambda r: r["id"])
        ]

    view = shared_view(
        context,
        ("task-board", unit_id),
        TOPIC,
        path,
        compute,
        _community_of,
        channel_caller,
    )
    async with aclosing(view) as updates:
        async for update in updates:
            yield update
