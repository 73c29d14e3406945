"""The state machine of an assignment: one move at a time, recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import (
    Task,
    TaskAssignment,
    TaskTransition,
)
from models.enums import TaskRequirement, TaskState
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.loaders import fetch_row
from resolvers.task.common import (
    CADRES,
    MOVES,
    OFFICIALS,
    Move,
    TaskErrorCode,
    _Rule,
)
from resolvers.task.issue import (
    _check_files,
    _error,
    _event,
)
from resolvers.warnings import resolve_warnings

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
