"""Duty attendance (坐值班考勤): rules, check-ins by location, late and missed duty.

A community's rules say who is on duty on which days (the official working days,
or chosen weekdays) and in which window of local time; its check-in points are
circles. A cadre's check-in is taken when it falls in the window of one of their
rules for today, within a point's radius, with an accuracy good enough to tell;
otherwise it is refused with the distance and the reason, and nothing is kept.

Late and missed duty are derived, never stored as events: a duty day of a rule
whose window has closed without a check-in is missed; a check-in more than the
rule's grace after the window opened is late.

Working days: an explicit ``WorkCalendarDay`` wins; else the ``chinese_calendar``
package (statutory holidays and make-up working days); for a year that package
does not know yet, Monday to Friday, until the year's days are entered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import chinese_calendar
from tortoise.exceptions import IntegrityError

from models import (
    CheckInPoint,
    DutyCheckIn,
    DutyRule,
    OrgUnit,
    RoleAssignment,
    WorkCalendarDay,
)
from models.enums import CoordinateSystem, Level, Role
from permissions.duty import heads_of
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.geo import Fence, decide, to_wgs84
from resolvers.loaders import fetch_row
from resolvers.task import CHINA

__all__ = [
    "EARLY_MINUTES",
    "MAX_ACCURACY_M",
    "CheckInRefused",
    "DutyErrorCode",
    "Location",
    "Period",
    "RuleDraft",
    "Statistics",
    "Tally",
    "check_in",
    "create_point",
    "create_rule",
    "duty_days",
    "duty_statistics",
    "end_rule",
    "is_working_day",
    "minute_of",
    "period_range",
    "set_calendar_day",
    "time_of",
    "update_point",
]

logger = logging.getLogger("yunshang.duty")

TOPIC = "duty"
# A check-in may come this long before the window opens.
EARLY_MINUTES = 60
# A fix whose accuracy circle is wider than this cannot tell inside from outside.
MAX_ACCURACY_M = 80.0
OFFICIALS = frozenset({Role.OFFICIAL})


class DutyErrorCode(StrEnum):
    NOT_ON_DUTY = "NOT_ON_DUTY"
    TOO_EARLY = "TOO_EARLY"
    WINDOW_CLOSED = "WINDOW_CLOSED"
    ALREADY_CHECKED_IN = "ALREADY_CHECKED_IN"
    NO_CHECK_IN_POINT = "NO_CHECK_IN_POINT"
    OUTSIDE_FENCE = "OUTSIDE_FENCE"
    ACCURACY_TOO_POOR = "ACCURACY_TOO_POOR"
    NOT_A_COMMUNITY = "NOT_A_COMMUNITY"
    PERSON_NOT_CADRE = "PERSON_NOT_CADRE"
    WINDOW_INVALID = "WINDOW_INVALID"
    WEEKDAYS_INVALID = "WEEKDAYS_INVALID"
    PERIOD_INVALID = "PERIOD_INVALID"
    NAME_REQUIRED = "NAME_REQUIRED"
    RADIUS_INVALID = "RADIUS_INVALID"
    RULE_ENDED = "RULE_ENDED"


class Period(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


def _error(field: str, message: str, code: DutyErrorCode) -> UserError:
    return UserError(field, message, code.value)


# -- the calendar ----------------------------------------------------------------------


_UNKNOWN_YEARS: set[int] = set()


def is_working_day(day: date, explicit: Mapping[date, bool]) -> bool:
    """Whether ``day`` is an official working day (see the module's note)."""
    if day in explicit:
        return explicit[day]
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _UNKNOWN_YEARS:
            _UNKNOWN_YEARS.add(day.year)
            logger.warning(
                "no official calendar for %s yet: Monday to Friday count as working "
                "days until its days are entered",
                day.year,
            )
        return day.weekday() < 5


async def calendar_between(first: date, last: date) -> dict[date, bool]:
    found = await WorkCalendarDay.filter(day__gte=first, day__lte=last).values(
        "day", "is_working"
    )
    return {row["day"]: row["is_working"] for row in found}


def applies(rule: Mapping[str, Any], day: date, explicit: Mapping[date, bool]) -> bool:
    """Whether ``rule`` puts its person on duty on ``day``."""
    if day < rule["valid_from"]:
        return False
    if rule["valid_until"] is not None and day > rule["valid_until"]:
        return False
    if rule["working_days"]:
        return is_working_day(day, explicit)
    return day.isoweekday() in rule["weekdays"]


def duty_days(
    rule: Mapping[str, Any], first: date, last: date, explicit: Mapping[date, bool]
) -> list[date]:
    days = []
    day = first
    while day <= last:
        if applies(rule, day, explicit):
            days.append(day)
        day += timedelta(days=1)
    return days


def period_range(period: Period, day: date) -> tuple[date, date]:
    if period == Period.DAY:
        return day, day
    if period == Period.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    start = day.replace(day=1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, following - timedelta(days=1)


def _local_moment(day: date, minute: int) -> datetime:
    """``minute`` minutes after midnight of ``day``, China time."""
    midnight = datetime.combine(day, time(0), tzinfo=CHINA)
    return midnight + timedelta(minutes=minute)


def minute_of(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def time_of(minute: int) -> time:
    """The time of day of ``minute`` (1440, the end of the day, is 23:59:59)."""
    if minute >= 24 * 60:
        return time(23, 59, 59)
    return time(minute // 60, minute % 60)


# -- check-in --------------------------------------------------------------------------


class CheckInRefused(Invalid):
    """A check-in outside every point, or with too poor a fix: how far, from what."""

    def __init__(
        self, errors: Iterable[UserError], distance_m: float | None, point_id: int
    ) -> None:
        super().__init__(errors)
        self.distance_m = distance_m
        self.point_id = point_id


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    accuracy_m: float
    system: CoordinateSystem = CoordinateSystem.WGS84


async def _todays_rule(
    context: Context, unit_id: int | None, now: datetime
) -> tuple[DutyRule, date]:
    """The rule whose window holds ``now`` today, or the reason there is none."""
    person_id = context.caller.person_id
    today = now.astimezone(CHINA).date()
    rules = DutyRule.filter(person_id=person_id)
    if unit_id is not None:
        rules = rules.filter(unit_id=unit_id)
    found = await rules.order_by("starts_minute", "id")
    explicit = await calendar_between(today, today)
    todays = [
        rule
        for rule in found
        if applies(
            {
                "valid_from": rule.valid_from,
                "valid_until": rule.valid_until,
                "working_days": rule.working_days,
                "weekdays": rule.weekdays,
            },
            today,
            explicit,
        )
    ]
    if not todays:
        raise Invalid(
            [_error("unitId", "你今天没有值班安排。", DutyErrorCode.NOT_ON_DUTY)]
        )
    for rule in todays:
        opens = _local_moment(today, rule.starts_minute) - timedelta(
            minutes=EARLY_MINUTES
        )
        closes = _local_moment(today, rule.ends_minute)
        if opens <= now <= closes:
            return rule, today
    first = _local_moment(today, todays[0].starts_minute) - timedelta(
        minutes=EARLY_MINUTES
    )
    if now < first:
        raise Invalid(
            [
                _error(
                    "unitId",
                    f"值班签到 {first.strftime('%H:%M')} 起开放。",
                    DutyErrorCode.TOO_EARLY,
                )
            ]
        )
    raise Invalid(
        [_error("unitId", "今天的值班时段已结束。", DutyErrorCode.WINDOW_CLOSED)]
    )


async def check_in(
    context: Context, location: Location, unit_id: int | None = None
) -> dict[str, Any]:
    """Take a cadre's check-in, or refuse it with the reason (and the distance)."""
    if context.caller.person_id is None or Role.CADRE not in context.caller.roles:
        raise Forbidden("Duty check-ins are for cadres.")
    now = context.clock()
    rule, today = await _todays_rule(context, unit_id, now)
    if await DutyCheckIn.filter(rule_id=rule.id, day=today).exists():
        raise Invalid(
            [_error("unitId", "今天已签到。", DutyErrorCode.ALREADY_CHECKED_IN)]
        )

    points = await CheckInPoint.filter(unit_id=rule.unit_id, is_active=True).order_by(
        "id"
    )
    latitude, longitude = to_wgs84(
        location.latitude, location.longitude, location.system
    )
    fences = [Fence(p.latitude, p.longitude, p.radius_m) for p in points]
    decision = decide(latitude, longitude, location.accuracy_m, fences, MAX_ACCURACY_M)
    point = next(
        (p for p, f in zip(points, fences, strict=True) if f is decision.fence), None
    )
    if not decision.ok:
        distance = round(decision.distance_m, 1) if points else None
        raise CheckInRefused(
            [UserError("location", decision.message, decision.code)],
            distance,
            point.id if point is not None else 0,
        )
    assert point is not None

    opened = _local_moment(today, rule.starts_minute)
    late = now - opened - timedelta(minutes=rule.grace_minutes)
    minutes_late = (
        int((now - opened).total_seconds() // 60) if late.total_seconds() > 0 else 0
    )
    try:
        async with write(context, "DUTY_CHECK_IN") as work:
            made = await DutyCheckIn.create(
                rule_id=rule.id,
                person_id=rule.person_id,
                unit_id=rule.unit_id,
                unit_path=rule.unit_path,
                point_id=point.id,
                day=today,
                at=now,
                latitude=latitude,
                longitude=longitude,
                accuracy_m=location.accuracy_m,
                distance_m=round(decision.distance_m, 1),
                minutes_late=minutes_late,
            )
            work.audit("DutyCheckIn", [made.id], rule.unit_path)
            work.emit(
                Event(
                    TOPIC,
                    "DUTY_CHECKED_IN",
                    rule.unit_path,
                    "DutyCheckIn",
                    made.id,
                    context.caller.person_id,
                    at=now,
                    data={"late": minutes_late > 0},
                )
            )
    except IntegrityError:
        raise Invalid(
            [_error("unitId", "今天已签到。", DutyErrorCode.ALREADY_CHECKED_IN)]
        ) from None
    return await fetch_row(DutyCheckIn, made.id)


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
    if minute_of(draft.ends_at) <= minute_of(draft.starts_at):
        errors.append(
            _error(
                "endsAt",
                "The window must end after it starts.",
                DutyErrorCode.WINDOW_INVALID,
            )
        )
    if not draft.working_days and (
        not draft.weekdays or any(not 1 <= d <= 7 for d in draft.weekdays)
    ):
        errors.append(
            _error(
                "weekdays",
                "Choose weekdays from 1 (Monday) to 7 (Sunday).",
                DutyErrorCode.WEEKDAYS_INVALID,
            )
        )
    if draft.valid_until is not None and draft.valid_until < draft.valid_from:
        errors.append(
            _error(
                "validUntil",
                "The rule must end after it starts.",
                DutyErrorCode.PERIOD_INVALID,
            )
        )
    if not 0 <= draft.grace_minutes <= 240:
        errors.append(
            _error(
                "graceMinutes",
                "Grace is 0 to 240 minutes.",
                DutyErrorCode.WINDOW_INVALID,
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


async def set_calendar_day(
    context: Context, day: date, is_working: bool, note: str
) -> dict[str, Any]:
    """Enter a day of the official calendar (admins only, at the schema)."""
    async with write(context, "WORK_CALENDAR_SET") as work:
        row, made = await WorkCalendarDay.get_or_create(
            day=day, defaults={"is_working": is_working, "note": note.strip()[:50]}
        )
        if not made:
            await WorkCalendarDay.filter(id=row.id).update(
                is_working=is_working, note=note.strip()[:50]
            )
        work.audit("WorkCalendarDay", [row.id], "", day=day.isoformat())
        # The calendar holds for every unit: the event is at the root of all.
        work.emit(
            Event(
                TOPIC,
                "WORK_CALENDAR_SET",
                "/",
                "WorkCalendarDay",
                row.id,
                context.caller.person_id,
                at=context.clock(),
                data={"day": day.isoformat(), "is_working": is_working},
            )
        )
    return await fetch_row(WorkCalendarDay, row.id)


# -- statistics ------------------------------------------------------------------------


@dataclass
class Tally:
    person_id: int | None
    unit_id: int | None
    scheduled: int = 0
    attended: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    minutes_late: int = 0
    days: list[date] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.scheduled += other.scheduled
        self.attended += other.attended
        self.late += other.late
        self.missed += other.missed
        self.pending += other.pending
        self.minutes_late += other.minutes_late

    @property
    def attendance_rate(self) -> float | None:
        return round(self.attended / self.scheduled, 4) if self.scheduled else None


@dataclass
class Statistics:
    first: date
    last: date
    totals: Tally
    people: list[Tally]


async def duty_statistics(
    context: Context,
    period: Period,
    day: date,
    unit_id: int | None = None,
    person_id: int | None = None,
) -> Statistics:
    """Days on duty, late, missed and the attendance rate per person, over the
    period holding ``day``, from the rules and check-ins the caller may see."""
    first, last = period_range(period, day)
    rules = visible(DutyRule, context.caller).filter(valid_from__lte=last)
    if unit_id is not None:
        unit = await visible(OrgUnit, context.caller).get_or_none(id=unit_id)
        if unit is None:
            raise NotFound("No OrgUnit has this id.")
        rules = rules.filter(unit_path__startswith=unit.path)
    if person_id is not None:
        rules = rules.filter(person_id=person_id)
    found = await rules.order_by("id").values(
        "id",
        "person_id",
        "unit_id",
        "valid_from",
        "valid_until",
        "working_days",
        "weekdays",
        "ends_minute",
    )
    found = [r for r in found if r["valid_until"] is None or r["valid_until"] >= first]
    check_ins = (
        await visible(DutyCheckIn, context.caller)
        .filter(rule_id__in=[r["id"] for r in found], day__gte=first, day__lte=last)
        .values("rule_id", "day", "minutes_late")
        if found
        else []
    )
    explicit = await calendar_between(first, last)
    taken = {(c["rule_id"], c["day"]): c["minutes_late"] for c in check_ins}
    now = context.clock()

    people: dict[tuple[int, int], Tally] = {}
    for rule in found:
        tally = people.setdefault(
            (rule["person_id"], rule["unit_id"]),
            Tally(rule["person_id"], rule["unit_id"]),
        )
        for duty_day in duty_days(rule, first, last, explicit):
            late = taken.get((rule["id"], duty_day))
            closed = _local_moment(duty_day, rule["ends_minute"]) < now
            if late is None and not closed:
                tally.pending += 1
                continue
            tally.scheduled += 1
            if late is None:
                tally.missed += 1
                tally.days.append(duty_day)
                continue
            tally.attended += 1
            if late > 0:
                tally.late += 1
                tally.minutes_late += late
    totals = Tally(None, unit_id)
    for tally in people.values():
        totals.add(tally)
    ordered = [people[key] for key in sorted(people)]
    return Statistics(first, last, totals, ordered)
