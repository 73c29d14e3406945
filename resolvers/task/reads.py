"""Reads of tasks and assignments, through the row scopes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models import (
    OrgUnit,
    StandingTask,
    StoredFile,
    Task,
    TaskAssignment,
)
from models.enums import TaskState
from permissions.caller import Caller
from permissions.errors import NotFound
from permissions.scope import visible
from resolvers.context import Context
from resolvers.loaders import columns
from resolvers.task.common import (
    CADRES,
    OPEN_STATES,
)

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
