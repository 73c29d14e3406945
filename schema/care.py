"""Beneficiaries in the schema: the archive, its tags, imports, review and export.

The archive is staff-only at the root and scoped to the cadres and officials over
each person (``permissions.scope``). Inside it, ID numbers, health and disability
details are sensitive: read in clear only by cadres and officials whose
jurisdiction holds the person (and the responsible cadre), when the field is
asked for by name, each read audited; ``maskedIdNumber`` is what lists show.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from models import Beneficiary as BeneficiaryModel
from models import BeneficiaryTag as BeneficiaryTagModel
from models import Household as HouseholdModel
from models import OrgUnit as OrgUnitModel
from models import Person as PersonModel
from models import StoredFile as StoredFileModel
from models import Visit as VisitModel
from models import VisitOrder as VisitOrderModel
from models.enums import (
    BeneficiarySource,
    BeneficiaryStatus,
    BeneficiaryTagKind,
    Role,
    TagReview,
    TagStatus,
)
from permissions.caller import Caller
from permissions.rules import (
    STAFF,
    VISIBLE,
    Decision,
    HasRole,
    InJurisdiction,
    Own,
    Sensitive,
    mask_id_number,
    mask_phone,
)
from resolvers import care as care_rules
from resolvers import care_cockpit
from resolvers.base import Invalid, UserError
from resolvers.care_layouts import LAYOUTS
from resolvers.context import Context
from resolvers.file import Upload as UploadFile
from resolvers.file import safe_filename
from resolvers.live import changes_under
from resolvers.loaders import by_id
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
from schema.file import StoredFile
from schema.geo import LocationInput, location_errors, wgs84_of
from schema.imports import ImportRun
from schema.node import register_node
from schema.org import Household, OrgUnit, _unit_path
from schema.relations import Page, page_of, paged, related

if TYPE_CHECKING:
    from schema.person import Person
    from schema.visit import Visit, VisitOrder

__all__ = [
    "CARE_READ",
    "Beneficiary",
    "BeneficiaryTag",
    "CareMutation",
    "CareQuery",
    "CareSubscription",
]

SourceType = strawberry.enum(
    BeneficiarySource,
    description="The department a list comes from (浙里救 = ZHELIJIU).",
)
TagKindType = strawberry.enum(
    BeneficiaryTagKind, description="What a tag says about a beneficiary."
)
BeneficiaryStatusType = strawberry.enum(
    BeneficiaryStatus, description="Whether the person is alive in the archive."
)
TagStatusType = strawberry.enum(
    TagStatus, description="ACTIVE, REVIEW (flagged for a decision) or ENDED."
)
TagReviewType = strawberry.enum(TagReview, description="Why a tag is under review.")

# Who reads the archive's sensitive fields: cadres and officials whose jurisdiction
# holds the person, and the cadre who answers for them. Not the platform's admins.
CARE_STAFF = InJurisdiction(Role.CADRE, Role.OFFICIAL)
CARE_READ = CARE_STAFF | Own("responsible_id")
ID_NUMBER = Sensitive(CARE_READ, mask_id_number)
HEALTH = Sensitive(CARE_READ)
BIRTH = Sensitive(CARE_READ)
CARER_PHONE = Sensitive(CARE_READ, mask_phone)
TAG_DETAIL = Sensitive(CARE_STAFF)
CHILD_AGE = 18


def is_child(born: date | None, today: date) -> bool:
    if born is None:
        return False
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years < CHILD_AGE


def _mask_name(value: Any) -> Any:
    text = str(value)
    return text[:1] + "*" * max(1, len(text) - 1)


class UnlessChild(Sensitive):
    """Whoever sees the row reads the field, except of a child: then only ``rule``;
    the others read it masked."""

    sensitive = False

    def decide(self, caller: Caller) -> Decision:
        return Decision.ROW

    def allows(self, caller: Caller, row: Any) -> bool:
        if not is_child(row.get("birth_date"), date.today()):
            return True
        decision = self.rule.decide(caller)
        return decision == Decision.ALLOW or (
            decision == Decision.ROW and self.rule.allows(caller, row)
        )

    def describe(self) -> str:
        return f"whoever may see the object; of a child, {self.rule.describe()}"


CHILD_NAME = UnlessChild(CARE_READ, _mask_name)
CHILD_ADDRESS = UnlessChild(CARE_READ)

VISITS = Page(VisitModel, key="beneficiary_id")


@strawberry.type(description="A person the community looks after (补助走访对象).")
class Beneficiary(Node):
    name: str | None = field(CHILD_NAME, "The name (a child's masked for others).")
    id_number: str | None = field(
        ID_NUMBER, "The resident ID number, in clear for those who may (audited)."
    )
    gender: str | None = field(VISIBLE, "M or F, from the ID number.")
    birth_date: date | None = field(BIRTH, "The date of birth.")
    address: str | None = field(CHILD_ADDRESS, "The dwelling's address.")
    health: str | None = field(HEALTH, "Health as a department recorded it.")
    carer_name: str = field(VISIBLE, "The carer or guardian recorded.")
    carer_phone: str | None = field(CARER_PHONE, "The carer's phone.")
    carer_gone: bool = field(VISIBLE, "Whether the carer is recorded as gone (失管).")
    latitude: float | None = field(CARE_READ, "The dwelling, WGS-84 latitude.")
    longitude: float | None = field(CARE_READ, "The dwelling, WGS-84 longitude.")
    status: BeneficiaryStatusType = field(  # type: ignore[valid-type]
        VISIBLE, "ACTIVE, or DECEASED once a source says so."
    )
    deceased_on: date | None = field(VISIBLE, "When the death was recorded.")
    listed_at: datetime = field(VISIBLE, "When the archive first listed the person.")
    last_visit_at: datetime | None = field(VISIBLE, "The last check-in.")
    interval_days: int | None = field(
        VISIBLE, "Days between visits: the shortest of the live tags."
    )
    visit_due_at: datetime | None = field(VISIBLE, "When the next visit is due.")

    @field(VISIBLE, "The ID number masked (region prefix and last digit).")
    def masked_id_number(self) -> str | None:
        value: str | None = mask_id_number(as_row(self)["id_number"])
        return value

    @field(VISIBLE, "Whether the person is under 18.")
    def is_child(self, info: AppInfo) -> bool:
        today = care_rules.china_day(info.context.clock())
        return is_child(as_row(self)["birth_date"], today)

    community: OrgUnit | None = related(
        VISIBLE,
        "The community (or grid) the person belongs to.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )
    household: Household | None = related(
        VISIBLE,
        "The platform's household record, where matched and visible.",
        HouseholdModel,
        source="household_id",
        many=False,
    )
    person: Annotated[Person, strawberry.lazy("schema.person")] | None = related(
        VISIBLE,
        "The platform's person record with the same ID number, where visible.",
        PersonModel,
        source="person_id",
        many=False,
    )
    responsible: Annotated[Person, strawberry.lazy("schema.person")] | None = related(
        VISIBLE,
        "The cadre who answers for the visits.",
        PersonModel,
        source="responsible_id",
        many=False,
    )
    tags: list[BeneficiaryTag] = related(
        VISIBLE,
        "Every tag, live, under review and ended.",
        BeneficiaryTagModel,
        key="beneficiary_id",
    )
    orders: list[Annotated[VisitOrder, strawberry.lazy("schema.visit")]] = related(
        VISIBLE,
        "Visit orders for the person.",
        VisitOrderModel,
        key="beneficiary_id",
    )

    @paged(VISIBLE, "The visits to the person, oldest first.", VISITS)
    async def visits(
        self, info: AppInfo, first: int = 20, after: str | None = None
    ) -> Connection[Annotated[Visit, strawberry.lazy("schema.visit")]]:
        page: Any = await page_of(info.context, VISITS, as_row(self), first, after)
        return page  # type: ignore[no-any-return]


@strawberry.type(description="One department's finding about a beneficiary.")
class BeneficiaryTag(Node):
    kind: TagKindType = field(VISIBLE, "What it says.")  # type: ignore[valid-type]
    source: SourceType = field(VISIBLE, "Who says it.")  # type: ignore[valid-type]
    grade: str | None = field(TAG_DETAIL, "A disability grade, 1 (severest) to 4.")
    detail: str | None = field(
        TAG_DETAIL, "The department's detail: disability category, amount, kind."
    )
    starts_on: date | None = field(VISIBLE, "Valid from.")
    ends_on: date | None = field(VISIBLE, "Valid until; null when open-ended.")
    status: TagStatusType = field(VISIBLE, "Live, under review or ended.")  # type: ignore[valid-type]
    review: TagReviewType | None = field(  # type: ignore[valid-type]
        VISIBLE, "Why it is under review."
    )
    updated_at: datetime = field(VISIBLE, "When it last changed.")

    @field(VISIBLE, "Whether it pays a subsidy (reviewed when the person dies).")
    def is_subsidy(self) -> bool:
        return BeneficiaryTagKind(as_row(self)["kind"]) in care_rules.SUBSIDY_KINDS

    beneficiary: Beneficiary | None = related(
        VISIBLE,
        "Whom it is about.",
        BeneficiaryModel,
        source="beneficiary_id",
        many=False,
    )
    evidence: StoredFile | None = related(
        VISIBLE,
        "The document behind it, where one was filed.",
        StoredFileModel,
        source="evidence_id",
        many=False,
    )


@structural
@strawberry.type(description="A department's file layout: which column is what.")
class BeneficiaryLayout:
    source: SourceType  # type: ignore[valid-type]
    title: str
    required_columns: list[str]
    columns: list[str]
    words: list[str]


@structural
@strawberry.type(description="One configuration value of the care domain.")
class CareSetting:
    key: str
    value: int


register_node("Beneficiary", BeneficiaryModel)
register_node("BeneficiaryTag", BeneficiaryTagModel)


@structural
@strawberry.type(description="Visit coverage under one unit (走访覆盖率).")
class CareCoverageEntry:
    unit: OrgUnit
    beneficiaries: int = strawberry.field(description="Active beneficiaries.")
    covered: int = strawberry.field(
        description="Visited at least once, and the next visit not yet overdue."
    )
    overdue: int = strawberry.field(description="Whose next visit is overdue.")
    never_visited: int = strawberry.field(description="Never visited yet.")
    warnings: int = strawberry.field(
        description="Open warnings of visits (overdue, new beneficiary)."
    )
    coverage_rate: float | None = strawberry.field(
        description="covered / beneficiaries, none without beneficiaries."
    )


@structural
@strawberry.type(description="A unit's visit coverage, and each unit's below.")
class CareCoverage:
    unit: OrgUnit
    beneficiaries: int = strawberry.field(description="Active beneficiaries.")
    covered: int = strawberry.field(
        description="Visited at least once, and the next visit not yet overdue."
    )
    overdue: int = strawberry.field(description="Whose next visit is overdue.")
    never_visited: int = strawberry.field(description="Never visited yet.")
    warnings: int = strawberry.field(
        description="Open warnings of visits (overdue, new beneficiary)."
    )
    coverage_rate: float | None = strawberry.field(
        description="covered / beneficiaries, none without beneficiaries."
    )
    below: list[CareCoverageEntry] = strawberry.field(
        description="The units directly below, for drill-down."
    )


@strawberry.type
class CareQuery:
    @field(STAFF, "Visit coverage of a unit of the caller's jurisdiction.")
    async def care_coverage(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> CareCoverage:
        _, pk = decode_id(unit_id, "OrgUnit")
        return await care_cockpit.coverage_of(info.context, pk)  # type: ignore[return-value]

    @field(STAFF, "A beneficiary by id, if the caller may see them.")
    async def beneficiary(self, info: AppInfo, id: strawberry.ID) -> Beneficiary | None:
        _, pk = decode_id(id, "Beneficiary")
        return one(Beneficiary, await by_id(info.context, BeneficiaryModel).load(pk))

    @field(STAFF, "Beneficiaries in the caller's jurisdiction, filtered.")
    async def beneficiaries(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        kinds: list[TagKindType] | None = None,  # type: ignore[valid-type]
        status: BeneficiaryStatusType | None = None,  # type: ignore[valid-type]
        needs_review: bool | None = None,
        search: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Beneficiary]:
        path = await _unit_path(info, unit_id)
        queryset = care_rules.beneficiaries_query(
            info.context.caller,
            path,
            [BeneficiaryTagKind(k) for k in kinds or []],
            BeneficiaryStatus(status) if status else None,
            needs_review,
            search,
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(STAFF, "The layouts of the departments' files that imports read.")
    def beneficiary_layouts(self) -> list[BeneficiaryLayout]:
        return rows(
            BeneficiaryLayout,
            (
                {
                    "source": layout.source,
                    "title": layout.title,
                    "required_columns": layout.required,
                    "columns": list(layout.columns.values()),
                    "words": list(layout.tags),
                }
                for layout in LAYOUTS.values()
            ),
        )

    @field(STAFF, "The care configuration: visit intervals, check-in limits.")
    async def care_settings(self) -> list[CareSetting]:
        values = await care_rules.care_settings()
        return rows(CareSetting, ({"key": k, "value": v} for k, v in values.items()))


@strawberry.input(description="A department's file to import into the archive.")
class BeneficiaryImportInput:
    source: SourceType  # type: ignore[valid-type]
    unit_id: strawberry.ID
    file: Upload


@structural
@strawberry.type(description="The result of `beneficiaryImport`.")
class BeneficiaryImportPayload:
    errors: list[UserErrorType]
    run: ImportRun | None
    unlisted_tags: int | None


@structural
@strawberry.type
class BeneficiaryPayload:
    errors: list[UserErrorType]
    beneficiary: Beneficiary | None


@structural
@strawberry.type
class BeneficiaryTagPayload:
    errors: list[UserErrorType]
    tag: BeneficiaryTag | None


@structural
@strawberry.type(description="A CSV of a unit's beneficiaries (UTF-8 with BOM).")
class BeneficiaryExportPayload:
    errors: list[UserErrorType]
    filename: str | None
    content: str | None
    rows: int | None
    revealed: bool | None


@structural
@strawberry.type
class CareSettingsPayload:
    errors: list[UserErrorType]
    settings: list[CareSetting] | None


@strawberry.input(description="The carer (照料人/监护人) of a beneficiary.")
class BeneficiaryCarerInput:
    id: strawberry.ID
    carer_name: str
    carer_phone: str = ""
    carer_gone: bool = False


@strawberry.input(
    description="Settle a tag: keep it (until `endsOn`; null keeps its end) or end it."
)
class BeneficiaryTagReviewInput:
    id: strawberry.ID
    keep: bool
    ends_on: date | None = None
    evidence_id: strawberry.ID | None = None


async def _beneficiary_change(
    change: Callable[[], Any],
) -> BeneficiaryPayload:
    try:
        row = await change()
    except Invalid as invalid:
        return failed(invalid, "beneficiary")  # type: ignore[no-any-return]
    return payload(beneficiary=row)  # type: ignore[no-any-return]


async def _upload_bytes(context: Context, upload: Any) -> tuple[str, bytes]:
    """The file's name and bytes, within the upload limit; the file is closed."""
    if not isinstance(upload, UploadFile):
        raise Invalid([UserError("file", "请以文件上传。", "FILE_REQUIRED")])
    try:
        data = await upload.read(context.upload_max_bytes + 1)
    finally:
        await upload.close()
    if len(data) > context.upload_max_bytes:
        raise Invalid([UserError("file", "文件太大。", "FILE_TOO_LARGE")])
    return safe_filename(upload.filename), data


CARE_STAFF_ROLES = HasRole(Role.ADMIN, Role.OFFICIAL, Role.CADRE)


@strawberry.type
class CareMutation:
    @field(
        HasRole(Role.ADMIN, Role.OFFICIAL),
        "Import a department's list (CSV or XLSX) into the archive under a unit; "
        "the run reports each row. Tags of the source the file no longer lists go "
        "to review.",
    )
    async def beneficiary_import(
        self, info: AppInfo, input: BeneficiaryImportInput
    ) -> BeneficiaryImportPayload:
        try:
            filename, data = await _upload_bytes(info.context, input.file)
            run, unlisted = await care_rules.import_beneficiaries(
                info.context,
                BeneficiarySource(input.source),
                decode_id(input.unit_id, "OrgUnit")[1],
                filename,
                data,
            )
        except Invalid as invalid:
            return failed(invalid, "run", "unlisted_tags")  # type: ignore[no-any-return]
        return payload(run=run, unlisted_tags=unlisted)  # type: ignore[no-any-return]

    @field(CARE_STAFF_ROLES, "Name the cadre who answers for a person's visits.")
    async def beneficiary_assign(
        self, info: AppInfo, id: strawberry.ID, responsible_id: strawberry.ID
    ) -> BeneficiaryPayload:
        return await _beneficiary_change(
            lambda: care_rules.assign_responsible(
                info.context,
                decode_id(id, "Beneficiary")[1],
                decode_id(responsible_id, "Person")[1],
            )
        )

    @field(CARE_STAFF_ROLES, "Record the carer, and whether they are gone (失管).")
    async def beneficiary_carer_set(
        self, info: AppInfo, input: BeneficiaryCarerInput
    ) -> BeneficiaryPayload:
        return await _beneficiary_change(
            lambda: care_rules.set_carer(
                info.context,
                decode_id(input.id, "Beneficiary")[1],
                input.carer_name,
                input.carer_phone,
                input.carer_gone,
            )
        )

    @field(CARE_STAFF_ROLES, "Record where the dwelling is; check-ins measure from it.")
    async def beneficiary_locate(
        self, info: AppInfo, id: strawberry.ID, location: LocationInput
    ) -> BeneficiaryPayload:
        pk = decode_id(id, "Beneficiary")[1]
        errors = location_errors(location)
        if errors:
            return failed(Invalid(errors), "beneficiary")  # type: ignore[no-any-return]
        latitude, longitude = wgs84_of(location)
        return await _beneficiary_change(
            lambda: care_rules.locate_beneficiary(info.context, pk, latitude, longitude)
        )

    @field(CARE_STAFF_ROLES, "Settle a tag under review: keep it, or end it.")
    async def beneficiary_tag_review(
        self, info: AppInfo, input: BeneficiaryTagReviewInput
    ) -> BeneficiaryTagPayload:
        try:
            row = await care_rules.review_tag(
                info.context,
                decode_id(input.id, "BeneficiaryTag")[1],
                input.keep,
                input.ends_on,
                decode_id(input.evidence_id, "StoredFile")[1]
                if input.evidence_id
                else None,
            )
        except Invalid as invalid:
            return failed(invalid, "tag")  # type: ignore[no-any-return]
        return payload(tag=row)  # type: ignore[no-any-return]

    @field(
        HasRole(Role.OFFICIAL),
        "A CSV of a unit's beneficiaries, for its officials; ID numbers masked "
        "unless `revealIdNumbers` (audited).",
    )
    async def beneficiary_export(
        self, info: AppInfo, unit_id: strawberry.ID, reveal_id_numbers: bool = False
    ) -> BeneficiaryExportPayload:
        result = await care_rules.export_beneficiaries(
            info.context, decode_id(unit_id, "OrgUnit")[1], reveal_id_numbers
        )
        return payload(**result)  # type: ignore[no-any-return]

    @field(
        HasRole(Role.ADMIN, Role.OFFICIAL),
        "Set a care configuration value (district officials): `interval.<TAG>` in "
        "days, `checkin.max_distance_m`, `checkin.max_accuracy_m`, "
        "`order.deadline_days`.",
    )
    async def care_setting_set(
        self, info: AppInfo, key: str, value: int
    ) -> CareSettingsPayload:
        try:
            values = await care_rules.set_care_setting(info.context, key, value)
        except Invalid as invalid:
            return failed(invalid, "settings")  # type: ignore[no-any-return]
        return payload(  # type: ignore[no-any-return]
            settings=[{"key": k, "value": v} for k, v in values.items()]
        )


@strawberry.type(description="Something changed in the care archive under a unit.")
class CareChange:
    kind: str = field(VISIBLE, "What changed, e.g. VISIT_CHECKED_IN.")
    subject_type: str = field(VISIBLE, "The type of the changed object.")
    subject_id: strawberry.ID = field(VISIBLE, "The changed object's global id.")
    at: datetime = field(VISIBLE, "When it changed.")

    @field(VISIBLE, "The beneficiary concerned, if the caller may see them.")
    async def beneficiary(self, info: AppInfo) -> Beneficiary | None:
        row = as_row(self)
        pk = row.get("beneficiary_id")
        if pk is None:
            return None
        return one(Beneficiary, await by_id(info.context, BeneficiaryModel).load(pk))


async def _beneficiary_of(subject_type: str, subject_id: int) -> int | None:
    if subject_type == "Beneficiary":
        return subject_id
    model = {"Visit": VisitModel, "VisitOrder": VisitOrderModel}.get(subject_type)
    if model is None:
        return None
    found: list[int] = await model.filter(id=subject_id).values_list(  # type: ignore[assignment]
        "beneficiary_id", flat=True
    )
    return found[0] if found else None


@strawberry.type
class CareSubscription:
    @field(
        HasRole(Role.ADMIN, Role.OFFICIAL, Role.CADRE),
        "Changes to the care archive and visits under a unit in the caller's "
        "jurisdiction.",
        is_subscription=True,
    )
    async def care_changes(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> AsyncGenerator[CareChange, None]:
        _, pk = decode_id(unit_id, "OrgUnit")
        async for event in changes_under(info.context, care_rules.TOPIC, pk):
            yield {  # type: ignore[misc]
                "kind": event.kind,
                "subject_type": event.subject_type,
                "subject_id": encode_id(event.subject_type, event.subject_id),
                "at": event.at,
                "unit_path": event.unit_path,
                "beneficiary_id": await _beneficiary_of(
                    event.subject_type, event.subject_id
                ),
            }
