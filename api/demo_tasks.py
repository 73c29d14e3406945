"""Demo data of tasks and duty: the district's five standing tasks (五清任务),
tasks of the pilots' subdistrict in every state, and duty for the two pilots.

Loaded by ``api.demo.load_demo`` after the org hierarchy and the people. Like the
rest of the demo it reads no clock: periods are reckoned from
``api.demo.REFERENCE_DATE`` (2026-12-01), and a few yearly tasks fall due in the
middle of 2027, so a board shows open work beside the finished and the overdue.
All of it is invented.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models import (
    CheckInPoint,
    DutyCheckIn,
    DutyRule,
    OrgUnit,
    RoleAssignment,
    StandingTask,
    Task,
    TaskAssignment,
    TaskTransition,
)
from models.enums import Level, Role, TaskCycle, TaskRequirement, TaskState
from resolvers.duty import duty_days
from resolvers.geo import distance_m

__all__ = ["FIVE_CLEARS", "load_tasks_demo"]

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class _Standing:
    name: str
    instructions: str
    cycle: TaskCycle
    requirement: TaskRequirement
    due_days: int | None


# The district's standing tasks: data it may change (names, cycles, what is due).
FIVE_CLEARS = (
    _Standing(
        "清垃圾",
        "清理房前屋后、道路两侧和公共区域的生活垃圾，上传清理前后照片。",
        TaskCycle.WEEKLY,
        TaskRequirement.REQUIRED_FILES,
        None,
    ),
    _Standing(
        "清河塘沟渠",
        "清理辖区河塘、沟渠的漂浮物和淤积，填写清理段落和长度。",
        TaskCycle.MONTHLY,
        TaskRequirement.BOTH,
        20,
    ),
    _Standing(
        "清乱堆乱放",
        "清理楼道、院落和道路的乱堆乱放，说明清理点位。",
        TaskCycle.WEEKLY,
        TaskRequirement.REQUIRED_TEXT,
        4,
    ),
    _Standing(
        "清违章建筑",
        "排查并上报新增违章搭建，配合拆除，上传台账。",
        TaskCycle.QUARTERLY,
        TaskRequirement.BOTH,
        None,
    ),
    _Standing(
        "清小广告",
        "清除墙面、电杆上的小广告，说明清理数量。",
        TaskCycle.MONTHLY,
        TaskRequirement.REQUIRED_TEXT,
        None,
    ),
)

# Tasks of the pilots' subdistrict: title, category, days before the reference
# date it was issued, deadline (days after it; None: the middle of 2027), and
# what counts as done.
_AD_HOC = (
    ("冬季消防安全隐患排查", "安全生产", 40, -20, TaskRequirement.BOTH),
    ("困难群众春节走访慰问", "民生保障", 25, 20, TaskRequirement.REQUIRED_FILES),
    ("人口信息核查更新", "基层治理", 30, -5, TaskRequirement.REQUIRED_TEXT),
    ("电动自行车集中充电点摸排", "安全生产", 10, 30, TaskRequirement.BOTH),
    ("2026年度垃圾分类示范创建", "环境整治", 5, None, TaskRequirement.BOTH),
    ("网格员培训签到汇总", "基层治理", 3, None, TaskRequirement.REQUIRED_FILES),
)
_LATER = datetime(2027, 6, 30, 10, tzinfo=UTC)
# Where assignments stand, as weights; overdue follows from the deadline.
_STATES = (
    (TaskState.VERIFIED, 4),
    (TaskState.SUBMITTED, 2),
    (TaskState.ACCEPTED, 2),
    (TaskState.RETURNED, 1),
    (TaskState.ISSUED, 2),
)
_PATHS = {
    TaskState.ISSUED: (),
    TaskState.ACCEPTED: (TaskState.ACCEPTED,),
    TaskState.SUBMITTED: (TaskState.ACCEPTED, TaskState.SUBMITTED),
    TaskState.RETURNED: (TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.RETURNED),
    TaskState.VERIFIED: (TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.VERIFIED),
}
# Check-in points of the pilots (WGS-84, invented), metres.
_POINTS = {
    "新桥社区": (("社区党群服务中心", 27.9958, 120.6235, 120.0),),
    "五社村": (
        ("村委会", 27.9712, 120.5869, 150.0),
        ("文化礼堂", 27.9735, 120.5901, 100.0),
    ),
}


def _moment(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA).astimezone(UTC)


async def load_tasks_demo(reference: date, seed: int) -> None:
    """Insert the tasks and duty of the demo (see the module's note)."""
    rng = random.Random(f"tasks-{seed}")
    district = await OrgUnit.get(level=Level.DISTRICT, code="330304")
    pilots = await OrgUnit.get(name="新桥街道", parent_id=district.id)
    communities = await OrgUnit.filter(
        path__startswith=district.path, level=Level.COMMUNITY
    ).order_by("id")
    officials = await _holders(pilots.id, Role.OFFICIAL)
    issuer = officials[0] if officials else None

    kinds = await _standing_kinds(district)
    for kind in kinds:
        await _standing_period(rng, kind, communities, reference)

    ours = [c for c in communities if c.path.startswith(pilots.path)]
    for title, category, ago, due, requirement in _AD_HOC:
        issued = _moment(reference - timedelta(days=ago), 9)
        deadline = (
            _LATER
            if due is None
            else _moment(reference + timedelta(days=due - ago), 17, 30)
        )
        task = await Task.create(
            unit_id=pilots.id,
            unit_path=pilots.path,
            title=title,
            instructions=f"请各村社按要求完成“{title}”并在截止前提交。",
            category=category,
            requirement=requirement,
            deadline=deadline,
            reminder_hours=[72, 24],
            issued_by_id=issuer,
            issued_at=issued,
        )
        await _assign(rng, task, ours, officials, reference)
    await _duty(rng, reference)


async def _holders(unit_id: int, role: Role) -> list[int]:
    found = await RoleAssignment.filter(unit_id=unit_id, role=role).order_by("id")
    return [r.person_id for r in found]


async def _standing_kinds(district: OrgUnit) -> list[StandingTask]:
    kinds = []
    for position, kind in enumerate(FIVE_CLEARS, start=1):
        kinds.append(
            await StandingTask.create(
                unit_id=district.id,
                unit_path=district.path,
                name=kind.name,
                instructions=kind.instructions,
                category="五清任务",
                cycle=kind.cycle,
                requirement=kind.requirement,
                due_days=kind.due_days,
                reminder_hours=[24],
                position=position,
            )
        )
    return kinds


def _last_period(cycle: TaskCycle, reference: date) -> tuple[date, date]:
    """The last whole period before ``reference``."""
    day = reference - timedelta(days=1)
    if cycle == TaskCycle.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    months = 1 if cycle == TaskCycle.MONTHLY else 3
    month0 = (day.month - 1) // months * months
    start = date(day.year, month0 + 1, 1)
    return start, day


async def _standing_period(
    rng: random.Random,
    kind: StandingTask,
    communities: Sequence[OrgUnit],
    reference: date,
) -> None:
    start, end = _last_period(kind.cycle, reference)
    due = end if kind.due_days is None else min(end, start + timedelta(kind.due_days))
    task = await Task.create(
        unit_id=kind.unit_id,
        unit_path=kind.unit_path,
        standing_id=kind.id,
        period_start=start,
        title=f"{kind.name}（{start:%Y-%m-%d}起）",
        instructions=kind.instructions,
        category=kind.category,
        requirement=kind.requirement,
        deadline=_moment(due, 18),
        reminder_hours=[24],
        issued_at=_moment(start, 0, 5),
    )
    await _assign(rng, task, communities, [], reference)


async def _assign(
    rng: random.Random,
    task: Task,
    communities: Sequence[OrgUnit],
    officials: Sequence[int],
    reference: date,
) -> None:
    cadres: dict[int, list[int]] = {}
    for row in await RoleAssignment.filter(
        unit_id__in=[c.id for c in communities], role=Role.CADRE
    ).order_by("id"):
        cadres.setdefault(row.unit_id, []).append(row.person_id)
    states = [s for s, _ in _STATES]
    weights = [w for _, w in _STATES]
    horizon = min(task.deadline, _moment(reference, 9))
    assignments: list[TaskAssignment] = []
    moves: list[
        list[tuple[TaskState | None, TaskState, int | None, datetime, str]]
    ] = []
    for community in communities:
        state = rng.choices(states, weights)[0]
        cadre = rng.choice(cadres.get(community.id) or [None])
        official = rng.choice(list(officials) or [None])
        at = task.issued_at
        span = max(3600.0, (horizon - at).total_seconds())
        values: dict[str, object] = {}
        trail: list[tuple[TaskState | None, TaskState, int | None, datetime, str]] = [
            (None, TaskState.ISSUED, task.issued_by_id, at, "")
        ]
        previous: TaskState = TaskState.ISSUED
        for step in _PATHS[state]:
            at = at + timedelta(seconds=rng.uniform(0.05, 0.3) * span)
            actor = (
                official if step in (TaskState.VERIFIED, TaskState.RETURNED) else cadre
            )
            note = "材料不全，请补充照片" if step == TaskState.RETURNED else ""
            trail.append((previous, step, actor, at, note))
            previous = step
            if step == TaskState.ACCEPTED:
                values.update(accepted_at=at, accepted_by_id=cadre)
            elif step == TaskState.SUBMITTED:
                values.update(
                    submitted_at=at,
                    submitted_by_id=cadre,
                    result_text="已按要求完成，详见附件。",
                    submit_seconds=int((at - task.issued_at).total_seconds()),
                )
            elif step == TaskState.VERIFIED:
                submitted = values["submitted_at"]
                assert isinstance(submitted, datetime)
                values.update(
                    verified_at=at,
                    verified_by_id=official,
                    verify_seconds=int((at - submitted).total_seconds()),
                )
            else:
                values.update(return_reason=note)
        assignments.append(
            TaskAssignment(
                task_id=task.id,
                unit_id=community.id,
                unit_path=community.path,
                issuer_path=task.unit_path,
                state=state,
                deadline=task.deadline,
                issued_at=task.issued_at,
                updated_at=at,
                **values,
            )
        )
        moves.append(trail)
    await TaskAssignment.bulk_create(assignments, batch_size=500)
    made = await TaskAssignment.filter(task_id=task.id).order_by("id")
    by_unit = {a.unit_id: a for a in made}
    transitions = [
        TaskTransition(
            assignment_id=by_unit[community.id].id,
            unit_path=community.path,
            from_state=source,
            to_state=target,
            actor_id=actor,
            at=at,
            note=note,
        )
        for community, trail in zip(communities, moves, strict=True)
        for source, target, actor, at, note in trail
    ]
    await TaskTransition.bulk_create(transitions, batch_size=500)


async def _duty(rng: random.Random, reference: date) -> None:
    """Points and working-day rules at the pilots, and December's check-ins."""
    first = date(reference.year - 1, 12, 1) if reference.month == 1 else reference
    last = reference - timedelta(days=1)
    for name, points in _POINTS.items():
        community = await OrgUnit.get(name=name, level=Level.COMMUNITY)
        made = [
            await CheckInPoint.create(
                unit_id=community.id,
                unit_path=community.path,
                name=point,
                latitude=lat,
                longitude=lng,
                radius_m=radius,
            )
            for point, lat, lng, radius in points
        ]
        for person_id in await _holders(community.id, Role.CADRE):
            rule = await DutyRule.create(
                unit_id=community.id,
                unit_path=community.path,
                person_id=person_id,
                name="工作日值班",
                working_days=True,
                starts_minute=8 * 60 + 30,
                ends_minute=17 * 60 + 30,
                grace_minutes=10,
                valid_from=first,
            )
            row: dict[str, Any] = {
                "valid_from": rule.valid_from,
                "valid_until": None,
                "working_days": True,
                "weekdays": [],
            }
            check_ins = []
            for day in duty_days(row, first, last, {}):
                roll = rng.random()
                if roll < 0.08:
                    continue  # missed
                late = rng.randint(12, 55) if roll < 0.2 else 0
                after = late if late else rng.randint(-25, 8)
                point = rng.choice(made)
                latitude = point.latitude + rng.uniform(-3e-4, 3e-4)
                longitude = point.longitude + rng.uniform(-3e-4, 3e-4)
                check_ins.append(
                    DutyCheckIn(
                        rule_id=rule.id,
                        person_id=person_id,
                        unit_id=community.id,
                        unit_path=community.path,
                        point_id=point.id,
                        day=day,
                        at=_moment(day, 8, 30) + timedelta(minutes=after),
                        latitude=latitude,
                        longitude=longitude,
                        accuracy_m=round(rng.uniform(5, 40), 1),
                        distance_m=round(
                            distance_m(
                                latitude, longitude, point.latitude, point.longitude
                            ),
                            1,
                        ),
                        minutes_late=late,
                    )
                )
            await DutyCheckIn.bulk_create(check_ins, batch_size=500)
