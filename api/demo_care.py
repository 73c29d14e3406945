"""Demo data of the care domain: beneficiaries with tags across the pilot
communities (and a few more), a month of visits, open orders and warnings.

Drawn from the demo district's own residents, deterministically from the seed;
all invented, like everything in the demo. Dates are reckoned back from the
demo's reference date, so the archive reads the same on every machine.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise import connections
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import (
    Beneficiary,
    BeneficiaryTag,
    HouseholdMember,
    OrgUnit,
    Person,
    RoleAssignment,
    Visit,
    VisitOrder,
    Warning,
)
from models.enums import (
    BeneficiarySource,
    BeneficiaryStatus,
    BeneficiaryTagKind,
    Level,
    Role,
    TagReview,
    TagStatus,
    VisitKind,
    VisitOrderReason,
    VisitOrderStatus,
    VisitStatus,
    WarningKind,
)
from resolvers.care import DEFAULT_INTERVALS, SUBSIDY_KINDS, warning_key
from resolvers.context import DEVELOPMENT_ID_KEY
from resolvers.idnumber import id_fingerprint

__all__ = ["CareDemoSummary", "load_care_demo"]

logger = logging.getLogger("yunshang.demo")

Kind = BeneficiaryTagKind
Source = BeneficiarySource
REFERENCE = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in China
PILOTS = ("新桥社区", "五社村")
PER_PILOT = 24
PER_OTHER = 6
OTHERS = 10
# Roughly 瓯海, in WGS-84.
CENTRE = (27.965, 120.640)
SITUATIONS = (
    "身体状况稳定，家中整洁，生活能自理。",
    "血压偏高，已提醒按时服药。",
    "独自在家，精神尚好，邻居常来照看。",
    "家中电线老化，已报社区安排检修。",
    "子女在外地，电话联系正常。",
    "行动不便，需要助餐服务。",
)
NEEDS = ("", "", "助餐", "上门理发", "代购药品", "修缮房屋", "陪同就医")
GRADES = ("1", "2", "3", "4")
CATEGORIES = ("肢体", "视力", "听力", "智力", "精神")


@dataclass
class CareDemoSummary:
    beneficiaries: int = 0
    tags: int = 0
    visits: int = 0
    orders: int = 0
    warnings: int = 0


@dataclass
class _Rows:
    beneficiaries: list[Beneficiary] = field(default_factory=list)
    tags: list[BeneficiaryTag] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    orders: list[VisitOrder] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)

    def tables(self) -> list[tuple[type[Model], list[Any]]]:
        return [
            (Beneficiary, self.beneficiaries),
            (BeneficiaryTag, self.tags),
            (VisitOrder, self.orders),
            (Visit, self.visits),
            (Warning, self.warnings),
        ]


def _age(born: date | None) -> int:
    if born is None:
        return 40
    today = REFERENCE.date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _kinds(rng: random.Random, age: int) -> list[tuple[Kind, Source]]:
    if age < 18:
        return [(Kind.CHILD_IN_DIFFICULTY, Source.CIVIL_AFFAIRS)]
    found: list[tuple[Kind, Source]] = []
    if age >= 70:
        found.append((Kind.ELDERLY_ALONE, Source.CIVIL_AFFAIRS))
    pick = rng.random()
    if pick < 0.35:
        found.append((Kind.LOW_INCOME, Source.ZHELIJIU))
    elif pick < 0.5:
        found.append((Kind.LOW_INCOME_EDGE, Source.ZHELIJIU))
    elif pick < 0.6:
        found.append((Kind.EXTREME_POVERTY, Source.ZHELIJIU))
    elif pick < 0.8:
        found.append((Kind.DISABILITY, Source.DISABLED_FEDERATION))
    elif pick < 0.9 or not found:
        found.append((Kind.HOUSING_SUBSIDY, Source.HOUSING))
    return found


class _Builder:
    def __init__(self, seed: int, id_key: bytes) -> None:
        self.rng = random.Random(seed * 7 + 6)
        self.id_key = id_key
        self.rows = _Rows()
        self.next_ids: dict[type[Model], int] = {}

    def pk(self, model: type[Model]) -> int:
        value = self.next_ids.get(model, 1)
        self.next_ids[model] = value + 1
        return value

    def community(
        self,
        unit: dict[str, Any],
        residents: list[dict[str, Any]],
        cadres: list[int],
        count: int,
    ) -> None:
        rng = self.rng
        # The elderly and children first: the lists are mostly of them.
        residents = sorted(residents, key=lambda r: 18 <= _age(r["birth_date"]) < 70)
        chosen = residents[: count // 2] + rng.sample(
            residents[count // 2 :],
            min(count - count // 2, len(residents) - count // 2),
        )
        base = (
            CENTRE[0] + rng.uniform(-0.08, 0.08),
            CENTRE[1] + rng.uniform(-0.08, 0.08),
        )
        for number, resident in enumerate(chosen):
            self.beneficiary(unit, resident, cadres, base, deceased=number == 5)

    def beneficiary(
        self,
        unit: dict[str, Any],
        resident: dict[str, Any],
        cadres: list[int],
        base: tuple[float, float],
        deceased: bool,
    ) -> None:
        rng = self.rng
        pk = self.pk(Beneficiary)
        listed = REFERENCE - timedelta(days=rng.randint(0, 400))
        kinds = _kinds(rng, _age(resident["birth_date"]))
        if deceased and not any(kind in SUBSIDY_KINDS for kind, _ in kinds):
            kinds.append((Kind.LOW_INCOME, Source.ZHELIJIU))
        interval = min(DEFAULT_INTERVALS[k] for k, _ in kinds)
        home = (
            base[0] + rng.uniform(-0.004, 0.004),
            base[1] + rng.uniform(-0.004, 0.004),
        )
        responsible = rng.choice(cadres) if cadres and rng.random() > 0.1 else None

        last_visit = self.visits(pk, unit, listed, interval, responsible, home)
        due = None if deceased else (last_visit or listed) + timedelta(days=interval)
        carer_gone = rng.random() < 0.05
        self.rows.beneficiaries.append(
            Beneficiary(
                id=pk,
                id_fingerprint=id_fingerprint(resident["id_number"], self.id_key),
                id_number=resident["id_number"],
                name=resident["name"],
                gender=resident["gender"],
                birth_date=resident["birth_date"],
                unit_id=unit["id"],
                unit_path=unit["path"],
                address=resident["address"],
                person_id=resident["person_id"],
                household_id=resident["household_id"],
                responsible_id=responsible,
                carer_gone=carer_gone,
                carer_name="" if rng.random() < 0.5 else "家属",
                latitude=home[0],
                longitude=home[1],
                status=BeneficiaryStatus.DECEASED
                if deceased
                else BeneficiaryStatus.ACTIVE,
                deceased_on=REFERENCE.date() - timedelta(days=3) if deceased else None,
                listed_at=listed,
                last_visit_at=last_visit,
                interval_days=None if deceased else interval,
                visit_due_at=due,
            )
        )
        for kind, source in kinds:
            review = TagReview.DECEASED if deceased and kind in SUBSIDY_KINDS else None
            self.rows.tags.append(
                BeneficiaryTag(
                    id=self.pk(BeneficiaryTag),
                    beneficiary_id=pk,
                    unit_path=unit["path"],
                    kind=kind,
                    source=source,
                    grade=rng.choice(GRADES) if kind == Kind.DISABILITY else "",
                    detail=rng.choice(CATEGORIES) if kind == Kind.DISABILITY else "",
                    starts_on=listed.date(),
                    ends_on=None,
                    status=TagStatus.REVIEW if review else TagStatus.ACTIVE,
                    review=review,
                )
            )
        self.warnings(pk, unit, deceased, responsible, carer_gone, last_visit, due)
        if not deceased and responsible and due is not None and due < REFERENCE:
            self.rows.orders.append(
                VisitOrder(
                    id=self.pk(VisitOrder),
                    beneficiary_id=pk,
                    unit_path=unit["path"],
                    assignee_id=responsible,
                    reason=VisitOrderReason.OVERDUE,
                    deadline=REFERENCE + timedelta(days=3),
                    status=VisitOrderStatus.OPEN,
                    key=f"AUTO:{pk}:{due.date().isoformat()}",
                    created_at=REFERENCE,
                )
            )

    def visits(
        self,
        pk: int,
        unit: dict[str, Any],
        listed: datetime,
        interval: int,
        visitor: int | None,
        home: tuple[float, float],
    ) -> datetime | None:
        """A month of visits before the reference date, about one per interval."""
        if visitor is None:
            return None
        rng = self.rng
        start = max(listed, REFERENCE - timedelta(days=30))
        day = start + timedelta(days=rng.randint(0, max(1, interval - 1)))
        last = None
        while day < REFERENCE and rng.random() > 0.15:
            at = datetime.combine(day.date(), time(1 + rng.randint(0, 7)), UTC)
            offset = rng.uniform(5, 120) / 111_195
            self.rows.visits.append(
                Visit(
                    id=self.pk(Visit),
                    beneficiary_id=pk,
                    unit_path=unit["path"],
                    kind=VisitKind.ROUTINE,
                    visitor_id=visitor,
                    status=VisitStatus.REPORTED,
                    checked_in_at=at,
                    latitude=home[0] + offset,
                    longitude=home[1],
                    accuracy_m=rng.uniform(5, 30),
                    distance_m=offset * 111_195,
                    situation=rng.choice(SITUATIONS),
                    needs=rng.choice(NEEDS),
                    reported_at=at + timedelta(minutes=rng.randint(10, 40)),
                )
            )
            last = at
            day += timedelta(days=interval)
        return last

    def warnings(
        self,
        pk: int,
        unit: dict[str, Any],
        deceased: bool,
        responsible: int | None,
        carer_gone: bool,
        last_visit: datetime | None,
        due: datetime | None,
    ) -> None:
        raised: list[tuple[WarningKind, dict[str, Any]]] = []
        if deceased:
            raised.append((WarningKind.DECEASED, {}))
        else:
            if last_visit is None:
                raised.append((WarningKind.NEW_BENEFICIARY, {}))
            if due is not None and due < REFERENCE:
                days = (REFERENCE - due).days
                raised.append(
                    (
                        WarningKind.VISIT_OVERDUE,
                        {"due_at": due.isoformat(), "days_overdue": days},
                    )
                )
            if responsible is None or carer_gone:
                reason = "NO_RESPONSIBLE" if responsible is None else "CARER_GONE"
                raised.append((WarningKind.UNATTENDED, {"reason": reason}))
        for kind, detail in raised:
            key = warning_key(kind, pk)
            self.rows.warnings.append(
                Warning(
                    kind=kind,
                    unit_id=unit["id"],
                    unit_path=unit["path"],
                    subject_type="Beneficiary",
                    subject_id=pk,
                    key=key,
                    open_key=key,
                    raised_at=REFERENCE,
                    detail=detail,
                )
            )


async def _residents(unit: dict[str, Any]) -> list[dict[str, Any]]:
    members = await HouseholdMember.filter(
        unit_path__startswith=unit["path"], ends_on__isnull=True
    ).values("person_id", "household_id", "household__address")
    people = {
        row["id"]: row
        for row in await Person.filter(
            id__in=[m["person_id"] for m in members], id_number__isnull=False
        ).values("id", "name", "id_number", "gender", "birth_date")
    }
    found = []
    seen: set[int] = set()
    for member in members:
        person = people.get(member["person_id"])
        if person is None or person["id"] in seen:
            continue
        seen.add(person["id"])
        found.append(
            {
                **person,
                "person_id": person["id"],
                "household_id": member["household_id"],
                "address": member["household__address"],
            }
        )
    return sorted(found, key=lambda r: r["person_id"])


async def load_care_demo(
    seed: int, id_key: bytes = DEVELOPMENT_ID_KEY
) -> CareDemoSummary:
    """Insert the care demo into the demo district just loaded."""
    communities = (
        await OrgUnit.filter(level=Level.COMMUNITY)
        .order_by("id")
        .values("id", "name", "path")
    )
    pilots = [c for c in communities if c["name"] in PILOTS]
    others = [c for c in communities if c["name"] not in PILOTS][:OTHERS]
    builder = _Builder(seed, id_key)
    for unit in [*pilots, *others]:
        residents = await _residents(unit)
        holders = await RoleAssignment.filter(
            role=Role.CADRE, unit_path__startswith=unit["path"]
        ).values("person_id")
        cadres = sorted({int(row["person_id"]) for row in holders})
        count = PER_PILOT if unit in pilots else PER_OTHER
        if residents:
            builder.community(unit, residents, cadres, min(count, len(residents)))

    rows = builder.rows
    is_postgres = connections.get("default").capabilities.dialect == "postgres"
    async with in_transaction() as connection:
        for model, objects in rows.tables():
            await model.bulk_create(objects, batch_size=1000, using_db=connection)
            # Other domains' demos raise warnings too: those take the next ids.
            if is_postgres and objects and model is not Warning:
                table = model._meta.db_table
                await connection.execute_query(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
                )
    summary = CareDemoSummary(
        beneficiaries=len(rows.beneficiaries),
        tags=len(rows.tags),
        visits=len(rows.visits),
        orders=len(rows.orders),
        warnings=len(rows.warnings),
    )
    logger.info(
        "care demo loaded: %s beneficiaries, %s tags, %s visits, %s orders, "
        "%s warnings",
        summary.beneficiaries,
        summary.tags,
        summary.visits,
        summary.orders,
        summary.warnings,
    )
    return summary
