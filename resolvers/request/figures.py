"""The cockpit's request figures: requests by stage and the time to close, for a
unit and each unit directly below it.

Two grouped statements over the subtree whatever its size (requests counted per
``unit_path`` and stage; the closed ones' hours to close summed per
``unit_path``), folded in Python into the units below.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tortoise.functions import Count

from models import OrgUnit, ServiceRequest
from models.enums import RequestStage
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.context import Context
from resolvers.loaders import columns

__all__ = ["request_figures_of"]


@dataclass
class _Figures:
    unit: dict[str, Any]
    stages: Counter[RequestStage] = field(default_factory=Counter)
    closed: int = 0
    closed_hours: float = 0.0

    def row(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "by_stage": [
                {"stage": stage, "count": self.stages[stage]} for stage in RequestStage
            ],
            "total": sum(self.stages.values()),
            "open": sum(
                n for stage, n in self.stages.items() if stage != RequestStage.EVALUATED
            ),
            "closed": self.closed,
            "average_hours_to_close": (
                round(self.closed_hours / self.closed, 1) if self.closed else None
            ),
        }


async def _unit_in_reach(caller: Caller, unit_id: int) -> dict[str, Any]:
    found = await visible(OrgUnit, caller).filter(id=unit_id).values(*columns(OrgUnit))
    if not found:
        raise NotFound("No OrgUnit has this id.")
    unit: dict[str, Any] = found[0]
    if not (caller.is_admin or caller.covers(unit["path"])):
        raise Forbidden("Request figures show units of your jurisdiction only.")
    return unit


async def request_figures_of(context: Context, unit_id: int) -> dict[str, Any]:
    """Requests by stage, and the average hours from raising to closing (the
    closed ones: ``closed_at`` set), under the unit and each unit below it."""
    caller = context.caller
    unit = await _unit_in_reach(caller, unit_id)
    path: str = unit["path"]
    children = (
        await visible(OrgUnit, caller)
        .filter(parent_id=unit["id"])
        .order_by("id")
        .values(*columns(OrgUnit))
    )
    total = _Figures(unit)
    below = [_Figures(child) for child in children]

    def targets(unit_path: str) -> list[_Figures]:
        for child in below:
            if unit_path.startswith(child.unit["path"]):
                return [total, child]
        return [total]

    scoped = visible(ServiceRequest, caller).filter(unit_path__startswith=path)
    by_stage = (
        await scoped.annotate(n=Count("id"))
        .group_by("unit_path", "stage")
        .values("unit_path", "stage", "n")
    )
    for row in by_stage:
        for figures in targets(str(row["unit_path"])):
            figures.stages[RequestStage(row["stage"])] += int(row["n"])

    closed = await scoped.filter(closed_at__isnull=False).values_list(
        "unit_path", "created_at", "closed_at"
    )
    for unit_path, created_at, closed_at in closed:
        hours = max(0.0, (closed_at - created_at).total_seconds() / 3600)
        for figures in targets(str(unit_path)):
            figures.closed += 1
            figures.closed_hours += hours

    return {**total.row(), "below": [child.row() for child in below]}
