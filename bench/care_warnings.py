"""The care warning job over 100,000 beneficiaries and a year of visits (PostgreSQL).

Fills a throwaway database with a district of 200 communities, a cadre each,
``--beneficiaries`` people with a tag each (intervals of 7 to 90 days), a year of
visits at their intervals (about two million rows for 100,000 people), some never
visited, some without a cadre, some deceased; then times the warning job (the
first run raises, the second finds nothing new), the dispatch job, and the
warning job a week later. Run by hand:

    .venv/bin/python bench/care_warnings.py \
        --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import bench_environment, migrated_database, throwaway_database
from tortoise import connections

from api.settings import load_settings
from models import Beneficiary, OrgUnit, Visit, VisitOrder, Warning
from models.enums import Level, Role
from permissions.caller import Caller, Grant
from resolvers.care import raise_care_warnings
from resolvers.visit import dispatch_orders
from tests.care_support import Clock, make_context

NOW = datetime(2026, 3, 1, 2, tzinfo=UTC)
COMMUNITIES = 200

# Kinds and their intervals, by the beneficiary's id modulo 5.
FILL = """
INSERT INTO beneficiary (
    id_fingerprint, id_number, name, gender, birth_date, unit_id, unit_path,
    address, responsible_id, carer_name, carer_phone, carer_gone, health,
    latitude, longitude, status, deceased_on, listed_at, last_visit_at,
    interval_days, visit_due_at, created_at)
SELECT
    md5(i::text), lpad(i::text, 18, '0'), '对象' || i, 'F', DATE '1950-01-01',
    u.id, u.path, '', CASE WHEN i % 20 = 0 THEN NULL ELSE c.person_id END,
    '', '', i % 97 = 0, '', 27.9 + (i % 1000) * 0.0001, 120.6,
    CASE WHEN i % 500 = 0 THEN 'DECEASED' ELSE 'ACTIVE' END,
    CASE WHEN i % 500 = 0 THEN DATE '2026-02-01' END,
    $1::timestamptz - INTERVAL '400 days',
    CASE WHEN i % 50 = 0 THEN NULL
         ELSE $1::timestamptz - (i % 100) * INTERVAL '1 day' END,
    (ARRAY[7, 14, 30, 60, 90])[i % 5 + 1],
    CASE WHEN i % 500 = 0 THEN NULL
         ELSE COALESCE(
             CASE WHEN i % 50 = 0 THEN NULL
                  ELSE $1::timestamptz - (i % 100) * INTERVAL '1 day' END,
             $1::timestamptz - INTERVAL '400 days')
           + (ARRAY[7, 14, 30, 60, 90])[i % 5 + 1] * INTERVAL '1 day' END,
    $1::timestamptz
FROM generate_series(1, $2) AS i
JOIN (SELECT id, path, row_number() OVER (ORDER BY id) - 1 AS n
      FROM org_unit WHERE level = 'COMMUNITY') AS u ON u.n = i % $3
JOIN (SELECT person_id, unit_id FROM role_assignment WHERE role = 'CADRE') AS c
  ON c.unit_id = u.id
"""
TAGS = """
INSERT INTO beneficiary_tag (beneficiary_id, unit_path, kind, source, grade,
    detail, starts_on, status, created_at, updated_at)
SELECT id, unit_path,
    (ARRAY['ELDERLY_ALONE', 'EXTREME_POVERTY', 'LOW_INCOME', 'LOW_INCOME_EDGE',
           'HOUSING_SUBSIDY'])[id % 5 + 1],
    (ARRAY['CIVIL_AFFAIRS', 'ZHELIJIU', 'ZHELIJIU', 'ZHELIJIU', 'HOUSING'])[id % 5 + 1],
    '', '', DATE '2025-01-01',
    CASE WHEN status = 'DECEASED' THEN 'REVIEW' ELSE 'ACTIVE' END, now(), now()
FROM beneficiary
"""
VISITS = """
INSERT INTO visit (beneficiary_id, unit_path, kind, visitor_id, status,
    checked_in_at, latitude, longitude, accuracy_m, distance_m, situation, needs,
    reported_at)
SELECT b.id, b.unit_path, 'ROUTINE', b.responsible_id, 'REPORTED',
    b.last_visit_at - k * b.interval_days * INTERVAL '1 day',
    b.latitude, b.longitude, 10, 20, '情况良好', '',
    b.last_visit_at - k * b.interval_days * INTERVAL '1 day' + INTERVAL '20 minutes'
FROM beneficiary b, generate_series(0, 52) AS k
WHERE b.last_visit_at IS NOT NULL AND b.responsible_id IS NOT NULL
  AND k * b.interval_days < 365
"""


async def build(count: int) -> None:
    district = await OrgUnit.create(
        level=Level.DISTRICT, name="基准区", code="W-D", path="/p/", depth=0
    )
    district.path = f"/{district.id}/"
    await district.save()
    connection = connections.get("default")
    await connection.execute_script(
        f"""
        INSERT INTO org_unit (level, kind, name, code, path, depth, parent_id,
                              created_at)
        SELECT 'COMMUNITY', 'URBAN', '社区' || i, 'W-C' || i, '', 1, {district.id},
               now()
        FROM generate_series(1, {COMMUNITIES}) AS i;
        UPDATE org_unit SET path = '{district.path}' || id || '/'
        WHERE parent_id = {district.id};
        INSERT INTO person (name, phone, is_active, created_at)
        SELECT '干部' || i, '1390000' || lpad(i::text, 4, '0'), true, now()
        FROM generate_series(1, {COMMUNITIES}) AS i;
        INSERT INTO role_assignment (person_id, role, unit_id, unit_path, title,
                                     starts_at, created_at)
        SELECT p.id, 'CADRE', u.id, u.path, '', now(), now()
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM person) AS p
        JOIN (SELECT id, path, row_number() OVER (ORDER BY id) AS n FROM org_unit
              WHERE level = 'COMMUNITY') AS u ON u.n = p.n;
        """
    )
    await connection.execute_query(FILL, [NOW, count, COMMUNITIES])
    await connection.execute_script(TAGS + ";" + VISITS + "; ANALYZE;")


async def timed(label: str, job: object) -> None:
    started = time.perf_counter()
    counts = await job  # type: ignore[misc]
    seconds = time.perf_counter() - started
    shown = {k: v for k, v in counts.items() if v}
    print(f"  {label}: {seconds:.1f} s {shown}")


async def run(count: int, url: str) -> None:
    with bench_environment(database_url=url) as folder:
        async with (
            throwaway_database(url, Path(folder) / "db", "yunshang_care") as database,
            migrated_database(database),
        ):
            started = time.perf_counter()
            await build(count)
            print(
                f"built {await Beneficiary.all().count():,} beneficiaries and "
                f"{await Visit.all().count():,} visits in "
                f"{time.perf_counter() - started:.0f} s"
            )
            root = await OrgUnit.get(level=Level.DISTRICT)
            caller = Caller(grants=(Grant(Role.ADMIN, root.id, root.path),))
            clock = Clock(NOW)
            context = make_context(load_settings(), caller, clock)

            await timed("warnings, first run", raise_care_warnings(context))
            await timed("warnings, second run", raise_care_warnings(context))
            await timed("dispatch, first run", dispatch_orders(context))
            await timed("dispatch, second run", dispatch_orders(context))
            clock.now += timedelta(days=7)
            await timed("warnings, a week later", raise_care_warnings(context))
            print(
                f"  open warnings {await Warning.filter(resolved_at=None).count():,}"
                f", orders {await VisitOrder.all().count():,}; max RSS "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/postgres"
    )
    arguments = parser.parse_args()
    asyncio.run(run(arguments.beneficiaries, arguments.database_url))


if __name__ == "__main__":
    main()
