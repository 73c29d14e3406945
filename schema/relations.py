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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from tortoise.models import Model

from permissions.rules import Rule
from permissions.scope import visible
from resolvers.context import Context
from resolvers.loaders import by_id, children_of, columns

__all__ = ["RELATION", "Relation", "prefetch", "related", "resolve_relation"]

RELATION = "yunshang.relation"
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

    @property
    def slot(self) -> str:
        """Where the loaded rows are filed on a parent row."""
        return f"__{self.model.__name__}_{self.key}_{self.source}"


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


async def _load(context: Context, declared: Relation, rows: Sequence[Row]) -> None:
    """File the related rows of every row in ``rows`` in one statement."""
    values = {row[declared.source] for row in rows} - {None}
    queryset = visible(declared.model, context.caller)
    if declared.many:
        found = await (
            queryset.filter(**{f"{declared.key}__in": list(values)})
            .order_by(declared.order)
            .values(*columns(declared.model))
        )
        grouped: dict[Any, list[Row]] = defaultdict(list)
        for item in found:
            grouped[item[declared.key]].append(item)
        for row in rows:
            row[declared.slot] = grouped.get(row[declared.source], [])
        return

    found = await queryset.filter(id__in=list(values)).values(*columns(declared.model))
    index = {item["id"]: item for item in found}
    for row in rows:
        row[declared.slot] = index.get(row[declared.source])


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
    relations: dict[tuple[str, str], Relation]
    context: Context

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
            if declared is None or node.arguments:
                continue
            if any(declared.slot not in row for row in rows):
                await _load(self.context, declared, rows)
            related = _flatten(row[declared.slot] for row in rows)
            target = get_named_type(object_type.fields[name].type).name
            await self.rows(
                target, related, _fields(node.selection_set, self.fragments)
            )

    async def result(self, type_name: str, value: Any, node: FieldNode) -> None:
        """Follow a root field's result: a row, a list, or a connection of rows."""
        selections = list(_fields(node.selection_set, self.fragments))
        if isinstance(value, list):
            await self.rows(
                type_name, [v for v in value if isinstance(v, dict)], selections
            )
        elif isinstance(value, dict) and "edges" in value and "page_info" in value:
            node_type = _connection_node_type(self.schema, type_name)
            nodes = [edge["node"] for edge in value["edges"]]
            inner = [
                n
                for edges in selections
                if edges.name.value == "edges"
                for node_field in _fields(edges.selection_set, self.fragments)
                if node_field.name.value == "node"
                for n in _fields(node_field.selection_set, self.fragments)
            ]
            if node_type is not None:
                await self.rows(node_type, nodes, inner)
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
    relations: dict[tuple[str, str], Relation],
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
    )
    type_name = get_named_type(info.return_type).name
    for node in info.field_nodes:
        await lookahead.result(type_name, value, node)
    return value
