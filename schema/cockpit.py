"""The cockpit (数据驾驶舱): a unit's figures and those of the units below it.

Domain panels (tasks, duty, visits, requests, evaluation) add their own fields
to ``Cockpit`` as their domains arrive; the screens draw one panel per field.
"""

from __future__ import annotations

import strawberry

from permissions.rules import STAFF
from resolvers.cockpit import cockpit_of
from schema.base import AppInfo, decode_id, field, structural
from schema.org import OrgUnit


@structural
@strawberry.type(description="What lies under one unit.")
class UnitFigures:
    unit: OrgUnit
    communities: int = strawberry.field(description="Villages and communities.")
    estates: int = strawberry.field(description="Residential estates (小区).")
    households: int = strawberry.field(description="Households (户).")
    people: int = strawberry.field(
        description="Registered household members today (a person in two "
        "households counts twice)."
    )


@structural
@strawberry.type(description="A unit's cockpit: its totals, and each unit below.")
class Cockpit:
    unit: OrgUnit
    communities: int = strawberry.field(description="Villages and communities.")
    estates: int = strawberry.field(description="Residential estates (小区).")
    households: int = strawberry.field(description="Households (户).")
    people: int = strawberry.field(description="Registered household members today.")
    below: list[UnitFigures] = strawberry.field(
        description="The units directly below, with their figures, for drill-down."
    )


@strawberry.type
class CockpitQuery:
    @field(STAFF, "The cockpit of a unit of the caller's jurisdiction.")
    async def cockpit(self, info: AppInfo, unit_id: strawberry.ID) -> Cockpit:
        _, pk = decode_id(unit_id, "OrgUnit")
        return await cockpit_of(info.context, pk)  # type: ignore[return-value]
