"""Demo service requests: categories, requests in every stage, small needs.

Loaded after the district by ``api.demo.load_demo``, into the pilots (新桥社区
with 望湖锦苑 and 西江月, and 五社村). The same seed gives the same requests;
their times are counted back from ``now`` so that the demo reads as current.
All of it is invented, like the rest of the demo district.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models import (
    Estate,
    Organization,
    OrgUnit,
    RequestCategory,
    RequestJoin,
    RequestStep,
    RoleAssignment,
    ServiceRequest,
)
from models.enums import (
    HandlerKind,
    OrganizationKind,
    RequestAction,
    RequestStage,
    Role,
)
from resolvers.context import utcnow
from resolvers.request import TRANSITIONS, china_day, dispatch_route

__all__ = ["CATEGORIES", "load_demo_requests"]

logger = logging.getLogger(__name__)

# code, name, handler, hours, group, description
CATEGORIES = (
    (
        "REPAIR",
        "公共维修",
        HandlerKind.PROPERTY_COMPANY,
        48,
        "物业服务",
        "楼道灯、门禁、电梯、水管等公共设施",
    ),
    (
        "CLEANING",
        "环境卫生",
        HandlerKind.PROPERTY_COMPANY,
        24,
        "物业服务",
        "垃圾清运、楼道保洁、绿化",
    ),
    (
        "PARKING",
        "停车管理",
        HandlerKind.PROPERTY_COMPANY,
        72,
        "物业服务",
        "车位、充电桩、占道停车",
    ),
    (
        "SAFETY",
        "治安隐患",
        HandlerKind.COMMUNITY,
        24,
        "社区事务",
        "消防通道、可疑情况、安全隐患",
    ),
    (
        "NEIGHBOUR",
        "邻里纠纷",
        HandlerKind.COMMUNITY,
        72,
        "社区事务",
        "噪音、漏水、宠物等邻里矛盾",
    ),
    (
        "ELDERLY",
        "为老服务",
        HandlerKind.COMMUNITY,
        120,
        "社区事务",
        "助餐、助浴、陪诊、适老化改造",
    ),
    (
        "ROAD",
        "道路破损",
        HandlerKind.DEPARTMENT,
        120,
        "部门事务",
        "小区外道路、井盖、路灯",
    ),
)
DEPARTMENT_OF = {"ROAD": "瓯海区住房和城乡建设局"}

# What residents ask, by category (a few per category, picked by the seed).
TEXTS = {
    "REPAIR": (
        "3幢2单元楼道灯坏了一个星期",
        "地下车库入口的门禁刷不开",
        "5幢电梯经常停在8楼不动",
        "小区北门水管漏水",
    ),
    "CLEANING": (
        "垃圾分类点周末没人清运",
        "楼道里堆放杂物很久没清理",
        "中心花园的草坪该修剪了",
    ),
    "PARKING": ("希望增设电动车充电桩", "消防通道经常被私家车占用", "访客车位太少"),
    "SAFETY": (
        "楼顶天台门锁坏了，存在安全隐患",
        "小区东侧围墙有缺口",
        "消防栓没有水压",
    ),
    "NEIGHBOUR": ("楼上深夜噪音影响休息", "邻居家空调滴水到我家阳台"),
    "ELDERLY": (
        "希望社区开设老年食堂",
        "独居老人需要定期上门探访",
        "希望给老旧单元加装扶手",
    ),
    "ROAD": (
        "村口道路有大坑，雨天积水",
        "路灯不亮，晚上出行不安全",
        "井盖松动，车辆经过有响声",
    ),
}
# Requests shared into the library of small needs, with many joining them.
SHARED = (
    ("ELDERLY", "望湖锦苑", "希望社区开设老年食堂"),
    ("PARKING", "西江月", "希望增设电动车充电桩"),
    ("REPAIR", "望湖锦苑", "老旧单元希望加装电梯"),
    ("ROAD", None, "村口道路有大坑，雨天积水"),
)
STAGES = (
    RequestStage.PUBLISHED,
    RequestStage.DISPATCHED,
    RequestStage.HANDLING,
    RequestStage.VERIFYING,
    RequestStage.EVALUATED,
)
# How a request reaches each stage from DISPATCHED.
PATHS = {
    RequestStage.DISPATCHED: (),
    RequestStage.HANDLING: (RequestAction.ACCEPT, RequestAction.UPDATE),
    RequestStage.VERIFYING: (
        RequestAction.ACCEPT,
        RequestAction.UPDATE,
        RequestAction.RESOLVE,
    ),
    RequestStage.EVALUATED: (
        RequestAction.ACCEPT,
        RequestAction.RESOLVE,
        RequestAction.EVALUATE,
    ),
}
NOTES = {
    RequestAction.ACCEPT: "已受理，安排人员处理",
    RequestAction.UPDATE: "师傅已到现场查看，材料明天到",
    RequestAction.RESOLVE: "已处理完毕，请确认",
    RequestAction.EVALUATE: "处理及时，态度很好",
    RequestAction.RETURN: "不属于物业服务范围，请社区重新派单",
}
PER_PLACE = 14


@dataclass
class _Place:
    unit: OrgUnit
    estate: Estate | None
    residents: list[int]


async def _categories() -> dict[str, RequestCategory]:
    departments = dict(
        await Organization.filter(kind=OrganizationKind.DEPARTMENT).values_list(
            "name", "id"
        )
    )
    made = {}
    for code, name, kind, hours, group, description in CATEGORIES:
        department = departments.get(DEPARTMENT_OF.get(code, ""))
        made[code] = await RequestCategory.create(
            code=code,
            name=name,
            handler_kind=kind
            if kind != HandlerKind.DEPARTMENT or department
            else HandlerKind.COMMUNITY,
            department_id=department,
            deadline_hours=hours,
            group=group,
            description=description,
            keywords=name,
        )
    return made


async def _residents(unit: OrgUnit) -> list[int]:
    found = (
        await RoleAssignment.filter(
            role=Role.RESIDENT, unit_path=unit.path, ends_at__isnull=True
        )
        .order_by("id")
        .values_list("person_id", flat=True)
    )
    return [int(str(p)) for p in found]


async def _places() -> list[_Place]:
    places: list[_Place] = []
    for name in ("新桥社区", "五社村"):
        unit = await OrgUnit.get_or_none(name=name)
        if unit is None:
            continue
        residents = await _residents(unit)
        if not residents:
            continue
        estates = await Estate.filter(unit_id=unit.id).order_by("id")
        if estates:
            places.extend(_Place(unit, estate, residents) for estate in estates)
        else:
            places.append(_Place(unit, None, residents))
    return places


async def _actor(role: Role, path: str, organization_id: int | None) -> int | None:
    """Someone holding ``role`` over ``path`` (of ``organization_id``), if any."""
    query = RoleAssignment.filter(role=role, ends_at__isnull=True)
    if organization_id is not None:
        query = query.filter(organization_id=organization_id)
    for row in await query.order_by("id").values("person_id", "unit_path"):
        if organization_id is not None or path.startswith(row["unit_path"]):
            return int(row["person_id"])
    return None


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.steps: list[RequestStep] = []
        self.requests = 0

    async def request(
        self,
        place: _Place,
        category: RequestCategory,
        stage: RequestStage,
        text: str,
        raiser: int,
        shared: bool = False,
    ) -> ServiceRequest:
        if stage in (RequestStage.VERIFYING, RequestStage.EVALUATED):
            age = timedelta(hours=self.rng.randint(24, 24 * 20))
        else:
            # Open ones mostly within their deadline, about one in five past it.
            hours = category.deadline_hours * self.rng.uniform(0.1, 1.25)
            age = timedelta(hours=max(1.0, hours))
        at = self.now - age
        route = await dispatch_route(
            category, place.estate.id if place.estate else None, china_day(at)
        )
        request = await ServiceRequest.create(
            category_id=category.id,
            raised_by_id=raiser,
            unit_id=place.unit.id,
            unit_path=place.unit.path,
            estate_id=place.estate.id if place.estate else None,
            text=text,
            address=(place.estate.name if place.estate else place.unit.name),
            is_public=shared,
            stage=RequestStage.DISPATCHED,
            handler_kind=route.kind,
            handler_organization_id=route.organization_id,
            due_at=at + timedelta(hours=category.deadline_hours),
            created_at=at,
            updated_at=at,
        )
        self.requests += 1
        self._step(
            request,
            RequestAction.PUBLISH,
            None,
            RequestStage.PUBLISHED,
            at,
            raiser,
            "RESIDENT",
        )
        self._step(
            request,
            RequestAction.DISPATCH,
            RequestStage.PUBLISHED,
            RequestStage.DISPATCHED,
            at,
            None,
            "SYSTEM",
            route.note,
        )
        await self._walk(request, stage, at, raiser, age)
        return request

    async def _walk(
        self,
        request: ServiceRequest,
        stage: RequestStage,
        at: datetime,
        raiser: int,
        age: timedelta,
    ) -> None:
        handler, role = await self._handler(request)
        current = RequestStage.DISPATCHED
        if stage == RequestStage.PUBLISHED:
            # Returned by its handler: waiting for the community to dispatch it.
            at += age / 3
            self._step(
                request,
                RequestAction.RETURN,
                current,
                stage,
                at,
                handler,
                role,
                NOTES[RequestAction.RETURN],
            )
            await ServiceRequest.filter(id=request.id).update(
                handler_kind=None, handler_organization_id=None
            )
            request.due_at = at + timedelta(hours=24)
            current = stage
        for action in PATHS.get(stage, ()):
            at += age / 5
            target = TRANSITIONS[action][1]
            by, by_role = (
                (raiser, "RESIDENT")
                if action == RequestAction.EVALUATE
                else (handler, role)
            )
            self._step(request, action, current, target, at, by, by_role, NOTES[action])
            current = target
        request.stage = stage
        request.updated_at = at
        if stage == RequestStage.EVALUATED:
            request.rating = self.rng.choice((3, 4, 5, 5, 5))
            request.comment = NOTES[RequestAction.EVALUATE]
            request.closed_at = at
        await request.save(
            update_fields=[
                "stage",
                "updated_at",
                "due_at",
                "rating",
                "comment",
                "closed_at",
            ]
        )

    async def _handler(self, request: ServiceRequest) -> tuple[int | None, str]:
        if request.handler_kind == HandlerKind.PROPERTY_COMPANY:
            staff = await _actor(
                Role.PROPERTY_COMPANY,
                request.unit_path,
                request.handler_organization_id,
            )
            return staff, "PROPERTY_COMPANY"
        if request.handler_kind == HandlerKind.DEPARTMENT:
            return await _actor(Role.OFFICIAL, request.unit_path, None), "OFFICIAL"
        return await _actor(Role.CADRE, request.unit_path, None), "CADRE"

    def _step(
        self,
        request: ServiceRequest,
        action: RequestAction,
        before: RequestStage | None,
        after: RequestStage,
        at: datetime,
        person: int | None,
        role: str,
        note: str = "",
    ) -> None:
        self.steps.append(
            RequestStep(
                request_id=request.id,
                unit_path=request.unit_path,
                action=action,
                from_stage=before,
                to_stage=after,
                actor_person_id=person,
                actor_role=role,
                note=note,
                at=at,
            )
        )


async def load_demo_requests(seed: int, now: datetime | None = None) -> dict[str, int]:
    """Categories and requests for the pilots; nothing when categories exist."""
    if await RequestCategory.exists():
        return {"requests": 0}
    now = now or utcnow()
    rng = random.Random(seed)
    async with in_transaction():
        categories = await _categories()
        places = await _places()
        builder = _Builder(rng, now)
        joins: list[RequestJoin] = []
        for place in places:
            for index in range(PER_PLACE):
                code = rng.choice(list(TEXTS))
                if (
                    place.estate is None
                    and categories[code].handler_kind == HandlerKind.PROPERTY_COMPANY
                ):
                    code = "ROAD"
                stage = STAGES[index % len(STAGES)]
                await builder.request(
                    place,
                    categories[code],
                    stage,
                    rng.choice(TEXTS[code]),
                    rng.choice(place.residents[:40]),
                )
        for code, estate_name, text in SHARED:
            found = next(
                (
                    p
                    for p in places
                    if (p.estate.name if p.estate else None) == estate_name
                ),
                None,
            )
            if found is None:
                continue
            place = found
            raiser, *others = rng.sample(place.residents, min(len(place.residents), 12))
            request = await builder.request(
                place,
                categories[code],
                RequestStage.DISPATCHED,
                text,
                raiser,
                shared=True,
            )
            for person in others:
                joins.append(
                    RequestJoin(
                        request_id=request.id,
                        person_id=person,
                        unit_path=request.unit_path,
                        at=now,
                    )
                )
            await ServiceRequest.filter(id=request.id).update(join_count=len(others))
        await RequestStep.bulk_create(builder.steps, batch_size=500)
        await RequestJoin.bulk_create(joins, batch_size=500)
    counts = {
        "requests": builder.requests,
        "steps": len(builder.steps),
        "joins": len(joins),
    }
    logger.info("demo requests loaded", extra=counts)
    return counts
