"""Row scopes of duty attendance, registered in ``permissions.scope.SCOPES``.

Rules and check-ins: a cadre sees their own; the community's head (a cadre whose
post there is one of ``HEAD_TITLES``) sees the community's; officials see their
subtree; admins everything. Check-in points are seen by all staff of the
community's subtree and by the officials above.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import reduce
from operator import or_
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models import CheckInPoint, DutyCheckIn, DutyRule, RoleAssignment, WorkCalendarDay
from models.enums import Role
from permissions.caller import STAFF_ROLES, Caller

__all__ = ["DUTY_SCOPES", "HEAD_TITLES", "heads_of"]

# The posts that head a community (书记 of its party organisation, 主任 of its
# committee), as staff accounts are titled.
HEAD_TITLES = ("书记", "主任", "社区书记", "村书记", "社区主任", "村主任", "负责人")
OFFICIALS = frozenset({Role.OFFICIAL})


def heads_of(person_id: int) -> QuerySet[RoleAssignment]:
    """The lasting head posts of ``person_id`` (their ``unit_path`` values)."""
    now = datetime.now(UTC)
    return RoleAssignment.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        person_id=person_id,
        role=Role.CADRE,
        title__in=HEAD_TITLES,
    )


def _under(paths: tuple[str, ...]) -> list[Q]:
    return [Q(unit_path__startswith=path) for path in paths]


def _personal(model: type[Model]) -> Callable[[Caller], QuerySet[Any]]:
    def scope(caller: Caller) -> QuerySet[Any]:
        if caller.is_admin:
            return model.all()
        terms = _under(caller.paths(OFFICIALS))
        if caller.person_id is not None and Role.CADRE in caller.roles:
            terms.append(Q(person_id=caller.person_id))
            headed = heads_of(caller.person_id).values("unit_path")
            terms.append(Q(unit_path__in=Subquery(headed)))
        if not terms:
            return model.filter(id__in=[])
        return model.filter(reduce(or_, terms))

    return scope


def _points(caller: Caller) -> QuerySet[CheckInPoint]:
    if caller.is_admin:
        return CheckInPoint.all()
    terms = _under(caller.paths(STAFF_ROLES))
    return (
        CheckInPoint.filter(reduce(or_, terms))
        if terms
        else CheckInPoint.filter(id__in=[])
    )


def _calendar(caller: Caller) -> QuerySet[WorkCalendarDay]:
    # The official calendar is public knowledge.
    return WorkCalendarDay.all()


DUTY_SCOPES: dict[type[Model], Callable[[Caller], QuerySet[Any]]] = {
    DutyRule: _personal(DutyRule),
    DutyCheckIn: _personal(DutyCheckIn),
    CheckInPoint: _points,
    WorkCalendarDay: _calendar,
}
