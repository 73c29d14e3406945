"""Three-party coordination in the schema: duty items, their checks, and each
party's tally of checks done against those due."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from models import DutyCheck as DutyCheckModel
from models import DutyItem as DutyItemModel
from models import Estate as EstateModel
from models import StoredFile as StoredFileModel
from models.enums import DutyFrequency, DutyParty
from permissions.errors import Forbidden, NotFound
from permissions.rules import SIGNED_IN, STAFF, VISIBLE
from permissions.scope import visible
from resolvers import coordination as rules
from resolvers.base import Invalid
from resolvers.estates import local_today
from resolvers.loaders import columns
from schema.base import (
    AppInfo,
    Node,
    UserErrorType,
    decode_id,
    failed,
    field,
    payload,
    rows,
    structural,
)
from schema.file import StoredFile
from schema.node import register_node
from schema.org import Estate
from schema.relations import related

__all__ = ["CoordinationMutation", "CoordinationQuery", "PartyDuties"]

DutyPartyType = strawberry.enum(
    DutyParty, description="One of an estate's three parties (三方)."
)
DutyFrequencyType = strawberry.enum(
    DutyFrequency, description="How often a duty item is due."
)


@strawberry.type(description="A check that a duty item was done for one period.")
class DutyCheck(Node):
    period_key: str = field(
        VISIBLE, "The period it covers: 2026-W05, 2026-01, 2026-Q1 or 2026."
    )
    checked_on: date = field(VISIBLE, "The day it was done.")
    note: str = field(VISIBLE, "What was done.")
    created_at: datetime = field(VISIBLE, "When it was recorded.")

    evidence: StoredFile | None = related(
        VISIBLE,
        "The photo or document, if the caller may see it.",
        StoredFileModel,
        source="evidence_id",
        many=False,
    )
    item: DutyItem | None = related(
        VISIBLE, "The duty item.", DutyItemModel, source="item_id", many=False
    )


@strawberry.type(description="A small checkable duty of one party in an estate.")
class DutyItem(Node):
    party: DutyPartyType = field(VISIBLE, "Whose duty it is.")  # type: ignore[valid-type]
    title: str = field(VISIBLE, "What is to be done, e.g. 楼道每周保洁.")
    description: str = field(VISIBLE, "Details.")
    frequency: DutyFrequencyType = field(VISIBLE, "How often.")  # type: ignore[valid-type]
    starts_on: date = field(VISIBLE, "Due from this day.")
    ended_on: date | None = field(VISIBLE, "No longer due from this day.")

    estate: Estate | None = related(
        VISIBLE, "The estate.", EstateModel, source="estate_id", many=False
    )
    checks: list[DutyCheck] = related(
        VISIBLE, "Its checks, oldest first.", DutyCheckModel, key="item_id"
    )


@structural
@strawberry.type(description="One party's duties over a span: items, checks due, done.")
class PartyDuties:
    party: DutyPartyType  # type: ignore[valid-type]
    items: int
    due: int
    done: int


register_node("DutyItem", DutyItemModel)
register_node("DutyCheck", DutyCheckModel)


async def _estate_for_parties(info: AppInfo, estate_id: strawberry.ID) -> Any:
    """An estate the caller is staff over, or acts for as company or committee."""
    _, pk = decode_id(estate_id, "Estate")
    estate = await visible(EstateModel, info.context.caller).get_or_none(id=pk)
    if estate is None:
        raise NotFound("No Estate has this id.")
    caller = info.context.caller
    if not (
        caller.is_admin
        or caller.covers(estate.unit_path)
        or estate.id in caller.estate_ids
    ):
        raise Forbidden("Only staff over the estate and its parties see its duties.")
    return estate


@strawberry.type
class CoordinationQuery:
    @field(SIGNED_IN, "An estate's duty items (staff over it and its parties).")
    async def duty_items(
        self,
        info: AppInfo,
        estate_id: strawberry.ID,
        party: DutyPartyType | None = None,  # type: ignore[valid-type]
    ) -> list[DutyItem]:
        estate = await _estate_for_parties(info, estate_id)
        queryset = visible(DutyItemModel, info.context.caller).filter(
            estate_id=estate.id
        )
        if party is not None:
            queryset = queryset.filter(party=party)
        found = await queryset.order_by("id").values(*columns(DutyItemModel))
        return rows(DutyItem, found)

    @field(
        SIGNED_IN,
        "Per party: duty items, checks due and done from `since` to `until` "
        "(default: this year to today).",
    )
    async def estate_duties(
        self,
        info: AppInfo,
        estate_id: strawberry.ID,
        since: date | None = None,
        until: date | None = None,
    ) -> list[PartyDuties]:
        estate = await _estate_for_parties(info, estate_id)
        today = local_today(info.context)
        last = until or today
        first = since or date(last.year, 1, 1)
        found = await rules.party_duties(info.context, [estate.id], first, last)
        return rows(PartyDuties, (vars(p) for p in found[estate.id]))


@strawberry.input(description="A new duty item.")
class DutyItemCreateInput:
    estate_id: strawberry.ID
    party: DutyPartyType  # type: ignore[valid-type]
    title: str
    frequency: DutyFrequencyType  # type: ignore[valid-type]
    description: str = ""
    starts_on: date | None = None


@strawberry.input(description="A check of a duty item, with its evidence.")
class DutyCheckRecordInput:
    item_id: strawberry.ID
    note: str = ""
    evidence_id: strawberry.ID | None = strawberry.field(
        default=None, description="An uploaded photo or PDF (fileUpload)."
    )
    checked_on: date | None = strawberry.field(
        default=None, description="The day it was done; today when omitted."
    )


@structural
@strawberry.type
class DutyItemPayload:
    errors: list[UserErrorType]
    duty_item: DutyItem | None


@structural
@strawberry.type
class DutyCheckPayload:
    errors: list[UserErrorType]
    duty_check: DutyCheck | None


@strawberry.type
class CoordinationMutation:
    @field(STAFF, "Add a duty item to an estate (staff over it).")
    async def duty_item_create(
        self, info: AppInfo, input: DutyItemCreateInput
    ) -> DutyItemPayload:
        try:
            row = await rules.create_duty_item(
                info.context,
                decode_id(input.estate_id, "Estate")[1],
                DutyParty(input.party),
                input.title,
                input.description,
                DutyFrequency(input.frequency),
                input.starts_on,
            )
        except Invalid as invalid:
            return failed(invalid, "duty_item")  # type: ignore[no-any-return]
        return payload(duty_item=row)  # type: ignore[no-any-return]

    @field(STAFF, "End a duty item from today; its checks stay.")
    async def duty_item_end(self, info: AppInfo, id: strawberry.ID) -> DutyItemPayload:
        try:
            row = await rules.end_duty_item(info.context, decode_id(id, "DutyItem")[1])
        except Invalid as invalid:
            return failed(invalid, "duty_item")  # type: ignore[no-any-return]
        return payload(duty_item=row)  # type: ignore[no-any-return]

    @field(
        SIGNED_IN,
        "Record a duty item done for its current period, by the party it belongs "
        "to (cadres for the residents' committee, the owners' committee, the "
        "property company, also through its API token).",
    )
    async def duty_check_record(
        self, info: AppInfo, input: DutyCheckRecordInput
    ) -> DutyCheckPayload:
        evidence = (
            decode_id(input.evidence_id, "StoredFile")[1] if input.evidence_id else None
        )
        try:
            row = await rules.record_check(
                info.context,
                decode_id(input.item_id, "DutyItem")[1],
                input.note,
                evidence,
                input.checked_on,
            )
        except Invalid as invalid:
            return failed(invalid, "duty_check")  # type: ignore[no-any-return]
        return payload(duty_check=row)  # type: ignore[no-any-return]
