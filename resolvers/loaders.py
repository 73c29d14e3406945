"""Batch loads of plain rows, one statement per relation and level of a query.

Every loader reads through ``permissions.scope.visible``, so a nested list shows
exactly the rows its caller may see, whatever path led to it.
"""

from __future__ import annotations

import types
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from strawberry.dataloader import DataLoader
from tortoise.models import Model

from permissions.scope import visible
from resolvers.context import Context

__all__ = [
    "SECRETS",
    "Row",
    "by_id",
    "children_of",
    "columns",
    "expose",
    "fetch_row",
    "first_rows_of",
    "rows_in",
]

Row = dict[str, Any]

# Columns no row handed to the schema carries, even though no field reads them.
SECRETS = frozenset({"password_hash", "token_hash", "code_hash"})


_COLUMNS: dict[type[Model], tuple[str, ...]] = {}
_EXPOSED: dict[type[Model], frozenset[str]] = {}
# Always carried: what relations link by and what rules compare.
_KEYS = frozenset({"id", "path", "unit_path"})


def expose(model: type[Model], names: frozenset[str]) -> None:
    """Rows of ``model`` carry only these columns, with the keys and links.

    The schema says which columns its types show; reading no more than that
    spares converting what nobody asked for (on SQLite every timestamp is
    parsed from text).
    """
    _EXPOSED[model] = _EXPOSED.get(model, frozenset()) | names
    _COLUMNS.pop(model, None)


def columns(model: type[Model]) -> tuple[str, ...]:
    """The columns of ``model`` that rows carry: never the secrets."""
    chosen = _COLUMNS.get(model)
    if chosen is None:
        exposed = _EXPOSED.get(model)
        chosen = tuple(
            name
            for name in model._meta.fields_db_projection
            if name not in SECRETS
            and (
                exposed is None
                or name in exposed
                or name in _KEYS
                or name.endswith("_id")
            )
        )
        _COLUMNS[model] = chosen
    return chosen


async def fetch_row(model: type[Model], pk: int) -> Row:
    """One row by id, as lists carry it (after a write: no scoping needed)."""
    found: list[Row] = await model.filter(id=pk).values(*columns(model))
    return found[0]


def children_of(
    context: Context, model: type[Model], key: str, order: str = "id"
) -> DataLoader[int, list[Row]]:
    """Rows of ``model`` grouped by the value of ``key`` (a foreign key column)."""
    cache_key = ("children", model, key, order)
    loader: DataLoader[int, list[Row]] | None = context.loaders.get(cache_key)
    if loader is None:

        async def load(keys: Sequence[int]) -> list[list[Row]]:
            found = await rows_in(context, model, key, keys, order)
            grouped: dict[int, list[Row]] = defaultdict(list)
            for row in found:
                grouped[row[key]].append(row)
            return [grouped.get(k, []) for k in keys]

        loader = DataLoader(load)
        context.loaders[cache_key] = loader
    return loader


def by_id(context: Context, model: type[Model]) -> DataLoader[int, Row | None]:
    """A visible row of ``model`` by id, or ``None`` when hidden or missing."""
    cache_key = ("by_id", model)
    loader: DataLoader[int, Row | None] | None = context.loaders.get(cache_key)
    if loader is None:

        async def load(keys: Sequence[int]) -> list[Row | None]:
            found = await rows_in(context, model, "id", keys)
            index = {row["id"]: row for row in found}
            return [index.get(k) for k in keys]

        loader = DataLoader(load)
        context.loaders[cache_key] = loader
    return loader


async def first_rows_of(
    context: Context,
    model: type[Model],
    key: str,
    values: Sequence[Any],
    first: int,
    order: str = "id",
) -> dict[Any, list[Row]]:
    """The first ``first + 1`` visible rows of ``model`` per value of ``key``, in one
    statement for all the values (a window over ``key``), as ``.values()`` has them.

    One more row than asked tells each page whether another follows.
    """
    query = (
        visible(model, context.caller)
        .filter(**{f"{key}__in": list(values)})
        .values(*columns(model))
    )
    query._choose_db_if_not_chosen()
    query._make_query()
    inner, parameters = query.query.get_parameterized_sql()
    # Both databases quote names with double quotes and number the window alike.
    sql = (
        'SELECT * FROM (SELECT "page_rows".*, ROW_NUMBER() OVER '
        f'(PARTITION BY "page_rows"."{key}" ORDER BY "page_rows"."{order}") '
        f'AS "row_rank" FROM ({inner}) AS "page_rows") AS "ranked" '
        f'WHERE "row_rank" <= {int(first) + 1} ORDER BY "{key}", "{order}"'
    )
    found = await query._db.execute_query_dict(sql, parameters)

    _convert(query, model, found)
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in found:
        grouped[row[key]].append(row)
    return grouped


def _convert(query: Any, model: type[Model], found: list[Row]) -> None:
    """Turn database values into Python ones in place, as ``.values()`` does."""
    converters = [
        (name, convert)
        for name in columns(model)
        if not isinstance(
            convert := query.resolve_to_python_value(model, name), types.LambdaType
        )
    ]
    for row in found:
        for name, convert in converters:
            row[name] = convert(row[name])


def _one_parameter(
    sql: str, parameters: list[Any], values: Sequence[Any], dialect: str
) -> str | None:
    """``sql`` with its ``IN (<the stand-in>)`` taking the whole list as one
    parameter (``parameters`` updated in place), or ``None`` if it is not there."""
    if parameters.count(_MARK) != 1:
        return None
    position = parameters.index(_MARK)
    if dialect == "postgres":
        placeholder = f"IN (${position + 1})"
        if sql.count(placeholder) != 1:
            return None
        parameters[position] = list(values)
        return sql.replace(placeholder, f"= ANY(${position + 1})")
    parts = sql.split("?")
    if len(parts) != len(parameters) + 1:
        return None
    before, after = parts[position], parts[position + 1]
    if not before.endswith("IN (") or not after.startswith(")"):
        return None
    parts[position] = before + "SELECT value FROM json_each("
    parts[position + 1] = ")" + after
    parameters[position] = orjson.dumps(list(values)).decode()
    return "?".join(parts)


# A stand-in value, replaced by the whole list once the statement is built.
_MARK = -918_273_645


async def rows_in(
    context: Context,
    model: type[Model],
    key: str,
    values: Sequence[Any],
    order: str | None = None,
) -> list[Row]:
    """Visible rows of ``model`` whose ``key`` is one of ``values``, as ``.values()``
    gives them, in one statement with the values as a single parameter.

    Building ``key IN (?, ?, ...)`` with a parameter per value costs more than the
    query on a level of a few hundred parents: the statement is built once with a
    stand-in, which is then given the whole list (``= ANY($n)`` on PostgreSQL,
    ``IN (SELECT value FROM json_each(?))`` on SQLite).
    """
    if not values:
        return []
    queryset = visible(model, context.caller).filter(**{f"{key}__in": [_MARK]})
    if order is not None:
        queryset = queryset.order_by(order)
    query = queryset.values(*columns(model))
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, parameters = query.query.get_parameterized_sql()
    parameters = list(parameters)
    rewritten = _one_parameter(sql, parameters, values, query._db.capabilities.dialect)
    if rewritten is None:
        # Not the statement shape expected: build it the usual way.
        found: list[Row] = await (
            visible(model, context.caller)
            .filter(**{f"{key}__in": list(values)})
            .order_by(*([order] if order else []))
            .values(*columns(model))
        )
        return found
    sql = rewritten
    found = await query._db.execute_query_dict(sql, parameters)
    _convert(query, model, found)
    return found
