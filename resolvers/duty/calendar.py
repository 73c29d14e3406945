"""Working days, duty days of a rule, periods, and times of day."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar

from models import (
    WorkCalendarDay,
)
from resolvers.base import write
from resolvers.context import Context
from resolvers.duty.common import (
    TOPIC,
    Period,
)
from resolvers.events import Event
from resolvers.loaders import fetch_row
from resolvers.task import CHINA

# -- the calendar ----------------------------------------------------------------------


logger = logging.getLogger("yunshang.duty")
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
