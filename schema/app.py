"""The one place the schema is assembled: every domain's queries, mutations and
subscriptions, the limits and caches, then the rules of every field."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from schema.audit import AuditQuery
from schema.extensions import (
    AuditReveals,
    CodedErrors,
    FreshOperation,
    limit_directives,
    limit_field_repeats,
)
from schema.governance import govern
from schema.identity import IdentityMutation, IdentityQuery
from schema.node import NodeQuery
from schema.org import OrgMutation, OrgQuery, OrgSubscription
from schema.person import PersonMutation, PersonQuery

__all__ = ["Limits", "build_schema"]


@strawberry.type(description="Reads.")
class Query(NodeQuery, OrgQuery, PersonQuery, IdentityQuery, AuditQuery):
    pass


@strawberry.type(description="Writes: each returns its user errors as data.")
class Mutation(OrgMutation, PersonMutation, IdentityMutation):
    pass


@strawberry.type(description="Live streams over graphql-transport-ws.")
class Subscription(OrgSubscription):
    pass


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_directives: int = 20
    max_field_repeats: int = 5
    development: bool = False


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    limits = limits or Limits()
    extensions: list[object] = [
        FreshOperation,
        CodedErrors,
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        ParserCache,
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
        lambda: AddValidationRules(
            [
                limit_directives(limits.max_directives),
                limit_field_repeats(limits.max_field_repeats),
            ]
        ),
        ValidationCache,
        AuditReveals,
    ]
    if not limits.development:
        extensions.append(DisableIntrospection)
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,  # type: ignore[arg-type]
        config=StrawberryConfig(disable_field_suggestions=not limits.development),
    )
    return govern(schema)
