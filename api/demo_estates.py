"""Demo data of the estates: the register of the pilot estates, verified owners,
a questionnaire of the district, a closed round with scores and an open one, and
three-party duty items with their checks. Invented, like all demo data.

Runs after ``api.demo.load_demo`` has filled the hierarchy and the people, from
the same seed: the same rows every time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from models import (
    DutyCheck,
    DutyItem,
    Estate,
    EstateManagement,
    EvaluationRound,
    EvaluationScore,
    Household,
    HouseholdMember,
    Organization,
    OrgUnit,
    Person,
    PropertyOwnership,
    PropertyRecord,
    Question,
    Questionnaire,
    Rating,
    RoleAssignment,
)
from models.enums import (
    DutyFrequency,
    DutyParty,
    EvaluationTarget,
    Level,
    OrganizationKind,
    RaterGroup,
    Role,
    RoundStatus,
)
from permissions.rules import mask_id_number
from resolvers.coordination import period_key
from resolvers.evaluation import DEFAULT_WEIGHTS, rating_score, scores_of
from resolvers.idnumber import id_fingerprint

__all__ = ["PILOT_ESTATES", "load_estate_demo"]

logger = logging.getLogger("yunshang.demo")

PILOT_ESTATES = ("望湖锦苑", "西江月")
CLOSED_PERIOD = ("2026-H1", date(2026, 1, 1), date(2026, 6, 30))
OPEN_PERIOD = ("2026-H2", date(2026, 7, 1), date(2026, 12, 31))
# Demo accounts that are verified owners (李明, 徐静).
VERIFIED_ACCOUNTS = ("13900000009", "13900000008")
SUBDISTRICT_OFFICIAL = "13900000003"  # 周丽华, 新桥街道
COMMUNITY_CADRE = "13900000004"  # 黄志强, 新桥社区
COMPANY_STAFF = "13900000007"  # 潘伟
AT = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)

QUESTIONS = (
    (EvaluationTarget.PROPERTY_SERVICE, "公共区域保洁是否及时到位", 3),
    (EvaluationTarget.PROPERTY_SERVICE, "小区安保与门岗管理", 3),
    (EvaluationTarget.PROPERTY_SERVICE, "报修响应与维修质量", 2),
    (EvaluationTarget.PROPERTY_SERVICE, "绿化养护与设施维护", 2),
    (EvaluationTarget.OWNERS_COMMITTEE, "业委会是否定期公开账目", 2),
    (EvaluationTarget.OWNERS_COMMITTEE, "是否听取并反映业主意见", 2),
    (EvaluationTarget.OWNERS_COMMITTEE, "对物业服务的监督", 1),
)
DUTIES = (
    (DutyParty.RESIDENTS_COMMITTEE, "每周小区巡查", DutyFrequency.WEEKLY),
    (DutyParty.RESIDENTS_COMMITTEE, "每月召开三方联席会议", DutyFrequency.MONTHLY),
    (DutyParty.OWNERS_COMMITTEE, "每季度公开业委会账目", DutyFrequency.QUARTERLY),
    (DutyParty.OWNERS_COMMITTEE, "每月收集业主意见", DutyFrequency.MONTHLY),
    (DutyParty.PROPERTY_COMPANY, "楼道每周保洁", DutyFrequency.WEEKLY),
    (DutyParty.PROPERTY_COMPANY, "每季度公开公共收益", DutyFrequency.QUARTERLY),
)


def _at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)


class _Builder:
    def __init__(self, seed: int, id_key: bytes) -> None:
        self.rng = random.Random(seed * 31 + 5)
        self.id_key = id_key
        self.ownerships: dict[int, list[PropertyOwnership]] = {}
        self.records = 0

    async def register(self, estate: Estate) -> list[PropertyOwnership]:
        """The estate's register from its owners, and who of them is verified."""
        homes = {
            h["id"]: h["address"]
            for h in await Household.filter(building__estate_id=estate.id).values(
                "id", "address"
            )
        }
        owners = (
            await HouseholdMember.filter(household_id__in=list(homes), is_owner=True)
            .order_by("household_id")
            .values("person_id", "household_id")
        )
        people = {
            p["id"]: p
            for p in await Person.filter(
                id__in=[o["person_id"] for o in owners]
            ).values("id", "name", "phone", "id_number")
        }
        records, verified = [], []
        for owner in owners:
            person = people[owner["person_id"]]
            if not person["id_number"]:
                continue
            self.records += 1
            year = self.rng.randint(2008, 2024)
            record = PropertyRecord(
                estate_id=estate.id,
                unit_path=estate.unit_path,
                certificate_number=f"浙({year})温州市不动产权第{self.records:07d}号",
                dwelling=homes[owner["household_id"]].removeprefix(estate.name).strip(),
                owner_name=person["name"],
                id_fingerprint=id_fingerprint(person["id_number"], self.id_key),
                id_masked=mask_id_number(person["id_number"]),
                household_id=owner["household_id"],
                created_at=AT,
                updated_at=AT,
            )
            records.append(record)
            if person["phone"] in VERIFIED_ACCOUNTS or self.rng.random() < 0.6:
                verified.append((record, person["id"]))
        await PropertyRecord.bulk_create(records, batch_size=500)
        saved = {
            r["certificate_number"]: r["id"]
            for r in await PropertyRecord.filter(estate_id=estate.id).values(
                "id", "certificate_number"
            )
        }
        ownerships = [
            PropertyOwnership(
                person_id=person_id,
                record_id=saved[record.certificate_number],
                estate_id=estate.id,
                household_id=record.household_id,
                unit_path=estate.unit_path,
                certificate_number=record.certificate_number,
                verified_at=AT + timedelta(days=self.rng.randint(1, 150)),
            )
            for record, person_id in verified
        ]
        await PropertyOwnership.bulk_create(ownerships, batch_size=500)
        return ownerships

    def answers(
        self, questions: Sequence[tuple[int, int]], mood: float
    ) -> dict[int, int]:
        return {
            q: max(1, min(5, round(self.rng.gauss(mood, 0.8)))) for q, _ in questions
        }


async def _person(phone: str) -> int | None:
    found = await Person.filter(phone=phone).values_list("id", flat=True)
    return int(str(found[0])) if found else None


async def load_estate_demo(seed: int, id_key: bytes) -> dict[str, int]:
    """Adds the estates' demo rows; returns how many of each it made."""
    district = await OrgUnit.get_or_none(name="瓯海区", level=Level.DISTRICT)
    if district is None:
        return {}
    pilots = await Estate.filter(
        name__in=list(PILOT_ESTATES), unit_path__startswith=district.path
    ).order_by("id")
    builder = _Builder(seed, id_key)
    async with in_transaction():
        counts = await _load(builder, district, pilots)
    logger.info("estate demo data loaded: %s", counts)
    return counts


async def _load(
    builder: _Builder, district: OrgUnit, pilots: list[Estate]
) -> dict[str, int]:
    rng = builder.rng
    questionnaire = await Questionnaire.create(
        unit_id=district.id,
        unit_path=district.path,
        name="瓯海区小区测评问卷（演示）",
        weights=DEFAULT_WEIGHTS,
        min_owner_ratings=5,
        created_at=AT,
    )
    await Question.bulk_create(
        [
            Question(
                questionnaire_id=questionnaire.id,
                unit_path=district.path,
                target=target,
                position=position,
                text=text,
                weight=weight,
            )
            for position, (target, text, weight) in enumerate(QUESTIONS, start=1)
        ]
    )
    questions = {
        target: [
            (q["id"], q["weight"])
            for q in await Question.filter(
                questionnaire_id=questionnaire.id, target=target
            )
            .order_by("position")
            .values("id", "weight")
        ]
        for target in EvaluationTarget
    }

    # Rounds: the closed half-year for the pilots, the open one for every estate.
    estates = await Estate.filter(unit_path__startswith=district.path).values(
        "id", "unit_path"
    )
    rounds: list[EvaluationRound] = []
    for period, starts_on, ends_on in (CLOSED_PERIOD, OPEN_PERIOD):
        chosen = (
            [{"id": e.id, "unit_path": e.unit_path} for e in pilots]
            if period == CLOSED_PERIOD[0]
            else estates
        )
        rounds += [
            EvaluationRound(
                estate_id=e["id"],
                unit_path=e["unit_path"],
                questionnaire_id=questionnaire.id,
                period=period,
                starts_on=starts_on,
                ends_on=ends_on,
                status=RoundStatus.OPEN,
                weights=DEFAULT_WEIGHTS,
                min_owner_ratings=questionnaire.min_owner_ratings,
                created_at=_at(starts_on),
            )
            for e in chosen
        ]
    await EvaluationRound.bulk_create(rounds, batch_size=500)
    round_ids = {
        (r["estate_id"], r["period"]): r["id"]
        for r in await EvaluationRound.filter(questionnaire_id=questionnaire.id).values(
            "id", "estate_id", "period"
        )
    }

    official = await _person(SUBDISTRICT_OFFICIAL)
    cadre = await _person(COMMUNITY_CADRE)
    company_person = await _person(COMPANY_STAFF)
    ratings: list[Rating] = []
    owners_total = 0
    duties = 0
    checks: list[DutyCheck] = []
    for estate in pilots:
        ownerships = await builder.register(estate)
        owners_total += len(ownerships)
        party_member = await _party_member(estate)
        managed_by_company = company_person is not None and await _manages(
            company_person, estate
        )
        mood = 3.9 if estate.name == PILOT_ESTATES[0] else 3.3
        for period, share in ((CLOSED_PERIOD[0], 0.45), (OPEN_PERIOD[0], 0.08)):
            round_id = round_ids[(estate.id, period)]
            created = _at(
                CLOSED_PERIOD[1] if period == CLOSED_PERIOD[0] else OPEN_PERIOD[1]
            )

            def add(
                target: EvaluationTarget,
                group: RaterGroup,
                person_id: int,
                key: str,
                tone: float,
                round_id: int = round_id,
                created: datetime = created,
                path: str = estate.unit_path,
            ) -> None:
                answers = builder.answers(questions[target], tone)
                ratings.append(
                    Rating(
                        round_id=round_id,
                        unit_path=path,
                        target=target,
                        group=group,
                        rater_key=key,
                        person_id=person_id,
                        answers={str(k): v for k, v in answers.items()},
                        score=rating_score(questions[target], answers),
                        created_at=created + timedelta(days=rng.randint(0, 120)),
                    )
                )

            raters = [o for o in ownerships if rng.random() < share]
            for ownership in raters:
                key = f"property:{ownership.certificate_number}"
                add(
                    EvaluationTarget.PROPERTY_SERVICE,
                    RaterGroup.OWNERS,
                    ownership.person_id,
                    key,
                    mood,
                )
                add(
                    EvaluationTarget.OWNERS_COMMITTEE,
                    RaterGroup.OWNERS,
                    ownership.person_id,
                    key,
                    mood + 0.3,
                )
            if period != CLOSED_PERIOD[0]:
                continue
            for target in EvaluationTarget:
                if official is not None:
                    add(
                        target,
                        RaterGroup.SUBDISTRICT,
                        official,
                        f"person:{official}",
                        3.8,
                    )
                if cadre is not None:
                    add(target, RaterGroup.COMMUNITY, cadre, f"person:{cadre}", 4.0)
            if party_member is not None:
                add(
                    EvaluationTarget.PROPERTY_SERVICE,
                    RaterGroup.PARTY_ORGANIZATION,
                    party_member,
                    f"person:{party_member}",
                    3.7,
                )
            if managed_by_company and company_person is not None:
                add(
                    EvaluationTarget.OWNERS_COMMITTEE,
                    RaterGroup.PROPERTY_COMPANY,
                    company_person,
                    f"person:{company_person}",
                    3.5,
                )

        made, done = await _duties(estate, rng)
        duties += made
        checks += done
    await Rating.bulk_create(ratings, batch_size=500)
    await DutyCheck.bulk_create(checks, batch_size=500)

    # Close the first half-year: its scores frozen as they stood.
    closed = [round_ids[(e.id, CLOSED_PERIOD[0])] for e in pilots]
    closed_at = _at(CLOSED_PERIOD[2] + timedelta(days=5))
    await EvaluationRound.filter(id__in=closed).update(
        status=RoundStatus.CLOSED, closed_at=closed_at
    )
    rows = await EvaluationRound.filter(id__in=closed).values()
    scores = await scores_of([{**r, "status": RoundStatus.OPEN} for r in rows])
    await EvaluationScore.bulk_create(
        [
            EvaluationScore(
                round_id=r["id"],
                estate_id=r["estate_id"],
                unit_path=r["unit_path"],
                target=target,
                status=scores[(r["id"], target)].status,
                score=scores[(r["id"], target)].score,
                groups=scores[(r["id"], target)].as_json(),
                computed_at=closed_at,
            )
            for r in rows
            for target in EvaluationTarget
        ]
    )
    return {
        "property_records": builder.records,
        "verified_owners": owners_total,
        "rounds": len(rounds),
        "ratings": len(ratings),
        "duty_items": duties,
        "duty_checks": len(checks),
    }


async def _party_member(estate: Estate) -> int | None:
    """A cadre of the estate's community who sits for its party organisation.

    The pilots have no party branch of their own: they are rated by their
    community's party organisation, through a 委员 whose post is held there.
    """
    party = await Organization.filter(
        kind=OrganizationKind.PARTY_ORGANIZATION,
        unit_id=estate.unit_id,
        estate_id__isnull=True,
    ).first()
    if party is None:
        return None
    held = await RoleAssignment.filter(
        role=Role.CADRE, unit_id=estate.unit_id, organization_id=party.id
    ).first()
    if held is None:
        held = (
            await RoleAssignment.filter(
                role=Role.CADRE, unit_id=estate.unit_id, title__in=["委员", "网格员"]
            )
            .order_by("id")
            .first()
        )
        if held is None:
            return None
        await RoleAssignment.filter(id=held.id).update(organization_id=party.id)
    return held.person_id


async def _manages(person_id: int, estate: Estate) -> bool:
    companies = await RoleAssignment.filter(
        person_id=person_id, role=Role.PROPERTY_COMPANY
    ).values_list("organization_id", flat=True)
    return await EstateManagement.filter(
        estate_id=estate.id, company_id__in=list(companies), ends_on__isnull=True
    ).exists()


async def _duties(estate: Estate, rng: random.Random) -> tuple[int, list[DutyCheck]]:
    """The estate's duty items from 2026, and checks of most of their periods."""
    start = date(2026, 1, 5)
    until = date(2026, 11, 30)
    checks: list[DutyCheck] = []
    for party, title, frequency in DUTIES:
        item = await DutyItem.create(
            estate_id=estate.id,
            unit_path=estate.unit_path,
            party=party,
            title=title,
            frequency=frequency,
            starts_on=start,
            created_at=_at(start),
        )
        seen: set[str] = set()
        day = start
        while day <= until:
            key = period_key(frequency, day)
            if key not in seen:
                seen.add(key)
                if rng.random() < 0.8:
                    checks.append(
                        DutyCheck(
                            item_id=item.id,
                            estate_id=estate.id,
                            unit_path=estate.unit_path,
                            period_key=key,
                            checked_on=day,
                            note=f"{title}：已完成（演示）",
                            created_at=_at(day),
                        )
                    )
            day += timedelta(days=1)
    return len(DUTIES), checks


def summary_line(counts: dict[str, Any]) -> str:
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
