"""Service requests (你说我做): routing, every step, illegal steps, small needs,
overdue escalation, and the permission matrix through every path.

The world (``tests.world``): 甲物业 manages E1 (湖景苑, community A1), 乙物业
manages E3 (community B1), E2 is managed by nobody. resident_a1 lives in A1,
resident_b1 in B1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.demo import load_demo
from api.demo_requests import CATEGORIES
from api.events import LocalBus
from models import (
    EstateManagement,
    Notification,
    Organization,
    Person,
    RequestCategory,
    RequestStep,
    RoleAssignment,
    ServiceRequest,
    Warning,
)
from models.enums import HandlerKind, OrganizationKind, Role
from permissions.caller import Caller, Grant
from permissions.errors import NotFound
from resolvers import request as request_rules
from resolvers.events import Event
from resolvers.identity import authenticate_bearer
from resolvers.jobs import run_job
from schema.base import decode_id, encode_id
from tests import test_subscriptions as live_tests
from tests.conftest import Client
from tests.world import World

SignIn = Callable[[str], Awaitable[Client]]

CREATE = """
mutation Create($input: ServiceRequestCreateInput!) {
  serviceRequestCreate(input: $input) {
    errors { field message code }
    serviceRequest {
      id stage handlerKind text isPublic dueAt
      handler { name }
      estate { name }
      history { action fromStage toStage actorRole note }
    }
  }
}
"""
STEP_FIELDS = """
    errors { field message code }
    serviceRequest {
      id stage handlerKind rating comment reopenCount closedAt
      handler { name }
      history { action fromStage toStage actorRole note }
    }
"""
ACCEPT = f"mutation($id: ID!) {{ serviceRequestAccept(id: $id) {{ {STEP_FIELDS} }} }}"
UPDATE = f"""mutation($id: ID!, $note: String!) {{
  serviceRequestUpdate(id: $id, note: $note) {{ {STEP_FIELDS} }} }}"""
RESOLVE = f"""mutation($id: ID!) {{
  serviceRequestResolve(id: $id, note: "修好了") {{ {STEP_FIELDS} }} }}"""
CONFIRM = f"mutation($id: ID!) {{ serviceRequestConfirm(id: $id) {{ {STEP_FIELDS} }} }}"
EVALUATE = f"""mutation($id: ID!, $rating: Int!) {{
  serviceRequestEvaluate(id: $id, rating: $rating, comment: "很快") {{
  {STEP_FIELDS} }} }}"""
REOPEN = f"""mutation($id: ID!) {{
  serviceRequestReopen(id: $id, note: "还在漏水") {{ {STEP_FIELDS} }} }}"""
RETURN = f"""mutation($id: ID!) {{
  serviceRequestReturn(id: $id, note: "不归我们管") {{ {STEP_FIELDS} }} }}"""
DISPATCH = f"""mutation($id: ID!, $kind: HandlerKind, $org: ID) {{
  serviceRequestDispatch(id: $id, handlerKind: $kind, organizationId: $org) {{
  {STEP_FIELDS} }} }}"""
JOIN = """mutation($id: ID!) { serviceRequestJoin(id: $id) {
  errors { field code } serviceRequest { id joinCount } } }"""
LIST = """
query List($stages: [RequestStage!], $shared: Boolean) {
  serviceRequests(stages: $stages, shared: $shared, first: 100) {
    totalCount
    edges { node { id text stage address raisedBy { name } history { action } } }
  }
}
"""
GET = """
query Get($id: ID!) {
  serviceRequest(id: $id) { id text address rating raisedBy { name }
    history { action } photos { id } }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on ServiceRequest { text address raisedBy { name } } }
}
"""
DEMAND = """
query Demand($unitId: ID!) {
  microNeedDemand(unitId: $unitId) {
    requestCount joinCount category { code } estate { name }
  }
}
"""
MICRO_NEEDS = """
query { microNeeds(first: 50) { edges { node { id text joinCount address } } } }
"""
API_TOKEN_CREATE = """
mutation Token($organizationId: ID!, $name: String!) {
  apiTokenCreate(organizationId: $organizationId, name: $name) {
    errors { code } secret
  }
}
"""


@dataclass
class Setup:
    """The world with request categories and a token for each firm."""

    world: World
    categories: dict[str, RequestCategory]
    department: Organization
    firm: Client
    other_firm: Client
    firm_secret: str


async def add_categories(
    world: World,
) -> tuple[dict[str, RequestCategory], Organization]:
    district = world.units["district"]
    department = await Organization.create(
        kind=OrganizationKind.DEPARTMENT,
        name="区住建局",
        unit=district,
        unit_path=district.path,
    )
    categories = {
        "REPAIR": await RequestCategory.create(
            code="REPAIR",
            name="公共维修",
            handler_kind=HandlerKind.PROPERTY_COMPANY,
            deadline_hours=48,
            group="物业",
        ),
        "SAFETY": await RequestCategory.create(
            code="SAFETY",
            name="治安隐患",
            handler_kind=HandlerKind.COMMUNITY,
            deadline_hours=24,
        ),
        "ROAD": await RequestCategory.create(
            code="ROAD",
            name="道路破损",
            handler_kind=HandlerKind.DEPARTMENT,
            department=department,
            deadline_hours=72,
        ),
    }
    return categories, department


async def firm_secret(admin: Client, organization: Organization) -> str:
    body = await admin.query(
        API_TOKEN_CREATE,
        {
            "organizationId": encode_id("Organization", organization.id),
            "name": f"{organization.name} system",
        },
    )
    secret: str = body["data"]["apiTokenCreate"]["secret"]
    assert secret, body
    return secret


async def build_setup(login: SignIn, world: World, http: httpx.AsyncClient) -> Setup:
    """Categories, and an API token for each firm, added to the world."""
    categories, department = await add_categories(world)
    admin = await login("admin")
    secret = await firm_secret(admin, world.organizations["company"])
    other = await firm_secret(admin, world.organizations["other_company"])
    return Setup(
        world,
        categories,
        department,
        Client(http, secret),
        Client(http, other),
        secret,
    )


@pytest_asyncio.fixture
async def setup(login: SignIn, world: World, http: httpx.AsyncClient) -> Setup:
    return await build_setup(login, world, http)


async def raise_request(
    client: Client,
    setup: Setup,
    category: str = "REPAIR",
    estate: str | None = "E1",
    unit: str | None = None,
    share: bool = False,
    text: str = "楼道灯坏了",
) -> dict[str, Any]:
    given: dict[str, Any] = {
        "categoryId": encode_id("RequestCategory", setup.categories[category].id),
        "text": text,
        "share": share,
    }
    if estate:
        given["estateId"] = encode_id("Estate", setup.world.estates[estate].id)
    if unit:
        given["unitId"] = encode_id("OrgUnit", setup.world.units[unit].id)
    body = await client.query(CREATE, {"input": given})
    assert "errors" not in body, body
    result = body["data"]["serviceRequestCreate"]
    assert result["errors"] == [], result
    created: dict[str, Any] = result["serviceRequest"]
    return created


async def step(client: Client, document: str, **variables: Any) -> dict[str, Any]:
    """The payload of one step mutation (asserting no top-level error)."""
    body = await client.query(document, variables)
    assert "errors" not in body, body
    name = next(iter(body["data"]))
    result: dict[str, Any] = body["data"][name]
    return result


def actions(request: dict[str, Any]) -> list[str]:
    return [s["action"] for s in request["history"]]


# -- routing ------------------------------------------------------------------------


async def test_a_repair_in_a_managed_estate_goes_to_its_company(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")

    created = await raise_request(resident, setup, "REPAIR", "E1")

    assert created["stage"] == "DISPATCHED"
    assert created["handlerKind"] == "PROPERTY_COMPANY"
    assert created["handler"] == {"name": "甲物业"}
    assert [
        (s["action"], s["fromStage"], s["toStage"]) for s in created["history"]
    ] == [
        ("PUBLISH", None, "PUBLISHED"),
        ("DISPATCH", "PUBLISHED", "DISPATCHED"),
    ]
    assert created["history"][0]["actorRole"] == "RESIDENT"
    assert created["history"][1]["actorRole"] == "SYSTEM"
    assert created["dueAt"] is not None


async def test_a_repair_in_an_unmanaged_estate_goes_to_the_community(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")

    created = await raise_request(resident, setup, "REPAIR", "E2")

    assert created["handlerKind"] == "COMMUNITY"
    assert created["handler"] is None
    assert "No property company" in created["history"][1]["note"]


async def test_community_and_department_categories_route_by_kind(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")

    safety = await raise_request(resident, setup, "SAFETY", None, "A1")
    road = await raise_request(resident, setup, "ROAD", None, "A1")

    assert (safety["handlerKind"], safety["handler"]) == ("COMMUNITY", None)
    assert (road["handlerKind"], road["handler"]) == (
        "DEPARTMENT",
        {"name": "区住建局"},
    )


async def test_the_company_managing_the_estate_on_that_day_is_chosen(
    setup: Setup,
) -> None:
    world = setup.world
    e1 = world.estates["E1"]
    await EstateManagement.filter(estate_id=e1.id).update(ends_on=date(2026, 6, 1))
    await EstateManagement.create(
        company=world.organizations["other_company"],
        estate=e1,
        starts_on=date(2026, 6, 1),
    )
    repair = setup.categories["REPAIR"]

    before = await request_rules.dispatch_route(repair, e1.id, date(2026, 5, 31))
    after = await request_rules.dispatch_route(repair, e1.id, date(2026, 6, 1))

    assert before.organization_id == world.organizations["company"].id
    assert after.organization_id == world.organizations["other_company"].id


async def test_the_day_of_dispatch_is_the_day_in_china() -> None:
    # 16:30 UTC on 31 May is 00:30 on 1 June in Shanghai.
    assert request_rules.china_day(datetime(2026, 5, 31, 16, 30, tzinfo=UTC)) == date(
        2026, 6, 1
    )


async def test_a_request_with_errors_is_refused_and_changes_nothing(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")

    body = await resident.query(
        CREATE,
        {
            "input": {
                "categoryId": encode_id("RequestCategory", 9999),
                "text": "   ",
            }
        },
    )

    result = body["data"]["serviceRequestCreate"]
    assert result["serviceRequest"] is None
    assert {e["code"] for e in result["errors"]} == {
        "CATEGORY_UNKNOWN",
        "TEXT_REQUIRED",
        "PLACE_REQUIRED",
    }
    assert await ServiceRequest.all().count() == 0
    assert await RequestStep.all().count() == 0


async def test_a_place_reported_in_gcj02_is_stored_in_wgs84(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    given = {
        "categoryId": encode_id("RequestCategory", setup.categories["SAFETY"].id),
        "text": "围墙有缺口",
        "unitId": encode_id("OrgUnit", setup.world.units["A1"].id),
    }
    bad = {"latitude": 100.0, "longitude": 120.0, "accuracy": 10.0}

    created = await resident.query(
        CREATE,
        {
            "input": {
                **given,
                "location": {
                    "latitude": 28.0,
                    "longitude": 120.6,
                    "accuracy": 10.0,
                    "system": "GCJ02",
                },
            }
        },
    )
    refused = await resident.query(CREATE, {"input": {**given, "location": bad}})

    assert created["data"]["serviceRequestCreate"]["errors"] == []
    row = await ServiceRequest.get()
    assert row.latitude is not None and row.longitude is not None
    # GCJ-02 is shifted a few hundred metres from WGS-84 in Zhejiang.
    assert 0.001 < abs(row.latitude - 28.0) + abs(row.longitude - 120.6) < 0.02
    codes = [e["code"] for e in refused["data"]["serviceRequestCreate"]["errors"]]
    assert codes == ["LATITUDE_RANGE"]
    assert await ServiceRequest.all().count() == 1


async def test_the_handlers_people_are_told_of_a_dispatch(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")

    await raise_request(resident, setup, "REPAIR", "E1")
    await raise_request(resident, setup, "SAFETY", None, "A1")

    told = await Notification.filter(kind="REQUEST_DISPATCHED").values_list(
        "person_id", flat=True
    )
    people = setup.world.people
    assert sorted(told) == sorted([people["company_staff"].id, people["cadre_a1"].id])


async def test_a_resident_raises_at_most_the_daily_limit(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    for _ in range(request_rules.DAILY_LIMIT):
        await raise_request(resident, setup)

    body = await resident.query(
        CREATE,
        {
            "input": {
                "categoryId": encode_id(
                    "RequestCategory", setup.categories["REPAIR"].id
                ),
                "text": "再来一个",
                "estateId": encode_id("Estate", setup.world.estates["E1"].id),
            }
        },
    )

    errors = body["data"]["serviceRequestCreate"]["errors"]
    assert [e["code"] for e in errors] == ["DAILY_LIMIT"]
    assert await ServiceRequest.all().count() == request_rules.DAILY_LIMIT


async def test_an_api_token_cannot_raise_requests(setup: Setup) -> None:
    body = await setup.firm.query(
        CREATE,
        {
            "input": {
                "categoryId": encode_id(
                    "RequestCategory", setup.categories["REPAIR"].id
                ),
                "text": "x",
                "estateId": encode_id("Estate", setup.world.estates["E1"].id),
            }
        },
    )

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


CATEGORY_CREATE = """
mutation Create($code: String!, $input: RequestCategoryInput!) {
  requestCategoryCreate(code: $code, input: $input) {
    errors { field code } requestCategory { id code name handlerKind deadlineHours }
  }
}
"""
CATEGORY_UPDATE = """
mutation Update($id: ID!, $input: RequestCategoryInput!) {
  requestCategoryUpdate(id: $id, input: $input) {
    errors { field code } requestCategory { code name deadlineHours isActive }
  }
}
"""


async def test_district_staff_configure_categories_and_new_requests_follow(
    login: SignIn, setup: Setup
) -> None:
    official = await login("official_district")
    resident = await login("resident_a1")
    given = {"name": "绿化养护", "handlerKind": "COMMUNITY", "deadlineHours": 12}

    created = await official.query(CATEGORY_CREATE, {"code": "GREEN", "input": given})
    category = created["data"]["requestCategoryCreate"]["requestCategory"]
    taken = await official.query(CATEGORY_CREATE, {"code": "GREEN", "input": given})
    department = await official.query(
        CATEGORY_CREATE,
        {"code": "ROADS", "input": {**given, "handlerKind": "DEPARTMENT"}},
    )
    updated = await official.query(
        CATEGORY_UPDATE, {"id": category["id"], "input": {**given, "deadlineHours": 6}}
    )
    request = await resident.query(
        CREATE,
        {
            "input": {
                "categoryId": category["id"],
                "text": "草坪枯了",
                "unitId": encode_id("OrgUnit", setup.world.units["A1"].id),
            }
        },
    )

    assert category["handlerKind"] == "COMMUNITY"
    errors = taken["data"]["requestCategoryCreate"]["errors"]
    assert [e["code"] for e in errors] == ["CODE_TAKEN"]
    errors = department["data"]["requestCategoryCreate"]["errors"]
    assert [e["code"] for e in errors] == ["DEPARTMENT_REQUIRED"]
    assert updated["data"]["requestCategoryUpdate"]["requestCategory"] == {
        "code": "GREEN",
        "name": "绿化养护",
        "deadlineHours": 6,
        "isActive": True,
    }
    row = request["data"]["serviceRequestCreate"]["serviceRequest"]
    raised = await ServiceRequest.get(id=_pk(row["id"]))
    assert raised.due_at is not None
    late = raised.due_at - raised.created_at - timedelta(hours=6)
    assert abs(late) < timedelta(seconds=1)


@pytest.mark.parametrize("who", ["official_a", "cadre_a1", "resident_a1", "firm"])
async def test_only_admins_and_district_officials_configure_categories(
    login: SignIn, setup: Setup, who: str
) -> None:
    caller = setup.firm if who == "firm" else await login(who)
    given = {"name": "绿化养护", "handlerKind": "COMMUNITY", "deadlineHours": 12}

    body = await caller.query(CATEGORY_CREATE, {"code": "GREEN", "input": given})

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await RequestCategory.filter(code="GREEN").count() == 0


# -- every step -----------------------------------------------------------------------


async def test_the_whole_loop_firm_handles_resident_rates(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    created = await raise_request(resident, setup)
    rid = created["id"]

    accepted = await step(setup.firm, ACCEPT, id=rid)
    updated = await step(setup.firm, UPDATE, id=rid, note="师傅下午到")
    resolved = await step(setup.firm, RESOLVE, id=rid)
    rated = await step(resident, EVALUATE, id=rid, rating=5)

    assert accepted["serviceRequest"]["stage"] == "HANDLING"
    assert updated["serviceRequest"]["stage"] == "HANDLING"
    assert resolved["serviceRequest"]["stage"] == "VERIFYING"
    final = rated["serviceRequest"]
    assert final["stage"] == "EVALUATED"
    assert (final["rating"], final["comment"]) == (5, "很快")
    assert final["closedAt"] is not None
    assert [(s["action"], s["actorRole"]) for s in final["history"]] == [
        ("PUBLISH", "RESIDENT"),
        ("DISPATCH", "SYSTEM"),
        ("ACCEPT", "PROPERTY_COMPANY"),
        ("UPDATE", "PROPERTY_COMPANY"),
        ("RESOLVE", "PROPERTY_COMPANY"),
        ("EVALUATE", "RESIDENT"),
    ]
    # The resident sees the firm's update in their own history.
    mine = await resident.query(GET, {"id": rid})
    assert "UPDATE" in [s["action"] for s in mine["data"]["serviceRequest"]["history"]]


async def test_a_cadre_confirms_for_the_resident_who_may_still_rate_once(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    cadre = await login("cadre_a1")
    rid = (await raise_request(resident, setup))["id"]
    await step(setup.firm, ACCEPT, id=rid)
    await step(setup.firm, RESOLVE, id=rid)

    confirmed = await step(cadre, CONFIRM, id=rid)
    rated = await step(resident, EVALUATE, id=rid, rating=4)
    again = await step(resident, EVALUATE, id=rid, rating=1)

    assert confirmed["serviceRequest"]["stage"] == "EVALUATED"
    assert confirmed["serviceRequest"]["history"][-1]["actorRole"] == "CADRE"
    assert rated["serviceRequest"]["rating"] == 4
    assert [e["code"] for e in again["errors"]] == ["ALREADY_RATED"]
    assert (await ServiceRequest.get(id=_pk(rid))).rating == 4


async def test_reopen_sends_a_resolved_request_back_to_its_handler(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]
    await step(setup.firm, ACCEPT, id=rid)
    await step(setup.firm, RESOLVE, id=rid)
    await step(resident, EVALUATE, id=rid, rating=2)

    reopened = await step(resident, REOPEN, id=rid)

    request = reopened["serviceRequest"]
    assert request["stage"] == "HANDLING"
    assert request["handler"] == {"name": "甲物业"}
    assert (request["rating"], request["closedAt"], request["reopenCount"]) == (
        None,
        None,
        1,
    )
    assert request["history"][-1]["note"] == "还在漏水"


async def test_return_for_redispatch_then_staff_dispatch_it(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    cadre = await login("cadre_a1")
    rid = (await raise_request(resident, setup))["id"]

    returned = await step(setup.firm, RETURN, id=rid)
    # Returned, the request is no longer the firm's.
    gone = await setup.firm.query(GET, {"id": rid})
    dispatched = await step(cadre, DISPATCH, id=rid, kind="COMMUNITY")

    assert returned["serviceRequest"]["stage"] == "PUBLISHED"
    assert returned["serviceRequest"]["handlerKind"] is None
    assert gone["data"]["serviceRequest"] is None
    assert dispatched["serviceRequest"]["stage"] == "DISPATCHED"
    assert dispatched["serviceRequest"]["handlerKind"] == "COMMUNITY"
    assert actions(dispatched["serviceRequest"])[-2:] == ["RETURN", "DISPATCH"]


async def test_dispatch_to_a_company_that_does_not_manage_the_estate_is_refused(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    cadre = await login("cadre_a1")
    rid = (await raise_request(resident, setup))["id"]
    await step(setup.firm, RETURN, id=rid)
    other = setup.world.organizations["other_company"]

    result = await step(
        cadre,
        DISPATCH,
        id=rid,
        kind="PROPERTY_COMPANY",
        org=encode_id("Organization", other.id),
    )

    assert [e["code"] for e in result["errors"]] == ["HANDLER_INVALID"]
    assert (await ServiceRequest.get(id=_pk(rid))).stage == "PUBLISHED"


ILLEGAL = [
    # (steps taken first, the illegal step)
    ([], RESOLVE),
    ([], EVALUATE),
    ([], REOPEN),
    ([], CONFIRM),
    ([ACCEPT], ACCEPT),
    ([ACCEPT], DISPATCH),
    ([ACCEPT, RESOLVE], RESOLVE),
    ([ACCEPT, RESOLVE], RETURN),
    ([ACCEPT, RESOLVE, CONFIRM], UPDATE),
    ([ACCEPT, RESOLVE, CONFIRM], ACCEPT),
]


def _pk(global_id: str) -> int:
    return decode_id(global_id)[1]


@pytest.mark.parametrize(("before", "illegal"), ILLEGAL)
async def test_an_illegal_step_is_refused_with_a_code_and_changes_nothing(
    login: SignIn, setup: Setup, before: list[str], illegal: str
) -> None:
    resident = await login("resident_a1")
    admin = await login("admin")
    rid = (await raise_request(resident, setup))["id"]
    for document in before:
        await step(admin, document, id=rid)
    stage = (await ServiceRequest.get(id=_pk(rid))).stage
    steps = await RequestStep.all().count()

    variables: dict[str, Any] = {"id": rid}
    if illegal in (EVALUATE,):
        variables["rating"] = 5
    if illegal == UPDATE:
        variables["note"] = "再看看"
    result = await step(
        admin if illegal != EVALUATE else resident, illegal, **variables
    )

    assert [e["code"] for e in result["errors"]] == ["ILLEGAL_TRANSITION"]
    assert result["serviceRequest"] is None
    assert (await ServiceRequest.get(id=_pk(rid))).stage == stage
    assert await RequestStep.all().count() == steps


async def test_steps_need_their_note_and_a_valid_rating(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]
    await step(setup.firm, ACCEPT, id=rid)

    no_note = await step(setup.firm, UPDATE, id=rid, note=" ")
    await step(setup.firm, RESOLVE, id=rid)
    bad_rating = await step(resident, EVALUATE, id=rid, rating=6)

    assert [e["code"] for e in no_note["errors"]] == ["TEXT_REQUIRED"]
    assert [e["code"] for e in bad_rating["errors"]] == ["RATING_INVALID"]
    assert (await ServiceRequest.get(id=_pk(rid))).stage == "VERIFYING"


WHO_MAY = [
    # (who, step, the refusal) on a DISPATCHED request of resident_a1 in E1
    ("resident_a1", ACCEPT, "FORBIDDEN"),
    ("committee_member", ACCEPT, "NOT_FOUND"),
    ("resident_b1", ACCEPT, "NOT_FOUND"),
    ("cadre_b1", ACCEPT, "NOT_FOUND"),
    ("official_b", RETURN, "NOT_FOUND"),
    ("other_firm", ACCEPT, "NOT_FOUND"),
    ("other_firm", RETURN, "NOT_FOUND"),
]


@pytest.mark.parametrize(("who", "document", "code"), WHO_MAY)
async def test_only_the_handler_and_staff_over_it_handle_a_request(
    login: SignIn, setup: Setup, who: str, document: str, code: str
) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]
    caller = setup.other_firm if who == "other_firm" else await login(who)

    body = await caller.query(document, {"id": rid})

    assert body["errors"][0]["extensions"]["code"] == code
    assert (await ServiceRequest.get(id=_pk(rid))).stage == "DISPATCHED"


async def test_only_the_resident_rates_and_the_firm_cannot_confirm(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    cadre = await login("cadre_a1")
    rid = (await raise_request(resident, setup))["id"]
    await step(setup.firm, ACCEPT, id=rid)
    await step(setup.firm, RESOLVE, id=rid)

    by_cadre = await cadre.query(EVALUATE, {"id": rid, "rating": 5})
    by_firm = await setup.firm.query(CONFIRM, {"id": rid})

    assert by_cadre["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_firm["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await ServiceRequest.get(id=_pk(rid))).stage == "VERIFYING"


async def test_two_steps_at_once_count_once(login: SignIn, setup: Setup) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]

    results = await asyncio.gather(
        step(setup.firm, ACCEPT, id=rid), step(setup.firm, ACCEPT, id=rid)
    )

    codes = sorted((r["errors"][0]["code"] if r["errors"] else "OK") for r in results)
    assert codes == ["ILLEGAL_TRANSITION", "OK"]
    assert await RequestStep.filter(request_id=_pk(rid), action="ACCEPT").count() == 1


# -- small needs -------------------------------------------------------------------


async def test_residents_join_a_shared_request_once(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    other = await login("resident_b1")
    rid = (await raise_request(resident, setup, share=True))["id"]

    joined = await step(other, JOIN, id=rid)
    twice = await step(other, JOIN, id=rid)
    own = await step(resident, JOIN, id=rid)

    assert joined["serviceRequest"]["joinCount"] == 1
    assert [e["code"] for e in twice["errors"]] == ["ALREADY_JOINED"]
    assert [e["code"] for e in own["errors"]] == ["OWN_REQUEST"]
    assert (await ServiceRequest.get(id=_pk(rid))).join_count == 1


async def test_joining_twice_at_once_counts_once(login: SignIn, setup: Setup) -> None:
    resident = await login("resident_a1")
    other = await login("resident_b1")
    rid = (await raise_request(resident, setup, share=True))["id"]

    results = await asyncio.gather(step(other, JOIN, id=rid), step(other, JOIN, id=rid))

    codes = sorted((r["errors"][0]["code"] if r["errors"] else "OK") for r in results)
    assert codes == ["ALREADY_JOINED", "OK"]
    assert (await ServiceRequest.get(id=_pk(rid))).join_count == 1


async def test_a_private_request_cannot_be_joined_or_seen_by_others(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    other = await login("resident_b1")
    rid = (await raise_request(resident, setup, share=False))["id"]

    body = await other.query(JOIN, {"id": rid})

    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_library_shows_shared_requests_without_private_fields(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    other = await login("resident_b1")
    shared = await raise_request(resident, setup, share=True, text="加装电梯")
    await raise_request(resident, setup, share=False, text="我家门口的灯")

    body = await other.query(MICRO_NEEDS)

    nodes = [e["node"] for e in body["data"]["microNeeds"]["edges"]]
    assert [(n["id"], n["text"], n["address"]) for n in nodes] == [
        (shared["id"], "加装电梯", None)
    ]


async def test_officials_see_what_their_area_asks_for_most(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    neighbour = await login("resident_b1")
    first = await raise_request(resident, setup, "REPAIR", "E1", share=True)
    await raise_request(resident, setup, "REPAIR", "E1", share=True)
    await raise_request(resident, setup, "SAFETY", None, "A1", share=True)
    await step(neighbour, JOIN, id=first["id"])
    official_a = await login("official_a")
    official_b = await login("official_b")
    a = encode_id("OrgUnit", setup.world.units["A"].id)

    seen = await official_a.query(DEMAND, {"unitId": a})
    beside = await official_b.query(DEMAND, {"unitId": a})
    by_resident = await resident.query(DEMAND, {"unitId": a})

    assert seen["data"]["microNeedDemand"] == [
        {
            "requestCount": 2,
            "joinCount": 1,
            "category": {"code": "REPAIR"},
            "estate": {"name": "湖景苑"},
        },
        {
            "requestCount": 1,
            "joinCount": 0,
            "category": {"code": "SAFETY"},
            "estate": None,
        },
    ]
    assert beside["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_resident["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- the permission matrix -----------------------------------------------------------

# Who sees resident_a1's private request in E1 (dispatched to 甲物业), and its
# private fields, by every path.
SEES_PRIVATE = {
    "admin": True,
    "official_district": True,
    "official_a": True,
    "official_b": False,
    "cadre_a1": True,
    "cadre_b1": False,
    "company_staff": True,
    "committee_member": False,
    "resident_a1": True,
    "resident_b1": False,
    "anonymous": False,
    "firm": True,
    "other_firm": False,
}


async def _caller(who: str, login: SignIn, setup: Setup, anonymous: Client) -> Client:
    if who == "firm":
        return setup.firm
    if who == "other_firm":
        return setup.other_firm
    if who == "anonymous":
        return anonymous
    return await login(who)


@pytest.mark.parametrize("who", sorted(SEES_PRIVATE))
async def test_a_private_request_by_every_path(
    login: SignIn, setup: Setup, anonymous: Client, who: str
) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]
    caller = await _caller(who, login, setup, anonymous)
    expected = SEES_PRIVATE[who]

    listed = await caller.query(LIST)
    got = await caller.query(GET, {"id": rid})
    node = await caller.query(NODE, {"id": rid})

    ids = [e["node"]["id"] for e in listed["data"]["serviceRequests"]["edges"]]
    assert ids == ([rid] if expected else [])
    assert (got["data"]["serviceRequest"] is not None) is expected
    assert (node["data"]["node"] is not None) is expected
    if expected:
        # Nested: the history and the raiser come along for every party.
        item = listed["data"]["serviceRequests"]["edges"][0]["node"]
        assert [s["action"] for s in item["history"]] == ["PUBLISH", "DISPATCH"]
        assert item["raisedBy"] is not None or who in ("firm", "company_staff")


# Who sees a shared request of resident_a1, and which of its private fields.
SHARED_SEEN = {
    "resident_b1": (True, False),
    "anonymous": (True, False),
    "committee_member": (True, False),
    "cadre_b1": (True, False),
    "other_firm": (False, False),
    "firm": (True, True),
    "resident_a1": (True, True),
    "cadre_a1": (True, True),
}


@pytest.mark.parametrize("who", sorted(SHARED_SEEN))
async def test_a_shared_request_shows_its_public_fields_only_to_others(
    login: SignIn, setup: Setup, anonymous: Client, who: str
) -> None:
    resident = await login("resident_a1")
    body = await resident.query(
        CREATE,
        {
            "input": {
                "categoryId": encode_id(
                    "RequestCategory", setup.categories["REPAIR"].id
                ),
                "text": "加装电梯",
                "estateId": encode_id("Estate", setup.world.estates["E1"].id),
                "address": "1幢2单元",
                "share": True,
            }
        },
    )
    rid = body["data"]["serviceRequestCreate"]["serviceRequest"]["id"]
    caller = await _caller(who, login, setup, anonymous)
    sees, private = SHARED_SEEN[who]

    got = (await caller.query(GET, {"id": rid}))["data"]["serviceRequest"]

    assert (got is not None) is sees
    if got is not None:
        assert got["text"] == "加装电梯"
        assert (got["address"] == "1幢2单元") is private
        assert (got["history"] is not None) is private


async def test_the_firm_lists_only_the_requests_it_handles(
    login: SignIn, setup: Setup
) -> None:
    resident_a = await login("resident_a1")
    resident_b = await login("resident_b1")
    mine = await raise_request(resident_a, setup, "REPAIR", "E1")
    await raise_request(resident_a, setup, "REPAIR", "E2")  # the community's
    await raise_request(resident_a, setup, "SAFETY", "E1")  # the community's
    theirs = await raise_request(resident_b, setup, "REPAIR", "E3")

    firm = await setup.firm.query(LIST)
    other = await setup.other_firm.query(LIST)

    assert [e["node"]["id"] for e in firm["data"]["serviceRequests"]["edges"]] == [
        mine["id"]
    ]
    assert [e["node"]["id"] for e in other["data"]["serviceRequests"]["edges"]] == [
        theirs["id"]
    ]


async def _stream_for(
    app: Any, token: str | None, unit_id: int | None = None
) -> tuple[asyncio.Task[list[Event]], Any]:
    context = app.state.platform.context("")
    if token:
        context.caller = await authenticate_bearer(context, token, "")
    seen: list[Event] = []

    async def consume() -> list[Event]:
        async for event in request_rules.request_changes(context, unit_id):
            seen.append(event)
        return seen

    return asyncio.create_task(consume()), seen


async def test_subscriptions_carry_only_the_callers_requests(
    app: Any, bus: LocalBus, login: SignIn, setup: Setup
) -> None:
    resident_a = await login("resident_a1")
    resident_b = await login("resident_b1")
    cadre_b1 = await login("cadre_b1")
    streams = {
        "firm": await _stream_for(app, setup.firm.token),
        "other_firm": await _stream_for(app, setup.other_firm.token),
        "resident_b1": await _stream_for(app, resident_b.token),
        "resident_a1": await _stream_for(app, resident_a.token),
        "cadre_b1": await _stream_for(app, cadre_b1.token),
    }
    await asyncio.sleep(0.05)

    rid = (await raise_request(resident_a, setup))["id"]
    await step(setup.firm, ACCEPT, id=rid)
    await asyncio.sleep(0.1)

    kinds = {}
    for who, (task, seen) in streams.items():
        task.cancel()
        kinds[who] = [e.kind for e in seen if e.subject_id == _pk(rid)]
    # Published, the request was nobody's yet: the firm hears of it once dispatched.
    assert kinds["firm"] == ["REQUEST_DISPATCH", "REQUEST_ACCEPT"]
    assert kinds["resident_a1"] == ["REQUEST_PUBLISH", *kinds["firm"]]
    assert kinds["other_firm"] == []
    assert kinds["resident_b1"] == []
    assert kinds["cadre_b1"] == []


async def test_a_subscription_under_a_unit_outside_the_jurisdiction_is_refused(
    app: Any, login: SignIn, setup: Setup
) -> None:
    cadre_b1 = await login("cadre_b1")
    context = app.state.platform.context("")
    context.caller = await authenticate_bearer(context, cadre_b1.token or "", "")
    stream = request_rules.request_changes(context, setup.world.units["A1"].id)

    with pytest.raises(NotFound):
        await anext(stream)


# -- overdue requests ----------------------------------------------------------------


def system_context(app: Any, at: datetime) -> Any:
    """What a job gets: an admin caller at the root, and a clock stopped at ``at``."""
    context = app.state.platform.context("")
    context.caller = Caller(grants=(Grant(Role.ADMIN, 0, "/"),))
    context.clock = lambda: at
    return context


async def test_an_overdue_request_warns_escalates_and_is_cured_when_it_moves_on(
    app: Any, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]
    await step(setup.firm, ACCEPT, id=rid)
    request = await ServiceRequest.get(id=_pk(rid))
    assert request.due_at is not None
    world = setup.world
    late = request.due_at + timedelta(hours=1)

    first = await run_job("request-overdue", system_context(app, late))
    again = await run_job("request-overdue", system_context(app, late))

    assert first["counts"] == {"overdue": 1, "escalated": 1, "warnings": 1}
    assert again["counts"] == {"overdue": 1, "escalated": 0, "warnings": 0}
    warning = await Warning.get(subject_type="ServiceRequest", subject_id=_pk(rid))
    assert (warning.kind, warning.unit_path) == (
        "REQUEST_OVERDUE",
        world.units["A1"].path,
    )
    assert await RequestStep.filter(request_id=_pk(rid), action="ESCALATE").count() == 1
    told = await Notification.filter(kind="REQUEST_OVERDUE").values_list(
        "person_id", flat=True
    )
    assert sorted(told) == [world.people["cadre_a1"].id]

    # Another full deadline later, the officials above the community hear of it.
    later = request.due_at + timedelta(hours=49)
    second = await run_job("request-overdue", system_context(app, later))
    told = await Notification.filter(kind="REQUEST_OVERDUE").values_list(
        "person_id", flat=True
    )
    assert second["counts"]["escalated"] == 1
    assert sorted(told) == sorted(
        [world.people["cadre_a1"].id] * 2 + [world.people["official_a"].id]
    )
    assert await Warning.filter(resolved_at__isnull=True).count() == 1
    assert (await ServiceRequest.get(id=_pk(rid))).escalation_level == 2

    # Resolved, the request is no longer overdue: its warning is cured.
    await step(setup.firm, RESOLVE, id=rid)
    cured = await Warning.get(id=warning.id)
    assert cured.resolved_at is not None
    assert (await run_job("request-overdue", system_context(app, later)))["counts"] == {
        "overdue": 0,
        "escalated": 0,
        "warnings": 0,
    }


async def test_a_request_within_its_deadline_is_left_alone(
    app: Any, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]
    request = await ServiceRequest.get(id=_pk(rid))
    assert request.due_at is not None

    result = await run_job(
        "request-overdue", system_context(app, request.due_at - timedelta(minutes=1))
    )

    assert result["counts"] == {"overdue": 0, "escalated": 0, "warnings": 0}
    assert await Warning.all().count() == 0


async def test_the_resident_is_told_of_each_step_others_take(
    login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]

    await step(setup.firm, ACCEPT, id=rid)
    await step(setup.firm, UPDATE, id=rid, note="师傅下午到")

    told = await Notification.filter(
        person_id=setup.world.people["resident_a1"].id, kind="REQUEST_STEP"
    ).values_list("body", flat=True)
    assert list(told) == ["", "师傅下午到"]


# -- demo data ---------------------------------------------------------------------


async def test_the_demo_has_requests_in_every_stage_and_small_needs(db: str) -> None:
    await load_demo("small")

    stages = set(await ServiceRequest.all().values_list("stage", flat=True))
    shared = await ServiceRequest.filter(is_public=True, join_count__gt=0).count()
    firm = await Person.get(phone="13900000007")
    company = await RoleAssignment.get(person_id=firm.id, role="PROPERTY_COMPANY")
    handled = await ServiceRequest.filter(
        handler_organization_id=company.organization_id
    ).count()
    first_steps = {
        s["request_id"]: s["action"]
        for s in await RequestStep.all().order_by("-id").values("request_id", "action")
    }

    assert stages == {"PUBLISHED", "DISPATCHED", "HANDLING", "VERIFYING", "EVALUATED"}
    assert shared >= 3
    assert handled > 0
    assert set(first_steps.values()) == {"PUBLISH"}
    assert await RequestCategory.all().count() == len(CATEGORIES)


# -- statements --------------------------------------------------------------------

FIRM_LIST = """
query { serviceRequests(first: 100) { edges { node {
  id stage text category { code } estate { name } history { action at }
} } } }
"""


async def test_the_firms_list_costs_the_same_statements_for_3_or_30_requests(
    login: SignIn, setup: Setup, statements: Callable[[], Any]
) -> None:
    # Two residents: one may raise only so many requests a day.
    residents = [await login("resident_a1"), await login("resident_b1")]
    counts = []
    for total in (3, 30):
        while (raised := await ServiceRequest.all().count()) < total:
            await raise_request(residents[raised % 2], setup)
        with statements() as seen:
            body = await setup.firm.query(FIRM_LIST)
        assert len(body["data"]["serviceRequests"]["edges"]) == total
        counts.append(len(seen))

    assert counts[0] == counts[1]
    # Authentication (token, its company, estates, last use, audit), the page, and
    # one statement for each of category, estate and history.
    assert counts[0] <= 9


# -- the subscription over a real websocket -----------------------------------------

CHANGES = """
subscription { serviceRequestChanges {
  kind stage serviceRequestId serviceRequest { text handler { name } } } }
"""


# The live server and its sockets, as the subscription tests run them.
serve = live_tests.serve
open_socket = live_tests.open_socket


async def test_a_firm_subscribed_over_the_websocket_hears_of_its_requests_only(
    serve: live_tests.Serve, open_socket: live_tests.Open, world: World
) -> None:
    live = await serve()
    categories, _ = await add_categories(world)
    admin = await live.token("admin")
    resident = await live.token("resident_a1")
    secrets = []
    for key in ("company", "other_company"):
        body = await live.post(
            API_TOKEN_CREATE,
            {
                "organizationId": encode_id(
                    "Organization", world.organizations[key].id
                ),
                "name": key,
            },
            admin,
        )
        secrets.append(body["data"]["apiTokenCreate"]["secret"])
    sockets = []
    for secret in secrets:
        socket = await open_socket(live.ws_url)
        assert (await socket.init(secret))["type"] == "connection_ack"
        await socket.send(
            {"id": "1", "type": "subscribe", "payload": {"query": CHANGES}}
        )
        sockets.append(socket)
    await live_tests.until(lambda: live.bus.subscriber_count("request") == 2)

    given = {
        "categoryId": encode_id("RequestCategory", categories["REPAIR"].id),
        "text": "电梯停了",
        "estateId": encode_id("Estate", world.estates["E1"].id),
    }
    created = await live.post(CREATE, {"input": given}, resident)
    rid = created["data"]["serviceRequestCreate"]["serviceRequest"]["id"]

    message = await sockets[0].receive()
    assert message["type"] == "next", message
    change = message["payload"]["data"]["serviceRequestChanges"]
    assert (change["kind"], change["stage"], change["serviceRequestId"]) == (
        "REQUEST_DISPATCH",
        "DISPATCHED",
        rid,
    )
    assert change["serviceRequest"] == {
        "text": "电梯停了",
        "handler": {"name": "甲物业"},
    }
    await sockets[1].nothing_for()
