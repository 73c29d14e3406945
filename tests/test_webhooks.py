"""The property-firm API: webhooks with signed deliveries and retries, and the
example client of docs/property-firm-api.md run against the app."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from examples.firm_client import FirmClient, YunshangError, verify_signature
from models import WebhookDelivery
from resolvers import webhook
from resolvers.jobs import run_job
from tests.conftest import Client
from tests.test_requests import (
    ACCEPT,
    Setup,
    build_setup,
    raise_request,
    step,
    system_context,
)
from tests.world import World

SignIn = Callable[[str], Awaitable[Client]]

WEBHOOK_CREATE = """
mutation Hook($url: String!, $events: [String!]) {
  webhookCreate(url: $url, events: $events) {
    errors { field code } secret webhook { id url events isActive }
  }
}
"""
WEBHOOKS = """
query { webhooks { id url events deliveries(first: 50) {
  edges { node { event status attempts lastStatusCode } } } } }
"""
WEBHOOK_DELETE = """
mutation Delete($id: ID!) { webhookDelete(id: $id) {
  errors { code } webhook { isActive } } }
"""
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
HOOK_URL = "https://firm.example/yunshang"


@pytest_asyncio.fixture
async def setup(login: SignIn, world: World, http: httpx.AsyncClient) -> Setup:
    return await build_setup(login, world, http)


class Receiver:
    """The firm's webhook endpoint, as a mock transport: records what arrives and
    answers with the next of ``statuses`` (then 200)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


async def register(client: Client, url: str = HOOK_URL, **extra: Any) -> dict[str, Any]:
    body = await client.query(WEBHOOK_CREATE, {"url": url, **extra})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["webhookCreate"]
    return result


# -- signatures -------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"event":"request.dispatched"}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()

    assert webhook.sign("whsec_k", "1700000000", body) == f"sha256={expected}"


def test_a_tampered_or_stale_delivery_does_not_verify() -> None:
    body = b'{"a":1}'
    now = datetime(2026, 12, 1, tzinfo=UTC)
    stamp = str(int(now.timestamp()))
    signature = webhook.sign("s", stamp, body)

    assert webhook.verify("s", stamp, body, signature, now)
    assert not webhook.verify("s", stamp, b'{"a":2}', signature, now)
    assert not webhook.verify("t", stamp, body, signature, now)
    assert not webhook.verify("s", stamp, body, signature, now + timedelta(minutes=6))
    # The example client agrees with the server, both ways.
    assert verify_signature("s", stamp, body, signature, now=now.timestamp())
    assert not verify_signature("s", stamp, body + b" ", signature, now=now.timestamp())


# -- registration -----------------------------------------------------------------


async def test_a_firm_registers_a_webhook_and_sees_its_secret_once(
    setup: Setup,
) -> None:
    created = await register(setup.firm)
    listed = await setup.firm.query(WEBHOOKS)
    other = await setup.other_firm.query(WEBHOOKS)
    by_node = await setup.other_firm.query(NODE, {"id": created["webhook"]["id"]})

    assert created["errors"] == []
    assert created["secret"].startswith("whsec_")
    assert created["webhook"]["events"] == sorted(webhook.EVENTS)
    assert [h["id"] for h in listed["data"]["webhooks"]] == [created["webhook"]["id"]]
    assert created["secret"] not in orjson.dumps(listed).decode()
    assert other["data"]["webhooks"] == []
    assert by_node["data"]["node"] is None


async def test_a_bad_webhook_is_refused_and_residents_cannot_register(
    login: SignIn, setup: Setup
) -> None:
    bad = await register(setup.firm, "ftp://x", events=["request.exploded"])
    resident = await login("resident_a1")
    refused = await resident.query(WEBHOOK_CREATE, {"url": HOOK_URL})

    assert {e["code"] for e in bad["errors"]} == {"URL_INVALID", "EVENT_UNKNOWN"}
    assert bad["secret"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/hook",
        "http://127.0.0.1/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "https://db.internal/hook",
    ],
)
async def test_a_webhook_to_a_local_address_is_refused(setup: Setup, url: str) -> None:
    result = await register(setup.firm, url)

    assert [e["code"] for e in result["errors"]] == ["URL_NOT_ALLOWED"]


# -- deliveries -------------------------------------------------------------------


async def test_a_change_is_delivered_signed_to_the_handling_firm_only(
    login: SignIn, setup: Setup
) -> None:
    mine = await register(setup.firm)
    await register(setup.other_firm, "https://other.example/hook")
    resident = await login("resident_a1")
    created = await raise_request(resident, setup)
    receiver = Receiver()
    now = datetime.now(UTC)

    counts = await webhook.deliver_due(now, receiver.client())

    assert counts["delivered"] == 1
    [sent] = receiver.received
    assert str(sent.url) == HOOK_URL
    stamp = sent.headers[webhook.TIMESTAMP_HEADER]
    assert verify_signature(
        mine["secret"], stamp, sent.content, sent.headers[webhook.SIGNATURE_HEADER]
    )
    body = orjson.loads(sent.content)
    assert sent.headers[webhook.EVENT_HEADER] == body["event"] == "request.dispatched"
    assert body["request"]["id"] == created["id"]
    assert body["request"]["text"] == "楼道灯坏了"
    assert "raised_by" not in body["request"]
    delivery = await WebhookDelivery.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "DELIVERED",
        1,
        200,
    )


async def test_a_failed_delivery_is_retried_with_backoff_then_given_up(
    login: SignIn, setup: Setup
) -> None:
    await register(setup.firm, events=["request.dispatched"])
    resident = await login("resident_a1")
    await raise_request(resident, setup)
    receiver = Receiver(*[500] * webhook.MAX_ATTEMPTS)
    now = datetime.now(UTC)

    first = await webhook.deliver_due(now, receiver.client())
    early = await webhook.deliver_due(now + timedelta(seconds=30), receiver.client())
    delivery = await WebhookDelivery.get()

    assert first["retrying"] == 1
    assert early == {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "PENDING",
        1,
        "HTTP 500",
    )
    assert delivery.next_attempt_at == now + timedelta(minutes=1)

    at = now
    for attempt in range(2, webhook.MAX_ATTEMPTS + 1):
        at = at + webhook.backoff(attempt - 1)
        await webhook.deliver_due(at, receiver.client())
    delivery = await WebhookDelivery.get()
    assert (delivery.status, delivery.attempts) == ("FAILED", webhook.MAX_ATTEMPTS)
    assert len(receiver.received) == webhook.MAX_ATTEMPTS
    # The backoff doubles: 1, 2, 4, ... minutes.
    assert [webhook.backoff(n).total_seconds() / 60 for n in (1, 2, 3)] == [1, 2, 4]


async def test_an_unreachable_firm_is_retried_and_delivered_later(
    login: SignIn, setup: Setup
) -> None:
    await register(setup.firm, events=["request.dispatched"])
    resident = await login("resident_a1")
    await raise_request(resident, setup)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    down = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    now = datetime.now(UTC)
    await webhook.deliver_due(now, down)
    receiver = Receiver()
    later = await webhook.deliver_due(now + timedelta(minutes=1), receiver.client())

    assert later["delivered"] == 1
    delivery = await WebhookDelivery.get()
    assert (delivery.status, delivery.attempts) == ("DELIVERED", 2)


async def test_the_delivery_job_is_safe_to_run_twice(
    app: Any, login: SignIn, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(setup.firm)
    resident = await login("resident_a1")
    rid = (await raise_request(resident, setup))["id"]
    await step(setup.firm, ACCEPT, id=rid)
    receiver = Receiver()
    monkeypatch.setattr(webhook, "make_client", receiver.client)
    now = datetime.now(UTC) + timedelta(seconds=1)

    first = await run_job("webhook-deliveries", system_context(app, now))
    second = await run_job("webhook-deliveries", system_context(app, now))

    assert first["counts"]["delivered"] == 2  # dispatched, accepted
    assert second["counts"]["delivered"] == 0
    assert len(receiver.received) == 2
    events = [r.headers[webhook.EVENT_HEADER] for r in receiver.received]
    assert events == ["request.dispatched", "request.accepted"]


async def test_a_removed_webhook_receives_nothing_more(
    login: SignIn, setup: Setup
) -> None:
    created = await register(setup.firm)
    removed = await setup.firm.query(WEBHOOK_DELETE, {"id": created["webhook"]["id"]})
    other = await setup.other_firm.query(
        WEBHOOK_DELETE, {"id": created["webhook"]["id"]}
    )
    resident = await login("resident_a1")
    await raise_request(resident, setup)

    assert removed["data"]["webhookDelete"]["webhook"] == {"isActive": False}
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await WebhookDelivery.all().count() == 0


# -- the example client -----------------------------------------------------------


async def test_the_example_client_lists_updates_and_verifies_a_delivery(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    created = await raise_request(resident, setup)
    await raise_request(resident, setup, estate="E3")  # another firm's estate
    firm = FirmClient("http://test", setup.firm_secret, http)
    other = FirmClient("http://test", setup.other_firm.token or "", http)

    _, secret = await firm.register_webhook(HOOK_URL)
    listed = await firm.requests()
    accepted = await firm.accept(created["id"])
    updated = await firm.post_update(created["id"], "师傅下午两点到")
    resolved = await firm.resolve(created["id"], "已更换灯泡")
    with pytest.raises(YunshangError, match="NOT_FOUND"):
        await other.accept(created["id"])

    assert [r["id"] for r in listed] == [created["id"]]
    assert listed[0]["category"]["code"] == "REPAIR"
    assert (accepted, updated, resolved) == ("HANDLING", "HANDLING", "VERIFYING")
    receiver = Receiver()
    await webhook.deliver_due(
        datetime.now(UTC) + timedelta(seconds=1), receiver.client()
    )
    assert [r.headers[webhook.EVENT_HEADER] for r in receiver.received] == [
        "request.accepted",
        "request.updated",
        "request.resolved",
    ]
    for sent in receiver.received:
        assert verify_signature(
            secret,
            sent.headers[webhook.TIMESTAMP_HEADER],
            sent.content,
            sent.headers[webhook.SIGNATURE_HEADER],
        )
