"""An example property-firm integration with Yunshang (云上村社).

It needs only Python 3.11 and httpx. With the API token your district gave you:

    python examples/firm_client.py --url https://yunshang.example --token ys_... list
    python examples/firm_client.py ... accept <request id>
    python examples/firm_client.py ... update <request id> "师傅下午两点到"
    python examples/firm_client.py ... resolve <request id> "已更换灯泡"
    python examples/firm_client.py ... webhook https://firm.example/yunshang

and, in your webhook receiver, ``verify_signature`` on every delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import time
from typing import Any

import httpx

REQUESTS = """
query FirmRequests($stages: [RequestStage!], $after: String) {
  serviceRequests(stages: $stages, first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id stage text address dueAt createdAt
      category { code name }
      estate { name }
      history { action actorRole note at }
    } }
  }
}
"""
STEP = """
mutation Step($id: ID!, $note: String!) {
  %s(id: $id, note: $note) {
    errors { field message code }
    serviceRequest { id stage }
  }
}
"""
WEBHOOK = """
mutation Hook($url: String!) {
  webhookCreate(url: $url) { errors { field message code } webhook { id } secret }
}
"""


class YunshangError(Exception):
    """A refusal (top-level error) or a user error of a mutation."""


class FirmClient:
    """The firm's side of the GraphQL API, over one HTTP client."""

    def __init__(
        self, base_url: str, token: str, http: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = http or httpx.AsyncClient(timeout=30)

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {self.token}"},
        )
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            error = body["errors"][0]
            code = error.get("extensions", {}).get("code", "ERROR")
            raise YunshangError(f"{code}: {error['message']}")
        data: dict[str, Any] = body["data"]
        return data

    async def requests(
        self, stages: tuple[str, ...] = ("DISPATCHED", "HANDLING")
    ) -> list[dict[str, Any]]:
        """Every request of the firm's estates in ``stages``, page by page."""
        found: list[dict[str, Any]] = []
        after = None
        while True:
            data = await self.graphql(
                REQUESTS, {"stages": list(stages), "after": after}
            )
            page = data["serviceRequests"]
            found.extend(edge["node"] for edge in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    async def _step(self, mutation: str, request_id: str, note: str) -> str:
        data = await self.graphql(STEP % mutation, {"id": request_id, "note": note})
        result = data[mutation]
        if result["errors"]:
            raise YunshangError(result["errors"][0]["code"])
        stage: str = result["serviceRequest"]["stage"]
        return stage

    async def accept(self, request_id: str, note: str = "") -> str:
        return await self._step("serviceRequestAccept", request_id, note)

    async def post_update(self, request_id: str, note: str) -> str:
        """An update the resident sees in the request's history."""
        return await self._step("serviceRequestUpdate", request_id, note)

    async def resolve(self, request_id: str, note: str = "") -> str:
        """Close the firm's part: the resident (or a cadre) then confirms."""
        return await self._step("serviceRequestResolve", request_id, note)

    async def register_webhook(self, url: str) -> tuple[str, str]:
        """``(webhook id, secret)``; keep the secret: it is shown only now."""
        result = (await self.graphql(WEBHOOK, {"url": url}))["webhookCreate"]
        if result["errors"]:
            raise YunshangError(result["errors"][0]["code"])
        return result["webhook"]["id"], result["secret"]


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    tolerance_seconds: int = 300,
) -> bool:
    """Whether a delivery is genuine and fresh.

    ``timestamp`` is the ``X-Yunshang-Timestamp`` header, ``signature`` the
    ``X-Yunshang-Signature`` header (``sha256=<hex>``), ``body`` the raw bytes.
    """
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_seconds:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(f"sha256={mac.hexdigest()}", signature)


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument(
        "command", choices=["list", "accept", "update", "resolve", "webhook"]
    )
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    client = FirmClient(options.url, options.token)
    if options.command == "list":
        for item in await client.requests():
            sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
    elif options.command == "webhook":
        hook, secret = await client.register_webhook(options.args[0])
        sys.stdout.write(f"webhook {hook}; secret (shown once): {secret}\n")
    else:
        request_id, note = options.args[0], " ".join(options.args[1:])
        method = {
            "accept": client.accept,
            "update": client.post_update,
            "resolve": client.resolve,
        }[options.command]
        sys.stdout.write(await method(request_id, note) + "\n")
    await client.http.aclose()


if __name__ == "__main__":
    asyncio.run(_main())
