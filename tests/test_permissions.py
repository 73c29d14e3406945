"""The permission matrix: which rows and fields each role reaches, by every path.

Each table below says, for every caller of ``tests.world`` (and anonymous), what it
must see; each test walks one path to the data (a connection, a lookup by id,
``node(id:)``, a nested list) and fails on any row or field beyond the table. The
world:

    district /1/            admin, official_district, company_staff (甲物业)
    ├── subdistrict A       official_a
    │   ├── community A1    cadre_a1, committee_member, resident_a1 (household a1, E1)
    │   └── community A2
    └── subdistrict B       official_b
        └── community B1    cadre_b1, resident_b1 (household b1)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from models import (
    ApiToken,
    AuditRecord,
    Building,
    EstateManagement,
    Household,
    HouseholdMember,
    Organization,
    Person,
    RoleAssignment,
)
from models.enums import OrganizationKind, Role
from permissions import scope
from resolvers.pagination import encode_cursor
from schema.base import encode_id
from tests.conftest import Client
from tests.world import PASSWORD, PAST, World

# -- who sees what ----------------------------------------------------------------

PEOPLE = (
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
)
ROLES = (*PEOPLE, "anonymous")
STAFF = (
    "admin",
    "official_district",
    "official_a",
    "official_b",
    "cadre_a1",
    "cadre_b1",
)
NOT_STAFF = tuple(role for role in ROLES if role not in STAFF)
REFUSAL = {role: "FORBIDDEN" for role in PEOPLE} | {"anonymous": "UNAUTHENTICATED"}

IN_A = frozenset({"official_a", "cadre_a1", "committee_member", "resident_a1"})
IN_A1 = frozenset({"cadre_a1", "committee_member", "resident_a1"})
IN_B = frozenset({"official_b", "cadre_b1", "resident_b1"})
IN_B1 = frozenset({"cadre_b1", "resident_b1"})

# The people each caller may see, whatever the path.
PEOPLE_SEEN: dict[str, frozenset[str]] = {
    "admin": frozenset(PEOPLE),
    "official_district": frozenset(PEOPLE),
    "official_a": IN_A,
    "official_b": IN_B,
    "cadre_a1": IN_A1,
    "cadre_b1": IN_B1,
    "company_staff": frozenset({"company_staff"}),
    "committee_member": frozenset({"committee_member"}),
    "resident_a1": frozenset({"resident_a1"}),
    "resident_b1": frozenset({"resident_b1"}),
    "anonymous": frozenset(),
}

# Everyone in the world holds one role; each caller sees the role assignments held
# in their jurisdiction and their own, which here is the same set as the people.
ROLE_HOLDERS_SEEN = PEOPLE_SEEN

# The units whose `people` a caller may list (staff over the unit, or admin).
UNITS = ("district", "A", "B", "A1", "A2", "B1")
UNITS_COVERED: dict[str, frozenset[str]] = {
    "admin": frozenset(UNITS),
    "official_district": frozenset(UNITS),
    "official_a": frozenset({"A", "A1", "A2"}),
    "official_b": frozenset({"B", "B1"}),
    "cadre_a1": frozenset({"A1"}),
    "cadre_b1": frozenset({"B1"}),
} | {role: frozenset() for role in NOT_STAFF}
PEOPLE_UNDER: dict[str, frozenset[str]] = {
    "district": frozenset(PEOPLE),
    "A": IN_A,
    "A1": IN_A1,
    "A2": frozenset(),
    "B": IN_B,
    "B1": IN_B1,
}

# Household -> the member people a caller sees; None: the household is hidden.
# Members are listed to staff in jurisdiction and to the member themself only.
MEMBERS_SEEN: dict[str, dict[str, list[str] | None]] = {
    "admin": {"a1": ["resident_a1"], "b1": ["resident_b1"]},
    "official_district": {"a1": ["resident_a1"], "b1": ["resident_b1"]},
    "official_a": {"a1": ["resident_a1"], "b1": None},
    "official_b": {"a1": None, "b1": ["resident_b1"]},
    "cadre_a1": {"a1": ["resident_a1"], "b1": None},
    "cadre_b1": {"a1": None, "b1": ["resident_b1"]},
    "company_staff": {"a1": [], "b1": None},  # manages E1, where a1 stands
    "committee_member": {"a1": [], "b1": None},  # E1's owners' committee
    "resident_a1": {"a1": ["resident_a1"], "b1": None},
    "resident_b1": {"a1": None, "b1": ["resident_b1"]},
    "anonymous": {"a1": None, "b1": None},
}

# Households reached through the public directory (estate -> buildings): one in
# E1 (managed by 甲物业 now), one in E2 (managed by 甲物业 until 2024), one in E3
# (managed by 乙物业, in B1).
E1_HOME, E2_HOME, E3_HOME = "湖景苑 1幢 101室", "江月苑 2幢 202室", "山水苑 3幢 303室"
ESTATE_HOMES_SEEN: dict[str, frozenset[str]] = {
    "admin": frozenset({E1_HOME, E2_HOME, E3_HOME}),
    "official_district": frozenset({E1_HOME, E2_HOME, E3_HOME}),
    "official_a": frozenset({E1_HOME, E2_HOME}),
    "official_b": frozenset({E3_HOME}),
    "cadre_a1": frozenset({E1_HOME, E2_HOME}),
    "cadre_b1": frozenset({E3_HOME}),
    "company_staff": frozenset({E1_HOME}),
    "committee_member": frozenset({E1_HOME}),
    "resident_a1": frozenset({E1_HOME}),
    "resident_b1": frozenset(),
    "anonymous": frozenset(),
}

# API tokens each caller may list: officials over the token's organisation, admins.
TOKENS_SEEN: dict[str, frozenset[str]] = {
    "admin": frozenset({"company", "committee", "b1_company"}),
    "official_district": frozenset({"company", "committee", "b1_company"}),
    "official_a": frozenset({"committee"}),
    "official_b": frozenset({"b1_company"}),
}


def roles_but(roles: tuple[str, ...], **defects: pytest.MarkDecorator) -> list[Any]:
    """``roles`` as parameters, the ones named marked with their known defect."""
    return [pytest.param(role, marks=defects.get(role, ()), id=role) for role in roles]


# -- documents --------------------------------------------------------------------

PEOPLE_QUERY = """
query People {
  people(first: 200) { totalCount edges { node { id name } } }
}
"""

PERSON_BY_ID = """
query PersonById($id: ID!) {
  person(id: $id) { id name }
}
"""

NODE_BY_ID = """
query NodeById($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Person { name phone }
    ... on RoleAssignment { role title }
    ... on Household { address }
    ... on ApiToken { name prefix }
  }
}
"""

UNIT_PEOPLE = """
query UnitPeople {
  orgUnits(first: 50) {
    edges { node { code people(first: 200) { edges { node { name } } } } }
  }
}
"""

HOUSEHOLD_MEMBERS = """
query HouseholdMembers($id: ID!) {
  node(id: $id) {
    ... on Household { address members { relation person { name } } }
  }
}
"""

PERSON_ROLES = """
query PersonRoles($id: ID!) {
  person(id: $id) { name roles { role unit { code } person { name } } }
}
"""

VIEWER = """
query Viewer {
  viewer {
    isSignedIn
    isApiToken
    person { name phone idNumber birthDate roles { role } }
  }
}
"""

PEOPLE_SENSITIVE = """
query PeopleSensitive {
  people(first: 200) { edges { node { name phone idNumber birthDate } } }
}
"""

PERSON_SENSITIVE = """
query PersonSensitive($id: ID!) {
  person(id: $id) { name phone idNumber birthDate gender isActive }
}
"""

ESTATE_HOUSEHOLDS = """
query EstateHouseholds {
  estates(first: 50) {
    edges {
      node {
        name
        buildings { name households { address members { person { name } } } }
      }
    }
  }
}
"""

DIRECTORY = """
query Directory {
  orgUnits(first: 50) { totalCount edges { node { code name level } } }
  estates(first: 50) { totalCount edges { node { name community { code } } } }
  organizations(first: 50) { totalCount edges { node { name kind unit { code } } } }
}
"""

API_TOKEN_CREATE = """
mutation ApiTokenCreate($organizationId: ID!, $name: String!) {
  apiTokenCreate(organizationId: $organizationId, name: $name) {
    errors { field code }
    secret
    apiToken { id name }
  }
}
"""

API_TOKEN_REVOKE = """
mutation ApiTokenRevoke($id: ID!) {
  apiTokenRevoke(id: $id) { errors { field code } apiToken { revokedAt } }
}
"""

API_TOKENS = """
query ApiTokens {
  apiTokens(first: 50) { totalCount edges { node { id name organization { name } } } }
}
"""

AUDIT_RECORDS = """
query AuditRecords {
  auditRecords(first: 50) { totalCount edges { node { action personId } } }
}
"""

PERSON_CREATE = """
mutation PersonCreate($input: PersonCreateInput!) {
  personCreate(input: $input) { errors { field code } person { id name } }
}
"""

ROLE_ASSIGN = """
mutation RoleAssign($input: RoleAssignInput!) {
  roleAssign(input: $input) { errors { field code } roleAssignment { id } }
}
"""

ROLE_REVOKE = """
mutation RoleRevoke($id: ID!) {
  roleRevoke(id: $id) { errors { field code } roleAssignment { endsAt } }
}
"""

ORG_UNIT = """
query OrgUnitById($id: ID!) {
  orgUnit(id: $id) { code }
}
"""

PEOPLE_UNDER_UNIT = """
query PeopleUnder($unitId: ID!) {
  people(unitId: $unitId, first: 200) { edges { node { name } } }
}
"""

API_TOKENS_OF = """
query ApiTokensOf($organizationId: ID!) {
  apiTokens(organizationId: $organizationId, first: 50) { edges { node { name } } }
}
"""

# -- helpers ----------------------------------------------------------------------

SignIn = Callable[[str], Awaitable[Client]]


@pytest_asyncio.fixture
async def client_for(login: SignIn, anonymous: Client) -> SignIn:
    """``await client_for(role)``: a client signed in as the role, or anonymous."""

    async def client(role: str) -> Client:
        return anonymous if role == "anonymous" else await login(role)

    return client


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def names(world: World, keys: frozenset[str] | list[str]) -> set[str]:
    return {world.people[key].name for key in keys}


def person_id(world: World, key: str) -> str:
    return encode_id("Person", world.people[key].id)


def edges(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


async def token_for(
    admin: Client, world: World, organization: Organization | str, label: str
) -> tuple[str, str]:
    """Issue an API token through ``apiTokenCreate`` as admin: (global id, secret)."""
    if isinstance(organization, str):
        organization = world.organizations[organization]
    body = await admin.query(
        API_TOKEN_CREATE,
        {"organizationId": encode_id("Organization", organization.id), "name": label},
    )
    assert "errors" not in body, body
    created = body["data"]["apiTokenCreate"]
    assert created["errors"] == [], created
    return created["apiToken"]["id"], created["secret"]


async def reveals(person_key: str | None, world: World) -> dict[str, list[int]]:
    """The REVEAL records of one caller: field -> subject ids (one record a field)."""
    who = world.people[person_key].id if person_key else None
    found: dict[str, list[int]] = {}
    for record in await AuditRecord.filter(action="REVEAL").order_by("id"):
        assert record.person_id == who, (record.person_id, record.field)
        assert record.subject_type == "Person"
        assert record.outcome == "OK"
        assert record.field not in found, f"two records for {record.field}"
        found[record.field] = list(record.subject_ids)
    return found


async def counts() -> dict[str, int]:
    return {
        "Person": await Person.all().count(),
        "RoleAssignment": await RoleAssignment.all().count(),
        "ApiToken": await ApiToken.all().count(),
    }


async def add_estate_homes(world: World) -> None:
    """E2 (甲物业 managed it until 2024) and E3 (乙物业, B1) get a household each."""
    a1, b1 = world.units["A1"], world.units["B1"]
    await EstateManagement.create(
        company=world.organizations["company"],
        estate=world.estates["E2"],
        starts_on=date(2022, 1, 1),
        ends_on=date(2024, 12, 31),
    )
    for estate, unit, building_name, address in (
        ("E2", a1, "2幢", E2_HOME),
        ("E3", b1, "3幢", E3_HOME),
    ):
        building = await Building.create(
            estate=world.estates[estate], unit_path=unit.path, name=building_name
        )
        await Household.create(
            unit=unit, unit_path=unit.path, building=building, address=address
        )


def estate_homes(body: dict[str, Any]) -> set[str]:
    return {
        household["address"]
        for estate in edges(body["data"]["estates"])
        for building in estate["buildings"]
        for household in building["households"]
    }


# -- people, by every path ----------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
async def test_people_lists_exactly_the_callers_jurisdiction(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given a member of staff
    client = await client_for(role)

    # When they list people
    body = await client.query(PEOPLE_QUERY)

    # Then they get the people of their jurisdiction (and themself), no one else
    assert "errors" not in body, body
    people = body["data"]["people"]
    assert {node["name"] for node in edges(people)} == names(world, PEOPLE_SEEN[role])
    assert people["totalCount"] == len(PEOPLE_SEEN[role])


@pytest.mark.parametrize("role", NOT_STAFF)
async def test_people_is_refused_to_everyone_but_staff(
    client_for: SignIn, role: str
) -> None:
    # Given a resident, a company or committee member, or nobody signed in
    client = await client_for(role)

    # When they list people
    body = await client.query(PEOPLE_QUERY)

    # Then the whole field is refused with a code, and no row comes back
    assert codes(body) == [REFUSAL[role]], body
    assert body["data"] is None


@pytest.mark.parametrize("role", ROLES)
async def test_person_by_id_finds_only_visible_people(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given any caller
    client = await client_for(role)
    found: dict[str, bool] = {}

    # When they look up every person of the world by id
    for key in PEOPLE:
        body = await client.query(PERSON_BY_ID, {"id": person_id(world, key)})
        if role == "anonymous":
            # Then (anonymous) every lookup is refused, without a row
            assert codes(body) == ["UNAUTHENTICATED"], body
            assert body["data"]["person"] is None
            continue
        assert "errors" not in body, body
        person = body["data"]["person"]
        if person is not None:
            assert person["name"] == world.people[key].name
        found[key] = person is not None

    # Then exactly the visible ones are found; the others read as null
    if role != "anonymous":
        assert {k for k, seen in found.items() if seen} == PEOPLE_SEEN[role]


@pytest.mark.parametrize("role", ROLES)
async def test_node_finds_only_visible_people(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given any caller
    client = await client_for(role)
    found: set[str] = set()

    # When they fetch every person of the world through node(id:)
    for key in PEOPLE:
        body = await client.query(NODE_BY_ID, {"id": person_id(world, key)})
        assert "errors" not in body, body
        node = body["data"]["node"]
        if node is not None:
            assert node == {
                "__typename": "Person",
                "id": person_id(world, key),
                "name": world.people[key].name,
                "phone": world.people[key].phone,
            }
            found.add(key)

    # Then exactly the visible ones come back; the others read as null
    assert found == PEOPLE_SEEN[role]


@pytest.mark.parametrize("role", ROLES)
async def test_org_unit_people_needs_jurisdiction_over_the_unit(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given any caller, and the public directory of units
    client = await client_for(role)

    # When they read the people of every unit
    body = await client.query(UNIT_PEOPLE)

    # Then every unit is listed, but its people only where the caller has
    # jurisdiction (null elsewhere), and then only the people they may see
    assert "errors" not in body, body
    seen: dict[str, set[str] | None] = {}
    for unit in edges(body["data"]["orgUnits"]):
        key = unit["code"].removeprefix("T-")
        people = unit["people"]
        seen[key] = None if people is None else {p["name"] for p in edges(people)}
    expected = {
        unit: names(world, PEOPLE_UNDER[unit] & PEOPLE_SEEN[role])
        if unit in UNITS_COVERED[role]
        else None
        for unit in UNITS
    }
    assert seen == expected


@pytest.mark.parametrize("role", roles_but(ROLES))
async def test_household_members_show_only_visible_people(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given any caller
    client = await client_for(role)
    seen: dict[str, list[str | None] | None] = {}

    # When they fetch each household and its members' people
    for key, household in world.households.items():
        body = await client.query(
            HOUSEHOLD_MEMBERS, {"id": encode_id("Household", household.id)}
        )
        assert "errors" not in body, body
        node = body["data"]["node"]
        if node is None:
            seen[key] = None
            continue
        assert node["address"] == household.address
        seen[key] = [
            None if member["person"] is None else member["person"]["name"]
            for member in node["members"]
        ]

    # Then households, memberships and people appear exactly as the table says
    expected = {
        key: None if people is None else [world.people[p].name for p in people]
        for key, people in MEMBERS_SEEN[role].items()
    }
    assert seen == expected


@pytest.mark.parametrize("role", ROLES)
async def test_viewer_person_is_the_callers_own_record_in_clear(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given any caller
    client = await client_for(role)

    # When they ask who they are
    body = await client.query(VIEWER)

    # Then a person gets their own record, sensitive fields in clear; anonymous none
    assert "errors" not in body, body
    viewer = body["data"]["viewer"]
    assert viewer["isApiToken"] is False
    if role == "anonymous":
        assert viewer == {"isSignedIn": False, "isApiToken": False, "person": None}
        return
    me = world.people[role]
    assert viewer["isSignedIn"] is True
    person = viewer["person"]
    assert person["name"] == me.name
    assert person["phone"] == me.phone
    assert person["idNumber"] == me.id_number
    assert person["birthDate"] == me.birth_date.isoformat()
    assert len(person["roles"]) == 1


# -- role assignments -----------------------------------------------------------------


@pytest.mark.parametrize("role", roles_but(ROLES))
async def test_role_assignments_by_node_stay_in_jurisdiction(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given every role assignment of the world, one per person
    holders = {
        row["id"]: row["person_id"]
        for row in await RoleAssignment.all().values("id", "person_id")
    }
    key_of = {person.id: key for key, person in world.people.items()}
    client = await client_for(role)
    found: set[str] = set()

    # When the caller fetches each one through node(id:)
    for pk, holder in holders.items():
        body = await client.query(NODE_BY_ID, {"id": encode_id("RoleAssignment", pk)})
        assert "errors" not in body, body
        if body["data"]["node"] is not None:
            assert body["data"]["node"]["__typename"] == "RoleAssignment"
            found.add(key_of[holder])

    # Then only those held in their jurisdiction, and their own, come back
    assert found == ROLE_HOLDERS_SEEN[role]


# resident_a1 also holds a role in B1: who sees which of the two.
ROLES_OF_RESIDENT_A1: dict[str, set[str] | None] = {
    "admin": {"A1", "B1"},
    "official_district": {"A1", "B1"},
    "official_a": {"A1"},
    "official_b": {"B1"},
    "cadre_a1": {"A1"},
    "cadre_b1": {"B1"},
    "company_staff": None,
    "committee_member": None,
    "resident_a1": {"A1", "B1"},
    "resident_b1": None,
}


@pytest.mark.parametrize("role", roles_but(PEOPLE))
async def test_person_roles_hide_roles_held_outside_jurisdiction(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given resident_a1 also owns a flat in B1 and holds a resident role there
    b1 = world.units["B1"]
    await RoleAssignment.create(
        person=world.people["resident_a1"],
        role=Role.RESIDENT,
        unit=b1,
        unit_path=b1.path,
        starts_at=PAST,
    )
    client = await client_for(role)

    # When the caller reads resident_a1's roles
    body = await client.query(PERSON_ROLES, {"id": person_id(world, "resident_a1")})

    # Then they see the roles held in their jurisdiction only (or all, their own)
    assert "errors" not in body, body
    person = body["data"]["person"]
    expected = ROLES_OF_RESIDENT_A1[role]
    if expected is None:
        assert person is None
        return
    assert {r["unit"]["code"].removeprefix("T-") for r in person["roles"]} == expected
    assert all(r["person"] == {"name": person["name"]} for r in person["roles"])


@pytest.mark.parametrize("role", STAFF)
async def test_people_who_left_a_jurisdiction_leave_its_view(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given a former cadre of A1 (the post ended last year) and a former member of
    # household a1 (moved out in 2024), who both live in B1 now
    a1, b1 = world.units["A1"], world.units["B1"]
    moved = {}
    for key, name, phone in (
        ("former_cadre", "前甲一干部", "13900000021"),
        ("former_member", "前甲一住户", "13900000022"),
    ):
        moved[key] = await Person.create(name=name, phone=phone)
        await RoleAssignment.create(
            person=moved[key],
            role=Role.RESIDENT,
            unit=b1,
            unit_path=b1.path,
            starts_at=PAST,
        )
        await HouseholdMember.create(
            person=moved[key],
            household=world.households["b1"],
            unit_path=b1.path,
            starts_on=date(2025, 1, 1),
        )
    await RoleAssignment.create(
        person=moved["former_cadre"],
        role=Role.CADRE,
        unit=a1,
        unit_path=a1.path,
        starts_at=datetime(2020, 1, 1, tzinfo=UTC),
        ends_at=PAST,
    )
    await HouseholdMember.create(
        person=moved["former_member"],
        household=world.households["a1"],
        unit_path=a1.path,
        starts_on=date(2020, 1, 1),
        ends_on=date(2024, 6, 30),
    )
    client = await client_for(role)

    # When the caller lists people
    body = await client.query(PEOPLE_QUERY)

    # Then both are seen where they live now (B), and not in A any more
    assert "errors" not in body, body
    seen = {node["name"] for node in edges(body["data"]["people"])}
    now_in_b = role in {"admin", "official_district", "official_b", "cadre_b1"}
    for person in moved.values():
        assert (person.name in seen) is now_in_b, (person.name, role)


# -- sensitive fields -----------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
async def test_staff_read_sensitive_fields_of_their_jurisdiction_and_each_is_audited(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given a member of staff, and an empty audit trail of reveals
    client = await client_for(role)
    await AuditRecord.filter(action="REVEAL").delete()

    # When they read phone, ID number and birth date of everyone they may see
    body = await client.query(PEOPLE_SENSITIVE)

    # Then every value is in clear
    assert "errors" not in body, body
    by_name = {node["name"]: node for node in edges(body["data"]["people"])}
    assert set(by_name) == names(world, PEOPLE_SEEN[role])
    for key in PEOPLE_SEEN[role]:
        person, node = world.people[key], by_name[world.people[key].name]
        assert node["phone"] == person.phone
        assert node["idNumber"] == person.id_number
        assert node["birthDate"] == person.birth_date.isoformat()

    # And one REVEAL record per field names the caller and every subject revealed
    seen = [world.people[key] for key in PEOPLE_SEEN[role]]
    assert await reveals(role, world) == {
        "phone": sorted(p.id for p in seen),
        "idNumber": sorted(p.id for p in seen if p.id_number),
        "birthDate": sorted(p.id for p in seen),
    }


@pytest.mark.parametrize("role", NOT_STAFF)
async def test_others_read_only_their_own_sensitive_fields_and_that_is_audited(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given a caller who is not staff, and an empty audit trail of reveals
    client = await client_for(role)
    await AuditRecord.filter(action="REVEAL").delete()

    # When they read their own record and try everyone else's
    await client.query(VIEWER)
    for key in PEOPLE:
        if key == role:
            continue
        body = await client.query(PERSON_SENSITIVE, {"id": person_id(world, key)})
        # Then nobody else's record comes back at all
        assert body["data"]["person"] is None, (key, body)

    # And only the reveals of their own fields are audited
    if role == "anonymous":
        assert await reveals(None, world) == {}
        return
    me = world.people[role]
    expected = {"phone": [me.id], "birthDate": [me.id]}
    if me.id_number:
        expected["idNumber"] = [me.id]
    assert await reveals(role, world) == expected


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("resident_a1", "resident_b1"),
        ("resident_b1", "resident_a1"),
        ("company_staff", "resident_a1"),
        ("committee_member", "resident_a1"),
    ],
)
async def test_field_rules_mask_a_person_that_row_scoping_would_let_through(
    client_for: SignIn,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    subject: str,
) -> None:
    # Given row scoping widened so that any caller reaches every person (the field
    # rules are the second line of defence, and must hold on their own)
    monkeypatch.setitem(scope.SCOPES, Person, lambda caller: Person.all())
    client = await client_for(role)
    await AuditRecord.filter(action="REVEAL").delete()

    # When a caller who is neither the person nor staff reads their fields
    body = await client.query(PERSON_SENSITIVE, {"id": person_id(world, subject)})

    # Then the phone and ID number are masked, the rest is null, nothing is revealed
    assert "errors" not in body, body
    other = world.people[subject]
    assert other.phone is not None
    assert other.id_number is not None
    assert body["data"]["person"] == {
        "name": other.name,
        "phone": f"{other.phone[:3]}****{other.phone[-4:]}",
        "idNumber": f"{other.id_number[:3]}{'*' * 14}{other.id_number[-1]}",
        "birthDate": None,
        "gender": None,
        "isActive": None,
    }
    assert body["data"]["person"]["phone"] != other.phone
    assert await AuditRecord.filter(action="REVEAL").count() == 0


# -- households -------------------------------------------------------------------


@pytest.mark.parametrize("role", roles_but(ROLES))
async def test_estate_households_follow_jurisdiction_membership_and_management(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given households in E1 (甲物业 manages it now), E2 (甲物业 managed it until
    # 2024) and E3 (乙物业's, in B1)
    await add_estate_homes(world)
    client = await client_for(role)

    # When the caller walks the public directory down to the households
    body = await client.query(ESTATE_HOUSEHOLDS)

    # Then the estates and buildings are public, the households are not
    assert "errors" not in body, body
    estates = edges(body["data"]["estates"])
    assert {estate["name"] for estate in estates} == {"湖景苑", "江月苑", "山水苑"}
    assert all(estate["buildings"] for estate in estates)
    assert estate_homes(body) == ESTATE_HOMES_SEEN[role]


# -- API tokens -------------------------------------------------------------------


@pytest_asyncio.fixture
async def tokens(login: SignIn, world: World) -> dict[str, str]:
    """Tokens of 甲物业 (district), 湖景苑业委会 (A1) and a B1 company: key -> id."""
    b1 = world.units["B1"]
    world.organizations["b1_company"] = await Organization.create(
        kind=OrganizationKind.PROPERTY_COMPANY,
        name="乙一物业",
        unit=b1,
        unit_path=b1.path,
    )
    admin = await login("admin")
    issued = {}
    for key in ("company", "committee", "b1_company"):
        issued[key], _ = await token_for(admin, world, key, f"{key} token")
    return issued


@pytest.mark.parametrize("role", ROLES)
async def test_api_tokens_are_listed_to_officials_over_their_organisation(
    client_for: SignIn, tokens: dict[str, str], role: str
) -> None:
    # Given API tokens of organisations at district, A1 and B1
    client = await client_for(role)

    # When the caller lists API tokens
    body = await client.query(API_TOKENS)

    # Then admins and officials see the tokens of organisations under them; the
    # others are refused with a code
    if role not in TOKENS_SEEN:
        assert codes(body) == [REFUSAL[role]], body
        assert body["data"] is None
        return
    assert "errors" not in body, body
    listed = {node["name"] for node in edges(body["data"]["apiTokens"])}
    assert listed == {f"{key} token" for key in TOKENS_SEEN[role]}


@pytest.mark.parametrize("role", ROLES)
async def test_api_tokens_by_node_follow_the_same_rows(
    client_for: SignIn, tokens: dict[str, str], role: str
) -> None:
    # Given API tokens of organisations at district, A1 and B1
    client = await client_for(role)
    found = set()

    # When the caller fetches each through node(id:)
    for key, global_id in tokens.items():
        body = await client.query(NODE_BY_ID, {"id": global_id})
        assert "errors" not in body, body
        if body["data"]["node"] is not None:
            found.add(key)

    # Then only the tokens they may list come back
    assert found == TOKENS_SEEN.get(role, frozenset())


async def test_a_property_company_token_reads_its_estates_households_only(
    http: httpx.AsyncClient, login: SignIn, world: World
) -> None:
    # Given households in E1, E2 and E3, and an API token of 甲物业 (manages E1 now)
    await add_estate_homes(world)
    admin = await login("admin")
    token_id, secret = await token_for(admin, world, "company", "甲物业 system")
    company = Client(http, secret)
    pk = (await ApiToken.get(name="甲物业 system")).id

    # When the company's system calls with the token
    viewer = await company.query(VIEWER)
    homes = await company.query(ESTATE_HOUSEHOLDS)
    people = await company.query(PEOPLE_QUERY)
    household_b1 = await company.query(
        NODE_BY_ID, {"id": encode_id("Household", world.households["b1"].id)}
    )
    household_a1 = await company.query(
        HOUSEHOLD_MEMBERS, {"id": encode_id("Household", world.households["a1"].id)}
    )
    person = await company.query(PERSON_BY_ID, {"id": person_id(world, "resident_a1")})

    # Then it is an API token, not a person
    assert viewer["data"]["viewer"] == {
        "isSignedIn": False,
        "isApiToken": True,
        "person": None,
    }
    # And it sees E1's households, not E2's (no longer managed) nor E3's
    assert "errors" not in homes, homes
    assert estate_homes(homes) == {E1_HOME}
    assert household_b1["data"]["node"] is None
    # And no people: not the list, not a member of a household, not by id
    assert codes(people) == ["FORBIDDEN"]
    assert household_a1["data"]["node"]["members"] == []
    assert person["data"]["person"] is None
    # And every use is audited
    uses = await AuditRecord.filter(action="API_TOKEN_USE", token_id=pk).count()
    assert uses == 6

    # When the token is revoked and used again
    revoked = await admin.query(API_TOKEN_REVOKE, {"id": token_id})
    assert revoked["data"]["apiTokenRevoke"]["errors"] == [], revoked
    response = await company.post(VIEWER)

    # Then the request is refused outright, and no use is recorded
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await AuditRecord.filter(action="API_TOKEN_USE", token_id=pk).count() == 6


# -- the audit trail ----------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_the_audit_trail_is_for_admins_only(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given an audit trail with records in it (sign-ins, a reveal)
    admin = await client_for("admin")
    await admin.query(VIEWER)
    assert await AuditRecord.all().count() > 0
    client = await client_for(role)

    # When the caller reads the audit trail, or one record through node(id:)
    body = await client.query(AUDIT_RECORDS)
    record = await AuditRecord.all().order_by("id").first()
    assert record is not None
    by_node = await client.query(
        NODE_BY_ID, {"id": encode_id("AuditRecord", record.id)}
    )

    # Then only an admin gets it; everyone else is refused with a code
    if role == "admin":
        assert "errors" not in body, body
        assert body["data"]["auditRecords"]["totalCount"] > 0
    else:
        assert codes(body) == [REFUSAL[role]], body
        assert body["data"] is None
    # And no one reaches a record through node(id:)
    assert by_node["data"]["node"] is None


# -- the public directory -----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_the_administrative_directory_is_public(
    client_for: SignIn, world: World, role: str
) -> None:
    # Given any caller, signed in or not
    client = await client_for(role)

    # When they read units, estates and organisations
    body = await client.query(DIRECTORY)

    # Then they see all of them (residents choose their community in it)
    assert "errors" not in body, body
    data = body["data"]
    assert {u["code"].removeprefix("T-") for u in edges(data["orgUnits"])} == set(UNITS)
    assert {e["name"] for e in edges(data["estates"])} == {
        e.name for e in world.estates.values()
    }
    assert {o["name"] for o in edges(data["organizations"])} == {
        o.name for o in world.organizations.values()
    }
    assert data["orgUnits"]["totalCount"] == len(UNITS)


# -- mutations outside jurisdiction -------------------------------------------------


def _new_person(role: str, unit: str) -> Callable[[World], dict[str, Any]]:
    def variables(world: World) -> dict[str, Any]:
        return {
            "input": {
                "name": "新账号",
                "phone": "13900000099",
                "role": role,
                "unitId": encode_id("OrgUnit", world.units[unit].id),
            }
        }

    return variables


def _grant(person: str, role: str, unit: str) -> Callable[[World], dict[str, Any]]:
    def variables(world: World) -> dict[str, Any]:
        return {
            "input": {
                "personId": person_id(world, person),
                "role": role,
                "unitId": encode_id("OrgUnit", world.units[unit].id),
            }
        }

    return variables


def _token(organization: str) -> Callable[[World], dict[str, Any]]:
    def variables(world: World) -> dict[str, Any]:
        organization_id = world.organizations[organization].id
        return {
            "organizationId": encode_id("Organization", organization_id),
            "name": "refused",
        }

    return variables


REFUSED_WRITES = [
    pytest.param(
        "official_b",
        PERSON_CREATE,
        _new_person("CADRE", "A1"),
        "FORBIDDEN",
        id="official_b-creates-cadre-at-A1",
    ),
    pytest.param(
        "official_b",
        PERSON_CREATE,
        _new_person("RESIDENT", "A1"),
        "FORBIDDEN",
        id="official_b-creates-resident-at-A1",
    ),
    pytest.param(
        "official_a",
        PERSON_CREATE,
        _new_person("OFFICIAL", "A"),
        "FORBIDDEN",
        id="official_a-creates-official-at-own-A",
    ),
    pytest.param(
        "official_a",
        PERSON_CREATE,
        _new_person("ADMIN", "A1"),
        "FORBIDDEN",
        id="official_a-creates-admin",
    ),
    pytest.param(
        "cadre_a1",
        PERSON_CREATE,
        _new_person("CADRE", "A1"),
        "FORBIDDEN",
        id="cadre_a1-creates-cadre-at-own-A1",
    ),
    pytest.param(
        "cadre_a1",
        PERSON_CREATE,
        _new_person("RESIDENT", "B1"),
        "FORBIDDEN",
        id="cadre_a1-creates-resident-at-B1",
    ),
    *(
        pytest.param(
            role,
            PERSON_CREATE,
            _new_person("RESIDENT", "A1"),
            REFUSAL[role],
            id=f"{role}-creates-resident-at-A1",
        )
        for role in NOT_STAFF
    ),
    pytest.param(
        "official_a",
        ROLE_ASSIGN,
        _grant("resident_b1", "RESIDENT", "A1"),
        "NOT_FOUND",
        id="official_a-grants-to-resident_b1",
    ),
    pytest.param(
        "official_b",
        ROLE_ASSIGN,
        _grant("resident_a1", "RESIDENT", "B1"),
        "NOT_FOUND",
        id="official_b-grants-to-resident_a1",
    ),
    pytest.param(
        "cadre_a1",
        ROLE_ASSIGN,
        _grant("resident_a1", "CADRE", "A1"),
        "FORBIDDEN",
        id="cadre_a1-grants-cadre-at-own-A1",
    ),
    pytest.param(
        "resident_a1",
        ROLE_ASSIGN,
        _grant("resident_a1", "CADRE", "A1"),
        "FORBIDDEN",
        id="resident_a1-grants-self-cadre",
    ),
    pytest.param(
        "official_b",
        API_TOKEN_CREATE,
        _token("company"),
        "FORBIDDEN",
        id="official_b-creates-token-of-district-company",
    ),
    pytest.param(
        "official_b",
        API_TOKEN_CREATE,
        _token("committee"),
        "FORBIDDEN",
        id="official_b-creates-token-of-A1-committee",
    ),
    pytest.param(
        "cadre_a1",
        API_TOKEN_CREATE,
        _token("committee"),
        "FORBIDDEN",
        id="cadre_a1-creates-token",
    ),
    pytest.param(
        "company_staff",
        API_TOKEN_CREATE,
        _token("company"),
        "FORBIDDEN",
        id="company_staff-creates-own-company-token",
    ),
]


@pytest.mark.parametrize(("role", "document", "variables", "code"), REFUSED_WRITES)
async def test_writes_outside_jurisdiction_are_refused_and_change_nothing(
    client_for: SignIn,
    world: World,
    role: str,
    document: str,
    variables: Callable[[World], dict[str, Any]],
    code: str,
) -> None:
    # Given the world as it is
    client = await client_for(role)
    before = await counts()

    # When the caller tries a write outside what they may do
    body = await client.query(document, variables(world))

    # Then it is refused with a code, and no row was added
    assert codes(body) == [code], body
    assert body["data"] is None
    assert await counts() == before


@pytest.mark.parametrize(
    ("role", "new_role", "unit"),
    [
        ("official_a", "CADRE", "A1"),
        ("official_b", "CADRE", "B1"),
        ("official_district", "OFFICIAL", "A"),
        ("cadre_a1", "RESIDENT", "A1"),
    ],
    ids=lambda value: str(value),
)
async def test_the_unit_above_may_create_accounts(
    client_for: SignIn, world: World, role: str, new_role: str, unit: str
) -> None:
    # Given a member of staff above the unit (the refusals above are not vacuous)
    client = await client_for(role)
    before = await counts()

    # When they create an account there
    body = await client.query(PERSON_CREATE, _new_person(new_role, unit)(world))

    # Then it is created, with its role, and they can see it
    assert "errors" not in body, body
    assert body["data"]["personCreate"]["errors"] == []
    created = body["data"]["personCreate"]["person"]
    assert created["name"] == "新账号"
    after = await counts()
    assert after["Person"] == before["Person"] + 1
    assert after["RoleAssignment"] == before["RoleAssignment"] + 1
    found = await client.query(PERSON_BY_ID, {"id": created["id"]})
    assert found["data"]["person"] == created


async def test_role_revoke_outside_jurisdiction_is_not_found(
    client_for: SignIn, world: World
) -> None:
    # Given cadre_a1's role, in A1
    assignment = await RoleAssignment.get(person_id=world.people["cadre_a1"].id)
    client = await client_for("official_b")

    # When official_b (B) tries to end it
    body = await client.query(
        ROLE_REVOKE, {"id": encode_id("RoleAssignment", assignment.id)}
    )

    # Then no such role exists for them, and it still lasts
    assert codes(body) == ["NOT_FOUND"], body
    await assignment.refresh_from_db()
    assert assignment.ends_at is None


@pytest.mark.parametrize("write", ["personCreate", "roleAssign"])
async def test_an_official_cannot_reach_beyond_their_jurisdiction_through_a_company(
    client_for: SignIn, login: SignIn, world: World, http: httpx.AsyncClient, write: str
) -> None:
    # Given households in E1, E2 and E3; 乙物业 (district level) manages E3, in B
    await add_estate_homes(world)
    official_a = await client_for("official_a")
    other_company = encode_id("Organization", world.organizations["other_company"].id)
    a1 = encode_id("OrgUnit", world.units["A1"].id)

    # When official_a gives someone of A1 a PROPERTY_COMPANY role through 乙物业
    if write == "personCreate":
        phone = "13900000098"
        body = await official_a.query(
            PERSON_CREATE,
            {
                "input": {
                    "name": "乙物业员工",
                    "phone": phone,
                    "password": PASSWORD,
                    "role": "PROPERTY_COMPANY",
                    "unitId": a1,
                    "organizationId": other_company,
                }
            },
        )
        created = (body.get("data") or {}).get("personCreate") or {}
        granted = created.get("person") is not None
    else:
        phone = world.people["resident_a1"].phone or ""
        body = await official_a.query(
            ROLE_ASSIGN,
            {
                "input": {
                    "personId": person_id(world, "resident_a1"),
                    "role": "PROPERTY_COMPANY",
                    "unitId": a1,
                    "organizationId": other_company,
                }
            },
        )
        assigned = (body.get("data") or {}).get("roleAssign") or {}
        granted = assigned.get("roleAssignment") is not None

    # Then whoever holds that role reaches nothing outside A
    if granted:
        response = await Client(http).query(
            "mutation($p: String!, $w: String!) "
            "{ authLogin(phone: $p, password: $w) { accessToken } }",
            {"p": phone, "w": PASSWORD},
        )
        holder = Client(http, response["data"]["authLogin"]["accessToken"])
        homes = estate_homes(await holder.query(ESTATE_HOUSEHOLDS))
        assert E3_HOME not in homes, homes


# -- global ids of another type --------------------------------------------------------


FOREIGN_IDS = [
    pytest.param(
        PERSON_BY_ID,
        lambda w: {"id": encode_id("OrgUnit", w.units["A1"].id)},
        "person",
        "NOT_FOUND",
        id="person-with-an-OrgUnit-id",
    ),
    pytest.param(
        PERSON_BY_ID,
        lambda w: {"id": encode_id("Household", w.households["a1"].id)},
        "person",
        "NOT_FOUND",
        id="person-with-a-Household-id",
    ),
    pytest.param(
        PERSON_BY_ID,
        lambda w: {"id": "not-an-id"},
        "person",
        "NOT_FOUND",
        id="person-with-a-malformed-id",
    ),
    pytest.param(
        ORG_UNIT,
        lambda w: {"id": encode_id("Person", w.people["resident_a1"].id)},
        "orgUnit",
        "NOT_FOUND",
        id="orgUnit-with-a-Person-id",
    ),
    pytest.param(
        NODE_BY_ID,
        lambda w: {"id": encode_id("AuditRecord", 1)},
        "node",
        None,
        id="node-with-an-AuditRecord-id",
    ),
    pytest.param(
        NODE_BY_ID,
        lambda w: {"id": encode_id("HouseholdMember", 1)},
        "node",
        None,
        id="node-with-a-HouseholdMember-id",
    ),
    pytest.param(
        NODE_BY_ID,
        lambda w: {"id": "Person:1"},
        "node",
        "NOT_FOUND",
        id="node-with-an-unencoded-id",
    ),
    pytest.param(
        PEOPLE_UNDER_UNIT,
        lambda w: {"unitId": encode_id("Person", w.people["resident_a1"].id)},
        "people",
        "NOT_FOUND",
        id="people-under-a-Person-id",
    ),
    pytest.param(
        API_TOKENS_OF,
        lambda w: {"organizationId": encode_id("OrgUnit", w.units["district"].id)},
        "apiTokens",
        "NOT_FOUND",
        id="apiTokens-of-an-OrgUnit-id",
    ),
    pytest.param(
        PERSON_CREATE,
        lambda w: {
            "input": {
                "name": "新账号",
                "phone": "13900000099",
                "role": "RESIDENT",
                "unitId": encode_id("Estate", w.estates["E1"].id),
            }
        },
        "personCreate",
        "NOT_FOUND",
        id="personCreate-at-an-Estate-id",
    ),
]


@pytest.mark.parametrize(("document", "variables", "field", "code"), FOREIGN_IDS)
async def test_an_id_of_another_type_never_returns_a_row(
    client_for: SignIn,
    world: World,
    document: str,
    variables: Callable[[World], dict[str, Any]],
    field: str,
    code: str | None,
) -> None:
    # Given the admin, who may see every row, and an id of the wrong type
    client = await client_for("admin")
    before = await counts()

    # When the id is passed where another type is expected
    body = await client.query(document, variables(world))

    # Then the answer is NOT_FOUND or null, never a row, and nothing is written
    assert codes(body) == ([code] if code else []), body
    assert (body["data"] or {}).get(field) is None
    assert await counts() == before


# -- households of a unit, a page at a time ---------------------------------------

HOUSEHOLD_PAGES_NESTED = """
{ orgRoots { children { children { name
    households(first: 5) { totalCount edges { node { address } } } } } } }
"""
HOUSEHOLD_PAGE_AFTER = """
query Page($id: ID!, $after: String) {
  orgUnit(id: $id) {
    households(first: 5, after: $after) { edges { node { address } } }
  }
}
"""
HOUSEHOLDS_SEEN = {
    "admin": {"甲一社区": ["湖景苑 1幢 101室"], "乙一社区": ["乙一社区 8号"]},
    "official_a": {"甲一社区": ["湖景苑 1幢 101室"], "乙一社区": []},
    "cadre_b1": {"甲一社区": [], "乙一社区": ["乙一社区 8号"]},
    "resident_a1": {"甲一社区": ["湖景苑 1幢 101室"], "乙一社区": []},
    "resident_b1": {"甲一社区": [], "乙一社区": ["乙一社区 8号"]},
    "company_staff": {"甲一社区": ["湖景苑 1幢 101室"], "乙一社区": []},
}


@pytest.mark.parametrize("role", list(HOUSEHOLDS_SEEN))
async def test_households_of_a_unit_are_scoped_on_both_paths(
    login: SignIn, world: World, role: str
) -> None:
    # Given a caller, and the first pages of every community's households, which the
    # look-ahead loads for all communities in one statement
    client = await login(role)
    nested = await client.query(HOUSEHOLD_PAGES_NESTED)
    assert "errors" not in nested, nested
    pages = {
        community["name"]: [
            e["node"]["address"] for e in community["households"]["edges"]
        ]
        for subdistrict in nested["data"]["orgRoots"][0]["children"]
        for community in subdistrict["children"]
    }
    counts = {
        community["name"]: community["households"]["totalCount"]
        for subdistrict in nested["data"]["orgRoots"][0]["children"]
        for community in subdistrict["children"]
    }

    # When a later page is asked for one community at a time
    later: dict[str, list[str]] = {}
    for key, name in (("A1", "甲一社区"), ("B1", "乙一社区")):
        body = await client.query(
            HOUSEHOLD_PAGE_AFTER,
            {
                "id": encode_id("OrgUnit", world.units[key].id),
                "after": encode_cursor(0),
            },
        )
        later[name] = [
            e["node"]["address"] for e in body["data"]["orgUnit"]["households"]["edges"]
        ]

    # Then both paths show exactly the households the role may see, and counts agree
    expected = HOUSEHOLDS_SEEN[role]
    assert {name: pages[name] for name in expected} == expected
    assert later == expected
    assert {name: counts[name] for name in expected} == {
        name: len(seen) for name, seen in expected.items()
    }


async def test_a_page_size_out_of_range_is_refused(login: SignIn, world: World) -> None:
    admin = await login("admin")
    body = await admin.query(
        HOUSEHOLD_PAGE_AFTER.replace("first: 5", "first: 0"),
        {"id": encode_id("OrgUnit", world.units["A1"].id)},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
