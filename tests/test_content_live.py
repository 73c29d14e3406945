"""Posts published and withdrawn, live: ``postChanges`` over graphql-transport-ws.

The cockpit's posts panel redraws from these events; each subscriber gets the
changes under the unit it asked for that lie in its jurisdiction, nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest

from schema.base import encode_id
from tests import test_subscriptions as ws
from tests.test_subscriptions import Live, Open, codes, unit_id, until

# The live server and sockets of the subscription tests, under names of ours.
serve = ws.serve
server = ws.live
sockets = ws.open_socket

POST_CHANGES = """
subscription Posts($unitId: ID!) {
  postChanges(unitId: $unitId) { kind postId post { title community { name } } }
}
"""
PUBLISH = """
mutation Publish($input: PostPublishInput!) {
  postPublish(input: $input) { errors { code } post { id } }
}
"""
WITHDRAW = "mutation W($id: ID!) { postWithdraw(id: $id) { errors { code } } }"


async def publish(live: Live, key: str, unit: str, title: str) -> str:
    variables = {
        "input": {
            "communityId": encode_id("OrgUnit", live.world.units[unit].id),
            "kind": "NEWS",
            "title": title,
            "body": "正文",
        }
    }
    body = await live.post(PUBLISH, variables, await live.token(key))
    result: dict[str, Any] = body["data"]["postPublish"]
    assert result["errors"] == [], body
    return str(result["post"]["id"])


async def test_a_post_published_below_arrives_and_one_elsewhere_does_not(
    server: Live, sockets: Open
) -> None:
    live = server
    # Given the official of A and the cadre of B1 watching their units
    watchers = {}
    for key, unit in (("official_a", "A"), ("cadre_b1", "B1")):
        socket = await sockets(live.ws_url)
        assert (await socket.init(await live.token(key)))["type"] == "connection_ack"
        await socket.subscribe("1", unit_id(live.world, unit), POST_CHANGES)
        watchers[key] = socket
    await _until_subscribed(live, 2)

    # when A1's cadre publishes, then withdraws
    post_id = await publish(live, "cadre_a1", "A1", "甲一新闻")
    message = await watchers["official_a"].receive()
    change = message["payload"]["data"]["postChanges"]
    assert change == {
        "kind": "POST_PUBLISHED",
        "postId": post_id,
        "post": {"title": "甲一新闻", "community": {"name": "甲一社区"}},
    }
    await live.post(WITHDRAW, {"id": post_id}, await live.token("cadre_a1"))
    message = await watchers["official_a"].receive()
    assert message["payload"]["data"]["postChanges"]["kind"] == "POST_WITHDRAWN"

    # then B1's cadre heard nothing of A1
    await watchers["cadre_b1"].nothing_for()


async def _until_subscribed(live: Live, count: int) -> None:
    await until(lambda: live.bus.subscriber_count("content") == count)


@pytest.mark.parametrize(
    ("key", "unit", "code"),
    [
        ("official_b", "A", "NOT_FOUND"),
        ("cadre_b1", "A1", "NOT_FOUND"),
        ("resident_a1", "A1", "FORBIDDEN"),
        ("company_staff", "A1", "FORBIDDEN"),
        (None, "A1", "UNAUTHENTICATED"),
    ],
)
async def test_who_may_watch_posts(
    server: Live, sockets: Open, key: str | None, unit: str, code: str
) -> None:
    live = server
    socket = await sockets(live.ws_url)
    token = await live.token(key) if key else None
    assert (await socket.init(token))["type"] == "connection_ack"
    await socket.subscribe("1", unit_id(live.world, unit), POST_CHANGES)

    message = await socket.receive()
    assert codes(message) == [code]
    assert live.bus.subscriber_count("content") == 0
