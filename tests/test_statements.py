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
