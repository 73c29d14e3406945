"""Three-party coordination (三方协调): each party's duties in an estate as small
checkable items, and the checks that show them done.

The residents' committee (the community's cadres), the owners' committee and the
property company each record the checks of their own items, with a note and a
photo or document as evidence; one check per item and period (week, month,
quarter or year, reckoned in China Standard Time). What is due over a span is
the number of the item's periods in it; the evaluation view shows, per party, its
items and the checks done against those due.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from models import DutyCheck, DutyItem, StoredFile
from models.enums import DutyFrequency, DutyParty, Role
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.estates import (
    committee_estates,
    company_estates,
    estate_in_reach,
    local_today,
)
from resolvers.events import Event
from resolvers.loaders import fetch_row

__all__ = [
    "PartyDuties",
    "create_duty_item",
    "end_duty_item",
    "party_duties",
    "period_key",
    "periods_between",
    "record_check",
]

EVIDENCE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


def period_key(frequency: DutyFrequency, day: date) -> str:
    """The period ``day`` falls in: ``2026-W05``, ``2026-01``, ``2026-Q1``, ``2026``."""
    if frequency == DutyFrequency.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if frequency == DutyFrequency.MONTHLY:
        return f"{day.year}-{day.month:02d}"
    if frequency == DutyFrequency.QUARTERLY:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def periods_between(frequency: DutyFrequency, first: date, last: date) -> list[str]:
    """The periods that ``first`` to ``last`` (both included) touch, in order."""
    keys: list[str] = []
    day = first
    while day <= last:
        key = period_key(frequency, day)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=7 if frequency == DutyFrequency.WEEKLY else 1)
    if first <= last and period_key(frequency, last) != keys[-1]:
        keys.append(period_key(frequency, last))
    return keys


async def acts_as(
    context: Context, estate: Mapping[str, Any], party: DutyParty
) -> bool:
    """Whether the caller records checks for ``party`` in the estate."""
    caller = context.caller
    if party == DutyParty.RESIDENTS_COMMITTEE:
        return caller.covers(estate["unit_path"], frozenset({Role.CADRE}))
    if party == DutyParty.OWNERS_COMMITTEE:
        return estate["id"] in await committee_estates(context)
    return estate["id"] in await company_estates(context)


async def create_duty_item(
    context: Context,
    estate_id: int,
    party: DutyParty,
    title: str,
    description: str,
    frequency: DutyFrequency,
    starts_on: date | None = None,
) -> dict[str, Any]:
    """A duty of one party, set by staff over the estate (its community)."""
    estate = await estate_in_reach(context, estate_id)
    title, description = title.strip(), description.strip()
    errors = []
    if not 1 <= len(title) <= 100:
        errors.append(UserError("title", "1 to 100 characters.", "INVALID_TITLE"))
    if len(description) > 500:
        errors.append(
            UserError("description", "At most 500 characters.", "INVALID_DESCRIPTION")
        )
    if errors:
        raise Invalid(errors)

    async with write(context, "DUTY_ITEM_CREATE") as work:
        item = await DutyItem.create(
            estate_id=estate.id,
            unit_path=estate.unit_path,
            party=party,
            title=title,
            description=description,
            frequency=frequency,
            starts_on=starts_on or local_today(context),
            created_by_id=context.caller.person_id,
            created_at=context.clock(),
        )
        work.audit("DutyItem", [item.id], estate.unit_path)
        work.emit(
            Event(
                "estate",
                "DUTY_ITEM_CREATED",
                estate.unit_path,
                "DutyItem",
                item.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(DutyItem, item.id)


async def end_duty_item(context: Context, item_id: int) -> dict[str, Any]:
    """The item is no longer due from today; its checks stay."""
    item = await visible(DutyItem, context.caller).get_or_none(id=item_id)
    if item is None:
        raise NotFound("No DutyItem has this id.")
    await estate_in_reach(context, item.estate_id)
    if item.ended_on is not None:
        raise Invalid([UserError("id", "The item has ended.", "ITEM_ENDED")])
    async with write(context, "DUTY_ITEM_END") as work:
        await DutyItem.filter(id=item.id).update(ended_on=local_today(context))
        work.audit("DutyItem", [item.id], item.unit_path)
        work.emit(
            Event(
                "estate",
                "DUTY_ITEM_ENDED",
                item.unit_path,
                "DutyItem",
                item.id,
                context.caller.person_id,
            )
        )
    return await fetch_row(DutyItem, item.id)


async def record_check(
    context: Context,
    item_id: int,
    note: str,
    evidence_id: int | None,
    checked_on: date | None = None,
) -> dict[str, Any]:
    """The party records an item done for the period of ``checked_on`` (today)."""
    caller = context.caller
    found = await visible(DutyItem, caller).filter(id=item_id).values()
    if not found:
        raise NotFound("No DutyItem has this id.")
    item = found[0]
    estate = {"id": item["estate_id"], "unit_path": item["unit_path"]}
    if not await acts_as(context, estate, DutyParty(item["party"])):
        raise Forbidden("Only the party the duty belongs to records its checks.")

    today = local_today(context)
    day = checked_on or today
    note = note.strip()
    errors = []
    if item["ended_on"] is not None:
        errors.append(UserError("itemId", "The item has ended.", "ITEM_ENDED"))
    if day > today or day < item["starts_on"]:
        errors.append(
            UserError(
                "checkedOn",
                "A check is for a day since the item began, not a future one.",
                "INVALID_DAY",
            )
        )
    if len(note) > 500:
        errors.append(UserError("note", "At most 500 characters.", "NOTE_TOO_LONG"))
    if evidence_id is None and not note:
        errors.append(
            UserError("evidenceId", "Give a photo or a note.", "EVIDENCE_REQUIRED")
        )
    if evidence_id is not None:
        evidence = await visible(StoredFile, caller).get_or_none(id=evidence_id)
        if evidence is None:
            raise NotFound("No StoredFile has this id.")
        if evidence.media_type not in EVIDENCE_TYPES:
            errors.append(
                UserError(
                    "evidenceId", "Evidence is a photo or a PDF.", "EVIDENCE_TYPE"
                )
            )
    key = period_key(DutyFrequency(item["frequency"]), day)
    if await DutyCheck.filter(item_id=item_id, period_key=key).exists():
        errors.append(
            UserError("itemId", "Already checked for this period.", "ALREADY_CHECKED")
        )
    if errors:
        raise Invalid(errors)

    async with write(context, "DUTY_CHECK_RECORD") as work:
        check = await DutyCheck.create(
            item_id=item_id,
            estate_id=item["estate_id"],
            unit_path=item["unit_path"],
            period_key=key,
            checked_on=day,
            note=note,
            evidence_id=evidence_id,
            checked_by_id=caller.person_id,
            token_id=caller.token_id,
            created_at=context.clock(),
        )
        work.audit("DutyCheck", [check.id], item["unit_path"])
        work.emit(
            Event(
                "estate",
                "DUTY_CHECKED",
                item["unit_path"],
                "DutyItem",
                item_id,
                caller.person_id,
            )
        )
    return await fetch_row(DutyCheck, check.id)


@dataclass(frozen=True)
class PartyDuties:
    party: DutyParty
    items: int
    due: int
    done: int


async def party_duties(
    context: Context, estate_ids: list[int], first: date, last: date
) -> dict[int, list[PartyDuties]]:
    """Per estate and party: items, checks due and done from ``first`` to ``last``
    (two statements for any number of estates)."""
    items = (
        await visible(DutyItem, context.caller)
        .filter(estate_id__in=estate_ids, starts_on__lte=last)
        .values("id", "estate_id", "party", "frequency", "starts_on", "ended_on")
    )
    items = [i for i in items if i["ended_on"] is None or i["ended_on"] >= first]
    checks: dict[int, set[str]] = defaultdict(set)
    if items:
        for row in await DutyCheck.filter(item_id__in=[i["id"] for i in items]).values(
            "item_id", "period_key"
        ):
            checks[row["item_id"]].add(row["period_key"])

    tally: dict[tuple[int, DutyParty], list[int]] = defaultdict(lambda: [0, 0, 0])
    for item in items:
        start = max(first, item["starts_on"])
        end = min(last, item["ended_on"] or last)
        due = periods_between(DutyFrequency(item["frequency"]), start, end)
        counts = tally[(item["estate_id"], DutyParty(item["party"]))]
        counts[0] += 1
        counts[1] += len(due)
        counts[2] += len(checks[item["id"]] & set(due))
    return {
        estate_id: [
            PartyDuties(party, *tally.get((estate_id, party), [0, 0, 0]))
            for party in DutyParty
        ]
        for estate_id in estate_ids
    }
