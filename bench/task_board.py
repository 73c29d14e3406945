"""The task board: statements and requests per second, and the live feed's latency.

1. Builds a subdistrict with 20 communities, a cadre in each and an official at the
   subdistrict, and tasks issued to all 20 (assignments in every state).
2. Statements: the board query (``taskBoard``: totals, every community, every child)
   in-process, at 5 and at 50 tasks; the count must not move.
3. Requests per second: one uvicorn worker (``bench/serve.py``) serving the board of
   20 communities × 50 tasks over HTTP, loaded by ``bench/loadgen.py``.
4. Feed latency: 200 websocket subscribers of the subdistrict's board; an
   assignment is accepted over HTTP and the time until each subscriber holds the
   updated entry is measured (p50, p99, max over rounds). Once on the embedded
   default (one worker, in-process events), once with Redis and two workers, the
   subscribers split between them and the change made on the first.

    .venv/bin/python bench/task_board.py
    .venv/bin/python bench/task_board.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/0

Ports 8150 to 8152 on the loopback are used.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import orjson
from tortoise import Tortoise
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from api.app import create_app
from api.events import LocalBus
from api.settings import load_settings
from bench.common import (
    JWT_KEYS,
    ROOT,
    bench_environment,
    migrated_database,
    throwaway_database,
)
from bench.loadgen import run_load
from models import OrgUnit, Person, RoleAssignment, Task, TaskAssignment
from models.enums import CommunityKind, Level, Role, TaskRequirement, TaskState
from permissions.caller import Caller, Grant
from resolvers.context import Context
from resolvers.files import LocalFileStore
from resolvers.notify import LogSender
from resolvers.passwords import hash_password
from resolvers.task import Move, move_assignment
from schema.app import build_schema
from schema.base import encode_id

HOST = "127.0.0.1"
PORTS = (8151, 8152)
PASSWORD = "bench-password-1"
COMMUNITIES = 20
BOARD = """
query Board($unitId: ID!) {
  taskBoard(unitId: $unitId) {
    unit { name }
    totals { total issued accepted submitted verified returned overdue
             averageSubmitHours averageVerifyHours completionRate }
    communities { unit { id name } total issued accepted submitted verified
                  returned overdue averageSubmitHours completionRate }
    children { unit { name } total verified }
  }
}
"""
FEED = """
subscription Feed($unitId: ID!) {
  taskBoardChanged(unitId: $unitId) {
    entry { unit { name } total issued accepted submitted verified }
    totals { total accepted }
  }
}
"""
ACCEPT = """
mutation Accept($id: ID!) {
  taskAssignmentAccept(id: $id) { errors { code } assignment { state } }
}
"""
LOGIN = """
mutation Login($phone: String!, $password: String!) {
  authLogin(phone: $phone, password: $password) { accessToken }
}
"""


# -- the data -----------------------------------------------------------------------


async def build(tasks: int) -> dict[str, Any]:
    """The subdistrict, its communities and people; ``tasks`` tasks to all."""
    district = await _unit("瓯海区", "B-330304", Level.DISTRICT, None)
    sub = await _unit("新桥街道", "B-330304002", Level.SUBDISTRICT, district)
    communities = [
        await _unit(f"第{n}社区", f"B-c{n}", Level.COMMUNITY, sub, CommunityKind.URBAN)
        for n in range(1, COMMUNITIES + 1)
    ]
    hashed = hash_password(PASSWORD)
    official = await Person.create(
        name="周丽华", phone="13800000001", password_hash=hashed
    )
    await _grant(official, Role.OFFICIAL, sub)
    cadres = []
    for n, community in enumerate(communities, start=1):
        cadre = await Person.create(
            name=f"书记{n}", phone=f"138100{n:05d}", password_hash=hashed
        )
        await _grant(cadre, Role.CADRE, community, "书记")
        cadres.append(cadre)
    await add_tasks(sub, communities, tasks, random.Random(1))
    return {
        "sub": sub,
        "communities": communities,
        "official": official,
        "cadres": cadres,
    }


async def _unit(
    name: str,
    code: str,
    level: Level,
    parent: OrgUnit | None,
    kind: CommunityKind | None = None,
) -> OrgUnit:
    unit = await OrgUnit.create(
        name=name,
        code=code,
        level=level,
        kind=kind,
        parent=parent,
        path="pending",
        depth=0 if parent is None else parent.depth + 1,
    )
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    await unit.save(update_fields=["path"])
    return unit


async def _grant(person: Person, role: Role, unit: OrgUnit, title: str = "") -> None:
    await RoleAssignment.create(
        person=person,
        role=role,
        unit=unit,
        unit_path=unit.path,
        title=title,
        starts_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


async def add_tasks(
    sub: OrgUnit, communities: list[OrgUnit], count: int, rng: random.Random
) -> None:
    now = datetime.now(UTC)
    states = list(TaskState)
    for n in range(count):
        issued = now - timedelta(days=rng.randint(1, 20))
        task = await Task.create(
            unit_id=sub.id,
            unit_path=sub.path,
            title=f"任务{n}",
            requirement=TaskRequirement.REQUIRED_TEXT,
            deadline=now + timedelta(days=rng.randint(-5, 30)),
            issued_at=issued,
            reminder_hours=[24],
        )
        rows = []
        for community in communities:
            state = rng.choice(states)
            submitted = state in (TaskState.SUBMITTED, TaskState.VERIFIED)
            rows.append(
                TaskAssignment(
                    task_id=task.id,
                    unit_id=community.id,
                    unit_path=community.path,
                    issuer_path=sub.path,
                    state=state,
                    deadline=task.deadline,
                    issued_at=issued,
                    updated_at=issued,
                    submit_seconds=rng.randint(3600, 86400 * 5) if submitted else None,
                    verify_seconds=rng.randint(600, 86400)
                    if state == TaskState.VERIFIED
                    else None,
                )
            )
        await TaskAssignment.bulk_create(rows)


# -- statements, in-process ---------------------------------------------------------


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.funcName.startswith("execute"):
            self.count += 1


@contextmanager
def counting() -> Iterator[_Seen]:
    logger = logging.getLogger("tortoise.db_client")
    seen = _Seen()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(seen)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield seen
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
        logger.propagate = propagate


async def statements_and_inprocess_rate(world: dict[str, Any]) -> dict[str, Any]:
    """Statements of the board at 5 and at 50 tasks; requests per second in the
    benchmark's own process (httpx's ASGI transport, so slower than over HTTP)."""
    app = create_app(load_settings(), manage_database=False)
    variables = {"unitId": encode_id("OrgUnit", world["sub"].id)}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        token = await _login(http, world["official"].phone)
        headers = {"authorization": f"Bearer {token}"}
        body = {"query": BOARD, "variables": variables}

        async def ask() -> int:
            with counting() as seen:
                response = await http.post("/graphql", json=body, headers=headers)
            assert "errors" not in response.json(), response.text
            return seen.count

        at_5 = await ask()
        await add_tasks(world["sub"], world["communities"], 45, random.Random(2))
        at_50 = await ask()
        total = (await http.post("/graphql", json=body, headers=headers)).json()
        started, done = time.perf_counter(), 0
        while time.perf_counter() - started < 5.0:
            await http.post("/graphql", json=body, headers=headers)
            done += 1
        rate = done / (time.perf_counter() - started)
    assignments = total["data"]["taskBoard"]["totals"]["total"]
    return {
        "statements_at_5_tasks": at_5,
        "statements_at_50_tasks": at_50,
        "assignments": assignments,
        "in_process_rps": round(rate, 1),
    }


async def _login(http: httpx.AsyncClient, phone: str) -> str:
    response = await http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"phone": phone, "password": PASSWORD}},
    )
    token: str = response.json()["data"]["authLogin"]["accessToken"]
    return token


async def fan_out_in_process(
    world: dict[str, Any], subscribers: int, rounds: int
) -> dict[str, Any]:
    """The server's own share: a move, then the feed of ``subscribers`` board
    subscriptions run by the schema in this process (no sockets, no clients)."""
    settings = load_settings()
    schema = build_schema(settings.limits)
    bus = LocalBus()
    sub = world["sub"]

    def context(caller: Caller) -> Context:
        return Context(
            bus=bus,
            auth=settings.auth,
            store=LocalFileStore(settings.data_dir / "files"),
            sender=LogSender(),
            caller=caller,
        )

    official = Caller(
        person_id=world["official"].id,
        grants=(Grant(Role.OFFICIAL, sub.id, sub.path),),
    )
    variables = {"unitId": encode_id("OrgUnit", sub.id)}
    streams = [
        await schema.subscribe(FEED, variables, context_value=context(official))
        for _ in range(subscribers)
    ]
    communities = {c.id: c for c in world["communities"]}
    cadres = dict(zip(communities, world["cadres"], strict=True))
    issued = await TaskAssignment.filter(state=TaskState.ISSUED).order_by("id")
    moves, fan_outs = [], []
    try:
        for assignment in issued[:rounds]:
            waits = [asyncio.ensure_future(anext(s)) for s in streams]
            await asyncio.sleep(0.05)
            community = communities[assignment.unit_id]
            cadre = Caller(
                person_id=cadres[community.id].id,
                grants=(Grant(Role.CADRE, community.id, community.path),),
            )
            started = time.perf_counter()
            await move_assignment(context(cadre), assignment.id, Move.ACCEPT)
            moved = time.perf_counter()
            results = await asyncio.wait_for(asyncio.gather(*waits), 30)
            moves.append(moved - started)
            fan_outs.append(time.perf_counter() - moved)
            assert not results[0].errors, results[0].errors
    finally:
        for stream in streams:
            await stream.aclose()
        await bus.close()
    return {
        "subscribers": subscribers,
        "rounds": len(fan_outs),
        "move_p50_ms": round(statistics.median(moves) * 1000, 1),
        "fan_out_p50_ms": round(statistics.median(fan_outs) * 1000, 1),
        "fan_out_max_ms": round(max(fan_outs) * 1000, 1),
        "per_subscriber_ms": round(statistics.median(fan_outs) * 1000 / subscribers, 3),
    }


# -- servers and subscribers --------------------------------------------------------


def _spawn(port: int, env: dict[str, str], data_dir: Path) -> subprocess.Popen[bytes]:
    with (data_dir / f"worker-{port}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "bench/serve.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def servers(
    count: int, database_url: str, data_dir: Path, redis_url: str | None
) -> AsyncIterator[list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH"}}
    env.update(
        DATABASE_URL=database_url,
        YUNSHANG_DATA_DIR=str(data_dir),
        YUNSHANG_ENV="production",
        YUNSHANG_JWT_KEYS=JWT_KEYS,
        YUNSHANG_WS_INIT_TIMEOUT_SECONDS="60",
    )
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    processes = [_spawn(port, env, data_dir) for port in PORTS[:count]]
    urls = [f"http://{HOST}:{port}" for port in PORTS[:count]]
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for url in urls:
                for _ in range(150):
                    try:
                        if (await client.get(f"{url}/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)
                else:
                    raise SystemExit(f"{url} did not start")
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)


async def _subscribe(url: str, token: str, unit_id: str) -> ClientConnection:
    ws = await connect(
        url.replace("http", "ws") + "/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=30,
        close_timeout=1,
        max_queue=64,
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await ws.send(orjson.dumps(init).decode())
    ack = orjson.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    message = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": FEED, "variables": {"unitId": unit_id}},
    }
    await ws.send(orjson.dumps(message).decode())
    return ws


async def _arrival(ws: ClientConnection, started: list[float]) -> float:
    message = orjson.loads(await ws.recv())
    assert message["type"] == "next", message
    return time.perf_counter() - started[0]


async def feed_latency(
    urls: list[str], world: dict[str, Any], subscribers: int, rounds: int
) -> dict[str, Any]:
    unit_id = encode_id("OrgUnit", world["sub"].id)
    async with httpx.AsyncClient(timeout=30) as http:
        official = await _login_at(http, urls[0], world["official"].phone)
        cadres = [await _login_at(http, urls[0], c.phone) for c in world["cadres"]]
        sockets = [
            await _subscribe(urls[n % len(urls)], official, unit_id)
            for n in range(subscribers)
        ]
        await asyncio.sleep(1.0)  # every subscription registered on its bus
        issued = [
            a["id"]
            for a in await TaskAssignment.filter(state=TaskState.ISSUED)
            .order_by("id")
            .values("id", "unit_id")
        ]
        latencies: list[float] = []
        for n in range(rounds):
            started = [0.0]
            waits = [asyncio.ensure_future(_arrival(ws, started)) for ws in sockets]
            await asyncio.sleep(0.05)
            assignment = encode_id("TaskAssignment", issued[n])
            row = await TaskAssignment.get(id=issued[n])
            cadre = cadres[[c.id for c in world["communities"]].index(row.unit_id)]
            started[0] = time.perf_counter()
            response = await http.post(
                f"{urls[0]}/graphql",
                json={"query": ACCEPT, "variables": {"id": assignment}},
                headers={"authorization": f"Bearer {cadre}"},
            )
            assert response.json()["data"]["taskAssignmentAccept"]["errors"] == []
            latencies.extend(await asyncio.wait_for(asyncio.gather(*waits), 30))
            await asyncio.sleep(0.2)
        for ws in sockets:
            await ws.close()
    ordered = sorted(latencies)
    return {
        "subscribers": subscribers,
        "workers": len(urls),
        "rounds": rounds,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def _login_at(http: httpx.AsyncClient, url: str, phone: str) -> str:
    response = await http.post(
        f"{url}/graphql",
        json={"query": LOGIN, "variables": {"phone": phone, "password": PASSWORD}},
    )
    token: str = response.json()["data"]["authLogin"]["accessToken"]
    return token


async def http_rate(url: str, world: dict[str, Any], seconds: float) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        token = await _login_at(http, url, world["official"].phone)
    body = orjson.dumps(
        {"query": BOARD, "variables": {"unitId": encode_id("OrgUnit", world["sub"].id)}}
    )
    return await run_load(
        url + "/graphql",
        body,
        connections=4,
        warmup=2,
        duration=seconds,
        headers={"Authorization": f"Bearer {token}"},
    )


# -- main -----------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with bench_environment("production", None) as folder:
        async with (
            throwaway_database(args.database_url, folder / "db") as url,
            migrated_database(url),
        ):
            os.environ["DATABASE_URL"] = url
            world = await build(5)
            results["statements"] = await statements_and_inprocess_rate(world)
            results["fan_out_in_process"] = await fan_out_in_process(
                world, args.subscribers, args.rounds
            )
            async with servers(1, url, folder, None) as urls:
                results["http"] = await http_rate(urls[0], world, args.seconds)
                results["embedded_one_subscriber"] = await feed_latency(
                    urls, world, 1, args.rounds
                )
                results["embedded"] = await feed_latency(
                    urls, world, args.subscribers, args.rounds
                )
            if args.redis_url:
                async with servers(2, url, folder, args.redis_url) as urls:
                    results["redis_two_workers"] = await feed_latency(
                        urls, world, args.subscribers, args.rounds
                    )
            await Tortoise.close_connections()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
