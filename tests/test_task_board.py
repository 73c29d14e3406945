"""The task board: counts per community and unit, and its live feed.

The feed is computed once per board channel and offered to every subscriber of
that channel; subscribers of the unit and of every unit above receive a change,
nobody outside the unit's subtree receives anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.events import LocalBus
from models import TaskAssignment
from models.enums import Role, TaskRequirement
from permissions.caller import Caller, Grant
from permissions.errors import NotFound
from resolvers.context import Context
from resolvers.files import LocalFileStore
from resolvers.live import shared_views
from resolvers.notify import LogSender
from resolvers.task import TaskDraft, board_updates, issue_task
from tests import test_subscriptions as ws
from tests.conftest import Client
from tests.test_subscriptions import Live, Open, until
from tests.test_tasks import ACCEPT, SUBMIT, VERIFY, issue, move, unit_id
from tests.world import World

Login = Callable[[str], Awaitable[Client]]
# The websocket harness of the subscription tests: a server, sockets.
serve, live, open_socket = ws.serve, ws.live, ws.open_socket

BOARD = """
query Board($unitId: ID!, $taskId: ID) {
  taskBoard(unitId: $unitId, taskId: $taskId) {
    unit { name }
    totals { total issued accepted submitted verified returned overdue
             averageSubmitHours averageVerifyHours completionRate }
    communities { unit { name } total issued accepted submitted verified overdue }
    children { unit { name } total verified }
  }
}
"""
FEED = """
subscription Feed($unitId: ID!) {
  taskBoardChanged(unitId: $unitId) {
    unit { name }
    entry { unit { name } total issued accepted submitted verified }
    totals { total accepted }
  }
}
"""


async def issue_to_a(login: Login, world: World, title: str = "清理河道") -> list[str]:
    """A task from A to A1 and A2; the assignment ids, A1's first."""
    result = await issue(await login("official_a"), world, title=title)
    assert result["errors"] == [], result
    ordered = sorted(
        result["task"]["assignments"], key=lambda a: a["unit"]["name"] != "甲一社区"
    )
    return [a["id"] for a in ordered]


async def board(client: Client, world: World, key: str) -> dict[str, Any]:
    body = await client.query(BOARD, {"unitId": unit_id(world, key)})
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["taskBoard"]
    return found


async def test_the_board_counts_by_state_per_community_and_unit(
    login: Login, world: World
) -> None:
    a1, a2 = await issue_to_a(login, world)
    await issue_to_a(login, world, "排查隐患")
    cadre, official = await login("cadre_a1"), await login("official_a")
    await move(cadre, ACCEPT, id=a1)
    await move(cadre, SUBMIT, id=a1, text="完成")
    await move(official, VERIFY, id=a1)
    # A2's assignment of the first task is past its deadline.
    late = datetime.now(UTC) - timedelta(hours=1)
    await TaskAssignment.filter(id=_pk(a2)).update(deadline=late)

    seen = await board(official, world, "A")

    assert seen["unit"]["name"] == "甲街道"
    totals = seen["totals"]
    assert (totals["total"], totals["issued"], totals["verified"]) == (4, 3, 1)
    assert totals["overdue"] == 1
    assert totals["averageSubmitHours"] is not None
    assert totals["completionRate"] == 0.25
    by_name = {e["unit"]["name"]: e for e in seen["communities"]}
    assert by_name["甲一社区"]["verified"] == 1
    assert by_name["甲一社区"]["issued"] == 1
    assert by_name["甲二村"]["overdue"] == 1
    assert [c["unit"]["name"] for c in seen["children"]] == ["甲一社区", "甲二村"]

    district = await board(await login("official_district"), world, "district")
    rolled = {c["unit"]["name"]: c for c in district["children"]}
    assert rolled["甲街道"]["total"] == 4
    assert rolled["甲街道"]["verified"] == 1
    assert rolled["乙街道"]["total"] == 0


async def test_one_task_on_the_board(login: Login, world: World) -> None:
    await issue_to_a(login, world)
    result = await issue(await login("official_a"), world, title="单独")
    task_id = result["task"]["id"]

    body = await (await login("official_a")).query(
        BOARD, {"unitId": unit_id(world, "A"), "taskId": task_id}
    )

    assert body["data"]["taskBoard"]["totals"]["total"] == 2


@pytest.mark.parametrize(
    ("key", "unit", "code"),
    [
        ("official_b", "A", "NOT_FOUND"),
        ("cadre_a1", "A", "NOT_FOUND"),
        ("cadre_b1", "A1", "NOT_FOUND"),
        ("resident_a1", "A1", "FORBIDDEN"),
        ("company_staff", "A", "FORBIDDEN"),
        ("committee_member", "A1", "FORBIDDEN"),
    ],
)
async def test_a_board_is_only_for_staff_covering_the_unit(
    login: Login, world: World, key: str, unit: str, code: str
) -> None:
    body = await (await login(key)).query(BOARD, {"unitId": unit_id(world, unit)})

    assert body["errors"][0]["extensions"]["code"] == code


async def test_a_cadre_sees_their_own_communitys_board(
    login: Login, world: World
) -> None:
    await issue_to_a(login, world)

    seen = await board(await login("cadre_a1"), world, "A1")

    assert seen["totals"]["total"] == 1
    assert [e["unit"]["name"] for e in seen["communities"]] == ["甲一社区"]


async def test_the_board_costs_the_same_statements_for_1_or_10_tasks(
    login: Login, world: World, statements: Callable[[], Any]
) -> None:
    official = await login("official_a")
    await issue_to_a(login, world)
    with statements() as one:
        await board(official, world, "A")
    for n in range(9):
        await issue_to_a(login, world, f"任务{n}")
    with statements() as ten:
        seen = await board(official, world, "A")

    assert seen["totals"]["total"] == 20
    assert len(ten) == len(one)
    assert len(one) <= 6, one


def _pk(global_id: str) -> int:
    from schema.base import decode_id

    return decode_id(global_id, "TaskAssignment")[1]


# -- the live board -------------------------------------------------------------------


async def test_subscribers_at_and_above_the_unit_receive_and_nobody_outside(
    live: Live, open_socket: Open
) -> None:
    world = live.world
    watchers = {}
    for key, unit in (
        ("official_a", "A"),
        ("official_district", "district"),
        ("cadre_a1", "A1"),
        ("official_b", "B"),
        ("cadre_b1", "B1"),
    ):
        socket = await open_socket(live.ws_url)
        assert (await socket.init(await live.token(key)))["type"] == "connection_ack"
        await socket.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": FEED,
                    "variables": {"unitId": unit_id(world, unit)},
                },
            }
        )
        watchers[key] = socket
    await until(lambda: live.bus.subscriber_count("task") == 5)

    official = await live.token("official_a")
    body = await live.post(
        """mutation($input: TaskIssueInput!) { taskIssue(input: $input) {
             errors { code } task { id } } }""",
        {
            "input": {
                "unitId": unit_id(world, "A"),
                "title": "清理河道",
                "deadline": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
                "requirement": "REQUIRED_TEXT",
                "communityIds": [unit_id(world, "A1")],
            }
        },
        official,
    )
    assert body["data"]["taskIssue"]["errors"] == [], body

    for key, board_name in (
        ("official_a", "甲街道"),
        ("official_district", "测试区"),
        ("cadre_a1", "甲一社区"),
    ):
        message = await watchers[key].receive()
        assert message["type"] == "next", message
        update = message["payload"]["data"]["taskBoardChanged"]
        assert update["unit"]["name"] == board_name
        assert update["entry"]["unit"]["name"] == "甲一社区"
        assert update["entry"]["issued"] == 1
        assert update["totals"]["total"] == 1
    await watchers["official_b"].nothing_for()
    await watchers["cadre_b1"].nothing_for()


async def test_a_board_subscription_outside_the_jurisdiction_is_refused(
    live: Live, open_socket: Open
) -> None:
    socket = await open_socket(live.ws_url)
    await socket.init(await live.token("official_b"))

    await socket.send(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {
                "query": FEED,
                "variables": {"unitId": unit_id(live.world, "A")},
            },
        }
    )

    message = await socket.receive()
    assert message["type"] in {"error", "next"}
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


def _context(bus: LocalBus, caller: Caller, tmp: Any) -> Context:
    from api.settings import load_settings

    return Context(
        bus=bus,
        auth=load_settings().auth,
        store=LocalFileStore(tmp),
        sender=LogSender(),
        caller=caller,
    )


async def test_a_change_is_computed_once_per_channel_whatever_the_subscribers(
    world: World, login: Login, bus: LocalBus, settings: Any, tmp_path: Any
) -> None:
    a = world.units["A"]
    caller = Caller(
        person_id=world.people["official_a"].id,
        grants=(Grant(Role.OFFICIAL, a.id, a.path),),
    )
    streams = [board_updates(_context(bus, caller, tmp_path), a.id) for _ in range(50)]
    firsts = [asyncio.ensure_future(anext(s)) for s in streams]
    await until(lambda: shared_views(bus).channel(("task-board", a.id)) is not None)
    await until(
        lambda: len(shared_views(bus).channel(("task-board", a.id)).feeds) == 50
    )  # type: ignore[union-attr]
    channel = shared_views(bus).channel(("task-board", a.id))
    assert channel is not None

    # One bus subscription for the channel, whatever the number of subscribers.
    assert bus.subscriber_count("task") == 1
    await _publish_issue(world, bus, tmp_path)

    updates = await asyncio.wait_for(asyncio.gather(*firsts), 5)
    assert all(u["entry"]["unit"]["name"] == "甲一社区" for u in updates)
    assert channel.computations == 1
    for stream in streams:
        await stream.aclose()
    assert shared_views(bus).channel(("task-board", a.id)) is None
    assert bus.subscriber_count("task") == 0


async def _publish_issue(world: World, bus: LocalBus, tmp: Any) -> None:

    a = world.units["A"]
    official = Caller(
        person_id=world.people["official_a"].id,
        grants=(Grant(Role.OFFICIAL, a.id, a.path),),
    )
    await issue_task(
        _context(bus, official, tmp),
        TaskDraft(
            unit_id=a.id,
            title="清理河道",
            deadline=datetime.now(UTC) + timedelta(days=1),
            requirement=TaskRequirement.REQUIRED_TEXT,
            community_ids=(world.units["A1"].id,),
        ),
    )


async def test_a_board_stream_outside_the_jurisdiction_never_starts(
    world: World, bus: LocalBus, settings: Any, tmp_path: Any
) -> None:
    b = world.units["B"]
    a = world.units["A"]
    caller = Caller(
        person_id=world.people["official_b"].id,
        grants=(Grant(Role.OFFICIAL, b.id, b.path),),
    )

    with pytest.raises(NotFound):
        async with aclosing(board_updates(_context(bus, caller, tmp_path), a.id)) as s:
            await anext(s)
    assert bus.subscriber_count("task") == 0
