"""The cockpit's figures: what lies under a unit, and under each unit below it.

Each figure is one grouped statement over the whole subtree (rows counted per
``unit_path``), folded in Python into the units directly below: a subdistrict
with twenty communities costs the same four statements as a community.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models import Estate, Household, HouseholdMember, OrgUnit
from models.enums import Level
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers.context import Context
from resolvers.loaders import columns

__all__ = ["FIGURES", "UnitFigures", "cockpit_of"]

FIGURES = ("communities", "estates", "households", "people")


@dataclass
class UnitFigures:
    unit: dict[str, Any]
    counts: Counter[str] = field(default_factory=Counter)

    def row(self) -> dict[str, Any]:
        return {"unit": self.unit, **{name: self.counts[name] for name in FIGURES}}


async def _unit_in_reach(caller: Caller, unit_id: int) -> dict[str, Any]:
    found = await visible(OrgUnit, caller).filter(id=unit_id).values(*columns(OrgUnit))
    if not found:
        raise NotFound("No OrgUnit has this id.")
    unit = found[0]
    if not (caller.is_admin or caller.covers(unit["path"])):
        raise Forbidden("The cockpit shows units of your jurisdiction only.")
    return unit


def _counts_by_path(rows: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(str(r["unit_path"]), int(r["n"])) for r in rows]


async def cockpit_of(context: Context, unit_id: int) -> dict[str, Any]:
    """The unit's totals and those of each unit directly below it."""
    caller = context.caller
    unit = await _unit_in_reach(caller, unit_id)
    path: str = unit["path"]
    children = (
        await visible(OrgUnit, caller)
        .filter(parent_id=unit["id"])
        .order_by("id")
        .values(*columns(OrgUnit))
    )
    below = [UnitFigures(child) for child in children]
    total = UnitFigures(unit)

    def add(figure: str, unit_path: str, count: int) -> None:
        total.counts[figure] += count
        for child in below:
            if unit_path.startswith(child.unit["path"]):
                child.counts[figure] += count
                break

    communities = (
        await visible(OrgUnit, caller)
        .filter(path__startswith=path, level=Level.COMMUNITY)
        .values_list("path", flat=True)
    )
    for community_path in communities:
        add("communities", str(community_path), 1)

    today = context.clock().date()
    grouped: dict[str, QuerySet[Any]] = {
        "estates": visible(Estate, caller).filter(unit_path__startswith=path),
        "households": visible(Household, caller).filter(unit_path__startswith=path),
        "people": visible(HouseholdMember, caller).filter(
            active_on(today), unit_path__startswith=path
        ),
    }
    for figure, queryset in grouped.items():
        rows = (
            await queryset.annotate(n=Count("id"))
            .group_by("unit_path")
            .values("unit_path", "n")
        )
        for unit_path, count in _counts_by_path(rows):
            add(figure, unit_path, count)

    return {**total.row(), "below": [child.row() for child in below]}
