"""Verified owners: the register import (good, bad and repeated files) and the
claims that make residents verified owners (match, mismatch, limits), with who may
reach the register by every path.

The register of E1 (湖景苑) below names resident_a1 (1幢 101室, their household)
and resident_b1 (1幢 201室, a household of E1 they do not live in yet).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import Workbook

from models import (
    Building,
    Household,
    HouseholdMember,
    ImportRun,
    OwnershipClaimAttempt,
    PropertyOwnership,
    PropertyRecord,
)
from models.enums import Role
from resolvers import property as property_rules
from resolvers.idnumber import check_digit
from schema.base import encode_id
from tests.conftest import Client
from tests.test_files import upload_as
from tests.test_permissions import codes, token_for
from tests.world import World, add_person, grant

SignIn = Callable[[str], Awaitable[Client]]

A1_ID = "330304196005010028"  # resident_a1's
B1_ID = "330304196005010044"  # resident_b1's


def id_number(first17: str) -> str:
    return first17 + check_digit(first17)


OTHER_ID = id_number("33030419800101123")
HEADER = "不动产权证号,房号,权利人,身份证号"
GOOD = "\n".join(
    [
        HEADER,
        f"浙(2020)温州市不动产权第0000101号,1幢 101室,甲一居民,{A1_ID}",
        f"浙(2020)温州市不动产权第0000201号,1幢 201室,乙一居民,{B1_ID}",
        # A co-owner of 201: another line of the same certificate.
        f"浙(2020)温州市不动产权第0000201号,1幢 201室,共有人,{OTHER_ID}",
    ]
).encode("utf-8-sig")
CERT_101 = "浙(2020)温州市不动产权第0000101号"
CERT_201 = "浙(2020)温州市不动产权第0000201号"

IMPORT = """
mutation Import($estateId: ID!, $fileId: ID!, $whole: Boolean! = false) {
  propertyRegisterImport(estateId: $estateId, fileId: $fileId, wholeRegister: $whole) {
    errors { field code }
    importRun {
      status totalRows doneRows counts
      reports(first: 50) { edges { node { rowNumber outcome code message } } }
    }
  }
}
"""

RECORDS = """
query Records($estateId: ID!) {
  propertyRecords(estateId: $estateId, first: 50) {
    edges {
      node { id certificateNumber dwelling ownerName idMasked household { address } }
    }
  }
}
"""

CLAIM = """
mutation Claim($certificate: String!, $idNumber: String!) {
  propertyClaim(certificateNumber: $certificate, idNumber: $idNumber) {
    errors { field message code }
    ownership { id certificateNumber estate { name } household { address } }
  }
}
"""

MINE = """
query Mine { myPropertyOwnerships { certificateNumber estate { name } } }
"""

NODE = """
query Node($id: ID!) { node(id: $id) { id ... on PropertyRecord { ownerName } } }
"""


@pytest_asyncio.fixture
async def home_201(world: World) -> Household:
    building = await Building.get(estate_id=world.estates["E1"].id, name="1幢")
    a1 = world.units["A1"]
    return await Household.create(
        unit=a1, unit_path=a1.path, building=building, address="湖景苑 1幢 201室"
    )


async def import_file(
    client: Client,
    world: World,
    content: bytes,
    estate: str = "E1",
    filename: str = "register.csv",
    media_type: str = "text/csv",
    whole: bool = False,
) -> dict[str, Any]:
    uploaded = await upload_as(client, content, filename, content_type=media_type)
    assert uploaded["errors"] == [], uploaded
    body = await client.query(
        IMPORT,
        {
            "estateId": encode_id("Estate", world.estates[estate].id),
            "fileId": uploaded["file"]["id"],
            "whole": whole,
        },
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["propertyRegisterImport"]
    return result


def reports(run: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [
        (r["node"]["rowNumber"], r["node"]["outcome"], r["node"]["code"])
        for r in run["reports"]["edges"]
    ]


@pytest_asyncio.fixture
async def registered(login: SignIn, world: World, home_201: Household) -> Client:
    """E1's register imported by its cadre; returns the cadre's client."""
    cadre = await login("cadre_a1")
    result = await import_file(cadre, world, GOOD)
    assert result["errors"] == [], result
    return cadre


# -- the register ------------------------------------------------------------------


async def test_a_good_register_is_taken_with_ids_only_as_fingerprints(
    login: SignIn, world: World, home_201: Household
) -> None:
    # Given E1's cadre and a register of three lines
    cadre = await login("cadre_a1")

    # When it is imported
    result = await import_file(cadre, world, GOOD)

    # Then every line is taken, matched to its household, nothing to report
    run = result["importRun"]
    assert result["errors"] == []
    assert (run["status"], run["totalRows"], run["doneRows"]) == ("DONE", 3, 3)
    assert run["counts"] == {"TAKEN": 3}
    assert reports(run) == []
    records = await cadre.query(
        RECORDS, {"estateId": encode_id("Estate", world.estates["E1"].id)}
    )
    found = [e["node"] for e in records["data"]["propertyRecords"]["edges"]]
    assert [(r["certificateNumber"], r["household"]["address"]) for r in found] == [
        (CERT_101, "湖景苑 1幢 101室"),
        (CERT_201, "湖景苑 1幢 201室"),
        (CERT_201, "湖景苑 1幢 201室"),
    ]
    assert found[0]["idMasked"] == "330**************8"
    # And no ID number is stored in clear anywhere in the register
    for row in await PropertyRecord.all().values():
        assert not any(
            number in str(value)
            for value in row.values()
            for number in (A1_ID, B1_ID, OTHER_ID)
        )


async def test_importing_the_same_file_again_changes_nothing(
    registered: Client, world: World
) -> None:
    # Given the register imported once
    before = await PropertyRecord.all().order_by("id").values()

    # When the same file is imported again
    result = await import_file(registered, world, GOOD)

    # Then every line is unchanged and no row of the register moved
    assert result["importRun"]["counts"] == {"UNCHANGED": 3}
    assert reports(result["importRun"]) == []
    assert await PropertyRecord.all().order_by("id").values() == before


async def test_a_changed_line_is_merged_and_reported(
    registered: Client, world: World
) -> None:
    # Given a file where the owner's name on line 101 was corrected
    changed = GOOD.decode("utf-8-sig").replace(",甲一居民,", ",甲壹居民,")

    # When it is imported
    result = await import_file(registered, world, changed.encode())

    # Then the line is merged with its reason, the others unchanged
    assert result["importRun"]["counts"] == {"MERGED": 1, "UNCHANGED": 2}
    assert reports(result["importRun"]) == [(2, "MERGED", "RECORD_UPDATED")]
    record = await PropertyRecord.get(certificate_number=CERT_101)
    assert record.owner_name == "甲壹居民"


async def test_bad_lines_are_refused_one_by_one_with_their_reasons(
    login: SignIn, world: World
) -> None:
    # Given a certificate already in E3's register
    official = await login("official_district")
    e3 = "\n".join([HEADER, f"E3-1,3幢 303室,丙,{OTHER_ID}"]).encode()
    assert (await import_file(official, world, e3, "E3"))["importRun"]["counts"] == {
        "TAKEN": 1
    }
    bad = "\n".join(
        [
            HEADER,
            f",1幢 101室,甲,{A1_ID}",
            f"A-1,1幢 101室,甲,{A1_ID[:-1]}9",
            "A-2,1幢 101室,甲,330304196013010028",
            "A-3,1幢 101室,甲,12345",
            f"A-4,,甲,{A1_ID}",
            f"E3-1,1幢 102室,丙,{OTHER_ID}",
            f"A-5,1幢 101室,甲,{A1_ID}",
        ]
    ).encode()

    # When E1's register with bad lines is imported
    result = await import_file(official, world, bad)

    # Then each bad line is refused with its row number and code; the good one taken
    run = result["importRun"]
    assert run["counts"] == {"REFUSED": 6, "TAKEN": 1}
    assert reports(run) == [
        (2, "REFUSED", "CERTIFICATE_REQUIRED"),
        (3, "REFUSED", "ID_NUMBER_CHECK_DIGIT"),
        (4, "REFUSED", "ID_NUMBER_DATE"),
        (5, "REFUSED", "ID_NUMBER_FORMAT"),
        (6, "REFUSED", "DWELLING_REQUIRED"),
        (7, "REFUSED", "CERTIFICATE_OF_ANOTHER_ESTATE"),
    ]
    assert await PropertyRecord.filter(estate_id=world.estates["E1"].id).count() == 1


async def test_a_file_without_the_columns_changes_nothing(
    login: SignIn, world: World
) -> None:
    cadre = await login("cadre_a1")
    result = await import_file(cadre, world, "证号,姓名\nA-1,甲\n".encode())
    assert [e["code"] for e in result["errors"]] == ["MISSING_COLUMNS"]
    assert result["importRun"] is None
    assert await ImportRun.all().count() == 0
    assert await PropertyRecord.all().count() == 0


async def test_an_xlsx_register_is_read_like_a_csv(login: SignIn, world: World) -> None:
    # Given the register as an Excel workbook, the ID numbers typed as text
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in GOOD.decode("utf-8-sig").splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    # When it is imported
    result = await import_file(
        await login("cadre_a1"),
        world,
        buffer.getvalue(),
        filename="register.xlsx",
        media_type=xlsx,
    )

    # Then it is taken like the CSV
    assert result["importRun"]["counts"] == {"TAKEN": 3}


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("cadre_b1", "FORBIDDEN"),
        ("official_b", "FORBIDDEN"),
        ("company_staff", "FORBIDDEN"),
        ("resident_a1", "FORBIDDEN"),
    ],
)
async def test_only_staff_over_the_estate_import_its_register(
    login: SignIn, world: World, role: str, code: str
) -> None:
    client = await login(role)
    uploaded = await upload_as(client, GOOD, "register.csv", content_type="text/csv")
    body = await client.query(
        IMPORT,
        {
            "estateId": encode_id("Estate", world.estates["E1"].id),
            "fileId": uploaded["file"]["id"],
        },
    )
    assert codes(body) == [code], body
    assert await PropertyRecord.all().count() == 0


REGISTER_SEEN = {
    "admin": True,
    "official_district": True,
    "official_a": True,
    "cadre_a1": True,
    "official_b": False,
    "cadre_b1": False,
    "company_staff": False,
    "committee_member": False,
    "resident_a1": False,
    "resident_b1": False,
}


@pytest.mark.parametrize("role", [*REGISTER_SEEN, "anonymous", "company_token"])
async def test_the_register_is_for_staff_over_the_estate_by_every_path(
    http: httpx.AsyncClient,
    login: SignIn,
    anonymous: Client,
    registered: Client,
    world: World,
    role: str,
) -> None:
    # Given E1's register, and any caller (a property company's token too)
    if role == "anonymous":
        client = anonymous
    elif role == "company_token":
        _, secret = await token_for(
            await login("admin"), world, "company", "甲物业 system"
        )
        client = Client(http, secret)
    else:
        client = await login(role)
    record = await PropertyRecord.filter(certificate_number=CERT_101).first()
    assert record is not None

    # When they list it and look a line up by node(id:)
    listed = await client.query(
        RECORDS, {"estateId": encode_id("Estate", world.estates["E1"].id)}
    )
    node = await client.query(NODE, {"id": encode_id("PropertyRecord", record.id)})

    # Then staff over E1 see it; everyone else is refused, and finds no line
    if REGISTER_SEEN.get(role, False):
        assert len(listed["data"]["propertyRecords"]["edges"]) == 3
        assert node["data"]["node"]["ownerName"] == "甲一居民"
        return
    assert codes(listed) in (["FORBIDDEN"], ["UNAUTHENTICATED"]), listed
    assert node["data"]["node"] is None


# -- claims ------------------------------------------------------------------------


async def claim(client: Client, certificate: str, number: str) -> dict[str, Any]:
    body = await client.query(CLAIM, {"certificate": certificate, "idNumber": number})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["propertyClaim"]
    return result


async def test_a_matching_claim_makes_a_verified_owner_of_the_household(
    login: SignIn, registered: Client, world: World, home_201: Household
) -> None:
    # Given resident_b1, who lives in B1 and owns 湖景苑 1幢 201室
    resident = await login("resident_b1")

    # When they claim with the certificate (typed with spaces) and their ID number
    result = await claim(resident, CERT_201.replace("第", " 第 "), B1_ID.lower())

    # Then they are a verified owner of 201, and a member of its household as owner
    assert result["errors"] == []
    assert result["ownership"]["certificateNumber"] == CERT_201
    assert result["ownership"]["estate"] == {"name": "湖景苑"}
    assert result["ownership"]["household"] == {"address": "湖景苑 1幢 201室"}
    member = await HouseholdMember.get(
        person_id=world.people["resident_b1"].id, household_id=home_201.id
    )
    assert member.is_owner
    mine = await resident.query(MINE)
    assert mine["data"]["myPropertyOwnerships"] == [
        {"certificateNumber": CERT_201, "estate": {"name": "湖景苑"}}
    ]
    # And nothing of the claim keeps the ID number in clear
    for row in await OwnershipClaimAttempt.all().values():
        assert B1_ID not in str(row)
    for row in await PropertyOwnership.all().values():
        assert B1_ID not in str(row)

    # When they claim again
    again = await claim(resident, CERT_201, B1_ID)

    # Then it says they are already verified
    assert [e["code"] for e in again["errors"]] == ["ALREADY_VERIFIED"]


async def test_a_failed_claim_says_why_without_revealing_the_register(
    login: SignIn, registered: Client
) -> None:
    resident = await login("resident_a1")

    # When the certificate exists but the ID number is another's, or the
    # certificate does not exist at all
    wrong_person = await claim(resident, CERT_201, A1_ID)
    no_such = await claim(resident, "浙(2020)温州市不动产权第9999999号", A1_ID)

    # Then both answers are the same: neither says which half was wrong
    assert wrong_person["errors"] == no_such["errors"]
    assert [e["code"] for e in wrong_person["errors"]] == ["CLAIM_NOT_MATCHED"]
    assert "乙一居民" not in str(wrong_person) and "201" not in str(wrong_person)
    assert wrong_person["ownership"] is None
    assert await PropertyOwnership.all().count() == 0


async def test_an_id_number_of_bad_form_is_refused_before_any_lookup(
    login: SignIn, registered: Client
) -> None:
    resident = await login("resident_a1")
    for number, code in (
        (A1_ID[:-1] + "9", "ID_NUMBER_CHECK_DIGIT"),
        ("33030419600501002", "ID_NUMBER_FORMAT"),
        ("330304196013010028", "ID_NUMBER_DATE"),
    ):
        result = await claim(resident, CERT_101, number)
        assert [(e["field"], e["code"]) for e in result["errors"]] == [
            ("idNumber", code)
        ]
    empty = await claim(resident, "  ", A1_ID)
    assert [e["code"] for e in empty["errors"]] == ["CERTIFICATE_REQUIRED"]
    # Form errors are not attempts against the register
    assert await OwnershipClaimAttempt.all().count() == 0


async def test_failed_claims_are_limited_per_person(
    login: SignIn, registered: Client
) -> None:
    # Given a resident who failed as many times as allowed
    resident = await login("resident_a1")
    for _ in range(property_rules.MAX_FAILED_CLAIMS_PER_PERSON):
        failed = await claim(resident, CERT_101, OTHER_ID)
        assert [e["code"] for e in failed["errors"]] == ["CLAIM_NOT_MATCHED"]

    # When they claim again, even rightly
    body = await resident.query(CLAIM, {"certificate": CERT_101, "idNumber": A1_ID})

    # Then they are refused until the window has passed, and no ownership is made
    assert codes(body) == ["TOO_MANY_REQUESTS"], body
    assert await PropertyOwnership.all().count() == 0
    # But another resident is not held back by them
    other = await claim(await login("resident_b1"), CERT_201, B1_ID)
    assert other["errors"] == []


async def test_failed_claims_are_limited_per_certificate(
    login: SignIn, registered: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a certificate that several people failed to claim
    monkeypatch.setattr(property_rules, "MAX_FAILED_CLAIMS_PER_CERTIFICATE", 2)
    for key, phone in (("guesser_1", "13900000031"), ("guesser_2", "13900000032")):
        person = await add_person(world, key, key, phone)
        await grant(person, Role.RESIDENT, world.units["A1"])
        failed = await claim(await login(key), CERT_101, OTHER_ID)
        assert [e["code"] for e in failed["errors"]] == ["CLAIM_NOT_MATCHED"]

    # When its owner claims it rightly
    body = await (await login("resident_a1")).query(
        CLAIM,
        {
            "certificate": CERT_101.replace("(", "（").replace(")", "）"),
            "idNumber": A1_ID,
        },
    )

    # Then the certificate is locked for now
    assert codes(body) == ["TOO_MANY_REQUESTS"], body


@pytest.mark.parametrize(
    "role", ["company_staff", "committee_member", "cadre_a1", "official_a"]
)
async def test_only_residents_claim(
    login: SignIn, registered: Client, role: str
) -> None:
    body = await (await login(role)).query(
        CLAIM, {"certificate": CERT_101, "idNumber": A1_ID}
    )
    assert codes(body) == ["FORBIDDEN"], body
    assert await OwnershipClaimAttempt.all().count() == 0


async def test_an_anonymous_claim_is_unauthenticated(
    anonymous: Client, registered: Client
) -> None:
    body = await anonymous.query(CLAIM, {"certificate": CERT_101, "idNumber": A1_ID})
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_the_limit_lifts_when_the_window_has_passed(
    app: Any, login: SignIn, registered: Client, world: World
) -> None:
    from datetime import UTC, datetime, timedelta

    from permissions.errors import TooManyRequests
    from resolvers.identity import caller_for_person

    # Given a resident who used up their failed claims
    resident = await login("resident_a1")
    for _ in range(property_rules.MAX_FAILED_CLAIMS_PER_PERSON):
        await claim(resident, CERT_101, OTHER_ID)
    context = app.state.platform.context("127.0.0.1")
    now = datetime.now(UTC)
    context.caller = await caller_for_person(world.people["resident_a1"].id, now)
    with pytest.raises(TooManyRequests):
        await property_rules.claim_ownership(context, CERT_101, A1_ID)

    # When a day and a little more has passed on the clock
    context.clock = lambda: now + property_rules.CLAIM_WINDOW + timedelta(minutes=1)
    row = await property_rules.claim_ownership(context, CERT_101, A1_ID)

    # Then the right claim goes through
    assert row["certificate_number"] == CERT_101


# -- a whole register: lines it no longer lists ------------------------------------

# E1's register after 1幢 201室 was sold: its two lines are gone.
WITHOUT_201 = "\n".join(
    [HEADER, f"浙(2020)温州市不动产权第0000101号,1幢 101室,甲一居民,{A1_ID}"]
).encode()
ALL_RECORDS = """
query Records($estateId: ID!, $ended: Boolean!) {
  propertyRecords(estateId: $estateId, includeEnded: $ended, first: 50) {
    edges { node { certificateNumber ownerName endedAt } }
  }
}
"""


async def records_of(client: Client, world: World, ended: bool) -> list[Any]:
    body = await client.query(
        ALL_RECORDS,
        {"estateId": encode_id("Estate", world.estates["E1"].id), "ended": ended},
    )
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["propertyRecords"]["edges"]]


async def test_a_whole_register_ends_the_lines_it_no_longer_lists(
    login: SignIn, registered: Client, world: World, home_201: Household
) -> None:
    # Given resident_b1 verified as owner of 201
    resident = await login("resident_b1")
    assert (await claim(resident, CERT_201, B1_ID))["errors"] == []

    # When the register without 201 is imported as the whole register
    result = await import_file(registered, world, WITHOUT_201, whole=True)

    # Then 201's two lines are ended and counted, 101 is unchanged
    assert result["importRun"]["counts"] == {"UNCHANGED": 1, "ENDED": 2}
    assert [
        r["certificateNumber"] for r in await records_of(registered, world, False)
    ] == [CERT_101]
    ended = [r for r in await records_of(registered, world, True) if r["endedAt"]]
    assert sorted(r["ownerName"] for r in ended) == ["乙一居民", "共有人"]
    # And the ownership they proved has ended: no longer the caller's, no longer
    # the household's owner (still its member), and the line proves nothing now
    assert (await resident.query(MINE))["data"]["myPropertyOwnerships"] == []
    member = await HouseholdMember.get(
        person_id=world.people["resident_b1"].id, household_id=home_201.id
    )
    assert (member.is_owner, member.ends_on) == (False, None)
    again = await claim(resident, CERT_201, B1_ID)
    assert [e["code"] for e in again["errors"]] == ["CLAIM_NOT_MATCHED"]


async def test_a_line_listed_again_is_restored_and_may_be_claimed_again(
    login: SignIn, registered: Client, world: World
) -> None:
    # Given 201's lines ended by a whole register
    await import_file(registered, world, WITHOUT_201, whole=True)

    # When the full register comes again
    result = await import_file(registered, world, GOOD, whole=True)

    # Then the two lines are restored and reported, and 201 may be claimed
    assert result["importRun"]["counts"] == {"UNCHANGED": 1, "MERGED": 2}
    assert reports(result["importRun"]) == [
        (3, "MERGED", "RECORD_RESTORED"),
        (4, "MERGED", "RECORD_RESTORED"),
    ]
    assert await PropertyRecord.filter(ended_at__isnull=False).count() == 0
    resident = await login("resident_b1")
    assert (await claim(resident, CERT_201, B1_ID))["errors"] == []


async def test_a_whole_register_with_a_refused_line_ends_nothing(
    registered: Client, world: World
) -> None:
    # Given the register without 201 and with one line of bad form
    bad = WITHOUT_201 + "\n浙(2020)温州市不动产权第0000301号,1幢 301室,丙,123".encode()

    # When it is imported as the whole register
    result = await import_file(registered, world, bad, whole=True)

    # Then the refused line is reported and 201's lines are kept, counted KEPT
    counts = result["importRun"]["counts"]
    assert counts == {"UNCHANGED": 1, "REFUSED": 1, "KEPT": 2}
    assert await PropertyRecord.filter(ended_at__isnull=False).count() == 0


async def test_without_whole_register_unlisted_lines_are_kept(
    registered: Client, world: World
) -> None:
    # When the register without 201 is imported as an addition
    result = await import_file(registered, world, WITHOUT_201)

    # Then nothing is ended
    assert result["importRun"]["counts"] == {"UNCHANGED": 1}
    assert len(await records_of(registered, world, False)) == 3


async def test_a_whole_register_that_lists_nothing_ends_nothing(
    registered: Client, world: World
) -> None:
    # When a file with the header alone is imported as the whole register
    result = await import_file(registered, world, HEADER.encode(), whole=True)

    # Then all three lines are kept, counted KEPT
    assert result["importRun"]["counts"] == {"KEPT": 3}
    assert await PropertyRecord.filter(ended_at__isnull=False).count() == 0
