"""Three-party coordination: duty items of E1's three parties, checks recorded
by each party with evidence, the tally of checks done against those due, and who
reaches them by every path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
import pytest_asyncio

from models import DutyCheck
from models.enums import DutyFrequency
from resolvers.coordination import period_key, periods_between
from schema.base import encode_id
from tests.conftest import Client
from tests.test_evaluation import (
    OC_QUESTIONS,
    PS_QUESTIONS,
    QUESTIONNAIRE_CREATE,
    ROUNDS_OPEN,
)
from tests.test_files import make_png, upload_as
from tests.test_permissions import codes, token_for
from tests.world import World

SignIn = Callable[[str], Awaitable[Client]]

CREATE = """
mutation Create($input: DutyItemCreateInput!) {
  dutyItemCreate(input: $input) { errors { field code } dutyItem { id party title } }
}
"""

CHECK = """
mutation Check($input: DutyCheckRecordInput!) {
  dutyCheckRecord(input: $input) {
    errors { field code }
    dutyCheck { periodKey checkedOn note evidence { mediaType } }
  }
}
"""

ITEMS = """
query Items($estateId: ID!) {
  dutyItems(estateId: $estateId) { title party checks { periodKey } }
}
"""

DUTIES = """
query Duties($estateId: ID!, $since: Date, $until: Date) {
  estateDuties(estateId: $estateId, since: $since, until: $until) {
    party items due done
  }
}
"""

END = """
mutation End($id: ID!) { dutyItemEnd(id: $id) { errors { code } dutyItem { endedOn } } }
"""

ITEMS_OF_E1 = (
    ("RESIDENTS_COMMITTEE", "每周楼道巡查", "WEEKLY"),
    ("OWNERS_COMMITTEE", "每季度公开账目", "QUARTERLY"),
    ("PROPERTY_COMPANY", "每周楼道保洁", "WEEKLY"),
)


def e1(world: World) -> str:
    return encode_id("Estate", world.estates["E1"].id)


@pytest_asyncio.fixture
async def items(login: SignIn, world: World) -> dict[str, str]:
    """E1's three duty items, due from Monday 5 January 2026: party -> id."""
    cadre = await login("cadre_a1")
    made = {}
    for party, title, frequency in ITEMS_OF_E1:
        body = await cadre.query(
            CREATE,
            {
                "input": {
                    "estateId": e1(world),
                    "party": party,
                    "title": title,
                    "frequency": frequency,
                    "startsOn": "2026-01-05",
                }
            },
        )
        result = body["data"]["dutyItemCreate"]
        assert result["errors"] == [], body
        made[party] = result["dutyItem"]["id"]
    return made


async def check(
    client: Client,
    item: str,
    day: str,
    note: str = "已完成",
    evidence: str | None = None,
) -> dict[str, Any]:
    return await client.query(
        CHECK,
        {
            "input": {
                "itemId": item,
                "checkedOn": day,
                "note": note,
                "evidenceId": evidence,
            }
        },
    )


def test_periods_are_weeks_months_quarters_and_years() -> None:
    day = date(2026, 1, 31)
    assert period_key(DutyFrequency.WEEKLY, day) == "2026-W05"
    assert period_key(DutyFrequency.MONTHLY, day) == "2026-01"
    assert period_key(DutyFrequency.QUARTERLY, day) == "2026-Q1"
    assert period_key(DutyFrequency.YEARLY, day) == "2026"
    # Monday 5 January to Tuesday 30 June 2026: weeks 2 to 27
    weeks = periods_between(DutyFrequency.WEEKLY, date(2026, 1, 5), date(2026, 6, 30))
    assert (weeks[0], weeks[-1], len(weeks)) == ("2026-W02", "2026-W27", 26)
    assert periods_between(
        DutyFrequency.QUARTERLY, date(2026, 3, 31), date(2026, 4, 1)
    ) == [
        "2026-Q1",
        "2026-Q2",
    ]


async def test_each_party_records_its_checks_and_the_tally_follows(
    login: SignIn, world: World, items: dict[str, str]
) -> None:
    # Given E1's three items; the company's staff with a photo of a clean stairwell
    company = await login("company_staff")
    photo = await upload_as(company, make_png(), "stairs.png")

    # When each party records checks of its own item
    done = [
        await check(
            company,
            items["PROPERTY_COMPANY"],
            "2026-01-06",
            evidence=photo["file"]["id"],
        ),
        await check(company, items["PROPERTY_COMPANY"], "2026-01-20"),
        await check(
            await login("committee_member"), items["OWNERS_COMMITTEE"], "2026-01-30"
        ),
        await check(
            await login("cadre_a1"), items["RESIDENTS_COMMITTEE"], "2026-01-07"
        ),
    ]

    # Then each is recorded for its period, with its evidence
    for body in done:
        assert body["data"]["dutyCheckRecord"]["errors"] == [], body
    first = done[0]["data"]["dutyCheckRecord"]["dutyCheck"]
    assert first == {
        "periodKey": "2026-W02",
        "checkedOn": "2026-01-06",
        "note": "已完成",
        "evidence": {"mediaType": "image/png"},
    }

    # When staff read the tally of January (weeks 2 to 5, and the first quarter)
    body = await (await login("official_a")).query(
        DUTIES, {"estateId": e1(world), "since": "2026-01-01", "until": "2026-02-01"}
    )

    # Then each party shows its items and the checks done against those due
    assert body["data"]["estateDuties"] == [
        {"party": "RESIDENTS_COMMITTEE", "items": 1, "due": 4, "done": 1},
        {"party": "OWNERS_COMMITTEE", "items": 1, "due": 1, "done": 1},
        {"party": "PROPERTY_COMPANY", "items": 1, "due": 4, "done": 2},
    ]


async def test_a_second_check_in_one_period_and_bad_checks_are_refused(
    login: SignIn, world: World, items: dict[str, str]
) -> None:
    company = await login("company_staff")
    await check(company, items["PROPERTY_COMPANY"], "2026-01-06")
    sheet = await upload_as(company, b"a,b\n1,2\n", "x.csv", content_type="text/csv")
    cases = [
        (
            await check(company, items["PROPERTY_COMPANY"], "2026-01-08"),
            "ALREADY_CHECKED",
        ),
        (await check(company, items["PROPERTY_COMPANY"], "2099-01-01"), "INVALID_DAY"),
        (await check(company, items["PROPERTY_COMPANY"], "2025-12-01"), "INVALID_DAY"),
        (
            await check(company, items["PROPERTY_COMPANY"], "2026-02-02", note=""),
            "EVIDENCE_REQUIRED",
        ),
        (
            await check(
                company,
                items["PROPERTY_COMPANY"],
                "2026-02-02",
                evidence=sheet["file"]["id"],
            ),
            "EVIDENCE_TYPE",
        ),
    ]
    for body, code in cases:
        assert [e["code"] for e in body["data"]["dutyCheckRecord"]["errors"]] == [
            code
        ], body
    assert await DutyCheck.all().count() == 1


@pytest.mark.parametrize(
    ("role", "party", "code"),
    [
        ("company_staff", "OWNERS_COMMITTEE", "FORBIDDEN"),
        ("company_staff", "RESIDENTS_COMMITTEE", "FORBIDDEN"),
        ("committee_member", "PROPERTY_COMPANY", "FORBIDDEN"),
        ("official_a", "RESIDENTS_COMMITTEE", "FORBIDDEN"),
        ("cadre_a1", "PROPERTY_COMPANY", "FORBIDDEN"),
        ("cadre_b1", "RESIDENTS_COMMITTEE", "NOT_FOUND"),
        ("resident_a1", "OWNERS_COMMITTEE", "NOT_FOUND"),
    ],
)
async def test_only_the_party_records_its_checks(
    login: SignIn, items: dict[str, str], role: str, party: str, code: str
) -> None:
    body = await check(await login(role), items[party], "2026-01-06")
    assert codes(body) == [code], body
    assert await DutyCheck.all().count() == 0


async def test_a_firms_token_records_its_own_checks_and_nothing_of_another_firm(
    http: httpx.AsyncClient, login: SignIn, world: World, items: dict[str, str]
) -> None:
    admin = await login("admin")
    _, ours = await token_for(admin, world, "company", "甲物业 system")
    _, theirs = await token_for(admin, world, "other_company", "乙物业 system")

    mine = await check(Client(http, ours), items["PROPERTY_COMPANY"], "2026-01-06")
    foreign = await check(Client(http, theirs), items["PROPERTY_COMPANY"], "2026-01-13")
    foreign_items = await Client(http, theirs).query(ITEMS, {"estateId": e1(world)})

    assert mine["data"]["dutyCheckRecord"]["errors"] == [], mine
    stored = await DutyCheck.get()
    assert (stored.checked_by_id, stored.token_id is not None) == (None, True)
    assert codes(foreign) == ["NOT_FOUND"]
    assert codes(foreign_items) == ["FORBIDDEN"]


ITEMS_SEEN = {
    "admin": True,
    "official_district": True,
    "official_a": True,
    "cadre_a1": True,
    "company_staff": True,
    "committee_member": True,
    "official_b": False,
    "cadre_b1": False,
    "resident_a1": False,
    "resident_b1": False,
}


@pytest.mark.parametrize("role", [*ITEMS_SEEN, "anonymous"])
async def test_duties_are_read_by_staff_over_the_estate_and_its_parties(
    login: SignIn, anonymous: Client, world: World, items: dict[str, str], role: str
) -> None:
    client = anonymous if role == "anonymous" else await login(role)
    listed = await client.query(ITEMS, {"estateId": e1(world)})
    tally = await client.query(DUTIES, {"estateId": e1(world)})
    node = await client.query(
        "query N($id: ID!) { node(id: $id) { ... on DutyItem { title } } }",
        {"id": items["PROPERTY_COMPANY"]},
    )
    if ITEMS_SEEN.get(role, False):
        assert [i["title"] for i in listed["data"]["dutyItems"]] == [
            t for _, t, _ in ITEMS_OF_E1
        ]
        assert len(tally["data"]["estateDuties"]) == 3
        assert node["data"]["node"] == {"title": "每周楼道保洁"}
        return
    expected = ["UNAUTHENTICATED"] if role == "anonymous" else ["FORBIDDEN"]
    assert codes(listed) == expected, listed
    assert codes(tally) == expected, tally
    assert node["data"]["node"] is None


async def test_an_ended_item_takes_no_more_checks(
    login: SignIn, items: dict[str, str]
) -> None:
    cadre = await login("cadre_a1")
    ended = await cadre.query(END, {"id": items["RESIDENTS_COMMITTEE"]})
    assert ended["data"]["dutyItemEnd"]["errors"] == []
    body = await check(cadre, items["RESIDENTS_COMMITTEE"], "2026-01-06")
    assert "ITEM_ENDED" in [
        e["code"] for e in body["data"]["dutyCheckRecord"]["errors"]
    ]
    again = await cadre.query(END, {"id": items["RESIDENTS_COMMITTEE"]})
    assert again["data"]["dutyItemEnd"]["errors"] == [{"code": "ITEM_ENDED"}]


async def test_the_evaluation_view_shows_each_partys_duties_over_the_round(
    login: SignIn, world: World, items: dict[str, str]
) -> None:
    # Given a 2026-H1 round of E1 and two weekly checks of the company
    official = await login("official_district")
    created = await official.query(
        QUESTIONNAIRE_CREATE,
        {
            "input": {
                "unitId": encode_id("OrgUnit", world.units["district"].id),
                "name": "测评",
                "questions": [
                    {"target": t, "text": x, "weight": w}
                    for t, x, w in PS_QUESTIONS + OC_QUESTIONS
                ],
            }
        },
    )
    questionnaire = created["data"]["questionnaireCreate"]["questionnaire"]["id"]
    await official.query(
        ROUNDS_OPEN,
        {
            "input": {
                "unitId": encode_id("OrgUnit", world.units["A1"].id),
                "questionnaireId": questionnaire,
                "period": "2026-H1",
                "startsOn": "2026-01-01",
                "endsOn": "2026-06-30",
            }
        },
    )
    company = await login("company_staff")
    await check(company, items["PROPERTY_COMPANY"], "2026-01-06")
    await check(company, items["PROPERTY_COMPANY"], "2026-03-03")

    # When the company reads its round
    body = await company.query(
        "query { evaluationRounds(first: 5) { edges { node { estate { name } "
        "coordination { party items due done } } } } }"
    )

    # Then the view shows, per party, its items and the checks done of those due
    rounds = [e["node"] for e in body["data"]["evaluationRounds"]["edges"]]
    assert [r["estate"]["name"] for r in rounds] == ["湖景苑"]
    assert rounds[0]["coordination"] == [
        {"party": "RESIDENTS_COMMITTEE", "items": 1, "due": 26, "done": 0},
        {"party": "OWNERS_COMMITTEE", "items": 1, "due": 2, "done": 0},
        {"party": "PROPERTY_COMPANY", "items": 1, "due": 26, "done": 2},
    ]
