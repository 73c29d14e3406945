"""Tasks from the top down: issuing, the assignment state machine, the board.

An official of a district or subdistrict issues a task to chosen communities under
their unit, or to every community under a unit. Each community's assignment moves

    ISSUED --accept--> ACCEPTED --submit--> SUBMITTED --verify--> VERIFIED
                                    ^            |
                                    +--submit-- RETURNED <--return--+

``accept`` and ``submit`` are for cadres of the receiving community, ``verify``
and ``return`` for officials whose jurisdiction covers the issuing unit. A
RETURNED assignment is held by the community again, as ACCEPTED is, with the
reason shown, until it is submitted anew. VERIFIED is the archive: nothing moves
it. Every move is one ``TaskTransition`` (who, when, from, to) and one event of
topic ``task`` at the community's path, published after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import reduce
from operator import or_
from typing import Any
from zoneinfo import ZoneInfo

from strawberry.dataloader import DataLoader
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from models import (
    OrgUnit,
    StandingTask,
    StoredFile,
    Task,
    TaskAssignment,
    TaskTransition,
)
from models.enums import Level, Role, TaskCycle, TaskRequirement, TaskState
from permissions.caller import STAFF_ROLES, Caller, Grant
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.live import shared_view
from resolvers.loaders import columns, fetch_row
from resolvers.warnings import resolve_warnings

__all__ = [
    "CHINA",
    "DEFAULT_REMINDER_HOURS",
    "MAX_REMINDER_HOURS",
    "OPEN_STATES",
    "TOPIC",
    "Board",
    "Move",
    "Result",
    "StandingDraft",
    "TaskDraft",
    "TaskErrorCode",
    "assignments_query",
    "attached_files",
    "board",
    "board_entries",
    "board_unit",
    "board_updates",
    "is_overdue",
    "issue_standing",
    "issue_task",
    "move_assignment",
    "my_assignments_query",
    "overdue_key",
    "period_of",
    "save_standing",
    "standing_rows",
    "tasks_query",
]

logger = logging.getLogger("yunshang.task")

CHINA = ZoneInfo("Asia/Shanghai")
TOPIC = "task"
# States in which the community still owes the result: these can go overdue.
OPEN_STATES = frozenset({TaskState.ISSUED, TaskState.ACCEPTED, TaskState.RETURNED})
DEFAULT_REMINDER_HOURS = (72, 24)
MAX_REMINDER_HOURS = 24 * 60
ISSUING_LEVELS = frozenset({Level.DISTRICT, Level.SUBDISTRICT})
CADRES = frozenset({Role.CADRE})
OFFICIALS = frozenset({Role.OFFICIAL})


class TaskErrorCode(StrEnum):
    TITLE_REQUIRED = "TITLE_REQUIRED"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    NOT_AN_ISSUING_UNIT = "NOT_AN_ISSUING_UNIT"
    NO_TARGETS = "NO_TARGETS"
    TARGET_NOT_COMMUNITY = "TARGET_NOT_COMMUNITY"
    TARGET_OUTSIDE_UNIT = "TARGET_OUTSIDE_UNIT"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    REMINDER_INVALID = "REMINDER_INVALID"
    TRANSITION_NOT_ALLOWED = "TRANSITION_NOT_ALLOWED"
    ASSIGNMENT_ARCHIVED = "ASSIGNMENT_ARCHIVED"
    RESULT_TEXT_REQUIRED = "RESULT_TEXT_REQUIRED"
    RESULT_FILES_REQUIRED = "RESULT_FILES_REQUIRED"
    REASON_REQUIRED = "REASON_REQUIRED"


class Move(StrEnum):
    ACCEPT = "ACCEPT"
    SUBMIT = "SUBMIT"
    VERIFY = "VERIFY"
    RETURN = "RETURN"


@dataclass(frozen=True)
class _Rule:
    sources: frozenset[TaskState]
    target: TaskState
    # Whose move it is: the receiving community's cadres, or the issuer's officials.
    by_issuer: bool
    verb: str


MOVES: dict[Move, _Rule] = {
    Move.ACCEPT: _Rule(
        frozenset({TaskState.ISSUED}), TaskState.ACCEPTED, False, "accepted"
    ),
    Move.SUBMIT: _Rule(
        frozenset({TaskState.ACCEPTED, TaskState.RETURNED}),
        TaskState.SUBMITTED,
        False,
        "submitted",
    ),
    Move.VERIFY: _Rule(
        frozenset({TaskState.SUBMITTED}), TaskState.VERIFIED, True, "verified"
    ),
    Move.RETURN: _Rule(
        frozenset({TaskState.SUBMITTED}), TaskState.RETURNED, True, "returned"
    ),
}


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


# -- the state machine -----------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    text: str = ""
    file_ids: tuple[int, ...] = ()


def _may_move(caller: Caller, rule: _Rule, assignment: TaskAssignment) -> bool:
    if rule.by_issuer:
        return caller.covers(assignment.issuer_path, OFFICIALS)
    return caller.covers(assignment.unit_path, CADRES)


async def _requirement_errors(
    context: Context, requirement: TaskRequirement, result: Result
) -> list[UserError]:
    errors: list[UserError] = []
    wants_text = requirement in (TaskRequirement.REQUIRED_TEXT, TaskRequirement.BOTH)
    wants_files = requirement in (TaskRequirement.REQUIRED_FILES, TaskRequirement.BOTH)
    if wants_text and not result.text.strip():
        errors.append(
            _error(
                "text",
                "This task is done with a written result: enter it.",
                TaskErrorCode.RESULT_TEXT_REQUIRED,
            )
        )
    if wants_files and not result.file_ids:
        errors.append(
            _error(
                "fileIds",
                "This task is done with files: upload at least one.",
                TaskErrorCode.RESULT_FILES_REQUIRED,
            )
        )
    await _check_files(context, result.file_ids, "fileIds", errors)
    return errors


async def move_assignment(
    context: Context,
    assignment_id: int,
    move: Move,
    result: Result | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Move an assignment one step; an illegal step is a user error and changes
    nothing."""
    caller = context.caller
    assignment = await visible(TaskAssignment, caller).get_or_none(id=assignment_id)
    if assignment is None:
        raise NotFound("No TaskAssignment has this id.")
    rule = MOVES[move]
    if not _may_move(caller, rule, assignment):
        who = "the issuing unit's officials" if rule.by_issuer else "its cadres"
        raise Forbidden(f"Only {who} may do this with an assignment.")

    errors: list[UserError] = []
    if assignment.state == TaskState.VERIFIED:
        errors.append(
            _error(
                "id",
                "The assignment is verified and archived; it cannot change.",
                TaskErrorCode.ASSIGNMENT_ARCHIVED,
            )
        )
    elif assignment.state not in rule.sources:
        errors.append(
            _error(
                "id",
                f"An assignment that is {assignment.state.value} cannot be "
                f"{rule.verb}.",
                TaskErrorCode.TRANSITION_NOT_ALLOWED,
            )
        )
    result = result or Result()
    if move == Move.SUBMIT and not errors:
        task = await Task.get(id=assignment.task_id)
        errors.extend(await _requirement_errors(context, task.requirement, result))
    if move == Move.RETURN and not reason.strip():
        errors.append(
            _error(
                "reason",
                "Say why the result goes back.",
                TaskErrorCode.REASON_REQUIRED,
            )
        )
    if errors:
        raise Invalid(errors)

    now = context.clock()
    changes = _changes(move, assignment, now, caller.person_id, result, reason)
    async with write(context, f"TASK_{move.value}") as work:
        # The state is the condition: a concurrent move leaves nothing to update.
        done = await TaskAssignment.filter(
            id=assignment.id, state=assignment.state
        ).update(**changes)
        if not done:
            raise Invalid(
                [
                    _error(
                        "id",
                        "The assignment changed meanwhile; reload it.",
                        TaskErrorCode.TRANSITION_NOT_ALLOWED,
                    )
                ]
            )
        await TaskTransition.create(
            assignment_id=assignment.id,
            unit_path=assignment.unit_path,
            from_state=assignment.state,
            to_state=rule.target,
            actor_id=caller.person_id,
            at=now,
            note=reason.strip(),
            detail={"files": list(result.file_ids)} if result.file_ids else {},
        )
        work.audit("TaskAssignment", [assignment.id], assignment.unit_path)
        row = {
            "id": assignment.id,
            "unit_id": assignment.unit_id,
            "unit_path": assignment.unit_path,
        }
        work.emit(_event(row, assignment.task_id, rule.target, caller.person_id, now))
        await after_move(work, assignment, rule.target)
    return await fetch_row(TaskAssignment, assignment.id)


def _changes(
    move: Move,
    assignment: TaskAssignment,
    now: datetime,
    actor: int | None,
    result: Result,
    reason: str,
) -> dict[str, Any]:
    changes: dict[str, Any] = {"state": MOVES[move].target, "updated_at": now}
    if move == Move.ACCEPT:
        changes.update(accepted_at=now, accepted_by_id=actor)
    elif move == Move.SUBMIT:
        changes.update(
            submitted_at=now,
            submitted_by_id=actor,
            result_text=result.text.strip(),
            result_file_ids=sorted(set(result.file_ids)),
            submit_seconds=int((now - assignment.issued_at).total_seconds()),
        )
    elif move == Move.VERIFY:
        submitted = assignment.submitted_at or now
        changes.update(
            verified_at=now,
            verified_by_id=actor,
            verify_seconds=int((now - submitted).total_seconds()),
        )
    else:
        changes.update(return_reason=reason.strip())
    return changes


async def after_move(work: Work, assignment: TaskAssignment, state: TaskState) -> None:
    """What follows a move besides the row: overdue warnings end once submitted."""
    if state in (TaskState.SUBMITTED, TaskState.VERIFIED):
        await resolve_warnings(work, key=overdue_key(assignment.id))


def overdue_key(assignment_id: int) -> str:
    """The key of an assignment's TASK_OVERDUE warning."""
    return f"task-overdue:{assignment_id}"


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


# -- the board -------------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    unit: dict[str, Any]
    totals: dict[str, Any]
    communities: list[dict[str, Any]]
    children: list[dict[str, Any]]


COUNTED = (
    TaskState.ISSUED,
    TaskState.ACCEPTED,
    TaskState.SUBMITTED,
    TaskState.VERIFIED,
    TaskState.RETURNED,
)


def _empty(unit: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {state.value.lower(): 0 for state in COUNTED}
    entry.update(
        unit=unit,
        total=0,
        overdue=0,
        submit_sum=0,
        submit_count=0,
        verify_sum=0,
        verify_count=0,
    )
    return entry


def _add(into: dict[str, Any], entry: dict[str, Any]) -> None:
    for key in (
        *(s.value.lower() for s in COUNTED),
        "total",
        "overdue",
        "submit_sum",
        "submit_count",
        "verify_sum",
        "verify_count",
    ):
        into[key] += entry[key]


async def board_unit(caller: Caller, unit_id: int) -> dict[str, Any]:
    """The row of a unit whose board the caller may see: staff whose jurisdiction
    covers the whole unit."""
    found = await visible(OrgUnit, caller).filter(id=unit_id).values(*columns(OrgUnit))
    if not found:
        raise NotFound("No OrgUnit has this id.")
    if not (caller.is_admin or caller.covers(found[0]["path"], STAFF_ROLES)):
        raise NotFound("No OrgUnit has this id in your jurisdiction.")
    row: dict[str, Any] = found[0]
    return row


async def board_entries(
    caller: Caller, path: str, now: datetime, task_id: int | None = None
) -> dict[int, dict[str, Any]]:
    """Counts per community under ``path``, in one statement, by community id."""
    open_states = [s.value for s in OPEN_STATES]
    annotations: dict[str, Any] = {
        state.value.lower(): Count("id", _filter=Q(state=state)) for state in COUNTED
    }
    annotations.update(
        total=Count("id"),
        overdue=Count("id", _filter=Q(state__in=open_states, deadline__lt=now)),
        submit_sum=Sum("submit_seconds"),
        submit_count=Count("submit_seconds"),
        verify_sum=Sum("verify_seconds"),
        verify_count=Count("verify_seconds"),
    )
    queryset = visible(TaskAssignment, caller).filter(unit_path__startswith=path)
    if task_id is not None:
        queryset = queryset.filter(task_id=task_id)
    found = (
        await queryset.annotate(**annotations)
        .group_by("unit_id")
        .values("unit_id", *annotations)
    )
    entries: dict[int, dict[str, Any]] = {}
    for row in found:
        entry = _empty(None)
        for key in annotations:
            entry[key] = int(row[key] or 0)
        entries[row["unit_id"]] = entry
    return entries


async def board(context: Context, unit_id: int, task_id: int | None = None) -> Board:
    """The board of a unit: every community under it, and each child unit, with
    counts by state, overdue, and average times to submit and to verify."""
    caller = context.caller
    unit_row = await board_unit(caller, unit_id)
    path = unit_row["path"]

    counts = await board_entries(caller, path, context.clock(), task_id)
    communities = await (
        OrgUnit.filter(path__startswith=path, level=Level.COMMUNITY)
        .order_by("id")
        .values(*columns(OrgUnit))
    )
    totals = _empty(unit_row)
    entries = []
    for community in communities:
        entry = {**counts.get(community["id"], _empty(None)), "unit": community}
        entries.append(entry)
        _add(totals, entry)
    children = await _children(unit_row, entries)
    return Board(unit_row, totals, entries, children)


async def _children(
    unit: dict[str, Any], entries: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Entries rolled up to the unit's direct children (by their path segment)."""
    if unit["level"] == Level.SUBDISTRICT:
        return list(entries)
    rows = await (
        OrgUnit.filter(parent_id=unit["id"]).order_by("id").values(*columns(OrgUnit))
    )
    path = unit["path"]
    by_path = {row["path"]: _empty(row) for row in rows}
    for entry in entries:
        head = entry["unit"]["path"][len(path) :].split("/", 1)[0]
        child = by_path.get(f"{path}{head}/")
        if child is not None:
            _add(child, entry)
    return list(by_path.values())


# -- reads -----------------------------------------------------------------------------


def is_overdue(state: TaskState | str, deadline: datetime, now: datetime) -> bool:
    return TaskState(state) in OPEN_STATES and deadline < now


def attached_files(context: Context) -> DataLoader[int, dict[str, Any] | None]:
    """Files attached to a task or a result, by id.

    Whoever may see the task or the assignment may see its files: the parent row
    was scoped, and an issuer's attachment lies outside a community's own files.
    """
    key = ("attached_files",)
    loader: DataLoader[int, dict[str, Any] | None] | None = context.loaders.get(key)
    if loader is None:

        async def load(ids: Sequence[int]) -> list[dict[str, Any] | None]:
            found = await StoredFile.filter(id__in=list(ids)).values(
                *columns(StoredFile)
            )
            index = {row["id"]: row for row in found}
            return [index.get(pk) for pk in ids]

        loader = DataLoader(load)
        context.loaders[key] = loader
    return loader


def tasks_query(
    caller: Caller,
    unit_id: int | None = None,
    category: str | None = None,
    standing: bool | None = None,
) -> QuerySet[Task]:
    queryset = visible(Task, caller)
    if unit_id is not None:
        queryset = queryset.filter(unit_id=unit_id)
    if category:
        queryset = queryset.filter(category=category.strip())
    if standing is not None:
        queryset = queryset.filter(standing_id__isnull=not standing)
    return queryset


async def assignments_query(
    context: Context,
    unit_id: int | None,
    task_id: int | None,
    states: Sequence[TaskState] | None,
    overdue: bool | None,
) -> QuerySet[TaskAssignment]:
    queryset = visible(TaskAssignment, context.caller)
    if unit_id is not None:
        unit = await visible(OrgUnit, context.caller).get_or_none(id=unit_id)
        if unit is None:
            raise NotFound("No OrgUnit has this id.")
        queryset = queryset.filter(unit_path__startswith=unit.path)
    if task_id is not None:
        queryset = queryset.filter(task_id=task_id)
    if states:
        queryset = queryset.filter(state__in=[TaskState(s) for s in states])
    if overdue is not None:
        late = Q(state__in=list(OPEN_STATES), deadline__lt=context.clock())
        queryset = queryset.filter(late if overdue else ~late)
    return queryset


def my_assignments_query(
    caller: Caller, states: Sequence[TaskState] | None
) -> QuerySet[TaskAssignment]:
    """Assignments of the communities where the caller is a cadre."""
    terms = [Q(unit_path__startswith=path) for path in caller.paths(CADRES)]
    if not terms:
        return TaskAssignment.filter(id__in=[])
    queryset = visible(TaskAssignment, caller).filter(reduce(or_, terms))
    if states:
        queryset = queryset.filter(state__in=[TaskState(s) for s in states])
    return queryset


async def standing_rows(queryset: QuerySet[StandingTask]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await queryset.order_by("position", "id").values(
        *columns(StandingTask)
    )
    return found


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


# -- the live board --------------------------------------------------------------------


def _community_of(event: Event) -> Any:
    return event.data.get("unit_id")


async def board_updates(context: Context, unit_id: int) -> AsyncGenerator[Any, None]:
    """The board of ``unit_id``, live: the entries of the communities that changed,
    computed once per batch of changes for every subscriber of this unit's board."""
    unit_row = await board_unit(context.caller, unit_id)
    path = unit_row["path"]
    # The channel reads as an official of exactly this unit: its scope is the
    # board's subtree whoever subscribed first.
    channel_caller = Caller(grants=(Grant(Role.OFFICIAL, unit_id, path),))

    async def compute(own: Context, marks: frozenset[Any]) -> list[dict[str, Any]]:
        communities = sorted(m for m in marks if isinstance(m, int))
        if not communities:
            return []
        now = own.clock()
        counts = await board_entries(own.caller, path, now)
        units = await OrgUnit.filter(id__in=communities, path__startswith=path).values(
            *columns(OrgUnit)
        )
        totals = _empty(unit_row)
        for entry in counts.values():
            _add(totals, entry)
        return [
            {
                "unit": unit_row,
                "entry": {**counts.get(row["id"], _empty(None)), "unit": row},
                "totals": totals,
                "at": now,
            }
            for row in sorted(units, key=lambda r: r["id"])
        ]

    view = shared_view(
        context,
        ("task-board", unit_id),
        TOPIC,
        path,
        compute,
        _community_of,
        channel_caller,
    )
    async with aclosing(view) as updates:
        async for update in updates:
            yield update
