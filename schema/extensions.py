"""Schema extensions: coded errors, the audit of reveals, and document limits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)
from graphql.language import DirectiveNode
from strawberry.extensions import SchemaExtension

from models import AuditRecord
from models.enums import Outcome
from permissions.errors import CodedError
from resolvers.context import Context

__all__ = [
    "AuditReveals",
    "CodedErrors",
    "FreshOperation",
    "limit_directives",
    "limit_field_repeats",
]

logger = logging.getLogger("yunshang.graphql")


class FreshOperation(SchemaExtension):
    """Per-operation state starts empty, even on a long-lived websocket context."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            context.reset()
        yield


class AuditReveals(SchemaExtension):
    """One audit record per sensitive field revealed in an operation."""

    async def on_execute(self) -> Any:  # type: ignore[override]
        yield
        context = self.execution_context.context
        if not isinstance(context, Context) or not context.reveals:
            return
        caller = context.caller
        now = context.clock()
        records = [
            AuditRecord(
                at=now,
                person_id=caller.person_id,
                token_id=caller.token_id,
                role=caller.primary_role,
                action="REVEAL",
                subject_type=type_name,
                subject_ids=sorted(ids),
                field=field_name,
                outcome=Outcome.OK,
                client_address=caller.client_address,
                detail={"operation": self.execution_context.operation_name or ""},
            )
            for (type_name, field_name), ids in context.reveals.items()
        ]
        context.reveals.clear()
        await AuditRecord.bulk_create(records)


def _coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, CodedError):
        code, message = original.code, original.message
    elif original is None:
        # Parse and validation errors: the document's fault, safe to show.
        code = error.extensions.get("code") if error.extensions else None
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={
                **(error.extensions or {}),
                "code": code or "GRAPHQL_VALIDATION_FAILED",
            },
        )
    else:
        logger.error(
            "unexpected error in %s",
            ".".join(str(p) for p in error.path or ()),
            exc_info=original,
        )
        code, message = "INTERNAL_SERVER_ERROR", "Unexpected error."
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": code},
    )


class CodedErrors(SchemaExtension):
    """Every error carries ``extensions.code``; unexpected ones are masked and logged."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_coded(e) for e in result.errors]
        pre = self.execution_context.pre_execution_errors
        if pre:
            self.execution_context.pre_execution_errors = [_coded(e) for e in pre]


def limit_directives(maximum: int) -> type[ASTValidationRule]:
    """Refuse documents with more than ``maximum`` directives (directive overloading)."""

    class DirectiveLimit(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            self.count += 1
            if self.count == maximum + 1:
                self.report_error(
                    GraphQLError(
                        f"The document uses more than {maximum} directives.",
                        node,
                        extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                    )
                )

    return DirectiveLimit


def limit_field_repeats(maximum: int) -> type[ASTValidationRule]:
    """Refuse a selection that asks for the same field more than ``maximum`` times."""

    class FieldRepeatLimit(ASTValidationRule):
        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
            seen: dict[str, int] = {}
            for selection in node.selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] == maximum + 1:
                        self.report_error(
                            GraphQLError(
                                f"`{key}` is selected more than {maximum} times.",
                                selection,
                                extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                            )
                        )

        def enter_operation_definition(
            self, node: OperationDefinitionNode, *_: Any
        ) -> None:
            return None

    return FieldRepeatLimit
