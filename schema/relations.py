"""Relations between types, declared once, loaded one statement per level.

A relation field (``OrgUnit.children``, ``Estate.buildings``, ``RoleAssignment.unit``)
is declared with ``related(...)``: the model it reads, the column that links it,
and the rule that guards it. It needs no resolver of its own.

When a root field returns rows, ``prefetch`` looks ahead at the query's selection:
for each relation it asks for, it loads the related rows of *all* the parent rows in
one statement, through the same row scoping as every read, and files each group on
its parent row; then it descends into the related rows' own selection. The
relation's resolver then only reads what was filed. Where nothing was filed (a row
reached in a way the look-ahead did not follow), the resolver falls back to a
dataloader, still one statement per level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from tortoise.models import Model

from permissions.rules import Rule
from permissions.scope import visible
from resolvers.context import Context
from resolvers.loaders import by_id, children_of, first_rows_of, rows_in
from resolvers.pagination import MAX_PAGE, connection, paginate

__all__ = [
    "PAGE",
    "RELATION",
    "Page",
    "Relation",
    "page_of",
    "paged",
    "prefetch",
    "related",
    "resolve_relation",
]

RELATION = "yunshang.relation"
PAGE = "yunshang.page"
Row = dict[str, Any]


@dataclass(frozen=True)
class Relation:
    """``many``: rows of ``model`` whose ``key`` equals the parent's ``source``;
    otherwise the one row of ``model`` whose id is the parent's ``source``."""

    model: type[Model]
    key: str = "id"
    source: str = "id"
    many: bool = True
    order: str = "id"
    # Where the loaded rows are filed on a parent row.
    slot: str = field(init=False)

    def __post_init__(self) -> None:
        slot = f"__{self.model.__name__}_{self.key}_{self.source}"
        object.__setattr__(self, "slot", slot)


@dataclass(frozen=True)
class Page:
    """A connection of the rows of ``model`` whose ``key`` is the parent's
    ``source``, ``first`` at a time by ``order``."""

    model: type[Model]
    key: str
    source: str = "id"
    order: str = "id"

    def slot(self, first: int) -> str:
        return f"__{self.model.__name__}_{self.key}_page_{first}"


def paged(rule: Rule, description: str, declared: Page) -> Any:
    """Declare a connection field whose resolver calls ``page_of``."""
    import strawberry

    from schema.base import RULE

    return strawberry.field(
        description=description, metadata={RULE: rule, PAGE: declared}
    )


async def page_of(
    context: Context,
    declared: Page,
    parent: Mapping[str, Any],
    first: int,
    after: str | None,
) -> dict[str, Any]:
    """The parent's page: what the look-ahead filed, else one statement for it."""
    if after is None:
        filed = parent.get(declared.slot(first))
        if filed is not None:
            result: dict[str, Any] = filed
            return result
    queryset = visible(declared.model, context.caller).filter(
        **{declared.key: parent[declared.source]}
    )
    return await paginate(queryset, first, after)


async def _load_pages(
    context: Context, declared: Page, rows: Sequence[Row], first: int
) -> None:
    """File the first page of every row in ``rows``, in one statement."""
    values = list({row[declared.source] for row in rows} - {None})
    grouped = await first_rows_of(
        context, declared.model, declared.key, values, first, declared.order
    )
    for row in rows:
        value = row[declared.source]
        count = (
            visible(declared.model, context.caller)
            .filter(**{declared.key: value})
            .count
        )
        row[declared.slot(first)] = connection(
            grouped.get(value, []), first, None, count
        )


def related(
    rule: Rule,
    description: str,
    model: type[Model],
    *,
    key: str = "id",
    source: str = "id",
    many: bool = True,
    order: str = "id",
) -> Any:
    import strawberry

    from schema.base import RULE

    declared = Relation(model, key, source, many, order)
    return strawberry.field(
        description=description, metadata={RULE: rule, RELATION: declared}
    )


_MISSING = object()


def resolve_relation(declared: Relation, source: Row, context: Context) -> Any:
    """What was filed by the look-ahead, else a batched load."""
    filed = source.get(declared.slot, _MISSING)
    if filed is not _MISSING:
        return filed
    value = source[declared.source]
    if declared.many:
        return children_of(context, declared.model, declared.key, declared.order).load(
            value
        )
    if value is None:
        return None
    return by_id(context, declared.model).load(value)


async def _load(context: Context, declared: Relation, rows: Sequence[Row]) -> list[Row]:
    """File the related rows of every row in ``rows`` in one statement; returns
    the rows loaded (each filed on at least one of ``rows``)."""
    values = list({row[declared.source] for row in rows} - {None})
    if declared.many:
        found = await rows_in(
            context, declared.model, declared.key, values, declared.order
        )
        grouped: dict[Any, list[Row]] = defaultdict(list)
        key = declared.key
        for item in found:
            grouped[item[key]].append(item)
        slot, source = declared.slot, declared.source
        for row in rows:
            row[slot] = grouped.get(row[source], [])
        return found

    found = await rows_in(context, declared.model, "id", values)
    index = {item["id"]: item for item in found}
    for row in rows:
        row[declared.slot] = index.get(row[declared.source])
    return found


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
) -> Iterable[FieldNode]:
    """The fields of a selection set, fragments expanded (``@skip`` is not read:
    a field loaded and then skipped costs a statement, never a wrong answer)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments)


@dataclass
class Lookahead:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    relations: dict[tuple[str, str], Relation | Page]
    context: Context
    variables: dict[str, Any]

    async def rows(
        self, type_name: str, rows: list[Row], selections: Iterable[FieldNode]
    ) -> None:
        """Load every relation ``selections`` ask for on ``rows`` of ``type_name``."""
        if not rows:
            return
        object_type = self.schema.type_map.get(type_name)
        if not isinstance(object_type, GraphQLObjectType):
            return
        for node in selections:
            name = node.name.value
            declared = self.relations.get((type_name, name))
            if isinstance(declared, Page):
                await self._pages(declared, object_type, rows, node)
                continue
            if declared is None or node.arguments:
                continue
            slot = declared.slot
            if any(slot not in row for row in rows):
                related = await _load(self.context, declared, rows)
            else:
                related = _flatten(row[slot] for row in rows)
            target = get_named_type(object_type.fields[name].type).name
            await self.rows(
                target, related, _fields(node.selection_set, self.fragments)
            )

    async def _connection_nodes(
        self, connection_type: str, nodes: list[Row], node: FieldNode
    ) -> None:
        """Descend from the nodes of connections into ``edges { node { ... } }``."""
        node_type = _connection_node_type(self.schema, connection_type)
        if node_type is None:
            return
        inner = [
            field
            for edges in _fields(node.selection_set, self.fragments)
            if edges.name.value == "edges"
            for node_field in _fields(edges.selection_set, self.fragments)
            if node_field.name.value == "node"
            for field in _fields(node_field.selection_set, self.fragments)
        ]
        await self.rows(node_type, nodes, inner)

    async def _pages(
        self,
        declared: Page,
        object_type: GraphQLObjectType,
        rows: list[Row],
        node: FieldNode,
    ) -> None:
        """First pages of a connection for every parent; later pages go one by one."""
        arguments = {a.name.value: a.value for a in node.arguments or ()}
        after = arguments.pop("after", None)
        if after is not None and not isinstance(after, NullValueNode):
            return
        first = self._first(arguments.pop("first", None), object_type, node)
        if arguments or first is None or not 1 <= first <= MAX_PAGE:
            return
        if any(declared.slot(first) not in row for row in rows):
            await _load_pages(self.context, declared, rows, first)
        field_type = object_type.fields[node.name.value].type
        connection_type = get_named_type(field_type).name
        slot = declared.slot(first)
        nodes = [edge["node"] for row in rows for edge in row[slot]["edges"]]
        await self._connection_nodes(connection_type, nodes, node)

    def _first(
        self, value: Any, object_type: GraphQLObjectType, node: FieldNode
    ) -> int | None:
        """The page size asked for: a literal, a variable, or the default."""
        if value is None:
            argument = object_type.fields[node.name.value].args.get("first")
            default = argument.default_value if argument is not None else None
            return default if isinstance(default, int) else None
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            return given if isinstance(given, int) else None
        return None

    async def result(self, type_name: str, value: Any, node: FieldNode) -> None:
        """Follow a root field's result: a row, a list, or a connection of rows."""
        selections = list(_fields(node.selection_set, self.fragments))
        if isinstance(value, list):
            await self.rows(
                type_name, [v for v in value if isinstance(v, dict)], selections
            )
        elif isinstance(value, dict) and "edges" in value and "page_info" in value:
            nodes = [edge["node"] for edge in value["edges"]]
            await self._connection_nodes(type_name, nodes, node)
        elif isinstance(value, dict):
            actual = value.get("__typename", type_name)
            await self.rows(str(actual), [value], selections)


def _flatten(groups: Iterable[Any]) -> list[Row]:
    flat: list[Row] = []
    for group in groups:
        if isinstance(group, list):
            flat.extend(group)
        elif isinstance(group, dict):
            flat.append(group)
    return flat


def _connection_node_type(schema: GraphQLSchema, connection: str) -> str | None:
    connection_type = schema.type_map.get(connection)
    if not isinstance(connection_type, GraphQLObjectType):
        return None
    edges = connection_type.fields.get("edges")
    if edges is None:
        return None
    edge_type = get_named_type(edges.type)
    if not isinstance(edge_type, GraphQLObjectType) or "node" not in edge_type.fields:
        return None
    return str(get_named_type(edge_type.fields["node"].type).name)


async def prefetch(
    relations: dict[tuple[str, str], Relation | Page],
    info: Any,
    value: Any,
) -> Any:
    """Look ahead from a root field's result; returns the result unchanged."""
    if value is None:
        return value
    lookahead = Lookahead(
        schema=info.schema,
        fragments=info.fragments,
        relations=relations,
        context=info.context,
        variables=dict(info.variable_values or {}),
    )
    type_name = get_named_type(info.return_type).name
    for node in info.field_nodes:
        await lookahead.result(type_name, value, node)
    return value
