"""Visits (民情走访): orders, check-in at the dwelling, reports, the day's route.

A cadre checks in on arrival with the phone's position; the check-in counts
within the configured distance of the dwelling and with a good enough fix, and
is refused otherwise with the distance and the reason. Orders (派单) come from an
official or from the dispatch job, which orders a visit to each person overdue
or newly listed, once per period (its orders are keyed).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from models import (
    Beneficiary,
    Person,
    StoredFile,
    TrackPoint,
    Visit,
    VisitOrder,
    VisitPhoto,
)
from models.enums import (
    BeneficiaryStatus,
    Outcome,
    Role,
    VisitKind,
    VisitOrderReason,
    VisitOrderStatus,
    VisitStatus,
    WarningKind,
)
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, Work, audit, write
from resolvers.care import (
    CHINA,
    SUBJECT,
    TOPIC,
    care_settings,
    due_at,
    insert_rows,
    is_cadre_over,
    serves,
    serving_communities,
)
from resolvers.context import Context
from resolvers.events import Event
from resolvers.geo import Fence, decide, distance_m
from resolvers.jobs import JobRun, job
from resolvers.loaders import fetch_row
from resolvers.notifications import notify
from resolvers.warnings import resolve_warnings

__all__ = [
    "MAX_CAR_SPEED_KMH",
    "CheckInRefused",
    "Implausible",
    "Route",
    "analyse_route",
    "cancel_order",
    "check_in",
    "create_order",
    "day_window",
    "dispatch_orders",
    "orders_query",
    "report_visit",
    "route_of",
    "upload_track",
    "visits_query",
]

logger = logging.getLogger("yunshang.visit")

# Faster than this between two points of a route is a jump, not a journey.
MAX_CAR_SPEED_KMH = 120.0
MAX_TRACK_POINTS = 5000
MAX_PHOTOS = 9
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
CADRES = frozenset({Role.CADRE})
OFFICIALS = frozenset({Role.OFFICIAL})


def day_window(day: date) -> tuple[datetime, datetime]:
    """The instants a China calendar day spans."""
    # In UTC: SQLite compares the stored text, which is UTC.
    start = datetime.combine(day, time(), CHINA).astimezone(UTC)
    return start, start + timedelta(days=1)


def _event(context: Context, kind: str, subject: str, pk: int, path: str) -> Event:
    return Event(TOPIC, kind, path, subject, pk, context.caller.person_id)


# -- orders -----------------------------------------------------------------------


def orders_query(
    caller: Caller,
    unit_path: str | None = None,
    status: VisitOrderStatus | None = None,
    mine: bool = False,
) -> Any:
    queryset = visible(VisitOrder, caller)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    if status is not None:
        queryset = queryset.filter(status=status)
    if mine:
        queryset = queryset.filter(assignee_id=caller.person_id)
    return queryset


def visits_query(
    caller: Caller,
    unit_path: str | None = None,
    beneficiary_id: int | None = None,
    visitor_id: int | None = None,
) -> Any:
    queryset = visible(Visit, caller)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    if beneficiary_id is not None:
        queryset = queryset.filter(beneficiary_id=beneficiary_id)
    if visitor_id is not None:
        queryset = queryset.filter(visitor_id=visitor_id)
    return queryset


async def _order_notice(work: Work, order: VisitOrder, name: str) -> None:
    deadline = order.deadline.astimezone(CHINA).strftime("%m月%d日 %H:%M")
    await notify(
        work,
        [order.assignee_id],
        kind="VISIT_ORDER",
        title="走访派单",
        body=f"请在 {deadline} 前走访 {name}。",
        subject_type="VisitOrder",
        subject_id=order.id,
        unit_path=order.unit_path,
        key=f"visit-order:{order.id}",
    )


async def create_order(
    context: Context,
    beneficiary_id: int,
    assignee_id: int,
    deadline: datetime,
    note: str,
) -> dict[str, Any]:
    """An official orders a visit to a person, to a cadre, by a deadline."""
    caller = context.caller
    beneficiary = await visible(Beneficiary, caller).get_or_none(id=beneficiary_id)
    if beneficiary is None:
        raise NotFound("No Beneficiary has this id.")
    if not (caller.is_admin or caller.covers(beneficiary.unit_path, OFFICIALS)):
        raise Forbidden("Only officials over the person order visits.")
    if await visible(Person, caller).get_or_none(id=assignee_id) is None:
        raise NotFound("No Person has this id.")

    now = context.clock()
    errors = []
    if beneficiary.status == BeneficiaryStatus.DECEASED:
        errors.append(
            UserError("beneficiaryId", "此人已去世，不再走访。", "BENEFICIARY_DECEASED")
        )
    if not await is_cadre_over(assignee_id, beneficiary.unit_path, now):
        errors.append(
            UserError(
                "assigneeId", "应派给此人所在村社或网格的干部。", "NOT_A_CADRE_HERE"
            )
        )
    if deadline.tzinfo is None or deadline <= now:
        errors.append(UserError("deadline", "期限应在将来。", "DEADLINE_PAST"))
    if len(note) > 200:
        errors.append(UserError("note", "说明最多 200 个字。", "NOTE_TOO_LONG"))
    if errors:
        raise Invalid(errors)

    async with write(context, "VISIT_ORDER_CREATE") as work:
        order = await VisitOrder.create(
            beneficiary_id=beneficiary.id,
            unit_path=beneficiary.unit_path,
            assignee_id=assignee_id,
            issued_by_id=caller.person_id,
            reason=VisitOrderReason.ORDERED,
            note=note.strip(),
            deadline=deadline,
            created_at=now,
        )
        await _order_notice(work, order, beneficiary.name)
        work.audit("VisitOrder", [order.id], order.unit_path, assignee=assignee_id)
        work.emit(
            _event(context, "VISIT_ORDERED", "VisitOrder", order.id, order.unit_path)
        )
    return await fetch_row(VisitOrder, order.id)


async def cancel_order(context: Context, order_id: int, reason: str) -> dict[str, Any]:
    caller = context.caller
    order = await visible(VisitOrder, caller).get_or_none(id=order_id)
    if order is None:
        raise NotFound("No VisitOrder has this id.")
    if not (caller.is_admin or caller.covers(order.unit_path, OFFICIALS)):
        raise Forbidden("Only officials over the person cancel orders.")
    errors = []
    if order.status != VisitOrderStatus.OPEN:
        errors.append(UserError("id", "这个派单已经结束。", "ORDER_NOT_OPEN"))
    if not 1 <= len(reason.strip()) <= 100:
        errors.append(UserError("reason", "请写明取消原因。", "REASON_REQUIRED"))
    if errors:
        raise Invalid(errors)

    async with write(context, "VISIT_ORDER_CANCEL") as work:
        await VisitOrder.filter(id=order.id).update(
            status=VisitOrderStatus.CLOSED,
            closed_reason=reason.strip(),
            closed_at=context.clock(),
        )
        work.audit("VisitOrder", [order.id], order.unit_path)
        work.emit(
            _event(
                context, "VISIT_ORDER_CLOSED", "VisitOrder", order.id, order.unit_path
            )
        )
    return await fetch_row(VisitOrder, order.id)


# -- check-in and report ----------------------------------------------------------


class CheckInRefused(Invalid):
    """A position too far from the dwelling, or too imprecise; with the distance."""

    def __init__(self, errors: list[UserError], distance: float | None) -> None:
        super().__init__(errors)
        self.distance_m = distance


def _may_visit(caller: Caller, beneficiary: Beneficiary) -> bool:
    return (
        caller.covers(beneficiary.unit_path, CADRES)
        or beneficiary.responsible_id == caller.person_id
    )


async def check_in(
    context: Context,
    beneficiary_id: int,
    order_id: int | None,
    latitude: float,
    longitude: float,
    accuracy_m: float,
) -> dict[str, Any]:
    """A cadre arrives at the dwelling (the position already in WGS-84)."""
    caller = context.caller
    beneficiary = await visible(Beneficiary, caller).get_or_none(id=beneficiary_id)
    if beneficiary is None:
        raise NotFound("No Beneficiary has this id.")
    if caller.person_id is None or not _may_visit(caller, beneficiary):
        raise Forbidden("Only the person's community and grid cadres visit.")

    errors = []
    order = None
    if order_id is not None:
        order = await visible(VisitOrder, caller).get_or_none(id=order_id)
        if order is None:
            raise NotFound("No VisitOrder has this id.")
        if order.beneficiary_id != beneficiary.id:
            errors.append(
                UserError("orderId", "派单不是走访此人的。", "ORDER_MISMATCH")
            )
        elif order.assignee_id != caller.person_id:
            errors.append(
                UserError("orderId", "这个派单不是派给您的。", "NOT_YOUR_ORDER")
            )
        elif order.status != VisitOrderStatus.OPEN:
            errors.append(UserError("orderId", "这个派单已经结束。", "ORDER_NOT_OPEN"))
    if beneficiary.status == BeneficiaryStatus.DECEASED:
        errors.append(
            UserError("beneficiaryId", "此人已去世，不再走访。", "BENEFICIARY_DECEASED")
        )
    if beneficiary.latitude is None or beneficiary.longitude is None:
        errors.append(
            UserError(
                "beneficiaryId",
                "还没有登记此人住处的位置，请先登记。",
                "DWELLING_NOT_LOCATED",
            )
        )
    if errors:
        raise Invalid(errors)
    assert beneficiary.latitude is not None and beneficiary.longitude is not None

    settings = await care_settings()
    fence = Fence(
        beneficiary.latitude, beneficiary.longitude, settings["checkin.max_distance_m"]
    )
    decision = decide(
        latitude, longitude, accuracy_m, [fence], settings["checkin.max_accuracy_m"]
    )
    if not decision.ok:
        await audit(
            context,
            "VISIT_CHECK_IN",
            Outcome.FAILED,
            SUBJECT,
            [beneficiary.id],
            beneficiary.unit_path,
            code=decision.code,
            distance_m=round(decision.distance_m),
            accuracy_m=round(accuracy_m),
        )
        raise CheckInRefused(
            [UserError("location", decision.message, decision.code)],
            decision.distance_m,
        )

    now = context.clock()
    async with write(context, "VISIT_CHECK_IN") as work:
        visit = await Visit.create(
            beneficiary_id=beneficiary.id,
            unit_path=beneficiary.unit_path,
            kind=VisitKind.DISPATCHED if order else VisitKind.ROUTINE,
            order_id=order.id if order else None,
            visitor_id=caller.person_id,
            status=VisitStatus.CHECKED_IN,
            checked_in_at=now,
            latitude=latitude,
            longitude=longitude,
            accuracy_m=accuracy_m,
            distance_m=decision.distance_m,
        )
        await Beneficiary.filter(id=beneficiary.id).update(
            last_visit_at=now,
            visit_due_at=due_at(now, now, beneficiary.interval_days),
        )
        # The visit also fulfils the person's other open orders given to this cadre.
        await VisitOrder.filter(
            Q(id=order.id) if order else Q(assignee_id=caller.person_id),
            beneficiary_id=beneficiary.id,
            status=VisitOrderStatus.OPEN,
        ).update(status=VisitOrderStatus.DONE, closed_at=now)
        await resolve_warnings(
            work,
            subject_type=SUBJECT,
            subject_id=beneficiary.id,
            kinds=[WarningKind.VISIT_OVERDUE, WarningKind.NEW_BENEFICIARY],
        )
        work.audit(
            "Visit", [visit.id], visit.unit_path, distance_m=round(visit.distance_m)
        )
        work.emit(
            _event(context, "VISIT_CHECKED_IN", "Visit", visit.id, visit.unit_path)
        )
    return await fetch_row(Visit, visit.id)


async def report_visit(
    context: Context,
    visit_id: int,
    situation: str,
    needs: str,
    photo_ids: Sequence[int],
) -> dict[str, Any]:
    """The visitor's report: the situation, needs found, photos. Written once."""
    caller = context.caller
    visit = await visible(Visit, caller).get_or_none(id=visit_id)
    if visit is None:
        raise NotFound("No Visit has this id.")
    if visit.visitor_id != caller.person_id:
        raise Forbidden("Only the visitor reports the visit.")

    situation, needs = situation.strip(), needs.strip()
    errors = []
    if visit.status != VisitStatus.CHECKED_IN:
        errors.append(
            UserError("visitId", "这次走访已经报告过了。", "ALREADY_REPORTED")
        )
    if not 1 <= len(situation) <= 2000:
        errors.append(
            UserError(
                "situation", "请填写走访情况（2000 字以内）。", "SITUATION_REQUIRED"
            )
        )
    if len(needs) > 2000:
        errors.append(UserError("needs", "需求最多 2000 字。", "NEEDS_TOO_LONG"))
    unique = sorted(set(photo_ids))
    if len(unique) > MAX_PHOTOS:
        errors.append(
            UserError("photoIds", f"最多 {MAX_PHOTOS} 张照片。", "TOO_MANY_PHOTOS")
        )
    photos = (
        await visible(StoredFile, caller)
        .filter(id__in=unique, media_type__in=list(IMAGES))
        .values_list("id", flat=True)
    )
    if len(photos) != len(unique):
        errors.append(
            UserError("photoIds", "照片应是您能查看的图片文件。", "PHOTO_INVALID")
        )
    if errors:
        raise Invalid(errors)

    async with write(context, "VISIT_REPORT") as work:
        await Visit.filter(id=visit.id).update(
            status=VisitStatus.REPORTED,
            situation=situation,
            needs=needs,
            reported_at=context.clock(),
        )
        await VisitPhoto.bulk_create(
            [
                VisitPhoto(visit_id=visit.id, file_id=pk, unit_path=visit.unit_path)
                for pk in unique
            ]
        )
        work.audit("Visit", [visit.id], visit.unit_path, photos=len(unique))
        work.emit(_event(context, "VISIT_REPORTED", "Visit", visit.id, visit.unit_path))
    return await fetch_row(Visit, visit.id)


# -- the route of the day ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackInput:
    at: datetime
    latitude: float
    longitude: float
    accuracy_m: float | None


async def upload_track(
    context: Context, points: Sequence[TrackInput]
) -> tuple[int, int]:
    """Store the caller's track points (WGS-84); a point already stored is skipped.

    Returns ``(stored, skipped)``.
    """
    caller = context.caller
    cadre_paths = caller.paths(CADRES)
    if caller.person_id is None or not cadre_paths:
        raise Forbidden("Only cadres upload their routes.")
    now = context.clock()
    errors = []
    if not 1 <= len(points) <= MAX_TRACK_POINTS:
        errors.append(
            UserError(
                "points", f"一次上传 1 到 {MAX_TRACK_POINTS} 个点。", "POINTS_COUNT"
            )
        )
    for number, point in enumerate(points):
        if point.at.tzinfo is None or point.at > now + timedelta(minutes=5):
            errors.append(
                UserError(f"points.{number}.at", "时间无效或在将来。", "POINT_TIME")
            )
            break
        values = (point.latitude, point.longitude)
        if not all(math.isfinite(v) for v in values) or not (
            -90 <= point.latitude <= 90 and -180 <= point.longitude <= 180
        ):
            errors.append(UserError(f"points.{number}", "坐标无效。", "POINT_INVALID"))
            break
    if errors:
        raise Invalid(errors)

    by_time = {p.at: p for p in points}
    stored_at = set(
        await TrackPoint.filter(
            person_id=caller.person_id, at__in=list(by_time)
        ).values_list("at", flat=True)
    )
    fresh = [p for at, p in sorted(by_time.items()) if at not in stored_at]
    async with write(context, "VISIT_TRACK_UPLOAD") as work:
        await TrackPoint.bulk_create(
            [
                TrackPoint(
                    person_id=caller.person_id,
                    unit_path=cadre_paths[0],
                    at=p.at,
                    latitude=p.latitude,
                    longitude=p.longitude,
                    accuracy_m=p.accuracy_m,
                )
                for p in fresh
            ],
            batch_size=500,
        )
        work.audit("TrackPoint", [], cadre_paths[0], stored=len(fresh))
    return len(fresh), len(points) - len(fresh)


@dataclass(frozen=True, slots=True)
class Implausible:
    """A point that could only be reached faster than a car drives."""

    at: datetime
    latitude: float
    longitude: float
    speed_kmh: float
    jump_m: float


@dataclass
class Route:
    points: int = 0
    distance_m: float = 0.0
    visits: int = 0
    time_on_site_s: float = 0.0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    implausible: list[Implausible] = field(default_factory=list)


Point = tuple[datetime, float, float]


def analyse_route(
    points: Sequence[Point],
    visits: Sequence[Point],
    radius_m: float,
    max_speed_kmh: float = MAX_CAR_SPEED_KMH,
) -> Route:
    """Distance, visits and time on site of one day's track; jumps flagged.

    A point reached from the last plausible one faster than ``max_speed_kmh`` is
    flagged and left out of the distance. Time on site is, for each visit, the
    span of the consecutive plausible points within ``radius_m`` of the check-in
    around the check-in time.
    """
    ordered = sorted(points)
    route = Route(points=len(ordered), visits=len(visits))
    kept: list[Point] = []
    for point in ordered:
        if not kept:
            kept.append(point)
            continue
        at, lat, lng = point
        last_at, last_lat, last_lng = kept[-1]
        jump = distance_m(last_lat, last_lng, lat, lng)
        seconds = (at - last_at).total_seconds()
        speed = math.inf if seconds <= 0 else jump / seconds * 3.6
        if jump > 0 and speed > max_speed_kmh:
            route.implausible.append(
                Implausible(at, lat, lng, round(min(speed, 1e6), 1), round(jump, 1))
            )
            continue
        route.distance_m += jump
        kept.append(point)
    if kept:
        route.started_at, route.ended_at = kept[0][0], kept[-1][0]

    for visit_at, visit_lat, visit_lng in visits:
        route.time_on_site_s += _time_on_site(
            kept, visit_at, visit_lat, visit_lng, radius_m
        )
    route.distance_m = round(route.distance_m, 1)
    return route


def _time_on_site(
    kept: list[Point], at: datetime, lat: float, lng: float, radius_m: float
) -> float:
    near = [distance_m(p[1], p[2], lat, lng) <= radius_m for p in kept]
    if not any(near):
        return 0.0
    closest = min(
        (i for i, inside in enumerate(near) if inside),
        key=lambda i: abs((kept[i][0] - at).total_seconds()),
    )
    first = last = closest
    while first > 0 and near[first - 1]:
        first -= 1
    while last < len(kept) - 1 and near[last + 1]:
        last += 1
    return (kept[last][0] - kept[first][0]).total_seconds()


async def route_of(context: Context, person_id: int, day: date) -> Route:
    """The analysis of a cadre's route on a day, for the cadre and officials above."""
    caller = context.caller
    if await visible(Person, caller).get_or_none(id=person_id) is None:
        raise NotFound("No Person has this id.")
    start, end = day_window(day)
    points = (
        await visible(TrackPoint, caller)
        .filter(person_id=person_id, at__gte=start, at__lt=end)
        .values_list("at", "latitude", "longitude")
    )
    visits = (
        await visible(Visit, caller)
        .filter(visitor_id=person_id, checked_in_at__gte=start, checked_in_at__lt=end)
        .values_list("checked_in_at", "latitude", "longitude")
    )
    settings = await care_settings()
    return analyse_route(
        [(p[0], p[1], p[2]) for p in points],
        [(v[0], v[1], v[2]) for v in visits],
        settings["checkin.max_distance_m"],
    )


# -- automatic dispatch -----------------------------------------------------------


async def dispatch_orders(context: Context) -> dict[str, int]:
    """Order a visit to the responsible cadre of each person overdue or newly
    listed who has no open order. Safe to run twice: an order is keyed by the
    person and the period it is for."""
    now = context.clock()
    settings = await care_settings()
    deadline = now + timedelta(days=settings["order.deadline_days"])
    open_orders = VisitOrder.filter(status=VisitOrderStatus.OPEN).values(
        "beneficiary_id"
    )
    due = (
        await Beneficiary.filter(
            Q(visit_due_at__lt=now) | Q(last_visit_at__isnull=True),
            status=BeneficiaryStatus.ACTIVE,
            responsible_id__isnull=False,
        )
        .exclude(id__in=Subquery(open_orders))
        .values("id", "unit_path", "responsible_id", "last_visit_at", "visit_due_at")
    )
    # An order to a cadre no longer on a post there would reach nobody who can
    # see the person: the warnings job has them UNATTENDED instead.
    communities = await serving_communities(now)
    due = [row for row in due if serves(communities, row)]
    made = 0
    per_cadre: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(due), 500):
        chunk = due[start : start + 500]
        keys = [_order_key(row) for row in chunk]
        async with write(context, "VISIT_DISPATCH") as work:
            # A key made before (the same person and period) is skipped.
            orders = await insert_rows(
                VisitOrder,
                [
                    VisitOrder(
                        beneficiary_id=row["id"],
                        unit_path=row["unit_path"],
                        assignee_id=row["responsible_id"],
                        reason=VisitOrderReason.NEW_BENEFICIARY
                        if row["last_visit_at"] is None
                        else VisitOrderReason.OVERDUE,
                        deadline=deadline,
                        key=key,
                        status=VisitOrderStatus.OPEN,
                        created_at=now,
                    )
                    for row, key in zip(chunk, keys, strict=True)
                ],
                ("id", "unit_path", "assignee_id"),
                ignore_conflicts=True,
            )
            if orders is None:
                orders = await VisitOrder.filter(key__in=keys, created_at=now).values(
                    "id", "unit_path", "assignee_id"
                )
            for order in orders:
                per_cadre.setdefault(order["assignee_id"], []).append(order)
                work.emit(
                    _event(
                        context,
                        "VISIT_ORDERED",
                        "VisitOrder",
                        order["id"],
                        order["unit_path"],
                    )
                )
            if orders:
                work.audit("VisitOrder", [o["id"] for o in orders], "", automatic=True)
        made += len(orders)

    # One notice per cadre and run, however many orders it brings.
    if per_cadre:
        async with write(context, "VISIT_DISPATCH_NOTIFY") as work:
            for assignee, theirs in per_cadre.items():
                first = min(o["id"] for o in theirs)
                await notify(
                    work,
                    [assignee],
                    kind="VISIT_ORDER",
                    title="走访派单",
                    body=f"系统派给您 {len(theirs)} 个走访任务，请在期限前完成。",
                    subject_type="VisitOrder",
                    subject_id=first,
                    unit_path=theirs[0]["unit_path"],
                    key=f"visit-dispatch:{assignee}:{first}",
                )
    logger.info("visit dispatch", extra={"orders": made})
    return {"orders": made}


def _order_key(row: dict[str, Any]) -> str:
    if row["last_visit_at"] is None:
        return f"AUTO:{row['id']}:NEW"
    due: datetime = row["visit_due_at"]
    return f"AUTO:{row['id']}:{due.astimezone(CHINA).date().isoformat()}"


@job("care.dispatch", every=timedelta(hours=1))
async def dispatch_job(run: JobRun) -> dict[str, int]:
    """Order visits to people overdue or newly listed (自动派单)."""
    return await dispatch_orders(run.context)
