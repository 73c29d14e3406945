"""People, their roles and households; the viewer; staff accounts and role grants."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from models import Household as HouseholdModel
from models import HouseholdMember as HouseholdMemberModel
from models import Organization as OrganizationModel
from models import OrgUnit as OrgUnitModel
from models import Person as PersonModel
from models import RoleAssignment as RoleAssignmentModel
from models.enums import Role
from permissions.rules import (
    ANYONE,
    SIGNED_IN,
    STAFF,
    VISIBLE,
    Own,
    Sensitive,
    mask_id_number,
    mask_phone,
)
from resolvers import person as person_rules
from resolvers.base import Invalid
from resolvers.loaders import by_id
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    decode_id,
    failed,
    field,
    one,
    payload,
    structural,
)
from schema.node import register_node
from schema.org import Household, Organization, OrgUnit
from schema.relations import related

RoleType = strawberry.enum(Role, description="A role a person holds at a unit.")

# Row scoping already limits people to the caller's own record and jurisdiction;
# these rules say which of the fields of a visible person each role may read.
SELF_OR_STAFF = Own("id") | STAFF
PHONE_RULE = Sensitive(SELF_OR_STAFF, mask_phone)
ID_NUMBER_RULE = Sensitive(SELF_OR_STAFF, mask_id_number)
BIRTH_RULE = Sensitive(SELF_OR_STAFF)


@strawberry.type(description="A person: a resident, a member of staff, or both.")
class Person(Node):
    name: str = field(VISIBLE, "The person's name.")
    phone: str | None = field(PHONE_RULE, "The mobile number.")
    id_number: str | None = field(ID_NUMBER_RULE, "The resident ID number.")
    gender: str | None = field(SELF_OR_STAFF, "M or F.")
    birth_date: date | None = field(BIRTH_RULE, "The date of birth.")
    is_active: bool | None = field(SELF_OR_STAFF, "Whether the account may sign in.")

    roles: list[RoleAssignment] = related(
        VISIBLE,
        "The roles the person holds, where the caller may see them.",
        RoleAssignmentModel,
        key="person_id",
    )
    households: list[HouseholdMember] = related(
        VISIBLE,
        "The households the person belongs to, where the caller may see them.",
        HouseholdMemberModel,
        key="person_id",
    )


@strawberry.type(description="A person holds a role at a unit, over a period.")
class RoleAssignment(Node):
    role: RoleType = field(VISIBLE, "The role.")  # type: ignore[valid-type]
    title: str = field(VISIBLE, "The post, e.g. 书记.")
    starts_at: datetime = field(VISIBLE, "From when.")
    ends_at: datetime | None = field(VISIBLE, "Until when; null while it lasts.")

    person: Person | None = related(
        VISIBLE, "Who holds it.", PersonModel, source="person_id", many=False
    )
    unit: OrgUnit | None = related(
        VISIBLE, "Where it is held.", OrgUnitModel, source="unit_id", many=False
    )
    organization: Organization | None = related(
        VISIBLE,
        "Through which organisation, for company and committee roles.",
        OrganizationModel,
        source="organization_id",
        many=False,
    )


@strawberry.type(description="A person's membership of a household.")
class HouseholdMember:
    relation: str = field(VISIBLE, "Relation to the householder, e.g. 户主.")
    is_owner: bool = field(VISIBLE, "Whether the person owns the dwelling.")
    starts_on: date = field(VISIBLE, "Since when.")
    ends_on: date | None = field(VISIBLE, "Until when; null while it lasts.")

    person: Person | None = related(
        VISIBLE,
        "The person, if the caller may see them.",
        PersonModel,
        source="person_id",
        many=False,
    )
    household: Household | None = related(
        VISIBLE,
        "The household, if the caller may see it.",
        HouseholdModel,
        source="household_id",
        many=False,
    )


@structural
@strawberry.type(description="One role of the viewer, where it is held.")
class ViewerGrant:
    role: RoleType  # type: ignore[valid-type]

    unit: OrgUnit | None = related(
        VISIBLE,
        "The unit where the role is held.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )
    organization: Organization | None = related(
        VISIBLE,
        "The organisation, for company and committee roles.",
        OrganizationModel,
        source="organization_id",
        many=False,
    )


@structural
@strawberry.type(description="Who is asking: the signed-in person or API token.")
class Viewer:
    is_signed_in: bool
    is_api_token: bool
    grants: list[ViewerGrant]

    @strawberry.field(description="The signed-in person's own record.")
    async def person(self, info: AppInfo) -> Person | None:
        person_id = info.context.caller.person_id
        if person_id is None:
            return None
        return one(Person, await by_id(info.context, PersonModel).load(person_id))


register_node("Person", PersonModel)
register_node("RoleAssignment", RoleAssignmentModel)


@strawberry.type
class PersonQuery:
    @field(ANYONE, "Who is asking, and with which roles.")
    def viewer(self, info: AppInfo) -> Viewer:
        caller = info.context.caller
        grants = [
            {"role": g.role, "unit_id": g.unit_id, "organization_id": g.organization_id}
            for g in caller.grants
        ]
        return {  # type: ignore[return-value]
            "is_signed_in": caller.person_id is not None,
            "is_api_token": caller.token_id is not None,
            "grants": grants,
        }

    @field(SIGNED_IN, "A person by id, if the caller may see them.")
    async def person(self, info: AppInfo, id: strawberry.ID) -> Person | None:
        _, pk = decode_id(id, "Person")
        return one(Person, await by_id(info.context, PersonModel).load(pk))

    @field(STAFF, "People in the caller's jurisdiction, all or under one unit.")
    async def people(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        search: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Person]:
        from schema.org import _unit_path

        path = await _unit_path(info, unit_id)
        queryset = person_rules.people_query(info.context.caller, path, search)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


@strawberry.input(description="A new account and its first role.")
class PersonCreateInput:
    name: str
    phone: str
    role: RoleType  # type: ignore[valid-type]
    unit_id: strawberry.ID
    password: str | None = None
    organization_id: strawberry.ID | None = None
    title: str = ""


@strawberry.input(description="A role to grant to an existing person.")
class RoleAssignInput:
    person_id: strawberry.ID
    role: RoleType  # type: ignore[valid-type]
    unit_id: strawberry.ID
    organization_id: strawberry.ID | None = None
    title: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@structural
@strawberry.type
class PersonCreatePayload:
    errors: list[UserErrorType]
    person: Person | None


@structural
@strawberry.type
class RoleAssignmentPayload:
    errors: list[UserErrorType]
    role_assignment: RoleAssignment | None


def _optional_id(value: strawberry.ID | None, type_name: str) -> int | None:
    return decode_id(value, type_name)[1] if value else None


@strawberry.type
class PersonMutation:
    @field(
        STAFF, "Create an account with its first role (granted from the unit above)."
    )
    async def person_create(
        self, info: AppInfo, input: PersonCreateInput
    ) -> PersonCreatePayload:
        try:
            row = await person_rules.create_person(
                info.context,
                input.name,
                input.phone,
                input.password,
                Role(input.role),
                decode_id(input.unit_id, "OrgUnit")[1],
                _optional_id(input.organization_id, "Organization"),
                input.title,
            )
        except Invalid as invalid:
            return failed(invalid, "person")  # type: ignore[no-any-return]
        return payload(person=row)  # type: ignore[no-any-return]

    @field(
        STAFF,
        "Grant a role to a person (from the unit above, or a cadre for residents).",
    )
    async def role_assign(
        self, info: AppInfo, input: RoleAssignInput
    ) -> RoleAssignmentPayload:
        try:
            row = await person_rules.assign_role(
                info.context,
                decode_id(input.person_id, "Person")[1],
                Role(input.role),
                decode_id(input.unit_id, "OrgUnit")[1],
                _optional_id(input.organization_id, "Organization"),
                input.title,
                input.starts_at,
                input.ends_at,
            )
        except Invalid as invalid:
            return failed(invalid, "role_assignment")  # type: ignore[no-any-return]
        return payload(role_assignment=row)  # type: ignore[no-any-return]

    @field(STAFF, "End a role now; its record stays with the period closed.")
    async def role_revoke(
        self, info: AppInfo, id: strawberry.ID
    ) -> RoleAssignmentPayload:
        try:
            row = await person_rules.revoke_role(
                info.context, decode_id(id, "RoleAssignment")[1]
            )
        except Invalid as invalid:
            return failed(invalid, "role_assignment")  # type: ignore[no-any-return]
        return payload(role_assignment=row)  # type: ignore[no-any-return]
