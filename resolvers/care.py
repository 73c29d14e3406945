"""Beneficiaries: one archive from every department's list, reviewed, never dropped.

Each department's file is read through its layout (``resolvers.care_layouts``)
and merged by the resident ID number into one beneficiary per person, each
carrying a tag per finding. Re-importing a file changes nothing. A tag whose
validity has passed, or that a source no longer lists, goes to review; a person a
source marks deceased stops being visited and their subsidy tags go to review.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

from models import (
    Beneficiary,
    BeneficiaryTag,
    CareSetting,
    HouseholdMember,
    OrgUnit,
    Person,
    RoleAssignment,
    StoredFile,
    VisitOrder,
    Warning,
)
from models.enums import (
    BeneficiarySource,
    BeneficiaryStatus,
    BeneficiaryTagKind,
    ImportOutcome,
    ImportStatus,
    Level,
    Outcome,
    Role,
    TagReview,
    TagStatus,
    VisitOrderStatus,
    WarningKind,
)
from permissions.caller import Caller, community_path
from permissions.errors import Forbidden, NotFound
from permissions.rules import mask_id_number
from permissions.scope import CARE_ROLES, visible
from resolvers.base import Invalid, UserError, Work, audit, write
from resolvers.care_layouts import LAYOUTS, Layout
from resolvers.context import Context
from resolvers.events import Event
from resolvers.idnumber import IdNumberError, id_fingerprint, parse_id_number
from resolvers.imports import RowResult, run_import
from resolvers.jobs import JobRun, job
from resolvers.loaders import fetch_row
from resolvers.warnings import TOPIC as WARNING_TOPIC
from resolvers.warnings import resolve_warnings

__all__ = [
    "CHINA",
    "DEFAULTS",
    "SUBSIDY_KINDS",
    "BeneficiaryImport",
    "assign_responsible",
    "beneficiaries_query",
    "care_settings",
    "china_day",
    "due_at",
    "export_beneficiaries",
    "import_beneficiaries",
    "interval_of",
    "is_cadre_over",
    "locate_beneficiary",
    "parse_record",
    "raise_care_warnings",
    "refresh_due",
    "review_tag",
    "set_care_setting",
    "set_carer",
]

logger = logging.getLogger("yunshang.care")

CHINA = ZoneInfo("Asia/Shanghai")
Kind = BeneficiaryTagKind
TOPIC = "care"
SUBJECT = "Beneficiary"

# How often each tag asks for a visit, in days, until configured otherwise.
DEFAULT_INTERVALS: dict[BeneficiaryTagKind, int] = {
    Kind.ELDERLY_ALONE: 7,
    Kind.EXTREME_POVERTY: 14,
    Kind.CHILD_IN_DIFFICULTY: 14,
    Kind.DISABILITY: 30,
    Kind.LOW_INCOME: 30,
    Kind.LOW_INCOME_EDGE: 60,
    Kind.HOUSING_SUBSIDY: 90,
}
# Tags that pay money: a deceased person's are raised for review.
SUBSIDY_KINDS = frozenset(
    {
        Kind.LOW_INCOME,
        Kind.LOW_INCOME_EDGE,
        Kind.EXTREME_POVERTY,
        Kind.DISABILITY,
        Kind.HOUSING_SUBSIDY,
    }
)
DEFAULTS: dict[str, int] = {
    **{f"interval.{kind.value}": days for kind, days in DEFAULT_INTERVALS.items()},
    # A check-in counts within this distance of the dwelling, with a fix this good.
    "checkin.max_distance_m": 300,
    "checkin.max_accuracy_m": 100,
    # Orders the system makes are due this many days after they are made.
    "order.deadline_days": 3,
}
# What each setting may be set to.
SETTING_RANGES: dict[str, tuple[int, int]] = {
    **{f"interval.{kind.value}": (1, 366) for kind in DEFAULT_INTERVALS},
    "checkin.max_distance_m": (20, 5000),
    "checkin.max_accuracy_m": (5, 1000),
    "order.deadline_days": (1, 60),
}
LIVE_TAGS = (TagStatus.ACTIVE, TagStatus.REVIEW)
_CHUNK = 500


def china_day(at: datetime) -> date:
    """The calendar day in China of an instant."""
    return at.astimezone(CHINA).date()


def _may_manage(caller: Caller, path: str) -> bool:
    return caller.is_admin or caller.covers(path, CARE_ROLES)


def _officials_over(caller: Caller, path: str) -> bool:
    return caller.is_admin or caller.covers(path, frozenset({Role.OFFICIAL}))


# -- configuration ----------------------------------------------------------------


async def care_settings() -> dict[str, int]:
    stored = dict(await CareSetting.all().values_list("key", "value"))
    return {key: int(stored.get(key, value)) for key, value in DEFAULTS.items()}


async def set_care_setting(context: Context, key: str, value: int) -> dict[str, int]:
    """Officials of a district (or admins) set the domain's configuration."""
    caller = context.caller
    official_units = [g.unit_id for g in caller.grants if g.role == Role.OFFICIAL]
    top = await OrgUnit.filter(
        id__in=official_units,
        level__in=[Level.PROVINCE, Level.CITY, Level.DISTRICT],
    ).exists()
    if not caller.is_admin and not top:
        raise Forbidden("Only district officials set the care configuration.")
    bounds = SETTING_RANGES.get(key)
    if bounds is None:
        raise Invalid([UserError("key", "没有这项设置。", "UNKNOWN_SETTING")])
    if not bounds[0] <= value <= bounds[1]:
        raise Invalid(
            [
                UserError(
                    "value",
                    f"取值应在 {bounds[0]} 到 {bounds[1]} 之间。",
                    "SETTING_RANGE",
                )
            ]
        )

    async with write(context, "CARE_SETTING_SET") as work:
        await CareSetting.update_or_create(key=key, defaults={"value": value})
        work.audit("CareSetting", [key], "", value=value)
        work.emit(
            Event(TOPIC, "CARE_SETTING_SET", "/", "CareSetting", 0, caller.person_id)
        )
        if key.startswith("interval."):
            await refresh_due(None, await care_settings())
    return await care_settings()


def interval_of(kinds: set[BeneficiaryTagKind], settings: dict[str, int]) -> int | None:
    """The shortest interval of the tags, or None when no tag asks for visits."""
    days = [settings[f"interval.{kind.value}"] for kind in kinds]
    return min(days) if days else None


def due_at(
    listed_at: datetime, last_visit_at: datetime | None, interval_days: int | None
) -> datetime | None:
    if interval_days is None:
        return None
    return (last_visit_at or listed_at) + timedelta(days=interval_days)


async def refresh_due(ids: list[int] | None, settings: dict[str, int]) -> int:
    """Recompute the interval and the due time of beneficiaries (all when None);
    only the rows that change are written. How many changed."""
    if ids is not None and len(ids) > _CHUNK:
        changed = 0
        for start in range(0, len(ids), _CHUNK):
            changed += await refresh_due(ids[start : start + _CHUNK], settings)
        return changed
    queryset = BeneficiaryTag.filter(status__in=LIVE_TAGS)
    people = Beneficiary.all()
    if ids is not None:
        queryset = queryset.filter(beneficiary_id__in=ids)
        people = people.filter(id__in=ids)
    kinds: dict[int, set[BeneficiaryTagKind]] = {}
    for row in await queryset.values("beneficiary_id", "kind"):
        kinds.setdefault(row["beneficiary_id"], set()).add(
            BeneficiaryTagKind(row["kind"])
        )
    rows = await people.values(
        "id", "status", "listed_at", "last_visit_at", "interval_days", "visit_due_at"
    )
    stale = []
    for row in rows:
        interval = interval_of(kinds.get(row["id"], set()), settings)
        if row["status"] == BeneficiaryStatus.DECEASED:
            interval = None
        due = due_at(row["listed_at"], row["last_visit_at"], interval)
        if (interval, due) != (row["interval_days"], row["visit_due_at"]):
            stale.append(
                Beneficiary(id=row["id"], interval_days=interval, visit_due_at=due)
            )
    if stale:
        await Beneficiary.bulk_update(
            stale, fields=["interval_days", "visit_due_at"], batch_size=_CHUNK
        )
    return len(stale)


# -- reading a department's row ---------------------------------------------------


# What an import compares of the people and tags already in the archive.
_MERGED = (
    "id",
    "id_fingerprint",
    "unit_id",
    "unit_path",
    "status",
    "name",
    "address",
    "carer_name",
    "carer_phone",
    "carer_gone",
    "health",
)
_TAG_FIELDS = (
    "id",
    "beneficiary_id",
    "kind",
    "source",
    "grade",
    "detail",
    "starts_on",
    "ends_on",
    "status",
    "review",
)


class RowRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Record:
    """One row of a department's file, in the archive's terms."""

    number: str
    birth_date: date
    gender: str
    name: str
    community: str
    kind: BeneficiaryTagKind
    address: str = ""
    grade: str = ""
    detail: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    deceased: bool = False
    carer_name: str = ""
    carer_phone: str = ""
    carer_gone: bool | None = None
    health: str = ""


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(text: str, column: str) -> date | None:
    text = text.strip()
    if not text or text in {"长期", "永久", "-"}:
        return None
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise RowRefused(
            "DATE_INVALID", f"「{column}」不是有效日期：{text}。"
        ) from None


def parse_record(layout: Layout, values: dict[str, str], today: date) -> Record:
    """The row in the archive's terms; ``RowRefused`` with a stable code if not."""

    def cell(name: str) -> str:
        column = layout.columns.get(name)
        return (values.get(column) or "").strip() if column else ""

    raw_number = cell("id_number")
    if layout.id_prefix:
        raw_number = "".join(raw_number.split())[:18]
    if not raw_number:
        raise RowRefused("ID_NUMBER_MISSING", "没有身份证号。")
    try:
        number = parse_id_number(raw_number, today)
    except IdNumberError as error:
        raise RowRefused(error.code, str(error)) from None

    name = cell("name")
    if not 1 <= len(name) <= 50:
        raise RowRefused("NAME_INVALID", "姓名应为 1 到 50 个字。")

    kind = layout.fixed_tag
    if kind is None:
        word = cell("tag")
        kind = layout.tags.get(word)
        if kind is None:
            raise RowRefused("TAG_UNKNOWN", f"无法识别的类别：{word or '（空）'}。")

    grade = cell("grade")
    if layout.grades and grade:
        if grade not in layout.grades:
            raise RowRefused("GRADE_UNKNOWN", f"无法识别的等级：{grade}。")
        grade = layout.grades[grade]

    starts_on = parse_date(cell("starts_on"), layout.columns.get("starts_on", ""))
    ends_on = parse_date(cell("ends_on"), layout.columns.get("ends_on", ""))
    if starts_on and ends_on and ends_on < starts_on:
        raise RowRefused("PERIOD_INVALID", "截止日期早于开始日期。")

    carer_status = cell("carer_status")
    return Record(
        number=number.number,
        birth_date=number.birth_date,
        gender="M" if number.gender == "MALE" else "F",
        name=name,
        community=cell("community"),
        kind=kind,
        address=cell("address")[:200],
        grade=grade[:20],
        detail=cell("detail")[:100],
        starts_on=starts_on,
        ends_on=ends_on,
        deceased=cell("status") in layout.deceased,
        carer_name=cell("carer_name")[:50],
        carer_phone=cell("carer_phone")[:20],
        carer_gone=(carer_status in layout.carer_gone) if carer_status else None,
        health=cell("health")[:200],
    )


# -- importing --------------------------------------------------------------------


def _tag_status(record: Record, today: date) -> tuple[TagStatus, TagReview | None]:
    if record.deceased and record.kind in SUBSIDY_KINDS:
        return TagStatus.REVIEW, TagReview.DECEASED
    if record.ends_on is not None and record.ends_on < today:
        return TagStatus.REVIEW, TagReview.LAPSED
    return TagStatus.ACTIVE, None


@dataclass
class BeneficiaryImport:
    """The state of one import: where its places are, what it has seen."""

    context: Context
    layout: Layout
    unit: OrgUnit
    places: dict[str, list[dict[str, Any]]]
    settings: dict[str, int]
    now: datetime
    seen_tags: set[int] = field(default_factory=set)
    seen_rows: dict[tuple[str, BeneficiaryTagKind], int] = field(default_factory=dict)
    touched: set[int] = field(default_factory=set)

    @property
    def today(self) -> date:
        return china_day(self.now)

    def place(self, name: str) -> dict[str, Any]:
        if not name and self.unit.level in (Level.COMMUNITY, Level.GRID):
            return {"id": self.unit.id, "name": self.unit.name, "path": self.unit.path}
        found = self.places.get(name, [])
        if not found:
            raise RowRefused(
                "COMMUNITY_UNKNOWN", f"「{name or '（空）'}」不在本次导入的范围内。"
            )
        if len(found) > 1:
            raise RowRefused("COMMUNITY_AMBIGUOUS", f"有多个村社名为「{name}」。")
        return found[0]

    async def handle_chunk(
        self, work: Work, batch: Sequence[tuple[int, dict[str, str]]]
    ) -> list[RowResult]:
        """A chunk of rows in a few statements: the people it names are read at
        once, the new ones inserted at once; only merges write row by row."""
        results: list[RowResult | None] = [None] * len(batch)
        parsed: list[tuple[int, Record, dict[str, Any], str]] = []
        for index, (row_number, values) in enumerate(batch):
            try:
                record = parse_record(self.layout, values, self.today)
                place = self.place(record.community)
            except RowRefused as refused:
                results[index] = RowResult(
                    ImportOutcome.REFUSED, refused.code, refused.message
                )
                continue
            fingerprint = id_fingerprint(record.number, self.context.id_key)
            earlier = self.seen_rows.get((fingerprint, record.kind))
            if earlier is not None:
                results[index] = RowResult(
                    ImportOutcome.UNCHANGED,
                    "DUPLICATE_IN_FILE",
                    f"与第 {earlier} 行是同一人的同一类别。",
                )
                continue
            self.seen_rows[(fingerprint, record.kind)] = row_number
            parsed.append((index, record, place, fingerprint))

        fingerprints = list({p[3] for p in parsed})
        found = {
            b["id_fingerprint"]: b
            for b in await Beneficiary.filter(id_fingerprint__in=fingerprints).values(
                *_MERGED
            )
        }
        # The first row of a person not in the archive creates them.
        creating: dict[str, tuple[int, Record, dict[str, Any]]] = {}
        for index, record, place, fingerprint in parsed:
            if fingerprint not in found and fingerprint not in creating:
                creating[fingerprint] = (index, record, place)
        if creating:
            found.update(await self._create_all(creating))
        tags: dict[int, list[dict[str, Any]]] = {}
        for tag in await BeneficiaryTag.filter(
            beneficiary_id__in=[b["id"] for b in found.values()]
        ).values(*_TAG_FIELDS):
            tags.setdefault(tag["beneficiary_id"], []).append(tag)

        for index, record, place, fingerprint in parsed:
            beneficiary = found[fingerprint]
            if fingerprint in creating and creating[fingerprint][0] == index:
                results[index] = RowResult(ImportOutcome.TAKEN)
                continue
            if not _may_manage(self.context.caller, beneficiary["unit_path"]):
                results[index] = RowResult(
                    ImportOutcome.REFUSED,
                    "OUTSIDE_JURISDICTION",
                    "此人已登记在您管辖范围以外的村社。",
                )
                continue
            listed = tags.setdefault(beneficiary["id"], [])
            changes, code = await self._merge(work, beneficiary, record, place, listed)
            results[index] = (
                RowResult(ImportOutcome.MERGED, code, "；".join(changes) + "。")
                if changes
                else RowResult(ImportOutcome.UNCHANGED)
            )

        for listed in tags.values():
            self.seen_tags.update(
                t["id"] for t in listed if t["source"] == self.layout.source
            )
        return [
            r if r is not None else RowResult(ImportOutcome.REFUSED) for r in results
        ]

    async def _create_all(
        self, creating: dict[str, tuple[int, Record, dict[str, Any]]]
    ) -> dict[str, dict[str, Any]]:
        """Insert the new people and their first tags; the people by fingerprint."""
        numbers = [record.number for _, record, _ in creating.values()]
        people = dict(
            await Person.filter(id_number__in=numbers)
            .order_by("-id")
            .values_list("id_number", "id")
        )
        homes = dict(
            await HouseholdMember.filter(
                person_id__in=list(people.values()), ends_on__isnull=True
            )
            .order_by("-id")
            .values_list("person_id", "household_id")
        )
        rows = []
        for fingerprint, (_, record, place) in creating.items():
            interval = (
                None if record.deceased else interval_of({record.kind}, self.settings)
            )
            person_id = people.get(record.number)
            rows.append(
                Beneficiary(
                    id_fingerprint=fingerprint,
                    id_number=record.number,
                    name=record.name,
                    gender=record.gender,
                    birth_date=record.birth_date,
                    unit_id=place["id"],
                    unit_path=place["path"],
                    address=record.address,
                    person_id=person_id,
                    household_id=homes.get(person_id) if person_id else None,
                    carer_name=record.carer_name,
                    carer_phone=record.carer_phone,
                    carer_gone=bool(record.carer_gone),
                    health=record.health,
                    status=BeneficiaryStatus.DECEASED
                    if record.deceased
                    else BeneficiaryStatus.ACTIVE,
                    deceased_on=self.today if record.deceased else None,
                    listed_at=self.now,
                    interval_days=interval,
                    visit_due_at=due_at(self.now, None, interval),
                )
            )
        await insert_rows(Beneficiary, rows)
        created = {
            b["id_fingerprint"]: b
            for b in await Beneficiary.filter(id_fingerprint__in=list(creating)).values(
                *_MERGED
            )
        }
        first_tags = []
        for fingerprint, (_, record, place) in creating.items():
            status, review = _tag_status(record, self.today)
            first_tags.append(
                BeneficiaryTag(
                    beneficiary_id=created[fingerprint]["id"],
                    unit_path=place["path"],
                    kind=record.kind,
                    source=self.layout.source,
                    grade=record.grade,
                    detail=record.detail,
                    starts_on=record.starts_on,
                    ends_on=record.ends_on,
                    status=status,
                    review=review,
                )
            )
        await insert_rows(BeneficiaryTag, first_tags)
        return created

    async def _merge(
        self,
        work: Work,
        found: dict[str, Any],
        record: Record,
        place: dict[str, Any],
        tags: list[dict[str, Any]],
    ) -> tuple[list[str], str]:
        changes: list[str] = []
        others = sorted(
            {str(t["source"]) for t in tags if t["source"] != self.layout.source}
        )

        updates: dict[str, Any] = {}
        if place["id"] != found["unit_id"]:
            updates.update(unit_id=place["id"], unit_path=place["path"])
            changes.append(f"迁至{place['name']}")
        for name in ("name", "address", "carer_name", "carer_phone", "health"):
            value = getattr(record, name)
            if value and value != found[name]:
                updates[name] = value
                changes.append(f"更新{self.layout.columns[name]}")
        if record.carer_gone is not None and record.carer_gone != found["carer_gone"]:
            updates["carer_gone"] = record.carer_gone
            changes.append("照料人状态变更")
        if updates:
            await Beneficiary.filter(id=found["id"]).update(**updates)
            found.update(updates)
            if "unit_path" in updates:
                await BeneficiaryTag.filter(beneficiary_id=found["id"]).update(
                    unit_path=place["path"]
                )
        if record.deceased and found["status"] != BeneficiaryStatus.DECEASED:
            await mark_deceased(work, found["id"], found["unit_path"], self.now)
            found["status"] = BeneficiaryStatus.DECEASED
            changes.append("来源标记为死亡，走访停止")

        tag = next(
            (
                t
                for t in tags
                if t["kind"] == record.kind and t["source"] == self.layout.source
            ),
            None,
        )
        if tag is None:
            status, review = _tag_status(record, self.today)
            created = await BeneficiaryTag.create(
                beneficiary_id=found["id"],
                unit_path=place["path"],
                kind=record.kind,
                source=self.layout.source,
                grade=record.grade,
                detail=record.detail,
                starts_on=record.starts_on,
                ends_on=record.ends_on,
                status=status,
                review=review,
            )
            tags.append({"id": created.id, "source": self.layout.source})
            changes.append(f"增加标签 {record.kind.value}")
        else:
            changes.extend(await self._update_tag(tag, record))
        if changes:
            self.touched.add(found["id"])
        code = "MERGED_SOURCES" if others else "UPDATED"
        if changes and others:
            changes.insert(0, f"与 {'、'.join(others)} 的记录合并为一人")
        return changes, code

    async def _update_tag(self, tag: dict[str, Any], record: Record) -> list[str]:
        changes: list[str] = []
        updates: dict[str, Any] = {}
        for name in ("grade", "detail", "starts_on", "ends_on"):
            value = getattr(record, name)
            if value != tag[name]:
                updates[name] = value
        if updates:
            changes.append("更新标签的等级、说明或有效期")
        relisted = tag["status"] == TagStatus.REVIEW and tag["review"] in (
            TagReview.NOT_LISTED,
            TagReview.LAPSED,
        )
        if relisted and (record.ends_on is None or record.ends_on >= self.today):
            updates.update(status=TagStatus.ACTIVE, review=None)
            changes.append("标签重新有效")
        if updates:
            await BeneficiaryTag.filter(id=tag["id"]).update(**updates)
            tag.update(updates)
        return changes


async def insert_rows(
    model: type[Model],
    objects: list[Any],
    returning: tuple[str, ...] = (),
    ignore_conflicts: bool = False,
) -> list[dict[str, Any]] | None:
    """Insert ``objects`` (without ids) in one statement on PostgreSQL, where
    asyncpg's executemany behind ``bulk_create`` costs a round trip per row, and
    return the ``returning`` columns of the rows inserted; through ``bulk_create``
    on SQLite, where there is no round trip to save (then ``None``: re-read)."""
    db = model._meta.db
    if not objects:
        return []
    if db.capabilities.dialect != "postgres":
        await model.bulk_create(objects, ignore_conflicts=ignore_conflicts)
        return None
    meta = model._meta
    names = [name for name in meta.fields_db_projection if name != meta.pk_attr]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    values: list[Any] = []
    rows = []
    for obj in objects:
        marks = []
        for name in names:
            field_object = meta.fields_map[name]
            values.append(field_object.to_db_value(getattr(obj, name), obj))
            marks.append(f"${len(values)}")
        rows.append(f"({', '.join(marks)})")
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join(rows)}'
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(f'"{name}"' for name in returning)
    if not returning:
        await db.execute_query(sql, values)
        return []
    # execute_query drops what an INSERT returns; the dict variant fetches it.
    return list(await db.execute_query_dict(sql, values))


async def mark_deceased(
    work: Work, beneficiary_id: int, unit_path: str, now: datetime
) -> None:
    """Visits stop, open orders close, subsidy tags go to review."""
    await Beneficiary.filter(id=beneficiary_id).update(
        status=BeneficiaryStatus.DECEASED,
        deceased_on=china_day(now),
        visit_due_at=None,
        interval_days=None,
    )
    await VisitOrder.filter(
        beneficiary_id=beneficiary_id, status=VisitOrderStatus.OPEN
    ).update(status=VisitOrderStatus.CLOSED, closed_reason="DECEASED", closed_at=now)
    await BeneficiaryTag.filter(
        beneficiary_id=beneficiary_id,
        kind__in=list(SUBSIDY_KINDS),
        status=TagStatus.ACTIVE,
    ).update(status=TagStatus.REVIEW, review=TagReview.DECEASED)
    await resolve_warnings(
        work,
        subject_type=SUBJECT,
        subject_id=beneficiary_id,
        kinds=[
            WarningKind.VISIT_OVERDUE,
            WarningKind.NEW_BENEFICIARY,
            WarningKind.UNATTENDED,
        ],
    )
    work.emit(
        Event(
            TOPIC,
            "BENEFICIARY_DECEASED",
            unit_path,
            SUBJECT,
            beneficiary_id,
            work.context.caller.person_id,
        )
    )


async def _places(unit: OrgUnit) -> dict[str, list[dict[str, Any]]]:
    found = await OrgUnit.filter(
        path__startswith=unit.path, level__in=[Level.COMMUNITY, Level.GRID]
    ).values("id", "name", "path")
    places: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        places.setdefault(row["name"], []).append(row)
    return places


async def import_beneficiaries(
    context: Context,
    source: BeneficiarySource,
    unit_id: int,
    filename: str,
    data: bytes,
) -> tuple[dict[str, Any], int]:
    """Run an import of one department's file; returns the run and how many tags
    the source no longer lists (flagged for review)."""
    unit = await visible(OrgUnit, context.caller).get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    if not _officials_over(context.caller, unit.path):
        raise Forbidden("Only officials over the unit import beneficiary lists.")
    layout = LAYOUTS.get(source)
    if layout is None:
        raise Invalid([UserError("source", "这个来源没有导入格式。", "NO_LAYOUT")])

    state = BeneficiaryImport(
        context=context,
        layout=layout,
        unit=unit,
        places=await _places(unit),
        settings=await care_settings(),
        now=context.clock(),
    )
    run = await run_import(
        context,
        kind=f"BENEFICIARY_{source.value}",
        unit_id=unit.id,
        unit_path=unit.path,
        filename=filename,
        data=data,
        columns=layout.required,
        handle_chunk=state.handle_chunk,
    )
    if state.touched:
        await refresh_due(sorted(state.touched), state.settings)
    flagged = await _flag_unlisted(context, state, unit, run)
    return run, flagged


async def _flag_unlisted(
    context: Context, state: BeneficiaryImport, unit: OrgUnit, run: dict[str, Any]
) -> int:
    """Tags of the source under the unit that the completed file did not list."""
    if run["status"] != ImportStatus.DONE:
        return 0
    listed = await BeneficiaryTag.filter(
        source=state.layout.source,
        status=TagStatus.ACTIVE,
        unit_path__startswith=unit.path,
    ).values_list("id", flat=True)
    missing = sorted(set(listed) - state.seen_tags)
    if not missing:
        return 0
    async with write(context, "BENEFICIARY_UNLISTED") as work:
        for start in range(0, len(missing), _CHUNK):
            await BeneficiaryTag.filter(id__in=missing[start : start + _CHUNK]).update(
                status=TagStatus.REVIEW, review=TagReview.NOT_LISTED
            )
        work.audit(
            "BeneficiaryTag",
            missing,
            unit.path,
            source=state.layout.source.value,
            reason=TagReview.NOT_LISTED.value,
        )
        work.emit(
            Event(
                TOPIC,
                "TAGS_UNLISTED",
                unit.path,
                "OrgUnit",
                unit.id,
                context.caller.person_id,
                data={"count": len(missing)},
            )
        )
    return len(missing)


# -- the archive ------------------------------------------------------------------


def beneficiaries_query(
    caller: Caller,
    unit_path: str | None = None,
    kinds: list[BeneficiaryTagKind] | None = None,
    status: BeneficiaryStatus | None = None,
    needs_review: bool | None = None,
    search: str | None = None,
) -> Any:
    queryset = visible(Beneficiary, caller)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    if kinds:
        tagged = BeneficiaryTag.filter(kind__in=kinds, status__in=LIVE_TAGS)
        queryset = queryset.filter(id__in=Subquery(tagged.values("beneficiary_id")))
    if status is not None:
        queryset = queryset.filter(status=status)
    if needs_review is not None:
        reviewed = Subquery(
            BeneficiaryTag.filter(status=TagStatus.REVIEW).values("beneficiary_id")
        )
        queryset = (
            queryset.filter(id__in=reviewed)
            if needs_review
            else queryset.exclude(id__in=reviewed)
        )
    if search:
        queryset = queryset.filter(name__icontains=search.strip())
    return queryset


async def _managed(context: Context, beneficiary_id: int) -> Beneficiary:
    found = await visible(Beneficiary, context.caller).get_or_none(id=beneficiary_id)
    if found is None:
        raise NotFound("No Beneficiary has this id.")
    if not _may_manage(context.caller, found.unit_path):
        raise Forbidden("Only cadres and officials over the person change the record.")
    return found


async def _cure_unattended(work: Work, beneficiary_id: int) -> None:
    row = await Beneficiary.get(id=beneficiary_id)
    now = work.context.clock()
    if (
        row.responsible_id is not None
        and not row.carer_gone
        and await is_cadre_over(row.responsible_id, row.unit_path, now)
    ):
        await resolve_warnings(
            work,
            subject_type=SUBJECT,
            subject_id=beneficiary_id,
            kinds=[WarningKind.UNATTENDED],
        )


async def assign_responsible(
    context: Context, beneficiary_id: int, person_id: int
) -> dict[str, Any]:
    """Name the cadre who answers for the person's visits."""
    found = await _managed(context, beneficiary_id)
    cadre = await visible(Person, context.caller).get_or_none(id=person_id)
    if cadre is None:
        raise NotFound("No Person has this id.")
    holds = await is_cadre_over(person_id, found.unit_path, context.clock())
    if not holds:
        raise Invalid(
            [
                UserError(
                    "responsibleId",
                    "负责人应是此人所在村社或网格的干部。",
                    "NOT_A_CADRE_HERE",
                )
            ]
        )

    async with write(context, "BENEFICIARY_ASSIGN") as work:
        await Beneficiary.filter(id=found.id).update(responsible_id=person_id)
        await _cure_unattended(work, found.id)
        work.audit(SUBJECT, [found.id], found.unit_path, responsible=person_id)
        work.emit(_event(context, "BENEFICIARY_ASSIGNED", found))
    return await fetch_row(Beneficiary, found.id)


async def is_cadre_over(person_id: int, path: str, now: datetime) -> bool:
    """The person holds a cadre role, now, at the path's unit or above it within
    its community, or at a grid below the community (grid workers)."""
    held: list[str] = await RoleAssignment.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        person_id=person_id,
        role=Role.CADRE,
        starts_at__lte=now,
    ).values_list("unit_path", flat=True)  # type: ignore[assignment]
    return any(path.startswith(p) or p.startswith(path) for p in held)


async def set_carer(
    context: Context,
    beneficiary_id: int,
    name: str,
    phone: str,
    gone: bool,
) -> dict[str, Any]:
    found = await _managed(context, beneficiary_id)
    name, phone = name.strip(), phone.strip()
    errors = []
    if len(name) > 50:
        errors.append(UserError("carerName", "姓名最多 50 个字。", "NAME_INVALID"))
    if phone and not re.fullmatch(r"[0-9+\-]{5,20}", phone):
        errors.append(UserError("carerPhone", "电话号码无效。", "PHONE_INVALID"))
    if errors:
        raise Invalid(errors)

    async with write(context, "BENEFICIARY_CARER_SET") as work:
        await Beneficiary.filter(id=found.id).update(
            carer_name=name, carer_phone=phone, carer_gone=gone
        )
        await _cure_unattended(work, found.id)
        work.audit(SUBJECT, [found.id], found.unit_path, carer_gone=gone)
        work.emit(_event(context, "BENEFICIARY_CARER_SET", found))
    return await fetch_row(Beneficiary, found.id)


async def locate_beneficiary(
    context: Context, beneficiary_id: int, latitude: float, longitude: float
) -> dict[str, Any]:
    """Where the dwelling is (WGS-84): check-ins are measured from here."""
    found = await _managed(context, beneficiary_id)
    async with write(context, "BENEFICIARY_LOCATE") as work:
        await Beneficiary.filter(id=found.id).update(
            latitude=latitude, longitude=longitude
        )
        work.audit(SUBJECT, [found.id], found.unit_path)
        work.emit(_event(context, "BENEFICIARY_LOCATED", found))
    return await fetch_row(Beneficiary, found.id)


async def review_tag(
    context: Context,
    tag_id: int,
    keep: bool,
    ends_on: date | None,
    evidence_id: int | None,
) -> dict[str, Any]:
    """Settle a tag under review (or any live tag): keep it until a date, or end it."""
    tag = await visible(BeneficiaryTag, context.caller).get_or_none(id=tag_id)
    if tag is None:
        raise NotFound("No BeneficiaryTag has this id.")
    beneficiary = await _managed(context, tag.beneficiary_id)
    today = china_day(context.clock())
    errors = []
    if tag.status == TagStatus.ENDED:
        errors.append(UserError("id", "这个标签已经结束。", "TAG_ENDED"))
    if keep and beneficiary.status == BeneficiaryStatus.DECEASED:
        errors.append(UserError("keep", "此人已去世，不能保留标签。", "DECEASED"))
    # Kept without a new end, a tag keeps the end it has.
    kept_until = ends_on if ends_on is not None else tag.ends_on
    if keep and kept_until is not None and kept_until < today:
        errors.append(UserError("endsOn", "有效期不能早于今天。", "ENDS_IN_PAST"))
    if (
        evidence_id is not None
        and not await visible(StoredFile, context.caller)
        .filter(id=evidence_id)
        .exists()
    ):
        errors.append(UserError("evidenceId", "找不到这个文件。", "NO_FILE"))
    if errors:
        raise Invalid(errors)

    async with write(context, "BENEFICIARY_TAG_REVIEW") as work:
        updates: dict[str, Any] = {"review": None}
        if keep:
            updates.update(status=TagStatus.ACTIVE, ends_on=kept_until)
        else:
            updates.update(status=TagStatus.ENDED, ends_on=min(today, ends_on or today))
        if evidence_id is not None:
            updates["evidence_id"] = evidence_id
        await BeneficiaryTag.filter(id=tag.id).update(**updates)
        await refresh_due([beneficiary.id], await care_settings())
        if beneficiary.status == BeneficiaryStatus.DECEASED and not await _live_subsidy(
            beneficiary.id
        ):
            await resolve_warnings(
                work,
                subject_type=SUBJECT,
                subject_id=beneficiary.id,
                kinds=[WarningKind.DECEASED],
            )
        work.audit("BeneficiaryTag", [tag.id], tag.unit_path, keep=keep)
        work.emit(_event(context, "BENEFICIARY_TAG_REVIEWED", beneficiary))
    return await fetch_row(BeneficiaryTag, tag.id)


async def _live_subsidy(beneficiary_id: int) -> bool:
    return await BeneficiaryTag.filter(
        beneficiary_id=beneficiary_id,
        kind__in=list(SUBSIDY_KINDS),
        status__in=LIVE_TAGS,
    ).exists()


def _event(context: Context, kind: str, beneficiary: Beneficiary) -> Event:
    return Event(
        TOPIC,
        kind,
        beneficiary.unit_path,
        SUBJECT,
        beneficiary.id,
        context.caller.person_id,
    )


# -- warnings ---------------------------------------------------------------------


async def _flag_lapsed(work: Work, today: date) -> int:
    lapsed = await BeneficiaryTag.filter(
        status=TagStatus.ACTIVE, ends_on__lt=today
    ).values_list("id", flat=True)
    for start in range(0, len(lapsed), _CHUNK):
        await BeneficiaryTag.filter(id__in=lapsed[start : start + _CHUNK]).update(
            status=TagStatus.REVIEW, review=TagReview.LAPSED
        )
    if lapsed:
        work.audit("BeneficiaryTag", lapsed, "", reason=TagReview.LAPSED.value)
    return len(lapsed)


async def serving_communities(now: datetime) -> dict[int, tuple[str, ...]]:
    """The communities where each person holds a cadre's post now (a grid's
    community for a grid worker), as the care scope bounds their charges."""
    posts = await RoleAssignment.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        role=Role.CADRE,
        starts_at__lte=now,
    ).values("person_id", "unit_path", level="unit__level", parent="unit__parent__path")
    held: dict[int, set[str]] = {}
    for post in posts:
        path = community_path(post["level"], post["unit_path"], post["parent"])
        if path is not None:
            held.setdefault(post["person_id"], set()).add(path)
    return {person: tuple(paths) for person, paths in held.items()}


def serves(communities: dict[int, tuple[str, ...]], row: dict[str, Any]) -> bool:
    """Whether the row's responsible cadre is on a post in its community."""
    responsible = row["responsible_id"]
    if responsible is None:
        return False
    return any(row["unit_path"].startswith(p) for p in communities.get(responsible, ()))


async def _candidates(now: datetime) -> dict[WarningKind, dict[int, dict[str, Any]]]:
    """The beneficiaries each kind of warning should be open for now."""
    active = Beneficiary.filter(status=BeneficiaryStatus.ACTIVE)
    columns = ("id", "unit_id", "unit_path")
    overdue = await active.filter(visit_due_at__lt=now).values(*columns, "visit_due_at")
    new = await active.filter(last_visit_at__isnull=True).values(*columns)
    # A responsible cadre answers only while on a cadre's post in the person's
    # community: one who has left or moved answers for nobody.
    communities = await serving_communities(now)
    unattended = [
        row
        for row in await active.values(*columns, "responsible_id", "carer_gone")
        if row["carer_gone"] or not serves(communities, row)
    ]
    deceased_ids = await BeneficiaryTag.filter(
        beneficiary__status=BeneficiaryStatus.DECEASED,
        kind__in=list(SUBSIDY_KINDS),
        status__in=LIVE_TAGS,
    ).values_list("beneficiary_id", flat=True)
    deceased = await Beneficiary.filter(id__in=sorted(set(deceased_ids))).values(
        *columns, "deceased_on"
    )
    return {
        WarningKind.VISIT_OVERDUE: {r["id"]: r for r in overdue},
        WarningKind.NEW_BENEFICIARY: {r["id"]: r for r in new},
        WarningKind.UNATTENDED: {r["id"]: r for r in unattended},
        WarningKind.DECEASED: {r["id"]: r for r in deceased},
    }


def _detail(kind: WarningKind, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    if kind == WarningKind.VISIT_OVERDUE:
        due: datetime = row["visit_due_at"]
        return {"due_at": due.isoformat(), "days_overdue": (now - due).days}
    if kind == WarningKind.UNATTENDED:
        if row["responsible_id"] is None:
            return {"reason": "NO_RESPONSIBLE"}
        return {"reason": "CARER_GONE" if row["carer_gone"] else "RESPONSIBLE_LEFT"}
    if kind == WarningKind.DECEASED:
        day = row["deceased_on"]
        return {"deceased_on": day.isoformat() if day else None}
    return {}


def warning_key(kind: WarningKind, beneficiary_id: int) -> str:
    return f"{kind.value}:{SUBJECT}:{beneficiary_id}"


async def _raise_all(
    work: Work, kind: WarningKind, rows: list[dict[str, Any]], now: datetime
) -> int:
    """``raise_warning`` for many subjects in one statement: the same keys, the
    same events, one audit record for the chunk."""
    # The caller left out the subjects with an open warning of this kind; a
    # worker raising one meanwhile wins the unique open key, ours is dropped.
    fresh = [
        Warning(
            kind=kind,
            unit_id=row["unit_id"],
            unit_path=row["unit_path"],
            subject_type=SUBJECT,
            subject_id=row["id"],
            key=warning_key(kind, row["id"]),
            open_key=warning_key(kind, row["id"]),
            raised_at=now,
            detail=_detail(kind, row, now),
        )
        for row in rows
    ]
    if not fresh:
        return 0
    made = await insert_rows(
        Warning, fresh, ("id", "unit_path", "key"), ignore_conflicts=True
    )
    if made is None:
        made = await Warning.filter(
            open_key__in=[w.key for w in fresh], raised_at=now
        ).values("id", "unit_path", "key")
    work.audit("Warning", [w["id"] for w in made], "", kind=kind.value)
    for warning in made:
        work.emit(
            Event(
                at=now,
                topic=WARNING_TOPIC,
                kind="WARNING_RAISED",
                unit_path=warning["unit_path"],
                subject_type="Warning",
                subject_id=warning["id"],
                data={"warning_kind": kind.value, "key": warning["key"]},
            )
        )
    return len(made)


async def raise_care_warnings(context: Context) -> dict[str, int]:
    """Flag lapsed tags, raise the warnings that hold and resolve those that no
    longer do. Safe to run twice: a warning is keyed by its kind and subject."""
    now = context.clock()
    counts: dict[str, int] = {}
    async with write(context, "CARE_WARNINGS") as work:
        counts["lapsed_tags"] = await _flag_lapsed(work, china_day(now))
    if counts["lapsed_tags"]:
        await refresh_due(None, await care_settings())

    wanted = await _candidates(now)
    for kind, rows in wanted.items():
        open_ids = {
            int(row["subject_id"])
            for row in await Warning.filter(
                kind=kind, subject_type=SUBJECT, resolved_at__isnull=True
            ).values("subject_id")
        }
        to_raise = sorted(set(rows) - open_ids)
        to_resolve = sorted(open_ids - set(rows))
        raised = resolved = 0
        for start in range(0, max(len(to_raise), len(to_resolve)), _CHUNK):
            async with write(context, "CARE_WARNINGS") as work:
                chunk = [rows[pk] for pk in to_raise[start : start + _CHUNK]]
                raised += await _raise_all(work, kind, chunk, now)
                for beneficiary_id in to_resolve[start : start + _CHUNK]:
                    resolved += await resolve_warnings(
                        work,
                        subject_type=SUBJECT,
                        subject_id=beneficiary_id,
                        kinds=[kind],
                    )
        counts[f"raised_{kind.value.lower()}"] = raised
        counts[f"resolved_{kind.value.lower()}"] = resolved
    logger.info("care warnings", extra={"counts": counts})
    return counts


# -- export -----------------------------------------------------------------------

EXPORT_COLUMNS = ("姓名", "身份证号", "村社", "住址", "标签", "状态", "下次走访")


async def export_beneficiaries(
    context: Context, unit_id: int, reveal: bool
) -> dict[str, Any]:
    """A CSV of a unit's beneficiaries for its officials; ID numbers are masked
    unless ``reveal`` is asked, and the export (and each reveal) is audited."""
    caller = context.caller
    unit = await visible(OrgUnit, caller).get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    officials = frozenset({Role.OFFICIAL})
    if not caller.covers(unit.path, officials):
        raise Forbidden("Only officials over the unit export its beneficiaries.")

    rows = (
        await visible(Beneficiary, caller)
        .filter(unit_path__startswith=unit.path)
        .order_by("id")
        .values(
            "id", "name", "id_number", "unit_id", "address", "status", "visit_due_at"
        )
    )
    names = dict(
        await OrgUnit.filter(path__startswith=unit.path).values_list("id", "name")
    )
    tags: dict[int, list[str]] = {}
    for beneficiary_id, kind in await BeneficiaryTag.filter(
        beneficiary_id__in=[r["id"] for r in rows], status__in=LIVE_TAGS
    ).values_list("beneficiary_id", "kind"):
        tags.setdefault(beneficiary_id, []).append(str(kind))

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        number = row["id_number"] if reveal else mask_id_number(row["id_number"])
        due = row["visit_due_at"]
        writer.writerow(
            [
                row["name"],
                number,
                names.get(row["unit_id"], ""),
                row["address"],
                "、".join(sorted(tags.get(row["id"], []))),
                row["status"],
                china_day(due).isoformat() if due else "",
            ]
        )
    ids = [row["id"] for row in rows]
    async with write(context, "BENEFICIARY_EXPORT") as work:
        work.audit(SUBJECT, ids, unit.path, revealed=reveal, rows=len(ids))
    if reveal and ids:
        await audit(
            context,
            "REVEAL",
            Outcome.OK,
            SUBJECT,
            ids,
            unit.path,
            field_name="idNumber",
            operation="beneficiaryExport",
        )
    stamp = china_day(context.clock()).isoformat()
    return {
        "filename": f"beneficiaries-{unit.code}-{stamp}.csv",
        "content": "\ufeff" + out.getvalue(),
        "rows": len(ids),
        "revealed": reveal,
    }


@job("care.warnings", every=timedelta(hours=1))
async def care_warnings_job(run: JobRun) -> dict[str, int]:
    """Flag lapsed tags; raise and resolve the care warnings (预警)."""
    return await raise_care_warnings(run.context)
