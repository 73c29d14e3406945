"""Duty attendance in the schema: rules, check-in points, check-ins, statistics.

A cadre's phone calls ``dutyCheckIn`` with its location (in the coordinate system
the phone reports) and reads ``dutyStatistics`` for itself; a community's head
and the officials above read the community's.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import strawberry

from models import CheckInPoint as CheckInPointModel
from models import DutyCheckIn as DutyCheckInModel
from models import DutyRule as DutyRuleModel
from models import OrgUnit as OrgUnitModel
from models import Person as PersonModel
from models import WorkCalendarDay as WorkCalendarDayModel
from models.enums import CoordinateSystem, Role
from permissions.rules import ANYONE, STAFF, VISIBLE, HasRole
from permissions.scope import visible
from resolvers import duty as duty_rules
from resolvers.base import Invalid
from resolvers.loaders import columns, expose
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    encode_id,
    failed,
    field,
    payload,
    rows,
    structural,
)
from schema.geo import LocationInput, location_errors
from schema.node import register_node
from schema.org import OrgUnit, _unit_path
from schema.person import Person
from schema.relations import related

__all__ = ["DutyMutation", "DutyQuery"]

PeriodType = strawberry.enum(
    duty_rules.Period, name="DutyPeriod", description="A day, a week, or a month."
)
DutyStateType = strawberry.enum(
    duty_rules.DutyState,
    name="DutyState",
    description=(
        "Where today's duty stands: UPCOMING (check-in not open yet), OPEN "
        "(a check-in now is on time), LATE (open, but a check-in now is late), "
        "CHECKED_IN (on time or late: see minutesLate), MISSED (closed without "
        "a check-in)."
    ),
)
CADRES = HasRole(Role.CADRE)
ADMINS = HasRole(Role.ADMIN)


@strawberry.type(description="Who is on duty at a community, on which days, when.")
class DutyRule(Node):
    name: str = field(VISIBLE, "A name, e.g. 工作日白班.")
    working_days: bool = field(
        VISIBLE, "On the official working days (holidays off, 调休 days on)."
    )
    weekdays: list[int] = field(
        VISIBLE, "Otherwise on these weekdays, 1 (Monday) to 7 (Sunday)."
    )
    grace_minutes: int = field(VISIBLE, "Minutes after the opening before it is late.")
    valid_from: date = field(VISIBLE, "The first day it holds.")
    valid_until: date | None = field(VISIBLE, "The last day it holds; null: open.")

    person: Person | None = related(
        VISIBLE, "Who is on duty.", PersonModel, source="person_id", many=False
    )

    @field(
        VISIBLE,
        "The check-in points a check-in may use; empty: any active point of the "
        "community.",
    )
    def point_ids(self) -> list[strawberry.ID]:
        return [encode_id("CheckInPoint", pk) for pk in as_row(self)["point_ids"]]

    @field(VISIBLE, "The window opens (China time).")
    def starts_at(self) -> time:
        return duty_rules.time_of(as_row(self)["starts_minute"])

    @field(VISIBLE, "The window closes (China time).")
    def ends_at(self) -> time:
        return duty_rules.time_of(as_row(self)["ends_minute"])

    unit: OrgUnit | None = related(
        VISIBLE, "The community.", OrgUnitModel, source="unit_id", many=False
    )


@strawberry.type(description="A place duty check-ins are made at: a circle.")
class CheckInPoint(Node):
    name: str = field(VISIBLE, "Its name, e.g. 社区服务中心.")
    latitude: float = field(VISIBLE, "WGS-84 latitude of the centre.")
    longitude: float = field(VISIBLE, "WGS-84 longitude of the centre.")
    radius_m: float = field(VISIBLE, "The radius in metres; the edge counts.")
    is_active: bool = field(VISIBLE, "Whether check-ins are taken here.")

    unit: OrgUnit | None = related(
        VISIBLE, "The community.", OrgUnitModel, source="unit_id", many=False
    )


@strawberry.type(description="A duty check-in that was taken.")
class DutyCheckIn(Node):
    day: date = field(VISIBLE, "The duty day (China time).")
    at: datetime = field(VISIBLE, "When.")
    latitude: float = field(VISIBLE, "Where (WGS-84).")
    longitude: float = field(VISIBLE, "Where (WGS-84).")
    accuracy_m: float = field(VISIBLE, "The phone's accuracy in metres.")
    distance_m: float = field(VISIBLE, "Metres from the point's centre.")
    minutes_late: int = field(VISIBLE, "Minutes after the window opened; 0: on time.")

    person: Person | None = related(
        VISIBLE, "Who checked in.", PersonModel, source="person_id", many=False
    )
    rule: DutyRule | None = related(
        VISIBLE, "The rule of the duty.", DutyRuleModel, source="rule_id", many=False
    )
    point: CheckInPoint | None = related(
        VISIBLE, "Where.", CheckInPointModel, source="point_id", many=False
    )
    unit: OrgUnit | None = related(
        VISIBLE, "The community.", OrgUnitModel, source="unit_id", many=False
    )

    @field(VISIBLE, "Whether it came after the grace.")
    def is_late(self) -> bool:
        return bool(as_row(self)["minutes_late"])


@strawberry.type(description="An entry of the official calendar.")
class WorkCalendarDay(Node):
    day: date = field(VISIBLE, "The day.")
    is_working: bool = field(VISIBLE, "A working day (调休) or a holiday.")
    note: str = field(VISIBLE, "E.g. 国庆节.")


@structural
@strawberry.type(description="Attendance over a period, for a person or in all.")
class DutyTally:
    scheduled: int = strawberry.field(description="Duty days whose window closed.")
    attended: int = strawberry.field(description="Days on duty (checked in).")
    late: int = strawberry.field(description="Days checked in late.")
    missed: int = strawberry.field(description="Duty days without a check-in.")
    pending: int = strawberry.field(description="Duty days still open (today, later).")
    minutes_late: int = strawberry.field(description="Minutes late in all.")
    attendance_rate: float | None = strawberry.field(
        description="Attended / scheduled; null when nothing was scheduled."
    )
    missed_days: list[date] = strawberry.field(description="The days missed.")
    person: Person | None = related(
        VISIBLE,
        "The person, for a person's tally.",
        PersonModel,
        source="person_id",
        many=False,
    )
    unit: OrgUnit | None = related(
        VISIBLE, "The community.", OrgUnitModel, source="unit_id", many=False
    )


@structural
@strawberry.type(description="Attendance statistics over a day, a week or a month.")
class DutyStatistics:
    starts_on: date = strawberry.field(description="The first day.")
    ends_on: date = strawberry.field(description="The last day.")
    totals: DutyTally = strawberry.field(description="Everyone counted together.")
    people: list[DutyTally] = strawberry.field(description="Per person, by id.")


@structural
@strawberry.type(description="One of the caller's duty rules due today.")
class DutyToday:
    day: date = strawberry.field(description="Today (China time).")
    state: DutyStateType = strawberry.field(  # type: ignore[valid-type]
        description="Where the duty stands now."
    )
    starts_at: time = strawberry.field(description="The window opens (China time).")
    ends_at: time = strawberry.field(description="The window closes (China time).")
    grace_minutes: int = strawberry.field(
        description="Minutes after the opening before a check-in is late."
    )
    check_in_opens_at: datetime = strawberry.field(
        description="Check-ins are taken from (an hour before the window)."
    )
    late_after: datetime = strawberry.field(
        description="A check-in after this is late."
    )
    closes_at: datetime = strawberry.field(description="Check-ins end.")
    checked_in_at: datetime | None = strawberry.field(
        description="When the caller checked in today; null: not yet."
    )
    minutes_late: int | None = strawberry.field(
        description="Minutes late of today's check-in; null: not checked in."
    )
    points: list[CheckInPoint] = strawberry.field(
        description="The check-in points a check-in may use."
    )
    rule: DutyRule | None = related(
        VISIBLE, "The rule.", DutyRuleModel, source="rule_id", many=False
    )
    unit: OrgUnit | None = related(
        VISIBLE, "The community.", OrgUnitModel, source="unit_id", many=False
    )
    check_in: DutyCheckIn | None = related(
        VISIBLE,
        "Today's check-in; null: not yet.",
        DutyCheckInModel,
        source="check_in_id",
        many=False,
    )


def _duty_today(found: duty_rules.DutyToday) -> dict[str, Any]:
    rule, taken = found.rule, found.check_in
    return {
        "day": found.day,
        "state": found.state,
        "starts_at": duty_rules.time_of(rule["starts_minute"]),
        "ends_at": duty_rules.time_of(rule["ends_minute"]),
        "grace_minutes": rule["grace_minutes"],
        "check_in_opens_at": found.check_in_opens_at,
        "late_after": found.late_after,
        "closes_at": found.closes_at,
        "checked_in_at": taken["at"] if taken else None,
        "minutes_late": taken["minutes_late"] if taken else None,
        "points": found.points,
        "rule_id": rule["id"],
        "unit_id": rule["unit_id"],
        "check_in_id": taken["id"] if taken else None,
    }


for _name, _model in (
    ("DutyRule", DutyRuleModel),
    ("CheckInPoint", CheckInPointModel),
    ("DutyCheckIn", DutyCheckInModel),
    ("WorkCalendarDay", WorkCalendarDayModel),
):
    register_node(_name, _model)
# Read by resolvers rather than shown as leaves: rows must carry them.
expose(DutyRuleModel, frozenset({"starts_minute", "ends_minute", "point_ids"}))


def _pk(value: strawberry.ID | None, type_name: str) -> int | None:
    return decode_id(value, type_name)[1] if value else None


def _tally(tally: duty_rules.Tally) -> dict[str, Any]:
    return {
        "person_id": tally.person_id,
        "unit_id": tally.unit_id,
        "scheduled": tally.scheduled,
        "attended": tally.attended,
        "late": tally.late,
        "missed": tally.missed,
        "pending": tally.pending,
        "minutes_late": tally.minutes_late,
        "attendance_rate": tally.attendance_rate,
        "missed_days": tally.days,
    }


@strawberry.type
class DutyQuery:
    @field(
        STAFF,
        "Duty rules the caller may see: their own, their community's as "
        "its head, their units' as an official.",
    )
    async def duty_rules(
        self, info: AppInfo, unit_id: strawberry.ID | None = None
    ) -> list[DutyRule]:
        queryset = visible(DutyRuleModel, info.context.caller)
        path = await _unit_path(info, unit_id)
        if path is not None:
            queryset = queryset.filter(unit_path__startswith=path)
        found = await queryset.order_by("id").values(*columns(DutyRuleModel))
        return rows(DutyRule, found)

    @field(STAFF, "Check-in points of the communities in the caller's jurisdiction.")
    async def check_in_points(
        self, info: AppInfo, unit_id: strawberry.ID | None = None
    ) -> list[CheckInPoint]:
        queryset = visible(CheckInPointModel, info.context.caller)
        path = await _unit_path(info, unit_id)
        if path is not None:
            queryset = queryset.filter(unit_path__startswith=path)
        found = await queryset.order_by("id").values(*columns(CheckInPointModel))
        return rows(CheckInPoint, found)

    @field(STAFF, "Check-ins the caller may see, newest days last, filtered.")
    async def duty_check_ins(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        person_id: strawberry.ID | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[DutyCheckIn]:
        queryset = visible(DutyCheckInModel, info.context.caller)
        path = await _unit_path(info, unit_id)
        if path is not None:
            queryset = queryset.filter(unit_path__startswith=path)
        if person_id:
            queryset = queryset.filter(person_id=_pk(person_id, "Person"))
        if starts_on is not None:
            queryset = queryset.filter(day__gte=starts_on)
        if ends_on is not None:
            queryset = queryset.filter(day__lte=ends_on)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(
        STAFF,
        "Attendance over the day, week (Monday first) or month holding `day`: per "
        "person and in all; a cadre sees their own, a head their community, an "
        "official their units.",
    )
    async def duty_statistics(
        self,
        info: AppInfo,
        period: PeriodType,  # type: ignore[valid-type]
        day: date,
        unit_id: strawberry.ID | None = None,
        person_id: strawberry.ID | None = None,
    ) -> DutyStatistics:
        found = await duty_rules.duty_statistics(
            info.context,
            duty_rules.Period(period),
            day,
            _pk(unit_id, "OrgUnit"),
            _pk(person_id, "Person"),
        )
        return {  # type: ignore[return-value]
            "starts_on": found.first,
            "ends_on": found.last,
            "totals": _tally(found.totals),
            "people": [_tally(t) for t in found.people],
        }

    @field(
        CADRES,
        "The caller's own duty rules due today (China time, the official "
        "calendar respected), earliest window first; empty: no duty today.",
    )
    async def my_duty_today(self, info: AppInfo) -> list[DutyToday]:
        found = await duty_rules.duty_today(info.context)
        return rows(DutyToday, [_duty_today(t) for t in found])

    @field(ANYONE, "Entries of the official calendar between two days.")
    async def work_calendar(
        self, info: AppInfo, starts_on: date, ends_on: date
    ) -> list[WorkCalendarDay]:
        found = await (
            visible(WorkCalendarDayModel, info.context.caller)
            .filter(day__gte=starts_on, day__lte=ends_on)
            .order_by("day")
            .values(*columns(WorkCalendarDayModel))
        )
        return rows(WorkCalendarDay, found)


@strawberry.input(description="Who is on duty at a community, on which days, when.")
class DutyRuleInput:
    unit_id: strawberry.ID
    person_id: strawberry.ID
    starts_at: time
    ends_at: time
    valid_from: date
    name: str = ""
    working_days: bool = True
    weekdays: list[int] = strawberry.field(default_factory=list)
    grace_minutes: int = 0
    valid_until: date | None = None


@strawberry.input(
    description="What changes in a duty rule from a day on; a field left out "
    "stays as it is."
)
class DutyRuleUpdateInput:
    from_day: date = strawberry.field(description="The first day it holds (today+).")
    working_days: bool | None = None
    weekdays: list[int] | None = None
    starts_at: time | None = None
    ends_at: time | None = None
    grace_minutes: int | None = None
    point_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="The check-in points a check-in may use; []: any of the "
        "community's.",
    )


@strawberry.input(description="A check-in point of a community.")
class CheckInPointInput:
    unit_id: strawberry.ID
    name: str
    location: LocationInput
    radius_m: float


@structural
@strawberry.type(description="The result of a change to a duty rule.")
class DutyRulePayload:
    errors: list[UserErrorType]
    rule: DutyRule | None


@structural
@strawberry.type(description="The result of a change to a check-in point.")
class CheckInPointPayload:
    errors: list[UserErrorType]
    point: CheckInPoint | None


@structural
@strawberry.type(description="The result of `dutyCheckIn`: taken, or why not.")
class DutyCheckInPayload:
    errors: list[UserErrorType]
    check_in: DutyCheckIn | None
    distance_m: float | None = strawberry.field(
        description="Refused for the place: metres to the nearest point's centre."
    )
    nearest_point: CheckInPoint | None = related(
        VISIBLE,
        "Refused for the place: the nearest point.",
        CheckInPointModel,
        source="point_id",
        many=False,
    )


@structural
@strawberry.type(description="The result of `workCalendarDaySet`.")
class WorkCalendarDayPayload:
    errors: list[UserErrorType]
    day: WorkCalendarDay | None


def _location(location: LocationInput) -> duty_rules.Location:
    return duty_rules.Location(
        location.latitude,
        location.longitude,
        location.accuracy,
        CoordinateSystem(location.system),
    )


@strawberry.type
class DutyMutation:
    @field(CADRES, "Check in for today's duty from a phone's location.")
    async def duty_check_in(
        self,
        info: AppInfo,
        location: LocationInput,
        unit_id: strawberry.ID | None = None,
    ) -> DutyCheckInPayload:
        empty = {"check_in": None, "distance_m": None, "point_id": None}
        errors = location_errors(location)
        if errors:
            return {**failed(Invalid(errors)), **empty}  # type: ignore[return-value]
        try:
            row = await duty_rules.check_in(
                info.context, _location(location), _pk(unit_id, "OrgUnit")
            )
        except duty_rules.CheckInRefused as refused:
            return {  # type: ignore[return-value]
                **failed(refused),
                **empty,
                "distance_m": refused.distance_m,
                "point_id": refused.point_id or None,
            }
        except Invalid as invalid:
            return {**failed(invalid), **empty}  # type: ignore[return-value]
        return payload(  # type: ignore[no-any-return]
            check_in=row, distance_m=row["distance_m"], point_id=row["point_id"]
        )

    @field(STAFF, "Add a duty rule (the community's head, or officials above).")
    async def duty_rule_create(
        self, info: AppInfo, input: DutyRuleInput
    ) -> DutyRulePayload:
        draft = duty_rules.RuleDraft(
            unit_id=decode_id(input.unit_id, "OrgUnit")[1],
            person_id=decode_id(input.person_id, "Person")[1],
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            valid_from=input.valid_from,
            name=input.name,
            working_days=input.working_days,
            weekdays=tuple(input.weekdays),
            grace_minutes=input.grace_minutes,
            valid_until=input.valid_until,
        )
        try:
            row = await duty_rules.create_rule(info.context, draft)
        except Invalid as invalid:
            return failed(invalid, "rule")  # type: ignore[no-any-return]
        return payload(rule=row)  # type: ignore[no-any-return]

    @field(STAFF, "End a duty rule after `lastDay` (today or later).")
    async def duty_rule_end(
        self, info: AppInfo, id: strawberry.ID, last_day: date
    ) -> DutyRulePayload:
        try:
            row = await duty_rules.end_rule(
                info.context, decode_id(id, "DutyRule")[1], last_day
            )
        except Invalid as invalid:
            return failed(invalid, "rule")  # type: ignore[no-any-return]
        return payload(rule=row)  # type: ignore[no-any-return]

    @field(
        STAFF,
        "Change a duty rule's days, window, grace or points from `fromDay` on (the "
        "community's head, or officials above). A rule already in force before "
        "that day ends the day before and the returned new rule holds from it, so "
        "past attendance stays as it was; a rule not yet in force changes in place.",
    )
    async def duty_rule_update(
        self, info: AppInfo, id: strawberry.ID, input: DutyRuleUpdateInput
    ) -> DutyRulePayload:
        change = duty_rules.RuleChange(
            from_day=input.from_day,
            working_days=input.working_days,
            weekdays=None if input.weekdays is None else tuple(input.weekdays),
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            grace_minutes=input.grace_minutes,
            point_ids=(
                None
                if input.point_ids is None
                else tuple(decode_id(p, "CheckInPoint")[1] for p in input.point_ids)
            ),
        )
        try:
            row = await duty_rules.update_rule(
                info.context, decode_id(id, "DutyRule")[1], change
            )
        except Invalid as invalid:
            return failed(invalid, "rule")  # type: ignore[no-any-return]
        return payload(rule=row)  # type: ignore[no-any-return]

    @field(STAFF, "Add a check-in point (the community's head, or officials above).")
    async def check_in_point_create(
        self, info: AppInfo, input: CheckInPointInput
    ) -> CheckInPointPayload:
        errors = location_errors(input.location)
        if errors:
            return failed(Invalid(errors), "point")  # type: ignore[no-any-return]
        try:
            row = await duty_rules.create_point(
                info.context,
                decode_id(input.unit_id, "OrgUnit")[1],
                input.name,
                _location(input.location),
                input.radius_m,
            )
        except Invalid as invalid:
            return failed(invalid, "point")  # type: ignore[no-any-return]
        return payload(point=row)  # type: ignore[no-any-return]

    @field(STAFF, "Change a check-in point's radius, or stop taking check-ins there.")
    async def check_in_point_update(
        self,
        info: AppInfo,
        id: strawberry.ID,
        radius_m: float | None = None,
        is_active: bool | None = None,
    ) -> CheckInPointPayload:
        try:
            row = await duty_rules.update_point(
                info.context, decode_id(id, "CheckInPoint")[1], radius_m, is_active
            )
        except Invalid as invalid:
            return failed(invalid, "point")  # type: ignore[no-any-return]
        return payload(point=row)  # type: ignore[no-any-return]

    @field(ADMINS, "Enter a day of the official calendar (a holiday or a 调休 day).")
    async def work_calendar_day_set(
        self, info: AppInfo, day: date, is_working: bool, note: str = ""
    ) -> WorkCalendarDayPayload:
        row = await duty_rules.set_calendar_day(info.context, day, is_working, note)
        return payload(day=row)  # type: ignore[no-any-return]
