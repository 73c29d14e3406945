"""The read path keeps what it compiles and builds across operations, and that
never changes an answer: rows read through the driver are what ``.values()``
gives, kept plans follow the variables, kept statements follow the scopes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
from tortoise import connections

from api.app import create_app
from api.events import LocalBus
from models import Estate, EstateManagement, Household, OrgUnit, Person
from models.enums import Role
from permissions.caller import ANONYMOUS, Caller, Grant
from permissions.scope import SCOPES, is_public, visible
from resolvers.context import Context
from resolvers.loaders import columns, first_rows_of, rows_in
from schema import execution
from schema.base import encode_id
from tests.conftest import LOGIN
from tests.world import PASSWORD, World

# Fragments under a directive: what the executor collects depends on $yes.
FRAGMENTS = """
query($yes: Boolean!) {
  orgRoots { name
    children { name ... on OrgUnit @include(if: $yes) { code level }
      children { name ...Kind @skip(if: $yes) } } }
}
fragment Kind on OrgUnit { kind depth }
"""
# The same selection twice by fragments: no directive, so its plan is kept.
PLAIN = """
fragment Unit on OrgUnit { id name level kind }
{ orgRoots { ...Unit children { ...Unit children { ...Unit
    estates { id name builtYear __typename } } } } }
"""


def _context(caller: Caller) -> Context:
    """A context for calling the loaders directly: they read only the caller."""
    return Context(
        bus=None,  # type: ignore[arg-type]
        auth=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        sender=None,  # type: ignore[arg-type]
        caller=caller,
    )


@pytest.fixture
async def apps(db: str, settings: Any, world: World) -> Any:
    def app(fast_execution: bool) -> Any:
        limits = replace(settings.limits, fast_execution=fast_execution)
        return create_app(
            replace(settings, limits=limits), manage_database=False, bus=LocalBus()
        )

    return app(True), app(False)


async def _both(apps: Any, body: dict[str, Any], token: str | None = None) -> bytes:
    """Asks both executors; they must answer the same bytes."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answers = []
    for app in apps:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            answers.append(
                (await c.post("/graphql", json=body, headers=headers)).content
            )
    assert answers[0] == answers[1], body
    assert b'"errors"' not in answers[0], answers[0]
    return answers[0]


async def test_a_kept_plan_follows_the_variables_of_each_operation(apps: Any) -> None:
    # Given a document whose fragments are included or skipped by a variable
    # When it is asked with the variable true, false, then true again
    answers = [
        await _both(apps, {"query": FRAGMENTS, "variables": {"yes": yes}})
        for yes in (True, False, True)
    ]

    # Then each answer has the fields its variables asked for, as the normal
    # executor gives them
    assert b'"code"' in answers[0] and b'"kind"' not in answers[0]
    assert b'"code"' not in answers[1] and b'"kind"' in answers[1]
    assert answers[0] == answers[2]


async def test_a_document_without_directives_compiles_once(apps: Any) -> None:
    # Given the tree asked once
    first = await _both(apps, {"query": PLAIN})
    kept = len(execution._SHARED_PLANS)

    # When it is asked again
    second = await _both(apps, {"query": PLAIN})

    # Then the answer is the same and no new plan was made for it
    assert first == second
    assert len(execution._SHARED_PLANS) == kept
    assert b'"__typename":"Estate"' in first


async def test_rows_read_through_the_driver_are_what_values_gives(
    db: str, world: World
) -> None:
    # Given rows of several models, with enums, dates and nulls among their columns
    cases: list[tuple[type[Any], str, list[Any]]] = [
        (OrgUnit, "parent_id", [u.id for u in world.units.values()]),
        (Estate, "unit_id", [u.id for u in world.units.values()]),
        (EstateManagement, "estate_id", [e.id for e in world.estates.values()]),
        (Household, "unit_id", [u.id for u in world.units.values()]),
    ]
    root = world.units["district"]
    admin = Caller(person_id=1, grants=(Grant(Role.ADMIN, root.id, root.path),))
    context = _context(admin)
    for model, key, values in cases:
        # When they are read by the look-ahead's loader, twice (built, then kept)
        for _ in range(2):
            found = await rows_in(context, model, key, values, "id")

            # Then they are the dicts, types and values of a queryset's .values()
            expected = (
                await visible(model, admin)
                .filter(**{f"{key}__in": values})
                .order_by("id")
                .values(*columns(model))
            )
            assert found == expected, model
            assert [{k: type(v) for k, v in row.items()} for row in found] == [
                {k: type(v) for k, v in row.items()} for row in expected
            ], model
        assert found, model

    # And a page per parent is the same rows as well
    pages = await first_rows_of(
        context, Household, "unit_id", [u.id for u in world.units.values()], 1
    )
    for unit_id, page in pages.items():
        expected = (
            await visible(Household, admin)
            .filter(unit_id=unit_id)
            .order_by("id")
            .limit(2)
            .values(*columns(Household))
        )
        assert [{k: v for k, v in r.items() if k != "row_rank"} for r in page] == (
            expected
        )


async def test_statements_are_kept_only_for_scopes_that_ignore_the_caller(
    login: Any, world: World
) -> None:
    # Given the public directory and the scoped households, and a household in
    # the resident's building that is not theirs
    assert is_public(OrgUnit) and is_public(Estate)
    assert not is_public(Household) and not is_public(Person)
    home = world.households["a1"]
    await Household.create(
        unit_id=home.unit_id,
        unit_path=home.unit_path,
        building_id=home.building_id,
        address="湖景苑 1幢 102室",
    )

    # When a cadre of A1 and a resident of A1 read the households of their
    # community's estates, one after the other, through the look-ahead
    document = """query($id: ID!) { orgUnit(id: $id) { estates { buildings {
        households { address } } } } }"""
    unit = encode_id("OrgUnit", world.units["A1"].id)
    seen = {}
    for role in ("cadre_a1", "resident_a1", "cadre_a1"):
        client = await login(role)
        body = await client.query(document, {"id": unit})
        seen.setdefault(role, []).append(body)

    # Then each sees what their own scope gives, whoever asked before
    def addresses(body: dict[str, Any]) -> list[str]:
        return [
            h["address"]
            for e in body["data"]["orgUnit"]["estates"]
            for b in e["buildings"]
            for h in b["households"]
        ]

    assert seen["cadre_a1"][0] == seen["cadre_a1"][1]
    assert addresses(seen["cadre_a1"][0]) == ["湖景苑 1幢 101室", "湖景苑 1幢 102室"]
    assert addresses(seen["resident_a1"][0]) == ["湖景苑 1幢 101室"]


async def test_a_scope_replaced_is_not_read_through_a_kept_statement(
    db: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a statement kept for the public scope of estates
    context = _context(ANONYMOUS)
    units = [u.id for u in world.units.values()]
    assert await rows_in(context, Estate, "unit_id", units, "id")

    # When the scope of estates is replaced by one that shows nothing
    monkeypatch.setitem(SCOPES, Estate, lambda caller: Estate.filter(id__in=[-1]))

    # Then the read follows the new scope
    assert await rows_in(context, Estate, "unit_id", units, "id") == []


async def test_enum_values_unknown_to_the_enum_still_fail(
    db: str, world: World
) -> None:
    # Given a unit whose level column holds a value its enum does not have
    unit = world.units["A1"]
    await connections.get("default").execute_query(
        f"UPDATE org_unit SET level = 'HAMLET' WHERE id = {int(unit.id)}"
    )
    context = _context(ANONYMOUS)

    # When it is read, Then the enum refuses it as a queryset would
    with pytest.raises(ValueError, match="HAMLET"):
        await rows_in(context, OrgUnit, "id", [unit.id])


async def test_the_tree_answers_the_same_for_every_role(
    apps: Any, world: World
) -> None:
    transport = httpx.ASGITransport(app=apps[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for role in ("admin", "official_a", "cadre_a1", "resident_a1"):
            phone = world.people[role].phone
            login = await c.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "variables": {"phone": phone, "password": PASSWORD},
                },
            )
            token = login.json()["data"]["authLogin"]["accessToken"]
            for _ in range(2):
                await _both(apps, {"query": PLAIN}, token)


async def test_a_statement_of_another_shape_is_read_the_usual_way(
    db: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the rows and pages read with one parameter for all parents
    from resolvers import loaders

    root = world.units["district"]
    admin = Caller(person_id=1, grants=(Grant(Role.ADMIN, root.id, root.path),))
    context = _context(admin)
    units = [u.id for u in world.units.values()]
    rows = await rows_in(context, Household, "unit_id", units, "id")
    pages = await first_rows_of(context, Household, "unit_id", units, 1)
    assert rows and pages

    # When no statement can take the parents as one parameter
    loaders._STATEMENTS.clear()
    monkeypatch.setattr(loaders, "_one_parameter", lambda *args: None)

    # Then the same rows and pages come back, a parameter per parent
    assert await rows_in(context, Household, "unit_id", units, "id") == rows
    assert await first_rows_of(context, Household, "unit_id", units, 1) == pages
