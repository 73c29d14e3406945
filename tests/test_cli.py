"""The command line, run as users run it: ``python -m api <command>`` in a process.

Each run gets a data directory of its own and the embedded SQLite database in it
(``DATABASE_URL`` and ``REDIS_URL`` removed from its environment), except the
PostgreSQL check, which runs only when ``DATABASE_URL`` points at a server.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from api.db import is_postgres

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = len(list((ROOT / "migrations").glob("0*.py")))
BASE_URL = os.environ.get("DATABASE_URL", "")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def _env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL"} and not key.startswith("YUNSHANG_")
    }
    env["YUNSHANG_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def cli(*args: str, env: dict[str, str]) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "api", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class Loaded:
    data_dir: Path
    env: dict[str, str]
    migrate: Run
    demo: Run

    @property
    def database(self) -> Path:
        return self.data_dir / "yunshang.sqlite3"

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """A data directory not yet created, migrated, then given the small demo."""
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    env = _env(data_dir)
    migrate = cli("migrate", env=env)
    demo = cli("demo", "--scale", "small", env=env)
    return Loaded(data_dir, env, migrate, demo)


def test_migrate_creates_the_data_directory_and_the_tables(loaded: Loaded) -> None:
    # Given a data directory that did not exist
    # When `migrate` ran
    # Then it created the directory and the SQLite database, with the tables
    assert loaded.migrate.code == 0, loaded.migrate.err
    assert f"Applied {MIGRATIONS} migration" in loaded.migrate.out
    assert loaded.database.is_file()
    tables = {row[0] for row in loaded.query("SELECT name FROM sqlite_master")}
    assert {"org_unit", "person", "api_token", "audit_record"} <= tables


def test_demo_small_fills_the_database_and_names_the_demo_accounts(
    loaded: Loaded,
) -> None:
    # Given the migrated database
    # When `demo --scale small` ran
    # Then units and people are there, and the output says how to log in
    assert loaded.demo.code == 0, loaded.demo.err
    assert "Loaded the small demo" in loaded.demo.out
    assert "password" in loaded.demo.out
    ((units,),) = loaded.query("SELECT count(*) FROM org_unit")
    ((people,),) = loaded.query("SELECT count(*) FROM person")
    assert isinstance(units, int)
    assert units > 0
    assert isinstance(people, int)
    assert people > 0


def test_demo_refuses_a_database_that_holds_data(loaded: Loaded) -> None:
    # Given the database with the demo in it
    ((before,),) = loaded.query("SELECT count(*) FROM person")
    # When the demo is loaded again without --force
    again = cli("demo", "--scale", "small", env=loaded.env)
    # Then the command fails, says why, and changes nothing
    assert again.code == 1
    assert "--force" in again.err
    assert loaded.query("SELECT count(*) FROM person") == [(before,)]


def test_a_token_is_shown_once_then_revoked(loaded: Loaded) -> None:
    # Given a property company of the demo
    ((company,),) = loaded.query(
        "SELECT id FROM organization WHERE kind = 'PROPERTY_COMPANY' "
        "ORDER BY id LIMIT 1"
    )
    # When a token is created for it
    created = cli(
        "token",
        "create",
        "--organization-id",
        str(company),
        "--name",
        "ERP link",
        "--days",
        "30",
        env=loaded.env,
    )
    # Then its secret is the only output, and only its hash is stored
    assert created.code == 0, created.err
    secret = created.out.strip()
    assert secret.startswith("ys_")
    assert "\n" not in secret
    ((token_id, prefix, token_hash),) = loaded.query(
        "SELECT id, prefix, token_hash FROM api_token WHERE name = 'ERP link'"
    )
    assert isinstance(prefix, str)
    assert secret.startswith(prefix)
    assert secret not in str(token_hash)

    # When it is revoked, and revoked again
    revoked = cli("token", "revoke", "--id", str(token_id), env=loaded.env)
    again = cli("token", "revoke", "--id", str(token_id), env=loaded.env)
    # Then the first ends it, the second fails, and both writes were audited
    assert revoked.code == 0, revoked.err
    assert f"Revoked API token {token_id}" in revoked.out
    assert loaded.query("SELECT revoked_at IS NOT NULL FROM api_token") == [(1,)]
    assert again.code == 1
    assert "ALREADY_REVOKED" in again.err
    actions = loaded.query("SELECT action, role, outcome FROM audit_record ORDER BY id")
    assert ("API_TOKEN_CREATE", "ADMIN", "OK") in actions
    assert ("API_TOKEN_REVOKE", "ADMIN", "OK") in actions


def test_schema_prints_the_sdl(tmp_path: Path) -> None:
    # Given no database at all
    # When the schema is printed
    result = cli("schema", env=_env(tmp_path / "unused"))
    # Then the SDL comes out on standard output, with who may read each field
    assert result.code == 0, result.err
    assert "type Query" in result.out
    assert "Readable by:" in result.out
    assert not (tmp_path / "unused").exists()


BAD_USAGE = [
    (),
    ("launch",),
    ("demo", "--scale", "galaxy"),
    ("demo", "--seed", "many"),
    ("token",),
    ("token", "create", "--name", "no organisation"),
    ("token", "create", "--organization-id", "0", "--name", "x"),
    ("token", "revoke"),
    ("serve", "--port", "70000"),
    ("serve", "--reload", "--workers", "2"),
]


def test_bad_usage_exits_2_with_the_usage(tmp_path: Path) -> None:
    # Given command lines that make no sense
    env = _env(tmp_path / "unused")
    # When each is run
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda args: cli(*args, env=env), BAD_USAGE))
    # Then each exits 2 and says what is wrong, touching nothing
    for args, result in zip(BAD_USAGE, results, strict=True):
        assert result.code == 2, (args, result)
        assert "usage: yunshang" in result.err, (args, result)
        assert "error:" in result.err, (args, result)
    assert not (tmp_path / "unused").exists()


# -- PostgreSQL -------------------------------------------------------------------


async def _drop(url: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(
            f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)'
        )
    finally:
        await connection.close()


@pytest.fixture
def new_pg_url() -> Iterator[str]:
    parts = urlsplit(BASE_URL)
    name = f"yunshang_cli_{uuid.uuid4().hex[:10]}"
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    try:
        yield url
    finally:
        asyncio.run(_drop(url))


@pytest.mark.skipif(not is_postgres(BASE_URL), reason="needs DATABASE_URL (postgres)")
def test_migrate_creates_a_missing_postgres_database(
    new_pg_url: str, tmp_path: Path
) -> None:
    # Given a PostgreSQL database that does not exist yet
    env = _env(tmp_path, new_pg_url)
    # When `migrate` runs twice, then the small demo is loaded
    first = cli("migrate", env=env)
    second = cli("migrate", env=env)
    demo = cli("demo", "--scale", "small", env=env)
    # Then the first created and migrated it, the second had nothing to do,
    # and the demo went in
    assert first.code == 0, first.err
    assert f"Applied {MIGRATIONS} migration" in first.out
    assert second.code == 0, second.err
    assert "No migrations to apply" in second.out
    assert demo.code == 0, demo.err
    assert "Loaded the small demo" in demo.out
