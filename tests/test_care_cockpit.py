"""Visit coverage for the cockpit (`careCoverage`): what it counts, who opens it
for which unit, and what it costs.

The archive of this file, relative to now:

    A1   covered (visited, next visit next week), overdue (visited, due last week),
         never visited (listed yesterday, due next week), deceased (not counted)
    A2   covered
    B1   overdue, with an open VISIT_OVERDUE warning, and a cured one
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from models import Beneficiary, Warning
from models.enums import BeneficiaryStatus, WarningKind
from schema.base import encode_id
from tests.conftest import Client
from tests.test_permissions import REFUSAL, ROLES
from tests.world import World

Login = Callable[[str], Awaitable[Client]]

COVERAGE = """
query Coverage($unitId: ID!) {
  careCoverage(unitId: $unitId) {
    unit { name } beneficiaries covered overdue neverVisited warnings coverageRate
    below { unit { name } beneficiaries covered overdue neverVisited warnings
            coverageRate }
  }
}
"""
FIGURES = ("beneficiaries", "covered", "overdue", "neverVisited", "warnings")
# The units whose coverage each caller may open.
OPENS: dict[str, frozenset[str]] = {
    "admin": frozenset({"district", "A", "B", "A1", "B1"}),
    "official_district": frozenset({"district", "A", "B", "A1", "B1"}),
    "official_a": frozenset({"A", "A1"}),
    "official_b": frozenset({"B", "B1"}),
    "cadre_a1": frozenset({"A1"}),
    "cadre_b1": frozenset({"B1"}),
}
# What each unit holds: beneficiaries, covered, overdue, never visited, warnings.
HOLDS = {
    "district": (5, 2, 2, 1, 1),
    "A": (4, 2, 1, 1, 0),
    "B": (1, 0, 1, 0, 1),
    "A1": (3, 1, 1, 1, 0),
    "B1": (1, 0, 1, 0, 1),
}


@pytest_asyncio.fixture
async def archive(world: World) -> dict[str, int]:
    now = datetime.now(UTC)
    week = timedelta(days=7)
    made: dict[str, int] = {}

    async def person(
        key: str,
        unit: str,
        last_visit: datetime | None,
        due: datetime,
        status: BeneficiaryStatus = BeneficiaryStatus.ACTIVE,
    ) -> None:
        community = world.units[unit]
        row = await Beneficiary.create(
            id_fingerprint=hashlib.sha256(key.encode()).hexdigest(),
            id_number="330304195001010000",
            name=key,
            unit=community,
            unit_path=community.path,
            listed_at=now - timedelta(days=1),
            last_visit_at=last_visit,
            interval_days=14,
            visit_due_at=due,
            status=status,
        )
        made[key] = row.id

    await person("a1-covered", "A1", now - week, now + week)
    await person("a1-overdue", "A1", now - 3 * week, now - week)
    await person("a1-never", "A1", None, now + week)
    await person(
        "a1-deceased", "A1", None, now - week, status=BeneficiaryStatus.DECEASED
    )
    await person("a2-covered", "A2", now - week, now + week)
    await person("b1-overdue", "B1", now - 3 * week, now - week)
    b1 = world.units["B1"]
    for open_ in (True, False):
        key = f"VISIT_OVERDUE:{made['b1-overdue']}:{open_}"
        await Warning.create(
            kind=WarningKind.VISIT_OVERDUE,
            unit=b1,
            unit_path=b1.path,
            subject_type="Beneficiary",
            subject_id=made["b1-overdue"],
            key=key,
            open_key=key if open_ else None,
            raised_at=now - week,
            resolved_at=None if open_ else now,
        )
    return made


def figures(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[name] for name in FIGURES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("unit", ["district", "A", "B", "A1", "B1"])
async def test_who_opens_the_coverage_of_which_unit(
    role: str,
    unit: str,
    login: Login,
    anonymous: Client,
    world: World,
    archive: dict[str, int],
) -> None:
    client = anonymous if role == "anonymous" else await login(role)
    body = await client.query(
        COVERAGE, {"unitId": encode_id("OrgUnit", world.units[unit].id)}
    )
    if unit in OPENS.get(role, frozenset()):
        coverage = body["data"]["careCoverage"]
        assert coverage["unit"]["name"] == world.units[unit].name
        assert figures(coverage) == HOLDS[unit]
        return
    assert body["data"] is None
    expected = "FORBIDDEN" if role in OPENS else REFUSAL[role]
    assert body["errors"][0]["extensions"]["code"] == expected


async def test_coverage_is_folded_into_the_units_below(
    login: Login, world: World, archive: dict[str, int]
) -> None:
    official = await login("official_district")
    body = await official.query(
        COVERAGE, {"unitId": encode_id("OrgUnit", world.units["district"].id)}
    )
    coverage = body["data"]["careCoverage"]
    assert coverage["coverageRate"] == pytest.approx(2 / 5)
    below = {row["unit"]["name"]: row for row in coverage["below"]}
    assert list(below) == ["甲街道", "乙街道"]
    assert figures(below["甲街道"]) == HOLDS["A"]
    assert figures(below["乙街道"]) == HOLDS["B"]
    assert below["乙街道"]["coverageRate"] == 0

    body = await official.query(
        COVERAGE, {"unitId": encode_id("OrgUnit", world.units["A"].id)}
    )
    below = {row["unit"]["name"]: row for row in body["data"]["careCoverage"]["below"]}
    assert figures(below["甲一社区"]) == HOLDS["A1"]
    assert figures(below["甲二村"]) == (1, 1, 0, 0, 0)
    assert below["甲二村"]["coverageRate"] == 1


async def test_a_unit_without_beneficiaries_has_no_rate(
    login: Login, world: World
) -> None:
    official = await login("official_district")
    body = await official.query(
        COVERAGE, {"unitId": encode_id("OrgUnit", world.units["A1"].id)}
    )
    coverage = body["data"]["careCoverage"]
    assert figures(coverage) == (0, 0, 0, 0, 0)
    assert coverage["coverageRate"] is None


async def test_a_visit_brings_a_person_back_into_coverage(
    login: Login, world: World, archive: dict[str, int]
) -> None:
    now = datetime.now(UTC)
    await Beneficiary.filter(id=archive["a1-overdue"]).update(
        last_visit_at=now, visit_due_at=now + timedelta(days=14)
    )
    cadre = await login("cadre_a1")
    body = await cadre.query(
        COVERAGE, {"unitId": encode_id("OrgUnit", world.units["A1"].id)}
    )
    assert figures(body["data"]["careCoverage"]) == (3, 2, 0, 1, 0)


async def test_coverage_costs_the_same_statements_at_every_level(
    login: Login,
    world: World,
    archive: dict[str, int],
    statements: Callable[[], Any],
) -> None:
    official = await login("official_district")
    counts = []
    for unit in ("district", "A", "A1"):
        unit_id = encode_id("OrgUnit", world.units[unit].id)
        with statements() as seen:
            body = await official.query(COVERAGE, {"unitId": unit_id})
        assert "errors" not in body
        counts.append(len(seen))
    assert counts[0] == counts[1] == counts[2]
    assert counts[0] <= 12
