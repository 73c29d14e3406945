"""The org-tree request in-process: CPU per request, and where it goes.

No server, no load generator: the app is called as ASGI directly, one request
at a time, so the figure is the worker's own CPU per request (parsing the body,
executing, writing the JSON), less uvicorn's share. Quicker to rerun than
``bench/org_tree.py`` while changing the read path, and much less sensitive to
other work on the machine (it reads the process's CPU time, not the wall clock).

    .venv/bin/python bench/profile_tree.py --requests 300
    .venv/bin/python bench/profile_tree.py --cprofile 100
    .venv/bin/python bench/profile_tree.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

``--compare`` also answers with ``YUNSHANG_FAST_EXECUTION=0`` and checks that the
two bodies are the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import ctypes
import gc
import io
import os
import pstats
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from api.app import create_app
from api.demo import load_demo
from api.settings import load_settings
from bench.common import bench_environment, migrated_database, throwaway_database
from bench.limit import app as limit_app
from bench.org_tree import QUERY
from models import OrgUnit
from models.enums import Level
from schema.base import encode_id

__all__ = ["main"]


class Call:
    """One POST /graphql straight into the ASGI app, the body collected."""

    def __init__(self, app: Any, body: bytes, path: str = "/graphql") -> None:
        self.app = app
        self.body = body
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"bench"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }

    async def __call__(self) -> bytes:
        chunks: list[bytes] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(dict(self.scope), receive, send)
        return b"".join(chunks)


async def _run(args: argparse.Namespace) -> None:
    with bench_environment("production") as folder:
        async with (
            throwaway_database(args.database_url, folder / "db") as database,
            migrated_database(database),
        ):
            await load_demo("district")
            district = await OrgUnit.get(level=Level.DISTRICT)
            body = orjson.dumps(
                {
                    "query": QUERY,
                    "variables": {"id": encode_id("OrgUnit", district.id)},
                    "operationName": "OrgTree",
                }
            )
            settings = load_settings()
            app = create_app(settings, manage_database=False)
            if args.limit:
                os.environ["DATABASE_URL"] = database
                app, path = limit_app, "/tree"
            else:
                path = "/graphql"
            async with app.router.lifespan_context(app):
                call = Call(app, body, path)
                answer = await call()
                if b'"errors"' in answer:
                    raise SystemExit(answer[:1000].decode())
                print(f"{len(answer)} bytes", flush=True)
                if args.compare and not args.limit:
                    limits = replace(settings.limits, fast_execution=False)
                    plain = create_app(
                        replace(settings, limits=limits), manage_database=False
                    )
                    other = await Call(plain, body)()
                    print("same bytes as the normal path:", other == answer)
                for _ in range(20):
                    await call()
                if args.callgrind:
                    await _instructions_of(
                        call, args.requests, args.concurrency, args.callgrind
                    )
                    return
                times = []
                for _ in range(args.rounds):
                    started = time.process_time()
                    await _calls(call, args.requests, args.concurrency)
                    spent = time.process_time() - started
                    times.append(1000 * spent / args.requests)
                rounds = ", ".join(f"{t:.2f}" for t in times)
                print(
                    f"CPU ms per request: lowest {min(times):.2f}, "
                    f"median {statistics.median(times):.2f} (rounds {rounds})"
                )
                if args.cprofile:
                    profile = cProfile.Profile()
                    gc.collect()
                    profile.enable()
                    for _ in range(args.cprofile):
                        await call()
                    profile.disable()
                    text = io.StringIO()
                    stats = pstats.Stats(profile, stream=text)
                    stats.sort_stats(args.sort).print_stats(args.top)
                    print(text.getvalue())


async def _calls(call: Call, requests: int, concurrency: int) -> None:
    """``requests`` calls, ``concurrency`` of them in flight at a time."""
    if concurrency == 1:
        for _ in range(requests):
            await call()
        return
    for _ in range(0, requests, concurrency):
        await asyncio.gather(*(call() for _ in range(concurrency)))


async def _instructions_of(
    call: Call, requests: int, concurrency: int, library: str
) -> None:
    marks = ctypes.CDLL(library)
    gc.collect()
    marks.cg_start()
    await _calls(call, requests, concurrency)
    marks.cg_stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server; else SQLite")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="requests in flight at a time"
    )
    parser.add_argument(
        "--limit", action="store_true", help="measure the limit (bench/limit.py)"
    )
    parser.add_argument(
        "--callgrind",
        metavar="LIBRARY",
        help="under valgrind --tool=callgrind --instr-atstart=no: instrument only "
        "the measured requests, through a library with cg_start() and cg_stop()",
    )
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000 or not 1 <= args.rounds <= 50:
        raise SystemExit("1 to 5000 requests, 1 to 50 rounds")
    asyncio.run(_run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
