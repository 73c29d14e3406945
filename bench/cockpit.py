"""What the cockpit's and the public page's reads cost, over the district demo.

Loads the ``district`` demo (13 subdistricts, about 250 communities, 30,000
households) into a throwaway database, signs in as the district official, and
times each read in-process (``httpx.ASGITransport`` against ``create_app``):
the median and the 90th percentile of ``--runs`` runs, and the SQL statements
of one run.

    .venv/bin/python bench/cockpit.py
    .venv/bin/python bench/cockpit.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.app import create_app
from api.demo import DEMO_PASSWORD, load_demo
from api.settings import load_settings
from bench.common import bench_environment, migrated_database, throwaway_database
from bench.statements import count_statements
from models import OrgUnit
from schema.base import encode_id

LOGIN = """mutation { authLogin(phone: "13900000002", password: "%s") {
  accessToken } }"""
COCKPIT = """query ($unitId: ID!) { cockpit(unitId: $unitId) {
  communities estates households people
  below { unit { id name level } communities estates households people } } }"""
POSTS = """query ($unitId: ID!) {
  latest: posts(unitId: $unitId, first: 8) { totalCount
    edges { node { id kind category title publishedAt community { name } } } }
  notices: posts(unitId: $unitId, kind: NOTICE, first: 1) { totalCount } }"""
PAGE = """query { communityPage(code: "330304002001") {
  community { name parent { name } } viewerIsResident
  posts(first: 10) { edges { node { title body publishedAt } } } } }"""


async def _time(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], runs: int
) -> tuple[float, float, int]:
    async def once() -> None:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}
        )
        body = response.json()
        assert "errors" not in body, body

    with count_statements() as counter:
        await once()
    statements = len(counter.logged)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await once()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1], statements


# A read to time: its name, its document, and the unit it is asked for (if any).
Case = tuple[str, str, "OrgUnit | None"]


async def time_reads(
    database_url: str | None,
    runs: int,
    cases_for: Callable[[OrgUnit, OrgUnit], list[Case]],
) -> None:
    """Time reads on the district demo as its admin, over the district and the
    pilots' subdistrict; print one Markdown row per read."""
    with bench_environment(database_url=database_url) as folder:
        async with (
            throwaway_database(database_url, folder / "db") as url,
            migrated_database(url),
        ):
            await load_demo("district")
            app = create_app(load_settings(), manage_database=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench"
            ) as client:
                login = await client.post(
                    "/graphql", json={"query": LOGIN % DEMO_PASSWORD}
                )
                token = login.json()["data"]["authLogin"]["accessToken"]
                client.headers["authorization"] = f"Bearer {token}"
                district = await OrgUnit.get(code="330304")
                subdistrict = await OrgUnit.get(code="330304002")
                print(f"| read | median ms | p90 ms | statements |  ({runs} runs)")
                print("| --- | --- | --- | --- |")
                for name, query, unit in cases_for(district, subdistrict):
                    variables = (
                        {"unitId": encode_id("OrgUnit", unit.id)} if unit else {}
                    )
                    median, p90, statements = await _time(
                        client, query, variables, runs
                    )
                    print(f"| {name} | {median:.1f} | {p90:.1f} | {statements} |")


def _cases(district: OrgUnit, subdistrict: OrgUnit) -> list[Case]:
    return [
        ("cockpit, district", COCKPIT, district),
        ("cockpit, subdistrict", COCKPIT, subdistrict),
        ("posts panel, district", POSTS, district),
        ("community page", PAGE, None),
    ]


async def run(database_url: str | None, runs: int) -> None:
    await time_reads(database_url, runs, _cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.runs))


if __name__ == "__main__":
    main()
