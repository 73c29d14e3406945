"""Reading requests: the scoped list, the categories, what an area asks for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from models import RequestCategory, ServiceRequest
from models.enums import RequestStage
from permissions.caller import Caller
from permissions.errors import Forbidden
from permissions.scope import visible
from resolvers.request.rules import OPEN_STAGES

# -- reading -----------------------------------------------------------------------


def requests_query(
    caller: Caller,
    *,
    unit_path: str | None = None,
    stages: Iterable[RequestStage] | None = None,
    estate_id: int | None = None,
    category_id: int | None = None,
    mine: bool = False,
    shared: bool | None = None,
) -> QuerySet[ServiceRequest]:
    queryset = visible(ServiceRequest, caller)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    chosen = list(stages or ())
    if chosen:
        queryset = queryset.filter(stage__in=chosen)
    if estate_id is not None:
        queryset = queryset.filter(estate_id=estate_id)
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    if mine:
        queryset = queryset.filter(raised_by_id=caller.person_id or 0)
    if shared is not None:
        queryset = queryset.filter(is_public=shared)
    return queryset


async def category_rows(active_only: bool = True) -> list[dict[str, Any]]:
    queryset = RequestCategory.all()
    if active_only:
        queryset = queryset.filter(is_active=True)
    found: list[dict[str, Any]] = await queryset.order_by("id").values()
    return found


async def demand_under(
    caller: Caller, unit_path: str, open_only: bool = False
) -> list[dict[str, Any]]:
    """What an area asks for most: requests and joins per category and estate,
    the most asked first (staff over the area only)."""
    if not (caller.is_admin or caller.covers(unit_path)):
        raise Forbidden("Only staff over this unit see what it asks for.")
    queryset = visible(ServiceRequest, caller).filter(unit_path__startswith=unit_path)
    if open_only:
        queryset = queryset.filter(stage__in=list(OPEN_STAGES))
    grouped = (
        await queryset.annotate(requests=Count("id"), joins=Sum("join_count"))
        .group_by("category_id", "estate_id")
        .values("category_id", "estate_id", "requests", "joins")
    )
    result = [
        {
            "category_id": row["category_id"],
            "estate_id": row["estate_id"],
            "request_count": int(row["requests"] or 0),
            "join_count": int(row["joins"] or 0),
        }
        for row in grouped
    ]
    result.sort(
        key=lambda r: (
            -(r["request_count"] + r["join_count"]),
            r["category_id"],
            r["estate_id"] or 0,
        )
    )
    return result
