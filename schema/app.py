"""The one place the schema is assembled: every domain's queries, mutations and
subscriptions, the limits and caches, then the rules of every field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.config import StrawberryConfig

from schema.audit import AuditQuery
from schema.execution import FastExecutionContext
from schema.extensions import (
    AuditReveals,
    CodedErrors,
    FreshOperation,
    limit_directives,
    limit_field_repeats,
)
from schema.file import FileMutation, FileQuery
from schema.governance import govern
from schema.identity import IdentityMutation, IdentityQuery
from schema.imports import ImportQuery, ImportSubscription
from schema.node import NodeQuery
from schema.notification import (
    NotificationMutation,
    NotificationQuery,
    NotificationSubscription,
)
from schema.org import OrgMutation, OrgQuery, OrgSubscription
from schema.person import PersonMutation, PersonQuery
from schema.warning import WarningQuery, WarningSubscription

__all__ = ["Limits", "build_schema"]


@strawberry.type(description="Reads.")
class Query(
    NodeQuery,
    OrgQuery,
    PersonQuery,
    IdentityQuery,
    AuditQuery,
    FileQuery,
    NotificationQuery,
    WarningQuery,
    ImportQuery,
):
    pass


@strawberry.type(description="Writes: each returns its user errors as data.")
class Mutation(
    OrgMutation, PersonMutation, IdentityMutation, FileMutation, NotificationMutation
):
    pass


@strawberry.type(description="Live streams over graphql-transport-ws.")
class Subscription(
    OrgSubscription, NotificationSubscription, WarningSubscription, ImportSubscription
):
    pass


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_directives: int = 20
    max_field_repeats: int = 5
    development: bool = False
    # The faster completion of plain leaves (schema.execution); same responses.
    fast_execution: bool = True


class Schema(strawberry.Schema):
    """Errors are coded and logged by ``CodedErrors``: denials are not faults, and
    an unexpected error is logged there once, with its traceback."""

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        return None


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    limits = limits or Limits()
    # The rule classes are made once: the validation cache keys on them, and an
    # extension instance must never be shared between requests (strawberry #3172).
    rules = [
        limit_directives(limits.max_directives),
        limit_field_repeats(limits.max_field_repeats),
        query_depth_limiter.create_validator(limits.max_depth, None),
        max_aliases.create_validator(limits.max_aliases),
    ]
    extensions: list[object] = [
        FreshOperation,
        CodedErrors,
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        ParserCache,
        lambda: AddValidationRules(rules),
        ValidationCache,
        AuditReveals,
    ]
    if not limits.development:
        extensions.append(DisableIntrospection)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,  # type: ignore[arg-type]
        config=StrawberryConfig(disable_field_suggestions=not limits.development),
        execution_context_class=FastExecutionContext if limits.fast_execution else None,
    )
    return govern(schema)
