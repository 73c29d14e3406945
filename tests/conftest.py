"""Fixtures shared by every test: one database per test session, emptied per test.

The suite runs on SQLite by default, and on PostgreSQL when ``DATABASE_URL`` points
at a server: then a database of its own is created for the session and dropped at
the end, so runs never see each other's data. The schema comes from the committed
migrations, which tests them on both databases.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models
from tortoise.migrations.api.migrate import migrate

from api.db import is_postgres, throwaway_postgres, tortoise_config
from resolvers.passwords import configure_hasher

# Argon2 at its production cost is a tenth of a second per sign-in, by design; the
# suite signs in thousands of times, so it hashes with the cheapest parameters.
configure_hasher(time_cost=1, memory_cost=1024)

BASE_URL = os.environ.get("DATABASE_URL", "")


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgres" if is_postgres(BASE_URL) else "sqlite"


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    if is_postgres(BASE_URL):
        async with throwaway_postgres(BASE_URL, "yunshang_test") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="yunshang-test-") as folder:
        yield f"sqlite://{Path(folder) / 'test.sqlite3'}"


@pytest_asyncio.fixture(scope="session")
async def migrated(database_url: str) -> AsyncIterator[str]:
    config = tortoise_config(database_url)
    await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        yield database_url
    finally:
        await Tortoise.close_connections()


@pytest_asyncio.fixture
async def db(migrated: str) -> AsyncIterator[str]:
    """An empty, migrated database for one test."""
    await truncate_all_models()
    yield migrated


# -- the API ----------------------------------------------------------------------

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from api.app import create_app  # noqa: E402
from api.events import LocalBus  # noqa: E402
from api.settings import load_settings  # noqa: E402
from resolvers.notify import LogSender  # noqa: E402
from tests.world import PASSWORD, World, build_world  # noqa: E402


class Client:
    """A GraphQL client over the ASGI app, signed in as one person or anonymous."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        if self.token:
            headers.setdefault("authorization", f"Bearer {self.token}")
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )

    async def query(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables)
        body: dict[str, Any] = response.json()
        return body


LOGIN = """
mutation Login($phone: String!, $password: String!) {
  authLogin(phone: $phone, password: $password) {
    accessToken refreshToken expiresAt errors { field message code }
  }
}
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("YUNSHANG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("YUNSHANG_JWT_KEYS", "k1:" + "s" * 40)
    monkeypatch.setenv("YUNSHANG_ID_KEY", "i" * 40)
    return load_settings()


@pytest.fixture
def sender() -> LogSender:
    return LogSender()


@pytest.fixture
def bus() -> LocalBus:
    return LocalBus()


@pytest_asyncio.fixture
async def app(db: str, settings: Any, bus: LocalBus, sender: LogSender) -> Any:
    return create_app(settings, manage_database=False, bus=bus, sender=sender)


@pytest_asyncio.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest_asyncio.fixture
async def world(db: str) -> World:
    return await build_world()


@pytest_asyncio.fixture
async def login(http: httpx.AsyncClient, world: World) -> Callable[[str], Any]:
    """``await login("cadre_a1")`` → a Client signed in as that person of the world."""

    async def sign_in(key: str) -> Client:
        phone = world.people[key].phone
        response = await Client(http).query(
            LOGIN, {"phone": phone, "password": PASSWORD}
        )
        token = response["data"]["authLogin"]["accessToken"]
        assert token, response
        return Client(http, token)

    return sign_in


@pytest.fixture
def anonymous(http: httpx.AsyncClient) -> Client:
    return Client(http)


# -- SQL statements ---------------------------------------------------------------

import logging  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402


class _Statements(logging.Handler):
    """Tortoise's clients log each statement from their ``execute_*`` methods."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.funcName.startswith("execute"):
            args = record.args
            self.seen.append(
                str(args[0] if isinstance(args, tuple) and args else record.msg)
            )


@contextmanager
def _counting() -> Iterator[list[str]]:
    logger = logging.getLogger("tortoise.db_client")
    handler = _Statements()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler.seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture
def statements() -> Callable[[], Any]:
    """``with statements() as seen:`` collects the SQL sent while the block runs."""
    return _counting
