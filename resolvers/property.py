"""Verified owners (不动产认证): the register of each estate, and claims against it.

The register comes in through the shared import (``resolvers.imports``): one line
per owner of a certificate, the ID number kept only as a keyed fingerprint and a
masked form. A resident claims with a certificate number and their ID number; a
line with both makes them a verified owner (``PropertyOwnership``) and a member
of the household as its owner. Failed claims are counted in the database, per
person and per certificate, and a failure never tells which half was wrong.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from datetime import timedelta
from typing import Any

from models import (
    Estate,
    Household,
    HouseholdMember,
    OwnershipClaimAttempt,
    PropertyOwnership,
    PropertyRecord,
)
from models.enums import ImportOutcome
from permissions.errors import Forbidden, TooManyRequests
from permissions.rules import mask_id_number
from resolvers.base import Invalid, UserError, Work, write
from resolvers.context import Context
from resolvers.estates import estate_in_reach, local_today
from resolvers.events import Event
from resolvers.idnumber import IdNumberError, id_fingerprint, parse_id_number
from resolvers.imports import RowResult, run_import
from resolvers.loaders import fetch_row

__all__ = [
    "CLAIM_WINDOW",
    "MAX_FAILED_CLAIMS_PER_CERTIFICATE",
    "MAX_FAILED_CLAIMS_PER_PERSON",
    "REGISTER_COLUMNS",
    "claim_ownership",
    "import_register",
    "normalize_certificate",
]

logger = logging.getLogger("yunshang.property")

IMPORT_KIND = "PROPERTY_REGISTER"
# The counts a whole register adds: lines ended, and lines it would have ended
# but kept (a line of the file was refused, or the file listed none).
ENDED = "ENDED"
KEPT = "KEPT"
# The register's columns, as housing departments head them.
CERTIFICATE, DWELLING, OWNER, ID_NUMBER = "不动产权证号", "房号", "权利人", "身份证号"
REGISTER_COLUMNS = (CERTIFICATE, DWELLING, OWNER, ID_NUMBER)
CLAIM_WINDOW = timedelta(hours=24)
MAX_FAILED_CLAIMS_PER_PERSON = 5
MAX_FAILED_CLAIMS_PER_CERTIFICATE = 10
NO_MATCH = (
    "The certificate number and the ID number do not match one line of the "
    "register together. Check both against your certificate."
)
SPACES = re.compile(r"\s+")


def normalize_certificate(text: str) -> str:
    """Full-width characters and spaces as people type them do not matter."""
    return SPACES.sub("", unicodedata.normalize("NFKC", text or "")).upper()


def _normalize_text(text: str) -> str:
    return SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip()


# -- the register -------------------------------------------------------------------


def _refused(code: str, message: str) -> RowResult:
    return RowResult(ImportOutcome.REFUSED, code, message)


class _RegisterRows:
    """Takes the lines of one estate's register, one row at a time."""

    def __init__(self, context: Context, estate: Estate, homes: dict[str, int]):
        self.context = context
        self.estate = estate
        self.homes = homes
        # What the file listed, and whether any line of it was refused.
        self.listed: set[int] = set()
        self.refused = 0

    async def __call__(
        self, work: Work, row_number: int, values: dict[str, str]
    ) -> RowResult:
        result = await self._take(work, values)
        if result.outcome is ImportOutcome.REFUSED:
            self.refused += 1
        return result

    async def _take(self, work: Work, values: dict[str, str]) -> RowResult:
        certificate = normalize_certificate(values.get(CERTIFICATE, ""))
        dwelling = _normalize_text(values.get(DWELLING, ""))
        owner = _normalize_text(values.get(OWNER, ""))
        if not certificate:
            return _refused("CERTIFICATE_REQUIRED", "The certificate number is empty.")
        if len(certificate) > 60:
            return _refused("CERTIFICATE_TOO_LONG", "The certificate number is long.")
        if not dwelling or len(dwelling) > 100:
            return _refused("DWELLING_REQUIRED", "Give the dwelling, e.g. 3幢 1202室.")
        if not owner or len(owner) > 50:
            return _refused("OWNER_NAME_REQUIRED", "Give the owner's name.")
        try:
            parsed = parse_id_number(values.get(ID_NUMBER, ""))
        except IdNumberError as error:
            return _refused(error.code, str(error))

        fingerprint = id_fingerprint(parsed.number, self.context.id_key)
        elsewhere = (
            await PropertyRecord.filter(certificate_number=certificate)
            .exclude(estate_id=self.estate.id)
            .exists()
        )
        if elsewhere:
            return _refused(
                "CERTIFICATE_OF_ANOTHER_ESTATE",
                "This certificate is in another estate's register.",
            )
        now = self.context.clock()
        household_id = self.homes.get(_home_key(dwelling))
        existing = await PropertyRecord.get_or_none(
            certificate_number=certificate, id_fingerprint=fingerprint
        )
        if existing is None:
            record = await PropertyRecord.create(
                estate_id=self.estate.id,
                unit_path=self.estate.unit_path,
                certificate_number=certificate,
                dwelling=dwelling,
                owner_name=owner,
                id_fingerprint=fingerprint,
                id_masked=mask_id_number(parsed.number),
                household_id=household_id,
                created_at=now,
                updated_at=now,
            )
            work.audit("PropertyRecord", [record.id], self.estate.unit_path)
            self.listed.add(record.id)
            return RowResult(ImportOutcome.TAKEN)
        self.listed.add(existing.id)
        restored = existing.ended_at is not None
        if not restored and (
            existing.dwelling,
            existing.owner_name,
            existing.household_id,
        ) == (dwelling, owner, household_id):
            return RowResult(ImportOutcome.UNCHANGED)

        await PropertyRecord.filter(id=existing.id).update(
            dwelling=dwelling,
            owner_name=owner,
            household_id=household_id,
            updated_at=now,
            ended_at=None,
        )
        work.audit("PropertyRecord", [existing.id], self.estate.unit_path)
        if restored:
            return RowResult(
                ImportOutcome.MERGED,
                "RECORD_RESTORED",
                "The register lists this ended line again; its owner may claim it.",
            )
        changed = [
            name
            for name, old, new in (
                ("dwelling", existing.dwelling, dwelling),
                ("owner name", existing.owner_name, owner),
            )
            if old != new
        ]
        return RowResult(
            ImportOutcome.MERGED,
            "RECORD_UPDATED",
            f"Updated the {' and '.join(changed) or 'household'} of a known line.",
        )


def _home_key(dwelling: str) -> str:
    return dwelling.replace(" ", "")


async def _homes_of(estate: Estate) -> dict[str, int]:
    """The estate's households by dwelling (the address without the estate name)."""
    found = await Household.filter(building__estate_id=estate.id).values(
        "id", "address"
    )
    homes: dict[str, int] = {}
    for row in found:
        address = _normalize_text(row["address"]).removeprefix(estate.name)
        homes[_home_key(address)] = row["id"]
    return homes


async def _end_unlisted(
    context: Context, work: Work, handle: _RegisterRows, counts: Counter[str]
) -> None:
    """After a whole register: end the lines it no longer lists, and the verified
    ownerships proved by them. Nothing is ended when a line of the file was
    refused, since the refused line may be one of them, nor when the file lists
    no line at all; they are counted KEPT."""
    estate = handle.estate
    lasting = await PropertyRecord.filter(
        estate_id=estate.id, ended_at__isnull=True
    ).values("id")
    unlisted = [r["id"] for r in lasting if r["id"] not in handle.listed]
    if not unlisted:
        return
    # A file that lists nothing (its header alone, say) is not a register with
    # every dwelling sold: ending it all would be a mistake, never a fact.
    if handle.refused or not handle.listed:
        counts[KEPT] += len(unlisted)
        return

    now = context.clock()
    await PropertyRecord.filter(id__in=unlisted).update(ended_at=now, updated_at=now)
    work.audit("PropertyRecord", unlisted, estate.unit_path)
    counts[ENDED] += len(unlisted)
    ownerships = await PropertyOwnership.filter(
        record_id__in=unlisted, ended_at__isnull=True
    ).values("id", "person_id", "household_id")
    if not ownerships:
        return
    await PropertyOwnership.filter(id__in=[o["id"] for o in ownerships]).update(
        ended_at=now
    )
    work.audit("PropertyOwnership", [o["id"] for o in ownerships], estate.unit_path)
    for ownership in ownerships:
        await _leave_as_owner(ownership["person_id"], ownership["household_id"])
        work.emit(
            Event(
                "estate",
                "OWNERSHIP_ENDED",
                estate.unit_path,
                "PropertyOwnership",
                ownership["id"],
                context.caller.person_id,
            )
        )


async def _leave_as_owner(person_id: int, household_id: int | None) -> None:
    """The household member stays (they may still live there) but is no longer
    flagged as its owner unless another lasting ownership proves it."""
    if household_id is None:
        return
    still_owner = await PropertyOwnership.filter(
        person_id=person_id, household_id=household_id, ended_at__isnull=True
    ).exists()
    if not still_owner:
        await HouseholdMember.filter(
            person_id=person_id, household_id=household_id, ends_on__isnull=True
        ).update(is_owner=False)


async def import_register(
    context: Context,
    estate_id: int,
    filename: str,
    data: bytes,
    whole_register: bool = False,
) -> Any:
    """Import one estate's register from a CSV or XLSX file; returns the run.

    With ``whole_register`` the file is the estate's whole register: lines it no
    longer lists are ended, with the ownerships they proved."""
    estate = await estate_in_reach(context, estate_id)
    handle = _RegisterRows(context, estate, await _homes_of(estate))

    async def finish(work: Work, counts: Counter[str]) -> None:
        await _end_unlisted(context, work, handle, counts)

    return await run_import(
        context,
        kind=IMPORT_KIND,
        unit_id=estate.unit_id,
        unit_path=estate.unit_path,
        target_type="Estate",
        target_id=estate.id,
        filename=filename,
        data=data,
        columns=list(REGISTER_COLUMNS),
        handle=handle,
        finish=finish if whole_register else None,
    )


# -- claims -------------------------------------------------------------------------


async def _check_claim_limits(context: Context, certificate_key: str) -> None:
    since = context.clock() - CLAIM_WINDOW
    person_id = context.caller.person_id
    failed = OwnershipClaimAttempt.filter(matched=False, at__gt=since)
    by_person = await failed.filter(person_id=person_id).count()
    by_certificate = await failed.filter(certificate_key=certificate_key).count()
    if (
        by_person >= MAX_FAILED_CLAIMS_PER_PERSON
        or by_certificate >= MAX_FAILED_CLAIMS_PER_CERTIFICATE
    ):
        raise TooManyRequests(
            "Too many failed claims; try again tomorrow or ask your community."
        )


async def claim_ownership(
    context: Context, certificate_number: str, id_number: str
) -> dict[str, Any]:
    """Make the caller a verified owner of the register line they prove."""
    person_id = context.caller.person_id
    if person_id is None:
        raise Forbidden("Ownership is claimed by a signed-in resident.")
    certificate = normalize_certificate(certificate_number)
    errors: list[UserError] = []
    if not certificate or len(certificate) > 60:
        errors.append(
            UserError(
                "certificateNumber",
                "Enter the number of your real-estate certificate.",
                "CERTIFICATE_REQUIRED",
            )
        )
    parsed = None
    try:
        parsed = parse_id_number(id_number)
    except IdNumberError as error:
        errors.append(UserError("idNumber", str(error), error.code))
    if errors:
        raise Invalid(errors)
    assert parsed is not None

    certificate_key = id_fingerprint(f"certificate:{certificate}", context.id_key)
    await _check_claim_limits(context, certificate_key)
    fingerprint = id_fingerprint(parsed.number, context.id_key)
    record = await PropertyRecord.get_or_none(
        certificate_number=certificate, id_fingerprint=fingerprint, ended_at=None
    )
    now = context.clock()
    if record is None:
        await OwnershipClaimAttempt.create(
            person_id=person_id,
            certificate_key=certificate_key,
            at=now,
            matched=False,
            code="CLAIM_NOT_MATCHED",
        )
        logger.info("ownership claim not matched", extra={"person_id": person_id})
        raise Invalid([UserError("certificateNumber", NO_MATCH, "CLAIM_NOT_MATCHED")])
    if await PropertyOwnership.filter(
        person_id=person_id, record_id=record.id, ended_at__isnull=True
    ).exists():
        raise Invalid(
            [
                UserError(
                    "certificateNumber",
                    "You are already a verified owner of this property.",
                    "ALREADY_VERIFIED",
                )
            ]
        )

    async with write(context, "PROPERTY_CLAIM") as work:
        ownership = await PropertyOwnership.create(
            person_id=person_id,
            record_id=record.id,
            estate_id=record.estate_id,
            household_id=record.household_id,
            unit_path=record.unit_path,
            certificate_number=record.certificate_number,
            verified_at=now,
        )
        await OwnershipClaimAttempt.create(
            person_id=person_id,
            certificate_key=certificate_key,
            at=now,
            matched=True,
        )
        if record.household_id is not None:
            await _join_as_owner(context, person_id, record.household_id, record)
        work.audit("PropertyOwnership", [ownership.id], record.unit_path)
        work.emit(
            Event(
                "estate",
                "OWNER_VERIFIED",
                record.unit_path,
                "PropertyOwnership",
                ownership.id,
                person_id,
            )
        )
    return await fetch_row(PropertyOwnership, ownership.id)


async def _join_as_owner(
    context: Context, person_id: int, household_id: int, record: PropertyRecord
) -> None:
    """The verified owner is a member of the household, flagged as its owner."""
    member = await HouseholdMember.filter(
        person_id=person_id, household_id=household_id, ends_on__isnull=True
    ).first()
    if member is None:
        await HouseholdMember.create(
            person_id=person_id,
            household_id=household_id,
            unit_path=record.unit_path,
            relation="业主",
            is_owner=True,
            starts_on=local_today(context),
        )
    elif not member.is_owner:
        await HouseholdMember.filter(id=member.id).update(is_owner=True)
