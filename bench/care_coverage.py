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


from bench.cockpit import Case, time_reads
from models import OrgUnit

FIGURES = "beneficiaries covered overdue neverVisited warnings coverageRate"
COVERAGE = f"""query ($unitId: ID!) {{ careCoverage(unitId: $unitId) {{
  {FIGURES} below {{ unit {{ id name level }} {FIGURES} }} }} }}"""
ENTRY = "unit { id name level } total issued accepted submitted verified returned "
ENTRY += "overdue completionRate"
BOARD = f"""query ($unitId: ID!) {{ taskBoard(unitId: $unitId) {{
  totals {{ {ENTRY} }} children {{ {ENTRY} }} communities {{ {ENTRY} }} }} }}"""
DUTY = """query ($unitId: ID!) {
  dutyStatistics(period: MONTH, day: "2026-11-16", unitId: $unitId) {
    totals { scheduled attended late missed attendanceRate }
    people { scheduled attended late missed unit { id name } } } }"""


def _cases(district: OrgUnit, subdistrict: OrgUnit) -> list[Case]:
    return [
        ("careCoverage, district", COVERAGE, district),
        ("careCoverage, subdistrict", COVERAGE, subdistrict),
        ("taskBoard, district", BOARD, district),
        ("taskBoard, subdistrict", BOARD, subdistrict),
        ("dutyStatistics month, subdistrict", DUTY, subdistrict),
    ]


async def run(database_url: str | None, runs: int) -> None:
    await time_reads(database_url, runs, _cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.runs))


if __name__ == "__main__":
    main()
