"""Visits end to end: check-in distance decisions, reports, orders, automatic
dispatch, the day's route and its analysis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from models import AuditRecord, Beneficiary, Notification, Visit, VisitOrder
from models.enums import BeneficiarySource, VisitOrderStatus
from resolvers import care, visit
from resolvers.geo import distance_m, wgs84_to_gcj02
from schema.base import encode_id
from tests.care_support import (
    CHEN,
    HOME,
    WANG,
    Clock,
    context_of,
    import_sample,
    system_context,
)
from tests.conftest import Client
from tests.world import World

PER_METRE = 1 / 111_195  # degrees of latitude in a metre

CHECK_IN = """
mutation CheckIn($input: VisitCheckInInput!) {
  visitCheckIn(input: $input) {
    errors { field code message }
    distanceM
    visit { id kind status distanceM beneficiary { name } order { status } }
  }
}
"""
REPORT = """
mutation Report($input: VisitReportInput!) {
  visitReport(input: $input) {
    errors { field code }
    visit { status situation needs reportedAt }
  }
}
"""
ORDER = """
mutation Order($input: VisitOrderCreateInput!) {
  visitOrderCreate(input: $input) {
    errors { field code }
    order { id status reason assignee { name } beneficiary { name } }
  }
}
"""
SETTING = """
mutation Set($key: String!, $value: Int!) {
  careSettingSet(key: $key, value: $value) { errors { code } settings { key value } }
}
"""
TRACK = """
mutation Track($points: [TrackPointInput!]!) {
  visitTrackUpload(points: $points) { errors { field code } stored skipped }
}
"""
ROUTE = """
query Route($personId: ID!, $day: Date!) {
  visitRoute(personId: $personId, day: $day) {
    points distanceM visits timeOnSiteSeconds implausible { speedKmh jumpM }
  }
}
"""


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest_asyncio.fixture
async def seeded(world: World, settings: Any, clock: Clock) -> World:
    """The 浙里救 sample imported; 王秀英's dwelling located at HOME."""
    official = await context_of(world, settings, "official_district", clock)
    await import_sample(official, world.units["district"], BeneficiarySource.ZHELIJIU)
    wang = await Beneficiary.get(name=WANG)
    await care.locate_beneficiary(official, wang.id, *HOME)
    return world


def gid(type_name: str, pk: int) -> str:
    return str(encode_id(type_name, pk))


async def beneficiary_gid(name: str) -> str:
    return gid("Beneficiary", (await Beneficiary.get(name=name)).id)


def north_of_home(metres: float, system: str = "WGS84") -> dict[str, Any]:
    lat, lng = HOME[0] + metres * PER_METRE, HOME[1]
    if system == "GCJ02":
        lat, lng = wgs84_to_gcj02(lat, lng)
    return {"latitude": lat, "longitude": lng, "accuracy": 15, "system": system}


async def check_in(
    client: Client, name: str, location: dict[str, Any], order: str | None = None
) -> dict[str, Any]:
    variables = {
        "input": {
            "beneficiaryId": await beneficiary_gid(name),
            "location": location,
            "orderId": order,
        }
    }
    body = await client.query(CHECK_IN, variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["visitCheckIn"]
    return result


# -- check-in ---------------------------------------------------------------------


async def test_a_check_in_near_the_dwelling_counts_and_gcj02_is_converted(
    seeded: World, login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")

    result = await check_in(cadre, WANG, north_of_home(50, "GCJ02"))

    assert result["errors"] == []
    assert 49 <= result["distanceM"] <= 51
    assert result["visit"]["kind"] == "ROUTINE"
    assert result["visit"]["status"] == "CHECKED_IN"
    assert result["visit"]["beneficiary"]["name"] == WANG


async def test_a_check_in_too_far_away_is_refused_with_the_distance(
    seeded: World, login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")

    # GCJ-02 sent as if it were WGS-84 lands hundreds of metres off.
    lat, lng = wgs84_to_gcj02(*HOME)
    shifted = {"latitude": lat, "longitude": lng, "accuracy": 15, "system": "WGS84"}
    misread = await check_in(cadre, WANG, shifted)
    far = await check_in(cadre, WANG, north_of_home(800))

    assert misread["errors"][0]["code"] == "OUTSIDE_FENCE"
    assert misread["distanceM"] == pytest.approx(distance_m(lat, lng, *HOME), abs=1)
    assert far["errors"][0]["code"] == "OUTSIDE_FENCE"
    assert far["distanceM"] == pytest.approx(800, abs=1)
    assert "800 米" in far["errors"][0]["message"]
    assert far["visit"] is None
    assert not await Visit.exists()
    failed = await AuditRecord.filter(action="VISIT_CHECK_IN", outcome="FAILED")
    assert [r.detail["code"] for r in failed] == ["OUTSIDE_FENCE", "OUTSIDE_FENCE"]


async def test_a_check_in_with_a_poor_fix_is_refused(
    seeded: World, login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")

    result = await check_in(cadre, WANG, {**north_of_home(10), "accuracy": 500})

    assert result["errors"][0]["code"] == "ACCURACY_TOO_POOR"
    assert not await Visit.exists()


async def test_the_distance_allowed_is_configuration(
    seeded: World, login: Callable[[str], Any]
) -> None:
    official = await login("official_district")
    cadre = await login("cadre_a1")

    body = await official.query(
        SETTING, {"key": "checkin.max_distance_m", "value": 1000}
    )
    refused = await cadre.query(SETTING, {"key": "checkin.max_distance_m", "value": 5})

    assert body["data"]["careSettingSet"]["errors"] == []
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await check_in(cadre, WANG, north_of_home(800)))["errors"] == []


async def test_a_check_in_needs_the_dwelling_located_and_a_living_person(
    seeded: World, login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")

    result = await check_in(cadre, CHEN, north_of_home(0))

    assert [e["code"] for e in result["errors"]] == ["DWELLING_NOT_LOCATED"]


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("cadre_b1", "NOT_FOUND"),
        ("official_a", "FORBIDDEN"),
        ("resident_a1", "FORBIDDEN"),
        ("company_staff", "FORBIDDEN"),
    ],
)
async def test_only_the_persons_cadres_check_in(
    seeded: World, login: Callable[[str], Any], key: str, code: str
) -> None:
    client = await login(key)
    variables = {
        "input": {
            "beneficiaryId": await beneficiary_gid(WANG),
            "location": north_of_home(0),
        }
    }

    body = await client.query(CHECK_IN, variables)

    assert body["errors"][0]["extensions"]["code"] == code
    assert not await Visit.exists()


# -- report -----------------------------------------------------------------------


async def test_a_visit_is_reported_once_by_its_visitor(
    seeded: World, login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")
    visit_id = (await check_in(cadre, WANG, north_of_home(5)))["visit"]["id"]
    report = {"visitId": visit_id, "situation": "身体尚可，独自居住。", "needs": "助餐"}

    first = await cadre.query(REPORT, {"input": report})
    second = await cadre.query(REPORT, {"input": report})
    empty = await cadre.query(REPORT, {"input": {**report, "situation": " "}})
    other = await (await login("cadre_b1")).query(REPORT, {"input": report})

    assert first["data"]["visitReport"]["errors"] == []
    assert first["data"]["visitReport"]["visit"]["status"] == "REPORTED"
    assert first["data"]["visitReport"]["visit"]["needs"] == "助餐"
    codes = [e["code"] for e in second["data"]["visitReport"]["errors"]]
    assert codes == ["ALREADY_REPORTED"]
    assert "SITUATION_REQUIRED" in [
        e["code"] for e in empty["data"]["visitReport"]["errors"]
    ]
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# -- orders and dispatch ----------------------------------------------------------


async def test_an_official_orders_a_visit_and_the_check_in_fulfils_it(
    seeded: World, login: Callable[[str], Any]
) -> None:
    official = await login("official_a")
    cadre = await login("cadre_a1")
    deadline = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    order_input = {
        "beneficiaryId": await beneficiary_gid(WANG),
        "assigneeId": gid("Person", seeded.people["cadre_a1"].id),
        "deadline": deadline,
        "note": "春节前走访",
    }

    made = (await official.query(ORDER, {"input": order_input}))["data"]
    wrong = await official.query(
        ORDER,
        {
            "input": {
                **order_input,
                "assigneeId": gid("Person", seeded.people["resident_a1"].id),
            }
        },
    )
    by_cadre = await cadre.query(ORDER, {"input": order_input})

    order = made["visitOrderCreate"]["order"]
    assert made["visitOrderCreate"]["errors"] == []
    assert (order["status"], order["reason"]) == ("OPEN", "ORDERED")
    codes = [e["code"] for e in wrong["data"]["visitOrderCreate"]["errors"]]
    assert codes == ["NOT_A_CADRE_HERE"]
    assert by_cadre["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    notice = await Notification.get(person_id=seeded.people["cadre_a1"].id)
    assert notice.kind == "VISIT_ORDER" and WANG in notice.body

    result = await check_in(cadre, WANG, north_of_home(5), order["id"])
    assert result["visit"]["kind"] == "DISPATCHED"
    assert result["visit"]["order"]["status"] == "DONE"


async def test_dispatch_orders_each_overdue_or_new_person_once(
    seeded: World, settings: Any
) -> None:
    clock = Clock()
    official = await context_of(seeded, settings, "official_district", clock)
    cadre_id = seeded.people["cadre_a1"].id
    for name in (WANG, CHEN):
        found = await Beneficiary.get(name=name)
        await care.assign_responsible(official, found.id, cadre_id)
    system = system_context(seeded, settings, clock)

    first = await visit.dispatch_orders(system)
    second = await visit.dispatch_orders(system)

    assert (first, second) == ({"orders": 2}, {"orders": 0})
    orders = await VisitOrder.filter(status=VisitOrderStatus.OPEN)
    assert {o.reason for o in orders} == {"NEW_BENEFICIARY"}
    assert {o.assignee_id for o in orders} == {cadre_id}
    # One notice per cadre and run, however many orders it brings.
    notices = await Notification.filter(person_id=cadre_id)
    assert len(notices) == 1 and "2 个" in notices[0].body

    # A visit closes the order; 30 days later 陈建国 is overdue and ordered again.
    cadre = await context_of(seeded, settings, "cadre_a1", clock)
    chen = await Beneficiary.get(name=CHEN)
    await care.locate_beneficiary(official, chen.id, *HOME)
    await visit.check_in(cadre, chen.id, None, *HOME, 10.0)
    clock.advance(days=31)
    third = await visit.dispatch_orders(system)
    fourth = await visit.dispatch_orders(system)
    assert (third, fourth) == ({"orders": 1}, {"orders": 0})
    latest = await VisitOrder.filter(beneficiary_id=chen.id).order_by("-id").first()
    assert latest is not None and latest.reason == "OVERDUE"


# -- route ------------------------------------------------------------------------

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in China


def walk(minutes: list[int], metres_north: list[float]) -> list[visit.Point]:
    return [
        (START + timedelta(minutes=m), HOME[0] + d * PER_METRE, HOME[1])
        for m, d in zip(minutes, metres_north, strict=True)
    ]


def test_route_analysis_of_a_known_track() -> None:
    # On site (within 300 m) from 09:00 to 09:20, then walking north 1 km by 09:40,
    # a jump of 50 km at 09:41 (3,000 km/h), then on to 1.5 km at 09:50.
    track = walk(
        [0, 10, 20, 30, 40, 41, 50],
        [0, 20, 40, 540, 1040, 51_040, 1540],
    )

    route = visit.analyse_route(track, [(START + timedelta(minutes=5), *HOME)], 300)

    assert route.points == 7
    assert route.visits == 1
    assert route.distance_m == pytest.approx(1540, abs=2)
    assert route.time_on_site_s == 20 * 60
    assert len(route.implausible) == 1
    jump = route.implausible[0]
    assert jump.speed_kmh == pytest.approx(50_000 / 60 * 3.6, rel=0.01)
    assert jump.at == START + timedelta(minutes=41)


def test_two_points_at_the_same_instant_far_apart_are_a_jump() -> None:
    track = walk([0, 0, 5], [0, 400, 100])

    route = visit.analyse_route(track, [], 300)

    assert [p.jump_m for p in route.implausible] == [pytest.approx(400, abs=1)]
    assert route.distance_m == pytest.approx(100, abs=1)


async def test_a_cadre_uploads_the_days_route_and_officials_above_read_it(
    seeded: World, login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")
    now = datetime.now(UTC).replace(microsecond=0)
    points = [
        {
            "at": (now - timedelta(minutes=30 - i * 10)).isoformat(),
            "latitude": HOME[0] + i * 100 * PER_METRE,
            "longitude": HOME[1],
            "accuracy": 10,
        }
        for i in range(3)
    ]

    first = (await cadre.query(TRACK, {"points": points}))["data"]["visitTrackUpload"]
    again = (await cadre.query(TRACK, {"points": points}))["data"]["visitTrackUpload"]

    assert (first["stored"], first["skipped"]) == (3, 0)
    assert (again["stored"], again["skipped"]) == (0, 3)
    day = care.china_day(now - timedelta(minutes=30))
    if day != care.china_day(now):
        pytest.skip("the track straddles midnight in China")
    variables = {
        "personId": gid("Person", seeded.people["cadre_a1"].id),
        "day": str(day),
    }
    own = (await cadre.query(ROUTE, variables))["data"]["visitRoute"]
    above = (await (await login("official_a")).query(ROUTE, variables))["data"]
    beside = await (await login("official_b")).query(ROUTE, variables)
    resident = await (await login("resident_a1")).query(ROUTE, variables)

    assert own["points"] == 3
    assert own["distanceM"] == pytest.approx(200, abs=1)
    assert above["visitRoute"] == own
    assert beside["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert resident["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    resident_track = await (await login("resident_a1")).query(TRACK, {"points": points})
    assert resident_track["errors"][0]["extensions"]["code"] == "FORBIDDEN"
