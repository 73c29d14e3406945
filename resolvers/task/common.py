"""What the task domain's modules share: states that can go overdue, the moves
of the state machine, error codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from models.enums import Level, Role, TaskState

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
