"""Issuing tasks: ad hoc to chosen communities or under units, and the standing
kinds (5+X) and their periods."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import or_
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import (
    OrgUnit,
    StandingTask,
    StoredFile,
    Task,
    TaskAssignment,
    TaskTransition,
)
from models.enums import Level, TaskCycle, TaskRequirement, TaskState
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.loaders import fetch_row
from resolvers.task.common import (
    CHINA,
    DEFAULT_REMINDER_HOURS,
    ISSUING_LEVELS,
    MAX_REMINDER_HOURS,
    OFFICIALS,
    TOPIC,
    TaskErrorCode,
)

# -- issuing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskDraft:
    unit_id: int
    title: str
    deadline: datetime
    requirement: TaskRequirement
    instructions: str = ""
    category: str = ""
    attachment_ids: tuple[int, ...] = ()
    reminder_hours: tuple[int, ...] = DEFAULT_REMINDER_HOURS
    community_ids: tuple[int, ...] = ()
    under_unit_ids: tuple[int, ...] = ()


def _error(field: str, message: str, code: TaskErrorCode) -> UserError:
    return UserError(field, message, code.value)


async def _issuing_unit(context: Context, unit_id: int) -> OrgUnit:
    unit = await visible(OrgUnit, context.caller).get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    caller = context.caller
    if not (caller.is_admin or caller.covers(unit.path, OFFICIALS)):
        raise Forbidden("Only officials of the issuing unit or above issue its tasks.")
    return unit


async def _targets(
    draft: TaskDraft, unit: OrgUnit, errors: list[UserError]
) -> list[dict[str, Any]]:
    """The communities a draft goes to, each once; problems go to ``errors``."""
    found: dict[int, dict[str, Any]] = {}
    if draft.community_ids:
        chosen = await OrgUnit.filter(id__in=list(draft.community_ids)).values(
            "id", "path", "level"
        )
        if len(chosen) != len(set(draft.community_ids)):
            errors.append(
                _error(
                    "communityIds",
                    "A chosen community does not exist.",
                    TaskErrorCode.TARGET_NOT_COMMUNITY,
                )
            )
        for row in chosen:
            if row["level"] != Level.COMMUNITY:
                errors.append(
                    _error(
                        "communityIds",
                        "Tasks go to communities (villages or urban communities).",
                        TaskErrorCode.TARGET_NOT_COMMUNITY,
                    )
                )
            elif not row["path"].startswith(unit.path):
                errors.append(
                    _error(
                        "communityIds",
                        "A chosen community is not under the issuing unit.",
                        TaskErrorCode.TARGET_OUTSIDE_UNIT,
                    )
                )
            else:
                found[row["id"]] = row
    if draft.under_unit_ids:
        roots = await OrgUnit.filter(id__in=list(draft.under_unit_ids)).values(
            "id", "path"
        )
        if len(roots) != len(set(draft.under_unit_ids)) or any(
            not r["path"].startswith(unit.path) for r in roots
        ):
            errors.append(
                _error(
                    "underUnitIds",
                    "Every unit must lie under the issuing unit.",
                    TaskErrorCode.TARGET_OUTSIDE_UNIT,
                )
            )
        inside = [
            Q(path__startswith=r["path"])
            for r in roots
            if r["path"].startswith(unit.path)
        ]
        if inside:
            below = await OrgUnit.filter(
                reduce(or_, inside), level=Level.COMMUNITY
            ).values("id", "path", "level")
            found.update((row["id"], row) for row in below)
    if not found and not errors:
        errors.append(
            _error(
                "communityIds",
                "Choose communities, or units whose communities all receive it.",
                TaskErrorCode.NO_TARGETS,
            )
        )
    return [found[key] for key in sorted(found)]


async def _check_files(
    context: Context, ids: Sequence[int], field: str, errors: list[UserError]
) -> None:
    if not ids:
        return
    seen = await visible(StoredFile, context.caller).filter(id__in=list(ids)).count()
    if seen != len(set(ids)):
        errors.append(
            _error(field, "A file is not among yours.", TaskErrorCode.FILE_NOT_FOUND)
        )


def _check_reminders(hours: Iterable[int], errors: list[UserError]) -> None:
    if any(not 1 <= h <= MAX_REMINDER_HOURS for h in hours):
        errors.append(
            _error(
                "reminderHours",
                f"Lead times are whole hours from 1 to {MAX_REMINDER_HOURS}.",
                TaskErrorCode.REMINDER_INVALID,
            )
        )


async def issue_task(context: Context, draft: TaskDraft) -> dict[str, Any]:
    """Issue ``draft``: the task and an ISSUED assignment per target community."""
    unit = await _issuing_unit(context, draft.unit_id)
    now = context.clock()
    errors: list[UserError] = []
    title = draft.title.strip()
    if unit.level not in ISSUING_LEVELS:
        errors.append(
            _error(
                "unitId",
                "Tasks are issued by a district or a subdistrict.",
                TaskErrorCode.NOT_AN_ISSUING_UNIT,
            )
        )
    if not 1 <= len(title) <= 200:
        errors.append(
            _error(
                "title",
                "Enter a title of 1 to 200 characters.",
                TaskErrorCode.TITLE_REQUIRED,
            )
        )
    if draft.deadline <= now:
        errors.append(
            _error(
                "deadline",
                "The deadline must be in the future.",
                TaskErrorCode.DEADLINE_PASSED,
            )
        )
    _check_reminders(draft.reminder_hours, errors)
    await _check_files(context, draft.attachment_ids, "attachmentIds", errors)
    targets = await _targets(draft, unit, errors)
    if errors:
        raise Invalid(errors)

    async with write(context, "TASK_ISSUE") as work:
        task = await Task.create(
            unit_id=unit.id,
            unit_path=unit.path,
            title=title,
            instructions=draft.instructions.strip(),
            category=draft.category.strip(),
            requirement=draft.requirement,
            deadline=draft.deadline,
            attachment_ids=sorted(set(draft.attachment_ids)),
            reminder_hours=sorted(set(draft.reminder_hours), reverse=True),
            issued_by_id=context.caller.person_id,
            issued_at=now,
        )
        await _assign(work, task, targets, now)
    return await fetch_row(Task, task.id)


async def _assign(
    work: Work, task: Task, targets: Sequence[dict[str, Any]], now: datetime
) -> None:
    """The ISSUED assignments of ``task``, their first transitions and events."""
    await TaskAssignment.bulk_create(
        [
            TaskAssignment(
                task_id=task.id,
                unit_id=row["id"],
                unit_path=row["path"],
                issuer_path=task.unit_path,
                state=TaskState.ISSUED,
                deadline=task.deadline,
                issued_at=now,
                updated_at=now,
            )
            for row in targets
        ]
    )
    made = await TaskAssignment.filter(task_id=task.id).values(
        "id", "unit_id", "unit_path"
    )
    actor = work.context.caller.person_id
    await TaskTransition.bulk_create(
        [
            TaskTransition(
                assignment_id=row["id"],
                unit_path=row["unit_path"],
                from_state=None,
                to_state=TaskState.ISSUED,
                actor_id=actor,
                at=now,
            )
            for row in made
        ]
    )
    work.audit("Task", [task.id], task.unit_path, assignments=len(made))
    for row in made:
        work.emit(_event(row, task.id, TaskState.ISSUED, actor, now))


def _event(
    row: dict[str, Any],
    task_id: int,
    state: TaskState,
    actor: int | None,
    now: datetime,
) -> Event:
    return Event(
        TOPIC,
        f"TASK_{state.value}",
        row["unit_path"],
        "TaskAssignment",
        row["id"],
        actor,
        at=now,
        data={"unit_id": row["unit_id"], "task_id": task_id, "state": state.value},
    )


# -- periods of standing tasks ---------------------------------------------------------


def period_of(cycle: TaskCycle, day: date) -> tuple[date, date]:
    """The first and last day of the period of ``cycle`` that holds ``day``."""
    if cycle == TaskCycle.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if cycle == TaskCycle.MONTHLY:
        start = day.replace(day=1)
    else:
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    months = 1 if cycle == TaskCycle.MONTHLY else 3
    month = start.month - 1 + months
    following = date(start.year + month // 12, month % 12 + 1, 1)
    return start, following - timedelta(days=1)


def standing_deadline(standing: StandingTask, start: date, end: date) -> datetime:
    """When a standing task of the period ``start``..``end`` falls due (UTC)."""
    day = end
    if standing.due_days is not None:
        day = min(end, start + timedelta(days=standing.due_days))
    local = datetime.combine(day, time(hour=standing.due_hour), tzinfo=CHINA)
    return local.astimezone(UTC)


async def issue_standing(
    context: Context, standing: StandingTask, now: datetime
) -> bool:
    """Issue ``standing``'s task of the period holding ``now``, once; whether it did."""
    start, end = period_of(standing.cycle, now.astimezone(CHINA).date())
    if await Task.filter(standing_id=standing.id, period_start=start).exists():
        return False
    targets = await OrgUnit.filter(
        path__startswith=standing.unit_path, level=Level.COMMUNITY
    ).values("id", "path", "level")
    if not targets:
        return False
    deadline = standing_deadline(standing, start, end)
    try:
        async with write(context, "TASK_ISSUE_STANDING") as work:
            task = await Task.create(
                unit_id=standing.unit_id,
                unit_path=standing.unit_path,
                standing_id=standing.id,
                period_start=start,
                title=f"{standing.name}（{_period_label(standing.cycle, start)}）",
                instructions=standing.instructions,
                category=standing.category,
                requirement=standing.requirement,
                deadline=deadline,
                reminder_hours=list(standing.reminder_hours)
                or list(DEFAULT_REMINDER_HOURS),
                issued_at=now,
            )
            await _assign(work, task, targets, now)
    except IntegrityError:
        # Another worker issued the same period meanwhile.
        return False
    return True


def _period_label(cycle: TaskCycle, start: date) -> str:
    if cycle == TaskCycle.WEEKLY:
        week = start.isocalendar()
        return f"{week.year}年第{week.week}周"
    if cycle == TaskCycle.MONTHLY:
        return f"{start.year}年{start.month}月"
    return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"


# -- standing kinds --------------------------------------------------------------------


@dataclass(frozen=True)
class StandingDraft:
    name: str
    cycle: TaskCycle
    requirement: TaskRequirement
    instructions: str = ""
    category: str = ""
    due_days: int | None = None
    due_hour: int = 18
    reminder_hours: tuple[int, ...] = DEFAULT_REMINDER_HOURS
    position: int = 0
    is_active: bool = True


MAX_DUE_DAYS = {TaskCycle.WEEKLY: 6, TaskCycle.MONTHLY: 27, TaskCycle.QUARTERLY: 89}


def _standing_errors(draft: StandingDraft) -> list[UserError]:
    errors: list[UserError] = []
    if not 1 <= len(draft.name.strip()) <= 100:
        errors.append(
            _error(
                "name",
                "Enter a name of 1 to 100 characters.",
                TaskErrorCode.TITLE_REQUIRED,
            )
        )
    most = MAX_DUE_DAYS[draft.cycle]
    if draft.due_days is not None and not 0 <= draft.due_days <= most:
        errors.append(
            _error(
                "dueDays",
                f"A {draft.cycle.value.lower()} task falls due 0 to {most} days in.",
                TaskErrorCode.DEADLINE_PASSED,
            )
        )
    if not 0 <= draft.due_hour <= 23:
        errors.append(
            _error("dueHour", "An hour is 0 to 23.", TaskErrorCode.DEADLINE_PASSED)
        )
    _check_reminders(draft.reminder_hours, errors)
    return errors


async def save_standing(
    context: Context,
    draft: StandingDraft,
    unit_id: int | None = None,
    standing_id: int | None = None,
) -> dict[str, Any]:
    """Create a standing kind under ``unit_id``, or change ``standing_id``."""
    existing: StandingTask | None = None
    if standing_id is not None:
        existing = await visible(StandingTask, context.caller).get_or_none(
            id=standing_id
        )
        if existing is None:
            raise NotFound("No StandingTask has this id.")
        unit_id = existing.unit_id
    assert unit_id is not None
    unit = await _issuing_unit(context, unit_id)
    errors = _standing_errors(draft)
    if unit.level not in ISSUING_LEVELS:
        errors.append(
            _error(
                "unitId",
                "Standing tasks belong to a district or a subdistrict.",
                TaskErrorCode.NOT_AN_ISSUING_UNIT,
            )
        )
    if errors:
        raise Invalid(errors)

    values: dict[str, Any] = {
        "name": draft.name.strip(),
        "cycle": draft.cycle,
        "requirement": draft.requirement,
        "instructions": draft.instructions.strip(),
        "category": draft.category.strip(),
        "due_days": draft.due_days,
        "due_hour": draft.due_hour,
        "reminder_hours": sorted(set(draft.reminder_hours), reverse=True),
        "position": draft.position,
        "is_active": draft.is_active,
    }
    action = "STANDING_TASK_UPDATE" if existing else "STANDING_TASK_CREATE"
    async with write(context, action) as work:
        if existing is None:
            existing = await StandingTask.create(
                unit_id=unit.id, unit_path=unit.path, **values
            )
        else:
            await StandingTask.filter(id=existing.id).update(**values)
        work.audit("StandingTask", [existing.id], unit.path)
        work.emit(
            Event(
                TOPIC,
                action,
                unit.path,
                "StandingTask",
                existing.id,
                context.caller.person_id,
                at=context.clock(),
            )
        )
    return await fetch_row(StandingTask, existing.id)
