"""The event bus: in one process (``LocalBus``) and across workers (``RedisBus``).

Both fan an event out to bounded per-subscription queues, indexed by topic, so a
slow subscriber loses its oldest events and never holds up a publisher or anyone
else. ``RedisBus`` keeps one pub/sub connection per bus, pattern-subscribed to
``{prefix}:events:*``; a single reader task feeds the local fan-out and reconnects
with a capped backoff when Redis drops. Events are notices: what pub/sub could not
deliver is gone, and a screen that missed one re-reads the database.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from resolvers.events import Event

__all__ = ["LocalBus", "QueueSubscription", "RedisBus", "create_bus"]

logger = logging.getLogger(__name__)

_BACKOFF_FIRST = 0.1
_BACKOFF_CAP = 5.0
_PING_TIMEOUT = 1.0
_COMMAND_TIMEOUT = 2.0


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


class RedisBus(_FanOutBus):
    """Events between workers through Redis pub/sub, fanned out in each worker.

    ``publish`` never raises for Redis being away: the event comes after the
    commit, so it is logged and lost like any undelivered notice.
    """

    def __init__(
        self, url: str, prefix: str = "yunshang", queue_size: int = 256
    ) -> None:
        super().__init__(queue_size)
        self._prefix = prefix
        self._pattern = f"{_escape_glob(prefix)}:events:*"
        self.listener_name = f"{prefix}-events-{secrets.token_hex(4)}"
        self._client = Redis.from_url(
            url,
            socket_timeout=_COMMAND_TIMEOUT,
            socket_connect_timeout=_COMMAND_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
        )
        # The reader does its own reconnecting, so redis-py must not retry under it.
        self._listener = Redis.from_url(
            url,
            socket_connect_timeout=_COMMAND_TIMEOUT,
            socket_keepalive=True,
            client_name=self.listener_name,
            retry=Retry(NoBackoff(), 0, supported_errors=()),
        )
        self._reader: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()

    async def start(self) -> None:
        """Start the reader and wait for its first subscription (or failure)."""
        if self._closed:
            raise RuntimeError("the event bus is closed")

        self._ensure_reader()
        await self._first_attempt.wait()

    def subscribe(self, topic: str, paths: tuple[str, ...]) -> QueueSubscription:
        subscription = super().subscribe(topic, paths)
        self._ensure_reader()
        return subscription

    async def publish(self, event: Event) -> None:
        channel = f"{self._prefix}:events:{event.topic}"
        if self._closed:
            logger.warning("Event bus closed; event on %s dropped", channel)
            return

        try:
            await self._client.publish(channel, event.encode())
        except (RedisError, OSError) as error:
            logger.warning("Event bus could not publish on %s: %s", channel, error)

    async def ping(self) -> bool:
        if self._closed:
            return False

        try:
            async with asyncio.timeout(_PING_TIMEOUT):
                return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        self._closed = True

        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        self._first_attempt.set()

        self._end_subscriptions()
        await self._client.aclose()
        await self._listener.aclose()

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(
                self._read_forever(), name="event-bus-reader"
            )

    async def _read_forever(self) -> None:
        failures = 0
        delay = _BACKOFF_FIRST
        while True:
            try:
                async with self._listener.pubsub(
                    ignore_subscribe_messages=True
                ) as pubsub:
                    await pubsub.psubscribe(self._pattern)
                    self._first_attempt.set()
                    if failures:
                        logger.info(
                            "Event bus resubscribed after %s failed attempts", failures
                        )
                    failures = 0
                    delay = _BACKOFF_FIRST
                    await self._pump(pubsub)
            except (RedisError, OSError) as error:
                logger.warning(
                    "Event bus lost Redis pub/sub, retrying in %s s: %s", delay, error
                )
            except Exception:
                logger.exception("Event bus reader failed, retrying in %s s", delay)

            self._first_attempt.set()
            failures += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF_CAP)

    async def _pump(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None or message["type"] != "pmessage":
                continue

            event = _decode(message["data"])
            if event is None:
                channel = bytes(message["channel"]).decode(errors="replace")
                logger.warning("Event bus skipped a malformed message on %s", channel)
                continue
            self._fan_out(event)


def _decode(raw: bytes) -> Event | None:
    """The event in ``raw``, or None when it is not one the fan-out can route."""
    try:
        event = Event.decode(raw)
    except (ValueError, TypeError, KeyError):
        return None

    if not isinstance(event.topic, str) or not isinstance(event.unit_path, str):
        return None
    return event


def _escape_glob(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def create_bus(redis_url: str | None, queue_size: int = 256) -> LocalBus | RedisBus:
    """The Redis bus when a URL is configured, else the in-process one."""
    if not redis_url:
        return LocalBus(queue_size)
    return RedisBus(redis_url, queue_size=queue_size)
