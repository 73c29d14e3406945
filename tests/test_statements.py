"""SQL statements per operation: one per list level, whatever the number of rows."""

from __future__ import annotations

from typing import Any

import pytest

from models import Estate, OrgUnit
from models.enums import CommunityKind, Level, Role
from schema.base import encode_id
from tests.conftest import Client
from tests.world import World, add_person, grant

TREE = """
{
  orgUnits(level: DISTRICT) {
    edges { node { id name code level depth
      children { id name code level depth
        children { id name code kind depth
          estates { id name address builtYear __typename } } } } }
  }
}
"""
BY_ID = """
query Tree($id: ID!) {
  node(id: $id) {
    ... on OrgUnit { name children { name children { name parent { name } } } }
  }
}
"""
PEOPLE = """
{
  people(first: 100) {
    edges { node { name phone
      roles { role unit { name parent { name } } }
      households { relation household { address community { name } } } } }
  }
}
"""


async def _grow(world: World, communities: int) -> None:
    """Add ``communities`` communities with two estates each under subdistrict A."""
    parent = world.units["A"]
    for n in range(communities):
        unit = await OrgUnit.create(
            name=f"新社区{n}",
            code=f"T-N{n}",
            level=Level.COMMUNITY,
            kind=CommunityKind.URBAN,
            parent=parent,
            path="pending",
            depth=parent.depth + 1,
        )
        unit.path = f"{parent.path}{unit.id}/"
        await unit.save(update_fields=["path"])
        for e in range(2):
            await Estate.create(unit=unit, unit_path=unit.path, name=f"苑{n}-{e}")


@pytest.mark.parametrize("communities", [10, 100])
async def test_the_org_tree_costs_one_statement_per_list_level(
    anonymous: Client, world: World, statements: Any, communities: int
) -> None:
    # Given a district whose subdistrict A has many communities with estates
    await _grow(world, communities)

    # When the tree is read four lists deep
    with statements() as seen:
        body = await anonymous.query(TREE)

    # Then every community came back, in four statements: one per list level
    assert "errors" not in body, body
    (district,) = body["data"]["orgUnits"]["edges"]
    a = district["node"]["children"][0]
    assert len(a["children"]) == communities + 2
    assert len(seen) == 4, seen
    # and each level passed its parents as one parameter, not one per parent
    levels = [q for q in seen if "json_each(" in q or "= ANY(" in q]
    assert len(levels) == 3, seen


@pytest.mark.parametrize("communities", [10, 100])
async def test_a_lookup_by_id_looks_ahead_too(
    anonymous: Client, world: World, statements: Any, communities: int
) -> None:
    await _grow(world, communities)
    district = encode_id("OrgUnit", world.units["district"].id)

    with statements() as seen:
        body = await anonymous.query(BY_ID, {"id": district})

    children = body["data"]["node"]["children"]
    assert children[0]["children"][0]["parent"] == {"name": "甲街道"}
    # the node, its children, their children, and the parents of those
    assert len(seen) == 4, seen


async def test_people_and_their_relations_cost_the_same_at_any_size(
    login: Any, world: World, statements: Any
) -> None:
    # Given an official of the district
    official: Client = await login("official_district")

    # When they list people with their roles and households, before and after
    # thirty more residents arrive
    with statements() as before:
        first = await official.query(PEOPLE)
    for n in range(30):
        person = await add_person(world, f"extra{n}", f"居民{n}", f"1370000{n:04d}")
        await grant(person, Role.RESIDENT, world.units["A1"])
    with statements() as after:
        second = await official.query(PEOPLE)

    # Then the statements do not grow with the rows: three to check the caller,
    # the page, one per relation and level (roles, unit, parent; households,
    # household, community), and one audit record of the phones revealed
    assert "errors" not in first and "errors" not in second, second
    assert (
        len(second["data"]["people"]["edges"])
        == len(first["data"]["people"]["edges"]) + 30
    )
    assert len(before) == len(after) == 11, "\n".join(s[:90] for s in after)


PAGES = """
query Pages($first: Int!) {
  orgUnit(id: "%s") {
    children { children { name
      households(first: $first) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { address building { name } } }
      }
    } }
  }
}
"""


async def test_a_page_per_parent_costs_one_statement_per_level(
    login: Any, world: World, statements: Any
) -> None:
    # Given communities with many households each
    from models import Household

    for key in ("A1", "A2", "B1"):
        unit = world.units[key]
        for n in range(7):
            await Household.create(
                unit=unit, unit_path=unit.path, address=f"{key}-{n}号"
            )
    admin: Client = await login("admin")
    document = PAGES % encode_id("OrgUnit", world.units["district"].id)

    # When the first three households of every community are asked for
    with statements() as seen:
        body = await admin.query(document, {"first": 3})

    # Then each community has its own page of three, and the pages came in one
    # statement for all communities (plus one count per page, asked for here)
    assert "errors" not in body, body
    pages = {
        c["name"]: c["households"]
        for s in body["data"]["orgUnit"]["children"]
        for c in s["children"]
    }
    assert {name: len(p["edges"]) for name, p in pages.items()} == {
        "甲一社区": 3,
        "甲二村": 3,
        "乙一社区": 3,
    }
    assert pages["甲一社区"]["totalCount"] == 8  # seven here and one of the world
    assert all(p["pageInfo"]["hasNextPage"] for p in pages.values())
    counts = [s for s in seen if "COUNT" in s.upper()]
    selects = [s for s in seen if s not in counts and "audit_record" not in s]
    # caller (3), the unit, its children, theirs, the pages, the buildings
    assert len(selects) == 8, "\n".join(q[:100] for q in selects)
    assert len(counts) == 3

    # And the second page of one community follows its cursor
    cursor = pages["甲一社区"]["pageInfo"]["endCursor"]
    unit_id = encode_id("OrgUnit", world.units["A1"].id)
    more = await admin.query(
        "query($id: ID!, $after: String) { orgUnit(id: $id) { households(first: 3,"
        " after: $after) { edges { node { address } } } } }",
        {"id": unit_id, "after": cursor},
    )
    addresses = [
        e["node"]["address"] for e in more["data"]["orgUnit"]["households"]["edges"]
    ]
    assert addresses == ["A1-2号", "A1-3号", "A1-4号"]
