"""Scheduled jobs: reminders, escalations, recurring tasks, warning checks.

A job is an ``async def`` registered with ``@job(name, every=...)``. It must be
safe to run twice (its writes use keys: ``notify(key=...)``, ``raise_warning``);
the lock row here only keeps two workers from running one job at the same time,
and lapses when a worker dies holding it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import JobLock, OrgUnit
from models import JobRun as JobRunRecord
from models.enums import Role
from permissions.caller import Caller, Grant
from resolvers.context import Context

__all__ = [
    "JOBS",
    "SYSTEM_ADDRESS",
    "Job",
    "JobRun",
    "job",
    "load_jobs",
    "run_due",
    "run_job",
    "scheduler",
    "system_caller",
]

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)
# The client address of what jobs write, in audit records.
SYSTEM_ADDRESS = "system:jobs"


@dataclass(frozen=True, slots=True)
class JobRun:
    """What a job gets: a system context (clock, bus, an admin caller) and now."""

    name: str
    context: Context
    now: datetime


JobFunction = Callable[[JobRun], Awaitable[dict[str, int]]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: timedelta
    run: JobFunction
    description: str


JOBS: dict[str, Job] = {}


def job(name: str, every: timedelta) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        if name in JOBS and JOBS[name].run is not function:
            raise ValueError(f"two jobs are named {name!r}")
        doc = (function.__doc__ or "").strip().splitlines()
        JOBS[name] = Job(name, every, function, doc[0] if doc else "")
        return function

    return register


def load_jobs() -> dict[str, Job]:
    """Every domain's jobs (their modules register them on import)."""
    import resolvers.jobs_registry  # noqa: F401

    return JOBS


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


async def _acquire(name: str, now: datetime) -> bool:
    with suppress(IntegrityError):  # another worker created it at the same moment
        await JobLock.get_or_create(name=name)
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    taken: int = await JobLock.filter(free, name=name).update(
        locked_until=now + LEASE, holder=_holder(), last_started_at=now
    )
    return taken == 1


async def run_job(name: str, context: Context) -> dict[str, Any]:
    """Run one job now, unless another worker is running it; the run's record."""
    jobs = load_jobs()
    if name not in jobs:
        raise LookupError(f"no job is named {name!r}")
    now = context.clock()

    if not await _acquire(name, now):
        record = await JobRunRecord.create(
            name=name, started_at=now, finished_at=now, outcome="SKIPPED"
        )
        logger.info("job %s skipped: another worker holds it", name)
        return _summary(record)

    record = await JobRunRecord.create(name=name, started_at=now, outcome="RUNNING")
    try:
        counts = await jobs[name].run(JobRun(name, context, now))
    except Exception as error:
        logger.exception("job %s failed", name)
        record.outcome = "FAILED"
        record.failure = type(error).__name__[:300]
    else:
        record.outcome = "OK"
        record.counts = counts
    finally:
        finished = context.clock()
        record.finished_at = finished
        await record.save()
        await JobLock.filter(name=name).update(
            locked_until=None, last_finished_at=finished
        )
    logger.info("job %s: %s %s", name, record.outcome, record.counts)
    return _summary(record)


async def run_due(context: Context) -> list[dict[str, Any]]:
    """Run every job whose interval has passed since it last started."""
    now = context.clock()
    last = {
        row["name"]: row["last_started_at"]
        for row in await JobLock.all().values("name", "last_started_at")
    }
    results = []
    for name, registered in sorted(load_jobs().items()):
        started = last.get(name)
        if started is None or started + registered.every <= now:
            results.append(await run_job(name, context))
    return results


def _summary(record: JobRunRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "outcome": record.outcome,
        "counts": record.counts,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
    }


async def system_caller() -> Caller:
    """Jobs act as an admin over every root of the hierarchy."""
    roots = await OrgUnit.filter(parent_id=None).order_by("id").values("id", "path")
    grants = tuple(Grant(Role.ADMIN, row["id"], row["path"]) for row in roots)
    return Caller(grants=grants, client_address=SYSTEM_ADDRESS)


async def scheduler(make_context: Callable[[], Context], interval: float) -> None:
    """Run due jobs every ``interval`` seconds, for as long as the worker lives."""
    while True:
        try:
            context = make_context()
            context.caller = await system_caller()
            await run_due(context)
        except Exception:
            logger.exception("the job scheduler's round failed")
        await asyncio.sleep(interval)
