"""Tasks from the top down: issuing, the assignment state machine, who may do what.

The world (``tests.world``): official_a issues from subdistrict A to A1 and A2;
cadre_a1 holds A1's assignment; official_b, cadre_b1, residents, the property
company and the owners' committee stand outside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from api.events import LocalBus
from api.settings import load_settings
from models import (
    Notification,
    StandingTask,
    StoredFile,
    Task,
    TaskAssignment,
    TaskTransition,
    Warning,
)
from models.enums import Role, TaskCycle, TaskRequirement, TaskState, WarningKind
from permissions.caller import Caller, Grant
from resolvers.context import Context
from resolvers.files import LocalFileStore
from resolvers.jobs import run_job
from resolvers.notify import LogSender
from resolvers.task.jobs import reminders_due
from schema.base import encode_id
from tests.conftest import Client
from tests.world import World

Login = Callable[[str], Awaitable[Client]]

ISSUE = """
mutation Issue($input: TaskIssueInput!) {
  taskIssue(input: $input) {
    errors { field code message }
    task { id title requirement deadline unit { name }
           assignments { id state unit { name } } }
  }
}
"""
ACCEPT = """
mutation Accept($id: ID!) {
  taskAssignmentAccept(id: $id) { errors { field code } assignment { id state } }
}
"""
SUBMIT = """
mutation Submit($id: ID!, $text: String!, $fileIds: [ID!]) {
  taskAssignmentSubmit(id: $id, text: $text, fileIds: $fileIds) {
    errors { field code } assignment { id state resultText resultFiles { id } }
  }
}
"""
VERIFY = """
mutation Verify($id: ID!) {
  taskAssignmentVerify(id: $id) { errors { field code } assignment { id state } }
}
"""
RETURN = """
mutation Return($id: ID!, $reason: String!) {
  taskAssignmentReturn(id: $id, reason: $reason) {
    errors { field code } assignment { id state returnReason }
  }
}
"""
ASSIGNMENT = """
query One($id: ID!) {
  taskAssignment(id: $id) {
    id state isOverdue acceptedAt submittedAt verifiedAt
    acceptedBy { name } submittedBy { name } verifiedBy { name }
    transitions { fromState toState note actor { name } }
    task { title }
  }
}
"""
MINE = """
query Mine($states: [TaskState!]) {
  myAssignments(states: $states) {
    totalCount edges { node { id state unit { name } task { title } } }
  }
}
"""


def unit_id(world: World, key: str) -> str:
    return encode_id("OrgUnit", world.units[key].id)


def soon(days: float = 3) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def task_input(world: World, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "unitId": unit_id(world, "A"),
        "title": "清理河道垃圾",
        "deadline": soon(),
        "requirement": "REQUIRED_TEXT",
        "communityIds": [unit_id(world, "A1"), unit_id(world, "A2")],
    }
    values.update(overrides)
    return values


async def issue(client: Client, world: World, **overrides: Any) -> dict[str, Any]:
    body = await client.query(ISSUE, {"input": task_input(world, **overrides)})
    result: dict[str, Any] = body["data"]["taskIssue"]
    return result


async def issued_to_a1(login: Login, world: World, **overrides: Any) -> str:
    """Issue a task from A to A1 and A2; the id of A1's assignment."""
    official = await login("official_a")
    result = await issue(official, world, **overrides)
    assert result["errors"] == [], result
    (a1,) = [
        a for a in result["task"]["assignments"] if a["unit"]["name"] == "甲一社区"
    ]
    return str(a1["id"])


async def move(client: Client, document: str, **variables: Any) -> dict[str, Any]:
    body = await client.query(document, variables)
    assert "errors" not in body, body
    (result,) = body["data"].values()
    return dict(result)


def codes(result: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result["errors"]]


# -- issuing ----------------------------------------------------------------------


async def test_an_official_issues_to_chosen_communities(
    login: Login, world: World
) -> None:
    official = await login("official_a")

    result = await issue(official, world)

    assert result["errors"] == []
    task = result["task"]
    assert task["unit"]["name"] == "甲街道"
    assert sorted(a["unit"]["name"] for a in task["assignments"]) == [
        "甲一社区",
        "甲二村",
    ]
    assert {a["state"] for a in task["assignments"]} == {"ISSUED"}
    assert await TaskTransition.filter(to_state=TaskState.ISSUED).count() == 2


async def test_issuing_under_a_unit_reaches_every_community_below(
    login: Login, world: World
) -> None:
    official = await login("official_district")

    result = await issue(
        official,
        world,
        unitId=unit_id(world, "district"),
        communityIds=[],
        underUnitIds=[unit_id(world, "district")],
    )

    assert result["errors"] == []
    names = sorted(a["unit"]["name"] for a in result["task"]["assignments"])
    assert names == ["乙一社区", "甲一社区", "甲二村"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"title": "  "}, "TITLE_REQUIRED"),
        ({"deadline": "2020-01-01T00:00:00+00:00"}, "DEADLINE_PASSED"),
        ({"communityIds": []}, "NO_TARGETS"),
        ({"reminderHours": [0]}, "REMINDER_INVALID"),
        ({"communityIds": ["B1"]}, "TARGET_OUTSIDE_UNIT"),
        ({"communityIds": ["A"]}, "TARGET_NOT_COMMUNITY"),
        ({"unitId": "A1", "communityIds": ["A1"]}, "NOT_AN_ISSUING_UNIT"),
    ],
)
async def test_a_bad_task_is_refused_and_nothing_is_issued(
    login: Login, world: World, overrides: dict[str, Any], code: str
) -> None:
    official = await login("official_a")
    if "communityIds" in overrides:
        overrides["communityIds"] = [
            unit_id(world, k) for k in overrides["communityIds"]
        ]
    if overrides.get("unitId") == "A1":
        overrides["unitId"] = unit_id(world, "A1")

    result = await issue(official, world, **overrides)

    assert code in codes(result)
    assert result["task"] is None
    assert await TaskAssignment.all().count() == 0


async def test_an_attachment_must_be_the_issuers_own_file(
    login: Login, world: World
) -> None:
    official = await login("official_a")
    theirs = await StoredFile.create(
        sha256="0" * 64,
        size=1,
        media_type="application/pdf",
        filename="b.pdf",
        uploaded_by_id=world.people["cadre_b1"].id,
        unit_path=world.units["B1"].path,
    )

    result = await issue(
        official, world, attachmentIds=[encode_id("StoredFile", theirs.id)]
    )

    assert codes(result) == ["FILE_NOT_FOUND"]


@pytest.mark.parametrize(
    "key",
    ["official_b", "cadre_a1", "resident_a1", "company_staff", "committee_member"],
)
async def test_nobody_outside_the_issuing_unit_issues_its_tasks(
    login: Login, world: World, key: str
) -> None:
    client = await login(key)

    body = await client.query(ISSUE, {"input": task_input(world)})

    assert body["data"] is None or body["data"]["taskIssue"] is None
    assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "NOT_FOUND"}
    assert await TaskAssignment.all().count() == 0


async def test_anonymous_cannot_issue(anonymous: Client, world: World) -> None:
    body = await anonymous.query(ISSUE, {"input": task_input(world)})

    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- the state machine ----------------------------------------------------------------


async def test_the_whole_loop_is_recorded_with_who_and_when(
    login: Login, world: World
) -> None:
    assignment = await issued_to_a1(login, world)
    cadre, official = await login("cadre_a1"), await login("official_a")

    assert (await move(cadre, ACCEPT, id=assignment))["assignment"]["state"] == (
        "ACCEPTED"
    )
    submitted = await move(cadre, SUBMIT, id=assignment, text="已清理 3 处")
    assert submitted["assignment"]["state"] == "SUBMITTED"
    returned = await move(official, RETURN, id=assignment, reason="缺照片说明")
    assert returned["assignment"] == {
        "id": assignment,
        "state": "RETURNED",
        "returnReason": "缺照片说明",
    }
    again = await move(cadre, SUBMIT, id=assignment, text="已清理 3 处，附说明")
    assert again["assignment"]["state"] == "SUBMITTED"
    verified = await move(official, VERIFY, id=assignment)
    assert verified["assignment"]["state"] == "VERIFIED"

    body = await official.query(ASSIGNMENT, {"id": assignment})
    seen = body["data"]["taskAssignment"]
    assert [(t["fromState"], t["toState"]) for t in seen["transitions"]] == [
        (None, "ISSUED"),
        ("ISSUED", "ACCEPTED"),
        ("ACCEPTED", "SUBMITTED"),
        ("SUBMITTED", "RETURNED"),
        ("RETURNED", "SUBMITTED"),
        ("SUBMITTED", "VERIFIED"),
    ]
    actors = [t["actor"]["name"] for t in seen["transitions"]]
    assert actors == [
        "甲街道干部",
        "甲一书记",
        "甲一书记",
        "甲街道干部",
        "甲一书记",
        "甲街道干部",
    ]
    assert seen["transitions"][3]["note"] == "缺照片说明"
    assert seen["acceptedBy"]["name"] == "甲一书记"
    assert seen["verifiedBy"]["name"] == "甲街道干部"
    assert seen["verifiedAt"] is not None
    assert seen["isOverdue"] is False


# Every (state, move) that is not an arrow of the machine.
ILLEGAL = [
    ("ISSUED", SUBMIT, "cadre_a1"),
    ("ISSUED", VERIFY, "official_a"),
    ("ISSUED", RETURN, "official_a"),
    ("ACCEPTED", ACCEPT, "cadre_a1"),
    ("ACCEPTED", VERIFY, "official_a"),
    ("ACCEPTED", RETURN, "official_a"),
    ("SUBMITTED", ACCEPT, "cadre_a1"),
    ("SUBMITTED", SUBMIT, "cadre_a1"),
    ("RETURNED", ACCEPT, "cadre_a1"),
    ("RETURNED", VERIFY, "official_a"),
    ("RETURNED", RETURN, "official_a"),
]
ARCHIVED = [
    ("VERIFIED", ACCEPT, "cadre_a1"),
    ("VERIFIED", SUBMIT, "cadre_a1"),
    ("VERIFIED", VERIFY, "official_a"),
    ("VERIFIED", RETURN, "official_a"),
]
PATH = {
    "ISSUED": [],
    "ACCEPTED": [(ACCEPT, "cadre_a1")],
    "SUBMITTED": [(ACCEPT, "cadre_a1"), (SUBMIT, "cadre_a1")],
    "RETURNED": [(ACCEPT, "cadre_a1"), (SUBMIT, "cadre_a1"), (RETURN, "official_a")],
    "VERIFIED": [(ACCEPT, "cadre_a1"), (SUBMIT, "cadre_a1"), (VERIFY, "official_a")],
}


async def bring_to(login: Login, world: World, state: str) -> str:
    assignment = await issued_to_a1(login, world)
    for document, key in PATH[state]:
        result = await move(
            await login(key), document, id=assignment, text="结果", reason="重做"
        )
        assert result["errors"] == [], result
    return assignment


def variables_for(document: str, assignment: str) -> dict[str, Any]:
    if document is SUBMIT:
        return {"id": assignment, "text": "结果"}
    if document is RETURN:
        return {"id": assignment, "reason": "重做"}
    return {"id": assignment}


@pytest.mark.parametrize(
    ("state", "document", "key", "code"),
    [(*case, "TRANSITION_NOT_ALLOWED") for case in ILLEGAL]
    + [(*case, "ASSIGNMENT_ARCHIVED") for case in ARCHIVED],
)
async def test_an_illegal_move_is_refused_with_a_code_and_changes_nothing(
    login: Login, world: World, state: str, document: str, key: str, code: str
) -> None:
    assignment = await bring_to(login, world, state)
    before = await TaskAssignment.get(id=_pk(assignment)).values()
    moves = await TaskTransition.all().count()

    body = await (await login(key)).query(document, variables_for(document, assignment))

    (result,) = body["data"].values()
    assert codes(result) == [code]
    assert result["assignment"] is None
    assert await TaskAssignment.get(id=_pk(assignment)).values() == before
    assert await TaskTransition.all().count() == moves


def _pk(global_id: str) -> int:
    from schema.base import decode_id

    return decode_id(global_id, "TaskAssignment")[1]


@pytest.mark.parametrize(
    ("requirement", "text", "files", "missing"),
    [
        ("REQUIRED_TEXT", "", False, ["RESULT_TEXT_REQUIRED"]),
        ("REQUIRED_FILES", "说明", False, ["RESULT_FILES_REQUIRED"]),
        ("BOTH", "", True, ["RESULT_TEXT_REQUIRED"]),
        ("BOTH", "说明", False, ["RESULT_FILES_REQUIRED"]),
        ("BOTH", "", False, ["RESULT_TEXT_REQUIRED", "RESULT_FILES_REQUIRED"]),
    ],
)
async def test_a_submission_missing_what_counts_as_done_is_refused(
    login: Login,
    world: World,
    requirement: str,
    text: str,
    files: bool,
    missing: list[str],
) -> None:
    assignment = await issued_to_a1(login, world, requirement=requirement)
    cadre = await login("cadre_a1")
    await move(cadre, ACCEPT, id=assignment)
    photo = await _cadre_file(world)
    file_ids = [encode_id("StoredFile", photo.id)] if files else []

    result = await move(cadre, SUBMIT, id=assignment, text=text, fileIds=file_ids)

    assert codes(result) == missing
    assert (await TaskAssignment.get(id=_pk(assignment))).state == TaskState.ACCEPTED


async def test_a_submission_with_files_keeps_them(login: Login, world: World) -> None:
    assignment = await issued_to_a1(login, world, requirement="BOTH")
    cadre = await login("cadre_a1")
    await move(cadre, ACCEPT, id=assignment)
    photo = await _cadre_file(world)
    photo_id = encode_id("StoredFile", photo.id)

    result = await move(cadre, SUBMIT, id=assignment, text="见照片", fileIds=[photo_id])

    assert result["errors"] == []
    assert result["assignment"]["resultFiles"] == [{"id": photo_id}]


async def _cadre_file(world: World) -> StoredFile:
    return await StoredFile.create(
        sha256="1" * 64,
        size=10,
        media_type="image/jpeg",
        filename="photo.jpg",
        uploaded_by_id=world.people["cadre_a1"].id,
        unit_path=world.units["A1"].path,
    )


@pytest.mark.parametrize(
    ("document", "key", "expected"),
    [
        # The receiving community's cadres accept and submit; nobody else does.
        (ACCEPT, "official_a", "FORBIDDEN"),
        (ACCEPT, "official_district", "FORBIDDEN"),
        (ACCEPT, "cadre_b1", "NOT_FOUND"),
        (ACCEPT, "resident_a1", "FORBIDDEN"),
        (ACCEPT, "admin", "FORBIDDEN"),
        (VERIFY, "cadre_a1", "FORBIDDEN"),
        (VERIFY, "official_b", "NOT_FOUND"),
        (VERIFY, "resident_a1", "FORBIDDEN"),
        (RETURN, "company_staff", "FORBIDDEN"),
    ],
)
async def test_moves_belong_to_the_community_or_the_issuer(
    login: Login, world: World, document: str, key: str, expected: str
) -> None:
    state = "SUBMITTED" if document in (VERIFY, RETURN) else "ISSUED"
    assignment = await bring_to(login, world, state)

    body = await (await login(key)).query(document, variables_for(document, assignment))

    assert body["errors"][0]["extensions"]["code"] == expected
    assert (await TaskAssignment.get(id=_pk(assignment))).state == TaskState(state)


async def test_an_official_below_the_issuer_cannot_verify(
    login: Login, world: World
) -> None:
    # Issued by the district: subdistrict A's official is not the issuer's level.
    district = await login("official_district")
    result = await issue(district, world, unitId=unit_id(world, "district"))
    (a1,) = [
        a for a in result["task"]["assignments"] if a["unit"]["name"] == "甲一社区"
    ]
    cadre = await login("cadre_a1")
    await move(cadre, ACCEPT, id=a1["id"])
    await move(cadre, SUBMIT, id=a1["id"], text="完成")

    body = await (await login("official_a")).query(VERIFY, {"id": a1["id"]})

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await move(district, VERIFY, id=a1["id"]))["assignment"]["state"] == (
        "VERIFIED"
    )


async def test_a_return_needs_a_reason(login: Login, world: World) -> None:
    assignment = await bring_to(login, world, "SUBMITTED")

    result = await move(await login("official_a"), RETURN, id=assignment, reason=" ")

    assert codes(result) == ["REASON_REQUIRED"]


async def test_a_cadre_sees_their_communitys_assignments_on_the_phone(
    login: Login, world: World
) -> None:
    await issued_to_a1(login, world)
    await issued_to_a1(login, world, title="排查隐患")

    mine = (await (await login("cadre_a1")).query(MINE))["data"]["myAssignments"]
    others = (await (await login("cadre_b1")).query(MINE))["data"]["myAssignments"]

    assert mine["totalCount"] == 2
    assert {e["node"]["unit"]["name"] for e in mine["edges"]} == {"甲一社区"}
    assert others["totalCount"] == 0
    issued = await (await login("cadre_a1")).query(MINE, {"states": ["VERIFIED"]})
    assert issued["data"]["myAssignments"]["totalCount"] == 0


async def test_residents_see_no_assignments(login: Login, world: World) -> None:
    await issued_to_a1(login, world)

    body = await (await login("resident_a1")).query(MINE)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- standing tasks, reminders, escalation (a controllable clock) ---------------------

CST = ZoneInfo("Asia/Shanghai")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def system_context(world: World, bus: LocalBus, clock: Clock, tmp: Path) -> Context:
    district = world.units["district"]
    return Context(
        bus=bus,
        auth=load_settings().auth,
        store=LocalFileStore(tmp),
        sender=LogSender(),
        caller=Caller(grants=(Grant(Role.ADMIN, district.id, district.path),)),
        clock=clock,
    )


async def run(name: str, context: Context) -> dict[str, int]:
    result = await run_job(name, context)
    assert result["outcome"] == "OK", result
    counts: dict[str, int] = result["counts"]
    return counts


async def standing(world: World, **values: Any) -> StandingTask:
    district = world.units["district"]
    defaults: dict[str, Any] = {
        "unit_id": district.id,
        "unit_path": district.path,
        "name": "清垃圾",
        "cycle": TaskCycle.WEEKLY,
        "requirement": TaskRequirement.REQUIRED_FILES,
        "reminder_hours": [24],
    }
    return await StandingTask.create(**{**defaults, **values})


@pytest.mark.parametrize(
    ("cycle", "due_days", "now", "period_start", "deadline"),
    [
        # A Wednesday: the week from Monday, due on Sunday at 18:00 China time.
        (TaskCycle.WEEKLY, None, (2026, 3, 4, 10), (2026, 3, 2), (2026, 3, 8)),
        (TaskCycle.MONTHLY, 9, (2026, 3, 4, 10), (2026, 3, 1), (2026, 3, 10)),
        (TaskCycle.MONTHLY, None, (2026, 2, 27, 10), (2026, 2, 1), (2026, 2, 28)),
        (TaskCycle.QUARTERLY, None, (2026, 5, 20, 10), (2026, 4, 1), (2026, 6, 30)),
        # Just after midnight in China is still the day before in UTC.
        (TaskCycle.MONTHLY, None, (2026, 4, 1, 0), (2026, 4, 1), (2026, 4, 30)),
    ],
)
async def test_a_standing_task_recurs_once_per_period(
    world: World,
    bus: LocalBus,
    settings: Any,
    tmp_path: Path,
    cycle: TaskCycle,
    due_days: int | None,
    now: tuple[int, ...],
    period_start: tuple[int, int, int],
    deadline: tuple[int, int, int],
) -> None:
    kind = await standing(world, cycle=cycle, due_days=due_days)
    clock = Clock(datetime(*now, tzinfo=CST).astimezone(UTC))
    context = system_context(world, bus, clock, tmp_path)

    assert await run("tasks.standing", context) == {"issued": 1}
    assert await run("tasks.standing", context) == {"issued": 0}

    (task,) = await Task.filter(standing_id=kind.id)
    assert task.period_start == date(*period_start)
    assert task.deadline == datetime(*deadline, 18, tzinfo=CST)
    assert task.unit_id == world.units["district"].id
    assert await TaskAssignment.filter(task_id=task.id).count() == 3
    assert task.title.startswith("清垃圾（")


async def test_the_next_period_brings_the_next_task(
    world: World, bus: LocalBus, settings: Any, tmp_path: Path
) -> None:
    kind = await standing(world)
    clock = Clock(datetime(2026, 3, 4, 2, tzinfo=UTC))
    context = system_context(world, bus, clock, tmp_path)
    await run("tasks.standing", context)

    clock.now += timedelta(days=7)
    await run("tasks.standing", context)
    await standing(world, name="停用的", is_active=False)
    await run("tasks.standing", context)

    starts = [t.period_start for t in await Task.filter().order_by("period_start")]
    assert starts == [date(2026, 3, 2), date(2026, 3, 9)]
    assert await Task.filter(standing_id=kind.id).count() == 2


async def overdue_setup(login: Login, world: World, deadline: datetime) -> int:
    """A task from A to A1 and A2 with reminders 72 and 24 hours ahead; A1's id."""
    assignment = await issued_to_a1(login, world, reminderHours=[72, 24])
    row = await TaskAssignment.get(id=_pk(assignment))
    await Task.filter(id=row.task_id).update(deadline=deadline)
    await TaskAssignment.filter(task_id=row.task_id).update(deadline=deadline)
    return row.id


async def reminders_of(world: World, key: str) -> list[str]:
    found = await Notification.filter(person_id=world.people[key].id).order_by("id")
    return [n.kind for n in found]


async def test_reminders_come_at_each_lead_time_once_then_overdue_escalates(
    login: Login, world: World, bus: LocalBus, settings: Any, tmp_path: Path
) -> None:
    deadline = datetime(2026, 3, 10, 10, tzinfo=UTC)
    a1 = await overdue_setup(login, world, deadline)
    clock = Clock(deadline - timedelta(hours=80))
    context = system_context(world, bus, clock, tmp_path)

    assert (await run("tasks.reminders", context))["reminded"] == 0
    clock.now = deadline - timedelta(hours=71)
    assert (await run("tasks.reminders", context))["reminded"] == 1
    assert (await run("tasks.reminders", context))["reminded"] == 0
    clock.now = deadline - timedelta(hours=23)
    assert (await run("tasks.reminders", context))["reminded"] == 1
    assert await reminders_of(world, "cadre_a1") == ["TASK_REMINDER"] * 2
    assert await Warning.all().count() == 0

    clock.now = deadline + timedelta(minutes=1)
    counts = await run("tasks.reminders", context)
    again = await run("tasks.reminders", context)

    assert counts == {"reminded": 0, "overdue": 2, "escalated": 1}
    assert again == {"reminded": 0, "overdue": 0, "escalated": 0}
    assert await reminders_of(world, "cadre_a1") == [
        "TASK_REMINDER",
        "TASK_REMINDER",
        "TASK_OVERDUE",
    ]
    assert await reminders_of(world, "official_a") == ["TASK_ESCALATED"]
    warnings = await Warning.filter(resolved_at__isnull=True).order_by("subject_id")
    assert [w.kind for w in warnings] == [WarningKind.TASK_OVERDUE] * 2
    assert {w.unit_id for w in warnings} == {world.units["A"].id}
    assert warnings[0].subject_id == a1


async def test_a_submitted_assignment_is_not_reminded_and_ends_its_warning(
    login: Login, world: World, bus: LocalBus, settings: Any, tmp_path: Path
) -> None:
    deadline = datetime.now(UTC) + timedelta(hours=1)
    a1 = await overdue_setup(login, world, deadline)
    clock = Clock(deadline + timedelta(hours=1))
    context = system_context(world, bus, clock, tmp_path)
    await run("tasks.reminders", context)
    assert await Warning.filter(resolved_at__isnull=True).count() == 2

    cadre = await login("cadre_a1")
    assignment = encode_id("TaskAssignment", a1)
    await move(cadre, ACCEPT, id=assignment)
    await move(cadre, SUBMIT, id=assignment, text="补交")

    open_warnings = await Warning.filter(resolved_at__isnull=True)
    assert [w.subject_id for w in open_warnings] != [a1]
    assert len(open_warnings) == 1
    clock.now += timedelta(days=1)
    await run("tasks.reminders", context)
    overdue = await Notification.filter(kind="TASK_OVERDUE").count()
    assert overdue == 1  # A1's from before; A2 has no cadre to tell


def test_the_nearest_lead_time_that_has_come_is_the_one_sent() -> None:
    deadline = datetime(2026, 3, 10, tzinfo=UTC)

    assert reminders_due(deadline, [72, 24], deadline - timedelta(hours=73)) is None
    assert reminders_due(deadline, [72, 24], deadline - timedelta(hours=72)) == 72
    assert reminders_due(deadline, [72, 24], deadline - timedelta(hours=2)) == 24
    assert reminders_due(deadline, [72, 24], deadline) is None


# -- the permission matrix: every path to tasks, assignments, transitions -------------

STAFF_KEYS = (
    "admin",
    "official_district",
    "official_a",
    "official_b",
    "cadre_a1",
    "cadre_b1",
)
NOT_STAFF = ("resident_a1", "resident_b1", "company_staff", "committee_member")
# Task issued by A to A1 and A2 ("甲"), by B to B1 ("乙"), standing at the district.
TASKS_SEEN = {
    "admin": {"甲", "乙"},
    "official_district": {"甲", "乙"},
    "official_a": {"甲"},
    "official_b": {"乙"},
    "cadre_a1": {"甲"},
    "cadre_b1": {"乙"},
}
ASSIGNMENTS_SEEN = {
    "admin": {"甲一社区", "甲二村", "乙一社区"},
    "official_district": {"甲一社区", "甲二村", "乙一社区"},
    "official_a": {"甲一社区", "甲二村"},
    "official_b": {"乙一社区"},
    "cadre_a1": {"甲一社区"},
    "cadre_b1": {"乙一社区"},
}
EVERY_PATH = """
query Every($task: ID!, $assignment: ID!) {
  tasks { edges { node { title assignments { unit { name }
                                           transitions { toState } } } } }
  taskAssignments { edges { node { unit { name } task { title } } } }
  standingTasks { name }
  task(id: $task) { title }
  taskAssignment(id: $assignment) { unit { name } }
  node(id: $assignment) { id }
}
"""


@pytest_asyncio.fixture
async def two_tasks(login: Login, world: World) -> dict[str, str]:
    a1 = await issued_to_a1(login, world, title="甲")
    official_b = await login("official_b")
    issued = await issue(
        official_b,
        world,
        title="乙",
        unitId=unit_id(world, "B"),
        communityIds=[unit_id(world, "B1")],
    )
    assert issued["errors"] == [], issued
    await standing(world, name="清垃圾")
    row = await TaskAssignment.get(id=_pk(a1))
    return {"task": encode_id("Task", row.task_id), "assignment": a1}


@pytest.mark.parametrize("key", STAFF_KEYS)
async def test_staff_reach_tasks_only_in_their_jurisdiction_by_every_path(
    login: Login, two_tasks: dict[str, str], key: str
) -> None:
    body = await (await login(key)).query(EVERY_PATH, two_tasks)

    assert "errors" not in body, body
    data = body["data"]
    titles = {e["node"]["title"] for e in data["tasks"]["edges"]}
    assert titles == TASKS_SEEN[key]
    nested = {
        a["unit"]["name"]
        for e in data["tasks"]["edges"]
        for a in e["node"]["assignments"]
    }
    assert nested == ASSIGNMENTS_SEEN[key]
    listed = {e["node"]["unit"]["name"] for e in data["taskAssignments"]["edges"]}
    assert listed == ASSIGNMENTS_SEEN[key]
    assert all(
        a["transitions"]
        for e in data["tasks"]["edges"]
        for a in e["node"]["assignments"]
    )
    assert [s["name"] for s in data["standingTasks"]] == ["清垃圾"]
    sees_a1 = "甲一社区" in ASSIGNMENTS_SEEN[key]
    assert (data["task"] is not None) == ("甲" in TASKS_SEEN[key])
    assert (data["taskAssignment"] is not None) == sees_a1
    assert (data["node"] is not None) == sees_a1


@pytest.mark.parametrize("key", NOT_STAFF)
async def test_residents_and_companies_reach_no_task_by_any_path(
    login: Login, two_tasks: dict[str, str], key: str
) -> None:
    client = await login(key)

    for document in (
        "{ tasks { totalCount } }",
        "{ taskAssignments { totalCount } }",
        "{ standingTasks { name } }",
        f'{{ task(id: "{two_tasks["task"]}") {{ title }} }}',
        f'{{ taskAssignment(id: "{two_tasks["assignment"]}") {{ state }} }}',
    ):
        body = await client.query(document)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    node = f'{{ node(id: "{two_tasks["assignment"]}") {{ id }} }}'
    assert (await client.query(node))["data"]["node"] is None


async def test_transitions_by_id_follow_their_assignment(
    login: Login, two_tasks: dict[str, str]
) -> None:
    moved = await TaskTransition.get(assignment_id=_pk(two_tasks["assignment"]))
    node = f'{{ node(id: "{encode_id("TaskTransition", moved.id)}") {{ id }} }}'

    assert (await (await login("cadre_a1")).query(node))["data"]["node"] is not None
    assert (await (await login("cadre_b1")).query(node))["data"]["node"] is None
    assert (await (await login("official_b")).query(node))["data"]["node"] is None
