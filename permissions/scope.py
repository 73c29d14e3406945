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
    Beneficiary,
    BeneficiaryTag,
    Building,
    CareSetting,
    DutyCheck,
    DutyItem,
    Estate,
    EstateManagement,
    EvaluationRound,
    EvaluationScore,
    Household,
    HouseholdMember,
    ImportRowReport,
    ImportRun,
    Notification,
    Organization,
    OrgUnit,
    Person,
    Post,
    PropertyOwnership,
    PropertyRecord,
    Question,
    Questionnaire,
    Rating,
    RoleAssignment,
    StoredFile,
    TrackPoint,
    Visit,
    VisitOrder,
    VisitPhoto,
    Warning,
)
from models.enums import Role
from permissions.caller import STAFF_ROLES, Caller
from permissions.request import REQUEST_SCOPES

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


# -- estates: register, evaluation, coordination -------------------------------


def _staff_only(model: type[M]) -> Scope:
    def scope(caller: Caller) -> QuerySet[M]:
        if caller.is_admin:
            return model.all()
        staff = _staff_subtree(caller)
        return model.filter(staff) if staff is not None else _nothing(model)

    return scope


def _staff_or_estate_party(model: type[M]) -> Scope:
    """Staff over the estate, and the company or committee acting for it."""

    def scope(caller: Caller) -> QuerySet[M]:
        if caller.is_admin:
            return model.all()
        terms: list[Q] = []
        staff = _staff_subtree(caller)
        if staff is not None:
            terms.append(staff)
        if caller.estate_ids:
            terms.append(Q(estate_id__in=list(caller.estate_ids)))
        return model.filter(reduce(or_, terms)) if terms else _nothing(model)

    return scope


def _ancestors(path: str) -> list[str]:
    """``/1/2/4/`` → ``/1/``, ``/1/2/``, ``/1/2/4/``."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _configured_above(model: type[M]) -> Scope:
    """Configuration made at a unit: seen by anyone holding a role at or below it,
    and by staff above it."""

    def scope(caller: Caller) -> QuerySet[M]:
        if caller.is_admin:
            return model.all()
        above = sorted({a for g in caller.grants for a in _ancestors(g.unit_path)})
        terms: list[Q] = [Q(unit_path__in=above)] if above else []
        staff = _staff_subtree(caller)
        if staff is not None:
            terms.append(staff)
        return model.filter(reduce(or_, terms)) if terms else _nothing(model)

    return scope


def _rounds(caller: Caller) -> QuerySet[EvaluationRound]:
    """Staff over the estate, its company and committee, and its verified owners."""
    if caller.is_admin:
        return EvaluationRound.all()
    terms: list[Q] = []
    staff = _staff_subtree(caller)
    if staff is not None:
        terms.append(staff)
    if caller.estate_ids:
        terms.append(Q(estate_id__in=list(caller.estate_ids)))
    if caller.person_id is not None:
        owned = PropertyOwnership.filter(
            person_id=caller.person_id, ended_at__isnull=True
        ).values("estate_id")
        terms.append(Q(estate_id__in=Subquery(owned)))
    return (
        EvaluationRound.filter(reduce(or_, terms))
        if terms
        else _nothing(EvaluationRound)
    )


def _own_ratings(caller: Caller) -> QuerySet[Rating]:
    # Individual ratings are seen by their author only: not by staff, not by admins.
    if caller.person_id is None:
        return _nothing(Rating)
    return Rating.filter(person_id=caller.person_id)


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


def _posts(caller: Caller) -> QuerySet[Post]:
    # What is published, to anyone; withdrawn posts too, to staff over them.
    if caller.is_admin:
        return Post.all()
    published = Q(withdrawn_at__isnull=True)
    staff = _staff_subtree(caller)
    return Post.filter(published if staff is None else published | staff)


# The care archive: officials and cadres of the subtree, and the cadre who answers
# for a beneficiary; admins run the platform. Nobody else, by any path.
CARE_ROLES = frozenset({Role.OFFICIAL, Role.CADRE})


def _care(model: type[M], *own: str) -> Scope:
    """Care rows: the subtrees of the caller's care roles, and the rows they are
    named in by ``own`` (the people a grid worker answers for in other grids of
    the community, the visits they made) while they hold a cadre's post in that
    community: a cadre who leaves stops seeing them, whoever is named next."""

    def scope(caller: Caller) -> QuerySet[M]:
        if caller.is_admin:
            return model.all()
        terms: list[Q] = []
        where = paths_q(caller.paths(CARE_ROLES))
        if where is not None:
            terms.append(where)
        communities = paths_q(
            g.community_path
            for g in caller.grants
            if g.role == Role.CADRE and g.community_path is not None
        )
        if caller.person_id is not None and communities is not None:
            for key in own:
                mine: dict[str, Any] = {key: caller.person_id}
                terms.append(Q(**mine) & communities)
        return model.filter(reduce(or_, terms)) if terms else _nothing(model)

    return scope


def _tracks(caller: Caller) -> QuerySet[TrackPoint]:
    # A cadre's route: the cadre and the officials above them.
    if caller.is_admin:
        return TrackPoint.all()
    terms: list[Q] = []
    where = paths_q(caller.paths(frozenset({Role.OFFICIAL})))
    if where is not None:
        terms.append(where)
    if caller.person_id is not None:
        terms.append(Q(person_id=caller.person_id))
    return TrackPoint.filter(reduce(or_, terms)) if terms else _nothing(TrackPoint)


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
    PropertyRecord: _staff_only(PropertyRecord),
    PropertyOwnership: _by_path_or_own(PropertyOwnership),
    Questionnaire: _configured_above(Questionnaire),
    Question: _configured_above(Question),
    EvaluationRound: _rounds,
    Rating: _own_ratings,
    EvaluationScore: _staff_or_estate_party(EvaluationScore),
    DutyItem: _staff_or_estate_party(DutyItem),
    DutyCheck: _staff_or_estate_party(DutyCheck),
    **REQUEST_SCOPES,
    Notification: _notifications,
    Warning: _warnings,
    ImportRun: _import_runs,
    ImportRowReport: _import_reports,
    Post: _posts,
    Beneficiary: _care(Beneficiary, "responsible_id"),
    BeneficiaryTag: _care(BeneficiaryTag, "beneficiary__responsible_id"),
    Visit: _care(Visit, "visitor_id", "beneficiary__responsible_id"),
    VisitPhoto: _care(VisitPhoto, "visit__visitor_id"),
    VisitOrder: _care(VisitOrder, "assignee_id"),
    TrackPoint: _tracks,
    CareSetting: _public(CareSetting),
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


# Domains keep their scopes beside their rules and add them here.
from permissions.duty import DUTY_SCOPES  # noqa: E402
from permissions.task import TASK_SCOPES  # noqa: E402

SCOPES.update(TASK_SCOPES)
SCOPES.update(DUTY_SCOPES)
