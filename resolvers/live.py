"""Live streams for subscriptions: scoped at subscribe time and per event.

A subscription asks for a unit; it receives events under that unit that also lie
inside the caller's jurisdiction, and ends when the caller's token expires or its
session (or API token) is revoked, closing the connection with 4401.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing

from models import ApiToken, OrgUnit
from permissions.caller import STAFF_ROLES
from permissions.errors import NotFound, Unauthenticated
from resolvers.context import Context
from resolvers.events import Event
from resolvers.identity import session_is_live

__all__ = [
    "CLOSE_WAIT_SECONDS",
    "RECHECK_SECONDS",
    "changes_under",
    "stream",
    "subscription_paths",
]

logger = logging.getLogger(__name__)

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
    caller = context.caller
    loop = asyncio.get_running_loop()
    subscription = context.bus.subscribe(topic, paths)
    events = aiter(subscription)
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
                event = await asyncio.wait_for(anext(events), timeout=max(0.0, wait))
            except TimeoutError:
                continue
            except StopAsyncIteration:
                return
            if admit(event):
                yield event
    except Unauthenticated as ended:
        if context.close_connection is None:
            raise
        logger.info("subscription ended: %s", ended.message)
        await subscription.close()
        await context.close_connection(4401, "Unauthorized")
        # The connection cancels its operations once the socket has closed.
        await asyncio.sleep(CLOSE_WAIT_SECONDS)
    finally:
        await subscription.close()
