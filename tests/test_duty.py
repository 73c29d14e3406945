"""Duty attendance: check-ins by location, the fence's edge, GCJ-02 input, late and
missed duty, statistics on a known month, and who sees whose attendance.

Besides ``tests.world``: head_a1 (书记 of A1) heads community A1, where cadre_a1
is a cadre with no head post; A1 has one check-in point at 新桥 with 100 m.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from api.events import LocalBus
from api.settings import load_settings
from models import (
    AuditRecord,
    CheckInPoint,
    DutyCheckIn,
    DutyRule,
    OrgUnit,
    RoleAssignment,
    WorkCalendarDay,
)
from models.enums import Level, Outcome, Role
from permissions.caller import Caller, Grant
from resolvers import duty
from resolvers.base import Invalid
from resolvers.context import Context
from resolvers.files import LocalFileStore
from resolvers.geo import distance_m, wgs84_to_gcj02
from resolvers.notify import LogSender
from schema.base import encode_id
from tests.conftest import Client
from tests.world import PAST, World, add_person

Login = Callable[[str], Awaitable[Client]]
CST = ZoneInfo("Asia/Shanghai")
POINT = (27.9701, 120.6052)  # WGS-84
RADIUS = 100.0
# One degree of latitude in metres, as resolvers.geo measures it.
DEGREE_M = distance_m(0.0, 0.0, 1.0, 0.0)

CHECK_IN = """
mutation CheckIn($location: LocationInput!) {
  dutyCheckIn(location: $location) {
    errors { field code message }
    distanceM
    nearestPoint { name }
    checkIn { id day minutesLate isLate distanceM latitude longitude
              person { name } point { name } }
  }
}
"""
STATISTICS = """
query Stats($period: DutyPeriod!, $day: Date!, $unitId: ID, $personId: ID) {
  dutyStatistics(period: $period, day: $day, unitId: $unitId, personId: $personId) {
    startsOn endsOn
    totals { scheduled attended late missed attendanceRate }
    people { person { name } scheduled attended late missed }
  }
}
"""
RULES = "query { dutyRules { name person { name } } }"
CHECK_INS = "query { dutyCheckIns { totalCount edges { node { person { name } } } } }"


@pytest_asyncio.fixture
async def duty_world(world: World) -> World:
    a1 = world.units["A1"]
    head = await add_person(world, "head_a1", "甲一主任", "13900000011")
    await RoleAssignment.create(
        person=head,
        role=Role.CADRE,
        unit=a1,
        unit_path=a1.path,
        title="书记",
        starts_at=PAST,
    )
    await CheckInPoint.create(
        unit=a1,
        unit_path=a1.path,
        name="社区服务中心",
        latitude=POINT[0],
        longitude=POINT[1],
        radius_m=RADIUS,
    )
    b1 = world.units["B1"]
    await CheckInPoint.create(
        unit=b1,
        unit_path=b1.path,
        name="乙一中心",
        latitude=28.0,
        longitude=120.7,
        radius_m=RADIUS,
    )
    return world


async def all_day_rule(world: World, key: str, unit: str = "A1") -> DutyRule:
    """On duty every day, all day (so HTTP tests do not depend on the hour)."""
    community = world.units[unit]
    return await DutyRule.create(
        unit=community,
        unit_path=community.path,
        person=world.people[key],
        name="全天",
        working_days=False,
        weekdays=[1, 2, 3, 4, 5, 6, 7],
        starts_minute=0,
        ends_minute=24 * 60,
        grace_minutes=0,
        valid_from=date(2020, 1, 1),
    )


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0] + metres / DEGREE_M, point[1]


def location(
    position: tuple[float, float],
    accuracy: float = 10.0,
    system: str = "WGS84",
) -> dict[str, Any]:
    return {
        "latitude": position[0],
        "longitude": position[1],
        "accuracy": accuracy,
        "system": system,
    }


async def check_in(client: Client, where: dict[str, Any]) -> dict[str, Any]:
    body = await client.query(CHECK_IN, {"location": where})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["dutyCheckIn"]
    return result


# -- check-in --------------------------------------------------------------------------


async def test_a_check_in_at_the_point_is_taken(
    login: Login, duty_world: World
) -> None:
    await all_day_rule(duty_world, "cadre_a1")

    result = await check_in(await login("cadre_a1"), location(north_of(POINT, 30)))

    assert result["errors"] == []
    taken = result["checkIn"]
    assert taken["person"]["name"] == "甲一书记"
    assert taken["point"]["name"] == "社区服务中心"
    assert taken["distanceM"] == pytest.approx(30, abs=0.2)
    assert taken["day"] == datetime.now(CST).date().isoformat()
    assert await DutyCheckIn.all().count() == 1


async def test_the_radius_edge_counts_and_a_metre_beyond_does_not(
    login: Login, duty_world: World
) -> None:
    await all_day_rule(duty_world, "cadre_a1")
    cadre = await login("cadre_a1")

    outside = await check_in(cadre, location(north_of(POINT, RADIUS + 1)))
    edge = await check_in(cadre, location(north_of(POINT, RADIUS - 0.01)))

    assert [e["code"] for e in outside["errors"]] == ["OUTSIDE_FENCE"]
    assert outside["distanceM"] == pytest.approx(RADIUS + 1, abs=0.2)
    assert outside["nearestPoint"] == {"name": "社区服务中心"}
    assert outside["checkIn"] is None
    assert edge["errors"] == []


async def test_far_away_the_refusal_says_how_far(
    login: Login, duty_world: World
) -> None:
    await all_day_rule(duty_world, "cadre_a1")

    result = await check_in(await login("cadre_a1"), location(north_of(POINT, 2500)))

    (error,) = result["errors"]
    assert error["code"] == "OUTSIDE_FENCE"
    assert "2500" in error["message"]
    assert result["distanceM"] == pytest.approx(2500, abs=1)
    assert await DutyCheckIn.all().count() == 0


async def test_a_fix_too_poor_to_tell_is_refused(
    login: Login, duty_world: World
) -> None:
    await all_day_rule(duty_world, "cadre_a1")

    result = await check_in(await login("cadre_a1"), location(POINT, accuracy=500))

    assert [e["code"] for e in result["errors"]] == ["ACCURACY_TOO_POOR"]
    assert await DutyCheckIn.all().count() == 0


async def test_a_gcj02_position_is_converted_before_the_fence_decides(
    login: Login, duty_world: World
) -> None:
    await all_day_rule(duty_world, "cadre_a1")
    cadre = await login("cadre_a1")
    # What a Chinese map SDK reports standing on the point.
    shifted = wgs84_to_gcj02(*POINT)
    # The same numbers taken for WGS-84 lie hundreds of metres off.
    assert distance_m(*shifted, *POINT) > 300

    wrong = await check_in(cadre, location(shifted, system="WGS84"))
    right = await check_in(cadre, location(shifted, system="GCJ02"))

    assert [e["code"] for e in wrong["errors"]] == ["OUTSIDE_FENCE"]
    assert right["errors"] == []
    assert right["checkIn"]["distanceM"] < 1
    assert right["checkIn"]["latitude"] == pytest.approx(POINT[0], abs=1e-5)
    assert right["checkIn"]["longitude"] == pytest.approx(POINT[1], abs=1e-5)


async def test_one_check_in_per_duty_day(login: Login, duty_world: World) -> None:
    await all_day_rule(duty_world, "cadre_a1")
    cadre = await login("cadre_a1")
    await check_in(cadre, location(POINT))

    again = await check_in(cadre, location(POINT))

    assert [e["code"] for e in again["errors"]] == ["ALREADY_CHECKED_IN"]
    assert await DutyCheckIn.all().count() == 1


async def test_without_a_duty_today_there_is_no_check_in(
    login: Login, duty_world: World
) -> None:
    result = await check_in(await login("cadre_a1"), location(POINT))

    assert [e["code"] for e in result["errors"]] == ["NOT_ON_DUTY"]


async def test_a_bad_location_is_refused_before_anything(
    login: Login, duty_world: World
) -> None:
    await all_day_rule(duty_world, "cadre_a1")

    result = await check_in(
        await login("cadre_a1"), {"latitude": 95, "longitude": 120, "accuracy": 5}
    )

    assert [e["code"] for e in result["errors"]] == ["LATITUDE_RANGE"]


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("official_a", "FORBIDDEN"),
        ("resident_a1", "FORBIDDEN"),
        ("company_staff", "FORBIDDEN"),
    ],
)
async def test_only_cadres_check_in(
    login: Login, duty_world: World, key: str, code: str
) -> None:
    body = await (await login(key)).query(CHECK_IN, {"location": location(POINT)})

    assert body["errors"][0]["extensions"]["code"] == code


async def test_anonymous_cannot_check_in(anonymous: Client, duty_world: World) -> None:
    body = await anonymous.query(CHECK_IN, {"location": location(POINT)})

    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- the window, late and missed (a controllable clock) --------------------------------


def cadre_context(
    world: World, tmp: Path, now: datetime, key: str = "cadre_a1"
) -> Context:
    a1 = world.units["A1"]
    return Context(
        bus=LocalBus(),
        auth=load_settings().auth,
        store=LocalFileStore(tmp),
        sender=LogSender(),
        caller=Caller(
            person_id=world.people[key].id, grants=(Grant(Role.CADRE, a1.id, a1.path),)
        ),
        clock=lambda: now,
    )


async def office_rule(world: World, key: str = "cadre_a1") -> DutyRule:
    """Working days, 08:30 to 17:30 China time, ten minutes' grace."""
    a1 = world.units["A1"]
    return await DutyRule.create(
        unit=a1,
        unit_path=a1.path,
        person=world.people[key],
        name="工作日",
        working_days=True,
        starts_minute=8 * 60 + 30,
        ends_minute=17 * 60 + 30,
        grace_minutes=10,
        valid_from=date(2026, 9, 1),
    )


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CST)


@pytest.mark.parametrize(
    ("moment", "outcome"),
    [
        (at(2026, 10, 12, 7, 29), "TOO_EARLY"),
        (at(2026, 10, 12, 7, 30), 0),  # an hour early is on time
        (at(2026, 10, 12, 8, 40), 0),  # the end of the grace
        (at(2026, 10, 12, 8, 41), 11),  # late: minutes after the opening
        (at(2026, 10, 12, 17, 30), 540),
        (at(2026, 10, 12, 17, 31), "WINDOW_CLOSED"),
        (at(2026, 10, 3, 9, 0), "NOT_ON_DUTY"),  # 国庆节
        (at(2026, 10, 10, 9, 0), 30),  # a Saturday worked in exchange (调休)
    ],
)
async def test_the_window_decides_on_time_late_or_refused(
    settings: Any,
    duty_world: World,
    tmp_path: Path,
    moment: datetime,
    outcome: int | str,
) -> None:
    await office_rule(duty_world)
    context = cadre_context(duty_world, tmp_path, moment)
    where = duty.Location(*POINT, 10.0)

    if isinstance(outcome, str):
        with pytest.raises(Invalid) as refused:
            await duty.check_in(context, where)
        assert [e.code for e in refused.value.errors] == [outcome]
        return
    taken = await duty.check_in(context, where)
    assert taken["minutes_late"] == outcome
    assert taken["day"] == moment.date()


async def test_statistics_of_a_known_month(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    rule = await office_rule(duty_world)
    a1 = duty_world.units["A1"]
    point = await CheckInPoint.get(unit_id=a1.id)
    # October 2026 has 18 official working days (国庆节 1-7, 调休 on the 10th).
    on_time = [8, 9, 10, 12, 13, 14, 15, 16, 19, 20]
    late = [21, 22, 23]
    for day in on_time + late:
        await DutyCheckIn.create(
            rule=rule,
            person_id=rule.person_id,
            unit=a1,
            unit_path=a1.path,
            point=point,
            day=date(2026, 10, day),
            at=at(2026, 10, day, 8, 30),
            latitude=POINT[0],
            longitude=POINT[1],
            accuracy_m=5,
            distance_m=1,
            minutes_late=25 if day in late else 0,
        )
    context = cadre_context(duty_world, tmp_path, at(2026, 11, 2, 9, 0))

    month = await duty.duty_statistics(context, duty.Period.MONTH, date(2026, 10, 15))
    week = await duty.duty_statistics(context, duty.Period.WEEK, date(2026, 10, 7))
    day = await duty.duty_statistics(context, duty.Period.DAY, date(2026, 10, 26))

    assert (month.first, month.last) == (date(2026, 10, 1), date(2026, 10, 31))
    totals = month.totals
    assert (totals.scheduled, totals.attended, totals.late, totals.missed) == (
        18,
        13,
        3,
        5,
    )
    assert totals.attendance_rate == round(13 / 18, 4)
    assert month.people[0].days == [date(2026, 10, d) for d in (26, 27, 28, 29, 30)]
    # The week of 国庆节: Monday 5th to Sunday 11th; on duty the 8th to the 10th.
    assert (week.first, week.totals.scheduled, week.totals.attended) == (
        date(2026, 10, 5),
        3,
        3,
    )
    assert (day.totals.scheduled, day.totals.missed) == (1, 1)


async def check_in_on(rule: DutyRule, days: list[int], minutes_late: int = 0) -> None:
    """Check-ins of ``rule`` at its point on these days of October 2026."""
    point = await CheckInPoint.get(unit_id=rule.unit_id, is_active=True)
    for day in days:
        await DutyCheckIn.create(
            rule=rule,
            person_id=rule.person_id,
            unit_id=rule.unit_id,
            unit_path=rule.unit_path,
            point=point,
            day=date(2026, 10, day),
            at=at(2026, 10, day, 8, 30),
            latitude=POINT[0],
            longitude=POINT[1],
            accuracy_m=5,
            distance_m=1,
            minutes_late=minutes_late,
        )


# October 2026's official working days (国庆节 1-7, 调休 on the 10th).
OCTOBER_WORKING = [8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27]
OCTOBER_WORKING += [28, 29, 30]


async def test_the_totals_list_the_distinct_days_anyone_missed(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    # Regression: the totals counted missed days but listed none of them.
    cadre = await office_rule(duty_world, "cadre_a1")
    head = await office_rule(duty_world, "head_a1")
    await check_in_on(cadre, [d for d in OCTOBER_WORKING if d not in (26, 27, 29)])
    await check_in_on(head, [d for d in OCTOBER_WORKING if d not in (8, 29)])
    context = cadre_context(duty_world, tmp_path, at(2026, 11, 2, 9, 0), "head_a1")

    month = await duty.duty_statistics(context, duty.Period.MONTH, date(2026, 10, 1))

    assert month.totals.missed == 5
    assert month.totals.days == [date(2026, 10, d) for d in (8, 26, 27, 29)]
    assert [t.days for t in month.people] == [
        [date(2026, 10, d) for d in (26, 27, 29)],
        [date(2026, 10, d) for d in (8, 29)],
    ]


async def test_an_open_window_is_pending_not_missed(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    await office_rule(duty_world)
    context = cadre_context(duty_world, tmp_path, at(2026, 10, 12, 10, 0))

    today = await duty.duty_statistics(context, duty.Period.DAY, date(2026, 10, 12))

    assert (today.totals.scheduled, today.totals.pending) == (0, 1)


async def test_an_explicit_calendar_day_wins_and_an_unknown_year_falls_back() -> None:
    explicit = {date(2026, 10, 12): False, date(2027, 2, 6): True}

    assert duty.is_working_day(date(2026, 10, 12), explicit) is False
    assert duty.is_working_day(date(2026, 10, 13), explicit) is True
    assert duty.is_working_day(date(2027, 2, 6), explicit) is True  # a Saturday
    assert duty.is_working_day(date(2027, 2, 8), {}) is True  # a Monday
    assert duty.is_working_day(date(2027, 2, 7), {}) is False  # a Sunday


async def test_calendar_days_entered_by_an_admin_count(
    login: Login, duty_world: World
) -> None:
    admin = await login("admin")
    body = await admin.query(
        """mutation { workCalendarDaySet(day: "2027-02-06", isWorking: true,
             note: "春节调休") { errors { code } day { day isWorking note } } }"""
    )
    assert body["data"]["workCalendarDaySet"]["day"]["isWorking"] is True
    assert await WorkCalendarDay.filter(day=date(2027, 2, 6)).exists()

    refused = await (await login("official_district")).query(
        """mutation { workCalendarDaySet(day: "2027-02-07", isWorking: true) {
             errors { code } } }"""
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- who sees whose attendance ---------------------------------------------------------


@pytest_asyncio.fixture
async def attendance(duty_world: World) -> World:
    """Rules and a check-in for cadre_a1 and head_a1 (A1), and cadre_b1 (B1)."""
    for key, unit in (("cadre_a1", "A1"), ("head_a1", "A1"), ("cadre_b1", "B1")):
        rule = await all_day_rule(duty_world, key, unit)
        community = duty_world.units[unit]
        point = await CheckInPoint.get(unit_id=community.id)
        await DutyCheckIn.create(
            rule=rule,
            person_id=rule.person_id,
            unit=community,
            unit_path=community.path,
            point=point,
            day=date(2026, 1, 5),
            at=datetime(2026, 1, 5, 1, tzinfo=UTC),
            latitude=POINT[0],
            longitude=POINT[1],
            accuracy_m=5,
            distance_m=1,
        )
    return duty_world


ATTENDANCE_SEEN = {
    "admin": {"甲一书记", "甲一主任", "乙一书记"},
    "official_district": {"甲一书记", "甲一主任", "乙一书记"},
    "official_a": {"甲一书记", "甲一主任"},
    "official_b": {"乙一书记"},
    "head_a1": {"甲一书记", "甲一主任"},
    "cadre_a1": {"甲一书记"},
    "cadre_b1": {"乙一书记"},
}
REFUSED = ("resident_a1", "resident_b1", "company_staff", "committee_member")


@pytest.mark.parametrize("key", sorted(ATTENDANCE_SEEN))
async def test_attendance_is_seen_by_self_head_and_officials_above(
    login: Login, attendance: World, key: str
) -> None:
    client = await login(key)

    rules = (await client.query(RULES))["data"]["dutyRules"]
    check_ins = (await client.query(CHECK_INS))["data"]["dutyCheckIns"]
    stats = (await client.query(STATISTICS, {"period": "MONTH", "day": "2026-01-05"}))[
        "data"
    ]["dutyStatistics"]

    expected = ATTENDANCE_SEEN[key]
    assert {r["person"]["name"] for r in rules} == expected
    assert {e["node"]["person"]["name"] for e in check_ins["edges"]} == expected
    assert {p["person"]["name"] for p in stats["people"]} == expected


@pytest.mark.parametrize("key", REFUSED)
async def test_attendance_is_refused_to_others(
    login: Login, attendance: World, key: str
) -> None:
    client = await login(key)

    for document, variables in (
        (RULES, {}),
        (CHECK_INS, {}),
        (STATISTICS, {"period": "DAY", "day": "2026-01-05"}),
    ):
        body = await client.query(document, variables)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_check_in_by_id_is_hidden_outside_the_scope(
    login: Login, attendance: World
) -> None:
    head_b = await DutyCheckIn.get(person_id=attendance.people["cadre_b1"].id)
    node = f'{{ node(id: "{encode_id("DutyCheckIn", head_b.id)}") {{ id }} }}'

    assert (await (await login("cadre_a1")).query(node))["data"]["node"] is None
    assert (await (await login("head_a1")).query(node))["data"]["node"] is None
    seen = (await (await login("official_b")).query(node))["data"]["node"]
    assert seen is not None


# -- managing rules and points ---------------------------------------------------------

RULE_CREATE = """
mutation Rule($input: DutyRuleInput!) {
  dutyRuleCreate(input: $input) { errors { field code } rule { id name } }
}
"""
POINT_CREATE = """
mutation Point($input: CheckInPointInput!) {
  checkInPointCreate(input: $input) {
    errors { field code } point { latitude longitude radiusM }
  }
}
"""


def rule_input(world: World, **overrides: Any) -> dict[str, Any]:
    values = {
        "unitId": encode_id("OrgUnit", world.units["A1"].id),
        "personId": encode_id("Person", world.people["cadre_a1"].id),
        "startsAt": "08:30:00",
        "endsAt": "17:30:00",
        "validFrom": "2026-01-01",
        "name": "白班",
    }
    return {**values, **overrides}


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("head_a1", True),
        ("official_a", True),
        ("official_district", True),
        ("cadre_a1", False),
        ("official_b", False),
        ("cadre_b1", False),
    ],
)
async def test_the_head_and_officials_above_set_the_rules(
    login: Login, duty_world: World, key: str, allowed: bool
) -> None:
    body = await (await login(key)).query(
        RULE_CREATE, {"input": rule_input(duty_world)}
    )

    if allowed:
        assert body["data"]["dutyRuleCreate"]["errors"] == []
        assert await DutyRule.all().count() == 1
    else:
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "NOT_FOUND"}
        assert await DutyRule.all().count() == 0


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"endsAt": "08:00:00"}, "WINDOW_INVALID"),
        ({"workingDays": False, "weekdays": [0]}, "WEEKDAYS_INVALID"),
        ({"validUntil": "2025-01-01"}, "PERIOD_INVALID"),
        ({"personId": "resident_a1"}, "PERSON_NOT_CADRE"),
    ],
)
async def test_a_bad_rule_is_refused(
    login: Login, duty_world: World, overrides: dict[str, Any], code: str
) -> None:
    if overrides.get("personId") == "resident_a1":
        overrides["personId"] = encode_id("Person", duty_world.people["resident_a1"].id)

    body = await (await login("head_a1")).query(
        RULE_CREATE, {"input": rule_input(duty_world, **overrides)}
    )

    codes = [e["code"] for e in body["data"]["dutyRuleCreate"]["errors"]]
    assert codes == [code]
    assert await DutyRule.all().count() == 0


async def test_a_point_given_in_gcj02_is_stored_as_wgs84(
    login: Login, duty_world: World
) -> None:
    shifted = wgs84_to_gcj02(*POINT)

    body = await (await login("head_a1")).query(
        POINT_CREATE,
        {
            "input": {
                "unitId": encode_id("OrgUnit", duty_world.units["A1"].id),
                "name": "村委会",
                "location": location(shifted, system="GCJ02"),
                "radiusM": 80,
            }
        },
    )

    point = body["data"]["checkInPointCreate"]["point"]
    assert point["latitude"] == pytest.approx(POINT[0], abs=1e-5)
    assert point["longitude"] == pytest.approx(POINT[1], abs=1e-5)


POINTS = "query { checkInPoints { name } }"
POINTS_SEEN = {
    "admin": {"社区服务中心", "乙一中心"},
    "official_district": {"社区服务中心", "乙一中心"},
    "official_a": {"社区服务中心"},
    "official_b": {"乙一中心"},
    "head_a1": {"社区服务中心"},
    "cadre_a1": {"社区服务中心"},
    "cadre_b1": {"乙一中心"},
}


@pytest.mark.parametrize("key", sorted(POINTS_SEEN))
async def test_check_in_points_are_seen_by_staff_of_their_community_and_above(
    login: Login, duty_world: World, key: str
) -> None:
    body = await (await login(key)).query(POINTS)

    assert {p["name"] for p in body["data"]["checkInPoints"]} == POINTS_SEEN[key]


@pytest.mark.parametrize("key", REFUSED)
async def test_check_in_points_are_refused_to_others(
    login: Login, duty_world: World, key: str
) -> None:
    body = await (await login(key)).query(POINTS)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_official_calendar_is_public(
    anonymous: Client, duty_world: World
) -> None:
    await WorkCalendarDay.create(day=date(2027, 2, 6), is_working=True, note="调休")

    body = await anonymous.query(
        '{ workCalendar(startsOn: "2027-01-01", endsOn: "2027-12-31") '
        "{ day isWorking note } }"
    )

    assert body["data"]["workCalendar"] == [
        {"day": "2027-02-06", "isWorking": True, "note": "调休"}
    ]


# -- today's duty ----------------------------------------------------------------------

MY_DUTY_TODAY = """
query {
  myDutyToday {
    day state startsAt endsAt graceMinutes checkedInAt minutesLate
    points { name latitude longitude radiusM }
    rule { name person { name } }
    unit { name }
  }
}
"""


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        (at(2026, 10, 12, 7, 29), "UPCOMING"),
        (at(2026, 10, 12, 7, 30), "OPEN"),  # check-ins open an hour early
        (at(2026, 10, 12, 8, 40), "OPEN"),  # the end of the grace
        (at(2026, 10, 12, 8, 41), "LATE"),
        (at(2026, 10, 12, 17, 30), "LATE"),
        (at(2026, 10, 12, 17, 31), "MISSED"),
    ],
)
async def test_todays_duty_moves_through_the_day(
    settings: Any, duty_world: World, tmp_path: Path, moment: datetime, state: str
) -> None:
    await office_rule(duty_world)

    (today,) = await duty.duty_today(cadre_context(duty_world, tmp_path, moment))

    assert today.state == state
    assert today.day == date(2026, 10, 12)
    assert today.check_in is None
    assert [p["name"] for p in today.points] == ["社区服务中心"]


async def test_a_grid_worker_on_duty_at_the_community_sees_where_to_check_in(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    # Given a grid worker of A1 (their post at a grid), on duty at the community
    a1 = duty_world.units["A1"]
    grid = await OrgUnit.create(
        name="一网格", code="T-G1", level=Level.GRID, parent=a1, path="pending", depth=9
    )
    grid.path = f"{a1.path}{grid.id}/"
    await grid.save(update_fields=["path"])
    worker = await add_person(duty_world, "grid_worker", "网格员", "13700000002")
    await all_day_rule(duty_world, "grid_worker")
    context = Context(
        bus=LocalBus(),
        auth=load_settings().auth,
        store=LocalFileStore(tmp_path),
        sender=LogSender(),
        caller=Caller(
            person_id=worker.id, grants=(Grant(Role.CADRE, grid.id, grid.path),)
        ),
        clock=lambda: at(2026, 10, 12, 9, 0),
    )

    # When they read today's duty
    (today,) = await duty.duty_today(context)

    # Then the community's point is listed, as the check-in will use it
    assert [p["name"] for p in today.points] == ["社区服务中心"]
    assert (await duty.check_in(context, duty.Location(*POINT, 10.0)))["rule_id"]


async def test_of_two_duties_open_at_once_the_next_check_in_is_for_the_other(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    office = await office_rule(duty_world)
    all_day = await all_day_rule(duty_world, "cadre_a1")
    context = cadre_context(duty_world, tmp_path, at(2026, 10, 12, 9, 0))
    where = duty.Location(*POINT, 10.0)

    first = await duty.check_in(context, where)
    second = await duty.check_in(context, where)

    assert (first["rule_id"], second["rule_id"]) == (all_day.id, office.id)
    assert [t.state for t in await duty.duty_today(context)] == ["CHECKED_IN"] * 2
    with pytest.raises(Invalid) as refused:
        await duty.check_in(context, where)
    assert [e.code for e in refused.value.errors] == ["ALREADY_CHECKED_IN"]


async def test_todays_duty_shows_the_check_in_taken(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    await office_rule(duty_world)
    context = cadre_context(duty_world, tmp_path, at(2026, 10, 12, 8, 45))
    await duty.check_in(context, duty.Location(*POINT, 10.0))

    later = cadre_context(duty_world, tmp_path, at(2026, 10, 12, 18, 0))
    (today,) = await duty.duty_today(later)

    assert today.state == duty.DutyState.CHECKED_IN
    assert today.check_in is not None
    assert today.check_in["minutes_late"] == 15
    assert today.check_in["at"] == at(2026, 10, 12, 8, 45)


async def test_a_holiday_entered_in_the_calendar_has_no_duty(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    await office_rule(duty_world)
    # A Tuesday made a holiday, a Sunday made a working day (调休).
    await WorkCalendarDay.create(day=date(2026, 10, 13), is_working=False)
    await WorkCalendarDay.create(day=date(2026, 10, 18), is_working=True)

    holiday = cadre_context(duty_world, tmp_path, at(2026, 10, 13, 9, 0))
    worked = cadre_context(duty_world, tmp_path, at(2026, 10, 18, 9, 0))
    sunday = cadre_context(duty_world, tmp_path, at(2026, 10, 11, 9, 0))

    assert await duty.duty_today(holiday) == []
    assert [t.state for t in await duty.duty_today(worked)] == ["LATE"]
    assert await duty.duty_today(sunday) == []


@pytest.mark.parametrize(
    ("key", "seen"),
    [
        ("cadre_a1", "甲一书记"),
        ("head_a1", "甲一主任"),  # heads the community, sees only their own duty
        ("cadre_b1", "乙一书记"),
    ],
)
async def test_todays_duty_lists_only_the_callers_own_rules(
    login: Login, attendance: World, key: str, seen: str
) -> None:
    body = await (await login(key)).query(MY_DUTY_TODAY)

    (today,) = body["data"]["myDutyToday"]
    assert today["rule"]["person"]["name"] == seen
    assert today["state"] in {"OPEN", "LATE", "CHECKED_IN"}
    assert (today["startsAt"], today["endsAt"]) == ("00:00:00", "23:59:59")
    assert today["day"] == datetime.now(CST).date().isoformat()
    assert len(today["points"]) == 1


async def test_a_cadre_without_duty_today_gets_an_empty_list(
    login: Login, duty_world: World
) -> None:
    body = await (await login("cadre_a1")).query(MY_DUTY_TODAY)

    assert body["data"]["myDutyToday"] == []


@pytest.mark.parametrize("key", ["official_a", "admin", *REFUSED])
async def test_todays_duty_is_for_cadres(
    login: Login, attendance: World, key: str
) -> None:
    body = await (await login(key)).query(MY_DUTY_TODAY)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- changing a rule from a day on -----------------------------------------------------

RULE_UPDATE = """
mutation Update($id: ID!, $input: DutyRuleUpdateInput!) {
  dutyRuleUpdate(id: $id, input: $input) {
    errors { field code }
    rule { id validFrom validUntil startsAt endsAt graceMinutes weekdays pointIds }
  }
}
"""


def head_context(world: World, tmp: Path, now: datetime) -> Context:
    return cadre_context(world, tmp, now, "head_a1")


async def rule_columns() -> list[dict[str, Any]]:
    return await DutyRule.all().order_by("id").values()


async def test_a_rule_not_yet_in_force_changes_in_place(
    login: Login, duty_world: World
) -> None:
    # Given a rule that starts today
    rule = await all_day_rule(duty_world, "cadre_a1")
    today = datetime.now(CST).date()
    await DutyRule.filter(id=rule.id).update(valid_from=today)

    # When its window is changed from today
    body = await (await login("head_a1")).query(
        RULE_UPDATE,
        {
            "id": encode_id("DutyRule", rule.id),
            "input": {
                "fromDay": today.isoformat(),
                "startsAt": "09:00",
                "endsAt": "12:00",
            },
        },
    )

    # Then the same rule holds the new window: no history to keep
    result = body["data"]["dutyRuleUpdate"]
    assert result["errors"] == []
    assert result["rule"]["id"] == encode_id("DutyRule", rule.id)
    assert (result["rule"]["startsAt"], result["rule"]["endsAt"]) == (
        "09:00:00",
        "12:00:00",
    )
    assert await DutyRule.all().count() == 1
    audited = await AuditRecord.get(action="DUTY_RULE_UPDATE")
    assert audited.outcome == Outcome.OK
    assert audited.subject_ids == [rule.id]


async def test_a_rule_in_force_without_check_ins_keeps_its_missed_days(
    login: Login, duty_world: World
) -> None:
    # Given a rule in force since 2020 that nobody ever checked in for
    rule = await all_day_rule(duty_world, "cadre_a1")
    tomorrow = datetime.now(CST).date() + timedelta(days=1)

    # When its days are changed from tomorrow to weekends only
    body = await (await login("head_a1")).query(
        RULE_UPDATE,
        {
            "id": encode_id("DutyRule", rule.id),
            "input": {"fromDay": tomorrow.isoformat(), "weekdays": [6, 7]},
        },
    )

    # Then the old rule ends today, its missed days stay as they were, and a new
    # rule holds from tomorrow
    result = body["data"]["dutyRuleUpdate"]
    assert result["errors"] == []
    assert result["rule"]["id"] != encode_id("DutyRule", rule.id)
    old = await DutyRule.get(id=rule.id)
    assert (old.weekdays, old.valid_until) == (
        [1, 2, 3, 4, 5, 6, 7],
        tomorrow - timedelta(days=1),
    )


async def test_a_rule_with_check_ins_ends_and_a_new_one_holds_from_the_day(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    rule = await office_rule(duty_world)
    await check_in_on(rule, [8, 9, 12, 13, 14, 15, 16], minutes_late=0)
    await check_in_on(rule, [19, 20], minutes_late=25)
    moment = at(2026, 11, 2, 9, 0)
    context = cadre_context(duty_world, tmp_path, moment)
    october = await duty.duty_statistics(context, duty.Period.MONTH, date(2026, 10, 1))

    changed = await duty.update_rule(
        head_context(duty_world, tmp_path, moment),
        rule.id,
        duty.RuleChange(
            from_day=date(2026, 11, 2),
            working_days=False,
            weekdays=(1, 3),
            starts_at=time(9, 0),
            ends_at=time(12, 0),
            grace_minutes=0,
        ),
    )

    old, new = await rule_columns()
    assert old["id"] == rule.id and new["id"] == changed["id"]
    assert (old["valid_from"], old["valid_until"]) == (
        date(2026, 9, 1),
        date(2026, 11, 1),
    )
    assert (old["starts_minute"], old["ends_minute"], old["working_days"]) == (
        510,
        1050,
        True,
    )
    assert (new["valid_from"], new["valid_until"], new["weekdays"]) == (
        date(2026, 11, 2),
        None,
        [1, 3],
    )
    assert (new["starts_minute"], new["ends_minute"], new["person_id"]) == (
        540,
        720,
        rule.person_id,
    )
    # Past attendance reads as it did.
    again = await duty.duty_statistics(context, duty.Period.MONTH, date(2026, 10, 1))
    assert again.totals == october.totals
    assert again.totals.days == october.totals.days
    # The new rule holds this week: Monday 2nd (open now) and Wednesday 4th.
    week = await duty.duty_statistics(context, duty.Period.WEEK, date(2026, 11, 2))
    assert (week.totals.pending, week.totals.scheduled) == (2, 0)
    (today,) = await duty.duty_today(context)
    assert (today.rule["id"], today.state) == (changed["id"], "OPEN")
    audited = await AuditRecord.get(action="DUTY_RULE_UPDATE")
    assert audited.subject_ids == [rule.id, changed["id"]]


async def test_a_change_from_a_day_already_checked_in_is_refused(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    rule = await office_rule(duty_world)
    await check_in_on(rule, [30])
    moment = at(2026, 11, 2, 9, 0)
    await duty.check_in(
        cadre_context(duty_world, tmp_path, moment), duty.Location(*POINT, 10.0)
    )
    before = await rule_columns()

    with pytest.raises(Invalid) as refused:
        await duty.update_rule(
            head_context(duty_world, tmp_path, moment),
            rule.id,
            duty.RuleChange(from_day=date(2026, 11, 2), grace_minutes=30),
        )

    assert [e.code for e in refused.value.errors] == ["ALREADY_CHECKED_IN"]
    assert await rule_columns() == before


async def test_points_chosen_for_a_rule_are_the_only_ones_a_check_in_may_use(
    login: Login, duty_world: World
) -> None:
    rule = await all_day_rule(duty_world, "cadre_a1")
    a1 = duty_world.units["A1"]
    far = await CheckInPoint.create(
        unit=a1,
        unit_path=a1.path,
        name="村委会",
        latitude=POINT[0] + 0.01,
        longitude=POINT[1],
        radius_m=RADIUS,
    )
    today = datetime.now(CST).date().isoformat()

    body = await (await login("head_a1")).query(
        RULE_UPDATE,
        {
            "id": encode_id("DutyRule", rule.id),
            "input": {
                "fromDay": today,
                "pointIds": [encode_id("CheckInPoint", far.id)],
            },
        },
    )
    assert body["data"]["dutyRuleUpdate"]["rule"]["pointIds"] == [
        encode_id("CheckInPoint", far.id)
    ]
    cadre = await login("cadre_a1")
    listed = (await cadre.query(MY_DUTY_TODAY))["data"]["myDutyToday"]
    refused = await check_in(cadre, location(POINT))

    assert [p["name"] for p in listed[0]["points"]] == ["村委会"]
    assert [e["code"] for e in refused["errors"]] == ["OUTSIDE_FENCE"]
    assert refused["nearestPoint"] == {"name": "村委会"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"startsAt": "12:00", "endsAt": "09:00"}, "WINDOW_INVALID"),
        ({"fromDay": "yesterday"}, "PERIOD_INVALID"),
        ({"pointIds": ["B1"]}, "POINT_UNKNOWN"),
        ({"workingDays": False, "weekdays": [8]}, "WEEKDAYS_INVALID"),
    ],
)
async def test_a_bad_change_is_refused_audited_and_changes_nothing(
    login: Login, duty_world: World, change: dict[str, Any], code: str
) -> None:
    rule = await all_day_rule(duty_world, "cadre_a1")
    today = datetime.now(CST).date()
    values = {"fromDay": today.isoformat(), **change}
    if values["fromDay"] == "yesterday":
        values["fromDay"] = (today - timedelta(days=1)).isoformat()
    if values.get("pointIds") == ["B1"]:
        other = await CheckInPoint.get(unit_id=duty_world.units["B1"].id)
        values["pointIds"] = [encode_id("CheckInPoint", other.id)]
    before = await rule_columns()

    body = await (await login("head_a1")).query(
        RULE_UPDATE, {"id": encode_id("DutyRule", rule.id), "input": values}
    )

    result = body["data"]["dutyRuleUpdate"]
    assert [e["code"] for e in result["errors"]] == [code]
    assert result["rule"] is None
    assert await rule_columns() == before
    audited = await AuditRecord.get(action="DUTY_RULE_UPDATE")
    assert audited.outcome == Outcome.FAILED


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("head_a1", True),
        ("official_a", True),
        ("official_district", True),
        ("admin", True),
        ("cadre_a1", False),
        ("official_b", False),
        ("cadre_b1", False),
        ("resident_a1", False),
    ],
)
async def test_who_may_create_a_rule_may_update_it(
    login: Login, duty_world: World, key: str, allowed: bool
) -> None:
    rule = await all_day_rule(duty_world, "cadre_a1")
    before = await rule_columns()

    body = await (await login(key)).query(
        RULE_UPDATE,
        {
            "id": encode_id("DutyRule", rule.id),
            "input": {
                "fromDay": datetime.now(CST).date().isoformat(),
                "graceMinutes": 5,
            },
        },
    )

    if allowed:
        assert body["data"]["dutyRuleUpdate"]["rule"]["graceMinutes"] == 5
    else:
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "NOT_FOUND"}
        assert await rule_columns() == before


async def test_todays_duty_costs_the_same_statements_for_one_rule_or_many(
    login: Login, duty_world: World, statements: Any
) -> None:
    cadre = await login("cadre_a1")
    await all_day_rule(duty_world, "cadre_a1")
    with statements() as one:
        await cadre.query(MY_DUTY_TODAY)
    for _ in range(4):
        await all_day_rule(duty_world, "cadre_a1")

    with statements() as many:
        body = await cadre.query(MY_DUTY_TODAY)

    assert len(body["data"]["myDutyToday"]) == 5
    assert len(many) == len(one), many
    # the session (3), rules, calendar, check-ins, points, then one per relation
    assert len(one) <= 10, one


async def test_a_point_closed_since_it_was_chosen_does_not_block_other_changes(
    login: Login, duty_world: World
) -> None:
    rule = await all_day_rule(duty_world, "cadre_a1")
    point = await CheckInPoint.get(unit_id=duty_world.units["A1"].id)
    await DutyRule.filter(id=rule.id).update(point_ids=[point.id])
    await CheckInPoint.filter(id=point.id).update(is_active=False)

    body = await (await login("head_a1")).query(
        RULE_UPDATE,
        {
            "id": encode_id("DutyRule", rule.id),
            "input": {
                "fromDay": datetime.now(CST).date().isoformat(),
                "graceMinutes": 5,
            },
        },
    )

    result = body["data"]["dutyRuleUpdate"]
    assert result["errors"] == []
    assert result["rule"]["pointIds"] == [encode_id("CheckInPoint", point.id)]


async def test_a_rule_is_not_changed_under_todays_check_in_or_closed_window(
    settings: Any, duty_world: World, tmp_path: Path
) -> None:
    # Given the office rule starting on Monday 12 October, checked in that day
    rule = await office_rule(duty_world)
    await DutyRule.filter(id=rule.id).update(valid_from=date(2026, 10, 12))
    await check_in_on(rule, [12], minutes_late=0)
    morning = head_context(duty_world, tmp_path, at(2026, 10, 12, 10, 0))
    later = duty.RuleChange(from_day=date(2026, 10, 12), starts_at=time(10, 0))

    # When its window is changed from that very day
    with pytest.raises(Invalid) as checked_in:
        await duty.update_rule(morning, rule.id, later)

    # Then it is refused and the rule is as it was
    assert [e.code for e in checked_in.value.errors] == ["ALREADY_CHECKED_IN"]
    assert (await DutyRule.get(id=rule.id)).starts_minute == 8 * 60 + 30

    # Given Tuesday evening, after a window nobody checked in for
    evening = head_context(duty_world, tmp_path, at(2026, 10, 13, 18, 0))
    today = duty.RuleChange(from_day=date(2026, 10, 13), ends_at=time(20, 0))

    # When the window is moved later from today, so the missed day would be open
    with pytest.raises(Invalid) as over:
        await duty.update_rule(evening, rule.id, today)

    # Then it is refused too; from tomorrow it is taken
    assert [e.code for e in over.value.errors] == ["PERIOD_INVALID"]
    tomorrow = duty.RuleChange(from_day=date(2026, 10, 14), ends_at=time(20, 0))
    changed = await duty.update_rule(evening, rule.id, tomorrow)
    assert changed["id"] != rule.id
