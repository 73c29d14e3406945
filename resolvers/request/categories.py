"""Request categories: configuration by admins and district officials."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from models import Organization, OrgUnit, RequestCategory
from models.enums import HandlerKind, Level, OrganizationKind, Role
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.loaders import fetch_row
from resolvers.request.rules import TOPIC, check_text

# -- categories (configuration) ----------------------------------------------------

CATEGORY_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")
MAX_DEADLINE_HOURS = 24 * 90


@dataclass(frozen=True, slots=True)
class CategoryInput:
    name: str
    handler_kind: HandlerKind
    deadline_hours: int
    department_id: int | None = None
    description: str = ""
    group: str = ""
    keywords: str = ""
    is_active: bool = True


async def _may_configure(caller: Caller) -> bool:
    """Admins, and officials of a district or above (categories are district-wide)."""
    if caller.is_admin:
        return True
    units = [g.unit_id for g in caller.grants if g.role == Role.OFFICIAL]
    top = (Level.PROVINCE, Level.CITY, Level.DISTRICT)
    return await OrgUnit.filter(id__in=units, level__in=top).exists()


async def _category_errors(given: CategoryInput) -> list[UserError]:
    errors: list[UserError] = []
    if not 1 <= len(given.name.strip()) <= 50:
        errors.append(UserError("name", "1 to 50 characters.", "INVALID_NAME"))
    if not 1 <= given.deadline_hours <= MAX_DEADLINE_HOURS:
        errors.append(
            UserError(
                "deadlineHours",
                f"From 1 to {MAX_DEADLINE_HOURS} hours.",
                "DEADLINE_INVALID",
            )
        )
    for field, value, limit in (
        ("description", given.description, 500),
        ("group", given.group, 50),
        ("keywords", given.keywords, 200),
    ):
        errors += check_text(value, field, limit, required=False)
    if given.handler_kind == HandlerKind.DEPARTMENT:
        department = (
            await Organization.get_or_none(id=given.department_id)
            if given.department_id is not None
            else None
        )
        if department is None or department.kind != OrganizationKind.DEPARTMENT:
            errors.append(
                UserError(
                    "departmentId",
                    "A department's category names the department.",
                    "DEPARTMENT_REQUIRED",
                )
            )
    elif given.department_id is not None:
        errors.append(
            UserError(
                "departmentId",
                "Only a department's category names a department.",
                "DEPARTMENT_NOT_ALLOWED",
            )
        )
    return errors


async def save_category(
    context: Context, category_id: int | None, code: str, given: CategoryInput
) -> dict[str, Any]:
    """Create a category (``category_id`` None) or change one; a change applies to
    the requests dispatched after it (deadlines already set stay)."""
    if not await _may_configure(context.caller):
        raise Forbidden("Admins and district officials configure categories.")
    existing = None
    if category_id is not None:
        existing = await RequestCategory.get_or_none(id=category_id)
        if existing is None:
            raise NotFound("No RequestCategory has this id.")

    errors = await _category_errors(given)
    code = existing.code if existing else code.strip()
    if existing is None:
        if not CATEGORY_CODE.match(code):
            errors.append(
                UserError("code", "Capitals, digits and _; 2 to 32.", "INVALID_CODE")
            )
        elif await RequestCategory.filter(code=code).exists():
            errors.append(UserError("code", "Another category has it.", "CODE_TAKEN"))
    if errors:
        raise Invalid(errors)

    values: dict[str, Any] = {
        "name": given.name.strip(),
        "handler_kind": given.handler_kind,
        "deadline_hours": given.deadline_hours,
        "department_id": given.department_id,
        "description": given.description.strip(),
        "group": given.group.strip(),
        "keywords": given.keywords.strip(),
        "is_active": given.is_active,
    }
    action = (
        "REQUEST_CATEGORY_CREATE" if existing is None else "REQUEST_CATEGORY_UPDATE"
    )
    async with write(context, action) as work:
        if existing is None:
            category = await RequestCategory.create(code=code, **values)
        else:
            await RequestCategory.filter(id=existing.id).update(**values)
            category = existing
        work.audit("RequestCategory", [category.id], "/", **_plain(values))
        work.emit(
            Event(
                TOPIC,
                "CATEGORY_SAVED",
                "/",
                "RequestCategory",
                category.id,
                context.caller.person_id,
                at=context.clock(),
            )
        )
    return await fetch_row(RequestCategory, category.id)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, HandlerKind) else v) for k, v in values.items()}
