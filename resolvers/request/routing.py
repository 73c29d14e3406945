"""Where a request goes: its category's handler kind and the place, on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models import EstateManagement, RequestCategory
from models.enums import HandlerKind
from permissions.scope import active_on

# -- routing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: the handler's kind and, for a company or a
    department, its organisation; ``note`` says why when it fell back."""

    kind: HandlerKind
    organization_id: int | None
    note: str = ""


async def dispatch_route(
    category: RequestCategory, estate_id: int | None, day: date
) -> Route:
    """The handler of a request of ``category`` in ``estate_id`` on ``day``."""
    if category.handler_kind == HandlerKind.PROPERTY_COMPANY:
        if estate_id is None:
            return Route(HandlerKind.COMMUNITY, None, "No estate: the community.")
        company = (
            await EstateManagement.filter(active_on(day), estate_id=estate_id)
            .order_by("-starts_on", "-id")
            .first()
            .values_list("company_id", flat=True)
        )
        if company is None:
            return Route(
                HandlerKind.COMMUNITY,
                None,
                "No property company manages the estate: the community.",
            )
        return Route(HandlerKind.PROPERTY_COMPANY, int(str(company)))
    if category.handler_kind == HandlerKind.DEPARTMENT:
        if category.department_id is None:
            return Route(
                HandlerKind.COMMUNITY, None, "No department set: the community."
            )
        return Route(HandlerKind.DEPARTMENT, category.department_id)
    return Route(HandlerKind.COMMUNITY, None)
