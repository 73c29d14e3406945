"""Tortoise configuration for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = [
    "TORTOISE_ORM",
    "default_database_url",
    "is_postgres",
    "keep_session",
    "throwaway_postgres",
    "tortoise_config",
]


POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "asyncpg"})


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in POSTGRES_SCHEMES


@asynccontextmanager
async def throwaway_postgres(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the server of ``server_url``, dropped on exit.

    For the test suite and the benchmarks, so that runs never see each other's data.
    """
    import asyncpg  # a worker on SQLite never loads the driver

    parts = urlsplit(server_url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(admin, timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        connection = await asyncpg.connect(admin, timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def default_database_url(data_dir: Path) -> str:
    return f"sqlite://{data_dir / 'yunshang.sqlite3'}"


async def keep_session(connection: Any) -> None:
    """Return a connection to the pool without asyncpg's reset statement.

    asyncpg sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` each time a connection goes back to the pool: a round trip per
    statement through Tortoise, which checks a connection out for each one. The
    platform takes no advisory locks, keeps no cursors open, never LISTENs and
    sets no session settings, so there is nothing to undo; asyncpg still resets
    its own side (listeners) and rolls back a transaction left open.
    """
    return


def _connection(url: str, pool_min: int, pool_max: int) -> dict[str, Any] | str:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "asyncpg"}:
        return url
    options = dict(parse_qsl(parts.query))
    return {
        "engine": "tortoise.backends.asyncpg",
        "credentials": {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": parts.username or "postgres",
            "password": parts.password or "",
            "database": parts.path.lstrip("/") or "postgres",
            "minsize": int(options.get("minsize", pool_min)),
            "maxsize": int(options.get("maxsize", pool_max)),
            "reset": keep_session,
        },
    }


def tortoise_config(url: str, pool_min: int = 1, pool_max: int = 10) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(url, pool_min, pool_max)},
        "apps": {
            "models": {
                "models": ["models"],
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For the ``tortoise`` command line (``[tool.tortoise]`` in pyproject.toml).
TORTOISE_ORM = tortoise_config(
    os.environ.get("DATABASE_URL")
    or default_database_url(Path(os.environ.get("YUNSHANG_DATA_DIR", "data")))
)
