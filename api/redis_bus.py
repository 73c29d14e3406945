"""The event bus across workers: Redis pub/sub, fanned out in each worker.

Imported by ``api.events.create_bus`` only when a Redis URL is configured.
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

from api.events import QueueSubscription, _FanOutBus
from resolvers.events import Event

__all__ = ["RedisBus"]

# One logger for the event bus, whichever backend carries it.
logger = logging.getLogger("api.events")

_BACKOFF_FIRST = 0.1
_BACKOFF_CAP = 5.0
_PING_TIMEOUT = 1.0
_COMMAND_TIMEOUT = 2.0


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
