"""Cursor pagination by id, over any scoped queryset, returning plain rows."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.queryset import QuerySet

from permissions.errors import CodedError
from resolvers import loaders

__all__ = [
    "MAX_PAGE",
    "BadInput",
    "check_first",
    "connection",
    "decode_cursor",
    "encode_cursor",
    "paginate",
]

MAX_PAGE = 200


class BadInput(CodedError):
    code = "BAD_USER_INPUT"


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"c:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, _, value = base64.urlsafe_b64decode(padded).decode().partition(":")
        if kind != "c":
            raise ValueError(kind)
        return int(value)
    except ValueError:
        raise BadInput("The cursor is not valid.") from None


async def paginate(
    queryset: QuerySet[Any], first: int, after: str | None, *columns: str
) -> dict[str, Any]:
    """One page of ``queryset`` by ascending id, as a connection of plain rows.

    ``totalCount`` is counted only when a client asks for it.
    """
    check_first(first)
    page = queryset
    if after is not None:
        page = page.filter(id__gt=decode_cursor(after))
    chosen = columns or loaders.columns(queryset.model)
    rows = await page.order_by("id").limit(first + 1).values(*chosen)
    return connection(rows, first, after, queryset.count)


def check_first(first: int) -> None:
    if not 1 <= first <= MAX_PAGE:
        raise BadInput(f"`first` must be between 1 and {MAX_PAGE}.")


def connection(
    rows: list[dict[str, Any]],
    first: int,
    after: str | None,
    count: Callable[[], Awaitable[int]],
) -> dict[str, Any]:
    """A connection from up to ``first + 1`` rows (the extra one: a next page)."""
    has_next = len(rows) > first
    edges = [{"cursor": encode_cursor(row["id"]), "node": row} for row in rows[:first]]
    return {
        "edges": edges,
        "page_info": {
            "has_next_page": has_next,
            "has_previous_page": after is not None,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
        "total_count": count,
    }
