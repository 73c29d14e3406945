"""A bounded HTTP load generator in Python (asyncio streams), for machines without wrk.

POSTs one JSON body over a fixed number of keep-alive HTTP/1.1 connections: a
warm-up whose results are dropped, then a measured run bounded in time and in
requests. Prints one JSON line: requests, seconds, requests/s, p50/p99 latency in
ms, errors. Only loopback addresses are accepted.

It speaks just enough HTTP/1.1 (responses with ``Content-Length``, as uvicorn
sends them) over ``asyncio.open_connection``. httpx was tried first: on one core
it spent about 10 ms of its own per 38 KB response, which capped the limit at
about 90 requests/s where wrk measured over 300; this client keeps up with wrk.

    taskset -c 1 .venv/bin/python bench/loadgen.py \\
        --url http://127.0.0.1:8811/graphql --body-file body.json \\
        --connections 8 --warmup 5 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

__all__ = ["main", "run_load"]

MAX_REQUESTS = 1_000_000


def _check_loopback(host: str) -> None:
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"only loopback targets: {host}")


def _percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    received: int = 0


async def _connection(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    max_requests: int,
    tally: _Tally,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and len(tally.latencies) < max_requests:
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = None
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length is None:
                raise SystemExit("a response without Content-Length")
            await reader.readexactly(length)
            tally.latencies.append(time.perf_counter() - sent)
            tally.received += len(head) + length
            if head[9:12] != b"200":
                tally.errors += 1
    except (OSError, asyncio.IncompleteReadError):
        tally.errors += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _phase(
    url: str,
    body: bytes,
    connections: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection(host, port, request, deadline, max_requests, tally)
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies)
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "errors": tally.errors,
        "bytes": tally.received,
    }


async def run_load(
    url: str,
    body: bytes,
    connections: int,
    warmup: float,
    duration: float,
    max_requests: int = MAX_REQUESTS,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``headers`` go with every request (e.g. ``Authorization``)."""
    _check_loopback(urlsplit(url).hostname or "")
    if warmup > 0:
        await _phase(url, body, connections, warmup, max_requests, headers)
    return await _phase(url, body, connections, duration, max_requests, headers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=MAX_REQUESTS)
    args = parser.parse_args()
    if not 0 < args.duration <= 600 or not 0 <= args.warmup <= 600:
        raise SystemExit("warm-up and duration are bounded to 600 s")
    try:
        from uvloop import new_event_loop
    except ImportError:
        new_event_loop = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        result = runner.run(
            run_load(
                args.url,
                args.body_file.read_bytes(),
                args.connections,
                args.warmup,
                args.duration,
                min(args.max_requests, MAX_REQUESTS),
            )
        )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
