"""The org hierarchy and staff accounts: creating units, people and roles."""

from __future__ import annotations

import asyncio
from typing import Any

from api.events import LocalBus
from models import AuditRecord, OrgUnit, Person, RoleAssignment
from schema.base import encode_id
from tests.conftest import Client
from tests.world import World

UNIT_CREATE = """
mutation Create($input: OrgUnitCreateInput!) {
  orgUnitCreate(input: $input) {
    orgUnit { id name level kind depth parent { name } }
    errors { field code }
  }
}
"""
PERSON_CREATE = """
mutation Create($input: PersonCreateInput!) {
  personCreate(input: $input) { person { id name phone } errors { field code } }
}
"""
ROLE_ASSIGN = """
mutation Assign($input: RoleAssignInput!) {
  roleAssign(input: $input) { roleAssignment { id role endsAt } errors { field code } }
}
"""
ROLE_REVOKE = """
mutation Revoke($id: ID!) {
  roleRevoke(id: $id) { roleAssignment { endsAt } errors { code } }
}
"""
TREE = """
{ orgRoots { name children { name level children { name kind estates { name } } } } }
"""


def _unit(world: World, key: str) -> str:
    return encode_id("OrgUnit", world.units[key].id)


async def test_the_tree_is_public_and_nested(anonymous: Client, world: World) -> None:
    body = await anonymous.query(TREE)
    (district,) = body["data"]["orgRoots"]
    assert [s["name"] for s in district["children"]] == ["甲街道", "乙街道"]
    a1 = district["children"][0]["children"][0]
    assert a1 == {
        "name": "甲一社区",
        "kind": "URBAN",
        "estates": [{"name": "湖景苑"}, {"name": "江月苑"}],
    }


async def test_an_official_adds_a_community_and_a_subscriber_hears_of_it(
    login: Any, world: World, bus: LocalBus
) -> None:
    # Given an official of subdistrict A and a subscription to A's changes
    official: Client = await login("official_a")
    subscription = bus.subscribe("org", (world.units["A"].path,))

    # When they add a village under A
    body = await official.query(
        UNIT_CREATE,
        {
            "input": {
                "parentId": _unit(world, "A"),
                "name": "甲三村",
                "code": "T-A3",
                "kind": "VILLAGE",
            }
        },
    )

    # Then it exists one level down, at the right path, audited and announced
    created = body["data"]["orgUnitCreate"]
    assert created["errors"] == []
    assert created["orgUnit"]["level"] == "COMMUNITY"
    assert created["orgUnit"]["parent"] == {"name": "甲街道"}
    unit = await OrgUnit.get(code="T-A3")
    assert unit.path == f"{world.units['A'].path}{unit.id}/"
    assert await AuditRecord.filter(action="ORG_UNIT_CREATE", outcome="OK").exists()
    async with asyncio.timeout(1):
        event = await anext(aiter(subscription))
    assert (event.kind, event.subject_id) == ("ORG_UNIT_CREATED", unit.id)
    await subscription.close()


async def test_unit_creation_errors_change_nothing(login: Any, world: World) -> None:
    official: Client = await login("official_a")
    before = await OrgUnit.all().count()

    body = await official.query(
        UNIT_CREATE,
        {"input": {"parentId": _unit(world, "A"), "name": " ", "code": "T-A1"}},
    )

    codes = {e["code"] for e in body["data"]["orgUnitCreate"]["errors"]}
    assert codes == {"INVALID_NAME", "CODE_TAKEN", "KIND_REQUIRED"}
    assert await OrgUnit.all().count() == before
    assert await AuditRecord.filter(action="ORG_UNIT_CREATE").count() == 0


async def test_an_official_cannot_add_units_beside_their_jurisdiction(
    login: Any, world: World
) -> None:
    official: Client = await login("official_b")
    body = await official.query(
        UNIT_CREATE,
        {
            "input": {
                "parentId": _unit(world, "A"),
                "name": "x",
                "code": "T-X",
                "kind": "URBAN",
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not await OrgUnit.filter(code="T-X").exists()


async def test_staff_accounts_come_from_the_unit_above(
    login: Any, world: World
) -> None:
    # Given an official of subdistrict A
    official: Client = await login("official_a")

    # When they create a cadre of community A1
    body = await official.query(
        PERSON_CREATE,
        {
            "input": {
                "name": "新委员",
                "phone": "13711112222",
                "role": "CADRE",
                "unitId": _unit(world, "A1"),
                "password": "a-long-password",
                "title": "委员",
            }
        },
    )

    # Then the account exists with that role
    assert body["data"]["personCreate"]["errors"] == []
    person = await Person.get(phone="13711112222")
    role = await RoleAssignment.get(person_id=person.id)
    assert (role.role, role.unit_id, role.title) == (
        "CADRE",
        world.units["A1"].id,
        "委员",
    )

    # But an official cannot create another official at their own level
    same_level = await official.query(
        PERSON_CREATE,
        {
            "input": {
                "name": "同级",
                "phone": "13711113333",
                "role": "OFFICIAL",
                "unitId": _unit(world, "A"),
            }
        },
    )
    assert same_level["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_person_creation_reports_every_input_error(
    login: Any, world: World
) -> None:
    official: Client = await login("official_a")
    body = await official.query(
        PERSON_CREATE,
        {
            "input": {
                "name": "",
                "phone": "13900000005",
                "role": "PROPERTY_COMPANY",
                "unitId": _unit(world, "A1"),
                "password": "short",
            }
        },
    )
    codes = {e["code"] for e in body["data"]["personCreate"]["errors"]}
    assert codes == {
        "INVALID_NAME",
        "PHONE_TAKEN",
        "WEAK_PASSWORD",
        "ORGANIZATION_REQUIRED",
    }


async def test_a_role_is_granted_and_ended_and_its_record_kept(
    login: Any, world: World
) -> None:
    official: Client = await login("official_a")
    resident = encode_id("Person", world.people["resident_a1"].id)

    granted = await official.query(
        ROLE_ASSIGN,
        {
            "input": {
                "personId": resident,
                "role": "CADRE",
                "unitId": _unit(world, "A1"),
            }
        },
    )
    assignment = granted["data"]["roleAssign"]["roleAssignment"]
    assert assignment["role"] == "CADRE" and assignment["endsAt"] is None

    twice = await official.query(
        ROLE_ASSIGN,
        {
            "input": {
                "personId": resident,
                "role": "CADRE",
                "unitId": _unit(world, "A1"),
            }
        },
    )
    assert twice["data"]["roleAssign"]["errors"] == [
        {"field": "role", "code": "ALREADY_HELD"}
    ]

    ended = await official.query(ROLE_REVOKE, {"id": assignment["id"]})
    assert ended["data"]["roleRevoke"]["roleAssignment"]["endsAt"] is not None
    again = await official.query(ROLE_REVOKE, {"id": assignment["id"]})
    assert again["data"]["roleRevoke"]["errors"] == [{"code": "ALREADY_ENDED"}]
    assert (
        await RoleAssignment.filter(person_id=world.people["resident_a1"].id).count()
        == 2
    )


async def test_an_ended_role_no_longer_grants_anything(
    login: Any, world: World
) -> None:
    # Given a cadre whose role is ended by the official above
    official: Client = await login("official_a")
    cadre: Client = await login("cadre_a1")
    role = await RoleAssignment.get(person_id=world.people["cadre_a1"].id)
    await official.query(ROLE_REVOKE, {"id": encode_id("RoleAssignment", role.id)})

    # When the former cadre lists people
    body = await cadre.query("{ people { edges { node { name } } } }")

    # Then they are refused: grants are read per request
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
