"""Who sees the care archive, by every path: lists, lookups, `node(id:)`, nested
fields, the subscription and the export. Above all: no ID number reaches anyone
outside the rules, and every reveal is audited.

The archive (from the 浙里救 and 残联 samples):

    community A1   王秀英, 陈建国, 周美华        (cadre_a1; official_a above)
    community A2   黄德明 (deceased)
    community B1   郑志强                        (cadre_b1; official_b above)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from api.events import LocalBus
from models import AuditRecord, Beneficiary, BeneficiaryTag, Visit
from models.enums import BeneficiarySource
from resolvers import care, visit
from schema.app import build_schema
from schema.base import encode_id
from tests.care_support import (
    CHEN,
    DATA,
    HOME,
    HUANG,
    WANG,
    ZHENG,
    ZHOU,
    Clock,
    context_of,
    import_sample,
    system_context,
)
from tests.conftest import Client
from tests.world import World

ROLES = (
    "admin",
    "official_district",
    "official_a",
    "official_b",
    "cadre_a1",
    "cadre_b1",
    "company_staff",
    "committee_member",
    "resident_a1",
    "resident_b1",
    "anonymous",
)
ALL = frozenset({WANG, CHEN, ZHOU, HUANG, ZHENG})
IN_A = frozenset({WANG, CHEN, ZHOU, HUANG})
IN_A1 = frozenset({WANG, CHEN, ZHOU})
# Who sees which beneficiaries at all (None: refused at the root).
SEEN: dict[str, frozenset[str] | None] = {
    "admin": ALL,
    "official_district": ALL,
    "official_a": IN_A,
    "official_b": frozenset({ZHENG}),
    "cadre_a1": IN_A1,
    "cadre_b1": frozenset({ZHENG}),
    "company_staff": None,
    "committee_member": None,
    "resident_a1": None,
    "resident_b1": None,
    "anonymous": None,
}
# Who reads ID numbers, health and disability details in clear. The platform's
# admins operate it; they are not among those the law lets read these.
CLEAR = frozenset(
    {"official_district", "official_a", "official_b", "cadre_a1", "cadre_b1"}
)
REFUSAL = {role: "FORBIDDEN" for role in ROLES} | {"anonymous": "UNAUTHENTICATED"}

FIELDS = "name idNumber maskedIdNumber health birthDate tags { grade detail }"
LIST = f"{{ beneficiaries(first: 50) {{ edges {{ node {{ {FIELDS} }} }} }} }}"
ONE = f"query One($id: ID!) {{ beneficiary(id: $id) {{ {FIELDS} }} }}"
NODE = f"""
query Node($id: ID!) {{
  node(id: $id) {{
    ... on Beneficiary {{ {FIELDS} }}
    ... on BeneficiaryTag {{ grade detail beneficiary {{ {FIELDS} }} }}
    ... on Visit {{ situation beneficiary {{ {FIELDS} }} }}
    ... on VisitOrder {{ beneficiary {{ {FIELDS} }} }}
  }}
}}
"""
NESTED = f"""
{{
  visits(first: 50) {{ edges {{ node {{ beneficiary {{ {FIELDS} }} }} }} }}
  visitOrders(first: 50) {{ edges {{ node {{ beneficiary {{ {FIELDS} }} }} }} }}
}}
"""
EXPORT = """
mutation Export($unitId: ID!, $reveal: Boolean!) {
  beneficiaryExport(unitId: $unitId, revealIdNumbers: $reveal) { content rows }
}
"""
CHANGES = f"""
subscription Changes($unitId: ID!) {{
  careChanges(unitId: $unitId) {{ kind beneficiary {{ {FIELDS} }} }}
}}
"""


@pytest_asyncio.fixture
async def archive(world: World, settings: Any) -> dict[str, Any]:
    """The archive above, a visit to 王秀英, an order for 郑志强; ids by name."""
    clock = Clock(datetime.now(UTC))
    official = await context_of(world, settings, "official_district", clock)
    district = world.units["district"]
    await import_sample(official, district, BeneficiarySource.ZHELIJIU)
    await import_sample(official, district, BeneficiarySource.DISABLED_FEDERATION)
    await care.raise_care_warnings(system_context(world, settings, clock))

    wang = await Beneficiary.get(name=WANG)
    zheng = await Beneficiary.get(name=ZHENG)
    await care.locate_beneficiary(official, wang.id, *HOME)
    cadre = await context_of(world, settings, "cadre_a1", clock)
    done = await visit.check_in(cadre, wang.id, None, *HOME, 10.0)
    await visit.report_visit(cadre, done["id"], "情况良好", "", [])
    order = await visit.create_order(
        official,
        zheng.id,
        world.people["cadre_b1"].id,
        clock.now + timedelta(days=3),
        "",
    )
    tag = await BeneficiaryTag.filter(beneficiary_id=zheng.id).first()
    assert tag is not None
    numbers = dict(await Beneficiary.all().values_list("name", "id_number"))
    return {
        "numbers": numbers,
        "ids": dict(await Beneficiary.all().values_list("name", "id")),
        "visit": done["id"],
        "order": order["id"],
        "tag": tag.id,
    }


async def client_of(login: Callable[[str], Any], anonymous: Client, key: str) -> Client:
    return anonymous if key == "anonymous" else await login(key)


def check_fields(key: str, node: dict[str, Any], numbers: dict[str, str]) -> None:
    """A beneficiary as ``key`` reads it: clear, or masked, never more."""
    name = node["name"]
    number = numbers[name]
    assert node["maskedIdNumber"] == f"{number[:3]}{'*' * 14}{number[-1]}"
    if key in CLEAR:
        assert node["idNumber"] == number
        assert node["birthDate"] is not None
    else:
        assert node["idNumber"] == node["maskedIdNumber"]
        assert node["birthDate"] is None
        assert node["health"] is None
        assert all(t["grade"] is None and t["detail"] is None for t in node["tags"])


def assert_no_clear_number(body: Any, numbers: dict[str, str]) -> None:
    text = json.dumps(body, ensure_ascii=False)
    for number in numbers.values():
        assert number not in text


@pytest.mark.parametrize("key", ROLES)
async def test_the_list_shows_each_role_its_people_and_masks_the_rest(
    archive: dict[str, Any], login: Callable[[str], Any], anonymous: Client, key: str
) -> None:
    client = await client_of(login, anonymous, key)

    body = await client.query(LIST)

    if SEEN[key] is None:
        assert body["errors"][0]["extensions"]["code"] == REFUSAL[key]
        assert_no_clear_number(body, archive["numbers"])
        return
    nodes = [e["node"] for e in body["data"]["beneficiaries"]["edges"]]
    assert {n["name"] for n in nodes} == SEEN[key]
    for node in nodes:
        check_fields(key, node, archive["numbers"])
    if key not in CLEAR:
        assert_no_clear_number(body, archive["numbers"])


@pytest.mark.parametrize("key", ROLES)
async def test_lookups_by_id_and_node_follow_the_same_rules(
    archive: dict[str, Any], login: Callable[[str], Any], anonymous: Client, key: str
) -> None:
    client = await client_of(login, anonymous, key)
    seen = SEEN[key] or frozenset()

    for name, pk in archive["ids"].items():
        gid = encode_id("Beneficiary", pk)
        one = await client.query(ONE, {"id": gid})
        node = await client.query(NODE, {"id": gid})

        if SEEN[key] is None:
            assert one["errors"][0]["extensions"]["code"] == REFUSAL[key]
        else:
            found = one["data"]["beneficiary"]
            assert (found is not None) == (name in seen), (key, name)
        found_node = node["data"]["node"]
        assert (found_node is not None) == (name in seen), (key, name)
        if found_node is not None:
            check_fields(key, found_node, archive["numbers"])
        if key not in CLEAR:
            assert_no_clear_number([one, node], archive["numbers"])


@pytest.mark.parametrize("key", ROLES)
async def test_nested_paths_to_a_beneficiary_reveal_nothing_more(
    archive: dict[str, Any], login: Callable[[str], Any], anonymous: Client, key: str
) -> None:
    client = await client_of(login, anonymous, key)
    seen = SEEN[key] or frozenset()
    ids = {
        "Visit": archive["visit"],
        "VisitOrder": archive["order"],
        "BeneficiaryTag": archive["tag"],
    }
    reached = {"Visit": WANG, "VisitOrder": ZHENG, "BeneficiaryTag": ZHENG}

    for type_name, pk in ids.items():
        body = await client.query(NODE, {"id": encode_id(type_name, pk)})
        node = body["data"]["node"]
        assert (node is not None) == (reached[type_name] in seen), (key, type_name)
        if node is not None:
            check_fields(key, node["beneficiary"], archive["numbers"])
        if key not in CLEAR:
            assert_no_clear_number(body, archive["numbers"])

    nested = await client.query(NESTED)
    if SEEN[key] is None:
        assert nested["errors"][0]["extensions"]["code"] == REFUSAL[key]
    else:
        visits = [e["node"] for e in nested["data"]["visits"]["edges"]]
        orders = [e["node"] for e in nested["data"]["visitOrders"]["edges"]]
        assert {v["beneficiary"]["name"] for v in visits} == {WANG} & seen
        assert {o["beneficiary"]["name"] for o in orders} == {ZHENG} & seen
    if key not in CLEAR:
        assert_no_clear_number(nested, archive["numbers"])


async def test_every_reveal_of_an_id_number_is_audited_and_masked_reads_are_not(
    archive: dict[str, Any], login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")

    await cadre.query("{ beneficiaries { edges { node { name maskedIdNumber } } } }")
    assert not await AuditRecord.filter(action="REVEAL").exists()
    await cadre.query("{ beneficiaries { edges { node { name idNumber health } } } }")

    reveals = await AuditRecord.filter(action="REVEAL").order_by("field")
    assert {r.field for r in reveals} == {"idNumber", "health"}
    number = next(r for r in reveals if r.field == "idNumber")
    ids = {archive["ids"][name] for name in IN_A1}
    assert set(number.subject_ids) == ids
    assert number.person_id is not None and number.subject_type == "Beneficiary"


@pytest.mark.parametrize("key", ROLES)
async def test_only_officials_over_the_unit_export_it(
    archive: dict[str, Any],
    world: World,
    login: Callable[[str], Any],
    anonymous: Client,
    key: str,
) -> None:
    client = await client_of(login, anonymous, key)
    variables = {"unitId": encode_id("OrgUnit", world.units["A"].id), "reveal": True}

    body = await client.query(EXPORT, variables)

    if key in ("official_district", "official_a"):
        export = body["data"]["beneficiaryExport"]
        assert export["rows"] == len(IN_A)
        assert archive["numbers"][WANG] in export["content"]
        assert archive["numbers"][ZHENG] not in export["content"]
        return
    expected = "UNAUTHENTICATED" if key == "anonymous" else "FORBIDDEN"
    assert body["errors"][0]["extensions"]["code"] == expected
    assert_no_clear_number(body, archive["numbers"])


async def _first_change(
    world: World, settings: Any, key: str, unit: str, bus: LocalBus
) -> Any:
    """Subscribe as ``key`` to ``unit``, make a change to 王秀英, return the first
    event's result (or the refusal)."""
    clock = Clock(datetime.now(UTC))
    context = await context_of(world, settings, key, clock, bus)
    schema = build_schema()
    stream = await schema.subscribe(
        CHANGES,
        variable_values={"unitId": encode_id("OrgUnit", world.units[unit].id)},
        context_value=context,
    )
    if not hasattr(stream, "__anext__"):
        return stream
    pending = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.05)
    if not pending.done():
        official = await context_of(world, settings, "official_district", clock, bus)
        wang = await Beneficiary.get(name=WANG)
        await care.locate_beneficiary(official, wang.id, *HOME)
    try:
        return await asyncio.wait_for(pending, 5)
    finally:
        await stream.aclose()


@pytest.mark.parametrize(
    ("key", "unit", "outcome"),
    [
        ("cadre_a1", "A1", "clear"),
        ("official_a", "A", "clear"),
        ("admin", "A1", "masked"),
        ("cadre_b1", "A1", "NOT_FOUND"),
        ("official_b", "A", "NOT_FOUND"),
        ("resident_a1", "A1", "FORBIDDEN"),
        ("company_staff", "A1", "FORBIDDEN"),
    ],
)
async def test_the_subscription_carries_what_the_subscriber_may_read(
    archive: dict[str, Any],
    world: World,
    settings: Any,
    key: str,
    unit: str,
    outcome: str,
) -> None:
    result = await _first_change(world, settings, key, unit, LocalBus())

    errors = getattr(result, "errors", None)
    if outcome in ("clear", "masked"):
        assert not errors, errors
        change = result.data["careChanges"]
        assert change["kind"] == "BENEFICIARY_LOCATED"
        node = change["beneficiary"]
        assert node["name"] == WANG
        number = archive["numbers"][WANG]
        assert (node["idNumber"] == number) == (outcome == "clear")
    else:
        assert errors and errors[0].extensions["code"] == outcome
        assert_no_clear_number(str(result), archive["numbers"])


async def test_an_import_over_graphql_reports_its_rows(
    world: World, login: Callable[[str], Any], http: Any
) -> None:
    official = await login("official_district")
    resident = await login("resident_a1")
    query = """
    mutation Import($input: BeneficiaryImportInput!) {
      beneficiaryImport(input: $input) {
        errors { code }
        unlistedTags
        run {
          status totalRows counts
          reports { edges { node { rowNumber outcome code } } }
        }
      }
    }
    """
    content = (DATA / "housing.xlsx").read_bytes()

    async def send(client: Client) -> dict[str, Any]:
        variables = {
            "input": {
                "source": "HOUSING",
                "unitId": encode_id("OrgUnit", world.units["district"].id),
                "file": None,
            }
        }
        response = await http.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": query, "variables": variables}),
                "map": json.dumps({"0": ["variables.input.file"]}),
            },
            files={"0": ("housing.xlsx", content, "application/octet-stream")},
            headers={
                "Apollo-Require-Preflight": "true",
                "authorization": f"Bearer {client.token}",
            },
        )
        body: dict[str, Any] = response.json()
        return body

    body = await send(official)
    refused = await send(resident)

    result = body["data"]["beneficiaryImport"]
    assert result["errors"] == []
    assert result["run"]["status"] == "DONE"
    assert result["run"]["counts"] == {"TAKEN": 2, "REFUSED": 1}
    reports = [e["node"] for e in result["run"]["reports"]["edges"]]
    assert reports == [
        {"rowNumber": 4, "outcome": "REFUSED", "code": "ID_NUMBER_FORMAT"}
    ]
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await Visit.all().count() == 0


RECORD = """
query Record($id: ID!) {
  beneficiary(id: $id) {
    name isChild intervalDays visitDueAt lastVisitAt
    community { name }
    person { name }
    household { address }
    responsible { name }
    tags { kind source status isSubsidy evidence { filename } }
    visits(first: 5) {
      totalCount edges { node { kind status situation visitor { name } } }
    }
    orders { status }
  }
}
"""
ASSIGN = """
mutation Assign($id: ID!, $who: ID!) {
  beneficiaryAssign(id: $id, responsibleId: $who) {
    errors { code } beneficiary { responsible { name } }
  }
}
"""
REVIEW = """
mutation Review($input: BeneficiaryTagReviewInput!) {
  beneficiaryTagReview(input: $input) { errors { code } tag { status review } }
}
"""


async def test_a_cadre_reads_the_whole_record_and_acts_on_it(
    archive: dict[str, Any], world: World, login: Callable[[str], Any]
) -> None:
    cadre = await login("cadre_a1")
    zhou = encode_id("Beneficiary", archive["ids"][ZHOU])
    wang = encode_id("Beneficiary", archive["ids"][WANG])

    body = await cadre.query(RECORD, {"id": zhou})
    assigned = await cadre.query(
        ASSIGN, {"id": zhou, "who": encode_id("Person", world.people["cadre_a1"].id)}
    )
    visited = await cadre.query(RECORD, {"id": wang})

    record = body["data"]["beneficiary"]
    assert record["community"]["name"] == "甲一社区"
    assert record["person"]["name"] == "甲一居民"
    assert record["household"]["address"] == "湖景苑 1幢 101室"
    assert {(t["kind"], t["source"]) for t in record["tags"]} == {
        ("LOW_INCOME_EDGE", "ZHELIJIU"),
        ("DISABILITY", "DISABLED_FEDERATION"),
    }
    assert all(t["isSubsidy"] for t in record["tags"])
    result = assigned["data"]["beneficiaryAssign"]
    assert result["errors"] == []
    assert result["beneficiary"]["responsible"]["name"] == "甲一书记"
    visits = visited["data"]["beneficiary"]["visits"]
    assert visits["totalCount"] == 1
    assert visits["edges"][0]["node"]["situation"] == "情况良好"
    assert visits["edges"][0]["node"]["visitor"]["name"] == "甲一书记"

    tag = encode_id("BeneficiaryTag", archive["tag"])
    refused = await cadre.query(REVIEW, {"input": {"id": tag, "keep": False}})
    other = await (await login("cadre_b1")).query(
        REVIEW, {"input": {"id": tag, "keep": False}}
    )
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    ended = other["data"]["beneficiaryTagReview"]
    assert ended["errors"] == [] and ended["tag"]["status"] == "ENDED"


PAGE = """
{
  beneficiaries(first: 50) {
    edges { node {
      name maskedIdNumber
      community { name }
      responsible { name }
      tags { kind status }
      orders { status }
    } }
  }
}
"""


async def test_a_page_of_beneficiaries_costs_one_statement_per_relation(
    archive: dict[str, Any],
    world: World,
    login: Callable[[str], Any],
    statements: Any,
) -> None:
    official = await login("official_district")
    for name in (WANG, CHEN):
        await official.query(
            ASSIGN,
            {
                "id": encode_id("Beneficiary", archive["ids"][name]),
                "who": encode_id("Person", world.people["cadre_a1"].id),
            },
        )
    with statements() as baseline:
        await official.query("{ viewer { isSignedIn } }")

    with statements() as seen:
        body = await official.query(PAGE)

    nodes = [e["node"] for e in body["data"]["beneficiaries"]["edges"]]
    assert len(nodes) == len(archive["ids"])
    assert {n["responsible"]["name"] for n in nodes if n["responsible"]} == {"甲一书记"}
    # The page, then one statement each for communities, responsibles, tags and
    # orders, whatever the number of rows.
    assert len(seen) - len(baseline) == 5, seen
