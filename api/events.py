"""The event bus: in one process (``LocalBus``) and across workers (``RedisBus``,
in ``api.redis_bus``).

Both fan an event out to bounded per-subscription queues, indexed by topic, so a
slow subscriber loses its oldest events and never holds up a publisher or anyone
else. ``RedisBus`` keeps one pub/sub connection per bus, pattern-subscribed to
``{prefix}:events:*``; a single reader task feeds the local fan-out and reconnects
with a capped backoff when Redis drops. Events are notices: what pub/sub could not
deliver is gone, and a screen that missed one re-reads the database.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from resolvers.events import Event

if TYPE_CHECKING:
    from api.redis_bus import RedisBus

__all__ = ["LocalBus", "QueueSubscription", "create_bus"]


class QueueSubscription:
    """The events of one topic under any of ``paths``, held in a bounded queue.

    When the queue is full the oldest event goes and ``dropped`` counts it. An
    empty ``paths`` matches nothing. Iteration ends once the subscription or its
    bus is closed.
    """

    def __init__(
        self, bus: _FanOutBus, topic: str, paths: tuple[str, ...], size: int
    ) -> None:
        self.topic = topic
        self.paths = paths
        self.dropped = 0
        self._bus = bus
        # ``None`` is the end-of-stream sentinel that wakes a blocked consumer.
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=size)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> QueueSubscription:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration

        event = await self._queue.get()
        if event is None:
            # Leave the sentinel for any other consumer blocked on this queue.
            self._queue.put_nowait(None)
            raise StopAsyncIteration
        return event

    async def close(self) -> None:
        self._bus._discard(self)
        self._end()

    def wants(self, event: Event) -> bool:
        return any(event.is_under(path) for path in self.paths)

    def offer(self, event: Event) -> None:
        """Queue ``event`` without waiting, dropping the oldest one if full."""
        if self._closed:
            return

        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def _end(self) -> None:
        if self._closed:
            return

        self._closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class _FanOutBus:
    """Subscriptions indexed by topic, and the local delivery both backends share."""

    def __init__(self, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")

        self._queue_size = queue_size
        self._topics: dict[str, set[QueueSubscription]] = {}
        self._closed = False

    def subscribe(self, topic: str, paths: tuple[str, ...]) -> QueueSubscription:
        if self._closed:
            raise RuntimeError("the event bus is closed")

        subscription = QueueSubscription(self, topic, paths, self._queue_size)
        self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    def _fan_out(self, event: Event) -> None:
        for subscription in self._topics.get(event.topic, ()):
            if subscription.wants(event):
                subscription.offer(event)

    def _discard(self, subscription: QueueSubscription) -> None:
        subscribers = self._topics.get(subscription.topic)
        if subscribers is None:
            return

        subscribers.discard(subscription)
        if not subscribers:
            del self._topics[subscription.topic]

    def _end_subscriptions(self) -> None:
        topics, self._topics = self._topics, {}
        for subscribers in topics.values():
            for subscription in subscribers:
                subscription._end()


class LocalBus(_FanOutBus):
    """The embedded default: one process, no outside service."""

    def __init__(self, queue_size: int = 256) -> None:
        super().__init__(queue_size)

    async def start(self) -> None:
        """Nothing to start; here so the app treats both backends alike."""

    async def publish(self, event: Event) -> None:
        self._fan_out(event)

    async def ping(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        self._end_subscriptions()


def create_bus(redis_url: str | None, queue_size: int = 256) -> LocalBus | RedisBus:
    """The Redis bus when a URL is configured, else the in-process one.

    redis-py is imported only then: a worker on the embedded default never
    loads it (about 19 MiB of resident memory)."""
    if not redis_url:
        return LocalBus(queue_size)

    from api.redis_bus import RedisBus

    return RedisBus(redis_url, queue_size=queue_size)
