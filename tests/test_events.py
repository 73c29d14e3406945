"""The event bus backends: local fan-out, bounded queues, and Redis between workers.

The Redis tests run when ``REDIS_URL`` is set (CI always sets it) and are skipped
otherwise. Each uses a random prefix, so parallel runs never see each other.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import uuid
from collections.abc import AsyncIterator
from unittest.mock import ANY

import orjson
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from api.events import LocalBus, QueueSubscription, create_bus
from api.redis_bus import RedisBus
from resolvers.events import Event

REDIS_URL = os.environ.get("REDIS_URL", "")
UNREACHABLE_URL = "redis://127.0.0.1:1/0"

requires_redis = pytest.mark.skipif(
    not REDIS_URL, reason="REDIS_URL is not set: the Redis bus tests need a server"
)

_ids = itertools.count(1)


def make_event(unit_path: str = "/1/", topic: str = "task", **data: object) -> Event:
    return Event(
        topic=topic,
        kind="TASK_CHANGED",
        unit_path=unit_path,
        subject_type="Task",
        subject_id=next(_ids),
        actor_id=7,
        data=dict(data),
    )


async def next_event(subscription: QueueSubscription, seconds: float = 2.0) -> Event:
    async with asyncio.timeout(seconds):
        return await anext(subscription)


async def publish_until_received(
    publisher: RedisBus, subscription: QueueSubscription, seconds: float = 5.0
) -> tuple[list[Event], Event]:
    """Publish fresh events until one arrives: the reader may still be subscribing."""
    sent: list[Event] = []
    async with asyncio.timeout(seconds):
        while True:
            sent.append(make_event())
            await publisher.publish(sent[-1])
            try:
                return sent, await next_event(subscription, seconds=0.2)
            except TimeoutError:
                continue


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest_asyncio.fixture
async def local_bus() -> AsyncIterator[LocalBus]:
    bus = LocalBus()
    yield bus
    await bus.close()


@pytest_asyncio.fixture
async def worker_a(prefix: str) -> AsyncIterator[RedisBus]:
    bus = RedisBus(REDIS_URL, prefix=prefix)
    await bus.start()
    yield bus
    await bus.close()


@pytest_asyncio.fixture
async def worker_b(prefix: str) -> AsyncIterator[RedisBus]:
    bus = RedisBus(REDIS_URL, prefix=prefix)
    await bus.start()
    yield bus
    await bus.close()


@pytest_asyncio.fixture
async def redis_admin() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


# Local fan-out


async def test_every_subscriber_of_a_topic_gets_the_event(local_bus: LocalBus) -> None:
    subscriptions = [local_bus.subscribe("task", ("/",)) for _ in range(3)]
    event = make_event("/1/2/")

    await local_bus.publish(event)

    for subscription in subscriptions:
        assert await next_event(subscription) == event


async def test_a_subscriber_gets_only_events_under_its_paths(
    local_bus: LocalBus,
) -> None:
    village = local_bus.subscribe("task", ("/1/2/",))
    two_places = local_bus.subscribe("task", ("/1/3/", "/9/"))
    everywhere = local_bus.subscribe("task", ("/",))
    inside, sibling, lookalike, beside = (
        make_event("/1/2/5/"),
        make_event("/1/3/"),
        make_event("/1/22/"),
        make_event("/1/2/"),
    )

    for event in (inside, sibling, lookalike, beside):
        await local_bus.publish(event)

    assert [await next_event(village) for _ in range(2)] == [inside, beside]
    assert await next_event(two_places) == sibling
    assert [await next_event(everywhere) for _ in range(4)] == [
        inside,
        sibling,
        lookalike,
        beside,
    ]


async def test_a_subscriber_gets_only_its_topic(local_bus: LocalBus) -> None:
    tasks = local_bus.subscribe("task", ("/",))
    orgs = local_bus.subscribe("org", ("/",))
    org_event, task_event = make_event(topic="org"), make_event(topic="task")

    await local_bus.publish(org_event)
    await local_bus.publish(task_event)
    await local_bus.publish(make_event(topic="visit"))

    assert await next_event(tasks) == task_event
    assert await next_event(orgs) == org_event


async def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    bus = LocalBus(queue_size=3)
    slow = bus.subscribe("task", ("/",))
    events = [make_event() for _ in range(5)]

    for event in events:
        await bus.publish(event)

    assert slow.dropped == 2
    assert [await next_event(slow) for _ in range(3)] == events[2:]
    await bus.close()


async def test_a_slow_subscriber_does_not_hold_up_a_fast_one() -> None:
    bus = LocalBus(queue_size=2)
    slow = bus.subscribe("task", ("/",))
    fast = bus.subscribe("task", ("/",))
    events = [make_event() for _ in range(6)]
    received: list[Event] = []

    for event in events:
        await bus.publish(event)
        received.append(await next_event(fast))

    assert received == events
    assert fast.dropped == 0
    assert slow.dropped == 4
    await bus.close()


async def test_closing_a_subscription_ends_a_blocked_iteration(
    local_bus: LocalBus,
) -> None:
    subscription = local_bus.subscribe("task", ("/",))
    consumer = asyncio.create_task(_collect(subscription))
    await asyncio.sleep(0.01)

    await subscription.close()
    await subscription.close()

    async with asyncio.timeout(1):
        assert await consumer == []
    assert subscription.closed
    assert local_bus.subscriber_count("task") == 0


async def test_a_closed_subscription_gets_nothing_more(local_bus: LocalBus) -> None:
    subscription = local_bus.subscribe("task", ("/",))
    await local_bus.publish(make_event())

    await subscription.close()
    await local_bus.publish(make_event())

    async with asyncio.timeout(1):
        assert await _collect(subscription) == []


async def test_closing_the_bus_ends_every_subscription() -> None:
    bus = LocalBus()
    subscriptions = [bus.subscribe(topic, ("/",)) for topic in ("task", "org")]
    consumers = [asyncio.create_task(_collect(s)) for s in subscriptions]
    await asyncio.sleep(0.01)

    await bus.close()
    await bus.close()

    async with asyncio.timeout(1):
        assert await asyncio.gather(*consumers) == [[], []]
    assert not await bus.ping()
    with pytest.raises(RuntimeError):
        bus.subscribe("task", ("/",))


async def test_publishing_to_a_topic_nobody_watches_is_harmless(
    local_bus: LocalBus,
) -> None:
    await local_bus.publish(make_event(topic="nobody"))

    assert local_bus.subscriber_count("nobody") == 0


def test_a_queue_needs_room_for_one_event() -> None:
    with pytest.raises(ValueError, match="queue_size"):
        LocalBus(queue_size=0)


async def test_create_bus_picks_the_backend() -> None:
    for url in (None, ""):
        local = create_bus(url)
        assert isinstance(local, LocalBus)
        await local.start()
        assert await local.ping()
        await local.close()

    remote = create_bus(UNREACHABLE_URL, queue_size=8)
    assert isinstance(remote, RedisBus)
    await remote.close()


async def test_ping_is_false_for_an_unreachable_redis() -> None:
    bus = RedisBus(UNREACHABLE_URL)

    async with asyncio.timeout(5):
        assert await bus.ping() is False

    await bus.close()


async def test_the_reader_backs_off_while_redis_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = RedisBus(UNREACHABLE_URL)

    with caplog.at_level(logging.WARNING, logger="api.events"):
        async with asyncio.timeout(5):
            await bus.start()
            subscription = bus.subscribe("task", ("/",))
            await asyncio.sleep(0.5)
        await bus.close()

    lost = [r.args for r in caplog.records if "lost Redis" in r.msg]
    assert lost[:3] == [(0.1, ANY), (0.2, ANY), (0.4, ANY)]
    assert subscription.closed


# Redis


@requires_redis
async def test_ping_is_true_for_a_live_redis(worker_a: RedisBus) -> None:
    assert await worker_a.ping() is True


@requires_redis
async def test_an_event_goes_from_one_worker_to_another(
    worker_a: RedisBus, worker_b: RedisBus
) -> None:
    village = worker_b.subscribe("task", ("/1/2/",))
    own = worker_a.subscribe("task", ("/",))
    elsewhere, inside = make_event("/1/3/"), make_event("/1/2/5/", title="重修水渠")

    await worker_a.publish(elsewhere)
    await worker_a.publish(inside)

    assert await next_event(village) == inside
    assert [await next_event(own) for _ in range(2)] == [elsewhere, inside]


@requires_redis
async def test_another_prefix_is_another_bus(worker_a: RedisBus) -> None:
    stranger = RedisBus(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}")
    await stranger.start()
    watching = worker_a.subscribe("task", ("/",))
    theirs, ours = make_event(), make_event()

    await stranger.publish(theirs)
    await worker_a.publish(ours)

    assert await next_event(watching) == ours
    await stranger.close()


@requires_redis
async def test_subscribing_starts_the_reader(prefix: str, worker_a: RedisBus) -> None:
    lazy = RedisBus(REDIS_URL, prefix=prefix)
    subscription = lazy.subscribe("task", ("/",))

    sent, received = await publish_until_received(worker_a, subscription)

    assert received in sent
    await lazy.close()


@requires_redis
async def test_a_malformed_message_is_skipped(
    prefix: str, worker_a: RedisBus, redis_admin: Redis
) -> None:
    subscription = worker_a.subscribe("task", ("/",))
    event = make_event()

    await redis_admin.publish(f"{prefix}:events:task", b"not an event")
    await redis_admin.publish(f"{prefix}:events:task", b'{"topic": "task"}')
    await redis_admin.publish(f"{prefix}:events:task", _with_path(event, 5))
    await worker_a.publish(event)

    assert await next_event(subscription) == event


@requires_redis
async def test_the_reader_reconnects_after_redis_drops_it(
    worker_a: RedisBus,
    worker_b: RedisBus,
    redis_admin: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscription = worker_b.subscribe("task", ("/",))
    first = make_event()
    await worker_a.publish(first)
    assert await next_event(subscription) == first
    killed = await _listener_id(redis_admin, worker_b)

    with caplog.at_level(logging.WARNING, logger="api.events"):
        await redis_admin.client_kill_filter(_id=killed)
        sent, received = await publish_until_received(worker_a, subscription)

    assert received in sent
    assert await _listener_id(redis_admin, worker_b) != killed
    assert any(
        record.levelno == logging.WARNING and "lost Redis pub/sub" in record.msg
        for record in caplog.records
    )
    assert not subscription.closed


def _with_path(event: Event, unit_path: object) -> bytes:
    values = orjson.loads(event.encode())
    values["unit_path"] = unit_path
    return orjson.dumps(values)


async def _collect(subscription: QueueSubscription) -> list[Event]:
    return [event async for event in subscription]


async def _listener_id(admin: Redis, bus: RedisBus) -> str:
    clients = await admin.client_list(_type="pubsub")
    ids = [c["id"] for c in clients if c.get("name") == bus.listener_name]
    assert len(ids) == 1, "the bus should hold exactly one pub/sub connection"
    return ids[0]
