"""The org hierarchy: reading units and creating them where the caller may."""

from __future__ import annotations

import re
from typing import Any

from tortoise.queryset import QuerySet

from models import Estate, Organization, OrgUnit
from models.enums import CommunityKind, Level, OrganizationKind, Role
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.loaders import fetch_row

__all__ = [
    "CHILD_LEVEL",
    "create_org_unit",
    "estates_query",
    "is_strictly_above",
    "org_units_query",
    "organizations_query",
]

# Which level may sit under which.
CHILD_LEVEL = {
    Level.PROVINCE: Level.CITY,
    Level.CITY: Level.DISTRICT,
    Level.DISTRICT: Level.SUBDISTRICT,
    Level.SUBDISTRICT: Level.COMMUNITY,
    Level.COMMUNITY: Level.GRID,
}
CODE = re.compile(r"^[0-9A-Za-z-]{2,32}$")


def is_strictly_above(caller: Caller, path: str, roles: frozenset[Role]) -> bool:
    """An admin, or the caller holds one of ``roles`` at a proper ancestor of ``path``.

    Staff accounts and new units come from the level above them.
    """
    if caller.is_admin:
        return True
    return any(
        path.startswith(g.unit_path) and path != g.unit_path
        for g in caller.grants
        if g.role in roles
    )


def org_units_query(
    caller: Caller,
    level: Level | None = None,
    parent_id: int | None = None,
    search: str | None = None,
) -> QuerySet[OrgUnit]:
    queryset = visible(OrgUnit, caller)
    if level is not None:
        queryset = queryset.filter(level=level)
    if parent_id is not None:
        queryset = queryset.filter(parent_id=parent_id)
    if search:
        queryset = queryset.filter(name__icontains=search.strip())
    return queryset


def estates_query(caller: Caller, unit_path: str | None = None) -> QuerySet[Estate]:
    queryset = visible(Estate, caller)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    return queryset


def organizations_query(
    caller: Caller,
    unit_path: str | None = None,
    kind: OrganizationKind | None = None,
) -> QuerySet[Organization]:
    queryset = visible(Organization, caller)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    return queryset


async def create_org_unit(
    context: Context,
    parent_id: int,
    name: str,
    code: str,
    kind: CommunityKind | None,
) -> dict[str, Any]:
    parent = await visible(OrgUnit, context.caller).get_or_none(id=parent_id)
    if parent is None:
        raise NotFound("No such parent unit.")
    officials = frozenset({Role.OFFICIAL})
    if not (context.caller.is_admin or context.caller.covers(parent.path, officials)):
        raise Forbidden("Only officials at or above the parent unit add units to it.")

    level = CHILD_LEVEL.get(parent.level)
    name, code = name.strip(), code.strip()
    errors: list[UserError] = []
    if level is None:
        errors.append(
            UserError(
                "parentId", "Nothing can be placed under a grid.", "LEVEL_TOO_DEEP"
            )
        )
    if not 1 <= len(name) <= 100:
        errors.append(
            UserError("name", "Enter a name of 1 to 100 characters.", "INVALID_NAME")
        )
    if not CODE.match(code):
        errors.append(
            UserError("code", "Use 2 to 32 letters, digits or dashes.", "INVALID_CODE")
        )
    elif await OrgUnit.filter(code=code).exists():
        errors.append(UserError("code", "Another unit has this code.", "CODE_TAKEN"))
    if level == Level.COMMUNITY and kind is None:
        errors.append(
            UserError(
                "kind",
                "Say whether it is a village or an urban community.",
                "KIND_REQUIRED",
            )
        )
    if level != Level.COMMUNITY and kind is not None:
        errors.append(
            UserError("kind", "Only communities have a kind.", "KIND_NOT_ALLOWED")
        )
    if errors:
        raise Invalid(errors)
    assert level is not None

    async with write(context, "ORG_UNIT_CREATE") as work:
        unit = await OrgUnit.create(
            parent_id=parent.id,
            level=level,
            kind=kind,
            name=name,
            code=code,
            path=f"{parent.path}pending/",
            depth=parent.depth + 1,
        )
        unit.path = f"{parent.path}{unit.id}/"
        await unit.save(update_fields=["path"])
        work.audit("OrgUnit", [unit.id], unit.path)
        work.emit(
            Event(
                "org",
                "ORG_UNIT_CREATED",
                unit.path,
                "OrgUnit",
                unit.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(OrgUnit, unit.id)
