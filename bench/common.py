"""What the benchmarks share: a throwaway database, settings, the project on the path.

A benchmark never touches a database it did not create: on SQLite it works in a
temporary folder, on PostgreSQL it creates a database of its own on the server of
``--database-url`` and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402
from tortoise.migrations.api.migrate import migrate  # noqa: E402

from api.db import is_postgres, throwaway_postgres, tortoise_config  # noqa: E402

__all__ = [
    "ID_KEY",
    "JWT_KEYS",
    "ROOT",
    "bench_environment",
    "is_postgres",
    "migrated_database",
    "throwaway_database",
]

# A fixed signing key: the benchmarks never sign anyone in.
JWT_KEYS = "bench:" + "b" * 40
# A fixed key for the ID-number fingerprints production settings require.
ID_KEY = "bench-id-key-" + "i" * 32


@asynccontextmanager
async def throwaway_database(
    base_url: str | None, folder: Path, prefix: str = "yunshang_bench"
) -> AsyncIterator[str]:
    """The URL of a new, empty database, removed on exit.

    PostgreSQL when ``base_url`` names a server (its database part is ignored),
    otherwise a SQLite file in ``folder``.
    """
    if not base_url or not is_postgres(base_url):
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        yield f"sqlite://{folder / 'bench.sqlite3'}"
        return
    async with throwaway_postgres(base_url, prefix) as url:
        yield url


@asynccontextmanager
async def migrated_database(url: str) -> AsyncIterator[str]:
    """Applies the committed migrations to ``url`` and keeps Tortoise open on it."""
    config = tortoise_config(url)
    await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        yield url
    finally:
        await Tortoise.close_connections()


@contextmanager
def bench_environment(
    environment: str = "development", database_url: str | None = None
) -> Iterator[Path]:
    """A temporary data directory, and the settings' variables pointing at it."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="yunshang-bench-") as folder:
        os.environ["YUNSHANG_DATA_DIR"] = folder
        os.environ["YUNSHANG_ENV"] = environment
        os.environ["YUNSHANG_JWT_KEYS"] = JWT_KEYS
        # Production settings require a key for ID-number fingerprints.
        os.environ["YUNSHANG_ID_KEY"] = ID_KEY
        os.environ.pop("REDIS_URL", None)  # the in-process event bus
        if database_url is not None:
            os.environ["DATABASE_URL"] = database_url
        else:
            os.environ.pop("DATABASE_URL", None)
        try:
            yield Path(folder)
        finally:
            os.environ.clear()
            os.environ.update(saved)
