"""Batch loads of plain rows, one statement per relation and level of a query.

Every loader reads through ``permissions.scope.visible``, so a nested list shows
exactly the rows its caller may see, whatever path led to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from permissions.scope import visible
from resolvers.context import Context

__all__ = ["Row", "by_id", "children_of"]

Row = dict[str, Any]


def children_of(
    context: Context, model: type[Model], key: str, order: str = "id"
) -> DataLoader[int, list[Row]]:
    """Rows of ``model`` grouped by the value of ``key`` (a foreign key column)."""
    cache_key = ("children", model, key, order)
    loader: DataLoader[int, list[Row]] | None = context.loaders.get(cache_key)
    if loader is None:

        async def load(keys: Sequence[int]) -> list[list[Row]]:
            found = await (
                visible(model, context.caller)
                .filter(**{f"{key}__in": list(keys)})
                .order_by(order)
                .values()
            )
            grouped: dict[int, list[Row]] = defaultdict(list)
            for row in found:
                grouped[row[key]].append(row)
            return [grouped.get(k, []) for k in keys]

        loader = DataLoader(load)
        context.loaders[cache_key] = loader
    return loader


def by_id(context: Context, model: type[Model]) -> DataLoader[int, Row | None]:
    """A visible row of ``model`` by id, or ``None`` when hidden or missing."""
    cache_key = ("by_id", model)
    loader: DataLoader[int, Row | None] | None = context.loaders.get(cache_key)
    if loader is None:

        async def load(keys: Sequence[int]) -> list[Row | None]:
            found = await (
                visible(model, context.caller).filter(id__in=list(keys)).values()
            )
            index = {row["id"]: row for row in found}
            return [index.get(k) for k in keys]

        loader = DataLoader(load)
        context.loaders[cache_key] = loader
    return loader
