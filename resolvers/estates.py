"""Who acts for an estate: its staff, its property company, its owners' committee.

Shared by the register, the evaluation and the coordination rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from models import Estate, EstateManagement, Organization
from models.enums import Role
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers.context import Context

__all__ = ["committee_estates", "company_estates", "estate_in_reach", "local_today"]

CHINA = ZoneInfo("Asia/Shanghai")


def local_today(context: Context) -> date:
    """Today in China Standard Time, by the context's clock."""
    return context.clock().astimezone(CHINA).date()


async def company_estates(context: Context) -> frozenset[int]:
    """Estates the caller's property companies manage today (one statement, once
    per operation)."""
    return await _estates_for(context, Role.PROPERTY_COMPANY)


async def committee_estates(context: Context) -> frozenset[int]:
    """Estates whose owners' committee the caller acts for."""
    return await _estates_for(context, Role.OWNERS_COMMITTEE)


async def _estates_for(context: Context, role: Role) -> frozenset[int]:
    key = ("estates-for", role)
    cached: frozenset[int] | None = context.loaders.get(key)
    if cached is not None:
        return cached
    organizations = list(context.caller.organization_ids(role))
    found: list[Any] = []
    if organizations and role == Role.PROPERTY_COMPANY:
        found = await EstateManagement.filter(
            active_on(local_today(context)), company_id__in=organizations
        ).values_list("estate_id", flat=True)
    elif organizations:
        found = await Organization.filter(
            id__in=organizations, estate_id__isnull=False
        ).values_list("estate_id", flat=True)
    estates = frozenset(int(e) for e in found if e is not None)
    context.loaders[key] = estates
    return estates


async def estate_in_reach(context: Context, estate_id: int) -> Estate:
    """An estate the caller is staff over (admins anywhere), or a coded denial."""
    estate = await visible(Estate, context.caller).get_or_none(id=estate_id)
    if estate is None:
        raise NotFound("No Estate has this id.")
    caller = context.caller
    if not (caller.is_admin or caller.covers(estate.unit_path)):
        raise Forbidden("Only staff over this estate may do this.")
    return estate
