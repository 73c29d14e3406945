"""A cadre's check-in: today's rule, its window, the fence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from models import (
    CheckInPoint,
    DutyCheckIn,
    DutyRule,
)
from models.enums import CoordinateSystem, Role
from permissions.errors import Forbidden
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.duty.calendar import (
    _local_moment,
    applies,
    calendar_between,
)
from resolvers.duty.common import (
    EARLY_MINUTES,
    MAX_ACCURACY_M,
    TOPIC,
    DutyErrorCode,
    _error,
)
from resolvers.events import Event
from resolvers.geo import Fence, decide, to_wgs84
from resolvers.loaders import fetch_row
from resolvers.task import CHINA

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
    in_window = [
        rule
        for rule in todays
        if _local_moment(today, rule.starts_minute) - timedelta(minutes=EARLY_MINUTES)
        <= now
        <= _local_moment(today, rule.ends_minute)
    ]
    if in_window:
        # Of two duties open at once, the one not yet checked in is the one meant.
        taken = await DutyCheckIn.filter(
            rule_id__in=[r.id for r in in_window], day=today
        ).values("rule_id")
        done = {row["rule_id"] for row in taken}
        waiting = [rule for rule in in_window if rule.id not in done]
        return (waiting or in_window)[0], today
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


def usable_points(unit_id: int, point_ids: list[int]) -> QuerySet[CheckInPoint]:
    """The points a check-in of a rule may use: its own, or all the community's."""
    points = CheckInPoint.filter(unit_id=unit_id, is_active=True)
    return points.filter(id__in=point_ids) if point_ids else points


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

    points = await usable_points(rule.unit_id, rule.point_ids).order_by("id")
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
