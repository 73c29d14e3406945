"""Row scoping: the one place that decides which rows of a model a caller may see.

Every read of a governed model starts from ``visible(Model, caller)``: lists,
connections, nested lists, ``node(id:)`` lookups, mutations that load what they
change, subscriptions and exports alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
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
    Organization,
    OrgUnit,
    Person,
    RoleAssignment,
    StoredFile,
)
from models.enums import Role
from permissions.caller import STAFF_ROLES, Caller

__all__ = ["SCOPES", "active_on", "paths_q", "visible"]

M = TypeVar("M", bound=Model)
Scope = Callable[[Caller], QuerySet[Any]]


def paths_q(paths: Iterable[str], key: str = "unit_path") -> Q | None:
    """``key`` starts with any of ``paths``; ``None`` when there are none."""
    terms = [Q(**{f"{key}__startswith": path}) for path in paths]
    return reduce(or_, terms) if terms else None


def active_on(day: date, start: str = "starts_on", end: str = "ends_on") -> Q:
    return Q(**{f"{start}__lte": day}) & (
        Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gt": day})
    )


def _nothing(model: type[M]) -> QuerySet[M]:
    return model.filter(id__in=[])


def _staff_subtree(model: type[M], caller: Caller, key: str = "unit_path") -> Q | None:
    if caller.is_admin:
        return Q()
    return paths_q(caller.paths(STAFF_ROLES), key)


def _public(model: type[M]) -> Scope:
    def scope(caller: Caller) -> QuerySet[M]:
        return model.all()

    return scope


def _households(caller: Caller) -> QuerySet[Household]:
    terms: list[Q] = []
    staff = _staff_subtree(Household, caller)
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
        holders = RoleAssignment.filter(where).values("person_id")
        terms.append(Q(id__in=Subquery(members)) | Q(id__in=Subquery(holders)))
    if caller.person_id is not None:
        terms.append(Q(id=caller.person_id))
    if not terms:
        return _nothing(Person)
    return Person.filter(reduce(or_, terms))


def _by_path_or_own(model: type[M]) -> Scope:
    def scope(caller: Caller) -> QuerySet[M]:
        terms: list[Q] = []
        staff = _staff_subtree(model, caller)
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
    terms: list[Q] = []
    staff = _staff_subtree(StoredFile, caller)
    if staff is not None:
        terms.append(staff)
    if caller.person_id is not None:
        terms.append(Q(uploaded_by_id=caller.person_id))
    return StoredFile.filter(reduce(or_, terms)) if terms else _nothing(StoredFile)


def _managements(caller: Caller) -> QuerySet[EstateManagement]:
    return EstateManagement.all()


SCOPES: dict[type[Model], Scope] = {
    # The administrative directory is public: residents choose their community in it.
    OrgUnit: _public(OrgUnit),
    Estate: _public(Estate),
    Building: _public(Building),
    Organization: _public(Organization),
    EstateManagement: _managements,
    Household: _households,
    Person: _people,
    HouseholdMember: _by_path_or_own(HouseholdMember),
    RoleAssignment: _by_path_or_own(RoleAssignment),
    ApiToken: _api_tokens,
    AuditRecord: _audit,
    StoredFile: _files,
}


def visible(model: type[M], caller: Caller) -> QuerySet[M]:
    """The rows of ``model`` that ``caller`` may see; a model with no scope is an error."""
    try:
        scope = SCOPES[model]
    except KeyError:
        raise LookupError(f"{model.__name__} has no row scope") from None
    queryset: QuerySet[M] = scope(caller)
    return queryset
