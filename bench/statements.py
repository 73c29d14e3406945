"""SQL statements per GraphQL operation on nested lists, at 10 and at 500 rows.

Builds a district with two subdistricts and N communities, each community with two
estates, each estate with two buildings and a property company managing it; runs a
few nested operations in-process (``httpx.ASGITransport`` against ``create_app``)
and counts the statements Tortoise sends for each. With dataloaders the count is
one per relation and level of the query, whatever N is: the table shows the same
number at 10 and at 500.

    .venv/bin/python bench/statements.py
    .venv/bin/python bench/statements.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Statements are counted twice, by two independent hooks that must agree: a handler
on the ``tortoise.db_client`` logger (every ``execute_*`` of both backends logs the
statement at DEBUG before it runs it), and wrappers around the ``execute_*``
methods of the connection object from ``tortoise.connections.get("default")``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from tortoise import connections
from tortoise.transactions import in_transaction

from api.app import create_app
from api.settings import load_settings
from bench.common import bench_environment, migrated_database, throwaway_database
from models import Building, Estate, EstateManagement, Organization, OrgUnit
from models.enums import CommunityKind, Level, OrganizationKind
from schema.base import encode_id

__all__ = ["StatementCounter", "count_statements", "main"]

EXECUTE_METHODS = (
    "execute_query",
    "execute_query_dict",
    "execute_insert",
    "execute_many",
    "execute_script",
)


@dataclass
class StatementCounter:
    """The statements seen since the last ``reset``, by each of the two hooks."""

    logged: list[str] = field(default_factory=list)
    called: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.logged.clear()
        self.called.clear()

    @property
    def count(self) -> int:
        if len(self.logged) != len(self.called):
            raise AssertionError(
                f"the hooks disagree: {len(self.logged)} logged, "
                f"{len(self.called)} called"
            )
        return len(self.logged)


class _LogHook(logging.Handler):
    # Tortoise's clients log each statement from their execute_* methods; the
    # other records of this logger (pools, connections opened) are not statements.

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.funcName.startswith("execute"):
            args = record.args
            first = args[0] if isinstance(args, tuple) and args else record.msg
            self.into.append(str(first))


@contextmanager
def count_statements() -> Iterator[StatementCounter]:
    """Counts statements on the default connection while the block runs."""
    counter = StatementCounter()
    logger = logging.getLogger("tortoise.db_client")
    hook = _LogHook(counter.logged)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(hook)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    client = connections.get("default")
    originals: dict[str, Any] = {}
    for name in EXECUTE_METHODS:
        original = getattr(client, name)
        originals[name] = original
        setattr(client, name, _wrapped(original, counter.called))
    try:
        yield counter
    finally:
        for name in originals:
            delattr(client, name)  # back to the class's method
        logger.removeHandler(hook)
        logger.setLevel(level)
        logger.propagate = propagate


def _wrapped(
    method: Callable[..., Awaitable[Any]], into: list[str]
) -> Callable[..., Awaitable[Any]]:
    async def counted(query: str, *args: Any, **kwargs: Any) -> Any:
        into.append(query)
        return await method(query, *args, **kwargs)

    return counted


# -- the data ---------------------------------------------------------------------


async def build(communities: int) -> int:
    """district → 2 subdistricts → ``communities`` → 2 estates → 2 buildings each.

    Rows get explicit ids, so every path is known before insertion. Returns the
    district's id.
    """
    units: list[OrgUnit] = []
    estates: list[Estate] = []
    buildings: list[Building] = []
    managements: list[EstateManagement] = []

    def unit(
        pk: int, name: str, level: Level, parent: OrgUnit | None, kind: Any = None
    ) -> OrgUnit:
        row = OrgUnit(
            id=pk,
            name=name,
            code=f"B-{pk}",
            level=level,
            kind=kind,
            parent_id=parent.id if parent else None,
            path=f"{parent.path if parent else '/'}{pk}/",
            depth=0 if parent is None else parent.depth + 1,
        )
        units.append(row)
        return row

    district = unit(1, "基准区", Level.DISTRICT, None)
    subdistricts = [
        unit(2, "甲街道", Level.SUBDISTRICT, district),
        unit(3, "乙街道", Level.SUBDISTRICT, district),
    ]
    companies = [
        Organization(
            id=n,
            kind=OrganizationKind.PROPERTY_COMPANY,
            name=f"第{n}物业",
            unit_id=district.id,
            unit_path=district.path,
        )
        for n in (1, 2, 3)
    ]
    for n in range(communities):
        community = unit(
            4 + n,
            f"第{n + 1}社区",
            Level.COMMUNITY,
            subdistricts[n % 2],
            CommunityKind.URBAN,
        )
        for e in range(2):
            estate_id = 1 + 2 * n + e
            estates.append(
                Estate(
                    id=estate_id,
                    unit_id=community.id,
                    unit_path=community.path,
                    name=f"{community.name}{e + 1}号小区",
                    address=f"基准路{estate_id}号",
                    built_year=2000 + estate_id % 20,
                )
            )
            managements.append(
                EstateManagement(
                    id=estate_id,
                    company_id=companies[estate_id % 3].id,
                    estate_id=estate_id,
                    starts_on=date(2024, 1, 1),
                )
            )
            for b in range(2):
                buildings.append(
                    Building(
                        id=1 + 2 * (estate_id - 1) + b,
                        estate_id=estate_id,
                        unit_path=community.path,
                        name=f"{b + 1}幢",
                        floors=6 + b,
                    )
                )

    async with in_transaction() as connection:
        for model, objects in (
            (OrgUnit, units),
            (Organization, companies),
            (Estate, estates),
            (EstateManagement, managements),
            (Building, buildings),
        ):
            await model.bulk_create(objects, batch_size=500, using_db=connection)
    return district.id


# -- the operations ----------------------------------------------------------------

OPERATIONS: dict[str, str] = {
    # Down the tree from one unit: subdistricts, communities, estates, buildings.
    "tree": """
query Tree($id: ID!) {
  orgUnit(id: $id) {
    name
    children { name code children { name code kind
      estates { id name address builtYear buildings { name floors } } } }
  }
}""",
    # From the roots: the same lists, entered through a root list.
    "roots": """
query Roots {
  orgRoots { name children { name children { name estates { name } } } }
}""",
    # Up and sideways: each estate's community and its parent, its managements
    # and their companies (by-id loads, batched per level).
    "up": """
query Up($id: ID!) {
  orgUnit(id: $id) {
    children { children { estates {
      name
      community { name parent { name } }
      managements { startsOn company { name } }
    } } }
  }
}""",
}


READS = {
    "tree": "the unit, then 4 list levels: subdistricts, communities, estates, "
    "buildings",
    "roots": "4 list levels: the roots, subdistricts, communities, estates",
    "up": "the unit, 3 list levels down, then per estate its community, that "
    "community's parent, its managements and their companies",
}


def _communities(body: dict[str, Any], operation: str) -> int:
    data = body["data"]
    root = data["orgRoots"][0] if operation == "roots" else data["orgUnit"]
    return sum(len(s["children"]) for s in root["children"])


async def measure(sizes: list[int], url: str | None, verbose: bool) -> int:
    results: dict[str, dict[int, int]] = {name: {} for name in OPERATIONS}
    with bench_environment("development") as folder:
        for size in sizes:
            async with (
                throwaway_database(url, folder / str(size)) as database,
                migrated_database(database),
            ):
                district = await build(size)
                settings = load_settings()
                app = create_app(settings, manage_database=False)
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://bench"
                ) as http:
                    with count_statements() as counter:
                        for name, query in OPERATIONS.items():
                            variables = {"id": encode_id("OrgUnit", district)}
                            if name == "roots":
                                variables = {}
                            counter.reset()
                            response = await http.post(
                                "/graphql",
                                json={"query": query, "variables": variables},
                            )
                            body = response.json()
                            if response.status_code != 200 or body.get("errors"):
                                raise SystemExit(f"{name}: {response.text[:500]}")
                            seen = _communities(body, name)
                            if seen != size:
                                raise SystemExit(f"{name}: {seen} communities")
                            results[name][size] = counter.count
                            if verbose:
                                print(f"-- {name} at {size} rows")
                                for statement in counter.logged:
                                    print("  ", statement[:160])

    backend = "PostgreSQL" if url else "SQLite"
    print(f"SQL statements per operation ({backend}; rows = communities)")
    header = "| operation | " + " | ".join(f"{s} rows" for s in sizes) + " | same |"
    print(header + " reads |")
    print("|" + " --- |" * (len(sizes) + 3))
    failed = 0
    for name, counts in results.items():
        same = len(set(counts.values())) == 1
        failed += not same
        cells = " | ".join(str(counts[s]) for s in sizes)
        print(f"| {name} | {cells} | {'yes' if same else 'NO'} | {READS[name]} |")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (a throwaway database is created and dropped); "
        "SQLite in a temporary folder when absent",
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[10, 500])
    parser.add_argument("--verbose", action="store_true", help="print each statement")
    args = parser.parse_args()
    url = args.database_url
    return asyncio.run(measure(args.rows, url, args.verbose))


if __name__ == "__main__":
    sys.exit(main())
