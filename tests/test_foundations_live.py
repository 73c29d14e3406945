"""Notifications, warnings, imports and jobs: the mechanisms the domains share."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.events import LocalBus
from models import ImportRowReport, ImportRun, JobRun, Notification, Warning
from models.enums import ImportOutcome, ImportStatus, WarningKind
from permissions.caller import Caller, Grant
from resolvers.base import Invalid, Work, write
from resolvers.context import Context
from resolvers.imports import RowResult, run_import
from resolvers.jobs import JOBS, job, run_due, run_job, system_caller
from resolvers.notifications import notify
from resolvers.warnings import raise_warning, resolve_warnings
from schema.base import encode_id
from tests.world import World

NOTIFICATIONS = """
query($unread: Boolean!) {
  notifications(unread: $unread) {
    edges { node { id kind title subjectId readAt } }
  }
}
"""
MARK_READ = """
mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { count errors { code } } }
"""
WARNINGS = """
query($unit: ID, $open: Boolean!) {
  warnings(unitId: $unit, open: $open) {
    edges { node { id kind isOpen subjectId unit { name } detail } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
IMPORT_RUNS = """
{ importRuns { edges { node {
  kind status totalRows doneRows counts
  reports { edges { node { rowNumber outcome code message } } }
} } } }
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def system_context(app: Any, clock: Clock | None = None) -> Context:
    context: Context = app.state.platform.context("127.0.0.1")
    context.caller = await system_caller()
    if clock is not None:
        context.clock = clock
    return context


async def remind(context: Context, person_ids: Sequence[int], key: str) -> list[int]:
    async with write(context, "TEST_REMIND") as work:
        return await notify(
            work,
            person_ids,
            kind="TASK_DUE_SOON",
            title="任务明天到期",
            key=key,
            subject_type="OrgUnit",
            subject_id=1,
        )


# -- notifications ---------------------------------------------------------------


async def test_a_notification_is_stored_once_per_key_and_published_after_commit(
    app: Any, world: World, bus: LocalBus
) -> None:
    context = await system_context(app)
    cadre = world.people["cadre_a1"].id
    stream = bus.subscribe("notification", (f"@person/{cadre}/",))
    events = aiter(stream)

    first = await remind(context, [cadre], "task:1:due")
    again = await remind(context, [cadre], "task:1:due")

    assert len(first) == 1
    assert again == []
    assert await Notification.filter(person_id=cadre).count() == 1
    event = await asyncio.wait_for(anext(events), 1)
    assert event.subject_id == first[0]
    await stream.close()


async def test_people_see_and_mark_only_their_own_notifications(
    app: Any, world: World, login: Any
) -> None:
    context = await system_context(app)
    [mine] = await remind(context, [world.people["cadre_a1"].id], "k1")
    [theirs] = await remind(context, [world.people["cadre_b1"].id], "k1")
    cadre = await login("cadre_a1")

    body = await cadre.query(NOTIFICATIONS, {"unread": True})
    [edge] = body["data"]["notifications"]["edges"]
    assert edge["node"]["id"] == encode_id("Notification", mine)
    assert edge["node"]["subjectId"] == encode_id("OrgUnit", 1)

    refused = await cadre.query(
        MARK_READ,
        {"ids": [encode_id("Notification", mine), encode_id("Notification", theirs)]},
    )
    assert refused["data"]["markNotificationsRead"] == {
        "count": None,
        "errors": [{"code": "NOT_YOURS"}],
    }
    assert await Notification.filter(read_at__isnull=False).count() == 0

    done = await cadre.query(MARK_READ, {"ids": [encode_id("Notification", mine)]})
    assert done["data"]["markNotificationsRead"]["count"] == 1
    unread = await cadre.query(NOTIFICATIONS, {"unread": True})
    assert unread["data"]["notifications"]["edges"] == []
    other = await login("cadre_b1")
    hidden = await other.query(NODE, {"id": encode_id("Notification", mine)})
    assert hidden["data"]["node"] is None


async def test_the_notification_subscription_carries_only_the_callers_own(
    app: Any, world: World, bus: LocalBus
) -> None:
    schema = app.state.platform.schema
    listener: Context = app.state.platform.context("127.0.0.1")

    cadre = world.people["cadre_a1"].id
    listener.caller = Caller(person_id=cadre)
    stream = await schema.subscribe(
        "subscription { notificationAdded { title kind } }", context_value=listener
    )
    received = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(_until(lambda: bus.subscriber_count("notification") == 1), 2)

    context = await system_context(app)
    await remind(context, [world.people["cadre_b1"].id], "other")
    await remind(context, [cadre], "mine")

    result = await asyncio.wait_for(received, 2)
    assert result.data == {
        "notificationAdded": {"title": "任务明天到期", "kind": "TASK_DUE_SOON"}
    }
    await stream.aclose()


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


# -- warnings --------------------------------------------------------------------


async def overdue(context: Context, world: World, key: str = "TASK:1") -> bool:
    unit = world.units["A1"]
    async with write(context, "TEST_WARN") as work:
        return await raise_warning(
            work,
            kind=WarningKind.TASK_OVERDUE,
            unit_id=unit.id,
            unit_path=unit.path,
            subject_type="OrgUnit",
            subject_id=unit.id,
            key=key,
            detail={"days_overdue": 3},
        )


async def test_a_warning_opens_once_and_reopens_only_after_its_cure(
    app: Any, world: World
) -> None:
    context = await system_context(app)
    assert await overdue(context, world)
    assert not await overdue(context, world)
    assert await Warning.filter(resolved_at__isnull=True).count() == 1

    async with write(context, "TEST_CURE") as work:
        cured = await resolve_warnings(work, key="TASK:1", resolution="已提交")
    assert cured == 1
    assert await overdue(context, world)
    assert await Warning.all().count() == 2


@pytest.mark.parametrize(
    ("person", "sees"),
    [
        ("admin", True),
        ("official_district", True),
        ("official_a", True),
        ("cadre_a1", True),
        ("official_b", False),
        ("cadre_b1", False),
    ],
)
async def test_warnings_are_seen_by_staff_of_the_unit_and_above_only(
    app: Any, world: World, login: Any, person: str, sees: bool
) -> None:
    await overdue(await system_context(app), world)
    [warning] = await Warning.all()
    client = await login(person)

    listed = await client.query(WARNINGS, {"open": True})
    by_id = await client.query(NODE, {"id": encode_id("Warning", warning.id)})

    edges = listed["data"]["warnings"]["edges"]
    assert bool(edges) is sees
    assert (by_id["data"]["node"] is not None) is sees
    if sees:
        assert edges[0]["node"]["unit"] == {"name": "甲一社区"}
        assert edges[0]["node"]["detail"] == {"days_overdue": 3}


@pytest.mark.parametrize("person", ["resident_a1", "company_staff", "committee_member"])
async def test_residents_and_companies_cannot_list_warnings(
    app: Any, world: World, login: Any, person: str
) -> None:
    await overdue(await system_context(app), world)
    client = await login(person)
    body = await client.query(WARNINGS, {"open": True})
    assert body["data"] is None or body["data"]["warnings"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- imports ---------------------------------------------------------------------

CSV = "姓名,身份证号\n张三,1\n李四,\n王五,3\n".encode()


async def take_unless_blank(
    work: Work, number: int, values: dict[str, str]
) -> RowResult:
    if not values["身份证号"]:
        return RowResult(ImportOutcome.REFUSED, "ID_NUMBER_MISSING", "缺少身份证号。")
    return RowResult(ImportOutcome.TAKEN)


async def staff_context(app: Any, world: World, key: str) -> Context:
    from permissions.caller import Caller

    context: Context = app.state.platform.context("127.0.0.1")
    person = world.people[key]
    unit = world.units["A1"]
    context.caller = Caller(
        person_id=person.id,
        grants=(Grant(__import__("models").Role.CADRE, unit.id, unit.path),),
    )
    return context


async def test_an_import_reports_each_refused_row_and_counts_all(
    app: Any, world: World, login: Any
) -> None:
    context = await staff_context(app, world, "cadre_a1")
    unit = world.units["A1"]

    run = await run_import(
        context,
        kind="TEST_LIST",
        filename="名单.csv",
        data=CSV,
        columns=["姓名", "身份证号"],
        handle=take_unless_blank,
        unit_id=unit.id,
        unit_path=unit.path,
        chunk_rows=2,
    )

    assert run["status"] == ImportStatus.DONE
    assert (run["total_rows"], run["done_rows"]) == (3, 3)
    assert run["counts"] == {"TAKEN": 2, "REFUSED": 1}
    cadre = await login("cadre_a1")
    body = await cadre.query(IMPORT_RUNS)
    [edge] = body["data"]["importRuns"]["edges"]
    assert edge["node"]["reports"]["edges"] == [
        {
            "node": {
                "rowNumber": 3,
                "outcome": "REFUSED",
                "code": "ID_NUMBER_MISSING",
                "message": "缺少身份证号。",
            }
        }
    ]
    other = await login("cadre_b1")
    hidden = await other.query(IMPORT_RUNS)
    assert hidden["data"]["importRuns"]["edges"] == []


async def test_a_file_missing_a_column_is_refused_before_anything_is_stored(
    app: Any, world: World
) -> None:
    context = await staff_context(app, world, "cadre_a1")
    with pytest.raises(Invalid) as raised:
        await run_import(
            context,
            kind="TEST_LIST",
            filename="a.csv",
            data="姓名\n张三\n".encode(),
            columns=["姓名", "身份证号"],
            handle=take_unless_blank,
        )
    assert raised.value.errors[0].code == "MISSING_COLUMNS"
    assert await ImportRun.all().count() == 0


async def test_a_fault_fails_the_run_and_keeps_the_chunks_before_it(
    app: Any, world: World
) -> None:
    context = await staff_context(app, world, "cadre_a1")

    async def breaks_on_row_4(
        work: Work, number: int, values: dict[str, str]
    ) -> RowResult:
        if number == 4:
            raise RuntimeError("the handler broke")
        return RowResult(ImportOutcome.MERGED, "MERGED_BY_ID", "并入已有记录。")

    run = await run_import(
        context,
        kind="TEST_LIST",
        filename="a.csv",
        data=CSV,
        columns=["姓名"],
        handle=breaks_on_row_4,
        chunk_rows=2,
    )
    assert run["status"] == ImportStatus.FAILED
    assert run["done_rows"] == 2
    assert await ImportRowReport.filter(run_id=run["id"]).count() == 2


# -- jobs ------------------------------------------------------------------------


@pytest.fixture
def counting_job() -> Any:
    calls: list[datetime] = []

    @job("test_counting", every=timedelta(hours=1))
    async def counting(run: Any) -> dict[str, int]:
        """Counts its runs (a test job)."""
        calls.append(run.now)
        return {"calls": len(calls)}

    yield calls
    JOBS.pop("test_counting", None)


async def test_a_job_runs_when_due_and_not_before(
    app: Any, world: World, counting_job: list[datetime]
) -> None:
    clock = Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    context = await system_context(app, clock)

    await run_due(context)
    clock.now += timedelta(minutes=30)
    await run_due(context)
    clock.now += timedelta(minutes=31)
    await run_due(context)

    assert counting_job == [
        datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
    ]
    outcomes = await JobRun.filter(name="test_counting").values_list(
        "outcome", flat=True
    )
    assert list(outcomes) == ["OK", "OK"]


async def test_a_job_held_by_another_worker_is_skipped(
    app: Any, world: World, counting_job: list[datetime]
) -> None:
    from models import JobLock

    clock = Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    context = await system_context(app, clock)
    await JobLock.create(
        name="test_counting", locked_until=clock.now + timedelta(minutes=5)
    )

    skipped = await run_job("test_counting", context)
    clock.now += timedelta(minutes=20)  # the other worker's lease has lapsed
    ran = await run_job("test_counting", context)

    assert (skipped["outcome"], ran["outcome"]) == ("SKIPPED", "OK")
    assert len(counting_job) == 1


async def test_a_failing_job_is_recorded_and_releases_its_lock(
    app: Any, world: World
) -> None:
    @job("test_failing", every=timedelta(hours=1))
    async def failing(run: Any) -> dict[str, int]:
        raise ValueError("broken")

    try:
        context = await system_context(app)
        first = await run_job("test_failing", context)
        second = await run_job("test_failing", context)
    finally:
        JOBS.pop("test_failing", None)
    assert first["outcome"] == second["outcome"] == "FAILED"
