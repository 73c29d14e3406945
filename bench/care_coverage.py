"""What the new cockpit panels' reads cost, over the district demo: visit
coverage (``careCoverage``), the task board and the month's duty statistics.

Loads the ``district`` demo into a throwaway database, signs in as the district
official, and times each read in-process (``httpx.ASGITransport`` against
``create_app``): the median and the 90th percentile of ``--runs`` runs, and the
SQL statements of one run.

    .venv/bin/python bench/care_coverage.py
    .venv/bin/python bench/care_coverage.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.app import create_app
from api.demo import DEMO_PASSWORD, load_demo
from api.settings import load_settings
from bench.cockpit import LOGIN, _time
from bench.common import bench_environment, migrated_database, throwaway_database
from models import OrgUnit
from schema.base import encode_id

FIGURES = "beneficiaries covered overdue neverVisited warnings coverageRate"
COVERAGE = f"""query ($unitId: ID!) {{ careCoverage(unitId: $unitId) {{
  {FIGURES} below {{ unit {{ id name level }} {FIGURES} }} }} }}"""
ENTRY = "unit { id name level } total issued accepted submitted verified returned "
ENTRY += "overdue completionRate"
BOARD = f"""query ($unitId: ID!) {{ taskBoard(unitId: $unitId) {{
  totals {{ {ENTRY} }} children {{ {ENTRY} }} communities {{ {ENTRY} }} }} }}"""
DUTY = """query ($unitId: ID!) {
  dutyStatistics(period: MONTH, day: "2025-12-15", unitId: $unitId) {
    totals { scheduled attended late missed attendanceRate }
    people { scheduled attended late missed unit { id name } } } }"""


async def run(database_url: str | None, runs: int) -> None:
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
                cases = [
                    ("careCoverage, district", COVERAGE, district),
                    ("careCoverage, subdistrict", COVERAGE, subdistrict),
                    ("taskBoard, district", BOARD, district),
                    ("taskBoard, subdistrict", BOARD, subdistrict),
                    ("dutyStatistics month, subdistrict", DUTY, subdistrict),
                ]
                print(f"| read | median ms | p90 ms | statements |  ({runs} runs)")
                print("| --- | --- | --- | --- |")
                for name, query, unit in cases:
                    variables = {"unitId": encode_id("OrgUnit", unit.id)}
                    median, p90, statements = await _time(
                        client, query, variables, runs
                    )
                    print(f"| {name} | {median:.1f} | {p90:.1f} | {statements} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.runs))


if __name__ == "__main__":
    main()
