"""Install every field's rule and a cheap resolver into the built schema.

Run once on the built schema. For each field of each object type it takes the
rule declared with ``schema.base.field`` (or the type's ``structural`` default) and:

- fails the build if a field has no rule, or if a field whose rule can refuse is
  non-null (a refused field reads as null, so it must be nullable);
- gives a plain field a resolver that reads the key from the row, checking the
  rule only when the rule is not ``VISIBLE``; rule decisions are settled once per
  operation and cached in the context, so a list pays a comparison per row at most;
- masks sensitive values for callers the rule refuses, and notes each reveal so
  one audit record per field and operation is written after execution;
- gives a relation (declared with ``schema.relations.related``) a resolver that
  reads what the look-ahead filed on the row, or batches a load;
- wraps root operations so a refused caller gets ``UNAUTHENTICATED`` or
  ``FORBIDDEN`` before the resolver runs, and so each read looks ahead from its
  result, loading every relation the query asks for one statement per level;
- appends "Readable by: ..." to each field's description, so the SDL says who may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_named_type,
)
from strawberry.types.base import StrawberryObjectDefinition

from permissions.errors import Forbidden, Unauthenticated
from permissions.rules import VISIBLE, Decision, Rule, Sensitive
from resolvers.context import Context
from resolvers.loaders import expose
from schema.base import RULE
from schema.execution import (
    PLAIN,
    PLAIN_ID,
    PLAIN_KEY,
    PLAIN_SLOT,
    NotFiled,
    global_id,
)
from schema.relations import (
    PAGE,
    RELATION,
    Page,
    Relation,
    prefetch,
    resolve_relation,
)

__all__ = ["SchemaRuleError", "govern"]

ROOTS = ("Query", "Mutation", "Subscription")
Resolver = Callable[..., Any]


class SchemaRuleError(TypeError):
    """A field of the schema has no rule, or a rule its type cannot honour."""


def decide(context: Context, rule: Rule) -> Decision:
    key = id(rule)
    decision = context.decisions.get(key)
    if decision is None:
        decision = rule.decide(context.caller)
        context.decisions[key] = decision
    return Decision(decision)


def _rule_of(definition: StrawberryObjectDefinition, field: Any) -> Rule | None:
    rule = field.metadata.get(RULE) if field.metadata else None
    if rule is None:
        origin = definition.origin
        rule = getattr(origin, "__field_rule__", None)
        if rule is None and definition.concrete_of is not None:
            rule = getattr(definition.concrete_of.origin, "__field_rule__", None)
    return rule


def _plain(read: Callable[[Any, Context], Any]) -> Resolver:
    """A resolver that only reads the row; the fast executor calls ``read`` itself."""

    def resolve(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
        return read(source, info.context)

    setattr(resolve, PLAIN, read)
    return resolve


def _row_getter(key: str) -> Resolver:
    def read(source: Any, context: Context) -> Any:
        if type(source) is dict:
            return source[key]
        return getattr(source, key)

    setattr(read, PLAIN_KEY, key)
    return _plain(read)


def _id_getter(type_name: str) -> Resolver:
    def read(source: Any, context: Context) -> Any:
        pk = source["id"] if type(source) is dict else source.id
        return global_id(type_name, pk)

    setattr(read, PLAIN_ID, type_name)
    return _plain(read)


def _guarded_getter(type_name: str, field_name: str, key: str, rule: Rule) -> Resolver:
    mask = rule.mask if isinstance(rule, Sensitive) else None
    sensitive = rule.sensitive

    def read(source: Any, context: Context) -> Any:
        decision = decide(context, rule)
        value = source[key] if type(source) is dict else getattr(source, key)
        allowed = decision == Decision.ALLOW or (
            decision == Decision.ROW and rule.allows(context.caller, source)
        )
        if allowed:
            if sensitive and value is not None:
                subject = source["id"] if type(source) is dict else source.id
                context.reveals.setdefault((type_name, field_name), set()).add(subject)
            return value
        return mask(value) if mask is not None and value is not None else None

    return _plain(read)


def _guarded_resolver(inner: Resolver, rule: Rule) -> Resolver:
    def resolve(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        context: Context = info.context
        decision = decide(context, rule)
        if decision == Decision.ALLOW or (
            decision == Decision.ROW and rule.allows(context.caller, source)
        ):
            return inner(source, info, **args)
        return None

    return resolve


def _refuse(context: Context, field_name: str) -> Exception:
    if context.caller.is_anonymous:
        return Unauthenticated(f"Sign in to use `{field_name}`.")
    return Forbidden(f"Your roles do not allow `{field_name}`.")


def _guarded_root(
    inner: Resolver,
    rule: Rule,
    field_name: str,
    relations: dict[tuple[str, str], Relation | Page] | None = None,
) -> Resolver:
    """Refuse before the resolver runs; on reads, look ahead from the result."""

    async def looked_ahead(result: Awaitable[Any], info: Any) -> Any:
        assert relations is not None
        return await prefetch(relations, info, await result)

    def resolve(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        context: Context = info.context
        if decide(context, rule) != Decision.ALLOW:
            raise _refuse(context, field_name)
        result = inner(source, info, **args)
        if relations is None:
            return result
        if isawaitable(result):
            return looked_ahead(result, info)
        return looked_ahead(_ready(result), info)

    return resolve


async def _ready(value: Any) -> Any:
    return value


def _relation_resolver(declared: Relation, rule: Rule) -> Resolver:
    if rule is VISIBLE:

        def resolve(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
            return resolve_relation(declared, source, info.context)

        slot = declared.slot

        def read(source: Any, context: Context) -> Any:
            # The fast executor completes what the look-ahead filed, nothing else.
            filed = source.get(slot, _NOT_FILED)
            if filed is _NOT_FILED:
                raise NotFiled
            return filed

        setattr(read, PLAIN_SLOT, slot)
        setattr(resolve, PLAIN, read)
        return resolve

    def guarded(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
        context: Context = info.context
        decision = decide(context, rule)
        if decision == Decision.ALLOW or (
            decision == Decision.ROW and rule.allows(context.caller, source)
        ):
            return resolve_relation(declared, source, context)
        return None

    return guarded


_NOT_FILED = object()


def _describe(gql_field: GraphQLField, rule: Rule, root: bool) -> None:
    verb = "Callable by" if root else "Readable by"
    note = f"{verb}: {rule.describe()}."
    text = (gql_field.description or "").strip()
    gql_field.description = f"{text}\n\n{note}" if text else note


def _govern_field(
    type_name: str,
    definition: StrawberryObjectDefinition,
    field: Any,
    gql_field: GraphQLField,
    is_node: bool,
    relations: dict[tuple[str, str], Relation | Page],
) -> None:
    rule = _rule_of(definition, field)
    qualified = f"{type_name}.{field.python_name}"
    if rule is None:
        raise SchemaRuleError(f"{qualified} declares no rule: use schema.base.field")

    root = type_name in ROOTS
    _describe(gql_field, rule, root)
    if root:
        if rule is VISIBLE:
            raise SchemaRuleError(f"{qualified}: a root field needs an explicit rule")
        if type_name == "Subscription":
            assert gql_field.subscribe is not None
            gql_field.subscribe = _guarded_root(
                gql_field.subscribe, rule, field.python_name
            )
        else:
            assert gql_field.resolve is not None
            gql_field.resolve = _guarded_root(
                gql_field.resolve,
                rule,
                field.python_name,
                relations if type_name == "Query" else None,
            )
        return

    if rule is not VISIBLE and isinstance(gql_field.type, GraphQLNonNull):
        raise SchemaRuleError(f"{qualified} can be refused, so it must be nullable")

    page: Page | None = (field.metadata or {}).get(PAGE)
    if page is not None:
        if field.base_resolver is None:
            raise SchemaRuleError(f"{qualified}: a paged relation calls page_of")
        relations[(type_name, _graphql_name(field))] = page
    declared: Relation | None = (field.metadata or {}).get(RELATION)
    if declared is not None:
        if field.base_resolver is not None:
            raise SchemaRuleError(f"{qualified}: a relation needs no resolver")
        relations[(type_name, _graphql_name(field))] = declared
        gql_field.resolve = _relation_resolver(declared, rule)
    elif field.base_resolver is None:
        if is_node and field.python_name == "id":
            gql_field.resolve = _id_getter(type_name)
        elif rule is VISIBLE:
            gql_field.resolve = _row_getter(field.python_name)
        else:
            gql_field.resolve = _guarded_getter(
                type_name, _graphql_name(field), field.python_name, rule
            )
    elif rule is not VISIBLE:
        assert gql_field.resolve is not None
        gql_field.resolve = _guarded_resolver(gql_field.resolve, rule)


def _graphql_name(field: Any) -> str:
    name: str = field.graphql_name or field.python_name
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _resolve_type(value: Any, info: GraphQLResolveInfo[Any], abstract: Any) -> str:
    return str(value["__typename"] if type(value) is dict else value.__typename)


def govern(schema: strawberry.Schema) -> strawberry.Schema:
    """Check and install the rules of every field; returns the same schema."""
    converter = schema.schema_converter
    relations: dict[tuple[str, str], Relation | Page] = {}
    leaves: dict[str, frozenset[str]] = {}
    for concrete in list(converter.type_map.values()):
        definition = concrete.definition
        implementation = concrete.implementation
        if isinstance(implementation, GraphQLInterfaceType):
            implementation.resolve_type = _resolve_type
            continue
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        if not isinstance(implementation, GraphQLObjectType) or definition.is_input:
            continue

        # Rows are mappings: type checks by class would refuse them.
        implementation.is_type_of = None
        is_node = any(i.name == "Node" for i in implementation.interfaces)
        by_name = {_graphql_name(f): f for f in definition.fields}
        leaves[definition.name] = frozenset(
            f.python_name for f in definition.fields if f.base_resolver is None
        )
        for name, gql_field in implementation.fields.items():
            if name not in by_name:
                raise SchemaRuleError(f"no strawberry field behind {name}")
            field = by_name[name]
            _govern_field(
                definition.name, definition, field, gql_field, is_node, relations
            )
    _expose_columns(schema, relations, leaves)
    return schema


def _expose_columns(
    schema: strawberry.Schema,
    relations: dict[tuple[str, str], Relation | Page],
    leaves: dict[str, frozenset[str]],
) -> None:
    """Tell the loaders which columns each model's rows need: what its types show."""
    from schema.node import NODE_MODELS

    shown: dict[type[Any], set[str]] = {}
    for type_name, model in NODE_MODELS.items():
        shown.setdefault(model, set()).update(leaves.get(type_name, ()))
    graphql_schema = schema._schema
    for (type_name, field_name), declared in relations.items():
        parent = graphql_schema.type_map[type_name]
        assert isinstance(parent, GraphQLObjectType)
        target = get_named_type(parent.fields[field_name].type).name
        if isinstance(declared, Page):
            target = _connection_node(graphql_schema, target) or target
        shown.setdefault(declared.model, set()).update(leaves.get(target, ()))
    for model, names in shown.items():
        expose(model, frozenset(names))


def _connection_node(graphql_schema: Any, connection: str) -> str | None:
    edges = graphql_schema.type_map[connection].fields.get("edges")
    if edges is None:
        return None
    edge = get_named_type(edges.type)
    return str(get_named_type(edge.fields["node"].type).name)
