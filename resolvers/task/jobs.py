"""The task domain's scheduled jobs: standing tasks, reminders, escalation.

Both are safe to run twice, by keys: a standing task's period is unique per kind,
each reminder and escalation is a notification keyed by assignment and lead time,
and an overdue warning is keyed by assignment (open once).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from models import RoleAssignment, StandingTask, Task, TaskAssignment
from models.enums import Role, WarningKind
from resolvers.base import Work, write
from resolvers.events import Event
from resolvers.jobs import JobRun, job
from resolvers.notifications import notify
from resolvers.task.common import CHINA, MAX_REMINDER_HOURS, OPEN_STATES, TOPIC
from resolvers.task.issue import issue_standing
from resolvers.task.moves import overdue_key
from resolvers.warnings import raise_warning

__all__ = ["issue_standing_tasks", "remind_tasks", "reminders_due"]


@job("tasks.standing", every=timedelta(hours=1))
async def issue_standing_tasks(run: JobRun) -> dict[str, int]:
    """Issue each active standing task's task of the current period, once."""
    issued = 0
    for standing in await StandingTask.filter(is_active=True).order_by("id"):
        if await issue_standing(run.context, standing, run.now):
            issued += 1
    return {"issued": issued}


def reminders_due(
    deadline: datetime, lead_hours: list[int], now: datetime
) -> int | None:
    """The nearest lead time (hours) whose moment has come before the deadline."""
    if now >= deadline:
        return None
    due = [h for h in lead_hours if deadline - timedelta(hours=h) <= now]
    return min(due) if due else None


@job("tasks.reminders", every=timedelta(minutes=15))
async def remind_tasks(run: JobRun) -> dict[str, int]:
    """Remind holders before deadlines; when overdue, tell them and escalate."""
    now = run.now
    horizon = now + timedelta(hours=MAX_REMINDER_HOURS)
    open_states = list(OPEN_STATES)
    tasks = await Task.filter(
        deadline__lte=horizon,
        assignments__state__in=open_states,
    ).distinct()
    counts = {"reminded": 0, "overdue": 0, "escalated": 0}
    for task in sorted(tasks, key=lambda t: t.id):
        lead = reminders_due(task.deadline, list(task.reminder_hours), now)
        if lead is None and now < task.deadline:
            continue
        assignments = await TaskAssignment.filter(
            task_id=task.id, state__in=open_states
        ).values("id", "unit_id", "unit_path", "accepted_by_id")
        if not assignments:
            continue
        holders = await _holders(assignments, now)
        async with write(run.context, "TASK_REMINDERS") as work:
            if lead is not None:
                counts["reminded"] += await _remind(
                    work, task, assignments, holders, lead
                )
            else:
                late, escalated = await _escalate(work, task, assignments, holders)
                counts["overdue"] += late
                counts["escalated"] += escalated
    return counts


async def _holders(
    assignments: list[dict[str, Any]], now: datetime
) -> dict[int, list[int]]:
    """Who holds each assignment: its acceptor, else its community's cadres."""
    communities = {a["unit_id"] for a in assignments if not a["accepted_by_id"]}
    cadres: dict[int, set[int]] = defaultdict(set)
    if communities:
        for row in await RoleAssignment.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            unit_id__in=sorted(communities),
            role=Role.CADRE,
        ).values("unit_id", "person_id"):
            cadres[row["unit_id"]].add(row["person_id"])
    return {
        a["id"]: [a["accepted_by_id"]]
        if a["accepted_by_id"]
        else sorted(cadres[a["unit_id"]])
        for a in assignments
    }


def _local(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


async def _remind(
    work: Work,
    task: Task,
    assignments: list[dict[str, Any]],
    holders: dict[int, list[int]],
    lead: int,
) -> int:
    sent = 0
    for assignment in assignments:
        stored = await notify(
            work,
            holders[assignment["id"]],
            kind="TASK_REMINDER",
            title=f"任务即将到期：{task.title}",
            body=f"截止时间 {_local(task.deadline)}（北京时间），请及时提交。",
            subject_type="TaskAssignment",
            subject_id=assignment["id"],
            unit_path=assignment["unit_path"],
            key=f"task:{assignment['id']}:remind:{lead}",
        )
        sent += len(stored)
    return sent


async def _escalate(
    work: Work,
    task: Task,
    assignments: list[dict[str, Any]],
    holders: dict[int, list[int]],
) -> tuple[int, int]:
    """Overdue: the holders are told, the issuing unit gets a warning per
    assignment, and the issuer one notification per task."""
    late = 0
    for assignment in assignments:
        await notify(
            work,
            holders[assignment["id"]],
            kind="TASK_OVERDUE",
            title=f"任务已逾期：{task.title}",
            body=f"截止时间 {_local(task.deadline)}（北京时间）已过，请尽快提交。",
            subject_type="TaskAssignment",
            subject_id=assignment["id"],
            unit_path=assignment["unit_path"],
            key=f"task:{assignment['id']}:overdue",
        )
        opened = await raise_warning(
            work,
            kind=WarningKind.TASK_OVERDUE,
            unit_id=task.unit_id,
            unit_path=task.unit_path,
            subject_type="TaskAssignment",
            subject_id=assignment["id"],
            key=overdue_key(assignment["id"]),
            detail={
                "task_id": task.id,
                "title": task.title,
                "community_id": assignment["unit_id"],
                "deadline": task.deadline.isoformat(),
            },
        )
        if opened:
            late += 1
            # The board's overdue counts change with time, not with a move.
            work.emit(
                Event(
                    TOPIC,
                    "TASK_OVERDUE",
                    assignment["unit_path"],
                    "TaskAssignment",
                    assignment["id"],
                    at=work.context.clock(),
                    data={"unit_id": assignment["unit_id"], "task_id": task.id},
                )
            )
    escalated = 0
    if task.issued_by_id is not None:
        escalated = len(
            await notify(
                work,
                [task.issued_by_id],
                kind="TASK_ESCALATED",
                title=f"有社区逾期未完成：{task.title}",
                body="逾期的社区见任务看板与预警。",
                subject_type="Task",
                subject_id=task.id,
                unit_path=task.unit_path,
                key=f"task:{task.id}:escalated",
            )
        )
    return late, escalated
