"""Importing a department's list of 100,000 rows: rows per second, peak memory.

Builds a district of 20 subdistricts × 10 communities, writes a 浙里救 file
(CSV) of ``--rows`` valid rows over them, imports it, then imports it again (the
re-import that must change nothing), and prints the figures of both runs. Run by
hand:

    .venv/bin/python bench/care_import.py --rows 100000
    .venv/bin/python bench/care_import.py --rows 100000 \
        --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import resource
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from common import bench_environment, migrated_database, throwaway_database

from api.settings import load_settings
from models import Beneficiary, BeneficiaryTag, OrgUnit
from models.enums import BeneficiarySource, Level, Role
from permissions.caller import Caller, Grant
from resolvers.care import import_beneficiaries
from resolvers.care_layouts import LAYOUTS
from resolvers.idnumber import check_digit
from tests.care_support import Clock, make_context

WORDS = ("低保", "低保边缘", "特困供养")


async def build_district() -> tuple[OrgUnit, list[str]]:
    district = await OrgUnit.create(
        level=Level.DISTRICT, name="基准区", code="B-D", path="/p/", depth=0
    )
    district.path = f"/{district.id}/"
    await district.save()
    names = []
    for s in range(20):
        sub = await OrgUnit.create(
            parent=district,
            level=Level.SUBDISTRICT,
            name=f"街道{s}",
            code=f"B-S{s}",
            path="/p/",
            depth=1,
        )
        sub.path = f"{district.path}{sub.id}/"
        await sub.save()
        for c in range(10):
            name = f"社区{s}-{c}"
            unit = await OrgUnit.create(
                parent=sub,
                level=Level.COMMUNITY,
                kind="URBAN",
                name=name,
                code=f"B-C{s}-{c}",
                path="/p/",
                depth=2,
            )
            unit.path = f"{sub.path}{unit.id}/"
            await unit.save()
            names.append(name)
    return district, names


def id_number(serial: int) -> str:
    born = date(1930, 1, 1) + timedelta(days=serial % 30000)
    body = f"330304{born:%Y%m%d}{serial // 30000 % 1000:03d}"
    return body + check_digit(body)


def make_file(rows: int, communities: list[str]) -> bytes:
    layout = LAYOUTS[BeneficiarySource.ZHELIJIU]
    headers = list(layout.columns.values())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    rng = random.Random(6)
    seen: set[str] = set()
    serial = 0
    while len(seen) < rows:
        serial += 1
        number = id_number(serial)
        if number in seen:
            continue
        seen.add(number)
        values = {
            "name": f"对象{serial}",
            "id_number": number,
            "community": rng.choice(communities),
            "address": f"{rng.randint(1, 99)}幢{rng.randint(101, 2999)}室",
            "tag": rng.choice(WORDS),
            "detail": str(rng.randint(300, 1500)),
            "starts_on": "2024-01-01",
            "ends_on": "",
            "status": "正常",
        }
        writer.writerow([values[name] for name in layout.columns])
    return out.getvalue().encode("utf-8-sig")


async def run(rows: int, url: str | None) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS before: {before:.0f} MB")
    with bench_environment(database_url=url) as folder:
        async with (
            throwaway_database(url, Path(folder) / "db") as database,
            migrated_database(database),
        ):
            settings = load_settings()
            district, names = await build_district()
            data = make_file(rows, names)
            caller = Caller(grants=(Grant(Role.OFFICIAL, district.id, district.path),))
            clock = Clock(datetime(2026, 3, 1, 2, tzinfo=UTC))
            context = make_context(settings, caller, clock)
            backend = "PostgreSQL" if url else "SQLite"
            print(f"{backend}: {rows:,} rows, {len(data) / 1e6:.1f} MB of CSV")
            for label in ("first import", "re-import"):
                started = time.perf_counter()
                result, unlisted = await import_beneficiaries(
                    context, BeneficiarySource.ZHELIJIU, district.id, "big.csv", data
                )
                seconds = time.perf_counter() - started
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"  {label}: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, "
                    f"peak RSS so far {peak:.0f} MB, counts {result['counts']}"
                    f", unlisted {unlisted}"
                )
            print(
                f"  beneficiaries {await Beneficiary.all().count():,}, "
                f"tags {await BeneficiaryTag.all().count():,}; max RSS "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.rows, arguments.database_url))


if __name__ == "__main__":
    main()
