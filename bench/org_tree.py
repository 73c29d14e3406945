"""The org-tree read benchmark: one GraphQL worker against the limit, alternating.

1. Creates a throwaway database (a SQLite file in a temporary folder, or a
   database of its own on the PostgreSQL server of ``--database-url``), applies
   the migrations and loads the demo district (``api.demo.load_demo("district")``).
2. Counts the SQL statements of one request in-process (the hook of
   ``bench/statements.py``), with the same production settings as the worker.
3. Starts one uvicorn worker serving ``create_app()`` (``bench/serve.py``) and one
   serving the limit (``bench/limit.py``: the same rows through the driver, the
   same JSON through orjson), both pinned to core 0 with ``taskset -c 0``.
4. Checks once that both answer the same data (parsed JSON), then loads them in
   turn from core 1 (``taskset -c 1``: wrk when installed, else
   ``bench/loadgen.py``), a warm-up then a bounded run each, for a few rounds;
   the worker's resident memory is read from ``/proc/<pid>/status`` idle after
   start-up and during and after its load.
5. Prints the figures as Markdown tables, stops both workers, drops the database.

    .venv/bin/python bench/org_tree.py
    .venv/bin/python bench/org_tree.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The query asks for district → 13 subdistricts → about 250 communities → their
estates, five leaf fields on each level. Only 127.0.0.1 is ever loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
import orjson

from api.app import create_app
from api.demo import load_demo
from api.settings import load_settings
from bench.common import (
    ID_KEY,
    JWT_KEYS,
    ROOT,
    bench_environment,
    is_postgres,
    migrated_database,
    throwaway_database,
)
from bench.statements import count_statements
from models import Estate, OrgUnit
from models.enums import Level
from schema.base import encode_id

__all__ = ["QUERY", "main"]

QUERY = """query OrgTree($id: ID!) {
  orgUnit(id: $id) {
    name code level kind depth
    children {
      name code level kind depth
      children {
        name code level kind depth
        estates { id name address builtYear __typename }
      }
    }
  }
}"""

HOST = "127.0.0.1"
GRAPHQL, LIMIT = "GraphQL", "limit"
WORKER_CORE, LOAD_CORE = "0", "1"


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    rss_idle_kb: int = 0
    hwm_idle_kb: int = 0
    rss_samples_kb: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Run:
    target: str
    round: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    worker_cpu: float = 0.0  # the share of a core the worker used
    core_busy: tuple[float, float] = (0.0, 0.0)  # cores 0 and 1, all processes


# -- the process side ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _worker_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "PYTHONPATH"}}
    env.update(
        DATABASE_URL=database_url,
        YUNSHANG_DATA_DIR=str(data_dir),
        YUNSHANG_ENV="production",
        YUNSHANG_JWT_KEYS=JWT_KEYS,
        YUNSHANG_ID_KEY=ID_KEY,
    )
    return env


def _start(name: str, app: str, path: str, env: dict[str, str], folder: Path) -> Worker:
    port = _free_port()
    log = folder / f"{name}.log"
    command = [
        "taskset",
        "-c",
        WORKER_CORE,
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return Worker(name, process, f"http://{HOST}:{port}{path}", log)


async def _wait_ready(worker: Worker, within: float = 60.0) -> None:
    health = worker.url.rsplit("/", 1)[0] + "/healthz"
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if worker.process.poll() is not None:
                break
            try:
                if (await client.get(health)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{worker.name} did not start:\n{worker.log.read_text()[-3000:]}")


def _stop(worker: Worker) -> None:
    if worker.process.poll() is None:
        worker.process.terminate()
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=5)


@asynccontextmanager
async def _workers(
    database_url: str, folder: Path
) -> AsyncIterator[tuple[Worker, Worker]]:
    env = _worker_env(database_url, folder)
    graphql = _start(GRAPHQL, "bench.serve:app", "/graphql", env, folder)
    limit = _start(LIMIT, "bench.limit:app", "/tree", env, folder)
    try:
        await _wait_ready(graphql)
        await _wait_ready(limit)
        yield graphql, limit
    finally:
        _stop(graphql)
        _stop(limit)


# -- load -----------------------------------------------------------------------------

WRK_SCRIPT = """wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"us\\": %%d, \\"p50\\": %%d, \\"p99\\": %%d, "
    .. "\\"errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def _wrk(
    wrk: str, url: str, script: Path, connections: int, seconds: float
) -> dict[str, Any]:
    command = [
        "taskset",
        "-c",
        LOAD_CORE,
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk said:\n{done.stdout}\n{done.stderr}")
    raw = orjson.loads(line.removeprefix("RESULT "))
    elapsed = raw["us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": elapsed,
        "rps": raw["requests"] / elapsed,
        "p50_ms": raw["p50"] / 1000,
        "p99_ms": raw["p99"] / 1000,
        "errors": raw["errors"],
    }


def _python_load(
    url: str, body_file: Path, connections: int, seconds: float
) -> dict[str, Any]:
    command = [
        "taskset",
        "-c",
        LOAD_CORE,
        sys.executable,
        str(ROOT / "bench" / "loadgen.py"),
        "--url",
        url,
        "--body-file",
        str(body_file),
        "--connections",
        str(connections),
        "--warmup",
        "0",
        "--duration",
        str(seconds),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    result.pop("bytes", None)
    return result


async def _sample_rss(worker: Worker, stop: asyncio.Event) -> None:
    while not stop.is_set():
        worker.rss_samples_kb.append(_status_kb(worker.pid, "VmRSS"))
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


def _worker_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _core_ticks() -> dict[str, tuple[int, int]]:
    # (busy, total) per core, from /proc/stat.
    ticks: dict[str, tuple[int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name in {"cpu0", "cpu1"}:
            numbers = [int(v) for v in values[:8]]
            idle = numbers[3] + numbers[4]
            ticks[name] = (sum(numbers) - idle, sum(numbers))
    return ticks


async def _measured(
    worker: Worker, call: Any, *arguments: Any
) -> tuple[dict[str, Any], float, tuple[float, float]]:
    """Runs a load call, with the CPU the worker and each core used meanwhile."""
    hertz = os.sysconf("SC_CLK_TCK")
    ticks, cores, started = _worker_ticks(worker.pid), _core_ticks(), time.monotonic()
    result = await asyncio.to_thread(call, *arguments)
    elapsed = time.monotonic() - started
    worker_cpu = (_worker_ticks(worker.pid) - ticks) / hertz / elapsed
    after = _core_ticks()
    busy = tuple(
        (after[c][0] - cores[c][0]) / max(1, after[c][1] - cores[c][1])
        for c in ("cpu0", "cpu1")
    )
    return result, worker_cpu, (busy[0], busy[1])


async def _wait_quiet(within: float, threshold: float = 0.15) -> float:
    """Waits, at most ``within`` seconds, for both cores to be nearly idle.

    Other work on the machine (a test suite, a build) takes core 0 from the
    worker; the figures are only worth comparing when it is quiet. Returns how
    busy the cores were in the last second sampled.
    """
    deadline = time.monotonic() + within
    while True:
        before = _core_ticks()
        await asyncio.sleep(1.0)
        after = _core_ticks()
        busy = max(
            (after[c][0] - before[c][0]) / max(1, after[c][1] - before[c][1])
            for c in ("cpu0", "cpu1")
        )
        if busy <= threshold or time.monotonic() >= deadline:
            return busy


async def _load(
    worker: Worker, args: argparse.Namespace, body: bytes, folder: Path
) -> dict[str, Any]:
    """A warm-up, then a measured run, sampling the worker's memory meanwhile."""
    if args.wait_quiet > 0:
        busy = await _wait_quiet(args.wait_quiet)
        if busy > 0.15:
            print(f"  (the machine is still {100 * busy:.0f}% busy)", flush=True)
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(worker, stop))
    try:
        if args.wrk:
            script = folder / "body.lua"
            script.write_text(WRK_SCRIPT % body.decode())
            call: Any = _wrk
            arguments: tuple[Any, ...] = (args.wrk, worker.url, script)
        else:
            body_file = folder / "body.json"
            body_file.write_bytes(body)
            call, arguments = _python_load, (worker.url, body_file)
        if args.warmup > 0:
            await asyncio.to_thread(call, *arguments, args.connections, args.warmup)
        result, cpu, busy = await _measured(
            worker, call, *arguments, args.connections, args.duration
        )
        return {**result, "worker_cpu": cpu, "core_busy": busy}
    finally:
        stop.set()
        await sampler


# -- profile -------------------------------------------------------------------------

_PACKAGES = (
    ("graphql/", "graphql-core"),
    ("strawberry/", "strawberry"),
    ("tortoise/", "tortoise"),
    ("pypika", "tortoise"),
    ("asyncpg", "asyncpg"),
    ("aiosqlite", "aiosqlite/sqlite3"),
    ("sqlite3", "aiosqlite/sqlite3"),
    ("orjson", "orjson"),
    ("uvicorn", "uvicorn/httptools"),
    ("httptools", "uvicorn/httptools"),
    ("starlette", "starlette"),
    ("asyncio", "asyncio/uvloop"),
    ("uvloop", "asyncio/uvloop"),
    ("threading", "threads"),
    ("logging", "logging"),
)
_PROJECT = ("api/", "schema/", "resolvers/", "permissions/", "models/")


def _package(frame: str) -> str:
    where = frame.rsplit("(", 1)[-1]
    for marker, name in _PACKAGES:
        if marker in where:
            return name
    if any(where.startswith(p) or f"/{p}" in where for p in _PROJECT):
        return "project (api, schema, resolvers, permissions)"
    return "other"


_INCLUSIVE = (
    ("graphql-core's executor (inclusive)", "graphql/execution/"),
    ("strawberry's field resolver wrappers", "schema_converter.py"),
    ("GraphQL validation and AST visits", "graphql/validation/"),
    ("Tortoise: building and running querysets", "tortoise/queryset.py"),
    ("Tortoise: turning rows into values (dates)", "iso8601"),
    ("dataloaders", "strawberry/dataloader.py"),
    ("orjson encoding", "orjson"),
    ("garbage collection (with --native)", "gc_collect"),
)


def _frame_name(frame: str) -> str:
    # "func (path/file.py:123)" -> "func (path/file.py)"
    name, _, where = frame.rpartition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rstrip(')')})" if name else frame


def _py_spy(py_spy: str, pid: int, seconds: float, out: Path, native: bool) -> str:
    command = [
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "250",
        "--format",
        "raw",
        "--output",
        str(out),
    ]
    # Native stacks need the process paused for each sample.
    command.append("--native" if native else "--nonblocking")
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        return f"py-spy failed: {done.stderr.strip()[-500:]}"
    counts: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        counts[_frame_name(leaf)] += int(number)
        packages[_package(leaf)] += int(number)
        for label, marker in _INCLUSIVE:
            if marker in stack:
                inclusive[label] += int(number)
    total = sum(counts.values()) or 1
    lines = [f"py-spy, {total} samples of the GraphQL worker under load"]
    lines.append("  self time by package:")
    lines += [
        f"  {100 * n / total:5.1f}%  {name}" for name, n in packages.most_common()
    ]
    lines.append("  inclusive (a sample counts in every group on its stack):")
    lines += [
        f"  {100 * inclusive[label] / total:5.1f}%  {label}"
        for label, _ in _INCLUSIVE
        if inclusive[label]
    ]
    lines.append("  top functions, self time:")
    lines += [
        f"  {100 * n / total:5.1f}%  {name}" for name, n in counts.most_common(20)
    ]
    return "\n".join(lines)


async def _gc_share(http: httpx.AsyncClient, body: bytes, concurrency: int) -> str:
    """In-process, batches of concurrent requests: how much of the time is GC."""
    spent = [0.0]
    collections: Counter[int] = Counter()
    started_at = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started_at[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started_at[0]
            collections[info["generation"]] += 1

    headers = {"content-type": "application/json"}
    batches = 3
    gc.callbacks.append(callback)
    try:
        started = time.perf_counter()
        for _ in range(batches):
            await asyncio.gather(
                *(
                    http.post("/graphql", content=body, headers=headers)
                    for _ in range(concurrency)
                )
            )
        elapsed = time.perf_counter() - started
    finally:
        gc.callbacks.remove(callback)
    requests = batches * concurrency
    return (
        f"in-process, {batches} batches of {concurrency} concurrent requests: "
        f"{1000 * elapsed / requests:.1f} ms per request, "
        f"{100 * spent[0] / elapsed:.0f}% of the time in garbage collection "
        f"(collections of generation 0/1/2: {collections[0]}/{collections[1]}/"
        f"{collections[2]})"
    )


async def _cprofile(http: httpx.AsyncClient, body: bytes, requests: int) -> str:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        await http.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
    profile.disable()
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats("tottime").print_stats(25)
    return text.getvalue()


async def _committed(database_url: str) -> int:
    parts = urlsplit(database_url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(admin)
    try:
        value: int = await connection.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
            parts.path.lstrip("/"),
        )
        return value
    finally:
        await connection.close()


async def _server_transactions(
    database_url: str, worker: Worker, body: bytes, requests: int = 50
) -> float:
    """Transactions PostgreSQL committed per request: each statement sent outside
    a transaction, and each pool reset on release, is one. Counted on the server,
    so it sees what no hook in the client does."""
    # A backend flushes its statistics at the end of a transaction at most once a
    # second, else when it has been idle for 10 s (PostgreSQL 15).
    settle = 11.0
    await asyncio.sleep(settle)
    before = await _committed(database_url)
    async with httpx.AsyncClient(timeout=30.0) as client:
        for _ in range(requests):
            response = await client.post(
                worker.url, content=body, headers={"content-type": "application/json"}
            )
            response.raise_for_status()
    await asyncio.sleep(settle)
    return (await _committed(database_url) - before) / requests


# -- the benchmark --------------------------------------------------------------------


def _shape(data: dict[str, Any]) -> tuple[int, int, int]:
    root = data["data"]["orgUnit"]
    subdistricts = root["children"]
    communities = [c for s in subdistricts for c in s["children"]]
    estates = sum(len(c["estates"]) for c in communities)
    return len(subdistricts), len(communities), estates


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Figures:
    backend: str
    statements: int
    statement_text: list[str]
    shape: tuple[int, int, int]
    body_bytes: int
    same_bytes: bool
    runs: list[Run] = field(default_factory=list)
    rss: dict[str, tuple[int, int, int, int, int]] = field(default_factory=dict)
    profile: str = ""
    loadavg: tuple[str, str] = ("", "")
    # PostgreSQL: transactions the server committed per request, by worker.
    server_transactions: dict[str, float] = field(default_factory=dict)


async def _prepare(
    args: argparse.Namespace,
) -> tuple[bytes, dict[str, Any], int, list[str], str]:
    """Loads the district; one request in-process, its statements counted."""
    started = time.perf_counter()
    summary = await load_demo("district")
    print(
        f"demo district loaded in {time.perf_counter() - started:.1f} s: "
        f"{summary.subdistricts} subdistricts, {summary.communities} communities, "
        f"{summary.estates} estates ({await Estate.all().count()} in the database)",
        flush=True,
    )
    district = await OrgUnit.get(level=Level.DISTRICT)
    body = orjson.dumps(
        {
            "query": QUERY,
            "variables": {"id": encode_id("OrgUnit", district.id)},
            "operationName": "OrgTree",
        }
    )
    app = create_app(load_settings(), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    profile = ""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as http,
    ):
        headers = {"content-type": "application/json"}
        await http.post("/graphql", content=body, headers=headers)  # warm caches
        with count_statements() as counter:
            response = await http.post("/graphql", content=body, headers=headers)
            statements = counter.count
            texts = list(counter.logged)
        expected = response.json()
        if response.status_code != 200 or "errors" in expected:
            raise SystemExit(f"the query failed in-process: {response.text[:1000]}")
        profile = await _gc_share(http, body, args.connections)
        if args.cprofile:
            profile += "\n\n" + await _cprofile(http, body, args.cprofile)
    return body, expected, statements, texts, profile


async def _benchmark(args: argparse.Namespace) -> Figures:
    backend = "PostgreSQL" if args.database_url else "SQLite"
    with bench_environment("production") as folder:
        async with throwaway_database(args.database_url, folder / "db") as database:
            async with migrated_database(database):
                body, expected, statements, texts, profile = await _prepare(args)
            async with _workers(database, folder) as (graphql, limit):
                for worker in (graphql, limit):
                    worker.rss_idle_kb = _status_kb(worker.pid, "VmRSS")
                    worker.hwm_idle_kb = _status_kb(worker.pid, "VmHWM")
                answers: dict[str, bytes] = {}
                async with httpx.AsyncClient(timeout=30.0) as client:
                    for worker in (graphql, limit):
                        response = await client.post(
                            worker.url,
                            content=body,
                            headers={"content-type": "application/json"},
                        )
                        response.raise_for_status()
                        answers[worker.name] = response.content
                for name, answer in answers.items():
                    if orjson.loads(answer) != expected:
                        raise SystemExit(f"{name} answers other data than GraphQL")
                figures = Figures(
                    backend=backend,
                    statements=statements,
                    statement_text=texts,
                    shape=_shape(expected),
                    body_bytes=len(answers[GRAPHQL]),
                    same_bytes=answers[GRAPHQL] == answers[LIMIT],
                    profile=profile,
                )
                print(
                    f"same data from both (parsed JSON); byte-identical: "
                    f"{figures.same_bytes}; {figures.body_bytes} bytes",
                    flush=True,
                )
                if is_postgres(database):
                    for worker in (graphql, limit):
                        figures.server_transactions[
                            worker.name
                        ] = await _server_transactions(database, worker, body)
                before = _loadavg()
                for number in range(1, args.rounds + 1):
                    for worker in (graphql, limit):
                        result = await _load(worker, args, body, folder)
                        run = Run(target=worker.name, round=number, **result)
                        figures.runs.append(run)
                        print(
                            f"round {number} {worker.name:8} {run.rps:7.1f} req/s  "
                            f"p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  "
                            f"errors {run.errors}  worker CPU "
                            f"{100 * run.worker_cpu:.0f}%  cores busy "
                            f"{100 * run.core_busy[0]:.0f}% / "
                            f"{100 * run.core_busy[1]:.0f}%",
                            flush=True,
                        )
                after = _loadavg()
                figures.loadavg = (before, after)
                for worker in (graphql, limit):
                    figures.rss[worker.name] = (
                        worker.rss_idle_kb,
                        worker.hwm_idle_kb,
                        max(worker.rss_samples_kb, default=0),
                        _status_kb(worker.pid, "VmRSS"),
                        _status_kb(worker.pid, "VmHWM"),
                    )
                if args.py_spy:
                    out = folder / "py-spy.txt"
                    load = asyncio.create_task(
                        _load(
                            graphql,
                            argparse.Namespace(
                                **{
                                    **vars(args),
                                    "warmup": 1,
                                    "duration": 12,
                                    "wait_quiet": 0,
                                }
                            ),
                            body,
                            folder,
                        )
                    )
                    await asyncio.sleep(2)
                    figures.profile += "\n\n" + await asyncio.to_thread(
                        _py_spy, args.py_spy, graphql.pid, 8, out, args.native
                    )
                    await load
    return figures


def _report(figures: Figures, args: argparse.Namespace) -> None:
    subdistricts, communities, estates = figures.shape
    units = 1 + subdistricts + communities
    fields = 5 * (units + estates)
    print()
    print(
        f"## Org tree on {figures.backend}: 1 district → {subdistricts} subdistricts "
        f"→ {communities} communities → {estates} estates; {fields} leaf fields, "
        f"{figures.body_bytes} bytes"
    )
    load = "wrk" if args.wrk else "bench/loadgen.py"
    print(
        f"one worker on core {WORKER_CORE}, {load} on core {LOAD_CORE}, "
        f"{args.connections} connections, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s per run, {args.rounds} rounds alternating"
        + (f"; {args.server_placement}" if args.server_placement else "")
    )
    print()
    print(
        "| round | GraphQL req/s | limit req/s | ratio | GraphQL p50 / p99 ms "
        "| limit p50 / p99 ms | worker CPU ms/request GraphQL / limit "
        "| worker's share of core 0 | core 0 / core 1 busy |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    by: dict[tuple[str, int], Run] = {(r.target, r.round): r for r in figures.runs}

    def cpu_ms(run: Run) -> float:
        return 1000 * run.worker_cpu / run.rps if run.rps else float("nan")

    for number in range(1, args.rounds + 1):
        g, lim = by[(GRAPHQL, number)], by[(LIMIT, number)]
        print(
            f"| {number} | {g.rps:.1f} | {lim.rps:.1f} | {g.rps / lim.rps:.3f} "
            f"| {g.p50_ms:.1f} / {g.p99_ms:.1f} | {lim.p50_ms:.1f} / {lim.p99_ms:.1f} "
            f"| {cpu_ms(g):.1f} / {cpu_ms(lim):.2f} "
            f"| {100 * g.worker_cpu:.0f}% / {100 * lim.worker_cpu:.0f}% "
            f"| {100 * g.core_busy[0]:.0f}% / {100 * g.core_busy[1]:.0f}%, "
            f"{100 * lim.core_busy[0]:.0f}% / {100 * lim.core_busy[1]:.0f}% |"
        )
    med: dict[str, dict[str, float]] = {}
    for target in (GRAPHQL, LIMIT):
        runs = [r for r in figures.runs if r.target == target]
        med[target] = {
            "rps": _median([r.rps for r in runs]),
            "p50": _median([r.p50_ms for r in runs]),
            "p99": _median([r.p99_ms for r in runs]),
            "cpu_ms": _median([cpu_ms(r) for r in runs]),
        }
    ratio = med[GRAPHQL]["rps"] / med[LIMIT]["rps"]
    print(
        f"| median | {med[GRAPHQL]['rps']:.1f} | {med[LIMIT]['rps']:.1f} "
        f"| {ratio:.3f} | {med[GRAPHQL]['p50']:.1f} / {med[GRAPHQL]['p99']:.1f} "
        f"| {med[LIMIT]['p50']:.1f} / {med[LIMIT]['p99']:.1f} "
        f"| {med[GRAPHQL]['cpu_ms']:.1f} / {med[LIMIT]['cpu_ms']:.2f} | | |"
    )
    print()
    print(
        f"load average before / after: {figures.loadavg[0]} / {figures.loadavg[1]} "
        "(other work on the machine skews the figures: compare the worker's share "
        "of core 0 with how busy core 0 was)"
    )
    errors = sum(r.errors for r in figures.runs)
    target = "meets" if ratio >= 1 / 3 else "misses"
    print()
    print(
        f"GraphQL / limit = {ratio:.3f} ({target} issue 3's 1/3); "
        f"errors in all runs: {errors}"
    )
    print()
    print(
        "| worker | RSS idle after start-up | peak by then (VmHWM) "
        "| RSS max under load | RSS after load | peak at the end (VmHWM) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (idle, idle_hwm, peak_load, after, hwm) in figures.rss.items():
        print(
            f"| {name} | {idle / 1024:.1f} MiB | {idle_hwm / 1024:.1f} MiB "
            f"| {peak_load / 1024:.1f} MiB | {after / 1024:.1f} MiB "
            f"| {hwm / 1024:.1f} MiB |"
        )
    print()
    print(
        f"SQL statements per request (in-process, counted): {figures.statements} "
        f"(the unit, then 3 list levels); the limit sends 4 too"
    )
    if args.verbose:
        for text in figures.statement_text:
            print("  ", text[:200])
    for name, count in figures.server_transactions.items():
        print(
            f"PostgreSQL committed {count:.2f} transactions per request of {name} "
            "(statements and pool resets, counted on the server)"
        )
    if figures.profile:
        print()
        print(figures.profile)


@contextmanager
def _server_on_load_core(database_url: str) -> Iterator[str]:
    """Moves a local PostgreSQL server (the postmaster, and with it every backend
    it forks) to the load generator's core for the runs, so that the worker's core
    is the worker's alone; gives the server back every core afterwards.

    Yields what was done, for the report. Does nothing for a server that is not
    on this machine or not ours to move."""
    host = urlsplit(database_url).hostname or "127.0.0.1"
    if host not in {"127.0.0.1", "localhost", "::1"}:
        yield "the PostgreSQL server is not on this machine: not pinned"
        return
    postmaster = _postmaster_pid(database_url)
    if postmaster is None:
        yield "the PostgreSQL server's processes were not found: not pinned"
        return
    processes = [postmaster, *_children(postmaster)]
    before = {pid: os.sched_getaffinity(pid) for pid in processes}
    try:
        for pid in processes:
            os.sched_setaffinity(pid, {int(LOAD_CORE)})
    except PermissionError:
        for pid, cores in before.items():
            with suppress(OSError):
                os.sched_setaffinity(pid, cores)
        yield "the PostgreSQL server may not be moved by this user: not pinned"
        return
    try:
        yield f"the PostgreSQL server ({len(processes)} processes) on core {LOAD_CORE}"
    finally:
        for pid in [postmaster, *_children(postmaster)]:
            with suppress(OSError):
                os.sched_setaffinity(pid, before.get(pid, before[postmaster]))


def _postmaster_pid(database_url: str) -> int | None:
    async def postmaster() -> int:
        # Read while the connection is open: its backend exits with it.
        connection = await asyncpg.connect(database_url)
        try:
            return _parent(await connection.fetchval("SELECT pg_backend_pid()"))
        finally:
            await connection.close()

    try:
        return asyncio.run(postmaster())
    except (OSError, asyncpg.PostgresError):
        return None


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                if _parent(int(entry.name)) == parent:
                    found.append(int(entry.name))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (a throwaway database is created and dropped); "
        "SQLite in a temporary folder when absent",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for both cores to be idle",
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="the load generator: wrk when installed (auto), or bench/loadgen.py",
    )
    parser.add_argument(
        "--py-spy",
        nargs="?",
        const=shutil.which("py-spy") or "py-spy",
        help="after the rounds, sample the GraphQL worker under load with py-spy",
    )
    parser.add_argument(
        "--native",
        action="store_true",
        help="with --py-spy: native frames too (shows garbage collection)",
    )
    parser.add_argument(
        "--cprofile",
        type=int,
        default=0,
        metavar="N",
        help="profile N requests in-process with cProfile (not under load)",
    )
    parser.add_argument(
        "--server-anywhere",
        action="store_true",
        help="leave a local PostgreSQL server on every core (by default it is "
        "moved to the load generator's core for the runs)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 10 or not 0 < args.duration <= 120:
        raise SystemExit("at most 10 rounds of at most 120 s")
    if not 0 <= args.wait_quiet <= 1800:
        raise SystemExit("--wait-quiet is at most 1800 s")
    if not 0 <= args.warmup <= 60 or not 1 <= args.connections <= 64:
        raise SystemExit("a warm-up of at most 60 s, 1 to 64 connections")
    if args.database_url and not is_postgres(args.database_url):
        raise SystemExit("--database-url names a PostgreSQL server")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("this benchmark needs two cores")
    args.wrk = shutil.which("wrk") if args.load in {"auto", "wrk"} else None
    if args.load == "wrk" and not args.wrk:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    # This process (data set-up, checks, the RSS sampler) stays off the worker's core.
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    with ExitStack() as stack:
        args.server_placement = ""
        if args.database_url and not args.server_anywhere:
            args.server_placement = stack.enter_context(
                _server_on_load_core(args.database_url)
            )
        figures = asyncio.run(_benchmark(args))
    _report(figures, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
