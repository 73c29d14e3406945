"""Row scopes of the task domain, registered in ``permissions.scope.SCOPES``.

- assignments and their transitions: staff (officials, cadres) of the receiving
  community's subtree or above it; residents and companies see none;
- tasks: staff over the issuing unit, and staff of a community that received one;
- standing kinds: staff anywhere in the issuing unit's subtree or above it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from operator import or_
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models import StandingTask, Task, TaskAssignment, TaskTransition
from permissions.caller import STAFF_ROLES, Caller

__all__ = ["TASK_SCOPES", "ancestors"]


def ancestors(path: str) -> list[str]:
    """``/1/2/4/`` → ``["/1/", "/1/2/", "/1/2/4/"]``."""
    ids = [part for part in path.split("/") if part]
    return ["/" + "/".join(ids[: n + 1]) + "/" for n in range(len(ids))]


def _under(paths: tuple[str, ...], key: str = "unit_path") -> Q | None:
    terms = [Q(**{f"{key}__startswith": path}) for path in paths]
    return reduce(or_, terms) if terms else None


def _subtree(model: type[Model]) -> Callable[[Caller], QuerySet[Any]]:
    def scope(caller: Caller) -> QuerySet[Any]:
        if caller.is_admin:
            return model.all()
        where = _under(caller.paths(STAFF_ROLES))
        return model.filter(where) if where is not None else model.filter(id__in=[])

    return scope


def _tasks(caller: Caller) -> QuerySet[Task]:
    if caller.is_admin:
        return Task.all()
    paths = caller.paths(STAFF_ROLES)
    where = _under(paths)
    if where is None:
        return Task.filter(id__in=[])
    received = TaskAssignment.filter(where).values("task_id")
    return Task.filter(where | Q(id__in=Subquery(received)))


def _standing(caller: Caller) -> QuerySet[StandingTask]:
    if caller.is_admin:
        return StandingTask.all()
    paths = caller.paths(STAFF_ROLES)
    above = sorted({a for path in paths for a in ancestors(path)})
    where = _under(paths)
    if where is None:
        return StandingTask.filter(id__in=[])
    return StandingTask.filter(where | Q(unit_path__in=above))


TASK_SCOPES: dict[type[Model], Callable[[Caller], QuerySet[Any]]] = {
    StandingTask: _standing,
    Task: _tasks,
    TaskAssignment: _subtree(TaskAssignment),
    TaskTransition: _subtree(TaskTransition),
}
