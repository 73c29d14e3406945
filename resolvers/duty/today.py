"""A cadre's duty today: each rule due, its window, its points, how it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q

from models import (
    CheckInPoint,
    DutyCheckIn,
    DutyRule,
)
from permissions.scope import visible
from resolvers.context import Context
from resolvers.duty.calendar import (
    _local_moment,
    applies,
    calendar_between,
)
from resolvers.duty.common import (
    EARLY_MINUTES,
)
from resolvers.loaders import columns
from resolvers.task import CHINA

# -- today's duty ----------------------------------------------------------------------


class DutyState(StrEnum):
    UPCOMING = "UPCOMING"
    OPEN = "OPEN"
    LATE = "LATE"
    CHECKED_IN = "CHECKED_IN"
    MISSED = "MISSED"


@dataclass(frozen=True)
class DutyToday:
    """One rule due today for the caller, and where its duty stands at ``now``."""

    day: date
    rule: dict[str, Any]
    state: DutyState
    check_in_opens_at: datetime
    late_after: datetime
    closes_at: datetime
    points: list[dict[str, Any]]
    check_in: dict[str, Any] | None


def state_of(
    now: datetime,
    opens: datetime,
    late_after: datetime,
    closes: datetime,
    checked_in: bool,
) -> DutyState:
    """Where one duty day stands at ``now``, as ``check_in`` would decide."""
    if checked_in:
        return DutyState.CHECKED_IN
    if now > closes:
        return DutyState.MISSED
    if now < opens:
        return DutyState.UPCOMING
    if now > late_after:
        return DutyState.LATE
    return DutyState.OPEN


def _rule_columns() -> set[str]:
    # What ``applies`` and the points need, whatever columns the schema shows.
    return {
        *columns(DutyRule),
        "id",
        "unit_id",
        "person_id",
        "starts_minute",
        "ends_minute",
        "grace_minutes",
        "point_ids",
        "working_days",
        "weekdays",
        "valid_from",
        "valid_until",
    }


async def duty_today(context: Context) -> list[DutyToday]:
    """The caller's own rules due today (China time), earliest window first."""
    caller = context.caller
    if caller.person_id is None:
        return []
    now = context.clock()
    today = now.astimezone(CHINA).date()

    found = await (
        visible(DutyRule, caller)
        .filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=today),
            person_id=caller.person_id,
            valid_from__lte=today,
        )
        .order_by("starts_minute", "id")
        .values(*_rule_columns())
    )
    explicit = await calendar_between(today, today)
    due = [rule for rule in found if applies(rule, today, explicit)]
    if not due:
        return []

    taken = await (
        visible(DutyCheckIn, caller)
        .filter(rule_id__in=[r["id"] for r in due], day=today)
        .values(*columns(DutyCheckIn))
    )
    by_rule = {row["rule_id"]: row for row in taken}
    # The points of the caller's own duties, as the check-in itself reads them:
    # a grid worker on duty at the community must see where to check in, though
    # the community's other points are outside their grid.
    points = await (
        CheckInPoint.filter(unit_id__in={r["unit_id"] for r in due}, is_active=True)
        .order_by("id")
        .values(*columns(CheckInPoint))
    )
    return [_today(rule, today, now, points, by_rule.get(rule["id"])) for rule in due]


def _today(
    rule: dict[str, Any],
    today: date,
    now: datetime,
    points: list[dict[str, Any]],
    check_in: dict[str, Any] | None,
) -> DutyToday:
    starts = _local_moment(today, rule["starts_minute"])
    opens = starts - timedelta(minutes=EARLY_MINUTES)
    late_after = starts + timedelta(minutes=rule["grace_minutes"])
    closes = _local_moment(today, rule["ends_minute"])
    chosen = set(rule["point_ids"])
    usable = [
        p
        for p in points
        if p["unit_id"] == rule["unit_id"] and (not chosen or p["id"] in chosen)
    ]
    return DutyToday(
        day=today,
        rule=rule,
        state=state_of(now, opens, late_after, closes, check_in is not None),
        check_in_opens_at=opens,
        late_after=late_after,
        closes_at=closes,
        points=usable,
        check_in=check_in,
    )
