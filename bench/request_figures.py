"""What the cockpit's request figures cost (``requestFigures``), over the
district demo with many requests added.

Loads the ``district`` demo into a throwaway database, adds ``--requests``
requests spread over its communities (every stage; the evaluated ones closed
one to ten days after raising), signs in as the district official and times the
read in-process: the median and the 90th percentile of ``--runs`` runs, and the
SQL statements of one run.

    .venv/bin/python bench/request_figures.py
    .venv/bin/python bench/request_figures.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.app import create_app
from api.demo import DEMO_PASSWORD, load_demo
from api.settings import load_settings
from bench.cockpit import LOGIN, _time
from bench.common import bench_environment, migrated_database, throwaway_database
from models import OrgUnit, Person, RequestCategory, ServiceRequest
from models.enums import Level, RequestStage
from schema.base import encode_id

FIGURES = """query ($unitId: ID!) { requestFigures(unitId: $unitId) {
  total open closed averageHoursToClose byStage { stage count }
  below { unit { id name level } total open closed averageHoursToClose
    byStage { stage count } } } }"""
START = datetime(2026, 1, 1, tzinfo=UTC)


async def add_requests(count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    communities = await OrgUnit.filter(level=Level.COMMUNITY).values("id", "path")
    person = await Person.filter(phone="13900000009").first()
    category = await RequestCategory.all().order_by("id").first()
    assert person is not None and category is not None
    stages = list(RequestStage)
    rows = []
    for _ in range(count):
        unit = rng.choice(communities)
        stage = rng.choice(stages)
        raised = START + timedelta(hours=rng.uniform(0, 24 * 300))
        closed = (
            raised + timedelta(hours=rng.uniform(24, 240))
            if stage == RequestStage.EVALUATED
            else None
        )
        rows.append(
            ServiceRequest(
                category_id=category.id,
                raised_by_id=person.id,
                unit_id=unit["id"],
                unit_path=unit["path"],
                text="基准测试诉求",
                stage=stage,
                created_at=raised,
                updated_at=closed or raised,
                closed_at=closed,
            )
        )
    await ServiceRequest.bulk_create(rows, batch_size=1000)


async def run(database_url: str | None, runs: int, requests: int) -> None:
    with bench_environment(database_url=database_url) as folder:
        async with (
            throwaway_database(database_url, folder / "db") as url,
            migrated_database(url),
        ):
            await load_demo("district")
            await add_requests(requests)
            total = await ServiceRequest.all().count()
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
                cases = [
                    ("district (13 subdistricts below)", "330304"),
                    ("subdistrict", "330304002"),
                    ("community", "330304002001"),
                ]
                print(f"{total} requests; {runs} runs each")
                print("| requestFigures of | median ms | p90 ms | statements |")
                print("| --- | --- | --- | --- |")
                for name, code in cases:
                    unit = await OrgUnit.get(code=code)
                    variables = {"unitId": encode_id("OrgUnit", unit.id)}
                    median, p90, statements = await _time(
                        client, FIGURES, variables, runs
                    )
                    print(f"| {name} | {median:.1f} | {p90:.1f} | {statements} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.runs, args.requests))


if __name__ == "__main__":
    main()
