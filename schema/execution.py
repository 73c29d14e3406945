"""A faster completion of plain fields, producing exactly the normal response.

graphql-core completes every field the same way: a ``ResolveInfo`` and a ``Path``
are built, the resolver is called, the value is completed by its type, and an
object's fields are collected and executed in turn. For the fields of a list screen
(leaves that read a key of a row, relations whose rows the look-ahead already
filed) that machinery costs several times the work itself.

This executor compiles, once per operation and selection, a plan of such fields,
and completes them in one pass: a leaf is read through the function governance
installed (its rule and mask included) and serialised by its type's own
``serialize``; a relation's filed rows are completed by the plan of their own
selection. A field takes the short way only when nothing could make the normal
path differ: its resolver is marked plain, it has no arguments and no directives,
its type is a leaf, an object type, or a list of either, no ``@defer`` is under it,
and no middleware is installed. Whenever the short way would meet a null in a
non-null place, rows that were not filed, or any exception, that field goes the
normal way instead, so errors are reported exactly as before.
``Limits(fast_execution=False)`` turns it off; the suite runs both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.pyutils import Path
from graphql.type.scalars import (
    serialize_boolean,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["PLAIN", "FastExecutionContext", "NotFiled"]

# Set by ``schema.governance`` on resolvers that only read the row: the attribute
# holds ``read(source, context) -> value``; a relation's raises ``NotFiled`` when
# the look-ahead filed nothing on the row.
PLAIN = "__yunshang_plain__"


class NotFiled(Exception):
    """The short way cannot complete this field: take the normal one."""


Read = Callable[[Any, Any], Any]
# A step completes one field of a row: ``step(row, context) -> value``, or raises
# ``NotFiled``; ``None`` in a plan marks a field that only the normal path can do.
Step = Callable[[Any, Any], Any]
Plan = tuple[tuple[str, Step | None], ...]

_MAX_INT = 2**31 - 1


def _serializer(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The type's own ``serialize``, with a shortcut where the value already is what
    it would return (a ``str`` for String and ID, an ``int`` in range for Int, a
    ``bool`` for Boolean, an enum member for an enum)."""
    serialize = leaf.serialize
    if isinstance(leaf, GraphQLEnumType):
        names = {value.value: name for name, value in leaf.values.items()}

        def enum(value: Any) -> Any:
            name = names.get(value)
            return name if name is not None else serialize(value)

        return enum
    if serialize is serialize_string or serialize is serialize_id:
        return lambda value: value if type(value) is str else serialize(value)
    if serialize is serialize_int:
        return lambda value: (
            value
            if type(value) is int and -_MAX_INT - 1 <= value <= _MAX_INT
            else serialize(value)
        )
    if serialize is serialize_boolean:
        return lambda value: value if type(value) is bool else serialize(value)
    return serialize


def _leaf(read: Read, serialize: Callable[[Any], Any], non_null: bool) -> Step:
    def step(row: Any, context: Any) -> Any:
        raw = read(row, context)
        if raw is None:
            if non_null:
                raise NotFiled
            return None
        value = serialize(raw)
        if value is None:
            raise NotFiled
        return value

    return step


def _complete(plan: Plan, row: Any, context: Any) -> dict[str, Any]:
    if type(row) is not dict:
        raise NotFiled
    return {name: step(row, context) for name, step in plan}  # type: ignore[misc]


def _one(read: Read, plan: Plan, non_null: bool) -> Step:
    def step(row: Any, context: Any) -> Any:
        found = read(row, context)
        if found is None:
            if non_null:
                raise NotFiled
            return None
        return _complete(plan, found, context)

    return step


def _many(read: Read, plan: Plan, non_null: bool, items_non_null: bool) -> Step:
    def step(row: Any, context: Any) -> Any:
        found = read(row, context)
        if found is None:
            if non_null:
                raise NotFiled
            return None
        if type(found) is not list:
            raise NotFiled
        if items_non_null:
            return [_complete(plan, item, context) for item in found]
        return [
            None if item is None else _complete(plan, item, context) for item in found
        ]

    return step


def _typename(name: str) -> Step:
    return lambda row, context: name


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed by the identity of the grouped field set, kept alive beside it.
        self._plans: dict[int, tuple[Any, Plan]] = {}

    # -- plans ---------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, grouped: Any) -> Plan:
        cached = self._plans.get(id(grouped))
        if cached is not None and cached[0] is grouped:
            return cached[1]
        plan = tuple(
            (name, self._step(parent_type, details))
            for name, details in grouped.items()
        )
        self._plans[id(grouped)] = (grouped, plan)
        return plan

    def _step(self, parent_type: GraphQLObjectType, details: Any) -> Step | None:
        node = details[0].node
        if node.arguments or node.directives or len(details) != 1:
            return None
        if node.name.value == "__typename":
            return _typename(parent_type.name)
        field_def = parent_type.fields.get(node.name.value)
        read: Read | None = (
            getattr(field_def.resolve, PLAIN, None) if field_def else None
        )
        if field_def is None or read is None:
            return None

        field_type = field_def.type
        non_null = isinstance(field_type, GraphQLNonNull)
        inner = field_type.of_type if non_null else field_type
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            return _leaf(read, _serializer(inner), non_null)
        if isinstance(inner, GraphQLObjectType):
            sub = self._sub_plan(inner, details)
            return _one(read, sub, non_null) if sub is not None else None
        if isinstance(inner, GraphQLList):
            item = inner.of_type
            items_non_null = isinstance(item, GraphQLNonNull)
            item = item.of_type if items_non_null else item
            if isinstance(item, GraphQLObjectType):
                sub = self._sub_plan(item, details)
                if sub is not None:
                    return _many(read, sub, non_null, items_non_null)
        return None

    def _sub_plan(self, object_type: GraphQLObjectType, details: Any) -> Plan | None:
        """The plan of an object's selection, if every field of it can go short."""
        if object_type.is_type_of is not None:
            return None
        grouped, defer_usages, _ = self.collect_subfields(object_type, details)
        if defer_usages:
            return None
        plan = self._plan(object_type, grouped)
        return plan if all(step is not None for _, step in plan) else None

    # -- completion ------------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager
        if (manager is not None and manager.middlewares) or type(
            source_value
        ) is not dict:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )

        plan = self._plan(parent_type, grouped_field_set)
        context = self.context_value
        slow: dict[str, Any] = {}
        results: dict[str, Any] = {}
        for (name, step), details in zip(plan, grouped_field_set.values(), strict=True):
            if step is not None:
                try:
                    results[name] = step(source_value, context)
                    continue
                except Exception:  # the normal path reports it
                    pass
            slow[name] = details
            results[name] = None

        if not slow:
            return results
        rest = super().execute_fields(
            parent_type, source_value, path, slow, position_context
        )
        if self.is_awaitable(rest):

            async def merged() -> dict[str, Any]:
                return _merge(results, slow, await rest)

            return merged()
        return _merge(results, slow, cast(dict[str, Any], rest))


def _merge(
    results: dict[str, Any], slow: dict[str, Any], rest: dict[str, Any]
) -> dict[str, Any]:
    """The slow fields' values in their places; a field the normal path left out
    (not in the schema) is left out here too."""
    for name in slow:
        if name in rest:
            results[name] = rest[name]
        else:
            del results[name]
    return results
