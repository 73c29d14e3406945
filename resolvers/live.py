"""Live streams for subscriptions: scoped at subscribe time and per event.

A subscription asks for a unit; it receives events under that unit that also lie
inside the caller's jurisdiction, and ends when the caller's token expires or its
session is revoked (the app then closes the connection).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from models import OrgUnit
from permissions.caller import STAFF_ROLES
from permissions.errors import NotFound, Unauthenticated
from resolvers.context import Context
from resolvers.events import Event
from resolvers.identity import session_is_live

__all__ = ["RECHECK_SECONDS", "changes_under", "subscription_paths"]

logger = logging.getLogger(__name__)

# How often a live connection re-checks that its session still stands.
RECHECK_SECONDS = 30.0


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


async def _still_valid(context: Context) -> None:
    caller = context.caller
    now = context.clock()
    if caller.expires_at is not None and caller.expires_at <= now:
        raise Unauthenticated("The token has expired.")
    if caller.session_id is not None and not await session_is_live(
        caller.session_id, now
    ):
        raise Unauthenticated("The session was ended.")


async def changes_under(
    context: Context, topic: str, unit_id: int
) -> AsyncIterator[Event]:
    paths = await subscription_paths(context, unit_id)
    caller = context.caller
    subscription = context.bus.subscribe(topic, paths)
    events = aiter(subscription)
    try:
        while True:
            await _still_valid(context)
            wait = RECHECK_SECONDS
            if caller.expires_at is not None:
                left = (caller.expires_at - context.clock()).total_seconds()
                wait = max(0.0, min(wait, left))
            try:
                event = await asyncio.wait_for(anext(events), timeout=wait)
            except TimeoutError:
                continue
            except StopAsyncIteration:
                return
            # Paths were settled at subscribe time; check each event all the same.
            if caller.is_admin or caller.covers(event.unit_path):
                yield event
    except Unauthenticated:
        logger.info("subscription ended by authentication")
        if context.close_connection is not None:
            await context.close_connection(4401, "Unauthorized")
        raise
    finally:
        await subscription.close()
