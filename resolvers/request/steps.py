"""Writing requests: raise, every step of the table, join a shared one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from models import (
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
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers import webhook
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.loaders import fetch_row
from resolvers.notifications import notify
from resolvers.request.routing import Route, dispatch_route
from resolvers.request.rules import (
    DAILY_LIMIT,
    IMAGE_TYPES,
    MAX_NOTE,
    MAX_PHOTOS,
    MAX_TEXT,
    REDISPATCH_HOURS,
    TOPIC,
    TRANSITIONS,
    S,
    check_text,
    china_day,
    may_act,
)
from resolvers.warnings import resolve_warnings

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
    errors += check_text(text, "text", MAX_TEXT, required=True)
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
    errors += check_text(note, "note", MAX_NOTE, required=needs_note)
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
    if not may_act(caller, action, request):
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
