"""Visit coverage for the cockpit: under a unit, and under each unit below it.

Coverage (走访覆盖率) is the share of the active beneficiaries whose visits are
up to date: visited at least once, and their next visit not yet overdue. Like
``resolvers.cockpit``, each figure is one grouped statement over the subtree
(rows counted per ``unit_path``), folded in Python into the units below; every
row read goes through ``visible()``, so a cadre counts only the people they see.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models import Beneficiary, OrgUnit, Warning
from models.enums import BeneficiaryStatus, WarningKind
from permissions.scope import visible
from resolvers.cockpit import _unit_in_reach
from resolvers.context import Context
from resolvers.loaders import columns

__all__ = ["COVERAGE_FIGURES", "coverage_of"]

COVERAGE_FIGURES = ("beneficiaries", "covered", "overdue", "never_visited", "warnings")
VISIT_WARNINGS = (WarningKind.VISIT_OVERDUE, WarningKind.NEW_BENEFICIARY)


@dataclass
class _Entry:
    unit: dict[str, Any]
    counts: Counter[str] = field(default_factory=Counter)

    def row(self) -> dict[str, Any]:
        counts = {name: self.counts[name] for name in COVERAGE_FIGURES}
        total = counts["beneficiaries"]
        rate = round(counts["covered"] / total, 4) if total else None
        return {"unit": self.unit, **counts, "coverage_rate": rate}


async def coverage_of(context: Context, unit_id: int) -> dict[str, Any]:
    """The unit's visit coverage and open visit warnings, and each unit's below."""
    caller = context.caller
    unit = await _unit_in_reach(caller, unit_id)
    path: str = unit["path"]
    children = (
        await visible(OrgUnit, caller)
        .filter(parent_id=unit["id"])
        .order_by("id")
        .values(*columns(OrgUnit))
    )
    below = [_Entry(child) for child in children]
    total = _Entry(unit)

    def add(figure: str, unit_path: str, count: int) -> None:
        total.counts[figure] += count
        for child in below:
            if unit_path.startswith(child.unit["path"]):
                child.counts[figure] += count
                break

    now = context.clock()
    active = visible(Beneficiary, caller).filter(
        unit_path__startswith=path, status=BeneficiaryStatus.ACTIVE
    )
    grouped: dict[str, QuerySet[Any]] = {
        "beneficiaries": active,
        "overdue": active.filter(visit_due_at__lt=now),
        "never_visited": active.filter(last_visit_at__isnull=True),
        "warnings": visible(Warning, caller).filter(
            unit_path__startswith=path,
            resolved_at__isnull=True,
            kind__in=VISIT_WARNINGS,
        ),
    }
    covered = active.filter(last_visit_at__isnull=False).exclude(visit_due_at__lt=now)
    grouped["covered"] = covered
    for figure, queryset in grouped.items():
        rows = (
            await queryset.annotate(n=Count("id"))
            .group_by("unit_path")
            .values("unit_path", "n")
        )
        for row in rows:
            add(figure, str(row["unit_path"]), int(row["n"]))
    return {**total.row(), "below": [child.row() for child in below]}
