"""Duty rules and check-in points, set by a community's head or officials above."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from models import (
    CheckInPoint,
    DutyCheckIn,
    DutyRule,
    OrgUnit,
    RoleAssignment,
)
from models.enums import Level, Role
from permissions.duty import heads_of
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.duty.calendar import (
    _local_moment,
    minute_of,
    time_of,
)
from resolvers.duty.check_in import (
    Location,
)
from resolvers.duty.common import (
    OFFICIALS,
    TOPIC,
    DutyErrorCode,
    _error,
)
from resolvers.events import Event
from resolvers.geo import to_wgs84
from resolvers.loaders import fetch_row
from resolvers.task import CHINA

# -- rules and points ------------------------------------------------------------------


async def _managed_community(context: Context, unit_id: int) -> OrgUnit:
    """A community whose duty the caller manages: its head, or an official above."""
    caller = context.caller
    unit = await visible(OrgUnit, caller).get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    if caller.is_admin or caller.covers(unit.path, OFFICIALS):
        return unit
    if caller.person_id is not None and (
        await heads_of(caller.person_id).filter(unit_id=unit.id).exists()
    ):
        return unit
    raise Forbidden("Only the community's head or officials above set its duty.")


@dataclass(frozen=True)
class RuleDraft:
    unit_id: int
    person_id: int
    starts_at: time
    ends_at: time
    valid_from: date
    name: str = ""
    working_days: bool = True
    weekdays: tuple[int, ...] = ()
    grace_minutes: int = 0
    valid_until: date | None = None


def _schedule_errors(
    starts_at: time,
    ends_at: time,
    working_days: bool,
    weekdays: tuple[int, ...],
    grace_minutes: int,
) -> list[UserError]:
    """What is wrong with a rule's days, window and grace."""
    errors = []
    if _end_minute(ends_at) <= minute_of(starts_at):
        errors.append(
            _error(
                "endsAt",
                "The window must end after it starts.",
                DutyErrorCode.WINDOW_INVALID,
            )
        )
    if not working_days and (not weekdays or any(not 1 <= d <= 7 for d in weekdays)):
        errors.append(
            _error(
                "weekdays",
                "Choose weekdays from 1 (Monday) to 7 (Sunday).",
                DutyErrorCode.WEEKDAYS_INVALID,
            )
        )
    if not 0 <= grace_minutes <= 240:
        errors.append(
            _error(
                "graceMinutes",
                "Grace is 0 to 240 minutes.",
                DutyErrorCode.WINDOW_INVALID,
            )
        )
    return errors


async def create_rule(context: Context, draft: RuleDraft) -> dict[str, Any]:
    unit = await _managed_community(context, draft.unit_id)
    errors: list[UserError] = []
    if unit.level != Level.COMMUNITY:
        errors.append(
            _error(
                "unitId", "Duty is kept by communities.", DutyErrorCode.NOT_A_COMMUNITY
            )
        )
    now = context.clock()
    holds = await RoleAssignment.filter(
        active_on(now, "starts_at", "ends_at"),
        person_id=draft.person_id,
        role=Role.CADRE,
        unit_path__startswith=unit.path,
    ).exists()
    if not holds:
        errors.append(
            _error(
                "personId",
                "The person on duty must be a cadre of the community.",
                DutyErrorCode.PERSON_NOT_CADRE,
            )
        )
    errors += _schedule_errors(
        draft.starts_at,
        draft.ends_at,
        draft.working_days,
        draft.weekdays,
        draft.grace_minutes,
    )
    if draft.valid_until is not None and draft.valid_until < draft.valid_from:
        errors.append(
            _error(
                "validUntil",
                "The rule must end after it starts.",
                DutyErrorCode.PERIOD_INVALID,
            )
        )
    if errors:
        raise Invalid(errors)

    async with write(context, "DUTY_RULE_CREATE") as work:
        rule = await DutyRule.create(
            unit_id=unit.id,
            unit_path=unit.path,
            person_id=draft.person_id,
            name=draft.name.strip(),
            working_days=draft.working_days,
            weekdays=sorted(set(draft.weekdays)),
            starts_minute=minute_of(draft.starts_at),
            ends_minute=_end_minute(draft.ends_at),
            grace_minutes=draft.grace_minutes,
            valid_from=draft.valid_from,
            valid_until=draft.valid_until,
            created_by_id=context.caller.person_id,
        )
        work.audit("DutyRule", [rule.id], unit.path)
        work.emit(_rule_event(context, "DUTY_RULE_CREATED", rule))
    return await fetch_row(DutyRule, rule.id)


def _end_minute(moment: time) -> int:
    """A window ending at 23:59 or later lasts to the end of the day."""
    minute = minute_of(moment)
    return 24 * 60 if minute >= 23 * 60 + 59 else minute


def _rule_event(context: Context, kind: str, rule: DutyRule) -> Event:
    return Event(
        TOPIC, kind, rule.unit_path, "DutyRule", rule.id, context.caller.person_id
    )


async def end_rule(context: Context, rule_id: int, last_day: date) -> dict[str, Any]:
    """End a rule after ``last_day``; what was on duty before stays as it was."""
    rule = await visible(DutyRule, context.caller).get_or_none(id=rule_id)
    if rule is None:
        raise NotFound("No DutyRule has this id.")
    await _managed_community(context, rule.unit_id)
    today = context.clock().astimezone(CHINA).date()
    errors = []
    if rule.valid_until is not None and rule.valid_until < today:
        errors.append(
            _error("id", "The rule has ended already.", DutyErrorCode.RULE_ENDED)
        )
    if last_day < rule.valid_from or last_day < today - timedelta(days=1):
        errors.append(
            _error(
                "lastDay",
                "A rule ends today or later: past duty is not rewritten.",
                DutyErrorCode.PERIOD_INVALID,
            )
        )
    if errors:
        raise Invalid(errors)
    async with write(context, "DUTY_RULE_END") as work:
        await DutyRule.filter(id=rule.id).update(valid_until=last_day)
        work.audit("DutyRule", [rule.id], rule.unit_path, last_day=last_day.isoformat())
        work.emit(_rule_event(context, "DUTY_RULE_ENDED", rule))
    return await fetch_row(DutyRule, rule.id)


@dataclass(frozen=True)
class RuleChange:
    """What changes in a rule from ``from_day`` on; None keeps the rule's value."""

    from_day: date
    working_days: bool | None = None
    weekdays: tuple[int, ...] | None = None
    starts_at: time | None = None
    ends_at: time | None = None
    grace_minutes: int | None = None
    point_ids: tuple[int, ...] | None = None


def _changed(rule: DutyRule, change: RuleChange) -> dict[str, Any]:
    """The rule's schedule columns as they are after ``change``."""
    weekdays = rule.weekdays if change.weekdays is None else change.weekdays
    point_ids = rule.point_ids if change.point_ids is None else change.point_ids
    return {
        "working_days": (
            rule.working_days if change.working_days is None else change.working_days
        ),
        "weekdays": sorted(set(weekdays)),
        "starts_minute": (
            rule.starts_minute
            if change.starts_at is None
            else minute_of(change.starts_at)
        ),
        "ends_minute": (
            rule.ends_minute if change.ends_at is None else _end_minute(change.ends_at)
        ),
        "grace_minutes": (
            rule.grace_minutes if change.grace_minutes is None else change.grace_minutes
        ),
        "point_ids": sorted(set(point_ids)),
    }


async def _change_errors(
    rule: DutyRule, change: RuleChange, columns: dict[str, Any], today: date
) -> list[UserError]:
    errors = _schedule_errors(
        time_of(columns["starts_minute"]),
        time_of(columns["ends_minute"]),
        columns["working_days"],
        tuple(columns["weekdays"]),
        columns["grace_minutes"],
    )
    if change.from_day < today:
        errors.append(
            _error(
                "fromDay",
                "A change holds from today or later: past duty is not rewritten.",
                DutyErrorCode.PERIOD_INVALID,
            )
        )
    if rule.valid_until is not None and rule.valid_until < change.from_day:
        errors.append(
            _error(
                "fromDay",
                "The rule has ended by that day.",
                DutyErrorCode.RULE_ENDED,
            )
        )
    # Points chosen before and closed since stay chosen: only new choices are read.
    chosen = set(change.point_ids or ())
    known = await CheckInPoint.filter(
        unit_id=rule.unit_id, is_active=True, id__in=chosen
    ).count()
    if known != len(chosen):
        errors.append(
            _error(
                "pointIds",
                "Choose active check-in points of the rule's community.",
                DutyErrorCode.POINT_UNKNOWN,
            )
        )
    return errors


async def update_rule(
    context: Context, rule_id: int, change: RuleChange
) -> dict[str, Any]:
    """Change a rule's days, window, grace or points from ``change.from_day`` on.

    A rule already in force before that day ends the day before and a new rule
    holds from it, so the duty kept or missed until then reads as it was; a rule
    not yet in force changes in place. Returns the rule that holds from that day.
    """
    rule = await visible(DutyRule, context.caller).get_or_none(id=rule_id)
    if rule is None:
        raise NotFound("No DutyRule has this id.")
    await _managed_community(context, rule.unit_id)
    now = context.clock()
    today = now.astimezone(CHINA).date()
    columns = _changed(rule, change)

    async with write(context, "DUTY_RULE_UPDATE") as work:
        errors = await _change_errors(rule, change, columns, today)
        kept = DutyCheckIn.filter(rule_id=rule.id)
        split = rule.valid_from < change.from_day
        # A check-in from that day on was judged by the rule as it is: changing
        # its window or days under it, or moving it to an ended rule, would
        # rewrite it. So would moving today's window once it has closed.
        if await kept.filter(day__gte=change.from_day).exists():
            errors.append(
                _error(
                    "fromDay",
                    "Already checked in on that day: change it from the next day.",
                    DutyErrorCode.ALREADY_CHECKED_IN,
                )
            )
        elif change.from_day == today and _local_moment(today, rule.ends_minute) < now:
            errors.append(
                _error(
                    "fromDay",
                    "Today's duty is over: change it from tomorrow.",
                    DutyErrorCode.PERIOD_INVALID,
                )
            )
        if errors:
            raise Invalid(errors)

        from_day = change.from_day.isoformat()
        if not split:
            await DutyRule.filter(id=rule.id).update(**columns)
            work.audit("DutyRule", [rule.id], rule.unit_path, from_day=from_day)
            work.emit(_rule_event(context, "DUTY_RULE_UPDATED", rule))
            holding = rule.id
        else:
            holding = await _succeed(context, work, rule, change.from_day, columns)
    return await fetch_row(DutyRule, holding)


async def _succeed(
    context: Context,
    work: Work,
    rule: DutyRule,
    from_day: date,
    columns: dict[str, Any],
) -> int:
    """End ``rule`` the day before ``from_day``; a new rule holds from it."""
    successor = await DutyRule.create(
        unit_id=rule.unit_id,
        unit_path=rule.unit_path,
        person_id=rule.person_id,
        name=rule.name,
        valid_from=from_day,
        valid_until=rule.valid_until,
        created_by_id=context.caller.person_id,
        **columns,
    )
    await DutyRule.filter(id=rule.id).update(valid_until=from_day - timedelta(days=1))
    work.audit(
        "DutyRule",
        [rule.id, successor.id],
        rule.unit_path,
        from_day=from_day.isoformat(),
        replaced_by=successor.id,
    )
    work.emit(_rule_event(context, "DUTY_RULE_ENDED", rule))
    work.emit(_rule_event(context, "DUTY_RULE_CREATED", successor))
    return successor.id


def _point_errors(
    name: str, latitude: float, longitude: float, radius_m: float
) -> list[UserError]:
    errors = []
    if not 1 <= len(name.strip()) <= 100:
        errors.append(_error("name", "Name the point.", DutyErrorCode.NAME_REQUIRED))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        errors.append(
            UserError("location", "The position is out of range.", "LOCATION_INVALID")
        )
    if not 10 <= radius_m <= 5000:
        errors.append(
            _error(
                "radiusM",
                "A radius is 10 to 5,000 metres.",
                DutyErrorCode.RADIUS_INVALID,
            )
        )
    return errors


async def create_point(
    context: Context,
    unit_id: int,
    name: str,
    location: Location,
    radius_m: float,
) -> dict[str, Any]:
    unit = await _managed_community(context, unit_id)
    errors = _point_errors(name, location.latitude, location.longitude, radius_m)
    if unit.level != Level.COMMUNITY:
        errors.append(
            _error(
                "unitId", "Duty is kept by communities.", DutyErrorCode.NOT_A_COMMUNITY
            )
        )
    if errors:
        raise Invalid(errors)
    latitude, longitude = to_wgs84(
        location.latitude, location.longitude, location.system
    )
    async with write(context, "CHECK_IN_POINT_CREATE") as work:
        point = await CheckInPoint.create(
            unit_id=unit.id,
            unit_path=unit.path,
            name=name.strip(),
            latitude=latitude,
            longitude=longitude,
            radius_m=radius_m,
        )
        work.audit("CheckInPoint", [point.id], unit.path)
        work.emit(
            Event(
                TOPIC,
                "CHECK_IN_POINT_CREATED",
                unit.path,
                "CheckInPoint",
                point.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(CheckInPoint, point.id)


async def update_point(
    context: Context,
    point_id: int,
    radius_m: float | None = None,
    is_active: bool | None = None,
) -> dict[str, Any]:
    point = await visible(CheckInPoint, context.caller).get_or_none(id=point_id)
    if point is None:
        raise NotFound("No CheckInPoint has this id.")
    await _managed_community(context, point.unit_id)
    radius = point.radius_m if radius_m is None else radius_m
    errors = _point_errors(point.name, point.latitude, point.longitude, radius)
    if errors:
        raise Invalid(errors)
    changes: dict[str, Any] = {"radius_m": radius}
    if is_active is not None:
        changes["is_active"] = is_active
    async with write(context, "CHECK_IN_POINT_UPDATE") as work:
        await CheckInPoint.filter(id=point.id).update(**changes)
        work.audit("CheckInPoint", [point.id], point.unit_path)
        work.emit(
            Event(
                TOPIC,
                "CHECK_IN_POINT_UPDATED",
                point.unit_path,
                "CheckInPoint",
                point.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(CheckInPoint, point.id)
