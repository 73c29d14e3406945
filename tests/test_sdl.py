"""What is committed agrees with the code: the SDL in ``schema.graphql``, and the
migrations with the models (``tortoise makemigrations`` would write nothing)."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import GraphQLObjectType

from api.cli import render_schema
from schema.app import Limits, build_schema

ROOT = Path(__file__).resolve().parent.parent
SDL = ROOT / "schema.graphql"
REGENERATE_SDL = "python -m api schema --output schema.graphql"


def test_the_committed_sdl_is_the_printed_schema() -> None:
    # Given the SDL committed in schema.graphql
    # When the schema is printed from the code
    # Then both are the same, byte for byte
    assert SDL.exists(), f"schema.graphql is missing: run `{REGENERATE_SDL}`"
    committed = SDL.read_text(encoding="utf-8")
    printed = render_schema()
    if committed != printed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                printed.splitlines(keepends=True),
                "schema.graphql (committed)",
                "schema (printed from the code)",
                n=2,
            )
        )
        pytest.fail(
            "schema.graphql differs from the schema the code builds. Regenerate it "
            f"with `{REGENERATE_SDL}` (or `make sdl`), review the change and "
            f"commit it.\n{diff[:6000]}",
            pytrace=False,
        )


def test_every_field_of_the_sdl_says_who_may_use_it() -> None:
    # Given the schema as printed into the SDL
    schema = build_schema(Limits(development=True))._schema
    # When the description of every field of every object type is read
    silent = [
        f"{type_name}.{field_name}"
        for type_name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType)
        and not type_name.startswith("__")
        for field_name, field in graphql_type.fields.items()
        if not any(
            phrase in (field.description or "")
            for phrase in ("Readable by:", "Callable by:")
        )
    ]
    # Then each one names who may read (or call) it
    assert not silent, f"fields whose description says nobody: {silent}"
    assert "Readable by:" in render_schema()


# Run in a process of its own: initialising Tortoise binds the model classes to a
# database, and the session's models must stay bound to the session's database.
AUTODETECT = """
import asyncio, json
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from api.db import tortoise_config

async def main():
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as context:
        await context.init(config=config)
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    print(json.dumps({
        f"{w.app_label}.{w.name}": [type(o).__name__ for o in w.operations]
        for w in writers
    }))

asyncio.run(main())
"""


def test_the_migrations_describe_the_models() -> None:
    # Given the models and the committed migrations
    # When Tortoise's autodetector compares them, as `makemigrations` does
    done = subprocess.run(
        [sys.executable, "-c", AUTODETECT],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )

    # Then it finds nothing to write
    pending = json.loads(done.stdout.strip().splitlines()[-1])
    assert not pending, (
        "the models changed without a migration; write one with "
        f"`tortoise makemigrations` and commit it: {pending}"
    )
