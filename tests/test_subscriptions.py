"""Subscriptions over a real websocket speaking graphql-transport-ws.

The app runs under uvicorn inside the test's own event loop, so it shares the
session's Tortoise connections; the client is the ``websockets`` library, and
mutations go over HTTP to the same server. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

import resolvers.live
from api.app import create_app
from api.events import LocalBus
from api.settings import load_settings
from resolvers.notify import LogSender
from schema.base import encode_id
from tests.world import PASSWORD, World

PROTOCOL = "graphql-transport-ws"
TIMEOUT = 5.0  # the bound on anything that should happen
QUIET = 0.5  # how long "nothing arrives" is watched for

LOGIN = """
mutation Login($phone: String!, $password: String!) {
  authLogin(phone: $phone, password: $password) {
    accessToken errors { code }
  }
}
"""
LOGOUT = "mutation { authLogout { ok } }"
PERSON_CREATE = """
mutation Create($input: PersonCreateInput!) {
  personCreate(input: $input) { errors { field code } person { id name } }
}
"""
ORG_CHANGES = """
subscription Changes($unitId: ID!) {
  orgChanges(unitId: $unitId) { kind subjectType subjectId at unit { name } }
}
"""

_phones = itertools.count(1)


@dataclass
class Live:
    """A running server: its URLs, its bus, and HTTP helpers."""

    http_url: str
    ws_url: str
    bus: LocalBus
    world: World

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str = ""
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.http_url, timeout=TIMEOUT) as http:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers=headers,
            )
        body: dict[str, Any] = response.json()
        return body

    async def token(self, key: str) -> str:
        """An access token of ``key`` in the world, from ``authLogin``."""
        phone = self.world.people[key].phone
        body = await self.post(LOGIN, {"phone": phone, "password": PASSWORD})
        token: str = body["data"]["authLogin"]["accessToken"]
        assert token, body
        return token

    async def create_person(self, token: str, unit_key: str) -> str:
        """A new resident at ``unit_key``; its global id."""
        body = await self.post(
            PERSON_CREATE,
            {
                "input": {
                    "name": "新居民",
                    "phone": f"137{next(_phones):08d}",
                    "role": "RESIDENT",
                    "unitId": unit_id(self.world, unit_key),
                }
            },
            token,
        )
        result = body["data"]["personCreate"]
        assert result["errors"] == [], body
        person_id: str = result["person"]["id"]
        return person_id

    async def subscribers(self, count: int) -> None:
        """Wait until exactly ``count`` subscriptions are listening on the bus."""
        await until(lambda: self.bus.subscriber_count("org") == count)


async def until(check: Callable[[], bool], seconds: float = TIMEOUT) -> None:
    """Wait, bounded, until ``check()`` holds."""
    async with asyncio.timeout(seconds):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)


def unit_id(world: World, key: str) -> str:
    return encode_id("OrgUnit", world.units[key].id)


class Socket:
    """The client half of graphql-transport-ws over one websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def receive(self, seconds: float = TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            message: dict[str, Any] = orjson.loads(await self.ws.recv())
        return message

    async def init(self, token: str | None = None, **payload: Any) -> dict[str, Any]:
        if token is not None:
            payload["authorization"] = f"Bearer {token}"
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(
        self, operation_id: str, unit: str, query: str = ORG_CHANGES
    ) -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": {"unitId": unit}},
            }
        )

    async def nothing_for(self, seconds: float = QUIET) -> None:
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected no message, got {message}")

    async def closed(self, seconds: float = TIMEOUT) -> tuple[int | None, str | None]:
        """Wait for the server to close the socket; its code and reason."""
        async with asyncio.timeout(seconds):
            try:
                while True:
                    message = await self.ws.recv()
                    raise AssertionError(f"expected a close, got {message!r}")
            except ConnectionClosed:
                pass
        return self.ws.close_code, self.ws.close_reason


Serve = Callable[..., Awaitable[Live]]


@pytest_asyncio.fixture
async def serve(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Serve]:
    """``await serve(YUNSHANG_X="1")`` → the app under uvicorn, settings from env."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None], LocalBus]] = []

    async def start(**env: str) -> Live:
        monkeypatch.setenv("YUNSHANG_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("YUNSHANG_JWT_KEYS", "k1:" + "s" * 40)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        bus = LocalBus()
        app = create_app(settings, manage_database=False, bus=bus, sender=LogSender())
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="on",
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        running.append((server, task, bus))
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise AssertionError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        return Live(
            f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql", bus, world
        )

    try:
        yield start
    finally:
        for server, task, bus in running:
            server.should_exit = True
            await asyncio.wait_for(task, TIMEOUT)
            await bus.close()


@pytest_asyncio.fixture
async def live(serve: Serve) -> Live:
    return await serve()


Open = Callable[..., Awaitable[Socket]]


@pytest_asyncio.fixture
async def open_socket() -> AsyncIterator[Open]:
    """``await open_socket(url)`` → a connected graphql-transport-ws socket."""
    sockets: list[ClientConnection] = []

    async def start(url: str, protocol: str = PROTOCOL) -> Socket:
        ws = await connect(
            url,
            subprotocols=[Subprotocol(protocol)],
            open_timeout=TIMEOUT,
            close_timeout=1,
        )
        sockets.append(ws)
        return Socket(ws)

    try:
        yield start
    finally:
        for ws in sockets:
            await ws.close()


def codes(message: dict[str, Any]) -> list[str]:
    """The error codes of an ``error`` message or of a ``next`` carrying errors."""
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload.get("errors") or []
    return [error.get("extensions", {}).get("code") for error in errors]


# -- delivery and jurisdiction ------------------------------------------------------


async def test_connection_ack_and_person_created_event(
    live: Live, open_socket: Open
) -> None:
    token = await live.token("official_a")
    socket = await open_socket(live.ws_url)
    ack = await socket.init(token)
    assert ack["type"] == "connection_ack"
    assert socket.ws.subprotocol == PROTOCOL

    await socket.subscribe("1", unit_id(live.world, "A"))
    await live.subscribers(1)
    person_id = await live.create_person(token, "A1")

    message = await socket.receive()
    assert message["type"] == "next", message
    assert message["id"] == "1"
    change = message["payload"]["data"]["orgChanges"]
    assert change["kind"] == "PERSON_CREATED"
    assert change["subjectType"] == "Person"
    assert change["subjectId"] == person_id
    assert change["unit"] == {"name": "甲一社区"}
    assert "errors" not in message["payload"]

    await socket.send({"id": "1", "type": "complete"})
    await live.subscribers(0)


async def test_events_stay_inside_each_jurisdiction(
    live: Live, open_socket: Open
) -> None:
    official_a = await live.token("official_a")
    official_b = await live.token("official_b")
    admin_socket = await open_socket(live.ws_url)
    assert (await admin_socket.init(await live.token("admin")))[
        "type"
    ] == "connection_ack"
    b_socket = await open_socket(live.ws_url)
    assert (await b_socket.init(official_b))["type"] == "connection_ack"

    await admin_socket.subscribe("district", unit_id(live.world, "district"))
    await b_socket.subscribe("b", unit_id(live.world, "B"))
    await live.subscribers(2)

    in_a = await live.create_person(official_a, "A1")
    message = await admin_socket.receive()
    assert message["payload"]["data"]["orgChanges"]["subjectId"] == in_a
    await b_socket.nothing_for()

    in_b = await live.create_person(official_b, "B1")
    for socket in (admin_socket, b_socket):
        message = await socket.receive()
        change = message["payload"]["data"]["orgChanges"]
        assert change["subjectId"] == in_b
        assert change["unit"] == {"name": "乙一社区"}


async def test_a_unit_outside_the_jurisdiction_is_not_found(
    live: Live, open_socket: Open
) -> None:
    socket = await open_socket(live.ws_url)
    await socket.init(await live.token("official_b"))
    await socket.subscribe("1", unit_id(live.world, "A"))

    message = await socket.receive()
    assert message["type"] in {"next", "error"}, message
    assert codes(message) == ["NOT_FOUND"]
    if message["type"] == "next":
        assert message["payload"]["data"] is None
        assert (await socket.receive())["type"] == "complete"
    assert live.bus.subscriber_count("org") == 0


@pytest.mark.parametrize(
    ("key", "code"), [("resident_a1", "FORBIDDEN"), (None, "UNAUTHENTICATED")]
)
async def test_only_staff_may_subscribe(
    live: Live, open_socket: Open, key: str | None, code: str
) -> None:
    socket = await open_socket(live.ws_url)
    token = await live.token(key) if key else None
    assert (await socket.init(token))["type"] == "connection_ack"
    await socket.subscribe("1", unit_id(live.world, "A1"))

    message = await socket.receive()
    assert message["type"] in {"next", "error"}, message
    assert codes(message) == [code]
    assert live.bus.subscriber_count("org") == 0


# -- the connection -----------------------------------------------------------------


async def test_an_invalid_bearer_is_rejected_with_4403(
    live: Live, open_socket: Open
) -> None:
    socket = await open_socket(live.ws_url)
    await socket.send(
        {"type": "connection_init", "payload": {"authorization": "Bearer not-a-jwt"}}
    )
    # strawberry closes with 4403 when on_ws_connect raises ConnectionRejectionError.
    assert await socket.closed() == (4403, "Forbidden")


async def test_a_malformed_authorization_is_rejected_with_4403(
    live: Live, open_socket: Open
) -> None:
    socket = await open_socket(live.ws_url)
    token = await live.token("official_a")
    await socket.send(
        {"type": "connection_init", "payload": {"authorization": f"Token {token}"}}
    )
    assert (await socket.closed())[0] == 4403


async def test_the_legacy_graphql_ws_protocol_is_refused(live: Live) -> None:
    try:
        ws = await connect(
            live.ws_url,
            subprotocols=[Subprotocol("graphql-ws")],
            open_timeout=TIMEOUT,
            close_timeout=1,
        )
    except InvalidHandshake:
        return  # not accepted at all: refused
    try:
        assert ws.subprotocol is None
        await Socket(ws).closed()
        assert ws.close_code == 4406
    finally:
        await ws.close()


async def test_subscribing_before_init_is_unauthorized(
    live: Live, open_socket: Open
) -> None:
    socket = await open_socket(live.ws_url)
    await socket.subscribe("1", unit_id(live.world, "A"))
    assert (await socket.closed())[0] == 4401


async def test_subscriptions_per_connection_are_bounded(
    serve: Serve, open_socket: Open
) -> None:
    live = await serve(YUNSHANG_WS_MAX_SUBSCRIPTIONS="2")
    token = await live.token("official_a")
    socket = await open_socket(live.ws_url)
    await socket.init(token)
    await socket.subscribe("1", unit_id(live.world, "A"))
    await socket.subscribe("2", unit_id(live.world, "A1"))
    await live.subscribers(2)

    await socket.subscribe("3", unit_id(live.world, "A2"))
    message = await socket.receive()
    assert message["type"] == "error", message
    assert message["id"] == "3"
    assert "limit" in message["payload"][0]["message"].lower()

    # The first two still deliver; the refused one never does.
    await live.create_person(token, "A1")
    received = {(await socket.receive())["id"] for _ in range(2)}
    assert received == {"1", "2"}
    await socket.nothing_for()


async def test_the_connection_init_timeout_closes_an_idle_socket(
    serve: Serve, open_socket: Open
) -> None:
    live = await serve(YUNSHANG_WS_INIT_TIMEOUT_SECONDS="1")
    socket = await open_socket(live.ws_url)
    code, _ = await socket.closed(seconds=3)
    assert code == 4408


# -- expiry and revocation ----------------------------------------------------------


async def test_the_socket_closes_with_4401_when_the_token_expires(
    serve: Serve, open_socket: Open, caplog: pytest.LogCaptureFixture
) -> None:
    live = await serve(YUNSHANG_ACCESS_TTL_SECONDS="2")
    token = await live.token("official_a")
    socket = await open_socket(live.ws_url)
    assert (await socket.init(token))["type"] == "connection_ack"
    # Two streams end at the same moment: the socket is closed once, cleanly.
    await socket.subscribe("1", unit_id(live.world, "A"))
    await socket.subscribe("2", unit_id(live.world, "A1"))
    await live.subscribers(2)

    started = asyncio.get_running_loop().time()
    code, reason = await socket.closed(seconds=4)
    assert (code, reason) == (4401, "Unauthorized")
    assert asyncio.get_running_loop().time() - started < 3.5
    await live.subscribers(0)
    failures = [r for r in caplog.records if r.name.startswith("strawberry.ws")]
    assert failures == []


async def test_the_socket_closes_with_4401_after_logout(
    live: Live, open_socket: Open, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolvers.live, "RECHECK_SECONDS", 0.2)
    token = await live.token("official_a")
    socket = await open_socket(live.ws_url)
    await socket.init(token)
    await socket.subscribe("1", unit_id(live.world, "A"))
    await live.subscribers(1)
    await socket.nothing_for(0.4)  # still live across a few rechecks

    body = await live.post(LOGOUT, token=token)
    assert body["data"]["authLogout"]["ok"] is True, body
    code, _ = await socket.closed(seconds=2)
    assert code == 4401
