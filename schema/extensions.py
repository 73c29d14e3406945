"""Schema extensions: coded errors, the audit of reveals, and document limits."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from typing import Any, NoReturn

from graphql import (
    BREAK,
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    Node,
    SelectionSetNode,
    ValidationRule,
    Visitor,
    visit,
)
from graphql.language.visitor import VisitorAction
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from models import AuditRecord
from models.enums import Outcome
from permissions.errors import CodedError
from resolvers.context import Context

__all__ = [
    "AuditReveals",
    "CodedErrors",
    "FreshOperation",
    "last_operation_name",
    "limit_directives",
    "limit_field_repeats",
]

logger = logging.getLogger("yunshang.graphql")


# The name of the operation last run in this (asyncio) context, given or read from
# the document, for the HTTP endpoint's log line.
last_operation_name: ContextVar[str | None] = ContextVar(
    "last_operation_name", default=None
)


class FreshOperation(SchemaExtension):
    """Per-operation state starts empty, even on a long-lived websocket context."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            context.reset()
        try:
            yield
        finally:
            last_operation_name.set(self.execution_context.operation_name)


class AuditReveals(SchemaExtension):
    """One audit record per sensitive field revealed in an operation."""

    async def on_execute(self) -> Any:
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
        given = (error.extensions or {}).get("code")
        if isinstance(given, str):
            code = given
        elif isinstance(error, GraphQLSyntaxError):
            code = "GRAPHQL_PARSE_FAILED"
        else:
            code = "GRAPHQL_VALIDATION_FAILED"
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={**(error.extensions or {}), "code": code},
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
    """Every error carries ``extensions.code``; unexpected ones are masked, logged."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:
            # ParserCache parses in its own hook, outside strawberry's handling of
            # parse errors: the syntax error (a token limit too) arrives here raised.
            raise _coded(error) from error
        # The result's errors and the pre-execution errors are often the same
        # errors: code each once, so that each unexpected one is logged once.
        coded: dict[int, GraphQLError] = {}

        def code(error: GraphQLError) -> GraphQLError:
            if id(error) not in coded:
                coded[id(error)] = _coded(error)
            return coded[id(error)]

        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [code(e) for e in result.errors]
        pre = self.execution_context.pre_execution_errors
        if pre:
            self.execution_context.pre_execution_errors = [code(e) for e in pre]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # A subscription's events go out before ``on_operation`` resumes.
        if result.errors:
            result.errors = [_coded(e) for e in result.errors]
        yield


def _abort(message: str, node: Node) -> NoReturn:
    """Stop validating the document at once, with this as its error.

    The limits are checked when the document is entered, before any other rule
    sees a selection: OverlappingFieldsCanBeMerged is quadratic in the copies of a
    field (400 copies of ``viewer { isSignedIn }`` cost it seconds), so refusing
    the document after it has run would refuse it too late.
    """
    raise ValidationAbortedError(
        message, node, extensions={"code": "GRAPHQL_VALIDATION_FAILED"}
    )


@cache  # the same class each time, or ValidationCache never finds a document
def limit_directives(maximum: int) -> type[ASTValidationRule]:
    """Refuse documents with more than ``maximum`` directives (directive overloading),
    or with a directive that is not repeatable repeated in one place: one error, not
    one per copy (graphql-cop's probe is ``__typename @aa@aa...``)."""

    class DirectiveCounter(Visitor):
        def __init__(self, schema: GraphQLSchema) -> None:
            super().__init__()
            self.schema = schema
            self.count = 0
            self.excess: tuple[DirectiveNode, str] | None = None

        def enter_directive(
            self, node: DirectiveNode, key: Any, parent: Any, *_: Any
        ) -> VisitorAction:
            self.count += 1
            name = node.name.value
            if self.count > maximum:
                self.excess = node, f"The document uses more than {maximum} directives."
            elif isinstance(key, int) and any(
                other.name.value == name for other in parent[:key]
            ):
                known = self.schema.get_directive(name)
                if known is None or not known.is_repeatable:
                    message = f"The directive '@{name}' can only be used once here."
                    self.excess = node, message
            return None if self.excess is None else BREAK

    class DirectiveLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            counter = DirectiveCounter(self.context.schema)
            visit(node, counter)
            if counter.excess is not None:
                _abort(counter.excess[1], counter.excess[0])

    return DirectiveLimit


def _repeated_field(node: SelectionSetNode, maximum: int) -> FieldNode | None:
    """The first field selected more than ``maximum`` times under one response
    name in this selection set, its inline fragments included (as the executor and
    OverlappingFieldsCanBeMerged merge them)."""
    seen: dict[str, int] = {}
    pending = deque(node.selections)
    while pending:
        selection = pending.popleft()
        if isinstance(selection, InlineFragmentNode):
            pending.extendleft(reversed(selection.selection_set.selections))
        elif isinstance(selection, FieldNode):
            key = (selection.alias or selection.name).value
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > maximum:
                return selection
    return None


@cache
def limit_field_repeats(maximum: int) -> type[ASTValidationRule]:
    """Refuse a selection that asks for the same field more than ``maximum`` times."""

    class RepeatFinder(Visitor):
        def __init__(self) -> None:
            super().__init__()
            self.repeated: FieldNode | None = None

        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> VisitorAction:
            self.repeated = _repeated_field(node, maximum)
            return None if self.repeated is None else BREAK

    class FieldRepeatLimit(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            finder = RepeatFinder()
            visit(node, finder)
            if finder.repeated is not None:
                key = (finder.repeated.alias or finder.repeated.name).value
                _abort(
                    f"`{key}` is selected more than {maximum} times.", finder.repeated
                )

    return FieldRepeatLimit
