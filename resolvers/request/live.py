"""Live request events for subscriptions, scoped like the rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from models import ApiToken
from permissions.caller import Caller
from permissions.errors import Unauthenticated
from permissions.request import is_handling_firm
from resolvers.context import Context
from resolvers.events import Event
from resolvers.identity import session_is_live
from resolvers.live import CLOSE_WAIT_SECONDS, RECHECK_SECONDS, subscription_paths
from resolvers.request.rules import TOPIC

logger = logging.getLogger(__name__)


def may_see_event(caller: Caller, event: Event) -> bool:
    """Whether a request event concerns the caller (scoped like the rows)."""
    if caller.is_admin or caller.covers(event.unit_path):
        return True
    data = event.data
    if caller.person_id is not None and data.get("raised_by_id") == caller.person_id:
        return True
    return is_handling_firm(caller, data)


async def _still_valid(context: Context) -> None:
    """The caller's token has not expired, its session or API token stands."""
    caller = context.caller
    now = context.clock()
    if caller.expires_at is not None and caller.expires_at <= now:
        raise Unauthenticated("The token has expired.")
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


async def request_changes(
    context: Context, unit_id: int | None
) -> AsyncIterator[Event]:
    """Request events the caller may see: under ``unit_id`` for staff (within
    their jurisdiction), else the caller's own or handled requests.

    The token is re-checked before each event and every ``RECHECK_SECONDS``;
    when it ends, the websocket is closed with 4401.
    """
    caller = context.caller
    if unit_id is not None:
        paths = await subscription_paths(context, unit_id)
    else:
        paths = ("/",)
    loop = asyncio.get_running_loop()
    subscription = context.bus.subscribe(TOPIC, paths)
    events = aiter(subscription)
    try:
        recheck_at = loop.time()
        while True:
            if loop.time() >= recheck_at:
                await _still_valid(context)
                recheck_at = loop.time() + RECHECK_SECONDS
            elif caller.expires_at is not None and caller.expires_at <= context.clock():
                raise Unauthenticated("The token has expired.")
            wait = max(0.0, recheck_at - loop.time())
            try:
                event = await asyncio.wait_for(anext(events), timeout=wait)
            except TimeoutError:
                continue
            except StopAsyncIteration:
                return
            if may_see_event(caller, event):
                yield event
    except Unauthenticated as ended:
        if context.close_connection is None:
            raise
        logger.info("request subscription ended: %s", ended.message)
        await subscription.close()
        await context.close_connection(4401, "Unauthorized")
        await asyncio.sleep(CLOSE_WAIT_SECONDS)
    finally:
        await subscription.close()
