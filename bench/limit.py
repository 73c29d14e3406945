"""The limit of the org-tree benchmark: the same rows and JSON, without GraphQL.

A plain Starlette endpoint that reads the tree below one unit straight through the
driver Tortoise uses (asyncpg for PostgreSQL, aiosqlite for SQLite), with the same
statements per level as the GraphQL path (the unit, then one statement for each
list level: subdistricts, communities, estates), and writes with orjson exactly
the JSON the GraphQL query of ``bench/org_tree.py`` answers. It reads the request
body the same way (``{"variables": {"id": <global id>}}``) so both parse a body.

    DATABASE_URL=sqlite:///tmp/x/bench.sqlite3 .venv/bin/python bench/limit.py

``bench/org_tree.py`` starts it as ``uvicorn bench.limit:app`` on the core of the
GraphQL worker.
"""

from __future__ import annotations

import base64
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiosqlite
import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["app", "read_tree"]

UNIT_COLUMNS = "id, name, code, level, kind, depth"
ESTATE_COLUMNS = "id, name, address, built_year"


class Reads(Protocol):
    async def unit(self, pk: int) -> Sequence[Any] | None: ...

    async def units_under(self, parents: list[int]) -> list[Sequence[Any]]: ...

    async def estates_of(self, units: list[int]) -> list[Sequence[Any]]: ...


class Reader(Protocol):
    def session(self) -> AbstractAsyncContextManager[Reads]: ...

    async def close(self) -> None: ...


class PostgresReads:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def unit(self, pk: int) -> Sequence[Any] | None:
        row: Sequence[Any] | None = await self.connection.fetchrow(
            f"SELECT {UNIT_COLUMNS} FROM org_unit WHERE id = $1", pk
        )
        return row

    async def units_under(self, parents: list[int]) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = await self.connection.fetch(
            f"SELECT parent_id, {UNIT_COLUMNS} FROM org_unit "
            "WHERE parent_id = ANY($1::int[]) ORDER BY id",
            parents,
        )
        return rows

    async def estates_of(self, units: list[int]) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = await self.connection.fetch(
            f"SELECT unit_id, {ESTATE_COLUMNS} FROM estate "
            "WHERE unit_id = ANY($1::int[]) ORDER BY id",
            units,
        )
        return rows


class PostgresReader:
    # One connection from the pool per request, returned with asyncpg's default
    # reset: what a careful hand-written endpoint does.

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str) -> PostgresReader:
        parts = urlsplit(url)
        pool = await asyncpg.create_pool(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            database=parts.path.lstrip("/") or "postgres",
            min_size=1,
            max_size=int(os.environ.get("YUNSHANG_DB_POOL_MAX", "10")),
        )
        return cls(pool)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Reads]:
        async with self.pool.acquire() as connection:
            yield PostgresReads(connection)

    async def close(self) -> None:
        await self.pool.close()


class SqliteReader:
    # One connection, as Tortoise keeps for SQLite.

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str) -> SqliteReader:
        path = url.removeprefix("sqlite://")
        connection = await aiosqlite.connect(path)
        await connection.execute("PRAGMA journal_mode=WAL")
        return cls(connection)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Reads]:
        yield self

    async def _many(self, sql: str, keys: list[int]) -> list[Sequence[Any]]:
        marks = ",".join("?" * len(keys))
        rows = await self.connection.execute_fetchall(sql.format(marks), keys)
        return list(rows)

    async def unit(self, pk: int) -> Sequence[Any] | None:
        rows = list(
            await self.connection.execute_fetchall(
                f"SELECT {UNIT_COLUMNS} FROM org_unit WHERE id = ?", (pk,)
            )
        )
        return rows[0] if rows else None

    async def units_under(self, parents: list[int]) -> list[Sequence[Any]]:
        return await self._many(
            f"SELECT parent_id, {UNIT_COLUMNS} FROM org_unit "
            "WHERE parent_id IN ({}) ORDER BY id",
            parents,
        )

    async def estates_of(self, units: list[int]) -> list[Sequence[Any]]:
        return await self._many(
            f"SELECT unit_id, {ESTATE_COLUMNS} FROM estate "
            "WHERE unit_id IN ({}) ORDER BY id",
            units,
        )

    async def close(self) -> None:
        await self.connection.close()


async def open_reader(url: str) -> Reader:
    if urlsplit(url).scheme in {"postgres", "postgresql", "asyncpg"}:
        return await PostgresReader.open(url)
    return await SqliteReader.open(url)


def _global_id(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _pk(global_id: str) -> int:
    padded = global_id + "=" * (-len(global_id) % 4)
    _, _, pk = base64.urlsafe_b64decode(padded).decode().partition(":")
    return int(pk)


def _unit(row: Sequence[Any], offset: int = 0) -> dict[str, Any]:
    # Keys in the order of the GraphQL selection: name code level kind depth.
    return {
        "name": row[offset + 1],
        "code": row[offset + 2],
        "level": row[offset + 3],
        "kind": row[offset + 4],
        "depth": row[offset + 5],
    }


async def read_tree(reader: Reader, pk: int) -> dict[str, Any] | None:
    """district → its children → theirs → their estates, one statement per level."""
    async with reader.session() as reads:
        root_row = await reads.unit(pk)
        if root_row is None:
            return None
        subdistrict_rows = await reads.units_under([pk])
        community_rows = await reads.units_under([r[1] for r in subdistrict_rows])
        estate_rows = await reads.estates_of([r[1] for r in community_rows])

    root = _unit(root_row)

    estates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for unit_id, estate_id, name, address, built_year in estate_rows:
        estates[unit_id].append(
            {
                "id": _global_id("Estate", estate_id),
                "name": name,
                "address": address,
                "builtYear": built_year,
                "__typename": "Estate",
            }
        )
    communities: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in community_rows:
        community = _unit(row, 1)
        community["estates"] = estates.get(row[1], [])
        communities[row[0]].append(community)
    children = []
    for row in subdistrict_rows:
        subdistrict = _unit(row, 1)
        subdistrict["children"] = communities.get(row[1], [])
        children.append(subdistrict)
    root["children"] = children
    return root


async def tree(request: Request) -> Response:
    reader: Reader = request.app.state.reader
    body = orjson.loads(await request.body())
    unit = await read_tree(reader, _pk(body["variables"]["id"]))
    return Response(
        orjson.dumps({"data": {"orgUnit": unit}}), media_type="application/json"
    )


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.reader = await open_reader(os.environ["DATABASE_URL"])
    try:
        yield
    finally:
        await app.state.reader.close()


app = Starlette(
    routes=[Route("/tree", tree, methods=["POST"]), Route("/healthz", healthz)],
    lifespan=lifespan,
)

if __name__ == "__main__":
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the limit, one worker.")
    parser.add_argument("--port", type=int, default=8812)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
