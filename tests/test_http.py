"""GraphQL over HTTP: methods, media types, status codes, limits, uploads, tokens.

Held to the graphql-over-http spec (``application/graphql-response+json``: 400 for a
document that does not parse, 422 for one that does not validate), the GraphQL
multipart request spec, and the checks of graphql-cop (batching, aliases, directives,
field duplication, suggestions, introspection, the IDE, GET mutations, url-encoded
POST). Every error carries ``extensions.code``.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping
import httpx
import jwt
import orjson
import pytest
import pytest_asyncio
from graphql import get_introspection_query

import schema.org
from api.app import create_app
from api.events import LocalBus
from api.settings import load_settings
from schema.extensions import limit_directives, limit_field_repeats
from tests.conftest import LOGIN, Client
from tests.world import PASSWORD, World

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ACCEPT_GRAPHQL = {"accept": GRAPHQL_RESPONSE}
ACCEPT_JSON = {"accept": JSON}
PREFLIGHT = {"apollo-require-preflight": "true"}

VIEWER = "query Viewer { viewer { isSignedIn } }"
LOGOUT = "mutation Logout { authLogout { ok } }"
SUBSCRIPTION = 'subscription Changes { orgChanges(unitId: "x") { __typename } }'
UNPARSABLE = "{ viewer { isSignedIn "
UNKNOWN_FIELD = "{ viewer { isSignedIn } nodee }"
TYPO = "{ orgRoot { name } }"
INTROSPECTION = "{ __schema { queryType { name } } }"
ORG_ROOTS = "query Roots { orgRoots { name } }"
TYPENAME = "{ __typename }"
UPLOAD_PROBE = "query Probe { __typename }"

# Limits as the settings have them by default (schema.app.Limits).
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000
MAX_DIRECTIVES = 20


def nested(levels: int) -> str:
    """``orgRoots`` with ``levels`` of ``children`` below it."""
    return "{ orgRoots { " + "children { " * levels + "name" + " }" * (levels + 2)


DEEP_ENOUGH = nested(MAX_DEPTH - 1)
TOO_DEEP = nested(MAX_DEPTH)
TOO_MANY_ALIASES = (
    "{ " + " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1)) + " }"
)
TOO_MANY_TOKENS = "{ viewer { " + "isSignedIn " * MAX_TOKENS + "} }"
TOO_MANY_DIRECTIVES = (
    "{ "
    + " ".join(f"d{i}: __typename @skip(if: false)" for i in range(MAX_DIRECTIVES + 1))
    + " }"
)
DUPLICATED_TYPENAME = "{ " + "__typename " * 500 + "}"
DUPLICATED_FIELD = "{ viewer { " + "isSignedIn " * 500 + "} }"
DUPLICATED_OBJECT = "{ " + "viewer { isSignedIn } " * 500 + "}"
DUPLICATED_IN_FRAGMENTS = "{ " + "... on Query { viewer { isSignedIn } } " * 300 + "}"
DUPLICATED_IN_A_FRAGMENT = (
    "query Q { ...F } fragment F on Query { " + "viewer { isSignedIn } " * 500 + "}"
)
REPEATED_UNKNOWN_DIRECTIVE = "query cop { __typename " + "@aa" * 10 + " }"
REPEATED_SKIP = "{ __typename" + " @skip(if: false)" * 10 + " }"

PHONE = "13900000005"  # cadre_a1 of tests.world
SPOOL_BYTES = 1024 * 1024  # Starlette keeps an upload in memory up to this size


# -- helpers ----------------------------------------------------------------------


def assert_coded(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The body's errors, each with a message and ``extensions.code``."""
    errors: list[dict[str, Any]] = body["errors"]
    assert errors, body
    for error in errors:
        assert isinstance(error["message"], str), error
        assert isinstance(error["extensions"]["code"], str), error
    return errors


def codes(body: dict[str, Any]) -> set[str]:
    return {error["extensions"]["code"] for error in assert_coded(body)}


def messages(body: dict[str, Any]) -> str:
    return " | ".join(error["message"] for error in assert_coded(body))


async def post(
    http: httpx.AsyncClient,
    query: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, **extra}, headers=headers or {}
    )


@contextmanager
def no_unclosed_files() -> Iterator[None]:
    """Record the ResourceWarnings of the block and of a garbage collection after
    it: there must be none (an upload's spooled file left open, say). Recorded,
    because one raised in a finaliser would only be reported, not fail the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]


MakeHttp = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest_asyncio.fixture
async def make_http(
    db: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MakeHttp]:
    """``await make_http(YUNSHANG_ENV="production")`` → a client of an app built from
    the test settings with those environment variables changed."""
    async with AsyncExitStack() as stack:

        async def make(**env: str) -> httpx.AsyncClient:
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            app = create_app(load_settings(), manage_database=False, bus=LocalBus())
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://test")
            return await stack.enter_async_context(client)

        yield make


@pytest_asyncio.fixture
async def production(make_http: MakeHttp) -> httpx.AsyncClient:
    return await make_http(YUNSHANG_ENV="production")


# -- methods ----------------------------------------------------------------------


async def test_a_query_over_get_is_answered(http: httpx.AsyncClient) -> None:
    # given a query in the URL
    # when it is sent with GET
    response = await http.get("/graphql", params={"query": VIEWER})
    # then it is executed
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"data": {"viewer": {"isSignedIn": False}}}


async def test_a_query_over_get_with_variables_and_operation_name(
    http: httpx.AsyncClient,
) -> None:
    # given a document of two operations and a variable for one of them
    document = "query A { __typename } query B($id: ID!) { node(id: $id) { id } }"
    params = {"query": document, "operationName": "B", "variables": '{"id": "x"}'}
    # when it is sent with GET
    response = await http.get("/graphql", params=params, headers=ACCEPT_GRAPHQL)
    # then the named operation runs with the variable (a malformed id is not found)
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert body["data"] == {"node": None}
    assert codes(body) == {"NOT_FOUND"}
    assert body["errors"][0]["path"] == ["node"]


async def test_a_mutation_over_get_is_refused_with_405(
    http: httpx.AsyncClient,
) -> None:
    # given a mutation
    # when it is sent with GET
    response = await http.get(
        "/graphql", params={"query": LOGOUT}, headers=ACCEPT_GRAPHQL
    )
    # then it is refused, and POST is named as the method to use
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"METHOD_NOT_ALLOWED"}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_gets_400(
    http: httpx.AsyncClient, method: str
) -> None:
    # given a subscription, which is served over the websocket only
    arguments: dict[str, Any] = (
        {"params": {"query": SUBSCRIPTION}}
        if method == "GET"
        else {"json": {"query": SUBSCRIPTION}}
    )
    # when it is sent over plain HTTP
    response = await http.request(
        method, "/graphql", headers=ACCEPT_GRAPHQL, **arguments
    )
    # then it is refused, naming the websocket, with no method to try instead
    assert response.status_code == 400
    assert "allow" not in response.headers
    body = response.json()
    assert codes(body) == {"BAD_REQUEST"}
    assert "graphql-transport-ws" in messages(body)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_get_405_naming_get_and_post(
    http: httpx.AsyncClient, method: str
) -> None:
    # given a request with another method
    # when it reaches /graphql
    response = await http.request(
        method, "/graphql", json={"query": TYPENAME}, headers=ACCEPT_GRAPHQL
    )
    # then it is refused, and the methods that work are named
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed == {"GET", "POST"}
    assert codes(response.json()) == {"METHOD_NOT_ALLOWED"}


# -- request bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("media_type", "content"),
    [
        ("text/plain", orjson.dumps({"query": TYPENAME})),
        ("application/x-www-form-urlencoded", b"query=%7B__typename%7D"),
    ],
)
async def test_a_body_of_another_media_type_gets_415(
    http: httpx.AsyncClient, media_type: str, content: bytes
) -> None:
    # given a query sent as text or as a url-encoded form (no CORS preflight)
    # when it is posted
    response = await http.post(
        "/graphql", content=content, headers={"content-type": media_type}
    )
    # then the media type is refused
    assert response.status_code == 415
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"BAD_REQUEST"}


async def test_json_with_a_charset_is_accepted(http: httpx.AsyncClient) -> None:
    # given a JSON body whose content type names its charset
    content = orjson.dumps({"query": TYPENAME})
    headers = {"content-type": "application/json; charset=utf-8"}
    # when it is posted
    response = await http.post("/graphql", content=content, headers=headers)
    # then it is read as JSON
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"query": "{ __typename }"', "not valid JSON"),
        (b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]', "Batched"),
        (b'{"variables": {}}', "no `query`"),
        (b'{"query": ""}', "no `query`"),
        (b'{"query": 42}', "no `query`"),
        (b'"{ __typename }"', "JSON object"),
        (b'{"query": "{ __typename }", "variables": []}', "`variables`"),
        (b'{"query": "{ __typename }", "operationName": 1}', "`operationName`"),
    ],
)
async def test_a_malformed_request_gets_400(
    http: httpx.AsyncClient, content: bytes, message: str
) -> None:
    # given a body that does not parse, a batch, or no query
    # when it is posted as JSON
    response = await http.post(
        "/graphql",
        content=content,
        headers={"content-type": JSON, **ACCEPT_GRAPHQL},
    )
    # then the request itself is refused, before any GraphQL
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"BAD_REQUEST"}
    assert message in messages(body)


async def test_a_get_with_malformed_variables_gets_400(
    http: httpx.AsyncClient,
) -> None:
    # given variables in the URL that are not JSON
    params = {"query": VIEWER, "variables": "{nope"}
    # when they are sent
    response = await http.get("/graphql", params=params)
    # then the request is refused
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_REQUEST"}


async def test_an_unknown_operation_name_gets_400(http: httpx.AsyncClient) -> None:
    # given a document without the named operation
    # when it is posted
    response = await post(http, VIEWER, ACCEPT_GRAPHQL, operationName="Other")
    # then the request is refused
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_REQUEST"}


# -- status codes of the two media types -------------------------------------------


async def test_a_document_that_does_not_parse_gets_400(
    http: httpx.AsyncClient,
) -> None:
    # given a document cut short
    # when it is posted accepting graphql-response+json
    response = await post(http, UNPARSABLE, ACCEPT_GRAPHQL)
    # then 400, with a coded error and no data
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"GRAPHQL_PARSE_FAILED"}
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 23}]


async def test_a_document_that_does_not_validate_gets_422(
    http: httpx.AsyncClient,
) -> None:
    # given a document asking for a field that does not exist
    # when it is posted accepting graphql-response+json
    response = await post(http, UNKNOWN_FIELD, ACCEPT_GRAPHQL)
    # then 422, with a coded error and no data
    assert response.status_code == 422
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "nodee" in messages(body)


async def test_a_valid_query_gets_200_in_the_graphql_response_type(
    http: httpx.AsyncClient,
) -> None:
    # given a valid query
    # when it is posted accepting graphql-response+json
    response = await post(http, VIEWER, ACCEPT_GRAPHQL)
    # then 200 in that media type
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"viewer": {"isSignedIn": False}}}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (UNPARSABLE, "GRAPHQL_PARSE_FAILED"),
        (UNKNOWN_FIELD, "GRAPHQL_VALIDATION_FAILED"),
    ],
)
@pytest.mark.parametrize("headers", [ACCEPT_JSON, {}], ids=["json", "no-accept"])
async def test_the_legacy_media_type_answers_200_with_errors(
    http: httpx.AsyncClient, query: str, code: str, headers: dict[str, str]
) -> None:
    # given an invalid document
    # when it is posted accepting application/json (or anything)
    response = await post(http, query, headers)
    # then 200, as application/json has it, with the coded errors and no data
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert "data" not in body
    assert codes(body) == {code}


async def test_the_graphql_response_type_is_chosen_among_several(
    http: httpx.AsyncClient,
) -> None:
    # given an Accept header preferring graphql-response+json over JSON
    headers = {"accept": f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"}
    # when an invalid document is posted
    response = await post(http, UNKNOWN_FIELD, headers)
    # then the answer is in graphql-response+json, with its status code
    assert response.status_code == 422
    assert response.headers["content-type"] == GRAPHQL_RESPONSE


# -- errors -----------------------------------------------------------------------


async def test_an_unexpected_error_in_a_resolver_is_masked_and_logged(
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a resolver that fails in a way nobody foresaw, with a secret in the message
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("connection to db:5432 as admin/hunter2 failed")

    monkeypatch.setattr(schema.org, "visible", broken)
    caplog.set_level(logging.INFO)
    # when a query reaches it
    response = await post(http, ORG_ROOTS, ACCEPT_GRAPHQL)
    # then the caller sees a masked, coded error at the field's path
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 15}],
            "path": ["orgRoots"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert "hunter2" not in response.text
    # and the error is logged with its traceback for the operators
    logged = [
        r
        for r in caplog.records
        if r.name == "yunshang.graphql" and r.levelno == logging.ERROR
    ]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], RuntimeError)
    assert "orgRoots" in logged[0].getMessage()


async def test_a_denial_keeps_its_code(http: httpx.AsyncClient) -> None:
    # given a field only signed-in people may call
    # when an anonymous caller asks for it
    response = await post(http, '{ person(id: "x") { name } }', ACCEPT_GRAPHQL)
    # then the error says why, with a code a client can test
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"person": None}
    assert codes(body) <= {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"}
    assert "Unexpected error." not in messages(body)


# -- limits -----------------------------------------------------------------------


async def test_a_query_deeper_than_the_limit_is_refused(
    http: httpx.AsyncClient,
) -> None:
    # given a query nested one level deeper than allowed, and one within the limit
    # when each is posted
    refused = await post(http, TOO_DEEP, ACCEPT_GRAPHQL)
    allowed = await post(http, DEEP_ENOUGH, ACCEPT_GRAPHQL)
    # then the deep one does not validate; the other runs
    assert refused.status_code == 422
    body = refused.json()
    assert "data" not in body
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert f"maximum operation depth of {MAX_DEPTH}" in messages(body)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"data": {"orgRoots": []}}


async def test_more_aliases_than_allowed_are_refused(http: httpx.AsyncClient) -> None:
    # given one alias more than allowed (alias overloading)
    # when the document is posted
    response = await post(http, TOO_MANY_ALIASES, ACCEPT_GRAPHQL)
    # then it does not validate
    assert response.status_code == 422
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert f"Allowed: {MAX_ALIASES}" in messages(body)


async def test_more_tokens_than_allowed_are_refused(http: httpx.AsyncClient) -> None:
    # given a document of more tokens than allowed
    # when it is posted, in either media type
    strict = await post(http, TOO_MANY_TOKENS, ACCEPT_GRAPHQL)
    legacy = await post(http, TOO_MANY_TOKENS, ACCEPT_JSON)
    # then parsing stops: a parse failure, 400 in graphql-response+json
    assert strict.status_code == 400
    assert legacy.status_code == 200
    for response in (strict, legacy):
        body = response.json()
        assert "data" not in body
        assert codes(body) == {"GRAPHQL_PARSE_FAILED"}
        assert f"more than {MAX_TOKENS} tokens" in messages(body)


async def test_more_directives_than_allowed_are_refused(
    http: httpx.AsyncClient,
) -> None:
    # given one directive more than allowed, each on a field of its own
    # (directive overloading)
    # when the document is posted
    response = await post(http, TOO_MANY_DIRECTIVES, ACCEPT_GRAPHQL)
    # then it does not validate, with one error for the limit
    assert response.status_code == 422
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert len(body["errors"]) == 1
    assert f"more than {MAX_DIRECTIVES} directives" in messages(body)


@pytest.mark.parametrize(
    ("document", "directive"),
    [(REPEATED_UNKNOWN_DIRECTIVE, "@aa"), (REPEATED_SKIP, "@skip")],
)
async def test_a_directive_repeated_in_one_place_gets_one_error(
    http: httpx.AsyncClient, document: str, directive: str
) -> None:
    # given one directive ten times on one field, as graphql-cop probes it
    # when the document is posted
    response = await post(http, document, ACCEPT_GRAPHQL)
    # then it does not validate, with one error (graphql-cop flags ten errors)
    assert response.status_code == 422
    body = response.json()
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert len(body["errors"]) == 1
    assert f"'{directive}' can only be used once" in messages(body)


async def test_directives_within_the_limit_run(http: httpx.AsyncClient) -> None:
    # given as many directives as allowed
    document = (
        "{ "
        + " ".join(f"d{i}: __typename @skip(if: true)" for i in range(MAX_DIRECTIVES))
        + " }"
    )
    # when the document is posted
    response = await post(http, document, ACCEPT_GRAPHQL)
    # then it runs
    assert response.status_code == 200
    assert response.json() == {"data": {}}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (DUPLICATED_TYPENAME, "__typename"),
        (DUPLICATED_FIELD, "isSignedIn"),
        (DUPLICATED_OBJECT, "viewer"),
        (DUPLICATED_IN_FRAGMENTS, "viewer"),
        (DUPLICATED_IN_A_FRAGMENT, "viewer"),
    ],
)
async def test_the_same_field_many_times_is_refused(
    http: httpx.AsyncClient, document: str, field: str
) -> None:
    # given a selection of one field 500 times (field duplication)
    # when it is posted
    response = await post(http, document, ACCEPT_GRAPHQL)
    # then it does not validate, with one error rather than one per copy
    assert response.status_code == 422
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert len(body["errors"]) == 1
    assert f"`{field}` is selected more than" in messages(body)


async def test_a_duplicated_field_is_refused_before_the_costly_rule_runs(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a count of the work of OverlappingFieldsCanBeMerged, quadratic in the
    # copies of a field (seconds of CPU for a few hundred)
    calls: list[object] = []
    original = overlapping.find_conflicts_within_selection_set

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(overlapping, "find_conflicts_within_selection_set", counted)
    # when a document with a field duplicated 900 times is posted
    refused = await post(http, "{ " + "viewer { isSignedIn } " * 900 + "}")
    # then it is refused before that rule looks at any selection
    assert "is selected more than" in messages(refused.json())
    assert calls == []
    # and a valid document of several fields still goes through the rule
    accepted = await post(http, "{ viewer { isSignedIn isApiToken } }")
    assert accepted.json() == {
        "data": {"viewer": {"isSignedIn": False, "isApiToken": False}}
    }
    assert calls


def test_the_limit_rules_are_the_same_classes_each_time() -> None:
    # given the rules of the schema's limits, made per operation by its factories
    # when they are made twice
    # then they are the same classes, so that ValidationCache can find a document
    assert limit_directives(MAX_DIRECTIVES) is limit_directives(MAX_DIRECTIVES)
    assert limit_field_repeats(5) is limit_field_repeats(5)


async def test_field_suggestions_are_given_in_development(
    http: httpx.AsyncClient,
) -> None:
    # given a development server and a misspelt field
    # when it is asked for
    response = await post(http, TYPO, ACCEPT_GRAPHQL)
    # then the error suggests the right name
    assert response.status_code == 422
    assert "Did you mean" in messages(response.json())


async def test_no_field_suggestions_in_production(
    production: httpx.AsyncClient,
) -> None:
    # given a production server and a misspelt field
    # when it is asked for
    response = await post(production, TYPO, ACCEPT_GRAPHQL)
    # then the error names no field of the schema
    assert response.status_code == 422
    body = response.json()
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "orgRoot" in messages(body)
    assert "Did you mean" not in response.text
    assert "orgRoots" not in response.text


async def test_introspection_is_refused_in_production(
    production: httpx.AsyncClient,
) -> None:
    # given a production server
    # when the schema is asked for, in either media type
    strict = await post(production, INTROSPECTION, ACCEPT_GRAPHQL)
    legacy = await post(production, INTROSPECTION, ACCEPT_JSON)
    # then it is refused; __typename still works
    assert strict.status_code == 422
    assert legacy.status_code == 200
    for response in (strict, legacy):
        body = response.json()
        assert "data" not in body
        assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in messages(body).lower()
    typename = await post(production, TYPENAME, ACCEPT_GRAPHQL)
    assert typename.json() == {"data": {"__typename": "Query"}}


async def test_introspection_works_in_development(http: httpx.AsyncClient) -> None:
    # given a development server
    # when the schema is asked for, briefly and as GraphiQL asks for it
    brief = await post(http, INTROSPECTION, ACCEPT_GRAPHQL)
    full = await post(http, get_introspection_query(), ACCEPT_GRAPHQL)
    # then both are answered within the limits
    assert brief.status_code == 200
    assert brief.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert full.status_code == 200, full.text
    assert "errors" not in full.json()
    types = {t["name"] for t in full.json()["data"]["__schema"]["types"]}
    assert {"Query", "Mutation", "Subscription", "OrgUnit"} <= types


async def test_graphiql_is_served_in_development(http: httpx.AsyncClient) -> None:
    # given a development server
    # when a browser opens /graphql
    response = await http.get("/graphql", headers={"accept": "text/html"})
    # then GraphiQL is served
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_not_served_in_production(
    production: httpx.AsyncClient,
) -> None:
    # given a production server
    # when a browser opens /graphql
    response = await production.get("/graphql", headers={"accept": "text/html"})
    # then no IDE: a GET without a query is a bad request
    assert response.status_code == 400
    assert not response.headers["content-type"].startswith("text/html")
    assert "graphiql" not in response.text.lower()
    assert codes(response.json()) == {"BAD_REQUEST"}


# -- uploads ----------------------------------------------------------------------


def multipart(file_content: bytes, query: str = UPLOAD_PROBE) -> dict[str, Any]:
    """httpx arguments of a GraphQL multipart request with one file, mapped to a
    variable the document does not use."""
    operations = {"query": query, "variables": {"file": None}}
    return {
        "data": {
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        "files": {"0": ("notes.txt", file_content, "text/plain")},
    }


async def test_an_upload_without_the_preflight_header_gets_400(
    http: httpx.AsyncClient,
) -> None:
    # given a well-formed multipart request without a header that forces a preflight
    # when it is posted (as a cross-site form could, CVE-2024-47082)
    with no_unclosed_files():
        response = await http.post("/graphql", **multipart(b"hello"))
    # then it is refused before the body is read
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"BAD_REQUEST"}
    assert "Apollo-Require-Preflight" in messages(body)


@pytest.mark.parametrize("size", [5, SPOOL_BYTES + 1], ids=["in-memory", "on-disk"])
async def test_an_upload_with_the_preflight_header_reaches_execution(
    http: httpx.AsyncClient, size: int
) -> None:
    # given a well-formed multipart request with the preflight header, and a file
    # small enough to stay in memory, or big enough to be spooled to disk
    arguments = multipart(b"x" * size)
    # when it is posted
    with no_unclosed_files():
        response = await http.post("/graphql", headers=PREFLIGHT, **arguments)
    # then the operation runs, and the file is closed afterwards
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_an_upload_whose_map_names_a_missing_file_gets_400(
    http: httpx.AsyncClient,
) -> None:
    # given a map naming a file the request does not carry
    arguments = multipart(b"hello")
    arguments["data"]["map"] = orjson.dumps({"1": ["variables.file"]}).decode()
    # when it is posted
    with no_unclosed_files():
        response = await http.post("/graphql", headers=PREFLIGHT, **arguments)
    # then it is refused, and the file it did carry is closed
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_REQUEST"}


async def test_an_upload_without_operations_gets_400(
    http: httpx.AsyncClient,
) -> None:
    # given a multipart request with a file but no operations
    files = {"0": ("notes.txt", b"hello", "text/plain")}
    # when it is posted
    with no_unclosed_files():
        response = await http.post("/graphql", headers=PREFLIGHT, files=files)
    # then it is refused, and the file is closed
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_REQUEST"}


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=nothing-like-it"],
    ids=["no-boundary", "wrong-boundary"],
)
async def test_a_malformed_multipart_body_gets_a_coded_400(
    http: httpx.AsyncClient, content_type: str
) -> None:
    # given a multipart body that does not parse
    headers = {**PREFLIGHT, "content-type": content_type}
    # when it is posted
    with no_unclosed_files():
        response = await http.post("/graphql", content=b"garbage", headers=headers)
    # then 400 in JSON with a code, not Starlette's plain text
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    assert codes(response.json()) == {"BAD_REQUEST"}


async def test_an_upload_of_too_many_files_gets_400(http: httpx.AsyncClient) -> None:
    # given a multipart request of more files than a request may carry
    arguments = multipart(b"hello")
    arguments["files"] = [
        (str(i), (f"{i}.txt", b"hello", "text/plain")) for i in range(11)
    ]
    # when it is posted
    with no_unclosed_files():
        response = await http.post("/graphql", headers=PREFLIGHT, **arguments)
    # then it is refused, and the files it had read are closed
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_REQUEST"}


async def test_an_upload_over_the_size_limit_gets_413(make_http: MakeHttp) -> None:
    # given a limit of 1 MiB per upload, and a file just over it (spooled to disk)
    limit = 1024 * 1024
    http = await make_http(YUNSHANG_UPLOAD_MAX_BYTES=str(limit))
    arguments = multipart(b"x" * (limit + 10))
    # when it is posted
    with no_unclosed_files():
        response = await http.post("/graphql", headers=PREFLIGHT, **arguments)
    # then it is refused as too large, and the spooled file is closed
    assert response.status_code == 413
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"BAD_REQUEST"}


async def test_a_body_far_over_the_size_limit_is_refused_unread(
    make_http: MakeHttp,
) -> None:
    # given a limit of 1 KiB per upload
    http = await make_http(YUNSHANG_UPLOAD_MAX_BYTES="1024")
    arguments = multipart(b"x" * (200 * 1024))
    # when a request far larger is posted
    with no_unclosed_files():
        response = await http.post("/graphql", headers=PREFLIGHT, **arguments)
    # then its declared length is enough to refuse it
    assert response.status_code == 413
    assert codes(response.json()) == {"BAD_REQUEST"}


# -- authentication ---------------------------------------------------------------


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert "data" not in body
    assert codes(body) == {"UNAUTHENTICATED"}


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


@pytest_asyncio.fixture
async def live_claims(http: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """The claims of a real access token of cadre_a1, whose session is live: a
    token re-signed from them passes every check but the one a test breaks."""
    variables = {"phone": PHONE, "password": PASSWORD}
    response = await post(http, LOGIN, variables=variables)
    access = response.json()["data"]["authLogin"]["accessToken"]
    claims: dict[str, Any] = jwt.decode(access, options={"verify_signature": False})
    return claims


def resign(
    settings: Any,
    claims: dict[str, Any],
    kid: str = "k1",
    key: bytes | None = None,
    **changes: Any,
) -> str:
    """``claims`` with ``changes`` (``None`` removes a claim), signed like the
    server's own tokens unless ``kid`` or ``key`` say otherwise."""
    payload = {**claims, **changes}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(
        payload, key or settings.auth.keys[kid], algorithm="HS256", headers={"kid": kid}
    )


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer ys_not-a-known-api-token",
    ],
)
async def test_a_malformed_bearer_gets_401(
    http: httpx.AsyncClient, authorization: str
) -> None:
    # given an Authorization header that is not a usable bearer token
    # when a query is sent with it
    response = await post(http, VIEWER, {"authorization": authorization})
    # then 401, with the challenge and a coded error
    assert_unauthenticated(response)


async def test_a_resigned_token_of_a_live_session_is_accepted(
    http: httpx.AsyncClient, settings: Any, live_claims: dict[str, Any]
) -> None:
    # given the claims of a live session, signed again with the server's key
    # (the control of the tests below: each breaks one thing of this token)
    same = resign(settings, live_claims)
    # when it is used
    response = await post(http, VIEWER, bearer(same))
    # then the caller is signed in
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"isSignedIn": True}}}


async def test_an_expired_jwt_gets_401(
    http: httpx.AsyncClient, settings: Any, live_claims: dict[str, Any]
) -> None:
    # given a token of a live session that expired a minute ago
    now = datetime.now(UTC)
    expired = resign(
        settings,
        live_claims,
        iat=int((now - timedelta(minutes=20)).timestamp()),
        exp=int((now - timedelta(minutes=1)).timestamp()),
    )
    # when it is used
    response = await post(http, VIEWER, bearer(expired))
    # then 401, saying why
    assert_unauthenticated(response)
    assert "expired" in messages(response.json())


@pytest.mark.parametrize(
    "change",
    [
        "another key",
        "unknown kid",
        "alg none",
        "no exp",
        "no aud",
        "no iss",
        "no iat",
        "no sub",
        "wrong aud",
        "wrong iss",
    ],
)
async def test_a_jwt_that_is_not_ours_gets_401(
    http: httpx.AsyncClient, settings: Any, live_claims: dict[str, Any], change: str
) -> None:
    # given a token of a live session that fails one check
    claim = change.split()[-1]
    if change == "another key":
        bad = resign(settings, live_claims, key=b"o" * 40)
    elif change == "unknown kid":
        bad = resign(settings, live_claims, kid="k9", key=b"s" * 40)
    elif change == "alg none":
        bad = jwt.encode(live_claims, None, algorithm="none", headers={"kid": "k1"})
    elif change.startswith("no "):
        bad = resign(settings, live_claims, **{claim: None})
    else:
        bad = resign(settings, live_claims, **{claim: "someone-else"})
    # when it is used
    response = await post(http, VIEWER, bearer(bad))
    # then 401, for the token itself rather than for its session
    assert_unauthenticated(response)
    assert "session" not in messages(response.json())


async def test_a_jwt_of_a_session_that_does_not_exist_gets_401(
    http: httpx.AsyncClient, settings: Any, live_claims: dict[str, Any]
) -> None:
    # given a well-signed token naming a session that does not exist
    unknown = resign(settings, live_claims, sid="no-such-session")
    # when it is used
    response = await post(http, VIEWER, bearer(unknown))
    # then 401
    assert_unauthenticated(response)
    assert "session" in messages(response.json())


async def test_a_signed_in_caller_is_recognised(login: Any) -> None:
    # given a cadre signed in
    cadre: Client = await login("cadre_a1")
    # when they ask who they are
    response = await cadre.post(VIEWER, accept=GRAPHQL_RESPONSE)
    # then they are signed in
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"isSignedIn": True}}}


# -- health -----------------------------------------------------------------------


async def test_healthz(http: httpx.AsyncClient) -> None:
    # given a running app
    # when its liveness is asked for
    response = await http.get("/healthz")
    # then it is alive
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz(http: httpx.AsyncClient) -> None:
    # given a running app with its database and event bus
    # when its readiness is asked for
    response = await http.get("/readyz")
    # then both are reachable
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": True, "events": True}


# -- the operation log ------------------------------------------------------------


def operation_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "yunshang.operation"]


async def test_one_log_line_per_operation_without_personal_data(
    http: httpx.AsyncClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="yunshang.operation")
    # given a person signing in with their phone number
    variables = {"phone": PHONE, "password": PASSWORD}
    # when they sign in, then ask who they are
    login = await post(http, LOGIN, variables=variables)
    access = login.json()["data"]["authLogin"]["accessToken"]
    signed_in = {"authorization": f"Bearer {access}"}
    caplog.clear()
    viewer = await post(http, VIEWER, signed_in)
    assert viewer.status_code == 200
    lines = operation_lines(caplog)
    # then one line for the operation, naming it, the role and the outcome
    assert len(lines) == 1, lines
    assert "operation=Viewer" in lines[0]
    assert "role=CADRE" in lines[0]
    assert "outcome=ok" in lines[0]

    # and signing in logs one line with the role before sign-in and no phone number
    caplog.clear()
    await post(http, LOGIN, variables=variables)
    lines = operation_lines(caplog)
    assert len(lines) == 1, lines
    assert "operation=Login" in lines[0]
    assert "role=ANONYMOUS" in lines[0]
    assert "outcome=ok" in lines[0]
    assert PHONE not in lines[0]
    assert PASSWORD not in lines[0]


async def test_refused_requests_are_logged_once_with_their_outcome(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="yunshang.operation")
    # given an invalid document, a GET mutation, and a bad token
    # when each is sent
    await post(http, UNKNOWN_FIELD, ACCEPT_GRAPHQL)
    await http.get("/graphql", params={"query": LOGOUT})
    await post(http, VIEWER, {"authorization": "Bearer nope"})
    # then one line each, with what happened
    lines = operation_lines(caplog)
    assert len(lines) == 3, lines
    assert "outcome=invalid" in lines[0]
    assert "operation=Logout" in lines[1]
    assert "outcome=http_405" in lines[1]
    assert "outcome=http_401" in lines[2]
