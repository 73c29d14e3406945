"""Batch loads of plain rows, one statement per relation and level of a query.

Every loader reads through ``permissions.scope.visible``, so a nested list shows
exactly the rows its caller may see, whatever path led to it.
"""

from __future__ import annotations

import types
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from strawberry.dataloader import DataLoader
from tortoise.fields.data import CharEnumFieldInstance, IntEnumFieldInstance
from tortoise.models import Model
from tortoise.router import router

from permissions.scope import SCOPES, is_public, visible
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
    grouped: dict[Any, list[Row]] = defaultdict(list)
    if not values:
        return grouped
    db = _db(model)
    statement = _statement(context, db, model, key, None)
    if statement is not None:
        inner, parameters = statement.sql, statement.bind(values)
    else:
        # Not the statement shape expected: a parameter per value.
        query = (
            visible(model, context.caller)
            .filter(**{f"{key}__in": list(values)})
            .values(*columns(model))
        )
        query._choose_db_if_not_chosen()
        query._make_query()
        inner, parameters = query.query.get_parameterized_sql()
        statement = _build_converters(query, model)
    # Both databases quote names with double quotes and number the window alike.
    sql = (
        'SELECT * FROM (SELECT "page_rows".*, ROW_NUMBER() OVER '
        f'(PARTITION BY "page_rows"."{key}" ORDER BY "page_rows"."{order}") '
        f'AS "row_rank" FROM ({inner}) AS "page_rows") AS "ranked" '
        f'WHERE "row_rank" <= {int(first) + 1} ORDER BY "{key}", "{order}"'
    )
    _, found = await db.execute_query(sql, list(parameters))
    for row in statement.rows(found):
        grouped[row[key]].append(row)
    return grouped


# -- reading rows straight through the driver ----------------------------------------


class _Statement:
    """A level's statement, built once: its SQL with the parents as one parameter,
    and how each column's value becomes what ``.values()`` would give.

    Tortoise would build a queryset, compile it to SQL, and convert every value of
    every row through its field (an enum member made by calling the enum) on each
    level of each request; the statement of a scope that does not depend on the
    caller is the same every time, and the conversions can be looked up.
    """

    __slots__ = (
        "builders",
        "columns",
        "converters",
        "dialect",
        "lookups",
        "parameters",
        "position",
        "scope",
        "sql",
    )

    def __init__(
        self,
        sql: str,
        parameters: list[Any],
        position: int,
        dialect: str,
        converters: tuple[tuple[str, Callable[[Any], Any]], ...],
        lookups: tuple[tuple[str, dict[Any, Any], Callable[[Any], Any]], ...],
        columns: tuple[str, ...],
    ) -> None:
        self.sql = sql
        self.parameters = parameters
        self.position = position
        self.dialect = dialect
        self.converters = converters
        self.lookups = lookups
        self.columns = columns
        # The scope it was kept for, when it is kept.
        self.scope: Any = None
        # Functions making the rows' dicts, by the columns the driver names.
        self.builders: dict[tuple[str, ...], Callable[[Sequence[Any]], list[Row]]] = {}

    def bind(self, values: Sequence[Any]) -> list[Any]:
        """The parameters, the parents given as one."""
        parameters = list(self.parameters)
        if self.dialect == "postgres":
            parameters[self.position] = list(values)
        else:
            parameters[self.position] = orjson.dumps(list(values)).decode()
        return parameters

    def rows(self, found: Sequence[Any]) -> list[Row]:
        """The driver's rows (sqlite3 rows, asyncpg records) as ``.values()`` dicts."""
        if not found:
            return []
        names = tuple(found[0].keys())
        build = self.builders.get(names)
        if build is None:
            build = _row_builder(names, self.lookups, self.converters)
            self.builders[names] = build
        return build(found)


def _row_builder(
    names: tuple[str, ...],
    lookups: tuple[tuple[str, dict[Any, Any], Callable[[Any], Any]], ...],
    converters: tuple[tuple[str, Callable[[Any], Any]], ...],
) -> Callable[[Sequence[Any]], list[Row]]:
    """A function making the dicts of rows with these columns, generated: a dict
    display per row costs about half of ``dict(zip(names, row))``."""
    if any(name not in names for name, *_ in (*lookups, *converters)):
        raise LookupError(f"the statement did not select {names}")
    env: dict[str, Any] = {}
    looked_up = {name: (lookup, convert) for name, lookup, convert in lookups}
    converted = dict(converters)
    items = []
    for i, name in enumerate(names):
        if name in looked_up:
            env[f"l{i}"], env[f"c{i}"] = looked_up[name]
            # The member by stored value, else what the field makes of it.
            value = f"(m if (m := l{i}.get(x := r[{i}])) is not None else c{i}(x))"
        elif name in converted:
            env[f"c{i}"] = converted[name]
            value = f"c{i}(r[{i}])"
        else:
            value = f"r[{i}]"
        items.append(f"{name!r}: {value}")
    source = f"def build(found):\n    return [{{{', '.join(items)}}} for r in found]\n"
    exec(compile(source, "<yunshang rows>", "exec"), env)
    build: Callable[[Sequence[Any]], list[Row]] = env["build"]
    return build


_STATEMENTS: dict[tuple[Any, ...], _Statement] = {}


def _db(model: type[Model]) -> Any:
    """The connection a read of ``model`` uses now, as a queryset would choose it
    (the transaction's, inside one)."""
    return router.db_for_read(model) or model._meta.db


def _statement(
    context: Context, db: Any, model: type[Model], key: str, order: str | None
) -> _Statement | None:
    """The statement for rows of ``model`` by ``key``: kept when the model's scope
    does not depend on the caller, else built for this caller; ``None`` when the
    built statement is not of the expected shape."""
    scope = SCOPES.get(model)
    cache_key = (model, key, order, db.capabilities.dialect)
    found = _STATEMENTS.get(cache_key)
    # Kept only while the model's scope and columns are those it was built for.
    if found is not None and found.scope is scope and found.columns is columns(model):
        return found
    public = is_public(model)
    queryset = visible(model, context.caller).filter(**{f"{key}__in": [_MARK]})
    if order is not None:
        queryset = queryset.order_by(order)
    statement = _build(queryset, model)
    if public and statement is not None:
        statement.scope = scope
        _STATEMENTS[cache_key] = statement
    return statement


def _build(queryset: Any, model: type[Model]) -> _Statement | None:
    query = queryset.values(*columns(model))
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, parameters = query.query.get_parameterized_sql()
    parameters = list(parameters)
    rewritten = _one_parameter(sql, parameters, [], query._db.capabilities.dialect)
    if rewritten is None:
        return None
    statement = _build_converters(query, model)
    statement.sql = rewritten
    statement.parameters = parameters
    statement.position = parameters.index(_MARK_BOUND)
    return statement


def _build_converters(query: Any, model: type[Model]) -> _Statement:
    """A statement (its SQL still to set) converting the columns of ``query``'s
    rows as ``.values()`` would."""
    converters: list[tuple[str, Callable[[Any], Any]]] = []
    lookups: list[tuple[str, dict[Any, Any], Callable[[Any], Any]]] = []
    for name in columns(model):
        convert = query.resolve_to_python_value(model, name)
        if isinstance(convert, types.LambdaType):
            continue  # as ``.values()``: what the driver gives is kept
        lookup = _enum_lookup(model, name, convert)
        if lookup is not None:
            lookups.append((name, lookup, convert))
        else:
            converters.append((name, convert))
    return _Statement(
        "",
        [],
        -1,
        query._db.capabilities.dialect,
        tuple(converters),
        tuple(lookups),
        columns(model),
    )


def _enum_lookup(
    model: type[Model], name: str, convert: Callable[[Any], Any]
) -> dict[Any, Any] | None:
    """For an enum column, its members by stored value: looking a member up gives
    what calling the enum on that value does, for every value the enum has (any
    other value still goes through ``convert``, and fails as it did)."""
    field = model._meta.fields_map.get(name)
    if not isinstance(field, CharEnumFieldInstance | IntEnumFieldInstance):
        return None
    function = getattr(convert, "__func__", None)
    if function not in (
        CharEnumFieldInstance.to_python_value,
        IntEnumFieldInstance.to_python_value,
    ):
        return None
    return {member.value: member for member in field.enum_type}


def _one_parameter(
    sql: str, parameters: list[Any], values: Sequence[Any], dialect: str
) -> str | None:
    """``sql`` with its ``IN (<the stand-in>)`` taking the whole list as one
    parameter (``parameters`` updated in place: ``values``, or, when empty, a
    stand-in for the bound list), or ``None`` if it is not there."""
    if parameters.count(_MARK) != 1:
        return None
    position = parameters.index(_MARK)
    if dialect == "postgres":
        placeholder = f"IN (${position + 1})"
        if sql.count(placeholder) != 1:
            return None
        parameters[position] = list(values) if values else _MARK_BOUND
        return sql.replace(placeholder, f"= ANY(${position + 1})")
    parts = sql.split("?")
    if len(parts) != len(parameters) + 1:
        return None
    before, after = parts[position], parts[position + 1]
    if not before.endswith("IN (") or not after.startswith(")"):
        return None
    parts[position] = before + "SELECT value FROM json_each("
    parts[position + 1] = ")" + after
    parameters[position] = (
        orjson.dumps(list(values)).decode() if values else _MARK_BOUND
    )
    return "?".join(parts)


# A stand-in value, replaced by the whole list once the statement is built.
_MARK = -918_273_645
# Where the whole list goes in a kept statement's parameters.
_MARK_BOUND = -918_273_646


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
    ``IN (SELECT value FROM json_each(?))`` on SQLite). It goes to the driver
    through the client's ``execute_query`` (what Tortoise's own reads log and go
    through), and the rows come back as ``.values()`` would give them.
    """
    if not values:
        return []
    db = _db(model)
    statement = _statement(context, db, model, key, order)
    if statement is None:
        # Not the statement shape expected: build it the usual way.
        found: list[Row] = await (
            visible(model, context.caller)
            .filter(**{f"{key}__in": list(values)})
            .order_by(*([order] if order else []))
            .values(*columns(model))
        )
        return found
    _, raw = await db.execute_query(statement.sql, statement.bind(values))
    return statement.rows(raw)
