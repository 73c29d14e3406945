"""Tasks from the top down: issuing, the assignment state machine, the board.

The package's modules: ``common`` (states, moves, codes), ``issue`` (tasks and
standing kinds), ``moves`` (the state machine), ``board`` (the board and its
live feed), ``reads`` (scoped reads) and ``jobs`` (standing tasks each period,
reminders, escalation); this module re-exports what the schema uses.

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

from resolvers.task.board import (
    Board,
    board,
    board_entries,
    board_unit,
    board_updates,
)
from resolvers.task.common import (
    CHINA,
    DEFAULT_REMINDER_HOURS,
    MAX_REMINDER_HOURS,
    MOVES,
    OPEN_STATES,
    TOPIC,
    Move,
    TaskErrorCode,
)
from resolvers.task.issue import (
    StandingDraft,
    TaskDraft,
    issue_standing,
    issue_task,
    period_of,
    save_standing,
    standing_deadline,
)
from resolvers.task.moves import (
    Result,
    move_assignment,
    overdue_key,
)
from resolvers.task.reads import (
    assignments_query,
    attached_files,
    is_overdue,
    my_assignments_query,
    standing_rows,
    tasks_query,
)

__all__ = [
    "CHINA",
    "DEFAULT_REMINDER_HOURS",
    "MAX_REMINDER_HOURS",
    "MOVES",
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
    "standing_deadline",
    "standing_rows",
    "tasks_query",
]
