"""A property firm's system lists its 1,000 requests through its API token.

Builds a community with ten estates; the firm manages five of them, another firm
the other five. Each firm's estates hold 1,000 requests, each with three steps of
history. The firm then lists all of its requests the way the example client does
(``serviceRequests``, 100 a page, with category, estate and history), in-process
(``httpx.ASGITransport`` against ``create_app``). Printed: the SQL statements per
GraphQL request (counted by two hooks that must agree), the time to walk all ten
pages, and GraphQL requests per second for one page.

    .venv/bin/python bench/firm_requests.py
    .venv/bin/python bench/firm_requests.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.app import create_app
from api.settings import load_settings
from bench.common import bench_environment, migrated_database, throwaway_database
from bench.statements import count_statements
from models import (
    ApiToken,
    Estate,
    EstateManagement,
    Organization,
    OrgUnit,
    Person,
    RequestCategory,
    RequestStep,
    ServiceRequest,
)
from models.enums import (
    CommunityKind,
    HandlerKind,
    Level,
    OrganizationKind,
    RequestAction,
    RequestStage,
)

LIST = """
query FirmRequests($after: String) {
  serviceRequests(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id stage text dueAt createdAt
      category { code name }
      estate { name }
      history { action actorRole note at }
    } }
  }
}
"""
PER_FIRM = 1000
SECRET = "ys_benchfir_" + "x" * 40


async def build() -> None:
    district = await OrgUnit.create(
        name="测试区", code="B-D", level=Level.DISTRICT, path="/pending/", depth=0
    )
    district.path = f"/{district.id}/"
    await district.save()
    community = await OrgUnit.create(
        name="测试社区",
        code="B-C",
        level=Level.COMMUNITY,
        kind=CommunityKind.URBAN,
        parent=district,
        path="/pending/",
        depth=1,
    )
    community.path = f"{district.path}{community.id}/"
    await community.save()
    firms = [
        await Organization.create(
            kind=OrganizationKind.PROPERTY_COMPANY,
            name=name,
            unit=district,
            unit_path=district.path,
        )
        for name in ("甲物业", "乙物业")
    ]
    estates = [
        await Estate.create(unit=community, unit_path=community.path, name=f"苑{i}")
        for i in range(10)
    ]
    for index, estate in enumerate(estates):
        await EstateManagement.create(
            company=firms[index % 2], estate=estate, starts_on=date(2024, 1, 1)
        )
    category = await RequestCategory.create(
        code="REPAIR",
        name="公共维修",
        handler_kind=HandlerKind.PROPERTY_COMPANY,
        deadline_hours=48,
    )
    resident = await Person.create(name="居民", phone="13800000000")
    now = datetime.now(UTC)
    await ApiToken.create(
        name="bench",
        organization=firms[0],
        prefix="benchfir",
        token_hash=hashlib.sha256(SECRET.encode()).hexdigest(),
        expires_at=now + timedelta(days=30),
    )

    requests = [
        ServiceRequest(
            category_id=category.id,
            raised_by_id=resident.id,
            unit_id=community.id,
            unit_path=community.path,
            estate_id=estates[index % 10].id,
            text=f"请求 {index}：楼道灯坏了",
            stage=RequestStage.HANDLING,
            handler_kind=HandlerKind.PROPERTY_COMPANY,
            handler_organization_id=firms[index % 2].id,
            due_at=now + timedelta(hours=48),
            created_at=now,
            updated_at=now,
        )
        for index in range(2 * PER_FIRM)
    ]
    await ServiceRequest.bulk_create(requests, batch_size=500)
    ids = await ServiceRequest.all().order_by("id").values_list("id", flat=True)
    steps = [
        RequestStep(
            request_id=pk,
            unit_path=community.path,
            action=action,
            from_stage=before,
            to_stage=after,
            actor_role="SYSTEM",
            note="",
            at=now,
        )
        for pk in ids
        for action, before, after in (
            (RequestAction.PUBLISH, None, RequestStage.PUBLISHED),
            (RequestAction.DISPATCH, RequestStage.PUBLISHED, RequestStage.DISPATCHED),
            (RequestAction.ACCEPT, RequestStage.DISPATCHED, RequestStage.HANDLING),
        )
    ]
    await RequestStep.bulk_create(steps, batch_size=1000)


async def page(http: httpx.AsyncClient, after: str | None) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": LIST, "variables": {"after": after}},
        headers={"authorization": f"Bearer {SECRET}"},
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["serviceRequests"]
    return result


async def walk(http: httpx.AsyncClient) -> tuple[int, int]:
    """All pages: (requests listed, GraphQL requests made)."""
    listed, calls, after = 0, 0, None
    while True:
        result = await page(http, after)
        calls += 1
        listed += len(result["edges"])
        if not result["pageInfo"]["hasNextPage"]:
            return listed, calls
        after = result["pageInfo"]["endCursor"]


async def run(database_url: str | None, rounds: int) -> None:
    with bench_environment(database_url=database_url) as folder:
        async with (
            throwaway_database(database_url, folder / "db") as url,
            migrated_database(url),
        ):
            await build()
            app = create_app(load_settings(), manage_database=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench"
            ) as http:
                await walk(http)  # warm the caches
                with count_statements() as counter:
                    await page(http, None)
                per_request = counter.count
                started = time.perf_counter()
                listed, calls = await walk(http)
                walked = time.perf_counter() - started
                started = time.perf_counter()
                for _ in range(rounds):
                    await page(http, None)
                one_page = (time.perf_counter() - started) / rounds

    backend = "PostgreSQL" if database_url else "SQLite"
    sys.stdout.write(
        f"backend: {backend}\n"
        f"requests listed by the firm: {listed} in {calls} pages of 100\n"
        f"SQL statements per GraphQL request (one page): {per_request}\n"
        f"all {listed}: {walked * 1000:.0f} ms ({listed / walked:.0f} requests/s)\n"
        f"one page of 100: {one_page * 1000:.1f} ms "
        f"({1 / one_page:.1f} GraphQL requests/s)\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()
    asyncio.run(run(options.database_url, options.rounds))


if __name__ == "__main__":
    main()
