"""Duty rules and check-in points, set by a community's head or officials above."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from models import (
    CheckInPoint,
    DutyRule,
    OrgUnit,
    RoleAssignment,
)
from models.enums import Level, Role
from permissions.duty import heads_of
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.duty.calendar import (
    minute_of,
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
