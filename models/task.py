"""Tasks from the top down (任务管理, "5+X"): standing kinds, tasks, assignments.

A ``Task`` is issued by a district or subdistrict unit; each receiving community
gets a ``TaskAssignment`` that moves through ``TaskState``; every move is kept as
a ``TaskTransition``. ``StandingTask`` rows are the district's standing kinds
(五清任务): data it configures, from which a job issues a task every period.
"""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import TaskCycle, TaskRequirement, TaskState
from models.org import OrgUnit

__all__ = ["StandingTask", "Task", "TaskAssignment", "TaskTransition"]


class StandingTask(Model):
    # A standing kind of task (五清任务 and the like), issued anew every cycle to
    # every community under ``unit``; ``due_days`` after the period starts (null:
    # on the period's last day) at ``due_hour`` local time.

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="standing_tasks", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    name = fields.CharField(max_length=100)
    instructions = fields.TextField(default="")
    category = fields.CharField(max_length=40, default="")
    cycle = fields.CharEnumField(TaskCycle, max_length=10)
    requirement = fields.CharEnumField(TaskRequirement, max_length=16)
    due_days = fields.SmallIntField(null=True)
    due_hour = fields.SmallIntField(default=18)
    reminder_hours: fields.JSONField[list[int]] = fields.JSONField(default=list)
    position = fields.SmallIntField(default=0)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    unit_id: int

    class Meta:
        table = "standing_task"


class Task(Model):
    # Issued by ``unit`` (a district or subdistrict) at ``issued_at``.

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="tasks", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    standing: fields.ForeignKeyNullableRelation[StandingTask] = fields.ForeignKeyField(
        "models.StandingTask",
        related_name="tasks",
        null=True,
        on_delete=fields.RESTRICT,
    )
    period_start = fields.DateField(null=True)
    title = fields.CharField(max_length=200)
    instructions = fields.TextField(default="")
    category = fields.CharField(max_length=40, default="")
    requirement = fields.CharEnumField(TaskRequirement, max_length=16)
    deadline = fields.DatetimeField(db_index=True)
    attachment_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    reminder_hours: fields.JSONField[list[int]] = fields.JSONField(default=list)
    issued_by_id = fields.IntField(null=True)
    issued_at = fields.DatetimeField()

    unit_id: int
    standing_id: int | None

    class Meta:
        table = "task"
        unique_together = (("standing", "period_start"),)


class TaskAssignment(Model):
    # One receiving community's share of a task. ``unit_path`` is the community's
    # path (what scoping filters on); ``issuer_path`` the issuing unit's, and
    # ``deadline`` the task's, copied so the board reads one table.

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="assignments", on_delete=fields.RESTRICT
    )
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="task_assignments", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    issuer_path = fields.CharField(max_length=255)
    state = fields.CharEnumField(TaskState, max_length=10, db_index=True)
    deadline = fields.DatetimeField(db_index=True)
    result_text = fields.TextField(default="")
    result_file_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    return_reason = fields.TextField(default="")
    issued_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    submitted_at = fields.DatetimeField(null=True)
    verified_at = fields.DatetimeField(null=True)
    accepted_by_id = fields.IntField(null=True)
    submitted_by_id = fields.IntField(null=True)
    verified_by_id = fields.IntField(null=True)
    # Seconds from issue to the last submission, and from it to verification:
    # summed by the board in SQL on either database.
    submit_seconds = fields.IntField(null=True)
    verify_seconds = fields.IntField(null=True)
    updated_at = fields.DatetimeField()

    task_id: int
    unit_id: int

    class Meta:
        table = "task_assignment"
        unique_together = (("task", "unit"),)


class TaskTransition(Model):
    # One move of an assignment: who, when, from which state to which.

    id = fields.IntField(primary_key=True)
    assignment: fields.ForeignKeyRelation[TaskAssignment] = fields.ForeignKeyField(
        "models.TaskAssignment", related_name="transitions", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    from_state = fields.CharEnumField(TaskState, max_length=10, null=True)
    to_state = fields.CharEnumField(TaskState, max_length=10)
    actor_id = fields.IntField(null=True)
    at = fields.DatetimeField()
    note = fields.TextField(default="")
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    assignment_id: int

    class Meta:
        table = "task_transition"
