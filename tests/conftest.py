"""Fixtures shared by every test: one database per test session, emptied per test.

The suite runs on SQLite by default, and on PostgreSQL when ``DATABASE_URL`` points
at a server: then a database of its own is created for the session and dropped at
the end, so runs never see each other's data. The schema comes from the committed
migrations, which tests them on both databases.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models
from tortoise.migrations.api.migrate import migrate

from api.db import tortoise_config

BASE_URL = os.environ.get("DATABASE_URL", "")


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "asyncpg"}


async def _create_pg_database(url: str) -> str:
    parts = urlsplit(url)
    name = f"yunshang_test_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit((("postgresql",) + tuple(parts[1:2]) + ("/postgres", "", "")))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


async def _drop_pg_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(
            f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)'
        )
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgres" if _is_postgres(BASE_URL) else "sqlite"


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    if _is_postgres(BASE_URL):
        url = await _create_pg_database(BASE_URL)
        try:
            yield url
        finally:
            await _drop_pg_database(url)
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
