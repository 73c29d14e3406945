"""Webhooks of property firms: registration, signed deliveries, retries.

Each change to a request a firm handles writes one ``WebhookDelivery`` per
active webhook of the firm, in the change's own transaction. ``deliver_due``
sends what is due: a POST of the JSON body with

    X-Yunshang-Timestamp: <unix seconds>
    X-Yunshang-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
    X-Yunshang-Delivery: <delivery id>
    X-Yunshang-Event: <event name>

A 2xx answer delivers it; anything else is retried with a doubling backoff
until ``MAX_ATTEMPTS``, then the delivery is FAILED (its record stays). A
delivery is claimed (its next attempt pushed back) before it is sent, so two
runs at once never send it twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from models import Organization, RequestStep, ServiceRequest, Webhook, WebhookDelivery
from models.enums import DeliveryStatus, Role
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.loaders import fetch_row

if TYPE_CHECKING:
    import httpx

__all__ = [
    "EVENTS",
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "create_webhook",
    "delete_webhook",
    "deliver_due",
    "enqueue",
    "sign",
    "verify",
]

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Yunshang-Timestamp"
SIGNATURE_HEADER = "X-Yunshang-Signature"
DELIVERY_HEADER = "X-Yunshang-Delivery"
EVENT_HEADER = "X-Yunshang-Event"
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(minutes=1)
# A claimed delivery is retried after this if its run died while sending it.
CLAIM = timedelta(minutes=5)
TIMEOUT_SECONDS = 10.0
BATCH = 100
MAX_WEBHOOKS = 10
# Events a webhook can ask for: one per step of a request's history.
EVENTS = frozenset(
    {
        "request.published",
        "request.dispatched",
        "request.accepted",
        "request.updated",
        "request.resolved",
        "request.confirmed",
        "request.evaluated",
        "request.reopened",
        "request.returned",
        "request.escalated",
    }
)
_EVENT_OF_ACTION = {
    "PUBLISH": "request.published",
    "DISPATCH": "request.dispatched",
    "ACCEPT": "request.accepted",
    "UPDATE": "request.updated",
    "RESOLVE": "request.resolved",
    "CONFIRM": "request.confirmed",
    "EVALUATE": "request.evaluated",
    "REOPEN": "request.reopened",
    "RETURN": "request.returned",
    "ESCALATE": "request.escalated",
}


# -- signatures --------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``timestamp.body``."""
    message = timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """Whether ``signature`` is ours and ``timestamp`` recent (refuses replays)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _firms(caller: Caller) -> frozenset[int]:
    return caller.organization_ids(Role.PROPERTY_COMPANY)


# -- registration ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registered:
    row: dict[str, Any]
    secret: str


# Hosts a webhook may not name: the platform's own machine and networks.
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan")


def _is_private_host(host: str) -> bool:
    """A loopback, private, link-local or reserved address, or a local name.

    Names are not resolved here (a name can be pointed anywhere later): this
    keeps out the obvious, and the delivering workers belong behind an egress
    proxy that allows only public addresses.
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(PRIVATE_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def _check_url(url: str) -> list[UserError]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 500:
        return [
            UserError(
                "url", "Give an http(s) address of the firm's system.", "URL_INVALID"
            )
        ]
    if _is_private_host(parts.hostname):
        return [
            UserError(
                "url", "Give a public address, not a local one.", "URL_NOT_ALLOWED"
            )
        ]
    return []


async def create_webhook(
    context: Context, url: str, events: Iterable[str]
) -> Registered:
    """Register a webhook for the caller's company; the secret is returned once."""
    caller = context.caller
    firms = sorted(_firms(caller))
    if not firms:
        raise Forbidden("Only a property company registers webhooks.")
    organization = await Organization.get(id=firms[0])

    url = url.strip()
    chosen = sorted(set(events)) or sorted(EVENTS)
    errors = _check_url(url)
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        errors.append(
            UserError(
                "events", f"Unknown events: {', '.join(unknown)}.", "EVENT_UNKNOWN"
            )
        )
    if (
        await Webhook.filter(organization_id=organization.id, is_active=True).count()
        >= MAX_WEBHOOKS
    ):
        errors.append(
            UserError("url", f"At most {MAX_WEBHOOKS} webhooks.", "TOO_MANY_WEBHOOKS")
        )
    if errors:
        raise Invalid(errors)

    secret = "whsec_" + secrets.token_urlsafe(32)
    async with write(context, "WEBHOOK_CREATE") as work:
        hook = await Webhook.create(
            organization_id=organization.id,
            unit_path=organization.unit_path,
            url=url,
            secret=secret,
            events=chosen,
            created_by_token_id=caller.token_id,
            created_by_person_id=caller.person_id,
            created_at=context.clock(),
        )
        work.audit("Webhook", [hook.id], organization.unit_path)
    return Registered(await fetch_row(Webhook, hook.id), secret)


async def delete_webhook(context: Context, webhook_id: int) -> dict[str, Any]:
    """Stop a webhook; its deliveries stay on record, pending ones are dropped."""
    hook = await visible(Webhook, context.caller).get_or_none(id=webhook_id)
    if hook is None:
        raise NotFound("No Webhook has this id.")
    if hook.organization_id not in _firms(context.caller) and not (
        context.caller.is_admin
    ):
        raise Forbidden("Only the firm removes its webhooks.")
    if not hook.is_active:
        raise Invalid([UserError("id", "It is already removed.", "ALREADY_REMOVED")])
    async with write(context, "WEBHOOK_DELETE") as work:
        await Webhook.filter(id=hook.id).update(is_active=False)
        await WebhookDelivery.filter(
            webhook_id=hook.id, status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.FAILED, last_error="webhook removed")
        work.audit("Webhook", [hook.id], hook.unit_path)
    return await fetch_row(Webhook, hook.id)


# -- the outbox --------------------------------------------------------------------


def _body(
    delivery_key: str, event: str, request: ServiceRequest, step: RequestStep
) -> bytes:
    """What a firm receives: the request as the firm's API shows it, no raiser."""
    return orjson.dumps(
        {
            "id": delivery_key,
            "event": event,
            "occurred_at": step.at.isoformat(),
            "request": {
                "id": encode_id("ServiceRequest", request.id),
                "stage": str(request.stage),
                "category_id": encode_id("RequestCategory", request.category_id),
                "estate_id": (
                    encode_id("Estate", request.estate_id)
                    if request.estate_id is not None
                    else None
                ),
                "text": request.text,
                "due_at": request.due_at.isoformat() if request.due_at else None,
            },
            "step": {
                "action": str(step.action),
                "from_stage": str(step.from_stage) if step.from_stage else None,
                "to_stage": str(step.to_stage),
                "note": step.note,
                "actor_role": step.actor_role,
            },
        }
    )


async def enqueue(
    work: Work,
    organization_ids: set[int],
    request: ServiceRequest,
    step: RequestStep,
) -> int:
    """One delivery per active webhook of the organisations that wants the event."""
    if not organization_ids:
        return 0
    event = _EVENT_OF_ACTION[str(step.action)]
    now = work.context.clock()
    hooks = await Webhook.filter(
        organization_id__in=sorted(organization_ids), is_active=True
    ).values("id", "events", "unit_path")
    rows = [
        WebhookDelivery(
            webhook_id=hook["id"],
            unit_path=hook["unit_path"],
            event=event,
            subject_id=request.id,
            body=_body(
                f"step-{step.id}-hook-{hook['id']}", event, request, step
            ).decode(),
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for hook in hooks
        if event in (hook["events"] or [])
    ]
    if rows:
        await WebhookDelivery.bulk_create(rows)
    return len(rows)


def make_client() -> httpx.AsyncClient:
    """The HTTP client deliveries go through (tests put a mock transport here).

    httpx is loaded by the first delivery job, not by every worker at start."""
    import httpx

    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4, ... minutes."""
    factor: int = 2 ** max(0, attempts - 1)
    return FIRST_BACKOFF * factor


async def _claim(delivery: WebhookDelivery, now: datetime) -> bool:
    claimed = await WebhookDelivery.filter(
        id=delivery.id,
        status=DeliveryStatus.PENDING,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
    ).update(next_attempt_at=now + CLAIM)
    return bool(claimed)


async def deliver_due(
    now: datetime, client: httpx.AsyncClient | None = None
) -> dict[str, int]:
    """Send every pending delivery that is due; counts of what happened."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    due = (
        await WebhookDelivery.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "id")
        .limit(BATCH)
        .prefetch_related("webhook")
    )
    own_client = client is None
    http = client or make_client()
    try:
        for delivery in due:
            if not await _claim(delivery, now):
                counts["skipped"] += 1
                continue
            outcome = await _send(http, delivery, now)
            counts[outcome] += 1
    finally:
        if own_client:
            await http.aclose()
    return counts


async def _send(
    http: httpx.AsyncClient, delivery: WebhookDelivery, now: datetime
) -> str:
    hook = delivery.webhook
    body = delivery.body.encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "content-type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(hook.secret, timestamp, body),
        DELIVERY_HEADER: str(delivery.id),
        EVENT_HEADER: delivery.event,
    }
    import httpx

    status_code: int | None = None
    error = ""
    try:
        response = await http.post(hook.url, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as failure:
        error = type(failure).__name__

    attempts = delivery.attempts + 1
    if not error:
        await WebhookDelivery.filter(id=delivery.id).update(
            status=DeliveryStatus.DELIVERED,
            attempts=attempts,
            last_status_code=status_code,
            last_error="",
            delivered_at=now,
        )
        return "delivered"
    gave_up = attempts >= MAX_ATTEMPTS
    await WebhookDelivery.filter(id=delivery.id).update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        attempts=attempts,
        last_status_code=status_code,
        last_error=error[:300],
        next_attempt_at=now + backoff(attempts),
    )
    logger.info(
        "webhook delivery failed",
        extra={"delivery_id": delivery.id, "attempts": attempts, "error": error},
    )
    return "failed" if gave_up else "retrying"


def encode_id(type_name: str, pk: int) -> str:
    """The global id the schema gives the object (``schema.base.encode_id``)."""
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
