"""The cockpit's request figures (``requestFigures``): requests by stage and the
average time to close, for a unit and each unit below it; who may read them, and
what they cost.

The world (``tests.world``) with the request categories of ``test_requests``:
甲物业 manages E1 (湖景苑, community A1 under 甲街道); resident_b1 lives in B1
(under 乙街道).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from models import ServiceRequest
from schema.base import decode_id, encode_id
from tests.conftest import Client
from tests.test_permissions import REFUSAL, ROLES
from tests.test_requests import (
    ACCEPT,
    CONFIRM,
    RESOLVE,
    Setup,
    build_setup,
    raise_request,
    step,
)
from tests.world import World

SignIn = Callable[[str], Awaitable[Client]]

FIGURES = """
query Figures($unitId: ID!) {
  requestFigures(unitId: $unitId) {
    unit { name } total open closed averageHoursToClose
    byStage { stage count }
    below { unit { name } total open closed averageHoursToClose
      byStage { stage count } }
  }
}
"""
UNITS = ("district", "A", "B", "A1", "B1")
# The units whose request figures each caller may read.
READS: dict[str, frozenset[str]] = {
    "admin": frozenset(UNITS),
    "official_district": frozenset(UNITS),
    "official_a": frozenset({"A", "A1"}),
    "official_b": frozenset({"B", "B1"}),
    "cadre_a1": frozenset({"A1"}),
    "cadre_b1": frozenset({"B1"}),
}


@pytest_asyncio.fixture
async def setup(login: SignIn, world: World, http: httpx.AsyncClient) -> Setup:
    return await build_setup(login, world, http)


async def figures(client: Client, world: World, unit: str) -> dict[str, Any]:
    body = await client.query(
        FIGURES, {"unitId": encode_id("OrgUnit", world.units[unit].id)}
    )
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["requestFigures"]
    return found


def stages(row: dict[str, Any]) -> dict[str, int]:
    return {s["stage"]: s["count"] for s in row["byStage"]}


async def closed_after(request: dict[str, Any], hours: float) -> None:
    """Marks a raised request closed ``hours`` after it was raised."""
    pk = decode_id(request["id"], "ServiceRequest")[1]
    raised = datetime(2026, 3, 1, 8, tzinfo=UTC)
    await ServiceRequest.filter(id=pk).update(
        stage="EVALUATED", created_at=raised, closed_at=raised + timedelta(hours=hours)
    )


async def test_requests_are_counted_by_stage_and_folded_into_the_units_below(
    login: SignIn, setup: Setup
) -> None:
    world = setup.world
    resident_a1 = await login("resident_a1")
    resident_b1 = await login("resident_b1")
    await raise_request(resident_a1, setup, "REPAIR", "E1")
    await raise_request(resident_a1, setup, "SAFETY", None, "A1")
    fast = await raise_request(resident_a1, setup, "REPAIR", "E1", text="门禁坏了")
    slow = await raise_request(resident_b1, setup, "SAFETY", None, "B1")
    await closed_after(fast, 10)
    await closed_after(slow, 30)

    district = await figures(await login("official_district"), world, "district")

    assert (district["total"], district["open"], district["closed"]) == (4, 2, 2)
    assert district["averageHoursToClose"] == 20.0
    assert stages(district) == {
        "PUBLISHED": 0,
        "DISPATCHED": 2,
        "HANDLING": 0,
        "VERIFYING": 0,
        "EVALUATED": 2,
    }
    below = {row["unit"]["name"]: row for row in district["below"]}
    assert list(below) == ["甲街道", "乙街道"]
    assert (below["甲街道"]["total"], below["甲街道"]["open"]) == (3, 2)
    assert below["甲街道"]["averageHoursToClose"] == 10.0
    assert (below["乙街道"]["total"], below["乙街道"]["closed"]) == (1, 1)
    assert below["乙街道"]["averageHoursToClose"] == 30.0


async def test_a_request_handled_to_the_end_counts_as_closed(
    login: SignIn, setup: Setup
) -> None:
    world = setup.world
    resident = await login("resident_a1")
    created = await raise_request(resident, setup, "REPAIR", "E1")
    firm = await login("company_staff")
    for document in (ACCEPT, RESOLVE):
        assert (await step(firm, document, id=created["id"]))["errors"] == []
    cadre = await login("cadre_a1")
    verifying = await figures(cadre, world, "A1")
    assert stages(verifying)["VERIFYING"] == 1
    assert verifying["averageHoursToClose"] is None

    assert (await step(resident, CONFIRM, id=created["id"]))["errors"] == []

    closed = await figures(cadre, world, "A1")
    assert (closed["open"], closed["closed"]) == (0, 1)
    assert stages(closed)["EVALUATED"] == 1
    assert closed["averageHoursToClose"] is not None
    assert closed["averageHoursToClose"] >= 0


async def test_an_empty_unit_has_zeros_and_no_average(
    login: SignIn, setup: Setup
) -> None:
    found = await figures(await login("cadre_b1"), setup.world, "B1")
    assert (found["total"], found["open"], found["closed"]) == (0, 0, 0)
    assert found["averageHoursToClose"] is None
    assert set(stages(found).values()) == {0}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("unit", UNITS)
async def test_who_reads_which_unit_s_request_figures(
    role: str, unit: str, login: SignIn, anonymous: Client, setup: Setup
) -> None:
    world = setup.world
    await raise_request(await login("resident_b1"), setup, "SAFETY", None, "B1")
    client = anonymous if role == "anonymous" else await login(role)

    body = await client.query(
        FIGURES, {"unitId": encode_id("OrgUnit", world.units[unit].id)}
    )

    if unit in READS.get(role, frozenset()):
        found = body["data"]["requestFigures"]
        assert found["unit"]["name"] == world.units[unit].name
        assert found["total"] == (1 if unit in {"district", "B", "B1"} else 0)
        return
    assert body["data"] is None
    expected = "FORBIDDEN" if role in READS else REFUSAL[role]
    assert body["errors"][0]["extensions"]["code"] == expected


async def test_an_unknown_unit_is_not_found(login: SignIn, setup: Setup) -> None:
    body = await (await login("admin")).query(
        FIGURES, {"unitId": encode_id("OrgUnit", 999_999)}
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_figures_cost_the_same_statements_at_every_level(
    login: SignIn, setup: Setup, statements: Callable[[], Any]
) -> None:
    world = setup.world
    resident = await login("resident_a1")
    for number in range(3):
        await raise_request(resident, setup, "REPAIR", "E1", text=f"第{number}件")
    official = await login("official_district")
    counts = []
    for unit in ("district", "A", "A1"):
        with statements() as seen:
            await figures(official, world, unit)
        counts.append(len(seen))
    assert counts[0] == counts[1] == counts[2]
