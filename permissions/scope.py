"""Row scoping: the one place that decides which rows of a model a caller may see.

Every read of a governed model starts from ``visible(Model, caller)``: lists,
connections, nested lists, ``node(id:)`` lookups, mutations that load what they
change, subscriptions and exports alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import reduce
from operator import or_
from typing import Any, TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models import (
    ApiToken,
    AuditRecord,
    Building,
    Estate,
    EstateManagement,
    Household,
    HouseholdMember,
    ImportRowReport,
    ImportRun,
    Notification,
    Organization,
    OrgUnit,
    Person,
    RoleAssignment,
    StoredFile,
    Warning,
)
from models.enums import Role
from permissions.caller import STAFF_ROLES, Caller

__all__ = ["SCOPES", "active_on", "is_public", "paths_q", "visible"]

M = TypeVar("M", bound=Model)
Scope = Callable[[Caller], QuerySet[Any]]


def paths_q(paths: Iterable[str], key: str = "unit_path") -> Q | None:
    """``key`` starts with any of ``paths``; ``None`` when there are none."""
    terms = [Q(**{f"{key}__startswith": path}) for path in paths]
    return reduce(or_, terms) if terms else None


def active_on(day: date, start: str = "starts_on", end: str = "ends_on") -> Q:
    began: dict[str, Any] = {f"{start}__lte": day}
    open_ended: dict[str, Any] = {f"{end}__isnull": True}
    not_yet_ended: dict[str, Any] = {f"{end}__gt": day}
    return Q(**began) & (Q(**open_ended) | Q(**not_yet_ended))


def _nothing(model: type[M]) -> QuerySet[M]:
    return model.filter(id__in=[])


def _staff_subtree(caller: Caller, key: str = "unit_path") -> Q | None:
    """Rows under a unit where the caller is staff; admins are handled before."""
    return paths_q(caller.paths(STAFF_ROLES), key)


def _public(model: type[M]) -> Scope:
    def scope(caller: Caller) -> QuerySet[M]:
        return model.all()

    _PUBLIC.add(scope)
    return scope


# Scopes that give every caller the same rows: a reader may keep their statements.
_PUBLIC: set[Scope] = set()


def _households(caller: Caller) -> QuerySet[Household]:
    if caller.is_admin:
        return Household.all()
    terms: list[Q] = []
    staff = _staff_subtree(caller)
    if staff is not None:
        terms.append(staff)
    if caller.person_id is not None:
        own = HouseholdMember.filter(person_id=caller.person_id).values("household_id")
        terms.append(Q(id__in=Subquery(own)))
    if caller.estate_ids:
        terms.append(Q(building__estate_id__in=list(caller.estate_ids)))
    if not terms:
        return _nothing(Household)
    return Household.filter(reduce(or_, terms))


def _people(caller: Caller) -> QuerySet[Person]:
    if caller.is_admin:
        return Person.all()
    terms: list[Q] = []
    paths = caller.paths(STAFF_ROLES)
    if paths:
        where = paths_q(paths)
        assert where is not None
        today = date.today()
        members = HouseholdMember.filter(where, active_on(today)).values("person_id")
        # Only roles not yet ended: a post held here long ago must not keep the
        # holder (their phone, ID number, ...) in view after they have left, as
        # memberships above end with the household. The ended assignments stay
        # visible as history (``RoleAssignment`` rows), their holder does not.
        now = datetime.now(UTC)
        lasting = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        holders = RoleAssignment.filter(where, lasting).values("person_id")
        terms.append(Q(id__in=Subquery(members)) | Q(id__in=Subquery(holders)))
    if caller.person_id is not None:
        terms.append(Q(id=caller.person_id))
    if not terms:
        return _nothing(Person)
    return Person.filter(reduce(or_, terms))


def _by_path_or_own(model: type[M]) -> Scope:
    def scope(caller: Caller) -> QuerySet[M]:
        if caller.is_admin:
            return model.all()
        terms: list[Q] = []
        staff = _staff_subtree(caller)
        if staff is not None:
            terms.append(staff)
        if caller.person_id is not None:
            terms.append(Q(person_id=caller.person_id))
        if not terms:
            return _nothing(model)
        return model.filter(reduce(or_, terms))

    return scope


def _api_tokens(caller: Caller) -> QuerySet[ApiToken]:
    if caller.is_admin:
        return ApiToken.all()
    where = paths_q(caller.paths(frozenset({Role.OFFICIAL})), "organization__unit_path")
    return ApiToken.filter(where) if where is not None else _nothing(ApiToken)


def _audit(caller: Caller) -> QuerySet[AuditRecord]:
    return AuditRecord.all() if caller.is_admin else _nothing(AuditRecord)


def _files(caller: Caller) -> QuerySet[StoredFile]:
    if caller.is_admin:
        return StoredFile.all()
    terms: list[Q] = []
    staff = _staff_subtree(caller)
    if staff is not None:
        terms.append(staff)
    if caller.person_id is not None:
        terms.append(Q(uploaded_by_id=caller.person_id))
    return StoredFile.filter(reduce(or_, terms)) if terms else _nothing(StoredFile)


def _notifications(caller: Caller) -> QuerySet[Notification]:
    # A person's own, whoever they are: notifications are not records of a unit.
    if caller.person_id is None:
        return _nothing(Notification)
    return Notification.filter(person_id=caller.person_id)


def _warnings(caller: Caller) -> QuerySet[Warning]:
    if caller.is_admin:
        return Warning.all()
    staff = _staff_subtree(caller)
    return Warning.filter(staff) if staff is not None else _nothing(Warning)


def _import_runs(caller: Caller) -> QuerySet[ImportRun]:
    if caller.is_admin:
        return ImportRun.all()
    terms: list[Q] = []
    staff = paths_q([p for p in caller.paths(STAFF_ROLES) if p])
    if staff is not None:
        terms.append(staff & ~Q(unit_path=""))
    if caller.person_id is not None:
        terms.append(Q(started_by_id=caller.person_id))
    if caller.token_id is not None:
        terms.append(Q(token_id=caller.token_id))
    return ImportRun.filter(reduce(or_, terms)) if terms else _nothing(ImportRun)


def _import_reports(caller: Caller) -> QuerySet[ImportRowReport]:
    runs = _import_runs(caller).values("id")
    return ImportRowReport.filter(run_id__in=Subquery(runs))


SCOPES: dict[type[Model], Scope] = {
    # The administrative directory is public: residents choose their community in it.
    OrgUnit: _public(OrgUnit),
    Estate: _public(Estate),
    Building: _public(Building),
    Organization: _public(Organization),
    EstateManagement: _public(EstateManagement),
    Household: _households,
    Person: _people,
    HouseholdMember: _by_path_or_own(HouseholdMember),
    RoleAssignment: _by_path_or_own(RoleAssignment),
    ApiToken: _api_tokens,
    AuditRecord: _audit,
    StoredFile: _files,
    Notification: _notifications,
    Warning: _warnings,
    ImportRun: _import_runs,
    ImportRowReport: _import_reports,
}


def is_public(model: type[Model]) -> bool:
    """Whether every caller sees every row of ``model`` (its scope is ``_public``)."""
    return SCOPES.get(model) in _PUBLIC


def visible(model: type[M], caller: Caller) -> QuerySet[M]:
    """The rows of ``model`` that ``caller`` may see; a model with no scope raises."""
    try:
        scope = SCOPES[model]
    except KeyError:
        raise LookupError(f"{model.__name__} has no row scope") from None
    queryset: QuerySet[M] = scope(caller)
    return queryset
