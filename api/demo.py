"""Deterministic demo data: the Ouhai district of the pilots, or all of Zhejiang.

``load_demo`` fills an empty database with invented but plausible rows: the org
hierarchy from 浙江省 down to grids; estates, buildings and households; people with
valid resident ID numbers; the organisations of each community; and the staff who
hold roles in them. One scale and seed always give the same rows, ids included:
nothing reads the clock or the global random generator, and every period is
reckoned back from ``REFERENCE_DATE``.

Scales:

- ``small``: the three named communities and little around them, for fast tests;
- ``district``: Ouhai with its 13 subdistricts and about 250 communities, the demo;
- ``province``: that Ouhai inside all of Zhejiang (about 27,000 communities), with
  units, estates and organisations elsewhere but few people, for benchmarks.

The accounts of ``DEMO_ACCOUNTS`` exist at every scale and log in with
``DEMO_PASSWORD``; nobody else has a password. All names, numbers and addresses are
invented, except the names of real places and of the two pilots.
"""

from __future__ import annotations

import logging
import random
import time as clock
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from api.demo_care import load_care_demo
from api.demo_content import demo_posts
from api.demo_estates import load_estate_demo
from api.demo_requests import load_demo_requests
from api.demo_tasks import load_tasks_demo
from models import (
    Building,
    CommunityKind,
    Estate,
    EstateManagement,
    Household,
    HouseholdMember,
    Level,
    Organization,
    OrganizationKind,
    OrgUnit,
    Person,
    Post,
    RequestStep,
    Role,
    RoleAssignment,
    ServiceRequest,
)
from resolvers.context import DEVELOPMENT_ID_KEY
from resolvers.idnumber import check_digit as id_check_digit
from resolvers.passwords import hash_password

__all__ = [
    "DEFAULT_SEED",
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "REFERENCE_DATE",
    "SCALES",
    "DemoAccount",
    "DemoSummary",
    "credit_code_check_char",
    "database_is_empty",
    "id_check_digit",
    "load_demo",
]

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20261203
DEMO_PASSWORD = "Demo-2026"

# Periods (role starts, moves, managements) are days before this date.
REFERENCE_DATE = date(2026, 12, 1)
_CREATED_AT = datetime(2026, 12, 1, tzinfo=UTC)

_BATCH_SIZE = 1000
_OUHAI_CODE = "330304"


# -- public types ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A documented demo user: log in with ``phone`` and ``password``."""

    phone: str
    password: str
    role: Role
    where: str  # the unit or organisation where the role is held
    name: str
    note: str
    home: str = ""  # the household address, for accounts that live somewhere


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """How many rows of each kind a load inserted."""

    provinces: int
    cities: int
    districts: int
    subdistricts: int
    communities: int
    grids: int
    estates: int
    buildings: int
    households: int
    people: int
    household_members: int
    organizations: int
    estate_managements: int
    role_assignments: int

    @property
    def units(self) -> int:
        return (
            self.provinces
            + self.cities
            + self.districts
            + self.subdistricts
            + self.communities
            + self.grids
        )


_COMPANY_OF_WANGHU = "温州瓯悦物业服务有限公司"

DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "13900000001",
        DEMO_PASSWORD,
        Role.ADMIN,
        "浙江省",
        "林海峰",
        "Platform operator; sees and manages everything.",
    ),
    DemoAccount(
        "13900000002",
        DEMO_PASSWORD,
        Role.OFFICIAL,
        "瓯海区",
        "陈建国",
        "District official (副区长); sees the whole district.",
    ),
    DemoAccount(
        "13900000003",
        DEMO_PASSWORD,
        Role.OFFICIAL,
        "新桥街道",
        "周丽华",
        "Subdistrict official (党工委书记) of the pilots' subdistrict.",
    ),
    DemoAccount(
        "13900000004",
        DEMO_PASSWORD,
        Role.CADRE,
        "新桥社区",
        "黄志强",
        "书记 of the urban pilot.",
    ),
    DemoAccount(
        "13900000005",
        DEMO_PASSWORD,
        Role.CADRE,
        "五社村",
        "吴玉兰",
        "书记 of the village pilot.",
    ),
    DemoAccount(
        "13900000006",
        DEMO_PASSWORD,
        Role.CADRE,
        "景山社区",
        "郑晓东",
        "书记 of a community in another subdistrict (景山街道); sees no pilot data.",
    ),
    DemoAccount(
        "13900000007",
        DEMO_PASSWORD,
        Role.PROPERTY_COMPANY,
        _COMPANY_OF_WANGHU,
        "潘伟",
        "项目经理 of the company managing 望湖锦苑 (and other estates); "
        "another company managed 望湖锦苑 before.",
    ),
    DemoAccount(
        "13900000008",
        DEMO_PASSWORD,
        Role.OWNERS_COMMITTEE,
        "望湖锦苑业主委员会",
        "徐静",
        "主任 of the owners' committee; also a resident and owner in 望湖锦苑.",
        "望湖锦苑 1幢 601室",
    ),
    DemoAccount(
        "13900000009",
        DEMO_PASSWORD,
        Role.RESIDENT,
        "新桥社区",
        "李明",
        "Resident of the urban pilot, householder and owner in 望湖锦苑.",
        "望湖锦苑 3幢 1202室",
    ),
    DemoAccount(
        "13900000010",
        DEMO_PASSWORD,
        Role.RESIDENT,
        "五社村",
        "张秀英",
        "Villager of the village pilot, householder.",
        "五社村 23号",
    ),
    DemoAccount(
        "13900000011",
        DEMO_PASSWORD,
        Role.OFFICIAL,
        "瓯海区民政局",
        "王芳",
        "Staff of the district's civil affairs department (at the district unit).",
    ),
)

_DEMO_GENDERS = {
    "13900000001": "M",
    "13900000002": "M",
    "13900000003": "F",
    "13900000004": "M",
    "13900000005": "F",
    "13900000006": "M",
    "13900000007": "M",
    "13900000008": "F",
    "13900000009": "M",
    "13900000010": "F",
    "13900000011": "F",
}

_ACCOUNTS_BY_PLACE = {(a.role, a.where): a for a in DEMO_ACCOUNTS}
_ACCOUNTS_BY_HOME = {a.home: a for a in DEMO_ACCOUNTS if a.home}
_COMMITTEE_HOMES = frozenset(
    a.home for a in DEMO_ACCOUNTS if a.role == Role.OWNERS_COMMITTEE
)


# -- check characters -----------------------------------------------------------


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code_check_char(first17: str) -> str:
    """The check character of a unified social credit code (GB 32100, mod 31)."""
    values = [_CREDIT_CHARS.index(c) for c in first17]
    total = sum(v * w for v, w in zip(values, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def _org_code_check_char(body8: str) -> str:
    # GB 11714: the ninth character of the organisation code inside a credit code.
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


# -- names ----------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷"
    "龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤"
)
# Commoner in Wenzhou than in the country's ranking.
_LOCAL_SURNAMES = "陈林黄周吴郑潘金叶王"
_SURNAME_WEIGHTS = tuple(
    accumulate(
        (2.5 if s in _LOCAL_SURNAMES else 1.0) / (rank + 3)
        for rank, s in enumerate(_SURNAMES)
    )
)
_MALE_CHARS = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国志文海东兴良峰成"
    "晨睿博轩豪鸿宏立新永德荣庆福金昌忠诚毅乐泽锦晓子家嘉振天"
)
_FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞玲燕萍红琴云莲洁婷雪慧颖琳倩晶欣怡佳悦梅兰英秀珍凤彩春月美丹雅"
    "琪萱璐晓思雨梦诗可嘉淑素文秋玉桂翠"
)

_PLACE_FIRST = (
    "东西南北上下前后中新大小高长塘山岙桥溪湖江洋垟石竹梅桃杨柳茶林金龙凤云瑞安康福寿"
    "兴宁和平泰丰华盛岩桐枫樟松柏双三五六七九白黄青"
)
_PLACE_SECOND = "头底岙垟山湖桥塘浦溪坑田湾屿岭源里园庄埭港门洲坪坦岩林口渡岗"
_URBAN_SECOND = "华安兴和康园景阳光明苑城湖江桥港新乐悦"


def _pairs(text: str) -> tuple[str, ...]:
    # Word lists of two-character words are written as one run of characters.
    return tuple(text[i : i + 2] for i in range(0, len(text), 2))


_ESTATE_WORDS = _pairs(
    "锦绣翠湖阳光金色东方瓯江滨江明珠春晖丽景海棠紫荆香樟银杏桂花翡翠水岸星河云锦清风"
    "晨曦景湖幸福和平安康瑞丰嘉禾御景泰和新城江南南湖聚福万福鸿运书香怡和雅居惠民春江"
    "秋实碧水绿洲金桥银河天河梧桐紫薇枫林松涛荷塘雁荡塘河月湖"
)
_ESTATE_SUFFIXES = (
    *_pairs("花园家园小区公寓华府名邸华庭新村锦园雅苑嘉园公馆佳苑"),
    "苑",
    "府",
    "湾",
)

_COMPANY_WORDS = _pairs(
    "瓯悦锦程恒安嘉和瑞丰安居宜嘉鸿福东瓯华庭诚信天和民安欣家永宁康泰悦居佳宁和润福源"
    "盛世安邦金瓯益家乐邻城安汇丰泰和邻里众诚"
)

# Mobile network prefixes in use.
_MOBILE_PREFIXES = tuple(
    f"1{n}"
    for n in (*range(30, 40), *range(50, 60), 66, 76, 77, 78, *range(80, 90), 98)
)

_GRID_NAMES = ("第一网格", "第二网格", "第三网格", "第四网格")


# -- the plan of a scale --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Subdistrict:
    number: int  # the last three digits of its code, from the official order
    name: str
    communities: int  # the named communities included
    urban: int


@dataclass(frozen=True, slots=True)
class _Named:
    # A community the demo needs by name, with the estates it must have.

    name: str
    kind: CommunityKind
    estates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Scale:
    subdistricts: tuple[_Subdistrict, ...]
    province: bool  # all of Zhejiang around Ouhai
    companies: int
    estates: tuple[int, int]  # per urban community
    buildings: tuple[int, int]  # per estate
    village_households: tuple[int, int]
    occupancy: float  # the share of households with registered people
    pilot_occupancy: float
    pilot_extra_estates: int  # generated estates of 新桥社区 beside the named two
    pilot_estates: dict[str, tuple[int, int, int]]  # buildings, floors, rooms
    pilot_village_households: int


_OUHAI: tuple[_Subdistrict, ...] = (
    _Subdistrict(1, "景山街道", 18, 7),
    _Subdistrict(2, "新桥街道", 16, 4),
    _Subdistrict(3, "娄桥街道", 20, 3),
    _Subdistrict(4, "南白象街道", 22, 3),
    _Subdistrict(5, "茶山街道", 18, 2),
    _Subdistrict(6, "三垟街道", 12, 1),
    _Subdistrict(7, "潘桥街道", 20, 2),
    _Subdistrict(8, "郭溪街道", 22, 1),
    _Subdistrict(9, "梧田街道", 24, 6),
    _Subdistrict(10, "瞿溪街道", 18, 2),
    _Subdistrict(11, "仙岩街道", 20, 1),
    _Subdistrict(12, "丽岙街道", 16, 1),
    _Subdistrict(13, "泽雅镇", 24, 0),
)

_NAMED_COMMUNITIES: dict[str, tuple[_Named, ...]] = {
    "景山街道": (_Named("景山社区", CommunityKind.URBAN),),
    "新桥街道": (
        _Named("新桥社区", CommunityKind.URBAN, ("望湖锦苑", "西江月")),
        _Named("五社村", CommunityKind.VILLAGE),
    ),
}
_PILOTS = frozenset({"新桥社区", "五社村"})

_DISTRICT_SCALE = _Scale(
    subdistricts=_OUHAI,
    province=False,
    companies=15,
    estates=(2, 6),
    buildings=(4, 12),
    village_households=(30, 90),
    occupancy=0.1,
    pilot_occupancy=0.6,
    pilot_extra_estates=2,
    pilot_estates={"望湖锦苑": (10, 18, 2), "西江月": (6, 24, 3)},
    pilot_village_households=280,
)

SCALES: dict[str, _Scale] = {
    "small": _Scale(
        subdistricts=(
            _Subdistrict(1, "景山街道", 2, 1),
            _Subdistrict(2, "新桥街道", 3, 1),
        ),
        province=False,
        companies=2,
        estates=(1, 2),
        buildings=(2, 3),
        village_households=(8, 12),
        occupancy=0.3,
        pilot_occupancy=0.3,
        pilot_extra_estates=0,
        pilot_estates={"望湖锦苑": (3, 12, 2), "西江月": (2, 6, 2)},
        pilot_village_households=30,
    ),
    "district": _DISTRICT_SCALE,
    "province": replace(_DISTRICT_SCALE, province=True),
}

# Zhejiang's cities, each with its districts, counties and county-level cities as
# the last two digits of their code and their name.
_ZHEJIANG: tuple[tuple[str, str, str], ...] = (
    (
        "3301",
        "杭州市",
        (
            "02上城区 05拱墅区 06西湖区 08滨江区 09萧山区 10余杭区 11富阳区 "
            "12临安区 13临平区 14钱塘区 22桐庐县 27淳安县 82建德市"
        ),
    ),
    (
        "3302",
        "宁波市",
        (
            "03海曙区 05江北区 06北仑区 11镇海区 12鄞州区 13奉化区 25象山县 "
            "26宁海县 81余姚市 82慈溪市"
        ),
    ),
    (
        "3303",
        "温州市",
        (
            "02鹿城区 03龙湾区 04瓯海区 05洞头区 24永嘉县 26平阳县 27苍南县 "
            "28文成县 29泰顺县 81瑞安市 82乐清市 83龙港市"
        ),
    ),
    (
        "3304",
        "嘉兴市",
        "02南湖区 11秀洲区 21嘉善县 24海盐县 81海宁市 82平湖市 83桐乡市",
    ),
    (
        "3305",
        "湖州市",
        "02吴兴区 03南浔区 21德清县 22长兴县 23安吉县",
    ),
    (
        "3306",
        "绍兴市",
        "02越城区 03柯桥区 04上虞区 24新昌县 81诸暨市 83嵊州市",
    ),
    (
        "3307",
        "金华市",
        (
            "02婺城区 03金东区 23武义县 26浦江县 27磐安县 81兰溪市 82义乌市 "
            "83东阳市 84永康市"
        ),
    ),
    (
        "3308",
        "衢州市",
        "02柯城区 03衢江区 22常山县 24开化县 25龙游县 81江山市",
    ),
    (
        "3309",
        "舟山市",
        "02定海区 03普陀区 21岱山县 22嵊泗县",
    ),
    (
        "3310",
        "台州市",
        (
            "02椒江区 03黄岩区 04路桥区 22三门县 23天台县 24仙居县 81温岭市 "
            "82临海市 83玉环市"
        ),
    ),
    (
        "3311",
        "丽水市",
        (
            "02莲都区 21青田县 22缙云县 23遂昌县 24松阳县 25云和县 26庆元县 "
            "27景宁畲族自治县 81龙泉市"
        ),
    ),
)

_DEPARTMENTS = (
    ("瓯海区民政局", ("局长", "科长", "科员")),
    ("瓯海区住房和城乡建设局", ("局长", "科长", "科员")),
    ("瓯海区残疾人联合会", ("理事长", "干事")),
    ("瓯海区农业农村局", ("局长", "科长", "科员")),
    ("瓯海区大数据发展管理中心", ("主任", "工程师", "科员")),
)

# Social organisations: name, the community they belong to (or the district).
_SOCIAL_ORGANIZATIONS = (
    ("瓯海区邻里互助志愿者协会", ""),
    ("瓯海区乐龄居家养老服务中心", ""),
    ("瓯海区青少年成长服务社", ""),
    ("新桥社区乐邻互助会", "新桥社区"),
    ("五社村乡贤联谊会", "五社村"),
)


# -- the rows to insert ---------------------------------------------------------


@dataclass(slots=True)
class _Rows:
    # Rows in insertion order; a row's id is its position plus one.

    units: list[OrgUnit] = field(default_factory=list)
    estates: list[Estate] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    managements: list[EstateManagement] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    assignments: list[RoleAssignment] = field(default_factory=list)
    members: list[HouseholdMember] = field(default_factory=list)

    def tables(self) -> list[tuple[type[Model], Sequence[Model]]]:
        """Each model with its rows, parents before the rows that refer to them."""
        return [
            (OrgUnit, self.units),
            (Estate, self.estates),
            (Building, self.buildings),
            (Household, self.households),
            (Organization, self.organizations),
            (EstateManagement, self.managements),
            (Person, self.people),
            (RoleAssignment, self.assignments),
            (HouseholdMember, self.members),
        ]

    def summary(self) -> DemoSummary:
        levels = Counter(unit.level for unit in self.units)
        return DemoSummary(
            provinces=levels[Level.PROVINCE],
            cities=levels[Level.CITY],
            districts=levels[Level.DISTRICT],
            subdistricts=levels[Level.SUBDISTRICT],
            communities=levels[Level.COMMUNITY],
            grids=levels[Level.GRID],
            estates=len(self.estates),
            buildings=len(self.buildings),
            households=len(self.households),
            people=len(self.people),
            household_members=len(self.members),
            organizations=len(self.organizations),
            estate_managements=len(self.managements),
            role_assignments=len(self.assignments),
        )


def _at(day: date) -> datetime:
    # Nine in the morning, China Standard Time.
    return datetime.combine(day, time(1, 0), tzinfo=UTC)


class _Generator:
    """Builds the rows of one scale from one seed, without touching the database."""

    def __init__(self, scale: _Scale, seed: int, password_hash: str) -> None:
        self.scale = scale
        self.seed = seed
        self.rng = random.Random(seed)
        self.password_hash = password_hash
        self.rows = _Rows()
        self.phones: set[str] = set()
        self.id_numbers: set[str] = set()
        self.region = _OUHAI_CODE  # of the ID numbers of people being made
        self.place_names: set[str] = set()
        self.estate_names: set[str] = set()

    # -- small pieces --

    def past_day(self, least_days: int, most_days: int) -> date:
        return REFERENCE_DATE - timedelta(days=self.rng.randint(least_days, most_days))

    def between(self, bounds: tuple[int, int]) -> int:
        # Skewed towards the low end: most estates are small, a few are large.
        low, high = bounds
        return min(self.rng.randint(low, high), self.rng.randint(low, high))

    def person_name(self, gender: str) -> str:
        rng = self.rng
        surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
        chars = _MALE_CHARS if gender == "M" else _FEMALE_CHARS
        given = rng.choice(chars)
        if rng.random() < 0.6:
            given += rng.choice(chars.replace(given, ""))
        return surname + given

    def place_name(self, seconds: str, suffix: str) -> str:
        while True:
            first = self.rng.choice(_PLACE_FIRST)
            name = first + self.rng.choice(seconds.replace(first, "")) + suffix
            if name not in self.place_names:
                self.place_names.add(name)
                return name

    def estate_name(self) -> str:
        while True:
            word = self.rng.choice(_ESTATE_WORDS)
            name = word + self.rng.choice(_ESTATE_SUFFIXES)
            if name not in self.estate_names:
                self.estate_names.add(name)
                return name

    def phone(self) -> str:
        while True:
            number = (
                f"{self.rng.choice(_MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"
            )
            # The demo accounts own 1390000xxxx.
            if number not in self.phones and not number.startswith("1390000"):
                self.phones.add(number)
                return number

    def id_number(self, birth: date, gender: str) -> str:
        while True:
            last = self.rng.choice("13579" if gender == "M" else "02468")
            sequence = f"{self.rng.randrange(100):02d}{last}"
            first17 = f"{self.region}{birth:%Y%m%d}{sequence}"
            number = first17 + id_check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def credit_code(self, prefix: str) -> str:
        body = "MA" + "".join(self.rng.choice(_CREDIT_CHARS) for _ in range(6))
        first17 = f"{prefix}{self.region}{body}{_org_code_check_char(body)}"
        return first17 + credit_code_check_char(first17)

    # -- rows --

    def unit(
        self,
        parent: OrgUnit | None,
        level: Level,
        name: str,
        code: str,
        kind: CommunityKind | None = None,
    ) -> OrgUnit:
        unit_id = len(self.rows.units) + 1
        unit = OrgUnit(
            id=unit_id,
            parent_id=parent.id if parent else None,
            level=level,
            kind=kind,
            name=name,
            code=code,
            path=f"{parent.path if parent else '/'}{unit_id}/",
            depth=parent.depth + 1 if parent else 0,
            created_at=_CREATED_AT,
        )
        self.rows.units.append(unit)
        return unit

    def organization(
        self,
        kind: OrganizationKind,
        name: str,
        unit: OrgUnit,
        estate: Estate | None = None,
        credit_code: str | None = None,
    ) -> Organization:
        organization = Organization(
            id=len(self.rows.organizations) + 1,
            kind=kind,
            name=name,
            unit_id=unit.id,
            unit_path=unit.path,
            estate_id=estate.id if estate else None,
            credit_code=credit_code,
            created_at=_CREATED_AT,
        )
        self.rows.organizations.append(organization)
        return organization

    def person(
        self, gender: str, age: int, account: DemoAccount | None = None
    ) -> Person:
        birth = REFERENCE_DATE - timedelta(days=age * 365 + self.rng.randint(1, 364))
        phone: str | None
        if account is not None:
            name, phone, password_hash = account.name, account.phone, self.password_hash
            self.phones.add(phone)
        else:
            name, password_hash = self.person_name(gender), None
            # Children and some elderly people have no phone of their own.
            has_phone = age >= 18 and self.rng.random() < (0.95 if age < 70 else 0.6)
            phone = self.phone() if has_phone else None

        person = Person(
            id=len(self.rows.people) + 1,
            name=name,
            phone=phone,
            password_hash=password_hash,
            id_number=self.id_number(birth, gender),
            gender=gender,
            birth_date=birth,
            is_active=True,
            created_at=_CREATED_AT,
        )
        self.rows.people.append(person)
        return person

    def assign(
        self,
        person: Person,
        role: Role,
        unit: OrgUnit,
        starts_on: date,
        organization: Organization | None = None,
        title: str = "",
    ) -> RoleAssignment:
        starts_at = _at(starts_on)
        assignment = RoleAssignment(
            id=len(self.rows.assignments) + 1,
            person_id=person.id,
            role=role,
            unit_id=unit.id,
            unit_path=unit.path,
            organization_id=organization.id if organization else None,
            title=title,
            starts_at=starts_at,
            ends_at=None,
            created_at=starts_at,
        )
        self.rows.assignments.append(assignment)
        return assignment

    def staff(
        self,
        role: Role,
        unit: OrgUnit,
        titles: Sequence[str],
        organization: Organization | None = None,
    ) -> None:
        """Makes one person per title; a demo account takes the first title."""
        where = organization.name if organization else unit.name
        for index, title in enumerate(titles):
            account = _ACCOUNTS_BY_PLACE.get((role, where)) if index == 0 else None
            if account is not None:
                gender = _DEMO_GENDERS[account.phone]
            else:
                gender = "M" if self.rng.random() < 0.55 else "F"
            age = self.rng.randint(26, 58)
            person = self.person(gender, age, account)
            # In office for up to eight years, and not before 22.
            starts_on = self.past_day(30, min(3000, (age - 22) * 365))
            self.assign(person, role, unit, starts_on, organization, title)

    def estate(self, community: OrgUnit, name: str) -> Estate:
        rng = self.rng
        road = f"{rng.choice(_ESTATE_WORDS)}路"
        estate = Estate(
            id=len(self.rows.estates) + 1,
            unit_id=community.id,
            unit_path=community.path,
            name=name,
            address=f"{road}{rng.randint(1, 399)}号",
            built_year=rng.randint(1995, 2022),
            created_at=_CREATED_AT,
        )
        self.rows.estates.append(estate)
        return estate

    def owners_committee(self, community: OrgUnit, estate: Estate) -> Organization:
        return self.organization(
            OrganizationKind.OWNERS_COMMITTEE,
            f"{estate.name}业主委员会",
            community,
            estate,
        )

    def household(
        self, community: OrgUnit, address: str, building: Building | None = None
    ) -> Household:
        household = Household(
            id=len(self.rows.households) + 1,
            unit_id=community.id,
            unit_path=community.path,
            building_id=building.id if building else None,
            address=address,
        )
        self.rows.households.append(household)
        return household

    def family(self, head_gender: str) -> list[tuple[str, str, int]]:
        """Relation, gender and age of each member, the householder first."""
        rng = self.rng
        other = "F" if head_gender == "M" else "M"
        shape = rng.random()

        if shape < 0.15:
            return [("户主", head_gender, rng.randint(22, 88))]
        head_age = rng.randint(26, 82) if shape < 0.4 else rng.randint(28, 58)
        spouse_age = max(20, head_age + rng.randint(-5, 5))
        members = [("户主", head_gender, head_age), ("配偶", other, spouse_age)]
        if shape < 0.4:
            return members

        for _ in range(rng.choice((1, 1, 2))):
            child_age = rng.randint(0, min(30, head_age - 22))
            members.append(("子女", rng.choice("MF"), child_age))
        if shape >= 0.8:
            for parent_gender in rng.sample("MF", rng.choice((1, 2))):
                parent_age = min(96, head_age + rng.randint(24, 32))
                members.append(("父母", parent_gender, parent_age))
        return members

    def populate(
        self,
        household: Household,
        community: OrgUnit,
        is_owned: bool,
        account: DemoAccount | None = None,
    ) -> tuple[Person, date]:
        """Registers a family in the household; returns its head and move-in day."""
        if account is not None:
            head_gender = _DEMO_GENDERS[account.phone]
        else:
            head_gender = "M" if self.rng.random() < 0.7 else "F"
        family = self.family(head_gender)
        head_age = family[0][2]
        moved_in = self.past_day(90, max(90, min(20, head_age - 18) * 365))

        people: list[Person] = []
        for relation, gender, age in family:
            is_head = relation == "户主"
            person = self.person(gender, age, account if is_head else None)
            starts_on = max(moved_in, person.birth_date or moved_in)
            self.rows.members.append(
                HouseholdMember(
                    id=len(self.rows.members) + 1,
                    person_id=person.id,
                    household_id=household.id,
                    unit_path=community.path,
                    relation=relation,
                    is_owner=is_head and is_owned,
                    starts_on=starts_on,
                    ends_on=None,
                )
            )
            self.assign(person, Role.RESIDENT, community, starts_on)
            people.append(person)
        return people[0], moved_in

    # -- the hierarchy --

    def build(self) -> _Rows:
        province = self.unit(None, Level.PROVINCE, "浙江省", "330000")
        self.staff(Role.ADMIN, province, ("平台管理员",))

        if not self.scale.province:
            city = self.unit(province, Level.CITY, "温州市", "330300")
            self.build_ouhai(city)
            return self.rows

        for city_code, city_name, districts in _ZHEJIANG:
            city = self.unit(province, Level.CITY, city_name, f"{city_code}00")
            for entry in districts.split():
                code, district_name = city_code + entry[:2], entry[2:]
                if code == _OUHAI_CODE:
                    self.build_ouhai(city)
                else:
                    self.build_outline_district(city, code, district_name)
        return self.rows

    def start_district(self, code: str) -> None:
        # A generator per district, so Ouhai comes out alike at every scale.
        self.rng = random.Random(f"{self.seed}/{code}")
        self.region = code
        self.place_names = set()
        self.estate_names = set()

    def build_ouhai(self, city: OrgUnit) -> None:
        self.start_district(_OUHAI_CODE)
        self.place_names = {n.name for ns in _NAMED_COMMUNITIES.values() for n in ns}
        self.estate_names = {
            e for ns in _NAMED_COMMUNITIES.values() for n in ns for e in n.estates
        }
        district = self.unit(city, Level.DISTRICT, "瓯海区", _OUHAI_CODE)

        self.staff(
            Role.OFFICIAL, district, ("副区长", "区委组织部副部长", "区委办公室干部")
        )
        for name, titles in _DEPARTMENTS:
            department = self.organization(
                OrganizationKind.DEPARTMENT,
                name,
                district,
                None,
                self.credit_code("11"),
            )
            self.staff(Role.OFFICIAL, district, titles, department)
        companies = self.property_companies(district)

        named: dict[str, OrgUnit] = {}
        urban_estates: list[Estate] = []
        for plan in self.scale.subdistricts:
            subdistrict = self.unit(
                district,
                Level.SUBDISTRICT,
                plan.name,
                f"{_OUHAI_CODE}{plan.number:03d}",
            )
            ranks = ("党工委书记", "办事处主任", "副主任", "工作人员")
            if plan.name.endswith("镇"):
                ranks = ("党委书记", "镇长", "副镇长", "工作人员")
            self.staff(Role.OFFICIAL, subdistrict, ranks[: self.rng.randint(2, 4)])
            for community in self.build_communities(subdistrict, plan, urban_estates):
                named[community.name] = community

        self.manage_estates(companies, urban_estates)
        for name, where in _SOCIAL_ORGANIZATIONS:
            self.organization(
                OrganizationKind.SOCIAL_ORGANIZATION,
                name,
                named.get(where, district),
                None,
                self.credit_code(self.rng.choice(("51", "52"))),
            )

    def property_companies(self, district: OrgUnit) -> list[Organization]:
        words = [w for w in _COMPANY_WORDS if w != "瓯悦"]
        names = [_COMPANY_OF_WANGHU] + [
            f"温州{w}物业服务有限公司"
            for w in self.rng.sample(words, self.scale.companies - 1)
        ]

        companies = []
        for name in names:
            company = self.organization(
                OrganizationKind.PROPERTY_COMPANY,
                name,
                district,
                None,
                self.credit_code("91"),
            )
            titles = ("项目经理", "客服主管", "物业管家", "工程主管")
            self.staff(
                Role.PROPERTY_COMPANY,
                district,
                titles[: self.rng.randint(2, 4)],
                company,
            )
            companies.append(company)
        return companies

    def build_communities(
        self, subdistrict: OrgUnit, plan: _Subdistrict, urban_estates: list[Estate]
    ) -> list[OrgUnit]:
        """The subdistrict's communities, the named ones first; returns those."""
        named = _NAMED_COMMUNITIES.get(plan.name, ())
        urban_left = plan.urban - sum(n.kind == CommunityKind.URBAN for n in named)
        kinds = [CommunityKind.URBAN] * urban_left + [CommunityKind.VILLAGE] * (
            plan.communities - len(named) - urban_left
        )
        self.rng.shuffle(kinds)

        plans = list(named) + [
            _Named(
                self.place_name(
                    _URBAN_SECOND if kind == CommunityKind.URBAN else _PLACE_SECOND,
                    "社区" if kind == CommunityKind.URBAN else "村",
                ),
                kind,
            )
            for kind in kinds
        ]

        communities = []
        for number, community_plan in enumerate(plans, start=1):
            community = self.unit(
                subdistrict,
                Level.COMMUNITY,
                community_plan.name,
                f"{subdistrict.code}{number:03d}",
                community_plan.kind,
            )
            self.build_community(community, community_plan, urban_estates)
            communities.append(community)
        return communities

    def build_community(
        self, community: OrgUnit, plan: _Named, urban_estates: list[Estate]
    ) -> None:
        rng = self.rng
        is_urban = plan.kind == CommunityKind.URBAN
        for number in range(rng.randint(2, 4)):
            self.unit(
                community,
                Level.GRID,
                _GRID_NAMES[number],
                f"{community.code}{number + 1:02d}",
            )

        big = is_urban and rng.random() < 0.3
        self.organization(
            OrganizationKind.PARTY_ORGANIZATION,
            f"{community.name}{'党委' if big else '党支部'}",
            community,
        )
        if is_urban:
            committee = (OrganizationKind.RESIDENTS_COMMITTEE, "居民委员会")
        else:
            committee = (OrganizationKind.VILLAGERS_COMMITTEE, "村民委员会")
        self.organization(committee[0], f"{community.name}{committee[1]}", community)
        titles = ["书记", "主任"] + [
            rng.choice(("委员", "网格员")) for _ in range(rng.randint(1, 4))
        ]
        self.staff(Role.CADRE, community, titles)

        pilot = community.name in _PILOTS
        occupancy = self.scale.pilot_occupancy if pilot else self.scale.occupancy
        if not is_urban:
            self.build_village(community, occupancy)
            return
        estates: list[tuple[str, tuple[int, int, int] | None]] = [
            (name, self.scale.pilot_estates[name]) for name in plan.estates
        ]
        extra = (
            self.scale.pilot_extra_estates
            if pilot
            else self.between(self.scale.estates)
        )
        estates += [(self.estate_name(), None) for _ in range(extra)]
        for name, size in estates:
            estate = self.build_estate(community, name, size, occupancy)
            urban_estates.append(estate)

    def build_village(self, community: OrgUnit, occupancy: float) -> None:
        if community.name in _PILOTS:
            count = self.scale.pilot_village_households
        else:
            count = self.rng.randint(*self.scale.village_households)

        for number in range(1, count + 1):
            address = f"{community.name} {number}号"
            household = self.household(community, address)
            account = _ACCOUNTS_BY_HOME.get(address)
            if account is not None or self.rng.random() < occupancy:
                self.populate(household, community, False, account)

    def build_estate(
        self,
        community: OrgUnit,
        name: str,
        size: tuple[int, int, int] | None,
        occupancy: float,
    ) -> Estate:
        rng = self.rng
        estate = self.estate(community, name)

        households: list[Household] = []
        building_count = size[0] if size else self.between(self.scale.buildings)
        for number in range(1, building_count + 1):
            floors, rooms = size[1:] if size else self.building_shape()
            building = Building(
                id=len(self.rows.buildings) + 1,
                estate_id=estate.id,
                unit_path=community.path,
                name=f"{number}幢",
                floors=floors,
            )
            self.rows.buildings.append(building)
            households += [
                self.household(
                    community, f"{name} {number}幢 {floor}{room:02d}室", building
                )
                for floor in range(1, floors + 1)
                for room in range(1, rooms + 1)
            ]

        populated = self.build_owners_committee(community, estate, households)
        for household in households:
            if household.id in populated:
                continue
            account = _ACCOUNTS_BY_HOME.get(household.address)
            if account is not None or rng.random() < occupancy:
                self.populate(household, community, True, account)
        return estate

    def building_shape(self) -> tuple[int, int]:
        """Floors and dwellings per floor: mostly walk-ups, some towers."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.65:
            floors = rng.randint(5, 7)
        elif kind < 0.95:
            floors = rng.randint(11, 18)
        else:
            floors = rng.randint(24, 32)
        return floors, rng.choices((2, 3, 4), weights=(6, 3, 1))[0]

    def build_owners_committee(
        self, community: OrgUnit, estate: Estate, households: list[Household]
    ) -> set[int]:
        """The estate's owners' committee, its members owners living there.

        Returns the ids of the members' households, which this populates.
        """
        committee = self.owners_committee(community, estate)
        account = _ACCOUNTS_BY_PLACE.get((Role.OWNERS_COMMITTEE, committee.name))
        chosen = [h for h in households if h.address in _COMMITTEE_HOMES]
        # Other demo accounts' homes stay free for them.
        others = [h for h in households if h.address not in _ACCOUNTS_BY_HOME]
        chosen += self.rng.sample(others, min(len(others), self.rng.randint(3, 5)))

        for index, household in enumerate(chosen):
            title = ("主任", "副主任")[index] if index < 2 else "委员"
            member, moved_in = self.populate(
                household, community, True, account if index == 0 else None
            )
            starts_on = max(moved_in, self.past_day(30, 5 * 365))
            self.assign(
                member, Role.OWNERS_COMMITTEE, community, starts_on, committee, title
            )
        return {household.id for household in chosen}

    def manage_estates(
        self, companies: list[Organization], estates: list[Estate]
    ) -> None:
        """Each estate's current company, and for some a company before it."""
        rng = self.rng
        order = estates[:]
        rng.shuffle(order)
        current = {
            estate.id: companies[i % len(companies)] for i, estate in enumerate(order)
        }
        for estate in estates:
            if estate.name == "望湖锦苑":
                current[estate.id] = companies[0]

        for estate in estates:
            company = current[estate.id]
            handed_over = date(estate.built_year or 2010, 7, 1)
            age = (REFERENCE_DATE - handed_over).days
            # The developer's company from the handover; for some, a company the
            # owners chose later.
            if (estate.name == "望湖锦苑" or rng.random() < 0.12) and age > 800:
                starts_on = self.past_day(150, age - 400)
                earlier = rng.choice([c for c in companies if c is not company])
                self.manage(earlier, estate, handed_over, starts_on)
            else:
                starts_on = handed_over
            self.manage(company, estate, starts_on, None)

    def manage(
        self,
        company: Organization,
        estate: Estate,
        starts_on: date,
        ends_on: date | None,
    ) -> None:
        self.rows.managements.append(
            EstateManagement(
                id=len(self.rows.managements) + 1,
                company_id=company.id,
                estate_id=estate.id,
                starts_on=starts_on,
                ends_on=ends_on,
            )
        )

    # -- the rest of the province: units, estates, organisations, few people --

    def build_outline_district(self, city: OrgUnit, code: str, name: str) -> None:
        self.start_district(code)
        rng = self.rng
        district = self.unit(city, Level.DISTRICT, name, code)
        self.staff(Role.OFFICIAL, district, ("区委副书记",))
        short = name[:2]
        companies = [
            self.organization(
                OrganizationKind.PROPERTY_COMPANY,
                f"{short}{word}物业服务有限公司",
                district,
                None,
                self.credit_code("91"),
            )
            for word in rng.sample(_COMPANY_WORDS, 3)
        ]

        urban_share = 0.25 if name.endswith("区") else 0.12
        estates: list[Estate] = []
        for number in range(1, rng.randint(12, 18) + 1):
            suffix = (
                "街道" if rng.random() < (0.7 if name.endswith("区") else 0.3) else "镇"
            )
            subdistrict = self.unit(
                district,
                Level.SUBDISTRICT,
                self.place_name(_PLACE_SECOND, suffix),
                f"{code}{number:03d}",
            )
            for community_number in range(1, rng.randint(15, 25) + 1):
                is_urban = rng.random() < urban_share
                estates += self.build_outline_community(
                    subdistrict, community_number, is_urban
                )
        self.manage_estates(companies, estates)

    def build_outline_community(
        self, subdistrict: OrgUnit, number: int, is_urban: bool
    ) -> list[Estate]:
        rng = self.rng
        kind = CommunityKind.URBAN if is_urban else CommunityKind.VILLAGE
        name = self.place_name(
            _URBAN_SECOND if is_urban else _PLACE_SECOND, "社区" if is_urban else "村"
        )
        community = self.unit(
            subdistrict, Level.COMMUNITY, name, f"{subdistrict.code}{number:03d}", kind
        )
        for grid in range(rng.randint(2, 4)):
            self.unit(
                community,
                Level.GRID,
                _GRID_NAMES[grid],
                f"{community.code}{grid + 1:02d}",
            )

        self.organization(
            OrganizationKind.PARTY_ORGANIZATION, f"{name}党支部", community
        )
        if not is_urban:
            self.organization(
                OrganizationKind.VILLAGERS_COMMITTEE, f"{name}村民委员会", community
            )
            return []
        self.organization(
            OrganizationKind.RESIDENTS_COMMITTEE, f"{name}居民委员会", community
        )

        estates = []
        for _ in range(self.between(self.scale.estates)):
            estate = self.estate(community, self.estate_name())
            self.owners_committee(community, estate)
            estates.append(estate)
        return estates


# -- loading --------------------------------------------------------------------


async def database_is_empty() -> bool:
    """Whether the hierarchy is empty, as in a database just created."""
    return not await OrgUnit.exists()


async def load_demo(
    scale: str = "district",
    seed: int = DEFAULT_SEED,
    id_key: bytes = DEVELOPMENT_ID_KEY,
) -> DemoSummary:
    """Inserts the demo data of ``scale`` into an empty database, in one transaction.

    The estates' demo (``api.demo_estates``) follows, its register fingerprinted
    with ``id_key`` (the server's ``YUNSHANG_ID_KEY``, so demo owners can claim).
    The same scale and seed always insert the same rows. Raises ``ValueError`` for
    an unknown scale or when a table to fill already holds rows.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown demo scale {scale!r}; use one of {sorted(SCALES)}")
    for model, _ in _Rows().tables():
        if await model.exists():
            raise ValueError(
                f"the table {model._meta.db_table} already holds rows; "
                "demo data goes only into an empty database"
            )

    started = clock.perf_counter()
    rows = _Generator(SCALES[scale], seed, hash_password(DEMO_PASSWORD)).build()
    generated = clock.perf_counter()

    # What Ouhai's communities have published (the public pages of their codes).
    ouhai = [unit for unit in rows.units if unit.code.startswith(_OUHAI_CODE)]
    posts = demo_posts(ouhai, REFERENCE_DATE)

    is_postgres = connections.get("default").capabilities.dialect == "postgres"
    async with in_transaction() as connection:
        for model, objects in rows.tables():
            await model.bulk_create(
                objects, batch_size=_BATCH_SIZE, using_db=connection
            )
        await Post.bulk_create(posts, batch_size=_BATCH_SIZE, using_db=connection)
        if is_postgres:
            await _reset_sequences(connection, rows)
            await connection.execute_query(
                "SELECT setval(pg_get_serial_sequence('post', 'id'), "
                "COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM post"
            )
        await load_tasks_demo(REFERENCE_DATE, seed)

    await load_estate_demo(seed, id_key)  # the register is fingerprinted with id_key
    await load_demo_requests(seed)
    await load_care_demo(seed)
    summary = rows.summary()
    await _requests_of_demo_resident()
    logger.info(
        "demo data loaded: scale %s, seed %s, %s units, %s households, %s people; "
        "generated in %.1f s, inserted in %.1f s",
        scale,
        seed,
        summary.units,
        summary.households,
        summary.people,
        generated - started,
        clock.perf_counter() - generated,
    )
    return summary


# 李明's own requests, so that the resident's screens show one at each stage a
# resident acts on: being handled, waiting for his confirmation, closed and rated.
_DEMO_RESIDENT = "13900000009"
_DEMO_RESIDENT_STAGES = ("HANDLING", "VERIFYING", "EVALUATED")


async def _requests_of_demo_resident() -> None:
    person = await Person.get_or_none(phone=_DEMO_RESIDENT)
    estate = await Estate.get_or_none(name="望湖锦苑")
    if person is None or estate is None:
        return
    for stage in _DEMO_RESIDENT_STAGES:
        request = (
            await ServiceRequest.filter(
                estate_id=estate.id, stage=stage, is_public=False
            )
            .order_by("id")
            .first()
        )
        if request is None:
            continue
        await ServiceRequest.filter(id=request.id).update(raised_by_id=person.id)
        await RequestStep.filter(request_id=request.id, action="PUBLISH").update(
            actor_person_id=person.id
        )


async def _reset_sequences(connection: BaseDBAsyncClient, rows: _Rows) -> None:
    # The rows came with explicit ids, which leave PostgreSQL's sequences behind.
    for model, _ in rows.tables():
        table = model._meta.db_table
        await connection.execute_query(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
        )
