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

An object whose every field goes the short way is completed by a function
generated for its selection (``_generate``): one statement per field, the key
read straight from the row where governance says the field only reads a key,
and the standard scalars checked inline, so that a leaf costs a dictionary
lookup and a type test rather than three calls. The functions are kept across
operations, keyed by what they do (the signature of the selection), so the same
document compiles once per worker.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
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

from schema.base import encode_id

__all__ = [
    "PLAIN",
    "PLAIN_ID",
    "PLAIN_KEY",
    "PLAIN_SLOT",
    "FastExecutionContext",
    "global_id",
]

# Set by ``schema.governance`` on resolvers that only read the row: the attribute
# holds ``read(source, context) -> value``; a relation's raises ``NotFiled`` when
# the look-ahead filed nothing on the row.
PLAIN = "__yunshang_plain__"
# Beside ``PLAIN``, what the read does when it is that simple, so that generated
# code can do it inline: the row's key it returns, the type whose global id it
# makes from the row's ``id``, or the slot where the look-ahead files a relation.
PLAIN_KEY = "__yunshang_plain_key__"
PLAIN_ID = "__yunshang_plain_id__"
PLAIN_SLOT = "__yunshang_plain_slot__"


# ``encode_id`` of the ids a worker shows most, kept (a list screen shows the same
# rows again and again; base64 costs more than the lookup).
global_id = lru_cache(maxsize=16384, typed=True)(encode_id)


class NotFiled(Exception):
    """The short way cannot complete this field: take the normal one."""


Read = Callable[[Any, Any], Any]
# A step completes one field of a row: ``step(row, context) -> value``, or raises
# ``NotFiled``; ``None`` in a plan marks a field that only the normal path can do.
Step = Callable[[Any, Any], Any]
Complete = Callable[[Any, Any], dict[str, Any]]
# What a field of a plan does, as a hashable tuple (see ``_generate``): the
# signature of an object's selection is the tuple of its fields' signatures.
Signature = tuple[Any, ...]
Plan = tuple[tuple[str, Step | None], ...]

_MAX_INT = 2**31 - 1
_MIN_INT = -(2**31)


def _shape(leaf: GraphQLScalarType | GraphQLEnumType) -> str:
    """Which inline shortcut serialises values of ``leaf``, where the value already
    is what ``serialize`` would return."""
    if isinstance(leaf, GraphQLEnumType):
        return "enum"
    serialize = leaf.serialize
    if serialize is serialize_string or serialize is serialize_id:
        return "str"
    if serialize is serialize_int:
        return "int"
    if serialize is serialize_boolean:
        return "bool"
    return "other"


def _enum_names(leaf: GraphQLEnumType) -> dict[Any, str]:
    # A null is never looked up: it is completed as a null before serialising.
    return {v.value: name for name, v in leaf.values.items() if v.value is not None}


def _serializer(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The type's own ``serialize``, with a shortcut where the value already is what
    it would return (a ``str`` for String and ID, an ``int`` in range for Int, a
    ``bool`` for Boolean, an enum member for an enum)."""
    serialize = leaf.serialize
    shape = _shape(leaf)
    if isinstance(leaf, GraphQLEnumType):
        names = _enum_names(leaf)

        def enum(value: Any) -> Any:
            name = names.get(value)
            return name if name is not None else serialize(value)

        return enum
    if shape == "str":
        return lambda value: value if type(value) is str else serialize(value)
    if shape == "int":
        return lambda value: (
            value
            if type(value) is int and _MIN_INT <= value <= _MAX_INT
            else serialize(value)
        )
    if shape == "bool":
        return lambda value: value if type(value) is bool else serialize(value)
    return serialize


def _finish(serialize: Callable[[Any], Any], non_null: bool) -> Callable[[Any], Any]:
    """A leaf's raw value completed the long way: a null, or ``serialize``."""

    def finish(raw: Any) -> Any:
        if raw is None:
            if non_null:
                raise NotFiled
            return None
        value = serialize(raw)
        if value is None:
            raise NotFiled
        return value

    return finish


def _leaf(read: Read, serialize: Callable[[Any], Any], non_null: bool) -> Step:
    finish = _finish(serialize, non_null)

    def step(row: Any, context: Any) -> Any:
        return finish(read(row, context))

    return step


def _one(read: Read, complete: Complete, non_null: bool) -> Step:
    def step(row: Any, context: Any) -> Any:
        found = read(row, context)
        if found is None:
            if non_null:
                raise NotFiled
            return None
        return complete(found, context)

    return step


def _many(read: Read, complete: Complete, non_null: bool, items_non_null: bool) -> Step:
    def step(row: Any, context: Any) -> Any:
        found = read(row, context)
        if found is None:
            if non_null:
                raise NotFiled
            return None
        if type(found) is not list:
            raise NotFiled
        if items_non_null:
            return [complete(item, context) for item in found]
        return [None if item is None else complete(item, context) for item in found]

    return step


def _typename(name: str) -> Step:
    return lambda row, context: name


# -- generated completion of whole objects ------------------------------------------

# Signatures of fields, by their first item:
#   ("typename", response name, type name)
#   ("leaf", response name, read, leaf type, non-null)
#   ("many", response name, read, item signature, non-null, items non-null)
#   ("one", response name, read, object signature, non-null)
_COMPILED: dict[Signature, Complete] = {}
# Generated functions hold their schema's resolvers; tests build many schemas.
_MAX_COMPILED = 2048

_INLINE_CHECKS = {
    "str": "type({v}) is not str",
    "bool": "type({v}) is not bool",
    "int": f"type({{v}}) is not int or not {_MIN_INT} <= {{v}} <= {_MAX_INT}",
}


def compiled(signature: Signature) -> Complete:
    """The function completing a row for this signature, generated once."""
    found = _COMPILED.get(signature)
    if found is None:
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
        found = _generate(signature)
        _COMPILED[signature] = found
    return found


def _read_expression(read: Read, slot_kind: str, env: dict[str, Any], i: int) -> str:
    """The source of an expression reading the field's raw value from ``row``."""
    key = getattr(read, PLAIN_KEY, None)
    if key is not None and slot_kind == "leaf":
        return f"row[{key!r}]"
    type_name = getattr(read, PLAIN_ID, None)
    if type_name is not None and slot_kind == "leaf":
        env[f"T{i}"] = type_name
        return f"encode_id(T{i}, row['id'])"
    slot = getattr(read, PLAIN_SLOT, None)
    if slot is not None and slot_kind == "relation":
        # A row the look-ahead did not file raises KeyError: the normal way.
        return f"row[{slot!r}]"
    env[f"r{i}"] = read
    return f"r{i}(row, context)"


def _generate(signature: Signature) -> Complete:
    env: dict[str, Any] = {"NotFiled": NotFiled, "encode_id": global_id}
    lines = ["def complete(row, context):"]
    lines.append("    if type(row) is not dict:")
    lines.append("        raise NotFiled")
    results: list[str] = []
    for i, field in enumerate(signature):
        kind, name = field[0], field[1]
        v = f"v{i}"
        results.append(f"{name!r}: {v}")
        if kind == "typename":
            env[f"t{i}"] = field[2]
            lines.append(f"    {v} = t{i}")
            continue
        if kind == "leaf":
            _, _, read, leaf, non_null = field
            lines.append(f"    {v} = {_read_expression(read, 'leaf', env, i)}")
            env[f"f{i}"] = _finish(leaf.serialize, non_null)
            shape = _shape(leaf)
            if shape == "enum":
                env[f"n{i}"] = _enum_names(leaf)
                lines.append(f"    e{i} = n{i}.get({v})")
                lines.append(f"    {v} = e{i} if e{i} is not None else f{i}({v})")
            elif shape in _INLINE_CHECKS:
                lines.append(f"    if {_INLINE_CHECKS[shape].format(v=v)}:")
                lines.append(f"        {v} = f{i}({v})")
            else:
                lines.append(f"    {v} = f{i}({v})")
            continue
        read, sub, non_null = field[2], field[3], field[4]
        env[f"c{i}"] = compiled(sub)
        lines.append(f"    {v} = {_read_expression(read, 'relation', env, i)}")
        lines.append(f"    if {v} is None:")
        lines.append("        raise NotFiled" if non_null else "        pass")
        if kind == "one":
            lines.append("    else:")
            lines.append(f"        {v} = c{i}({v}, context)")
            continue
        items_non_null = field[5]
        lines.append(f"    elif type({v}) is not list:")
        lines.append("        raise NotFiled")
        lines.append("    else:")
        if items_non_null:
            lines.append(f"        {v} = [c{i}(item, context) for item in {v}]")
        else:
            lines.append(
                f"        {v} = [None if item is None else c{i}(item, context)"
                f" for item in {v}]"
            )
    lines.append("    return {" + ", ".join(results) + "}")
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<yunshang completion>", "exec"), env)
    complete: Complete = env["complete"]
    return complete


# Plans of documents that use no directive, kept across operations: what fields
# such a selection collects depends on the document and the schema alone, not on
# the variables. Keyed by the identities of the parent type and the field nodes,
# which the entry keeps alive (a document the parser cache let go is not reused).
_SHARED_PLANS: dict[tuple[Any, ...], tuple[Any, Plan, Signature | None]] = {}
_MAX_SHARED_PLANS = 1024
# Whether an operation's document uses no directive, by the operation's identity.
_STATIC: dict[int, tuple[Any, bool]] = {}


def _uses_directives(selection_set: Any) -> bool:
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if selection.directives:
            return True
        if _uses_directives(getattr(selection, "selection_set", None)):
            return True
    return False


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed by the identity of the grouped field set, kept alive beside it.
        self._plans: dict[int, tuple[Any, Plan, Signature | None]] = {}
        self._static: bool | None = None

    # -- plans ---------------------------------------------------------------------

    def _is_static(self) -> bool:
        """Whether the operation's document uses no directive at all."""
        if self._static is None:
            operation = self.operation
            known = _STATIC.get(id(operation))
            if known is not None and known[0] is operation:
                self._static = known[1]
            else:
                # Fragments with variables (an experimental syntax) are not static.
                static = not operation.directives and not any(
                    details.variable_signatures
                    or details.definition.directives
                    or _uses_directives(details.definition.selection_set)
                    for details in self.fragments.values()
                )
                static = static and not _uses_directives(operation.selection_set)
                if len(_STATIC) >= _MAX_SHARED_PLANS:
                    _STATIC.clear()
                _STATIC[id(operation)] = (operation, static)
                self._static = static
        return self._static

    def _plan(
        self, parent_type: GraphQLObjectType, grouped: Any
    ) -> tuple[Plan, Signature | None]:
        """The steps of a selection, and its signature when every field has one."""
        cached = self._plans.get(id(grouped))
        if cached is not None and cached[0] is grouped:
            return cached[1], cached[2]
        if not self._is_static():
            return self._new_plan(parent_type, grouped)
        nodes = tuple(detail.node for details in grouped.values() for detail in details)
        shared_key = (id(parent_type), *map(id, nodes))
        shared = _SHARED_PLANS.get(shared_key)
        if shared is None:
            plan, signature = self._new_plan(parent_type, grouped)
            if len(_SHARED_PLANS) >= _MAX_SHARED_PLANS:
                _SHARED_PLANS.clear()
            _SHARED_PLANS[shared_key] = ((parent_type, nodes), plan, signature)
            return plan, signature
        self._plans[id(grouped)] = (grouped, shared[1], shared[2])
        return shared[1], shared[2]

    def _new_plan(
        self, parent_type: GraphQLObjectType, grouped: Any
    ) -> tuple[Plan, Signature | None]:
        steps: list[tuple[str, Step | None]] = []
        signatures: list[Signature] = []
        complete = True
        for name, details in grouped.items():
            found = self._step(parent_type, name, details)
            if found is None:
                steps.append((name, None))
                complete = False
            else:
                steps.append((name, found[0]))
                signatures.append(found[1])
        plan = tuple(steps)
        signature = tuple(signatures) if complete else None
        self._plans[id(grouped)] = (grouped, plan, signature)
        return plan, signature

    def _step(
        self, parent_type: GraphQLObjectType, name: str, details: Any
    ) -> tuple[Step, Signature] | None:
        node = details[0].node
        if node.arguments or node.directives or len(details) != 1:
            return None
        if node.name.value == "__typename":
            return _typename(parent_type.name), ("typename", name, parent_type.name)
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
            step = _leaf(read, _serializer(inner), non_null)
            return step, ("leaf", name, read, inner, non_null)
        if isinstance(inner, GraphQLObjectType):
            sub = self._sub_signature(inner, details)
            if sub is None:
                return None
            return _one(read, compiled(sub), non_null), (
                "one",
                name,
                read,
                sub,
                non_null,
            )
        if isinstance(inner, GraphQLList):
            item = inner.of_type
            items_non_null = isinstance(item, GraphQLNonNull)
            item = item.of_type if items_non_null else item
            if isinstance(item, GraphQLObjectType):
                sub = self._sub_signature(item, details)
                if sub is not None:
                    step = _many(read, compiled(sub), non_null, items_non_null)
                    return step, ("many", name, read, sub, non_null, items_non_null)
        return None

    def _sub_signature(
        self, object_type: GraphQLObjectType, details: Any
    ) -> Signature | None:
        """The signature of an object's selection, if every field of it can go
        short."""
        if object_type.is_type_of is not None:
            return None
        grouped, defer_usages, _ = self.collect_subfields(object_type, details)
        if defer_usages:
            return None
        return self._plan(object_type, grouped)[1]

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

        plan, _ = self._plan(parent_type, grouped_field_set)
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
