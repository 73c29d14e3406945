"""The org hierarchy in the schema: units, estates, buildings, households and
organisations."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from models import Building as BuildingModel
from models import Estate as EstateModel
from models import EstateManagement as EstateManagementModel
from models import Household as HouseholdModel
from models import HouseholdMember as HouseholdMemberModel
from models import Organization as OrganizationModel
from models import OrgUnit as OrgUnitModel
from models.enums import CommunityKind, Level, OrganizationKind, Role
from permissions.errors import NotFound
from permissions.rules import ANYONE, STAFF, VISIBLE, HasRole, InJurisdiction
from permissions.scope import visible
from resolvers import org as org_rules
from resolvers.base import Invalid
from resolvers.live import changes_under
from resolvers.loaders import by_id, children_of, columns
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    encode_id,
    failed,
    field,
    one,
    payload,
    rows,
    structural,
)
from schema.node import register_node
from schema.relations import Page, page_of, paged, related

if TYPE_CHECKING:
    from schema.person import HouseholdMember, Person

LevelType = strawberry.enum(Level, description="A level of the org hierarchy.")
CommunityKindType = strawberry.enum(
    CommunityKind, description="A village (村) or an urban community (社区)."
)
OrganizationKindType = strawberry.enum(
    OrganizationKind, description="What an organisation attached to a unit is."
)
STAFF_HERE = InJurisdiction(Role.ADMIN, Role.OFFICIAL, Role.CADRE, key="path")
HOUSEHOLDS = Page(HouseholdModel, key="unit_id")


@strawberry.type(description="A node of the org hierarchy: the unit of jurisdiction.")
class OrgUnit(Node):
    name: str = field(VISIBLE, "The official name, e.g. 新桥街道.")
    code: str = field(VISIBLE, "The administrative code.")
    level: LevelType = field(VISIBLE, "Province to grid.")  # type: ignore[valid-type]
    kind: CommunityKindType | None = field(  # type: ignore[valid-type]
        VISIBLE, "For communities: village or urban."
    )
    depth: int = field(VISIBLE, "0 for the root of the tree.")

    parent: OrgUnit | None = related(
        VISIBLE, "The unit above, if any.", OrgUnitModel, source="parent_id", many=False
    )
    children: list[OrgUnit] = related(
        VISIBLE, "The units directly below, by id.", OrgUnitModel, key="parent_id"
    )
    estates: list[Estate] = related(
        VISIBLE, "Estates (小区) of this unit.", EstateModel, key="unit_id"
    )

    @field(VISIBLE, "Organisations attached to this unit.")
    async def organizations(
        self,
        info: AppInfo,
        kind: OrganizationKindType | None = None,  # type: ignore[valid-type]
    ) -> list[Organization]:
        loader = children_of(info.context, OrganizationModel, "unit_id")
        found = await loader.load(as_row(self)["id"])
        return rows(
            Organization, (o for o in found if kind is None or o["kind"] == kind)
        )

    @paged(
        VISIBLE,
        "The households of this community that the caller may see, a page at a time.",
        HOUSEHOLDS,
    )
    async def households(
        self, info: AppInfo, first: int = 20, after: str | None = None
    ) -> Connection[Household]:
        page: Any = await page_of(info.context, HOUSEHOLDS, as_row(self), first, after)
        return page  # type: ignore[no-any-return]

    @field(STAFF_HERE, "People living or holding a role in this unit's subtree.")
    async def people(
        self,
        info: AppInfo,
        first: int = 50,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Annotated[Person, strawberry.lazy("schema.person")]] | None:
        from resolvers.person import people_query

        queryset = people_query(info.context.caller, as_row(self)["path"], search)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


@strawberry.type(description="A residential estate (小区) inside a community.")
class Estate(Node):
    name: str = field(VISIBLE, "The estate's name.")
    address: str = field(VISIBLE, "Its street address.")
    built_year: int | None = field(VISIBLE, "The year it was completed.")

    community: OrgUnit | None = related(
        VISIBLE,
        "The community it belongs to.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )
    buildings: list[Building] = related(
        VISIBLE, "Its buildings (楼栋).", BuildingModel, key="estate_id"
    )
    managements: list[EstateManagement] = related(
        VISIBLE,
        "Which property companies manage it, over which periods.",
        EstateManagementModel,
        key="estate_id",
    )


@strawberry.type(description="A building of an estate.")
class Building(Node):
    name: str = field(VISIBLE, "Its name, e.g. 3幢.")
    floors: int = field(VISIBLE, "Floors above ground.")

    estate: Estate | None = related(
        VISIBLE, "The estate it stands in.", EstateModel, source="estate_id", many=False
    )
    households: list[Household] = related(
        VISIBLE,
        "Its households that the caller may see.",
        HouseholdModel,
        key="building_id",
    )


@strawberry.type(description="A household (户): a dwelling and the people in it.")
class Household(Node):
    address: str = field(VISIBLE, "The dwelling's address.")

    community: OrgUnit | None = related(
        VISIBLE,
        "The community it belongs to.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )
    building: Building | None = related(
        VISIBLE,
        "The building, in an estate.",
        BuildingModel,
        source="building_id",
        many=False,
    )
    members: list[Annotated[HouseholdMember, strawberry.lazy("schema.person")]] = (
        related(
            VISIBLE,
            "Its members that the caller may see.",
            HouseholdMemberModel,
            key="household_id",
        )
    )


@strawberry.type(description="An organisation attached to a unit.")
class Organization(Node):
    kind: OrganizationKindType = field(VISIBLE, "What it is.")  # type: ignore[valid-type]
    name: str = field(VISIBLE, "Its registered name.")
    credit_code: str | None = field(VISIBLE, "The unified social credit code.")

    unit: OrgUnit | None = related(
        VISIBLE,
        "The unit it is attached to.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )
    estate: Estate | None = related(
        VISIBLE,
        "For an owners' committee: its estate.",
        EstateModel,
        source="estate_id",
        many=False,
    )
    managements: list[EstateManagement] = related(
        VISIBLE,
        "For a property company: the estates it manages or managed.",
        EstateManagementModel,
        key="company_id",
    )


@strawberry.type(description="A property company manages an estate over a period.")
class EstateManagement:
    starts_on: date = field(VISIBLE, "The first day.")
    ends_on: date | None = field(VISIBLE, "The day it ended; null while it lasts.")

    company: Organization | None = related(
        VISIBLE, "The company.", OrganizationModel, source="company_id", many=False
    )
    estate: Estate | None = related(
        VISIBLE, "The estate.", EstateModel, source="estate_id", many=False
    )


for _name, _model in (
    ("OrgUnit", OrgUnitModel),
    ("Estate", EstateModel),
    ("Building", BuildingModel),
    ("Household", HouseholdModel),
    ("Organization", OrganizationModel),
):
    register_node(_name, _model)


async def _unit_path(info: AppInfo, unit_id: strawberry.ID | None) -> str | None:
    if unit_id is None:
        return None
    _, pk = decode_id(unit_id, "OrgUnit")
    unit = await visible(OrgUnitModel, info.context.caller).get_or_none(id=pk)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    return unit.path


@strawberry.type
class OrgQuery:
    @field(ANYONE, "A unit by id.")
    async def org_unit(self, info: AppInfo, id: strawberry.ID) -> OrgUnit | None:
        _, pk = decode_id(id, "OrgUnit")
        return one(OrgUnit, await by_id(info.context, OrgUnitModel).load(pk))

    @field(ANYONE, "The top units of the tree (those with no parent).")
    async def org_roots(self, info: AppInfo) -> list[OrgUnit]:
        found = (
            await visible(OrgUnitModel, info.context.caller)
            .filter(parent_id__isnull=True)
            .order_by("id")
            .values(*columns(OrgUnitModel))
        )
        return rows(OrgUnit, found)

    @field(ANYONE, "Units, filtered by level, parent or name.")
    async def org_units(
        self,
        info: AppInfo,
        level: LevelType | None = None,  # type: ignore[valid-type]
        parent_id: strawberry.ID | None = None,
        search: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[OrgUnit]:
        parent = decode_id(parent_id, "OrgUnit")[1] if parent_id else None
        queryset = org_rules.org_units_query(info.context.caller, level, parent, search)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(ANYONE, "Estates, all or under one unit.")
    async def estates(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Estate]:
        path = await _unit_path(info, unit_id)
        queryset = org_rules.estates_query(info.context.caller, path)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(ANYONE, "Organisations, all or under one unit, of one kind or all.")
    async def organizations(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        kind: OrganizationKindType | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Organization]:
        path = await _unit_path(info, unit_id)
        queryset = org_rules.organizations_query(info.context.caller, path, kind)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


@structural
@strawberry.type
class OrgUnitCreatePayload:
    errors: list[UserErrorType]
    org_unit: OrgUnit | None


@strawberry.input(description="A new unit under an existing one.")
class OrgUnitCreateInput:
    parent_id: strawberry.ID
    name: str
    code: str
    kind: CommunityKindType | None = None  # type: ignore[valid-type]


@strawberry.type
class OrgMutation:
    @field(
        HasRole(Role.ADMIN, Role.OFFICIAL),
        "Add a unit one level below `parentId` (officials at or above it).",
    )
    async def org_unit_create(
        self, info: AppInfo, input: OrgUnitCreateInput
    ) -> OrgUnitCreatePayload:
        _, parent = decode_id(input.parent_id, "OrgUnit")
        try:
            row = await org_rules.create_org_unit(
                info.context, parent, input.name, input.code, input.kind
            )
        except Invalid as invalid:
            return failed(invalid, "org_unit")  # type: ignore[no-any-return]
        return payload(org_unit=row)  # type: ignore[no-any-return]


@strawberry.type(description="Something changed under a unit.")
class OrgChange:
    kind: str = field(VISIBLE, "What changed, e.g. PERSON_CREATED.")
    subject_type: str = field(VISIBLE, "The type of the changed object.")
    subject_id: strawberry.ID = field(VISIBLE, "The changed object's global id.")
    at: datetime = field(VISIBLE, "When it changed.")

    @field(VISIBLE, "The unit where it changed.")
    async def unit(self, info: AppInfo) -> OrgUnit | None:
        path: str = as_row(self)["unit_path"]
        unit_id = int(path.rstrip("/").rsplit("/", 1)[-1])
        return one(OrgUnit, await by_id(info.context, OrgUnitModel).load(unit_id))


@strawberry.type
class OrgSubscription:
    @field(
        STAFF,
        "Changes under a unit the caller has jurisdiction over.",
        is_subscription=True,
    )
    async def org_changes(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> AsyncGenerator[OrgChange, None]:
        _, pk = decode_id(unit_id, "OrgUnit")
        async for event in changes_under(info.context, "org", pk):
            yield {  # type: ignore[misc]
                "kind": event.kind,
                "subject_type": event.subject_type,
                "subject_id": encode_id(event.subject_type, event.subject_id),
                "at": event.at,
                "unit_path": event.unit_path,
            }
