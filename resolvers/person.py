"""People and their roles: staff accounts come from the unit above them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import HouseholdMember, Organization, OrgUnit, Person, RoleAssignment
from models.enums import OrganizationKind, Role
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.identity import MIN_PASSWORD, PHONE
from resolvers.loaders import fetch_row
from resolvers.org import is_strictly_above
from resolvers.passwords import hash_password

__all__ = ["assign_role", "create_person", "people_query", "revoke_role"]

# Who may grant a role: the unit above, by the role granted.
GRANTORS: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset({Role.ADMIN}),
    Role.OFFICIAL: frozenset({Role.OFFICIAL}),
    Role.CADRE: frozenset({Role.OFFICIAL}),
    Role.PROPERTY_COMPANY: frozenset({Role.OFFICIAL}),
    Role.OWNERS_COMMITTEE: frozenset({Role.OFFICIAL, Role.CADRE}),
    Role.RESIDENT: frozenset({Role.OFFICIAL, Role.CADRE}),
}
# Roles held through an organisation, and the kind it must be.
ORGANIZATION_ROLES = {
    Role.PROPERTY_COMPANY: OrganizationKind.PROPERTY_COMPANY,
    Role.OWNERS_COMMITTEE: OrganizationKind.OWNERS_COMMITTEE,
}


def people_query(
    caller: Caller, unit_path: str | None = None, search: str | None = None
) -> QuerySet[Person]:
    queryset = visible(Person, caller)
    if unit_path is not None:
        members = HouseholdMember.filter(unit_path__startswith=unit_path).values(
            "person_id"
        )
        holders = RoleAssignment.filter(unit_path__startswith=unit_path).values(
            "person_id"
        )
        queryset = queryset.filter(
            Q(id__in=Subquery(members)) | Q(id__in=Subquery(holders))
        )
    if search:
        queryset = queryset.filter(name__icontains=search.strip())
    return queryset


def _may_grant(caller: Caller, role: Role, unit: OrgUnit) -> bool:
    grantors = GRANTORS[role]
    if role in (Role.RESIDENT, Role.OWNERS_COMMITTEE) and caller.covers(
        unit.path, frozenset({Role.CADRE})
    ):
        return True
    return is_strictly_above(caller, unit.path, grantors)


def _may_grant_through(caller: Caller, role: Role, organization: Organization) -> bool:
    """A role held through an organisation is granted by whoever is over it.

    Admins, or a granting role at the organisation's unit or above it (a cadre
    for the owners' committees of their community); never from beside it.
    """
    grantors = GRANTORS[role] | (
        frozenset({Role.CADRE}) if role == Role.OWNERS_COMMITTEE else frozenset()
    )
    return caller.is_admin or caller.covers(organization.unit_path, grantors)


async def _check_grant(
    context: Context, role: Role, unit_id: int, organization_id: int | None
) -> tuple[OrgUnit, Organization | None, list[UserError]]:
    unit = await visible(OrgUnit, context.caller).get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No such unit.")

    errors: list[UserError] = []
    organization = None
    wanted = ORGANIZATION_ROLES.get(role)
    if organization_id is not None:
        organization = await Organization.get_or_none(id=organization_id)
    if wanted is not None:
        if organization is None or organization.kind != wanted:
            errors.append(
                UserError(
                    "organizationId",
                    f"{role.value} is held through a {wanted.value} organisation.",
                    "ORGANIZATION_REQUIRED",
                )
            )
        elif not _may_grant_through(context.caller, role, organization):
            raise Forbidden(f"You may not grant {role.value} in this organisation.")
        elif organization.unit_id != unit.id:
            errors.append(
                UserError(
                    "unitId",
                    "The role is held at the organisation's own unit.",
                    "UNIT_NOT_THE_ORGANIZATIONS",
                )
            )
        return unit, organization, errors

    if not _may_grant(context.caller, role, unit):
        raise Forbidden(f"You may not grant {role.value} at this unit.")
    if organization_id is not None and organization is None:
        errors.append(
            UserError("organizationId", "No such organisation.", "NO_ORGANIZATION")
        )
    return unit, organization, errors


async def create_person(
    context: Context,
    name: str,
    phone: str,
    password: str | None,
    role: Role,
    unit_id: int,
    organization_id: int | None = None,
    title: str = "",
) -> dict[str, Any]:
    """A staff or resident account, with its first role."""
    unit, organization, errors = await _check_grant(
        context, role, unit_id, organization_id
    )
    name, phone = name.strip(), phone.strip()
    if not 1 <= len(name) <= 50:
        errors.append(
            UserError("name", "Enter a name of 1 to 50 characters.", "INVALID_NAME")
        )
    if not PHONE.match(phone):
        errors.append(
            UserError(
                "phone", "Enter an 11-digit mainland mobile number.", "INVALID_PHONE"
            )
        )
    elif await Person.filter(phone=phone).exists():
        errors.append(
            UserError(
                "phone", "This phone number is already registered.", "PHONE_TAKEN"
            )
        )
    if password is not None and len(password) < MIN_PASSWORD:
        errors.append(
            UserError(
                "password",
                f"Choose at least {MIN_PASSWORD} characters.",
                "WEAK_PASSWORD",
            )
        )
    if errors:
        raise Invalid(errors)

    now = context.clock()
    async with write(context, "PERSON_CREATE") as work:
        person = await Person.create(
            name=name,
            phone=phone,
            password_hash=hash_password(password) if password else None,
        )
        await RoleAssignment.create(
            person=person,
            role=role,
            unit_id=unit.id,
            unit_path=unit.path,
            organization_id=organization.id if organization else None,
            title=title.strip()[:50],
            starts_at=now,
        )
        work.audit("Person", [person.id], unit.path, role=role.value)
        work.emit(
            Event(
                "org",
                "PERSON_CREATED",
                unit.path,
                "Person",
                person.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(Person, person.id)


async def assign_role(
    context: Context,
    person_id: int,
    role: Role,
    unit_id: int,
    organization_id: int | None = None,
    title: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> dict[str, Any]:
    person = await visible(Person, context.caller).get_or_none(id=person_id)
    if person is None:
        raise NotFound("No such person.")
    unit, organization, errors = await _check_grant(
        context, role, unit_id, organization_id
    )
    now = context.clock()
    starts = starts_at or now
    if ends_at is not None and ends_at <= starts:
        errors.append(
            UserError("endsAt", "The end must come after the start.", "INVALID_PERIOD")
        )
    duplicate = await RoleAssignment.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        person_id=person.id,
        role=role,
        unit_id=unit.id,
        organization_id=organization.id if organization else None,
    ).exists()
    if duplicate:
        errors.append(
            UserError(
                "role", "The person already holds this role here.", "ALREADY_HELD"
            )
        )
    if errors:
        raise Invalid(errors)

    async with write(context, "ROLE_ASSIGN") as work:
        assignment = await RoleAssignment.create(
            person_id=person.id,
            role=role,
            unit_id=unit.id,
            unit_path=unit.path,
            organization_id=organization.id if organization else None,
            title=title.strip()[:50],
            starts_at=starts,
            ends_at=ends_at,
        )
        work.audit("RoleAssignment", [assignment.id], unit.path, role=role.value)
        work.emit(
            Event(
                "org",
                "ROLE_ASSIGNED",
                unit.path,
                "RoleAssignment",
                assignment.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(RoleAssignment, assignment.id)


async def revoke_role(context: Context, assignment_id: int) -> dict[str, Any]:
    """End a role now; the record stays, with its period closed."""
    assignment = await visible(RoleAssignment, context.caller).get_or_none(
        id=assignment_id
    )
    if assignment is None:
        raise NotFound("No such role assignment.")
    unit = await OrgUnit.get(id=assignment.unit_id)
    organization = (
        await Organization.get(id=assignment.organization_id)
        if assignment.organization_id is not None
        else None
    )
    allowed = (
        _may_grant_through(context.caller, assignment.role, organization)
        if organization is not None and assignment.role in ORGANIZATION_ROLES
        else _may_grant(context.caller, assignment.role, unit)
    )
    if not allowed:
        raise Forbidden("You may not end this role.")
    now = context.clock()
    if assignment.ends_at is not None and assignment.ends_at <= now:
        raise Invalid(
            [UserError("id", "This role has already ended.", "ALREADY_ENDED")]
        )

    async with write(context, "ROLE_REVOKE") as work:
        assignment.ends_at = now
        await assignment.save(update_fields=["ends_at"])
        work.audit("RoleAssignment", [assignment.id], assignment.unit_path)
        work.emit(
            Event(
                "org",
                "ROLE_REVOKED",
                assignment.unit_path,
                "RoleAssignment",
                assignment.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(RoleAssignment, assignment.id)
