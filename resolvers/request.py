"""Service requests (你说我做): raise, dispatch, handle, verify, evaluate.

A request moves PUBLISHED → DISPATCHED → HANDLING → VERIFYING → EVALUATED.
Dispatch is automatic on creation, by the category's handler kind and the place:
the property company managing the estate on that day, the community, or a
department. The handler may return it for re-dispatch (back to PUBLISHED, where
the community's staff dispatch it by hand); the raiser or staff may reopen a
resolved one. Every step is a ``RequestStep`` row (who, when, from, to); a step
that the table of transitions does not allow is refused with
``ILLEGAL_TRANSITION`` and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from models import (
    ApiToken,
    Estate,
    EstateManagement,
    Organization,
    OrgUnit,
    RequestCategory,
    RequestJoin,
    RequestStep,
    RoleAssignment,
    ServiceRequest,
    StoredFile,
)
from models.enums import (
    HandlerKind,
    Level,
    OrganizationKind,
    RequestAction,
    RequestStage,
    Role,
    WarningKind,
)
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound, Unauthenticated
from permissions.request import is_handling_firm
from permissions.scope import active_on, visible
from resolvers import webhook
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.identity import session_is_live
from resolvers.live import CLOSE_WAIT_SECONDS, RECHECK_SECONDS, subscription_paths
from resolvers.loaders import fetch_row
from resolvers.notifications import notify
from resolvers.warnings import resolve_warnings

__all__ = [
    "OPEN_STAGES",
    "TRANSITIONS",
    "Route",
    "act",
    "category_rows",
    "china_day",
    "create_request",
    "demand_under",
    "dispatch_route",
    "join_request",
    "record_step",
    "request_changes",
    "requests_query",
    "save_category",
]

logger = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
TOPIC = "request"
MAX_TEXT = 4000
MAX_NOTE = 1000
MAX_PHOTOS = 9
# Hours the community's staff have to dispatch a returned request by hand.
REDISPATCH_HOURS = 24
# Requests one person may raise in 24 hours (more is a script, not a resident).
DAILY_LIMIT = 20
OPEN_STAGES = (RequestStage.PUBLISHED, RequestStage.DISPATCHED, RequestStage.HANDLING)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})

S = RequestStage
# action -> (the stages it may start from, the stage it leads to)
TRANSITIONS: dict[RequestAction, tuple[frozenset[RequestStage], RequestStage]] = {
    RequestAction.DISPATCH: (frozenset({S.PUBLISHED}), S.DISPATCHED),
    RequestAction.ACCEPT: (frozenset({S.DISPATCHED}), S.HANDLING),
    RequestAction.UPDATE: (frozenset({S.DISPATCHED, S.HANDLING}), S.HANDLING),
    RequestAction.RESOLVE: (frozenset({S.HANDLING}), S.VERIFYING),
    RequestAction.CONFIRM: (frozenset({S.VERIFYING}), S.EVALUATED),
    RequestAction.EVALUATE: (frozenset({S.VERIFYING, S.EVALUATED}), S.EVALUATED),
    RequestAction.REOPEN: (frozenset({S.VERIFYING, S.EVALUATED}), S.HANDLING),
    RequestAction.RETURN: (frozenset({S.DISPATCHED, S.HANDLING}), S.PUBLISHED),
}


def china_day(moment: datetime) -> date:
    """The calendar day in China at ``moment`` (managements run by those days)."""
    return moment.astimezone(CHINA).date()


# -- who sees and who may act ------------------------------------------------------


def _may_handle(caller: Caller, request: ServiceRequest) -> bool:
    return (
        caller.is_admin
        or caller.covers(request.unit_path)
        or is_handling_firm(caller, request)
    )


def _is_raiser(caller: Caller, request: ServiceRequest) -> bool:
    return caller.person_id is not None and caller.person_id == request.raised_by_id


def _may_act(caller: Caller, action: RequestAction, request: ServiceRequest) -> bool:
    if action in (RequestAction.ACCEPT, RequestAction.UPDATE, RequestAction.RESOLVE):
        return _may_handle(caller, request)
    if action == RequestAction.RETURN:
        return _may_handle(caller, request)
    if action == RequestAction.DISPATCH:
        return caller.is_admin or caller.covers(request.unit_path)
    if action in (RequestAction.CONFIRM, RequestAction.REOPEN):
        return (
            caller.is_admin
            or caller.covers(request.unit_path)
            or _is_raiser(caller, request)
        )
    if action == RequestAction.EVALUATE:
        return _is_raiser(caller, request)
    return False


# -- reading -----------------------------------------------------------------------


def requests_query(
    caller: Caller,
    *,
    unit_path: str | None = None,
    stages: Iterable[RequestStage] | None = None,
    estate_id: int | None = None,
    category_id: int | None = None,
    mine: bool = False,
    shared: bool | None = None,
) -> QuerySet[ServiceRequest]:
    queryset = visible(ServiceRequest, caller)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    chosen = list(stages or ())
    if chosen:
        queryset = queryset.filter(stage__in=chosen)
    if estate_id is not None:
        queryset = queryset.filter(estate_id=estate_id)
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    if mine:
        queryset = queryset.filter(raised_by_id=caller.person_id or 0)
    if shared is not None:
        queryset = queryset.filter(is_public=shared)
    return queryset


async def category_rows(active_only: bool = True) -> list[dict[str, Any]]:
    queryset = RequestCategory.all()
    if active_only:
        queryset = queryset.filter(is_active=True)
    found: list[dict[str, Any]] = await queryset.order_by("id").values()
    return found


async def demand_under(
    caller: Caller, unit_path: str, open_only: bool = False
) -> list[dict[str, Any]]:
    """What an area asks for most: requests and joins per category and estate,
    the most asked first (staff over the area only)."""
    if not (caller.is_admin or caller.covers(unit_path)):
        raise Forbidden("Only staff over this unit see what it asks for.")
    queryset = visible(ServiceRequest, caller).filter(unit_path__startswith=unit_path)
    if open_only:
        queryset = queryset.filter(stage__in=list(OPEN_STAGES))
    grouped = (
        await queryset.annotate(requests=Count("id"), joins=Sum("join_count"))
        .group_by("category_id", "estate_id")
        .values("category_id", "estate_id", "requests", "joins")
    )
    result = [
        {
            "category_id": row["category_id"],
            "estate_id": row["estate_id"],
            "request_count": int(row["requests"] or 0),
            "join_count": int(row["joins"] or 0),
        }
        for row in grouped
    ]
    result.sort(
        key=lambda r: (
            -(r["request_count"] + r["join_count"]),
            r["category_id"],
            r["estate_id"] or 0,
        )
    )
    return result


# -- routing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: the handler's kind and, for a company or a
    department, its organisation; ``note`` says why when it fell back."""

    kind: HandlerKind
    organization_id: int | None
    note: str = ""


async def dispatch_route(
    category: RequestCategory, estate_id: int | None, day: date
) -> Route:
    """The handler of a request of ``category`` in ``estate_id`` on ``day``."""
    if category.handler_kind == HandlerKind.PROPERTY_COMPANY:
        if estate_id is None:
            return Route(HandlerKind.COMMUNITY, None, "No estate: the community.")
        company = (
            await EstateManagement.filter(active_on(day), estate_id=estate_id)
            .order_by("-starts_on", "-id")
            .first()
            .values_list("company_id", flat=True)
        )
        if company is None:
            return Route(
                HandlerKind.COMMUNITY,
                None,
                "No property company manages the estate: the community.",
            )
        return Route(HandlerKind.PROPERTY_COMPANY, int(str(company)))
    if category.handler_kind == HandlerKind.DEPARTMENT:
        if category.department_id is None:
            return Route(
                HandlerKind.COMMUNITY, None, "No department set: the community."
            )
        return Route(HandlerKind.DEPARTMENT, category.department_id)
    return Route(HandlerKind.COMMUNITY, None)


# -- writing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRequest:
    category_id: int
    text: str
    estate_id: int | None = None
    unit_id: int | None = None
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    photo_ids: tuple[int, ...] = ()
    share: bool = False


async def _place(
    caller: Caller, new: NewRequest, errors: list[UserError]
) -> tuple[OrgUnit | None, Estate | None]:
    estate = None
    unit = None
    if new.estate_id is not None:
        estate = await visible(Estate, caller).get_or_none(id=new.estate_id)
        if estate is None:
            errors.append(UserError("estateId", "No such estate.", "PLACE_UNKNOWN"))
            return None, None
        unit = await OrgUnit.get(id=estate.unit_id)
    elif new.unit_id is not None:
        unit = await visible(OrgUnit, caller).get_or_none(id=new.unit_id)
        if unit is None or unit.level not in (Level.COMMUNITY, Level.GRID):
            errors.append(
                UserError(
                    "unitId", "Choose a village, community or grid.", "PLACE_UNKNOWN"
                )
            )
            return None, None
    else:
        errors.append(
            UserError(
                "estateId", "Say which estate or community it is in.", "PLACE_REQUIRED"
            )
        )
    return unit, estate


def _check_text(text: str, field: str, limit: int, required: bool) -> list[UserError]:
    if required and not text:
        return [UserError(field, "Say what it is about.", "TEXT_REQUIRED")]
    if len(text) > limit:
        return [UserError(field, f"At most {limit} characters.", "TEXT_TOO_LONG")]
    return []


async def _check_photos(
    caller: Caller, photo_ids: tuple[int, ...], field: str = "photoIds"
) -> list[UserError]:
    if len(photo_ids) > MAX_PHOTOS:
        return [UserError(field, f"At most {MAX_PHOTOS} photos.", "TOO_MANY_PHOTOS")]
    if not photo_ids:
        return []
    found = await (
        visible(StoredFile, caller)
        .filter(id__in=list(photo_ids), media_type__in=list(IMAGE_TYPES))
        .values_list("id", flat=True)
    )
    if set(photo_ids) - {int(str(i)) for i in found}:
        return [UserError(field, "Upload the photos first.", "PHOTO_UNKNOWN")]
    return []


def _check_location(new: NewRequest) -> list[UserError]:
    if (new.latitude is None) != (new.longitude is None):
        return [
            UserError(
                "latitude", "Give both latitude and longitude.", "LOCATION_INVALID"
            )
        ]
    if new.latitude is None or new.longitude is None:
        return []
    if not (-90 <= new.latitude <= 90 and -180 <= new.longitude <= 180):
        return [UserError("latitude", "Not a place on Earth.", "LOCATION_INVALID")]
    return []


async def create_request(context: Context, new: NewRequest) -> dict[str, Any]:
    """Raise a request and dispatch it at once; two steps in its history."""
    caller = context.caller
    if caller.person_id is None:
        raise Forbidden("Requests are raised by people, not by systems.")

    errors: list[UserError] = []
    category = await RequestCategory.get_or_none(id=new.category_id, is_active=True)
    if category is None:
        errors.append(UserError("categoryId", "No such category.", "CATEGORY_UNKNOWN"))
    text = new.text.strip()
    errors += _check_text(text, "text", MAX_TEXT, required=True)
    if len(new.address) > 200:
        errors.append(UserError("address", "At most 200 characters.", "TEXT_TOO_LONG"))
    errors += _check_location(new)
    errors += await _check_photos(caller, new.photo_ids)
    unit, estate = await _place(caller, new, errors)
    since = context.clock() - timedelta(days=1)
    raised = await ServiceRequest.filter(
        raised_by_id=caller.person_id, created_at__gte=since
    ).count()
    if raised >= DAILY_LIMIT:
        errors.append(
            UserError(
                "text",
                f"At most {DAILY_LIMIT} requests a day; ask your community.",
                "DAILY_LIMIT",
            )
        )
    if errors:
        raise Invalid(errors)
    assert category is not None and unit is not None

    now = context.clock()
    route = await dispatch_route(
        category, estate.id if estate else None, china_day(now)
    )
    async with write(context, "SERVICE_REQUEST_CREATE") as work:
        request = await ServiceRequest.create(
            category_id=category.id,
            raised_by_id=caller.person_id,
            unit_id=unit.id,
            unit_path=unit.path,
            estate_id=estate.id if estate else None,
            text=text,
            address=new.address.strip(),
            latitude=new.latitude,
            longitude=new.longitude,
            photo_ids=list(new.photo_ids),
            is_public=new.share,
            stage=RequestStage.PUBLISHED,
            created_at=now,
            updated_at=now,
        )
        await record_step(work, request, RequestAction.PUBLISH, None, S.PUBLISHED, "")
        await _dispatch(work, request, route, category, system=True)
        work.audit("ServiceRequest", [request.id], request.unit_path)
    return await fetch_row(ServiceRequest, request.id)


async def _dispatch(
    work: Work,
    request: ServiceRequest,
    route: Route,
    category: RequestCategory,
    system: bool = False,
) -> None:
    now = work.context.clock()
    before = request.stage
    request.stage = S.DISPATCHED
    request.handler_kind = route.kind
    request.handler_organization_id = route.organization_id
    request.due_at = now + timedelta(hours=category.deadline_hours)
    request.escalation_level = 0
    request.updated_at = now
    await request.save(
        update_fields=[
            "stage",
            "handler_kind",
            "handler_organization_id",
            "due_at",
            "escalation_level",
            "updated_at",
        ]
    )
    await record_step(
        work, request, RequestAction.DISPATCH, before, S.DISPATCHED, route.note, system
    )


async def record_step(
    work: Work,
    request: ServiceRequest,
    action: RequestAction,
    before: RequestStage | None,
    after: RequestStage,
    note: str,
    system: bool = False,
    photo_ids: Iterable[int] = (),
    notify_orgs: Iterable[int | None] = (),
) -> RequestStep:
    """Record one step, its event, and the deliveries to the handler's webhooks."""
    context = work.context
    caller = context.caller
    now = context.clock()
    step = await RequestStep.create(
        request_id=request.id,
        unit_path=request.unit_path,
        action=action,
        from_stage=before,
        to_stage=after,
        actor_person_id=None if system else caller.person_id,
        actor_token_id=None if system else caller.token_id,
        actor_role="SYSTEM" if system else caller.primary_role,
        note=note,
        photo_ids=list(photo_ids),
        at=now,
    )
    data = {
        "action": action.value,
        "stage": after.value,
        "from_stage": before.value if before else None,
        "estate_id": request.estate_id,
        "handler_organization_id": request.handler_organization_id,
        "raised_by_id": request.raised_by_id,
        "step_id": step.id,
    }
    work.emit(
        Event(
            TOPIC,
            f"REQUEST_{action.value}",
            request.unit_path,
            "ServiceRequest",
            request.id,
            caller.person_id,
            at=now,
            data=data,
        )
    )
    if action == RequestAction.DISPATCH:
        # The handler's people hear of it: the firm's staff, or the cadres.
        await notify(
            work,
            await _handlers_to_tell(request, now),
            kind="REQUEST_DISPATCHED",
            title="A request to handle",
            body=request.text[:200],
            key=f"request-step:{step.id}",
            subject_type="ServiceRequest",
            subject_id=request.id,
            unit_path=request.unit_path,
        )
    if not system and caller.person_id != request.raised_by_id:
        # The resident hears of every step others take on their request.
        await notify(
            work,
            [request.raised_by_id],
            kind="REQUEST_STEP",
            title=f"Your request: {action.value}",
            body=note,
            key=f"request-step:{step.id}",
            subject_type="ServiceRequest",
            subject_id=request.id,
            unit_path=request.unit_path,
        )
    organizations = {request.handler_organization_id, *notify_orgs} - {None}
    await webhook.enqueue(
        work,
        {int(o) for o in organizations if o is not None},
        request,
        step,
    )
    return step


async def _handlers_to_tell(request: ServiceRequest, now: datetime) -> list[int]:
    """The people who handle a dispatched request: the staff of its company or
    department, or the cadres of its community."""
    lasting = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    if request.handler_organization_id is not None:
        wanted = Q(organization_id=request.handler_organization_id)
    else:
        wanted = Q(role=Role.CADRE, unit_path=request.unit_path)
    found = await RoleAssignment.filter(wanted, lasting).values_list(
        "person_id", flat=True
    )
    return sorted({int(str(p)) for p in found})


@dataclass(frozen=True, slots=True)
class Act:
    """One requested step: a note, photos, and what some steps carry."""

    note: str = ""
    photo_ids: tuple[int, ...] = ()
    rating: int | None = None
    handler_kind: HandlerKind | None = None
    organization_id: int | None = None


def _illegal(action: RequestAction, stage: RequestStage) -> Invalid:
    return Invalid(
        [
            UserError(
                "id",
                f"A request {stage.value} cannot take the step {action.value}.",
                "ILLEGAL_TRANSITION",
            )
        ]
    )


async def _check_act(
    context: Context, action: RequestAction, request: ServiceRequest, given: Act
) -> tuple[list[UserError], Route | None]:
    errors: list[UserError] = []
    note = given.note.strip()
    needs_note = action in (
        RequestAction.UPDATE,
        RequestAction.REOPEN,
        RequestAction.RETURN,
    )
    errors += _check_text(note, "note", MAX_NOTE, required=needs_note)
    errors += await _check_photos(context.caller, given.photo_ids)
    if action == RequestAction.EVALUATE:
        if given.rating is None or not 1 <= given.rating <= 5:
            errors.append(UserError("rating", "Rate from 1 to 5.", "RATING_INVALID"))
        if request.rating is not None:
            errors.append(
                UserError("rating", "The request is already rated.", "ALREADY_RATED")
            )
    route = None
    if action == RequestAction.DISPATCH:
        day = china_day(context.clock())
        route, problem = await _manual_route(request, given, day)
        if problem is not None:
            errors.append(problem)
    return errors, route


async def _manual_route(
    request: ServiceRequest, given: Act, day: date
) -> tuple[Route | None, UserError | None]:
    """A hand dispatch: the category's own route unless a handler is named."""
    if given.handler_kind is None:
        category = await RequestCategory.get(id=request.category_id)
        return await dispatch_route(category, request.estate_id, day), None
    if given.handler_kind == HandlerKind.COMMUNITY:
        return Route(HandlerKind.COMMUNITY, None), None
    organization = (
        await Organization.get_or_none(id=given.organization_id)
        if given.organization_id is not None
        else None
    )
    if given.handler_kind == HandlerKind.PROPERTY_COMPANY:
        managed = (
            organization is not None
            and request.estate_id is not None
            and await EstateManagement.filter(
                active_on(day),
                company_id=organization.id,
                estate_id=request.estate_id,
            ).exists()
        )
        if not managed:
            return None, UserError(
                "organizationId",
                "That company does not manage the request's estate.",
                "HANDLER_INVALID",
            )
    elif organization is None or organization.kind != OrganizationKind.DEPARTMENT:
        return None, UserError(
            "organizationId", "Name a department.", "HANDLER_INVALID"
        )
    assert organization is not None
    return Route(given.handler_kind, organization.id), None


async def act(
    context: Context, request_id: int, action: RequestAction, given: Act
) -> dict[str, Any]:
    """Take one step on a request the caller may see and act on."""
    caller = context.caller
    request = await visible(ServiceRequest, caller).get_or_none(id=request_id)
    if request is None:
        raise NotFound("No ServiceRequest has this id.")
    if not _may_act(caller, action, request):
        raise Forbidden(f"You may not take the step {action.value} on this request.")

    sources, target = TRANSITIONS[action]
    if request.stage not in sources:
        raise _illegal(action, RequestStage(request.stage))
    if (
        action == RequestAction.EVALUATE
        and request.stage == S.EVALUATED
        and request.rating is not None
    ):
        raise Invalid(
            [UserError("rating", "The request is already rated.", "ALREADY_RATED")]
        )
    errors, route = await _check_act(context, action, request, given)
    if errors:
        raise Invalid(errors)

    before = RequestStage(request.stage)
    async with write(context, f"SERVICE_REQUEST_{action.value}") as work:
        # The stage is compared again as it is written: of two steps at once,
        # only the first one counts.
        changed = await ServiceRequest.filter(id=request.id, stage=before).update(
            updated_at=context.clock()
        )
        if not changed:
            raise _illegal(action, before)
        await _apply(work, request, action, before, target, given, route)
        work.audit("ServiceRequest", [request.id], request.unit_path)
    return await fetch_row(ServiceRequest, request.id)


async def _apply(
    work: Work,
    request: ServiceRequest,
    action: RequestAction,
    before: RequestStage,
    target: RequestStage,
    given: Act,
    route: Route | None,
) -> None:
    now = work.context.clock()
    note = given.note.strip()
    if action == RequestAction.DISPATCH:
        assert route is not None
        category = await RequestCategory.get(id=request.category_id)
        await _dispatch(work, request, route, category)
        await _cure(work, request)
        return

    previous_handler = request.handler_organization_id
    changes: dict[str, Any] = {"stage": target, "updated_at": now}
    if action == RequestAction.RESOLVE:
        await _cure(work, request)
    elif action == RequestAction.CONFIRM:
        changes["closed_at"] = now
    elif action == RequestAction.EVALUATE:
        changes.update(rating=given.rating, comment=note, closed_at=now)
    elif action == RequestAction.REOPEN:
        category = await RequestCategory.get(id=request.category_id)
        changes.update(
            rating=None,
            comment="",
            closed_at=None,
            reopen_count=F("reopen_count") + 1,
            due_at=now + timedelta(hours=category.deadline_hours),
            escalation_level=0,
        )
    elif action == RequestAction.RETURN:
        changes.update(
            handler_kind=None,
            handler_organization_id=None,
            due_at=now + timedelta(hours=REDISPATCH_HOURS),
            escalation_level=0,
        )
        await _cure(work, request)
    await ServiceRequest.filter(id=request.id).update(**changes)
    await request.refresh_from_db()
    await record_step(
        work,
        request,
        action,
        before,
        target,
        note,
        photo_ids=given.photo_ids,
        notify_orgs=[previous_handler],
    )


async def _cure(work: Work, request: ServiceRequest) -> None:
    """The request moved on: its overdue warnings are resolved."""
    await resolve_warnings(
        work,
        subject_type="ServiceRequest",
        subject_id=request.id,
        kinds=[WarningKind.REQUEST_OVERDUE],
        resolution=f"The request moved on to {request.stage}.",
    )


async def join_request(context: Context, request_id: int) -> dict[str, Any]:
    """Add the caller's voice (+1) to a shared request, once per person."""
    caller = context.caller
    if caller.person_id is None:
        raise Forbidden("People join requests, not systems.")
    request = await visible(ServiceRequest, caller).get_or_none(id=request_id)
    if request is None:
        raise NotFound("No ServiceRequest has this id.")

    errors: list[UserError] = []
    if not request.is_public:
        errors.append(UserError("id", "This request is not shared.", "NOT_SHARED"))
    elif request.raised_by_id == caller.person_id:
        errors.append(UserError("id", "You raised this request.", "OWN_REQUEST"))
    elif request.stage == S.EVALUATED:
        errors.append(UserError("id", "This request is closed.", "REQUEST_CLOSED"))
    elif await RequestJoin.filter(
        request_id=request.id, person_id=caller.person_id
    ).exists():
        errors.append(UserError("id", "You have already joined.", "ALREADY_JOINED"))
    if errors:
        raise Invalid(errors)

    async with write(context, "SERVICE_REQUEST_JOIN") as work:
        try:
            await RequestJoin.create(
                request_id=request.id,
                person_id=caller.person_id,
                unit_path=request.unit_path,
                at=context.clock(),
            )
        except IntegrityError:
            # The same person joined at the same moment from another device.
            raise Invalid(
                [UserError("id", "You have already joined.", "ALREADY_JOINED")]
            ) from None
        await ServiceRequest.filter(id=request.id).update(
            join_count=F("join_count") + 1
        )
        work.audit("ServiceRequest", [request.id], request.unit_path)
        work.emit(
            Event(
                TOPIC,
                "REQUEST_JOINED",
                request.unit_path,
                "ServiceRequest",
                request.id,
                caller.person_id,
                at=context.clock(),
                data={
                    "estate_id": request.estate_id,
                    "handler_organization_id": request.handler_organization_id,
                    "raised_by_id": request.raised_by_id,
                },
            )
        )
    return await fetch_row(ServiceRequest, request.id)


def may_see_event(caller: Caller, event: Event) -> bool:
    """Whether a request event concerns the caller (scoped like the rows)."""
    if caller.is_admin or caller.covers(event.unit_path):
        return True
    data = event.data
    if caller.person_id is not None and data.get("raised_by_id") == caller.person_id:
        return True
    return is_handling_firm(caller, data)


async def _still_valid(context: Context) -> None:
    """The caller's token has not expired, its session or API token stands."""
    caller = context.caller
    now = context.clock()
    if caller.expires_at is not None and caller.expires_at <= now:
        raise Unauthenticated("The token has expired.")
    if caller.session_id is not None and not await session_is_live(
        caller.session_id, now
    ):
        raise Unauthenticated("The session was ended.")
    if (
        caller.token_id is not None
        and not await ApiToken.filter(
            id=caller.token_id, revoked_at__isnull=True, expires_at__gt=now
        ).exists()
    ):
        raise Unauthenticated("The API token was revoked.")


async def request_changes(
    context: Context, unit_id: int | None
) -> AsyncIterator[Event]:
    """Request events the caller may see: under ``unit_id`` for staff (within
    their jurisdiction), else the caller's own or handled requests.

    The token is re-checked before each event and every ``RECHECK_SECONDS``;
    when it ends, the websocket is closed with 4401.
    """
    caller = context.caller
    if unit_id is not None:
        paths = await subscription_paths(context, unit_id)
    else:
        paths = ("/",)
    loop = asyncio.get_running_loop()
    subscription = context.bus.subscribe(TOPIC, paths)
    events = aiter(subscription)
    try:
        recheck_at = loop.time()
        while True:
            if loop.time() >= recheck_at:
                await _still_valid(context)
                recheck_at = loop.time() + RECHECK_SECONDS
            elif caller.expires_at is not None and caller.expires_at <= context.clock():
                raise Unauthenticated("The token has expired.")
            wait = max(0.0, recheck_at - loop.time())
            try:
                event = await asyncio.wait_for(anext(events), timeout=wait)
            except TimeoutError:
                continue
            except StopAsyncIteration:
                return
            if may_see_event(caller, event):
                yield event
    except Unauthenticated as ended:
        if context.close_connection is None:
            raise
        logger.info("request subscription ended: %s", ended.message)
        await subscription.close()
        await context.close_connection(4401, "Unauthorized")
        await asyncio.sleep(CLOSE_WAIT_SECONDS)
    finally:
        await subscription.close()


# -- categories (configuration) ----------------------------------------------------

CATEGORY_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")
MAX_DEADLINE_HOURS = 24 * 90


@dataclass(frozen=True, slots=True)
class CategoryInput:
    name: str
    handler_kind: HandlerKind
    deadline_hours: int
    department_id: int | None = None
    description: str = ""
    group: str = ""
    keywords: str = ""
    is_active: bool = True


async def _may_configure(caller: Caller) -> bool:
    """Admins, and officials of a district or above (categories are district-wide)."""
    if caller.is_admin:
        return True
    units = [g.unit_id for g in caller.grants if g.role == Role.OFFICIAL]
    top = (Level.PROVINCE, Level.CITY, Level.DISTRICT)
    return await OrgUnit.filter(id__in=units, level__in=top).exists()


async def _category_errors(given: CategoryInput) -> list[UserError]:
    errors: list[UserError] = []
    if not 1 <= len(given.name.strip()) <= 50:
        errors.append(UserError("name", "1 to 50 characters.", "INVALID_NAME"))
    if not 1 <= given.deadline_hours <= MAX_DEADLINE_HOURS:
        errors.append(
            UserError(
                "deadlineHours",
                f"From 1 to {MAX_DEADLINE_HOURS} hours.",
                "DEADLINE_INVALID",
            )
        )
    for field, value, limit in (
        ("description", given.description, 500),
        ("group", given.group, 50),
        ("keywords", given.keywords, 200),
    ):
        errors += _check_text(value, field, limit, required=False)
    if given.handler_kind == HandlerKind.DEPARTMENT:
        department = (
            await Organization.get_or_none(id=given.department_id)
            if given.department_id is not None
            else None
        )
        if department is None or department.kind != OrganizationKind.DEPARTMENT:
            errors.append(
                UserError(
                    "departmentId",
                    "A department's category names the department.",
                    "DEPARTMENT_REQUIRED",
                )
            )
    elif given.department_id is not None:
        errors.append(
            UserError(
                "departmentId",
                "Only a department's category names a department.",
                "DEPARTMENT_NOT_ALLOWED",
            )
        )
    return errors


async def save_category(
    context: Context, category_id: int | None, code: str, given: CategoryInput
) -> dict[str, Any]:
    """Create a category (``category_id`` None) or change one; a change applies to
    the requests dispatched after it (deadlines already set stay)."""
    if not await _may_configure(context.caller):
        raise Forbidden("Admins and district officials configure categories.")
    existing = None
    if category_id is not None:
        existing = await RequestCategory.get_or_none(id=category_id)
        if existing is None:
            raise NotFound("No RequestCategory has this id.")

    errors = await _category_errors(given)
    code = existing.code if existing else code.strip()
    if existing is None:
        if not CATEGORY_CODE.match(code):
            errors.append(
                UserError("code", "Capitals, digits and _; 2 to 32.", "INVALID_CODE")
            )
        elif await RequestCategory.filter(code=code).exists():
            errors.append(UserError("code", "Another category has it.", "CODE_TAKEN"))
    if errors:
        raise Invalid(errors)

    values: dict[str, Any] = {
        "name": given.name.strip(),
        "handler_kind": given.handler_kind,
        "deadline_hours": given.deadline_hours,
        "department_id": given.department_id,
        "description": given.description.strip(),
        "group": given.group.strip(),
        "keywords": given.keywords.strip(),
        "is_active": given.is_active,
    }
    action = (
        "REQUEST_CATEGORY_CREATE" if existing is None else "REQUEST_CATEGORY_UPDATE"
    )
    async with write(context, action) as work:
        if existing is None:
            category = await RequestCategory.create(code=code, **values)
        else:
            await RequestCategory.filter(id=existing.id).update(**values)
            category = existing
        work.audit("RequestCategory", [category.id], "/", **_plain(values))
        work.emit(
            Event(
                TOPIC,
                "CATEGORY_SAVED",
                "/",
                "RequestCategory",
                category.id,
                context.caller.person_id,
                at=context.clock(),
            )
        )
    return await fetch_row(RequestCategory, category.id)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, HandlerKind) else v) for k, v in values.items()}
