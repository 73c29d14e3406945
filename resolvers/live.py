"""Live streams for subscriptions: scoped at subscribe time and per event.

A subscription asks for a unit; it receives events under that unit that also lie
inside the caller's jurisdiction, and ends when the caller's token expires or its
session (or API token) is revoked, closing the connection with 4401.

A screen many people watch (a task board) is a shared view: one channel per key
and worker subscribes to the bus, computes each batch of changes once, and offers
the result to the bounded feed of every subscriber of that channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
)
from contextlib import aclosing
from dataclasses import replace
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from models import ApiToken, OrgUnit
from permissions.caller import STAFF_ROLES, Caller
from permissions.errors import NotFound, Unauthenticated
from resolvers.context import Context
from resolvers.events import Event, Subscription
from resolvers.identity import session_is_live

__all__ = [
    "CLOSE_WAIT_SECONDS",
    "RECHECK_SECONDS",
    "SharedViews",
    "changes_under",
    "live",
    "shared_view",
    "shared_views",
    "stream",
    "subscription_paths",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How often a live connection re-checks that its session still stands.
RECHECK_SECONDS = 30.0
# How long a stream that closed its connection waits to be cancelled by it.
CLOSE_WAIT_SECONDS = 30.0


async def subscription_paths(context: Context, unit_id: int) -> tuple[str, ...]:
    """The part of ``unit_id``'s subtree that lies in the caller's jurisdiction."""
    unit = await OrgUnit.get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    caller = context.caller
    if caller.is_admin or caller.covers(unit.path):
        return (unit.path,)
    below = tuple(p for p in caller.paths(STAFF_ROLES) if p.startswith(unit.path))
    if not below:
        raise NotFound("No OrgUnit has this id in your jurisdiction.")
    return below


def _check_expiry(context: Context) -> None:
    expires_at = context.caller.expires_at
    if expires_at is not None and expires_at <= context.clock():
        raise Unauthenticated("The token has expired.")


async def _check_session(context: Context) -> None:
    """A person's session still stands; an API token is not revoked."""
    caller = context.caller
    now = context.clock()
    if caller.session_id is not None and not await session_is_live(
        caller.session_id, now
    ):
        raise Unauthenticated("The session was ended.")
    if (
        caller.token_id is not None
        and not await ApiToken.filter(
            id=caller.token_id, revoked_at__isnull=True, expires_at__gt=now
        ).exists()
    ):
        raise Unauthenticated("The API token was revoked.")


async def changes_under(
    context: Context, topic: str, unit_id: int
) -> AsyncIterator[Event]:
    """Events of ``topic`` under ``unit_id`` that the caller may see, until its
    token expires or its session ends.

    The expiry is checked before every event and the session (a query) every
    ``RECHECK_SECONDS``. When either ends, the websocket is closed with 4401 and
    the stream waits for the connection to cancel it: anything it sent or raised
    after the close would go to a socket that is gone.
    """
    paths = await subscription_paths(context, unit_id)
    caller = context.caller

    def admit(event: Event) -> bool:
        # Paths were settled at subscribe time; check each event all the same.
        return caller.is_admin or caller.covers(event.unit_path)

    async with aclosing(stream(context, topic, paths, admit)) as events:
        async for event in events:
            yield event


async def stream(
    context: Context,
    topic: str,
    paths: tuple[str, ...],
    admit: Callable[[Event], bool],
) -> AsyncGenerator[Event, None]:
    """Events of ``topic`` under ``paths`` that ``admit`` lets through, until the
    caller's token expires or its session ends (then the socket closes, 4401)."""
    subscription = context.bus.subscribe(topic, paths)
    try:
        async with aclosing(
            live(context, aiter(subscription), subscription.close)
        ) as events:
            async for event in events:
                if admit(event):
                    yield event
    finally:
        await subscription.close()


async def live(
    context: Context,
    items: AsyncIterator[T],
    stop: Callable[[], Awaitable[None]],
) -> AsyncGenerator[T, None]:
    """``items`` until the caller's token expires or its session ends.

    The expiry is checked before every item and the session (a query) every
    ``RECHECK_SECONDS``. When either ends, ``stop`` is called, the websocket is
    closed with 4401 and the stream waits for the connection to cancel it:
    anything it sent or raised after the close would go to a socket that is gone.
    """
    caller = context.caller
    loop = asyncio.get_running_loop()
    try:
        recheck_at = loop.time()
        while True:
            _check_expiry(context)
            if loop.time() >= recheck_at:
                await _check_session(context)
                recheck_at = loop.time() + RECHECK_SECONDS
            wait = recheck_at - loop.time()
            if caller.expires_at is not None:
                left = (caller.expires_at - context.clock()).total_seconds()
                wait = min(wait, left)
            try:
                item = await asyncio.wait_for(anext(items), timeout=max(0.0, wait))
            except TimeoutError:
                continue
            except StopAsyncIteration:
                return
            yield item
    except Unauthenticated as ended:
        if context.close_connection is None:
            raise
        logger.info("subscription ended: %s", ended.message)
        await stop()
        await context.close_connection(4401, "Unauthorized")
        # The connection cancels its operations once the socket has closed.
        await asyncio.sleep(CLOSE_WAIT_SECONDS)


# -- views shared by channel ------------------------------------------------------

Compute = Callable[[Context, frozenset[Any]], Awaitable[list[Any]]]


class _Feed:
    """One subscriber's bounded queue of a channel's values."""

    def __init__(self, channel: _Channel, size: int) -> None:
        self.channel = channel
        self.dropped = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size)

    def offer(self, value: Any) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(value)

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> Any:
        return await self._queue.get()

    async def close(self) -> None:
        await self.channel.leave(self)


class _Channel:
    """One computation per event batch, its values offered to every feed.

    Events that arrive while a computation runs are gathered, by ``mark``, into
    the next one: a burst of changes costs one computation, not one per event.
    """

    def __init__(
        self,
        views: SharedViews,
        key: Hashable,
        subscription: Subscription,
        compute: Compute,
        mark: Callable[[Event], Any],
        context: Context,
    ) -> None:
        self.views = views
        self.key = key
        self.feeds: set[_Feed] = set()
        self.computations = 0
        self._subscription = subscription
        self._compute = compute
        self._mark = mark
        self._context = context
        self._dirty: set[Any] = set()
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read(), name=f"view-read-{key}")
        self._worker = loop.create_task(self._run(), name=f"view-run-{key}")

    async def _read(self) -> None:
        async for event in self._subscription:
            self._dirty.add(self._mark(event))
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            marks, self._dirty = frozenset(self._dirty), set()
            self._context.reset()
            try:
                values = await self._compute(self._context, marks)
            except Exception:
                logger.exception("shared view %s failed to compute", self.key)
                continue
            self.computations += 1
            for feed in list(self.feeds):
                for value in values:
                    feed.offer(value)

    async def leave(self, feed: _Feed) -> None:
        """Forget ``feed``; the last one to leave closes the channel."""
        self.feeds.discard(feed)
        if self.feeds or self.views._channels.get(self.key) is not self:
            return
        del self.views._channels[self.key]
        self._reader.cancel()
        self._worker.cancel()
        await self._subscription.close()


class SharedViews:
    """The channels of one event bus in this worker, by key."""

    def __init__(self) -> None:
        self._channels: dict[Hashable, _Channel] = {}

    def channel(self, key: Hashable) -> _Channel | None:
        return self._channels.get(key)

    def join(
        self,
        context: Context,
        key: Hashable,
        topic: str,
        path: str,
        compute: Compute,
        mark: Callable[[Event], Any],
        caller: Caller,
        size: int = 64,
    ) -> _Feed:
        channel = self._channels.get(key)
        if channel is None:
            own = replace(
                context,
                caller=caller,
                decisions={},
                loaders={},
                reveals={},
                close_connection=None,
            )
            subscription = context.bus.subscribe(topic, (path,))
            channel = _Channel(self, key, subscription, compute, mark, own)
            self._channels[key] = channel
        feed = _Feed(channel, size)
        channel.feeds.add(feed)
        return feed


_VIEWS: WeakKeyDictionary[Any, SharedViews] = WeakKeyDictionary()


def shared_views(bus: Any) -> SharedViews:
    """The shared views of ``bus`` (one set per bus, so per worker)."""
    views = _VIEWS.get(bus)
    if views is None:
        views = _VIEWS[bus] = SharedViews()
    return views


async def shared_view(
    context: Context,
    key: Hashable,
    topic: str,
    path: str,
    compute: Compute,
    mark: Callable[[Event], Any],
    caller: Caller,
) -> AsyncGenerator[Any, None]:
    """The values of the channel ``key``: events of ``topic`` under ``path``,
    marked and computed once per batch, as ``caller`` (a caller whose scope is the
    channel's unit, never the subscriber's), for every subscriber alike.

    Whoever subscribes must have been checked to see all of ``path`` before.
    """
    feed = shared_views(context.bus).join(
        context, key, topic, path, compute, mark, caller
    )
    try:
        async with aclosing(live(context, aiter(feed), feed.close)) as values:
            async for value in values:
                yield value
    finally:
        await feed.close()
