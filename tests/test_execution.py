"""The faster completion of plain leaves answers byte for byte like the normal one.

The whole suite also runs with ``YUNSHANG_FAST_EXECUTION=0`` (``make test``); this
file compares the two executors directly, on the same data, for each role.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.events import LocalBus
from schema.base import encode_id
from schema.execution import FastExecutionContext
from tests.conftest import LOGIN
from tests.world import PASSWORD, World

DOCUMENTS = {
    "tree": """
      { orgRoots { id name code level kind depth __typename
          children { name level kind children { name kind depth
            estates { id name address builtYear community { name } } } } } }
    """,
    "aliases and fragments": """
      fragment Unit on OrgUnit { id n: name level }
      { orgRoots { ...Unit again: name children { ...Unit ... on OrgUnit { code } } } }
    """,
    "directives": """
      query($yes: Boolean! = true, $no: Boolean! = false) {
        orgRoots { name code @include(if: $yes) level @skip(if: $yes)
          children { name @skip(if: $no) kind } }
      }
    """,
    "people and sensitive fields": """
      { people(first: 50) { edges { cursor node { id name phone idNumber birthDate
          gender isActive roles { role title startsAt endsAt unit { name } }
          households { relation isOwner startsOn household { address } } } }
        pageInfo { hasNextPage endCursor } } }
    """,
    "viewer": "{ viewer { isSignedIn isApiToken grants { role unit { name } } "
    "person { name phone } } }",
    "node": """
      query($id: ID!) { node(id: $id) { id __typename ... on OrgUnit { name
        children { name } } ... on Person { name phone } } }
    """,
    "errors": "{ people(first: 0) { edges { node { name } } } }",
}
ROLES = ("anonymous", "admin", "official_a", "cadre_a1", "resident_a1", "company_staff")


@pytest.fixture
async def two_apps(db: str, settings: Any, world: World) -> Any:
    def app(fast_execution: bool) -> Any:
        limits = replace(settings.limits, fast_execution=fast_execution)
        chosen = replace(settings, limits=limits)
        return create_app(chosen, manage_database=False, bus=LocalBus())

    fast, plain = app(True), app(False)
    assert fast.state.platform.schema.execution_context_class is FastExecutionContext
    plain_class = plain.state.platform.schema.execution_context_class
    assert plain_class is not FastExecutionContext
    return fast, plain


async def _token(http: httpx.AsyncClient, world: World, role: str) -> str | None:
    if role == "anonymous":
        return None
    phone = world.people[role].phone
    body = (
        await http.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"phone": phone, "password": PASSWORD}},
        )
    ).json()
    token: str = body["data"]["authLogin"]["accessToken"]
    return token


@pytest.mark.parametrize("role", ROLES)
async def test_both_executors_answer_the_same_bytes(
    two_apps: Any, world: World, role: str
) -> None:
    fast, plain = two_apps
    variables = {"id": encode_id("OrgUnit", world.units["A"].id)}
    transport_fast = httpx.ASGITransport(app=fast)
    transport_plain = httpx.ASGITransport(app=plain)
    async with (
        httpx.AsyncClient(transport=transport_fast, base_url="http://t") as a,
        httpx.AsyncClient(transport=transport_plain, base_url="http://t") as b,
    ):
        token = await _token(a, world, role)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        for name, document in DOCUMENTS.items():
            body = {
                "query": document,
                "variables": variables if "$id" in document else {},
            }
            one = await a.post("/graphql", json=body, headers=headers)
            two = await b.post("/graphql", json=body, headers=headers)
            assert one.status_code == two.status_code, name
            assert one.content == two.content, name
            assert b'"data"' in one.content, name


async def test_the_fast_executor_skips_most_of_the_per_field_work(
    two_apps: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given both apps, counting the ResolveInfo objects each executor builds
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    built: dict[str, int] = {"fast": 0, "plain": 0}
    original = StrawberryGraphQLCoreExecutionContext.build_resolve_info

    def counting(self: Any, *args: Any) -> Any:
        built["fast" if isinstance(self, FastExecutionContext) else "plain"] += 1
        return original(self, *args)

    monkeypatch.setattr(
        StrawberryGraphQLCoreExecutionContext, "build_resolve_info", counting
    )
    fast, plain = two_apps

    # When each answers the tree
    for app in (fast, plain):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            await c.post("/graphql", json={"query": DOCUMENTS["tree"]})

    # Then the fast one built a resolve info only for fields that are not plain
    # leaves: a fraction of the plain executor's one per field
    assert built["plain"] > 3 * built["fast"] > 0, built
