"""Two worker processes share PostgreSQL and Redis: an event crosses between them.

A subscriber on worker 1 must see a change made through worker 2, which only the
Redis bus can carry. Runs when both ``DATABASE_URL`` (PostgreSQL) and
``REDIS_URL`` are set, as in CI; skipped otherwise. The test makes a database of
its own and drops it, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from api.db import is_postgres, throwaway_postgres
from schema.base import encode_id
from tests.world import PASSWORD

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not is_postgres(DATABASE_URL) or not REDIS_URL,
    reason="two workers need DATABASE_URL (PostgreSQL) and REDIS_URL",
)

# Load the test world into the migrated database, in a process of its own
# (Tortoise's state is process-wide); print what the test needs to know.
LOAD_WORLD = """
import asyncio, sys
import orjson
from tortoise import Tortoise
from api.db import tortoise_config
from tests.world import build_world

async def main(url):
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        world = await build_world()
    finally:
        await Tortoise.close_connections()
    units = {key: unit.id for key, unit in world.units.items()}
    phones = {key: person.phone for key, person in world.people.items()}
    sys.stdout.write(orjson.dumps({"units": units, "phones": phones}).decode())

asyncio.run(main(sys.argv[1]))
"""

LOGIN = """
mutation Login($phone: String!, $password: String!) {
  authLogin(phone: $phone, password: $password) { accessToken errors { code } }
}
"""
PERSON_CREATE = """
mutation Create($input: PersonCreateInput!) {
  personCreate(input: $input) { errors { field code } person { id } }
}
"""
ORG_CHANGES = """
subscription Changes($unitId: ID!) {
  orgChanges(unitId: $unitId) { kind subjectType subjectId unit { name } }
}
"""


def _database() -> Any:
    return throwaway_postgres(DATABASE_URL, "yunshang_workers")


async def _run(env: dict[str, str], *args: str, seconds: float = 120) -> bytes:
    """Run ``python *args`` in the project; its standard output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, (args, err.decode(errors="replace"))
    return out


async def _prepare(url: str, env: dict[str, str]) -> dict[str, Any]:
    """Migrate with the command line, as a deployment does; load the world."""
    await _run(env, "-m", "api", "migrate")
    world: dict[str, Any] = orjson.loads(await _run(env, "-c", LOAD_WORLD, url))
    return world


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Worker:
    """One ``uvicorn api.asgi:app`` process, its output kept in a file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.port = _free_port()
        self.log_path = log_dir / f"{name}.log"
        self.log: IO[bytes] | None = None
        self.process: asyncio.subprocess.Process | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def start(self) -> None:
        self.log = self.log_path.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "api.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=asyncio.subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self, seconds: float = 60) -> None:
        assert self.process is not None
        async with httpx.AsyncClient(timeout=2) as http:
            try:
                async with asyncio.timeout(seconds):
                    while True:
                        if self.process.returncode is not None:
                            raise AssertionError(
                                f"{self.name} exited:\n{self.output()}"
                            )
                        with contextlib.suppress(httpx.TransportError):
                            response = await http.get(f"{self.http_url}/readyz")
                            if response.status_code == 200:
                                return
                        await asyncio.sleep(0.1)
            except TimeoutError:
                raise AssertionError(
                    f"{self.name} not ready in {seconds} s:\n{self.output()}"
                ) from None

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.log is not None:
            self.log.close()


async def _post(
    url: str, query: str, variables: dict[str, Any], token: str = ""
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.post(
            f"{url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
        )
    body: dict[str, Any] = response.json()
    return body


async def _create_person(url: str, token: str, unit_id: str) -> str:
    variables = {
        "input": {
            "name": "跨进程居民",
            "phone": f"136{uuid.uuid4().int % 10**8:08d}",
            "role": "RESIDENT",
            "unitId": unit_id,
        }
    }
    body = await _post(url, PERSON_CREATE, variables, token)
    result = body["data"]["personCreate"]
    assert result["errors"] == [], body
    person_id: str = result["person"]["id"]
    return person_id


async def _send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def _receive(ws: ClientConnection, seconds: float) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        message: dict[str, Any] = orjson.loads(await ws.recv())
    return message


async def test_an_event_from_worker_2_reaches_a_subscriber_on_worker_1(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "YUNSHANG_JWT_KEYS": "k1:" + uuid.uuid4().hex + uuid.uuid4().hex,
        "YUNSHANG_DATA_DIR": str(tmp_path / "data"),
        "YUNSHANG_ENV": "development",
        "PYTHONPATH": str(ROOT),
    }
    async with _database() as url:
        env["DATABASE_URL"] = url
        world = await _prepare(url, env)
        workers = [Worker(f"worker{n}", env, tmp_path) for n in (1, 2)]
        try:
            for worker in workers:
                await worker.start()
            for worker in workers:
                await worker.ready()
            first, second = workers

            phone = world["phones"]["official_a"]
            login = await _post(
                second.http_url, LOGIN, {"phone": phone, "password": PASSWORD}
            )
            token = login["data"]["authLogin"]["accessToken"]
            assert token, login
            a = encode_id("OrgUnit", world["units"]["A"])
            a1 = encode_id("OrgUnit", world["units"]["A1"])

            async with connect(
                first.ws_url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                open_timeout=5,
                close_timeout=2,
            ) as ws:
                init = {"authorization": f"Bearer {token}"}
                await _send(ws, {"type": "connection_init", "payload": init})
                assert (await _receive(ws, 5))["type"] == "connection_ack"
                subscribe = {"query": ORG_CHANGES, "variables": {"unitId": a}}
                await _send(ws, {"id": "1", "type": "subscribe", "payload": subscribe})

                # The subscription starts listening a moment after `subscribe`
                # (there is no ack for it): create people through worker 2 until
                # one is seen on worker 1, skipping events of other runs that
                # share this Redis.
                created: set[str] = set()
                change: dict[str, Any] | None = None
                async with asyncio.timeout(15):
                    while change is None:
                        created.add(await _create_person(second.http_url, token, a1))
                        with contextlib.suppress(TimeoutError):
                            while change is None:
                                message = await _receive(ws, 1)
                                assert message["type"] == "next", message
                                found = message["payload"]["data"]["orgChanges"]
                                if found["subjectId"] in created:
                                    change = found

                assert change["kind"] == "PERSON_CREATED"
                assert change["subjectType"] == "Person"
                assert change["unit"] == {"name": "甲一社区"}
        finally:
            for worker in workers:
                await worker.stop()
