"""The command line: ``yunshang <command>``, or ``python -m api <command>``.

Commands: ``serve``, ``migrate``, ``demo``, ``token create|revoke`` and ``schema``.
Each reads its settings from the environment (``api.settings``). What a command is
for goes to standard output; progress and errors go to standard error. The exit
code is 0 on success, 1 when the command failed and 2 for bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

# The rest is imported by the commands that need it, so that ``--help`` and bad
# usage answer at once.
if TYPE_CHECKING:
    from api.settings import Settings
    from resolvers.context import Context

__all__ = [
    "CommandError",
    "apply_migrations",
    "build_parser",
    "ensure_database",
    "main",
    "render_schema",
]

logger = logging.getLogger("yunshang.cli")

PROG = "yunshang"
APP = "api.asgi:app"
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "asyncpg"})
SCALES = ("small", "district", "province")
DEFAULT_SEED = 20261203
CLI_ADDRESS = "cli"


class CommandError(Exception):
    """A failure the user can act on: reported in one line, exit code 1."""


# -- the database -----------------------------------------------------------------


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in POSTGRES_SCHEMES


def _sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite://`` URL; ``None`` for an in-memory database."""
    _, _, rest = url.partition("://")
    path = rest.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def _where(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        return url
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or "127.0.0.1"
    return f"{parts.scheme}://{user}{host}:{parts.port or 5432}{parts.path}"


async def _ensure_postgres_database(url: str) -> None:
    import asyncpg

    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/")) or "postgres"
    credentials = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or "") or None,
    }
    try:
        connection = await asyncpg.connect(database=name, **credentials)
    except asyncpg.InvalidCatalogNameError:
        pass  # the database does not exist yet: create it below
    except (OSError, asyncpg.PostgresError) as error:
        raise CommandError(f"cannot connect to {_where(url)}: {error}") from None
    else:
        await connection.close()
        return

    try:
        admin = await asyncpg.connect(database="postgres", **credentials)
    except (OSError, asyncpg.PostgresError) as error:
        raise CommandError(
            f"the database {name!r} does not exist, and the server's `postgres` "
            f"database, needed to create it, cannot be reached: {error}"
        ) from None
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        await admin.execute(f"CREATE DATABASE {quoted}")
        logger.info("created the PostgreSQL database %s", name)
    except asyncpg.DuplicateDatabaseError:
        pass  # created meanwhile by another process
    except asyncpg.PostgresError as error:
        raise CommandError(f"cannot create the database {name!r}: {error}") from None
    finally:
        await admin.close()


async def ensure_database(url: str) -> None:
    """Make sure the database of ``url`` can be opened: its directory, or itself."""
    if _is_postgres(url):
        await _ensure_postgres_database(url)
        return
    path = _sqlite_file(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(
                f"cannot create the data directory {path.parent}: {error}"
            ) from None


async def apply_migrations(url: str) -> list[str]:
    """Apply the migrations not yet applied; returns the names of those applied."""
    import asyncpg
    from tortoise import Tortoise
    from tortoise.exceptions import BaseORMException
    from tortoise.migrations.api.migrate import migrate

    from api.db import tortoise_config

    await ensure_database(url)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")
            logger.info("applied migration %s.%s", app_label, name)

    try:
        await migrate(config=tortoise_config(url), progress=progress)
    except (OSError, asyncpg.PostgresError, BaseORMException) as error:
        raise CommandError(f"migrating {_where(url)} failed: {error}") from error
    finally:
        await Tortoise.close_connections()
    return applied


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[None]:
    """The ORM, initialised for the duration of one command."""
    import asyncpg
    from tortoise import Tortoise
    from tortoise.exceptions import BaseORMException, OperationalError

    from api.db import tortoise_config

    config = tortoise_config(settings.database_url)
    try:
        await Tortoise.init(config=config, _enable_global_fallback=True)
    except (OSError, asyncpg.PostgresError, BaseORMException) as error:
        raise CommandError(
            f"cannot open {_where(settings.database_url)}: {error}"
        ) from None
    try:
        yield
    except OperationalError as error:
        raise CommandError(
            f"{error} (has `{PROG} migrate` been run on this database?)"
        ) from error
    finally:
        await Tortoise.close_connections()


# -- demo data --------------------------------------------------------------------


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


async def _load_demo(scale: str, seed: int, force: bool) -> None:
    from tortoise.contrib.test import truncate_all_models

    from api.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, database_is_empty, load_demo

    if force:
        logger.warning("emptying every table before loading the demo data")
        await truncate_all_models()
    elif not await database_is_empty():
        raise CommandError(
            "the database already holds data; `demo --force` empties every table first"
        )
    try:
        summary = await load_demo(scale, seed)
    except ValueError as error:
        hint = "" if force else " (`demo --force` empties every table first)"
        raise CommandError(f"{error}{hint}") from None

    _write(
        f"Loaded the {scale} demo (seed {seed}): {summary.units} org units "
        f"({summary.subdistricts} subdistricts, {summary.communities} communities), "
        f"{summary.estates} estates, {summary.households} households, "
        f"{summary.people} people, {summary.organizations} organisations."
    )
    _write(f"Demo accounts (password {DEMO_PASSWORD}):")
    for account in DEMO_ACCOUNTS:
        role = account.role.value
        _write(f"  {account.phone}  {role:<16} {account.where}  {account.name}")


async def _prepare(settings: Settings, demo: bool) -> None:
    """What ``serve`` does before the workers start: migrate, then demo data."""
    await apply_migrations(settings.database_url)
    if not demo:
        return
    from api.demo import database_is_empty

    async with _database(settings):
        if await database_is_empty():
            logger.info("the database is empty: loading the demo district")
            await _load_demo("district", DEFAULT_SEED, force=False)


# -- API tokens -------------------------------------------------------------------


@asynccontextmanager
async def _admin_context(settings: Settings) -> AsyncIterator[Context]:
    """A Context for the operator at the command line: an admin over every root."""
    from api.events import create_bus
    from models import OrgUnit
    from models.enums import Role
    from permissions.caller import Caller, Grant
    from resolvers.context import Context
    from resolvers.files import LocalFileStore
    from resolvers.notify import LogSender

    roots = await OrgUnit.filter(parent_id=None).order_by("id").values("id", "path")
    if not roots:
        raise CommandError(
            f"the database has no org units yet; load them first (`{PROG} demo`)"
        )
    caller = Caller(
        grants=tuple(Grant(Role.ADMIN, row["id"], row["path"]) for row in roots),
        client_address=CLI_ADDRESS,
    )
    bus = create_bus(settings.redis_url, settings.event_queue_size)
    await bus.start()
    try:
        yield Context(
            bus=bus,
            auth=settings.auth,
            store=LocalFileStore(settings.data_dir / "files"),
            sender=LogSender(),
            caller=caller,
            id_key=settings.id_key,
        )
    finally:
        await bus.close()


async def _create_token(
    settings: Settings, organization_id: int, name: str, days: int
) -> None:
    from resolvers.identity import create_api_token

    async with _database(settings), _admin_context(settings) as context:
        issued = await create_api_token(context, organization_id, name, days)
    token = issued.token
    expires = f"{token.expires_at:%Y-%m-%d %H:%M} UTC"
    _note(
        f"Created API token {token.id} ({token.name!r}, prefix {token.prefix}) for "
        f"organisation {token.organization_id}, expiring {expires}. The secret is "
        "shown only this once: only its hash is kept."
    )
    _write(issued.secret)


async def _revoke_token(settings: Settings, token_id: int) -> None:
    from resolvers.identity import revoke_api_token

    async with _database(settings), _admin_context(settings) as context:
        token = await revoke_api_token(context, token_id)
    _write(f"Revoked API token {token.id} ({token.name!r}, prefix {token.prefix}).")


# -- the schema -------------------------------------------------------------------


def render_schema() -> str:
    """The SDL as committed in ``schema.graphql``, ending with a newline."""
    from strawberry.printer import print_schema

    from schema.app import Limits, build_schema

    return print_schema(build_schema(Limits(development=True))) + "\n"


# -- serving ----------------------------------------------------------------------


def _available(module: str, fallback: str, wanted: str) -> str:
    return wanted if importlib.util.find_spec(module) is not None else fallback


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    workers = 1 if args.reload else (args.workers or settings.workers)
    demo = not args.no_demo
    if demo and not settings.development:
        logger.info("production: no demo data is loaded into an empty database")
        demo = False
    asyncio.run(_prepare(settings, demo))
    if workers > 1 and not settings.redis_url:
        logger.warning(
            "%s workers without REDIS_URL: events raised in one worker do not "
            "reach subscribers of another",
            workers,
        )
    host = args.host or settings.host
    port = args.port or settings.port
    logger.info("serving http://%s:%s/graphql with %s worker(s)", host, port, workers)
    uvicorn.run(
        APP,
        host=host,
        port=port,
        workers=None if args.reload else workers,
        reload=args.reload,
        loop=_available("uvloop", "auto", "uvloop"),
        http=_available("httptools", "auto", "httptools"),
        lifespan="on",
    )


# -- the parser -------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Yunshang: village and community governance in one GraphQL API.",
        epilog="Settings come from the environment; see the README for the list.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="apply migrations, load the demo into an empty database, and serve",
        description="Apply migrations, load the demo district into an empty "
        "database (development only, unless --no-demo), then run uvicorn.",
    )
    serve.add_argument("--host", help="address to bind (YUNSHANG_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port (YUNSHANG_PORT, 8000)")
    serve.add_argument(
        "--workers", type=_positive, help="worker processes (YUNSHANG_WORKERS, 1)"
    )
    serve.add_argument(
        "--reload", action="store_true", help="restart on code changes (development)"
    )
    serve.add_argument("--no-demo", action="store_true", help="never load demo data")

    commands.add_parser(
        "migrate",
        help="apply the database migrations",
        description="Apply Tortoise's migrations; creates the SQLite data directory "
        "or the PostgreSQL database when missing.",
    )

    demo = commands.add_parser(
        "demo",
        help="load deterministic demo data",
        description="Load demo data into an empty database (migrating it first).",
    )
    demo.add_argument("--scale", choices=SCALES, default="district")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.add_argument("--force", action="store_true", help="empty every table first")

    token = commands.add_parser("token", help="create or revoke API tokens")
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="create an API token and print its secret once",
        description="Create an API token for an organisation (a property company "
        "or an owners' committee); the secret is printed once, on standard output.",
    )
    create.add_argument("--organization-id", type=_positive, required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--days", type=_positive, default=90)
    revoke = actions.add_parser("revoke", help="revoke an API token")
    revoke.add_argument("--id", type=_positive, required=True, dest="token_id")

    jobs = commands.add_parser("jobs", help="list or run the scheduled jobs")
    job_actions = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)
    job_actions.add_parser("list", help="list the jobs and their intervals")
    run = job_actions.add_parser(
        "run",
        help="run jobs now",
        description="Run the named jobs now, or every job that is due when none is "
        "named. Each job is safe to run twice; one that another worker is running "
        "is skipped.",
    )
    run.add_argument("names", nargs="*", metavar="NAME")

    schema = commands.add_parser(
        "schema",
        help="print the GraphQL schema (SDL)",
        description="Print the schema's SDL, as committed in schema.graphql.",
    )
    schema.add_argument("--output", "-o", type=Path, help="write to this file")
    return parser


def _run(args: argparse.Namespace) -> None:
    if args.command == "schema":
        sdl = render_schema()
        if args.output is None:
            sys.stdout.write(sdl)
        else:
            try:
                args.output.write_text(sdl, encoding="utf-8")
            except OSError as error:
                raise CommandError(f"cannot write {args.output}: {error}") from None
            logger.info("wrote the schema to %s", args.output)
        return

    from api.settings import load_settings

    try:
        settings = load_settings()
    except ValueError as error:
        raise CommandError(f"bad settings: {error}") from None

    if args.command == "serve":
        _serve(args, settings)
    elif args.command == "migrate":
        applied = asyncio.run(apply_migrations(settings.database_url))
        where = _where(settings.database_url)
        if applied:
            _write(f"Applied {len(applied)} migration(s) to {where}.")
        else:
            _write(f"No migrations to apply to {where}.")
    elif args.command == "demo":
        asyncio.run(_demo(settings, args.scale, args.seed, args.force))
    elif args.command == "token" and args.action == "create":
        asyncio.run(_create_token(settings, args.organization_id, args.name, args.days))
    elif args.command == "token" and args.action == "revoke":
        asyncio.run(_revoke_token(settings, args.token_id))
    elif args.command == "jobs" and args.action == "list":
        _list_jobs()
    elif args.command == "jobs" and args.action == "run":
        asyncio.run(_run_jobs(settings, args.names))
    else:  # pragma: no cover - argparse only lets the commands above through
        raise CommandError(f"unknown command {args.command!r}")


def _list_jobs() -> None:
    from resolvers.jobs import load_jobs

    jobs = load_jobs()
    if not jobs:
        _write("No scheduled jobs.")
    for name, registered in sorted(jobs.items()):
        minutes = int(registered.every.total_seconds() // 60)
        _write(f"{name}\tevery {minutes} min\t{registered.description}")


async def _run_jobs(settings: Settings, names: list[str]) -> None:
    from resolvers.jobs import load_jobs, run_due, run_job

    unknown = sorted(set(names) - set(load_jobs()))
    if unknown:
        raise CommandError(
            f"no such job: {', '.join(unknown)} (see `{PROG} jobs list`)"
        )
    async with _database(settings), _admin_context(settings) as context:
        if names:
            results = [await run_job(name, context) for name in names]
        else:
            results = await run_due(context)
    failed = [r["name"] for r in results if r["outcome"] == "FAILED"]
    for result in results:
        counts = " ".join(f"{k}={v}" for k, v in sorted(result["counts"].items()))
        _write(f"{result['name']}: {result['outcome']} {counts}".rstrip())
    if failed:
        raise CommandError(f"failed: {', '.join(failed)}")


async def _demo(settings: Settings, scale: str, seed: int, force: bool) -> None:
    await apply_migrations(settings.database_url)
    async with _database(settings):
        await _load_demo(scale, seed, force)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on bad usage
    if args.command == "serve" and args.reload and (args.workers or 1) > 1:
        parser.error("--reload runs one process: leave out --workers")
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    from permissions.errors import CodedError
    from resolvers.base import Invalid

    try:
        _run(args)
    except CommandError as error:
        _note(f"{PROG}: error: {error}")
        return 1
    except Invalid as invalid:
        for item in invalid.errors:
            _note(f"{PROG}: error: {item.field}: {item.message} ({item.code})")
        return 1
    except CodedError as error:
        _note(f"{PROG}: error: {error.message} ({error.code})")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        logger.exception("%s failed unexpectedly", args.command)
        return 1
    return 0
