"""Scheduled work on service requests: overdue escalation and webhook retries.

``request-overdue`` finds open requests past their deadline. The first time, it
raises a REQUEST_OVERDUE warning, records an ESCALATE step and tells the
community's cadres; overdue by a further full deadline, it escalates again to
the officials of the unit above. Each level is written once (a conditional
update of ``escalation_level``; warning and notification keys), so two runs, or
two workers, change nothing more than one. The warning is cured when the
request moves on (``resolvers.request``).

``webhook-deliveries`` sends the pending deliveries that are due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from models import RequestCategory, RoleAssignment, ServiceRequest
from models.enums import RequestAction, RequestStage, Role, WarningKind
from resolvers import webhook
from resolvers.base import write
from resolvers.context import Context
from resolvers.jobs import JobRun, job
from resolvers.notifications import notify
from resolvers.request.rules import OPEN_STAGES, REDISPATCH_HOURS
from resolvers.request.steps import record_step
from resolvers.warnings import raise_warning

__all__ = ["deliver_webhooks", "escalate_overdue", "overdue_requests"]

# Escalation levels: 1 the community's cadres, 2 the officials above it.
TOP_LEVEL = 2


def _level(request: ServiceRequest, deadline: timedelta, now: datetime) -> int:
    assert request.due_at is not None
    late = now - request.due_at
    return min(TOP_LEVEL, 1 + int(late / deadline)) if late > timedelta(0) else 0


def _ancestors(path: str) -> list[str]:
    """``/1/2/4/`` → ``["/1/", "/1/2/", "/1/2/4/"]``."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


async def _staff_to_tell(
    request: ServiceRequest, level: int, now: datetime
) -> list[int]:
    ancestors = _ancestors(request.unit_path)
    lasting = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    wanted = Q(role=Role.CADRE, unit_path__in=ancestors)
    if level >= 2 and len(ancestors) >= 2:
        above = ancestors[-2] if request.unit_path == ancestors[-1] else ancestors[-1]
        wanted |= Q(role=Role.OFFICIAL, unit_path=above)
    found = await RoleAssignment.filter(
        wanted, lasting, starts_at__lte=now
    ).values_list("person_id", flat=True)
    return sorted({int(str(p)) for p in found})


async def overdue_requests(now: datetime) -> list[ServiceRequest]:
    found: list[ServiceRequest] = await ServiceRequest.filter(
        stage__in=list(OPEN_STAGES), due_at__lt=now
    ).order_by("id")
    return found


async def escalate_overdue(context: Context, now: datetime) -> dict[str, int]:
    """Escalate every overdue open request one level at most per run."""
    counts = {"overdue": 0, "escalated": 0, "warnings": 0}
    requests = await overdue_requests(now)
    deadlines = dict(
        await RequestCategory.filter(
            id__in=sorted({r.category_id for r in requests})
        ).values_list("id", "deadline_hours")
    )
    for request in requests:
        counts["overdue"] += 1
        hours = (
            REDISPATCH_HOURS
            if request.stage == RequestStage.PUBLISHED
            else int(str(deadlines[request.category_id]))
        )
        level = _level(request, timedelta(hours=hours), now)
        if level <= request.escalation_level:
            continue
        escalated, raised = await _escalate(context, request, level, now)
        counts["escalated"] += escalated
        counts["warnings"] += raised
    return counts


async def _escalate(
    context: Context, request: ServiceRequest, level: int, now: datetime
) -> tuple[int, int]:
    assert request.due_at is not None
    cycle = int(request.due_at.timestamp())
    async with write(context, "SERVICE_REQUEST_ESCALATE") as work:
        taken = await ServiceRequest.filter(
            id=request.id,
            stage=request.stage,
            due_at=request.due_at,
            escalation_level__lt=level,
        ).update(escalation_level=level)
        if not taken:
            return 0, 0
        request.escalation_level = level
        raised = await raise_warning(
            work,
            kind=WarningKind.REQUEST_OVERDUE,
            unit_id=request.unit_id,
            unit_path=request.unit_path,
            subject_type="ServiceRequest",
            subject_id=request.id,
            key=f"request:{request.id}:overdue:{cycle}",
            detail=_detail(request, level),
        )
        stage = RequestStage(request.stage)
        note = (
            f"Overdue since {request.due_at.isoformat()}: escalated to level {level}."
        )
        await record_step(work, request, RequestAction.ESCALATE, stage, stage, note)
        await notify(
            work,
            await _staff_to_tell(request, level, now),
            kind="REQUEST_OVERDUE",
            title="A request is overdue",
            body=note,
            key=f"request:{request.id}:escalated:{cycle}:{level}",
            subject_type="ServiceRequest",
            subject_id=request.id,
            unit_path=request.unit_path,
        )
    return 1, int(raised)


def _detail(request: ServiceRequest, level: int) -> dict[str, Any]:
    assert request.due_at is not None
    return {
        "stage": str(request.stage),
        "due_at": request.due_at.isoformat(),
        "level": level,
        "handler_organization_id": request.handler_organization_id,
    }


@job("request-overdue", every=timedelta(minutes=10))
async def escalate_overdue_requests(run: JobRun) -> dict[str, int]:
    """Warn about and escalate service requests past their deadline."""
    return await escalate_overdue(run.context, run.now)


@job("webhook-deliveries", every=timedelta(minutes=1))
async def deliver_webhooks(run: JobRun) -> dict[str, int]:
    """Send the due webhook deliveries of property firms, retrying with backoff."""
    return await webhook.deliver_due(run.now)
