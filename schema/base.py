"""What every schema module builds on: declared fields, Node, connections, payloads.

Objects travel through the schema as plain mappings (rows from ``.values()``), not
model instances; ``schema.governance`` installs the resolvers that read them and
enforces each field's rule.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar, cast

import strawberry
from strawberry.types import Info

from permissions.errors import NotFound
from permissions.rules import VISIBLE, Rule
from resolvers.base import Invalid, UserError
from resolvers.context import Context

__all__ = [
    "RULE",
    "Connection",
    "Edge",
    "Node",
    "PageInfo",
    "Row",
    "UserErrorType",
    "as_row",
    "decode_id",
    "encode_id",
    "failed",
    "field",
    "one",
    "payload",
    "rows",
    "structural",
]

RULE = "yunshang.rule"
T = TypeVar("T")
Row = Mapping[str, Any]
AppInfo = Info[Context, None]


def field(rule: Rule, description: str, **options: Any) -> Any:
    """A field with the rule that says who may read it (or call it, on roots)."""
    return strawberry.field(description=description, metadata={RULE: rule}, **options)


def structural(cls: type[T]) -> type[T]:
    """Mark a type whose every field is readable by whoever reached the type."""
    cls.__field_rule__ = VISIBLE  # type: ignore[attr-defined]
    return cls


def as_row(value: object) -> Row:
    """The plain row behind a strawberry ``self`` in a field resolver."""
    return cast(Row, value)


def rows(_type: type[T], values: Iterable[Row]) -> list[T]:
    """Plain rows handed to the GraphQL layer where a list of ``_type`` is declared."""
    return cast(list[T], list(values))


def one(_type: type[T], value: Row | None) -> T | None:
    return cast(T | None, value)


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    raw = f"{type_name}:{pk}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def decode_id(global_id: str, expected: str | None = None) -> tuple[str, int]:
    """``(type name, primary key)``; a malformed or foreign id is NOT_FOUND."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded).decode().partition(":")
        key = int(pk)
    except ValueError:
        raise NotFound("No object has this id.") from None
    if expected is not None and type_name != expected:
        raise NotFound(f"No {expected} has this id.")
    return type_name, key


@strawberry.interface(description="An object that `node(id:)` can fetch by its id.")
class Node:
    id: strawberry.ID = field(VISIBLE, "The global id.")


@structural
@strawberry.type(description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@structural
@strawberry.type(description="One item of a connection and its cursor.")
class Edge(Generic[T]):
    cursor: str
    node: T


@structural
@strawberry.type(description="A page of items, by cursor.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="How many items there are in all.")
    async def total_count(self) -> int:
        count = as_row(self)["total_count"]
        return int(await count())


@structural
@strawberry.type(name="UserError", description="Something in the input to fix.")
class UserErrorType:
    field: str = strawberry.field(description="The input field, in camelCase.")
    message: str = strawberry.field(description="What is wrong, for the user.")
    code: str = strawberry.field(description="A stable code for clients to test.")


def user_errors(errors: Iterable[UserError]) -> list[dict[str, str]]:
    return [{"field": e.field, "message": e.message, "code": e.code} for e in errors]


def payload(**values: Any) -> Any:
    """A mutation payload with no errors."""
    return {"errors": [], **values}


def failed(invalid: Invalid, *results: str) -> Any:
    """A mutation payload carrying the user errors; the named results are null."""
    return {"errors": user_errors(invalid.errors), **dict.fromkeys(results)}
