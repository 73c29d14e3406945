"""A small, hand-made world for API tests: two subdistricts, their communities,
an estate with its company and committee, and one person for every role.

    district /1/
    ├── subdistrict A /1/2/ ── community A1 /1/2/4/ (urban: estate E1, E2)
    │                      └── community A2 /1/2/5/ (village)
    └── subdistrict B /1/3/ ── community B1 /1/3/6/ (urban: estate E3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from models import (
    Building,
    Estate,
    EstateManagement,
    Household,
    HouseholdMember,
    Organization,
    OrgUnit,
    Person,
    RoleAssignment,
)
from models.enums import CommunityKind, Level, OrganizationKind, Role
from resolvers.passwords import hash_password

PASSWORD = "correct-horse-9"
PAST = datetime(2025, 1, 1, tzinfo=UTC)
_HASH: list[str] = []


def _password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


@dataclass
class World:
    units: dict[str, OrgUnit] = field(default_factory=dict)
    estates: dict[str, Estate] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)


async def _unit(
    world: World,
    key: str,
    name: str,
    level: Level,
    parent: OrgUnit | None,
    kind: CommunityKind | None = None,
) -> OrgUnit:
    unit = await OrgUnit.create(
        name=name,
        code=f"T-{key}",
        level=level,
        kind=kind,
        parent=parent,
        path="pending",
        depth=0 if parent is None else parent.depth + 1,
    )
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    await unit.save(update_fields=["path"])
    world.units[key] = unit
    return unit


async def add_person(
    world: World, key: str, name: str, phone: str, id_number: str | None = None
) -> Person:
    person = await Person.create(
        name=name,
        phone=phone,
        password_hash=_password_hash(),
        id_number=id_number,
        gender="F",
        birth_date=date(1960, 5, 1),
    )
    world.people[key] = person
    return person


async def grant(
    person: Person, role: Role, unit: OrgUnit, organization: Organization | None = None
) -> None:
    await RoleAssignment.create(
        person=person,
        role=role,
        unit=unit,
        unit_path=unit.path,
        organization=organization,
        starts_at=PAST,
    )


async def build_world() -> World:
    world = World()
    district = await _unit(world, "district", "测试区", Level.DISTRICT, None)
    sub_a = await _unit(world, "A", "甲街道", Level.SUBDISTRICT, district)
    sub_b = await _unit(world, "B", "乙街道", Level.SUBDISTRICT, district)
    a1 = await _unit(
        world, "A1", "甲一社区", Level.COMMUNITY, sub_a, CommunityKind.URBAN
    )
    await _unit(world, "A2", "甲二村", Level.COMMUNITY, sub_a, CommunityKind.VILLAGE)
    b1 = await _unit(
        world, "B1", "乙一社区", Level.COMMUNITY, sub_b, CommunityKind.URBAN
    )

    for key, name, unit in (
        ("E1", "湖景苑", a1),
        ("E2", "江月苑", a1),
        ("E3", "山水苑", b1),
    ):
        world.estates[key] = await Estate.create(
            unit=unit, unit_path=unit.path, name=name
        )

    company = await Organization.create(
        kind=OrganizationKind.PROPERTY_COMPANY,
        name="甲物业",
        unit=district,
        unit_path=district.path,
    )
    other_company = await Organization.create(
        kind=OrganizationKind.PROPERTY_COMPANY,
        name="乙物业",
        unit=district,
        unit_path=district.path,
    )
    committee = await Organization.create(
        kind=OrganizationKind.OWNERS_COMMITTEE,
        name="湖景苑业委会",
        unit=a1,
        unit_path=a1.path,
        estate=world.estates["E1"],
    )
    world.organizations.update(
        company=company, other_company=other_company, committee=committee
    )
    await EstateManagement.create(
        company=company, estate=world.estates["E1"], starts_on=date(2024, 1, 1)
    )
    await EstateManagement.create(
        company=other_company, estate=world.estates["E3"], starts_on=date(2024, 1, 1)
    )

    building = await Building.create(
        estate=world.estates["E1"], unit_path=a1.path, name="1幢"
    )
    home_a1 = await Household.create(
        unit=a1, unit_path=a1.path, building=building, address="湖景苑 1幢 101室"
    )
    home_b1 = await Household.create(unit=b1, unit_path=b1.path, address="乙一社区 8号")
    world.households.update(a1=home_a1, b1=home_b1)

    admin = await add_person(world, "admin", "管理员", "13900000001")
    await grant(admin, Role.ADMIN, district)
    official_district = await add_person(
        world, "official_district", "区干部", "13900000002"
    )
    await grant(official_district, Role.OFFICIAL, district)
    official_a = await add_person(world, "official_a", "甲街道干部", "13900000003")
    await grant(official_a, Role.OFFICIAL, sub_a)
    official_b = await add_person(world, "official_b", "乙街道干部", "13900000004")
    await grant(official_b, Role.OFFICIAL, sub_b)
    cadre_a1 = await add_person(world, "cadre_a1", "甲一书记", "13900000005")
    await grant(cadre_a1, Role.CADRE, a1)
    cadre_b1 = await add_person(world, "cadre_b1", "乙一书记", "13900000006")
    await grant(cadre_b1, Role.CADRE, b1)
    company_staff = await add_person(world, "company_staff", "物业员工", "13900000007")
    await grant(company_staff, Role.PROPERTY_COMPANY, district, company)
    committee_member = await add_person(
        world, "committee_member", "业委会委员", "13900000008"
    )
    await grant(committee_member, Role.OWNERS_COMMITTEE, a1, committee)

    resident_a1 = await add_person(
        world, "resident_a1", "甲一居民", "13900000009", "330304196005010028"
    )
    await grant(resident_a1, Role.RESIDENT, a1)
    await HouseholdMember.create(
        person=resident_a1,
        household=home_a1,
        unit_path=a1.path,
        relation="户主",
        is_owner=True,
        starts_on=date(2020, 1, 1),
    )
    resident_b1 = await add_person(
        world, "resident_b1", "乙一居民", "13900000010", "330304196005010044"
    )
    await grant(resident_b1, Role.RESIDENT, b1)
    await HouseholdMember.create(
        person=resident_b1,
        household=home_b1,
        unit_path=b1.path,
        relation="户主",
        starts_on=date(2020, 1, 1),
    )
    return world
