"""Tasks from the top down in the schema: tasks, assignments, the board, its feed.

A cadre's phone asks ``myAssignments``; an official's board asks ``taskBoard``
(counts by state per community and per child unit) and subscribes to
``taskBoardChanged``, which sends each changed community's entry once it moved.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Any

import strawberry

from models import OrgUnit as OrgUnitModel
from models import Person as PersonModel
from models import StandingTask as StandingTaskModel
from models import Task as TaskModel
from models import TaskAssignment as TaskAssignmentModel
from models import TaskTransition as TaskTransitionModel
from models.enums import Role, TaskCycle, TaskRequirement, TaskState
from permissions.rules import STAFF, VISIBLE, HasRole
from permissions.scope import visible
from resolvers import task as task_rules
from resolvers.base import Invalid
from resolvers.loaders import by_id, expose
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    failed,
    field,
    one,
    payload,
    rows,
    structural,
)
from schema.file import StoredFile
from schema.node import register_node
from schema.org import OrgUnit
from schema.person import Person
from schema.relations import related

__all__ = [
    "TaskMutation",
    "TaskQuery",
    "TaskSubscription",
]

TaskStateType = strawberry.enum(
    TaskState, description="Where an assignment stands (ISSUED → … → VERIFIED)."
)
TaskRequirementType = strawberry.enum(
    TaskRequirement, description="What counts as done: a text, files, or both."
)
TaskCycleType = strawberry.enum(
    TaskCycle, description="How often a standing task recurs."
)

ISSUERS = HasRole(Role.ADMIN, Role.OFFICIAL)
CADRES = HasRole(Role.CADRE)
OFFICIALS = HasRole(Role.OFFICIAL)


@strawberry.type(description="A standing kind of task (五清任务 and the like).")
class StandingTask(Node):
    name: str = field(VISIBLE, "Its name, e.g. 清垃圾.")
    instructions: str = field(VISIBLE, "What each period's task asks.")
    category: str = field(VISIBLE, "A category of the district's choosing.")
    cycle: TaskCycleType = field(VISIBLE, "How often it recurs.")  # type: ignore[valid-type]
    requirement: TaskRequirementType = field(  # type: ignore[valid-type]
        VISIBLE, "What counts as done."
    )
    due_days: int | None = field(
        VISIBLE, "Days after the period starts when it is due; null: its last day."
    )
    due_hour: int = field(VISIBLE, "The hour of the due day (China time).")
    reminder_hours: list[int] = field(
        VISIBLE, "Reminders, in hours before the deadline."
    )
    position: int = field(VISIBLE, "Its place in the district's list.")
    is_active: bool = field(VISIBLE, "Whether it is still issued every period.")

    unit: OrgUnit | None = related(
        VISIBLE, "The unit that issues it.", OrgUnitModel, source="unit_id", many=False
    )


@strawberry.type(description="A task issued by a district or subdistrict.")
class Task(Node):
    title: str = field(VISIBLE, "The title.")
    instructions: str = field(VISIBLE, "What to do.")
    category: str = field(VISIBLE, "A category of the issuer's choosing.")
    requirement: TaskRequirementType = field(  # type: ignore[valid-type]
        VISIBLE, "What counts as done."
    )
    deadline: datetime = field(VISIBLE, "When the result is due.")
    reminder_hours: list[int] = field(
        VISIBLE, "Reminders, in hours before the deadline."
    )
    issued_at: datetime = field(VISIBLE, "When it was issued.")
    period_start: date | None = field(
        VISIBLE, "For a standing task: the first day of its period."
    )

    unit: OrgUnit | None = related(
        VISIBLE, "The issuing unit.", OrgUnitModel, source="unit_id", many=False
    )
    standing: StandingTask | None = related(
        VISIBLE,
        "The standing kind it was issued from, if any (the 5 of 5+X).",
        StandingTaskModel,
        source="standing_id",
        many=False,
    )
    issued_by: Person | None = related(
        VISIBLE,
        "Who issued it, if the caller may see them (null: the schedule).",
        PersonModel,
        source="issued_by_id",
        many=False,
    )
    assignments: list[TaskAssignment] = related(
        VISIBLE,
        "Its assignments that the caller may see, one per community.",
        TaskAssignmentModel,
        key="task_id",
    )

    @field(VISIBLE, "Files attached by the issuer.")
    async def attachments(self, info: AppInfo) -> list[StoredFile]:
        ids = as_row(self)["attachment_ids"]
        loader = task_rules.attached_files(info.context)
        found = await loader.load_many(ids)
        return rows(StoredFile, (f for f in found if f is not None))

    @field(VISIBLE, "Whether it comes from a standing kind.")
    def is_standing(self) -> bool:
        return as_row(self)["standing_id"] is not None


@strawberry.type(description="One community's share of a task.")
class TaskAssignment(Node):
    state: TaskStateType = field(VISIBLE, "Where it stands.")  # type: ignore[valid-type]
    deadline: datetime = field(VISIBLE, "When the result is due.")
    result_text: str = field(VISIBLE, "The submitted result, as text.")
    return_reason: str = field(VISIBLE, "Why the result was last returned.")
    issued_at: datetime = field(VISIBLE, "When it was issued.")
    accepted_at: datetime | None = field(VISIBLE, "When the community took it (领办).")
    submitted_at: datetime | None = field(
        VISIBLE, "When the result was last submitted."
    )
    verified_at: datetime | None = field(VISIBLE, "When it was verified (核销).")

    task: Task | None = related(
        VISIBLE, "The task.", TaskModel, source="task_id", many=False
    )
    unit: OrgUnit | None = related(
        VISIBLE, "The receiving community.", OrgUnitModel, source="unit_id", many=False
    )
    accepted_by: Person | None = related(
        VISIBLE, "Who accepted it.", PersonModel, source="accepted_by_id", many=False
    )
    submitted_by: Person | None = related(
        VISIBLE,
        "Who submitted the result.",
        PersonModel,
        source="submitted_by_id",
        many=False,
    )
    verified_by: Person | None = related(
        VISIBLE, "Who verified it.", PersonModel, source="verified_by_id", many=False
    )
    transitions: list[TaskTransition] = related(
        VISIBLE, "Every move, oldest first.", TaskTransitionModel, key="assignment_id"
    )

    @field(VISIBLE, "The submitted files.")
    async def result_files(self, info: AppInfo) -> list[StoredFile]:
        ids = as_row(self)["result_file_ids"]
        found = await task_rules.attached_files(info.context).load_many(ids)
        return rows(StoredFile, (f for f in found if f is not None))

    @field(VISIBLE, "Past its deadline and not yet submitted.")
    def is_overdue(self, info: AppInfo) -> bool:
        row = as_row(self)
        return task_rules.is_overdue(
            row["state"], row["deadline"], info.context.clock()
        )


@strawberry.type(description="One move of an assignment: who, when, from, to.")
class TaskTransition(Node):
    from_state: TaskStateType | None = field(  # type: ignore[valid-type]
        VISIBLE, "The state before; null for the issue."
    )
    to_state: TaskStateType = field(VISIBLE, "The state after.")  # type: ignore[valid-type]
    at: datetime = field(VISIBLE, "When.")
    note: str = field(VISIBLE, "The reason given, for a return.")

    actor: Person | None = related(
        VISIBLE,
        "Who moved it, if the caller may see them (null: the schedule).",
        PersonModel,
        source="actor_id",
        many=False,
    )


@structural
@strawberry.type(description="Counts of assignments by state, for a community or unit.")
class TaskBoardEntry:
    unit: OrgUnit | None = strawberry.field(description="The community or unit.")
    total: int = strawberry.field(description="All assignments.")
    issued: int = strawberry.field(description="Issued, not yet accepted.")
    accepted: int = strawberry.field(description="Accepted (领办), not yet submitted.")
    submitted: int = strawberry.field(description="Submitted, awaiting verification.")
    verified: int = strawberry.field(description="Verified (核销).")
    returned: int = strawberry.field(description="Returned for resubmission.")
    overdue: int = strawberry.field(description="Past the deadline, not submitted.")

    @strawberry.field(description="Average hours from issue to submission.")
    def average_submit_hours(self) -> float | None:
        row = as_row(self)
        return _hours(row["submit_sum"], row["submit_count"])

    @strawberry.field(description="Average hours from submission to verification.")
    def average_verify_hours(self) -> float | None:
        row = as_row(self)
        return _hours(row["verify_sum"], row["verify_count"])

    @strawberry.field(description="Verified share of all assignments, 0 to 1.")
    def completion_rate(self) -> float | None:
        row = as_row(self)
        return round(row["verified"] / row["total"], 4) if row["total"] else None


def _hours(seconds: int, count: int) -> float | None:
    return round(seconds / count / 3600, 2) if count else None


@structural
@strawberry.type(description="A unit's task board.")
class TaskBoard:
    unit: OrgUnit = strawberry.field(description="The unit.")
    totals: TaskBoardEntry = strawberry.field(description="All its communities.")
    communities: list[TaskBoardEntry] = strawberry.field(
        description="Every community under it, by id."
    )
    children: list[TaskBoardEntry] = strawberry.field(
        description="Its direct child units, rolled up (for a subdistrict: its "
        "communities)."
    )


@structural
@strawberry.type(description="A community's board entry changed under a board's unit.")
class TaskBoardUpdate:
    unit: OrgUnit = strawberry.field(description="The board's unit.")
    entry: TaskBoardEntry = strawberry.field(description="The community's new entry.")
    totals: TaskBoardEntry = strawberry.field(description="The board's new totals.")
    at: datetime = strawberry.field(description="When it was computed.")


for _name, _model in (
    ("StandingTask", StandingTaskModel),
    ("Task", TaskModel),
    ("TaskAssignment", TaskAssignmentModel),
    ("TaskTransition", TaskTransitionModel),
):
    register_node(_name, _model)
# Read by resolvers rather than shown as leaves: rows must carry them.
expose(TaskModel, frozenset({"attachment_ids"}))
expose(TaskAssignmentModel, frozenset({"result_file_ids"}))


def _pk(value: strawberry.ID | None, type_name: str) -> int | None:
    return decode_id(value, type_name)[1] if value else None


@strawberry.type
class TaskQuery:
    @field(STAFF, "A task by id, if the caller may see it.")
    async def task(self, info: AppInfo, id: strawberry.ID) -> Task | None:
        _, pk = decode_id(id, "Task")
        return one(Task, await by_id(info.context, TaskModel).load(pk))

    @field(STAFF, "Tasks the caller may see: issued in or to their jurisdiction.")
    async def tasks(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        category: str | None = None,
        standing: bool | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Task]:
        queryset = task_rules.tasks_query(
            info.context.caller, _pk(unit_id, "OrgUnit"), category, standing
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(STAFF, "An assignment by id, if the caller may see it.")
    async def task_assignment(
        self, info: AppInfo, id: strawberry.ID
    ) -> TaskAssignment | None:
        _, pk = decode_id(id, "TaskAssignment")
        return one(
            TaskAssignment, await by_id(info.context, TaskAssignmentModel).load(pk)
        )

    @field(STAFF, "Assignments under a unit (or all the caller may see), filtered.")
    async def task_assignments(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        task_id: strawberry.ID | None = None,
        states: list[TaskStateType] | None = None,  # type: ignore[valid-type]
        overdue: bool | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[TaskAssignment]:
        queryset = await task_rules.assignments_query(
            info.context,
            _pk(unit_id, "OrgUnit"),
            _pk(task_id, "Task"),
            states,
            overdue,
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(CADRES, "The assignments of the caller's communities, for a cadre's phone.")
    async def my_assignments(
        self,
        info: AppInfo,
        states: list[TaskStateType] | None = None,  # type: ignore[valid-type]
        first: int = 20,
        after: str | None = None,
    ) -> Connection[TaskAssignment]:
        queryset = task_rules.my_assignments_query(info.context.caller, states)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(STAFF, "The task board of a unit the caller's jurisdiction covers.")
    async def task_board(
        self,
        info: AppInfo,
        unit_id: strawberry.ID,
        task_id: strawberry.ID | None = None,
    ) -> TaskBoard:
        _, pk = decode_id(unit_id, "OrgUnit")
        found = await task_rules.board(info.context, pk, _pk(task_id, "Task"))
        return {  # type: ignore[return-value]
            "unit": found.unit,
            "totals": found.totals,
            "communities": found.communities,
            "children": found.children,
        }

    @field(STAFF, "The standing kinds of tasks (the 5 of 5+X) the caller may see.")
    async def standing_tasks(
        self, info: AppInfo, active: bool | None = None
    ) -> list[StandingTask]:
        queryset = visible(StandingTaskModel, info.context.caller)
        if active is not None:
            queryset = queryset.filter(is_active=active)
        found = await task_rules.standing_rows(queryset)
        return rows(StandingTask, found)


@strawberry.input(description="A task to issue.")
class TaskIssueInput:
    unit_id: strawberry.ID = strawberry.field(description="The issuing unit.")
    title: str
    deadline: datetime
    requirement: TaskRequirementType  # type: ignore[valid-type]
    instructions: str = ""
    category: str = ""
    attachment_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    reminder_hours: list[int] = strawberry.field(
        default_factory=lambda: list(task_rules.DEFAULT_REMINDER_HOURS),
        description="Lead times of the reminders, in hours before the deadline.",
    )
    community_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Chosen communities."
    )
    under_unit_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Units whose every community receives it."
    )


@strawberry.input(description="A standing kind of task.")
class StandingTaskInput:
    name: str
    cycle: TaskCycleType  # type: ignore[valid-type]
    requirement: TaskRequirementType  # type: ignore[valid-type]
    instructions: str = ""
    category: str = ""
    due_days: int | None = None
    due_hour: int = 18
    reminder_hours: list[int] = strawberry.field(
        default_factory=lambda: list(task_rules.DEFAULT_REMINDER_HOURS)
    )
    position: int = 0
    is_active: bool = True


@structural
@strawberry.type(description="The result of `taskIssue`.")
class TaskIssuePayload:
    errors: list[UserErrorType]
    task: Task | None


@structural
@strawberry.type(description="The result of a move of an assignment.")
class TaskAssignmentPayload:
    errors: list[UserErrorType]
    assignment: TaskAssignment | None


@structural
@strawberry.type(description="The result of a change to a standing task.")
class StandingTaskPayload:
    errors: list[UserErrorType]
    standing_task: StandingTask | None


def _ids(values: list[strawberry.ID], type_name: str) -> tuple[int, ...]:
    return tuple(decode_id(value, type_name)[1] for value in values)


async def _move(
    info: AppInfo,
    id: strawberry.ID,
    move: task_rules.Move,
    result: task_rules.Result | None = None,
    reason: str = "",
) -> TaskAssignmentPayload:
    _, pk = decode_id(id, "TaskAssignment")
    try:
        row = await task_rules.move_assignment(info.context, pk, move, result, reason)
    except Invalid as invalid:
        return failed(invalid, "assignment")  # type: ignore[no-any-return]
    return payload(assignment=row)  # type: ignore[no-any-return]


def _standing_draft(input: StandingTaskInput) -> task_rules.StandingDraft:
    return task_rules.StandingDraft(
        name=input.name,
        cycle=TaskCycle(input.cycle),
        requirement=TaskRequirement(input.requirement),
        instructions=input.instructions,
        category=input.category,
        due_days=input.due_days,
        due_hour=input.due_hour,
        reminder_hours=tuple(input.reminder_hours),
        position=input.position,
        is_active=input.is_active,
    )


@strawberry.type
class TaskMutation:
    @field(ISSUERS, "Issue a task to communities under a district or subdistrict.")
    async def task_issue(
        self, info: AppInfo, input: TaskIssueInput
    ) -> TaskIssuePayload:
        _, unit = decode_id(input.unit_id, "OrgUnit")
        draft = task_rules.TaskDraft(
            unit_id=unit,
            title=input.title,
            deadline=input.deadline,
            requirement=TaskRequirement(input.requirement),
            instructions=input.instructions,
            category=input.category,
            attachment_ids=_ids(input.attachment_ids, "StoredFile"),
            reminder_hours=tuple(input.reminder_hours),
            community_ids=_ids(input.community_ids, "OrgUnit"),
            under_unit_ids=_ids(input.under_unit_ids, "OrgUnit"),
        )
        try:
            row = await task_rules.issue_task(info.context, draft)
        except Invalid as invalid:
            return failed(invalid, "task")  # type: ignore[no-any-return]
        return payload(task=row)  # type: ignore[no-any-return]

    @field(CADRES, "Take an issued assignment (领办), by a cadre of its community.")
    async def task_assignment_accept(
        self, info: AppInfo, id: strawberry.ID
    ) -> TaskAssignmentPayload:
        return await _move(info, id, task_rules.Move.ACCEPT)

    @field(CADRES, "Submit the result: what the task counts as done must be there.")
    async def task_assignment_submit(
        self,
        info: AppInfo,
        id: strawberry.ID,
        text: str = "",
        file_ids: list[strawberry.ID] | None = None,
    ) -> TaskAssignmentPayload:
        result = task_rules.Result(text, _ids(file_ids or [], "StoredFile"))
        return await _move(info, id, task_rules.Move.SUBMIT, result)

    @field(OFFICIALS, "Verify a submitted result (核销), by the issuer's officials.")
    async def task_assignment_verify(
        self, info: AppInfo, id: strawberry.ID
    ) -> TaskAssignmentPayload:
        return await _move(info, id, task_rules.Move.VERIFY)

    @field(OFFICIALS, "Return a submitted result with a reason, for resubmission.")
    async def task_assignment_return(
        self, info: AppInfo, id: strawberry.ID, reason: str
    ) -> TaskAssignmentPayload:
        return await _move(info, id, task_rules.Move.RETURN, reason=reason)

    @field(ISSUERS, "Add a standing kind of task to a district or subdistrict.")
    async def standing_task_create(
        self, info: AppInfo, unit_id: strawberry.ID, input: StandingTaskInput
    ) -> StandingTaskPayload:
        _, unit = decode_id(unit_id, "OrgUnit")
        try:
            row = await task_rules.save_standing(
                info.context, _standing_draft(input), unit_id=unit
            )
        except Invalid as invalid:
            return failed(invalid, "standing_task")  # type: ignore[no-any-return]
        return payload(standing_task=row)  # type: ignore[no-any-return]

    @field(ISSUERS, "Change a standing kind of task; later periods follow it.")
    async def standing_task_update(
        self, info: AppInfo, id: strawberry.ID, input: StandingTaskInput
    ) -> StandingTaskPayload:
        _, pk = decode_id(id, "StandingTask")
        try:
            row = await task_rules.save_standing(
                info.context, _standing_draft(input), standing_id=pk
            )
        except Invalid as invalid:
            return failed(invalid, "standing_task")  # type: ignore[no-any-return]
        return payload(standing_task=row)  # type: ignore[no-any-return]


@strawberry.type
class TaskSubscription:
    @field(
        STAFF,
        "A unit's board, live: each community entry that changes under it, with the "
        "board's totals, computed once per board and sent to all its subscribers.",
        is_subscription=True,
    )
    async def task_board_changed(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> AsyncGenerator[TaskBoardUpdate, None]:
        _, pk = decode_id(unit_id, "OrgUnit")
        async for update in task_rules.board_updates(info.context, pk):
            yield update
