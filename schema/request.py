"""Service requests (你说我做) and small needs (微需求) in the schema."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry

from models import Estate as EstateModel
from models import Organization as OrganizationModel
from models import OrgUnit as OrgUnitModel
from models import Person as PersonModel
from models import RequestCategory as RequestCategoryModel
from models import RequestStep as RequestStepModel
from models import ServiceRequest as ServiceRequestModel
from models import StoredFile as StoredFileModel
from models.enums import HandlerKind, RequestAction, RequestStage, Role
from permissions.request import HandlesRequest
from permissions.rules import (
    ANYONE,
    SIGNED_IN,
    STAFF,
    VISIBLE,
    HasRole,
    InJurisdiction,
    Own,
)
from resolvers import request as request_rules
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
    encode_id,
    failed,
    field,
    one,
    payload,
    rows,
    structural,
)
from schema.file import StoredFile
from schema.geo import LocationInput, location_errors, wgs84_of
from schema.node import register_node
from schema.org import Estate, Organization, OrgUnit, _unit_path
from schema.person import Person
from schema.relations import related

__all__ = [
    "RequestMutation",
    "RequestQuery",
    "RequestSubscription",
    "ServiceRequest",
]

RequestStageType = strawberry.enum(
    RequestStage,
    description="Where a request stands: publish → dispatch → handle "
    "→ verify → evaluate.",
)
HandlerKindType = strawberry.enum(
    HandlerKind,
    description="Who handles a category: a company, the community, a department.",
)
RequestActionType = strawberry.enum(
    RequestAction, description="One step of a request's history."
)

# The parties of a request: who raised it, staff over it, the firm handling it.
PARTY = (
    Own("raised_by_id")
    | InJurisdiction(Role.ADMIN, Role.OFFICIAL, Role.CADRE)
    | HandlesRequest()
)
# Rows carry the photo ids for the `photos` resolver, which no leaf reads.
expose(ServiceRequestModel, frozenset({"photo_ids"}))


@strawberry.type(description="A kind of request residents may raise (configuration).")
class RequestCategory(Node):
    code: str = field(VISIBLE, "A stable code; the Open311 service_code.")
    name: str = field(VISIBLE, "The name shown to residents, e.g. 公共维修.")
    description: str = field(VISIBLE, "What belongs in it.")
    group: str = field(VISIBLE, "A heading that groups categories.")
    keywords: str = field(VISIBLE, "Comma-separated words to find it by.")
    handler_kind: HandlerKindType = field(  # type: ignore[valid-type]
        VISIBLE, "Who it is dispatched to."
    )
    deadline_hours: int = field(VISIBLE, "Hours from dispatch to resolution.")
    is_active: bool = field(VISIBLE, "Whether new requests may use it.")

    department: Organization | None = related(
        VISIBLE,
        "For a department's category: the department.",
        OrganizationModel,
        source="department_id",
        many=False,
    )


@strawberry.type(description="One step of a request's history: who, when, what.")
class RequestStep(Node):
    action: RequestActionType = field(VISIBLE, "What was done.")  # type: ignore[valid-type]
    from_stage: RequestStageType | None = field(  # type: ignore[valid-type]
        VISIBLE, "The stage before; null for the first step."
    )
    to_stage: RequestStageType = field(VISIBLE, "The stage after.")  # type: ignore[valid-type]
    actor_role: str = field(
        VISIBLE, "The role that acted (SYSTEM for automatic steps)."
    )
    note: str = field(VISIBLE, "What the actor wrote.")
    at: datetime = field(VISIBLE, "When.")

    actor: Person | None = related(
        VISIBLE,
        "The person who acted, if the caller may see them.",
        PersonModel,
        source="actor_person_id",
        many=False,
    )


@strawberry.type(description="A resident's request (你说我做), from raising to rating.")
class ServiceRequest(Node):
    text: str = field(VISIBLE, "What the resident asks for.")
    stage: RequestStageType = field(VISIBLE, "Where it stands.")  # type: ignore[valid-type]
    is_public: bool = field(VISIBLE, "Shared into the library of small needs.")
    join_count: int = field(VISIBLE, "How many other residents joined it (+1).")
    handler_kind: HandlerKindType | None = field(  # type: ignore[valid-type]
        VISIBLE, "Who it is dispatched to; null while it awaits dispatch."
    )
    due_at: datetime | None = field(VISIBLE, "When the current handler must finish.")
    escalation_level: int = field(VISIBLE, "0, or how far it was escalated overdue.")
    reopen_count: int = field(VISIBLE, "How many times it was reopened.")
    created_at: datetime = field(VISIBLE, "When it was raised.")
    updated_at: datetime = field(VISIBLE, "When it last changed.")
    closed_at: datetime | None = field(VISIBLE, "When it was confirmed or rated.")

    address: str | None = field(PARTY, "Where exactly, in words.")
    latitude: float | None = field(PARTY, "Where exactly (WGS-84).")
    longitude: float | None = field(PARTY, "Where exactly (WGS-84).")
    rating: int | None = field(PARTY, "The resident's rating, 1 to 5.")
    comment: str | None = field(PARTY, "The resident's comment with the rating.")

    category: RequestCategory | None = related(
        VISIBLE,
        "Its category.",
        RequestCategoryModel,
        source="category_id",
        many=False,
    )
    community: OrgUnit | None = related(
        VISIBLE, "The community it lies in.", OrgUnitModel, source="unit_id", many=False
    )
    estate: Estate | None = related(
        VISIBLE, "The estate, if any.", EstateModel, source="estate_id", many=False
    )
    handler: Organization | None = related(
        VISIBLE,
        "The company or department handling it (null for the community).",
        OrganizationModel,
        source="handler_organization_id",
        many=False,
    )
    raised_by: Person | None = related(
        PARTY, "Who raised it.", PersonModel, source="raised_by_id", many=False
    )
    history: list[RequestStep] | None = related(
        PARTY,
        "Every step, oldest first: who did what and when.",
        RequestStepModel,
        key="request_id",
    )

    @field(PARTY, "The photos the resident attached.")
    async def photos(self, info: AppInfo) -> list[StoredFile] | None:
        # The request's parties see its photos whoever uploaded them.
        ids = as_row(self).get("photo_ids") or []
        if not ids:
            return []
        found = await StoredFileModel.filter(id__in=list(ids)).order_by("id").values()
        return rows(StoredFile, found)


@structural
@strawberry.type(description="What an area asks for: one category in one estate.")
class NeedDemand:
    request_count: int
    join_count: int

    category: RequestCategory | None = related(
        VISIBLE, "The category.", RequestCategoryModel, source="category_id", many=False
    )
    estate: Estate | None = related(
        VISIBLE,
        "The estate (null: outside any estate).",
        EstateModel,
        source="estate_id",
        many=False,
    )


@structural
@strawberry.type(description="How many requests stand at one stage.")
class StageCount:
    stage: RequestStageType  # type: ignore[valid-type]
    count: int


@structural
@strawberry.type(description="Requests under one unit: by stage, and time to close.")
class RequestUnitFigures:
    unit: OrgUnit
    by_stage: list[StageCount] = strawberry.field(
        description="Every stage, in order, with its count (zero included)."
    )
    total: int = strawberry.field(description="All requests under the unit.")
    open: int = strawberry.field(description="Not yet evaluated (closed).")
    closed: int = strawberry.field(description="Closed (confirmed and evaluated).")
    average_hours_to_close: float | None = strawberry.field(
        description="Mean hours from raising to closing over the closed ones "
        "(null: none closed)."
    )


@structural
@strawberry.type(description="The cockpit's request figures of a unit and below.")
class RequestFigures:
    unit: OrgUnit
    by_stage: list[StageCount] = strawberry.field(
        description="Every stage, in order, with its count (zero included)."
    )
    total: int = strawberry.field(description="All requests under the unit.")
    open: int = strawberry.field(description="Not yet evaluated (closed).")
    closed: int = strawberry.field(description="Closed (confirmed and evaluated).")
    average_hours_to_close: float | None = strawberry.field(
        description="Mean hours from raising to closing over the closed ones "
        "(null: none closed)."
    )
    below: list[RequestUnitFigures] = strawberry.field(
        description="The units directly below, with their figures, for drill-down."
    )


for _name, _model in (
    ("ServiceRequest", ServiceRequestModel),
    ("RequestCategory", RequestCategoryModel),
    ("RequestStep", RequestStepModel),
):
    register_node(_name, _model)


def _pk(value: strawberry.ID | None, type_name: str) -> int | None:
    return decode_id(value, type_name)[1] if value else None


@strawberry.type
class RequestQuery:
    @field(ANYONE, "Requests the caller may see, filtered; shared ones to everyone.")
    async def service_requests(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        stages: list[RequestStageType] | None = None,  # type: ignore[valid-type]
        estate_id: strawberry.ID | None = None,
        category_id: strawberry.ID | None = None,
        mine: bool = False,
        shared: bool | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ServiceRequest]:
        queryset = request_rules.requests_query(
            info.context.caller,
            unit_path=await _unit_path(info, unit_id),
            stages=[RequestStage(s) for s in stages or ()],
            estate_id=_pk(estate_id, "Estate"),
            category_id=_pk(category_id, "RequestCategory"),
            mine=mine,
            shared=shared,
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(ANYONE, "A request by id, if the caller may see it.")
    async def service_request(
        self, info: AppInfo, id: strawberry.ID
    ) -> ServiceRequest | None:
        _, pk = decode_id(id, "ServiceRequest")
        return one(
            ServiceRequest, await by_id(info.context, ServiceRequestModel).load(pk)
        )

    @field(ANYONE, "The categories residents may choose from.")
    async def request_categories(
        self, info: AppInfo, include_inactive: bool = False
    ) -> list[RequestCategory]:
        found = await request_rules.category_rows(active_only=not include_inactive)
        return rows(RequestCategory, found)

    @field(ANYONE, "The library of small needs (微需求): shared requests to join.")
    async def micro_needs(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        estate_id: strawberry.ID | None = None,
        category_id: strawberry.ID | None = None,
        open_only: bool = True,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ServiceRequest]:
        stages = request_rules.OPEN_STAGES if open_only else None
        queryset = request_rules.requests_query(
            info.context.caller,
            unit_path=await _unit_path(info, unit_id),
            stages=stages,
            estate_id=_pk(estate_id, "Estate"),
            category_id=_pk(category_id, "RequestCategory"),
            shared=True,
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(
        STAFF,
        "What an area asks for most: requests and joins by category and "
        "estate, the most asked first.",
    )
    async def micro_need_demand(
        self, info: AppInfo, unit_id: strawberry.ID, open_only: bool = False
    ) -> list[NeedDemand]:
        path = await _unit_path(info, unit_id)
        assert path is not None
        found = await request_rules.demand_under(info.context.caller, path, open_only)
        return rows(NeedDemand, found)

    @field(
        STAFF,
        "The cockpit's request figures: by stage and average hours to close, "
        "for a unit of the caller's jurisdiction and each unit below it.",
    )
    async def request_figures(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> RequestFigures:
        _, pk = decode_id(unit_id, "OrgUnit")
        return await request_rules.request_figures_of(  # type: ignore[return-value]
            info.context, pk
        )


@strawberry.input(description="A new request: what, where, and optionally photos.")
class ServiceRequestCreateInput:
    category_id: strawberry.ID
    text: str
    estate_id: strawberry.ID | None = None
    unit_id: strawberry.ID | None = None
    address: str = ""
    location: LocationInput | None = strawberry.field(
        default=None,
        description="Where exactly, as the phone reports it (GCJ-02 from Chinese "
        "map SDKs is converted); stored as WGS-84.",
    )
    photo_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    share: bool = strawberry.field(
        default=False, description="Share it into the library of small needs."
    )


@strawberry.input(description="A category's configuration.")
class RequestCategoryInput:
    name: str
    handler_kind: HandlerKindType  # type: ignore[valid-type]
    deadline_hours: int
    department_id: strawberry.ID | None = None
    description: str = ""
    group: str = ""
    keywords: str = ""
    is_active: bool = True


@structural
@strawberry.type(description="The result of saving a category.")
class RequestCategoryPayload:
    errors: list[UserErrorType]
    request_category: RequestCategory | None


def _category_input(given: RequestCategoryInput) -> request_rules.CategoryInput:
    return request_rules.CategoryInput(
        name=given.name,
        handler_kind=HandlerKind(given.handler_kind),
        deadline_hours=given.deadline_hours,
        department_id=_pk(given.department_id, "Organization"),
        description=given.description,
        group=given.group,
        keywords=given.keywords,
        is_active=given.is_active,
    )


async def _save_category(
    info: AppInfo, pk: int | None, code: str, given: RequestCategoryInput
) -> RequestCategoryPayload:
    try:
        row = await request_rules.save_category(
            info.context, pk, code, _category_input(given)
        )
    except Invalid as invalid:
        return failed(invalid, "request_category")  # type: ignore[no-any-return]
    return payload(request_category=row)  # type: ignore[no-any-return]


@structural
@strawberry.type(description="The result of a step on a request.")
class ServiceRequestPayload:
    errors: list[UserErrorType]
    service_request: ServiceRequest | None


async def _act(
    info: AppInfo,
    id: strawberry.ID,
    action: RequestAction,
    given: request_rules.Act,
) -> ServiceRequestPayload:
    _, pk = decode_id(id, "ServiceRequest")
    try:
        row = await request_rules.act(info.context, pk, action, given)
    except Invalid as invalid:
        return failed(invalid, "service_request")  # type: ignore[no-any-return]
    return payload(service_request=row)  # type: ignore[no-any-return]


def _photos(ids: list[strawberry.ID] | None) -> tuple[int, ...]:
    return tuple(decode_id(i, "StoredFile")[1] for i in ids or ())


@strawberry.type
class RequestMutation:
    @field(
        HasRole(Role.ADMIN, Role.OFFICIAL),
        "Add a request category (admins and district officials).",
    )
    async def request_category_create(
        self, info: AppInfo, code: str, input: RequestCategoryInput
    ) -> RequestCategoryPayload:
        return await _save_category(info, None, code, input)

    @field(
        HasRole(Role.ADMIN, Role.OFFICIAL),
        "Change a category; requests already dispatched keep their deadline.",
    )
    async def request_category_update(
        self, info: AppInfo, id: strawberry.ID, input: RequestCategoryInput
    ) -> RequestCategoryPayload:
        _, pk = decode_id(id, "RequestCategory")
        return await _save_category(info, pk, "", input)

    @field(
        SIGNED_IN, "Raise a request; it is dispatched at once by category and place."
    )
    async def service_request_create(
        self, info: AppInfo, input: ServiceRequestCreateInput
    ) -> ServiceRequestPayload:
        latitude = longitude = None
        if input.location is not None:
            errors = location_errors(input.location)
            if errors:
                return failed(Invalid(errors), "service_request")  # type: ignore[no-any-return]
            latitude, longitude = wgs84_of(input.location)
        new = request_rules.NewRequest(
            category_id=decode_id(input.category_id, "RequestCategory")[1],
            text=input.text,
            estate_id=_pk(input.estate_id, "Estate"),
            unit_id=_pk(input.unit_id, "OrgUnit"),
            address=input.address,
            latitude=latitude,
            longitude=longitude,
            photo_ids=_photos(input.photo_ids),
            share=input.share,
        )
        try:
            row = await request_rules.create_request(info.context, new)
        except Invalid as invalid:
            return failed(invalid, "service_request")  # type: ignore[no-any-return]
        return payload(service_request=row)  # type: ignore[no-any-return]

    @field(
        STAFF,
        "Dispatch a request awaiting dispatch (staff over it): to the "
        "category's handler, or to the one named.",
    )
    async def service_request_dispatch(
        self,
        info: AppInfo,
        id: strawberry.ID,
        handler_kind: HandlerKindType | None = None,  # type: ignore[valid-type]
        organization_id: strawberry.ID | None = None,
        note: str = "",
    ) -> ServiceRequestPayload:
        given = request_rules.Act(
            note=note,
            handler_kind=HandlerKind(handler_kind) if handler_kind else None,
            organization_id=_pk(organization_id, "Organization"),
        )
        return await _act(info, id, RequestAction.DISPATCH, given)

    @field(SIGNED_IN, "The handler takes a dispatched request on.")
    async def service_request_accept(
        self, info: AppInfo, id: strawberry.ID, note: str = ""
    ) -> ServiceRequestPayload:
        given = request_rules.Act(note=note)
        return await _act(info, id, RequestAction.ACCEPT, given)

    @field(SIGNED_IN, "The handler posts an update the resident sees.")
    async def service_request_update(
        self,
        info: AppInfo,
        id: strawberry.ID,
        note: str,
        photo_ids: list[strawberry.ID] | None = None,
    ) -> ServiceRequestPayload:
        given = request_rules.Act(note=note, photo_ids=_photos(photo_ids))
        return await _act(info, id, RequestAction.UPDATE, given)

    @field(SIGNED_IN, "The handler closes its part; the request awaits confirmation.")
    async def service_request_resolve(
        self,
        info: AppInfo,
        id: strawberry.ID,
        note: str = "",
        photo_ids: list[strawberry.ID] | None = None,
    ) -> ServiceRequestPayload:
        given = request_rules.Act(note=note, photo_ids=_photos(photo_ids))
        return await _act(info, id, RequestAction.RESOLVE, given)

    @field(SIGNED_IN, "The resident, or a cadre for them, confirms it was done.")
    async def service_request_confirm(
        self, info: AppInfo, id: strawberry.ID, note: str = ""
    ) -> ServiceRequestPayload:
        given = request_rules.Act(note=note)
        return await _act(info, id, RequestAction.CONFIRM, given)

    @field(SIGNED_IN, "The resident rates the result (1 to 5) and comments, once.")
    async def service_request_evaluate(
        self, info: AppInfo, id: strawberry.ID, rating: int, comment: str = ""
    ) -> ServiceRequestPayload:
        given = request_rules.Act(note=comment, rating=rating)
        return await _act(info, id, RequestAction.EVALUATE, given)

    @field(SIGNED_IN, "Reopen a resolved request (the resident or staff), saying why.")
    async def service_request_reopen(
        self, info: AppInfo, id: strawberry.ID, note: str
    ) -> ServiceRequestPayload:
        given = request_rules.Act(note=note)
        return await _act(info, id, RequestAction.REOPEN, given)

    @field(SIGNED_IN, "The handler returns a request for re-dispatch, saying why.")
    async def service_request_return(
        self, info: AppInfo, id: strawberry.ID, note: str
    ) -> ServiceRequestPayload:
        given = request_rules.Act(note=note)
        return await _act(info, id, RequestAction.RETURN, given)

    @field(SIGNED_IN, "Join a shared request (+1), once per person.")
    async def service_request_join(
        self, info: AppInfo, id: strawberry.ID
    ) -> ServiceRequestPayload:
        _, pk = decode_id(id, "ServiceRequest")
        try:
            row = await request_rules.join_request(info.context, pk)
        except Invalid as invalid:
            return failed(invalid, "service_request")  # type: ignore[no-any-return]
        return payload(service_request=row)  # type: ignore[no-any-return]


@strawberry.type(description="A request the caller may see changed.")
class ServiceRequestChange:
    kind: str = field(VISIBLE, "What changed, e.g. REQUEST_DISPATCH.")
    stage: RequestStageType | None = field(  # type: ignore[valid-type]
        VISIBLE, "The stage after the change."
    )
    at: datetime = field(VISIBLE, "When.")
    service_request_id: strawberry.ID = field(VISIBLE, "The request's global id.")

    @field(VISIBLE, "The request as it is now, if the caller may still see it.")
    async def service_request(self, info: AppInfo) -> ServiceRequest | None:
        pk = as_row(self)["subject_id"]
        return one(
            ServiceRequest, await by_id(info.context, ServiceRequestModel).load(pk)
        )


@strawberry.type
class RequestSubscription:
    @field(
        SIGNED_IN,
        "Changes to the requests the caller may see: staff under a unit of their "
        "jurisdiction, a firm those it handles, a resident their own.",
        is_subscription=True,
    )
    async def service_request_changes(
        self, info: AppInfo, unit_id: strawberry.ID | None = None
    ) -> AsyncGenerator[ServiceRequestChange, None]:
        unit = _pk(unit_id, "OrgUnit")
        async for event in request_rules.request_changes(info.context, unit):
            stage = event.data.get("stage")
            yield {  # type: ignore[misc]
                "kind": event.kind,
                "stage": RequestStage(stage) if stage else None,
                "at": event.at,
                "service_request_id": encode_id("ServiceRequest", event.subject_id),
                "subject_id": event.subject_id,
            }
