"""Warnings (预警) for the staff of a unit: what needs attention, until cured."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from models import OrgUnit as OrgUnitModel
from models import Warning as WarningModel
from models.enums import WarningKind
from permissions.rules import STAFF, VISIBLE
from permissions.scope import visible
from resolvers.live import changes_under
from resolvers.loaders import columns
from resolvers.pagination import paginate
from schema.base import AppInfo, Connection, Node, as_row, decode_id, encode_id, field
from schema.node import register_node
from schema.org import OrgUnit, _unit_path
from schema.relations import related

WarningKindType = strawberry.enum(
    WarningKind,
    description=(
        "VISIT_OVERDUE (no visit within the interval), NEW_BENEFICIARY, UNATTENDED "
        "(失管), DECEASED (新亡), TASK_OVERDUE, REQUEST_OVERDUE."
    ),
)


@strawberry.type(description="A condition that needs attention, raised by a check.")
class Warning(Node):
    kind: WarningKindType = field(VISIBLE, "What the condition is.")  # type: ignore[valid-type]
    subject_type: str = field(VISIBLE, "The type of the object concerned.")
    raised_at: datetime = field(VISIBLE, "When the check found it.")
    resolved_at: datetime | None = field(VISIBLE, "When it was cured, if it was.")
    resolution: str = field(VISIBLE, "What cured it.")
    detail: JSON = field(VISIBLE, "Figures of the condition (days overdue, ...).")
    unit: OrgUnit = related(
        VISIBLE, "The unit responsible.", OrgUnitModel, source="unit_id", many=False
    )

    @field(VISIBLE, "The global id of the object concerned.")
    def subject_id(self) -> strawberry.ID:
        row = as_row(self)
        return encode_id(row["subject_type"], row["subject_id"])

    @field(VISIBLE, "Whether it still stands.")
    def is_open(self) -> bool:
        return as_row(self)["resolved_at"] is None


register_node("Warning", WarningModel)


@strawberry.type
class WarningQuery:
    @field(STAFF, "Warnings in the caller's jurisdiction, open ones by default.")
    async def warnings(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        kinds: list[WarningKindType] | None = None,  # type: ignore[valid-type]
        open: bool = True,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Warning]:
        queryset = visible(WarningModel, info.context.caller)
        path = await _unit_path(info, unit_id)
        if path is not None:
            queryset = queryset.filter(unit_path__startswith=path)
        if kinds:
            queryset = queryset.filter(kind__in=[WarningKind(k) for k in kinds])
        if open:
            queryset = queryset.filter(resolved_at__isnull=True)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


@strawberry.type
class WarningSubscription:
    @field(
        STAFF,
        "Warnings raised or cured under a unit, as they happen.",
        is_subscription=True,
    )
    async def warnings_under(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> AsyncGenerator[Warning, None]:
        _, pk = decode_id(unit_id, "OrgUnit")
        context = info.context
        async for event in changes_under(context, "warning", pk):
            found = (
                await visible(WarningModel, context.caller)
                .filter(id=event.subject_id)
                .values(*columns(WarningModel))
            )
            if found:
                yield found[0]  # type: ignore[misc]
