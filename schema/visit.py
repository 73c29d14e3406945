"""Visits in the schema: orders (派单), check-in, reports, routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from models import Beneficiary as BeneficiaryModel
from models import Person as PersonModel
from models import StoredFile as StoredFileModel
from models import Visit as VisitModel
from models import VisitOrder as VisitOrderModel
from models import VisitPhoto as VisitPhotoModel
from models.enums import (
    CoordinateSystem,
    Role,
    VisitKind,
    VisitOrderReason,
    VisitOrderStatus,
    VisitStatus,
)
from permissions.rules import STAFF, VISIBLE, HasRole, InJurisdiction, Own, Sensitive
from resolvers import visit as visit_rules
from resolvers.base import Invalid
from resolvers.loaders import by_id
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    failed,
    field,
    one,
    payload,
    structural,
)
from schema.file import StoredFile
from schema.geo import (
    CoordinateSystemType,
    LocationInput,
    location_errors,
    wgs84_of,
)
from schema.node import register_node
from schema.org import _unit_path
from schema.relations import related

if TYPE_CHECKING:
    from schema.care import Beneficiary
    from schema.person import Person

__all__ = ["Visit", "VisitMutation", "VisitOrder", "VisitQuery"]

VisitKindType = strawberry.enum(VisitKind, description="ROUTINE, or DISPATCHED (派单).")
VisitStatusType = strawberry.enum(VisitStatus, description="Checked in, then reported.")
VisitOrderStatusType = strawberry.enum(
    VisitOrderStatus, description="OPEN until visited (DONE) or closed (CLOSED)."
)
VisitOrderReasonType = strawberry.enum(
    VisitOrderReason,
    description="ORDERED by an official, or made by the system for a person "
    "OVERDUE or newly listed (NEW_BENEFICIARY).",
)
# What the visitor found may touch health and family: cadres and officials over
# the person, and the visitor, read it.
REPORT = Sensitive(InJurisdiction(Role.CADRE, Role.OFFICIAL) | Own("visitor_id"))
CADRE_ROLES = HasRole(Role.CADRE)
OFFICIAL_ROLES = HasRole(Role.ADMIN, Role.OFFICIAL)

BeneficiaryRef = Annotated["Beneficiary", strawberry.lazy("schema.care")]
PersonRef = Annotated["Person", strawberry.lazy("schema.person")]


@strawberry.type(description="A visit to a beneficiary: the check-in and the report.")
class Visit(Node):
    kind: VisitKindType = field(VISIBLE, "Routine or dispatched.")  # type: ignore[valid-type]
    status: VisitStatusType = field(VISIBLE, "Checked in or reported.")  # type: ignore[valid-type]
    checked_in_at: datetime = field(VISIBLE, "When the visitor checked in.")
    latitude: float = field(VISIBLE, "Where, WGS-84 latitude.")
    longitude: float = field(VISIBLE, "Where, WGS-84 longitude.")
    accuracy_m: float = field(VISIBLE, "The phone's accuracy, in metres.")
    distance_m: float = field(VISIBLE, "Distance from the dwelling, in metres.")
    situation: str | None = field(REPORT, "The situation found.")
    needs: str | None = field(REPORT, "The needs found.")
    reported_at: datetime | None = field(VISIBLE, "When the report was written.")

    beneficiary: BeneficiaryRef | None = related(
        VISIBLE, "Whom.", BeneficiaryModel, source="beneficiary_id", many=False
    )
    visitor: PersonRef | None = related(
        VISIBLE, "Who visited.", PersonModel, source="visitor_id", many=False
    )
    order: VisitOrder | None = related(
        VISIBLE, "The order it fulfils.", VisitOrderModel, source="order_id", many=False
    )
    photos: list[VisitPhoto] = related(
        VISIBLE, "The report's photos.", VisitPhotoModel, key="visit_id"
    )


@strawberry.type(description="A photo of a visit report.")
class VisitPhoto:
    file: StoredFile | None = related(
        VISIBLE, "The image.", StoredFileModel, source="file_id", many=False
    )


@strawberry.type(description="An order to visit a person (派单), to a cadre, by when.")
class VisitOrder(Node):
    reason: VisitOrderReasonType = field(VISIBLE, "Why.")  # type: ignore[valid-type]
    note: str = field(VISIBLE, "What the issuer asks.")
    deadline: datetime = field(VISIBLE, "Visit by then.")
    status: VisitOrderStatusType = field(VISIBLE, "Open, done or closed.")  # type: ignore[valid-type]
    closed_reason: str = field(VISIBLE, "Why it was closed.")
    created_at: datetime = field(VISIBLE, "When it was made.")
    closed_at: datetime | None = field(VISIBLE, "When it was done or closed.")

    @field(VISIBLE, "Open past its deadline.")
    def is_overdue(self, info: AppInfo) -> bool:
        row = as_row(self)
        return bool(
            row["status"] == VisitOrderStatus.OPEN
            and row["deadline"] < info.context.clock()
        )

    beneficiary: BeneficiaryRef | None = related(
        VISIBLE, "Whom to visit.", BeneficiaryModel, source="beneficiary_id", many=False
    )
    assignee: PersonRef | None = related(
        VISIBLE, "The cadre to visit.", PersonModel, source="assignee_id", many=False
    )
    issued_by: PersonRef | None = related(
        VISIBLE,
        "The official who ordered it; null for the system.",
        PersonModel,
        source="issued_by_id",
        many=False,
    )
    visits: list[Visit] = related(
        VISIBLE, "The visit that fulfilled it.", VisitModel, key="order_id"
    )


@structural
@strawberry.type(description="A point of a route reached faster than a car drives.")
class ImplausiblePoint:
    at: datetime
    latitude: float
    longitude: float
    speed_kmh: float
    jump_m: float


@structural
@strawberry.type(description="The analysis of a cadre's route on one day.")
class VisitRoute:
    points: int
    distance_m: float
    visits: int
    time_on_site_seconds: float
    started_at: datetime | None
    ended_at: datetime | None
    implausible: list[ImplausiblePoint]


register_node("Visit", VisitModel)
register_node("VisitOrder", VisitOrderModel)


@strawberry.type
class VisitQuery:
    @field(STAFF, "Visit orders in the caller's jurisdiction, or the caller's own.")
    async def visit_orders(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        status: VisitOrderStatusType | None = None,  # type: ignore[valid-type]
        mine: bool = False,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[VisitOrder]:
        path = await _unit_path(info, unit_id)
        queryset = visit_rules.orders_query(
            info.context.caller,
            path,
            VisitOrderStatus(status) if status else None,
            mine,
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(STAFF, "Visits in the caller's jurisdiction, by unit, person or visitor.")
    async def visits(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        beneficiary_id: strawberry.ID | None = None,
        visitor_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Visit]:
        path = await _unit_path(info, unit_id)
        queryset = visit_rules.visits_query(
            info.context.caller,
            path,
            decode_id(beneficiary_id, "Beneficiary")[1] if beneficiary_id else None,
            decode_id(visitor_id, "Person")[1] if visitor_id else None,
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(STAFF, "A visit by id.")
    async def visit(self, info: AppInfo, id: strawberry.ID) -> Visit | None:
        _, pk = decode_id(id, "Visit")
        return one(Visit, await by_id(info.context, VisitModel).load(pk))

    @field(
        STAFF,
        "A cadre's route on a day (China time): for the cadre and officials above.",
    )
    async def visit_route(
        self, info: AppInfo, person_id: strawberry.ID, day: date
    ) -> VisitRoute:
        route = await visit_rules.route_of(
            info.context, decode_id(person_id, "Person")[1], day
        )
        return {  # type: ignore[return-value]
            "points": route.points,
            "distance_m": route.distance_m,
            "visits": route.visits,
            "time_on_site_seconds": route.time_on_site_s,
            "started_at": route.started_at,
            "ended_at": route.ended_at,
            "implausible": [
                {
                    "at": p.at,
                    "latitude": p.latitude,
                    "longitude": p.longitude,
                    "speed_kmh": p.speed_kmh,
                    "jump_m": p.jump_m,
                }
                for p in route.implausible
            ],
        }


@strawberry.input(description="An order to visit a person.")
class VisitOrderCreateInput:
    beneficiary_id: strawberry.ID
    assignee_id: strawberry.ID
    deadline: datetime
    note: str = ""


@strawberry.input(description="Arriving at a beneficiary's dwelling.")
class VisitCheckInInput:
    beneficiary_id: strawberry.ID
    location: LocationInput
    order_id: strawberry.ID | None = None


@strawberry.input(description="The report of a visit.")
class VisitReportInput:
    visit_id: strawberry.ID
    situation: str
    needs: str = ""
    photo_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input(description="One point of the day's route.")
class TrackPointInput:
    at: datetime
    latitude: float
    longitude: float
    accuracy: float | None = None
    system: CoordinateSystemType = CoordinateSystem.WGS84  # type: ignore[valid-type]


@structural
@strawberry.type
class VisitOrderPayload:
    errors: list[UserErrorType]
    order: VisitOrder | None


@structural
@strawberry.type(
    description="The result of `visitCheckIn`; a refusal has the distance."
)
class VisitCheckInPayload:
    errors: list[UserErrorType]
    visit: Visit | None
    distance_m: float | None


@structural
@strawberry.type
class VisitPayload:
    errors: list[UserErrorType]
    visit: Visit | None


@structural
@strawberry.type
class VisitTrackPayload:
    errors: list[UserErrorType]
    stored: int | None
    skipped: int | None


@strawberry.type
class VisitMutation:
    @field(OFFICIAL_ROLES, "Order a visit to a person, to one of their cadres.")
    async def visit_order_create(
        self, info: AppInfo, input: VisitOrderCreateInput
    ) -> VisitOrderPayload:
        try:
            row = await visit_rules.create_order(
                info.context,
                decode_id(input.beneficiary_id, "Beneficiary")[1],
                decode_id(input.assignee_id, "Person")[1],
                input.deadline,
                input.note,
            )
        except Invalid as invalid:
            return failed(invalid, "order")  # type: ignore[no-any-return]
        return payload(order=row)  # type: ignore[no-any-return]

    @field(OFFICIAL_ROLES, "Close an open order without a visit, saying why.")
    async def visit_order_cancel(
        self, info: AppInfo, id: strawberry.ID, reason: str
    ) -> VisitOrderPayload:
        try:
            row = await visit_rules.cancel_order(
                info.context, decode_id(id, "VisitOrder")[1], reason
            )
        except Invalid as invalid:
            return failed(invalid, "order")  # type: ignore[no-any-return]
        return payload(order=row)  # type: ignore[no-any-return]

    @field(
        CADRE_ROLES,
        "Check in at a beneficiary's dwelling; refused beyond the configured "
        "distance or with a poor fix, with the distance.",
    )
    async def visit_check_in(
        self, info: AppInfo, input: VisitCheckInInput
    ) -> VisitCheckInPayload:
        beneficiary = decode_id(input.beneficiary_id, "Beneficiary")[1]
        order = decode_id(input.order_id, "VisitOrder")[1] if input.order_id else None
        errors = location_errors(input.location)
        if errors:
            return failed(Invalid(errors), "visit", "distance_m")  # type: ignore[no-any-return]
        latitude, longitude = wgs84_of(input.location)
        try:
            row = await visit_rules.check_in(
                info.context,
                beneficiary,
                order,
                latitude,
                longitude,
                input.location.accuracy,
            )
        except visit_rules.CheckInRefused as refused:
            result = failed(refused, "visit")
            result["distance_m"] = round(refused.distance_m or 0.0, 1)
            return result  # type: ignore[no-any-return]
        except Invalid as invalid:
            return failed(invalid, "visit", "distance_m")  # type: ignore[no-any-return]
        return payload(  # type: ignore[no-any-return]
            visit=row, distance_m=round(row["distance_m"], 1)
        )

    @field(CADRE_ROLES, "Report a visit once: the situation, needs, photos.")
    async def visit_report(
        self, info: AppInfo, input: VisitReportInput
    ) -> VisitPayload:
        try:
            row = await visit_rules.report_visit(
                info.context,
                decode_id(input.visit_id, "Visit")[1],
                input.situation,
                input.needs,
                [decode_id(p, "StoredFile")[1] for p in input.photo_ids],
            )
        except Invalid as invalid:
            return failed(invalid, "visit")  # type: ignore[no-any-return]
        return payload(visit=row)  # type: ignore[no-any-return]

    @field(CADRE_ROLES, "Upload points of the caller's route; repeats are skipped.")
    async def visit_track_upload(
        self, info: AppInfo, points: list[TrackPointInput]
    ) -> VisitTrackPayload:
        converted = []
        for number, point in enumerate(points):
            location = LocationInput(
                latitude=point.latitude,
                longitude=point.longitude,
                accuracy=point.accuracy or 0.0,
                system=point.system,
            )
            errors = location_errors(location, f"points.{number}")
            if errors:
                return failed(Invalid(errors), "stored", "skipped")  # type: ignore[no-any-return]
            latitude, longitude = wgs84_of(location)
            converted.append(
                visit_rules.TrackInput(point.at, latitude, longitude, point.accuracy)
            )
        try:
            stored, skipped = await visit_rules.upload_track(info.context, converted)
        except Invalid as invalid:
            return failed(invalid, "stored", "skipped")  # type: ignore[no-any-return]
        return payload(stored=stored, skipped=skipped)  # type: ignore[no-any-return]
