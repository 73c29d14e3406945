"""A faster completion of plain leaves, producing exactly the normal response.

graphql-core completes every field the same way: a ``ResolveInfo`` and a ``Path``
are built, the resolver is called, and the value is completed by its type. For a
leaf that only reads a key of a row (most fields of a list), that machinery costs
several times the read. This executor completes such leaves in one step: it reads
the value through the same function governance installed (rule and mask
included) and serialises it with the leaf type's own ``serialize``.

A field takes the short way only when nothing could make the normal path differ:
it is a leaf (scalar or enum) whose resolver governance marked as plain, the field
has no arguments and no directives, and no middleware is installed. Whenever the
short way would produce null for a non-null field, or meets any exception, the
field goes the normal way instead, so errors are reported exactly as before.
``Limits(fast_execution=False)`` turns it off; the test suite runs both ways.
"""

from __future__ import annotations

from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["PLAIN", "FastExecutionContext"]

# Set by ``schema.governance`` on resolvers that only read a row: the attribute
# holds ``read(source, context) -> value``.
PLAIN = "__yunshang_plain__"
_SLOW = object()


def _plan(parent_type: GraphQLObjectType, grouped: Any) -> list[Any]:
    """Per response name: ``(read, leaf type, non-null)`` or ``None`` (normal path)."""
    plan: list[Any] = []
    for field_details_list in grouped.values():
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        read = getattr(field_def.resolve, PLAIN, None) if field_def else None
        if (
            read is None
            or node.arguments
            or node.directives
            or len(field_details_list) != 1
        ):
            plan.append(None)
            continue
        assert field_def is not None
        field_type = field_def.type
        non_null = isinstance(field_type, GraphQLNonNull)
        leaf = field_type.of_type if non_null else field_type
        if isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
            plan.append((read, leaf.serialize, non_null))
        else:
            plan.append(None)
    return plan


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[str, int], tuple[Any, list[Any]]] = {}

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

        # Keep the grouped set alive beside its plan, so its id is never reused.
        key = (parent_type.name, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is None or cached[0] is not grouped_field_set:
            cached = (grouped_field_set, _plan(parent_type, grouped_field_set))
            self._plans[key] = cached
        plan = cached[1]
        if not any(plan):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )

        context = self.context_value
        slow: dict[str, Any] = {}
        results: dict[str, Any] = {}
        for step, (name, details) in zip(plan, grouped_field_set.items(), strict=True):
            value: Any = _SLOW
            if step is not None:
                read, serialize, non_null = step
                try:
                    raw = read(source_value, context)
                    if raw is None:
                        value = _SLOW if non_null else None
                    else:
                        value = serialize(raw)
                        if value is None:
                            value = _SLOW
                except Exception:
                    value = _SLOW
            if value is _SLOW:
                slow[name] = details
                results[name] = None
            else:
                results[name] = value

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
