"""`GET /files/{id}`: who downloads a stored file, signed URLs, and the headers.

A file is downloaded with the caller's `Authorization` header, or by a signed
URL from the `url` field (what `<img src>` can carry). Unknown and not visible
are both 404; a bad or expired signature is 403.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio

from api.files import content_disposition
from resolvers.download import signature
from schema.base import decode_id, encode_id
from tests.conftest import Client
from tests.test_files import CSV_BYTES, make_png, upload_as
from tests.test_requests import CREATE, Setup, build_setup
from tests.world import World

SignIn = Callable[[str], Awaitable[Client]]

FILE_URL = """
query File($id: ID!) { storedFile(id: $id) { id url } }
"""

PHOTOS = """
query Photos($id: ID!) {
  node(id: $id) { ... on ServiceRequest { photos { id url } } }
}
"""


@pytest_asyncio.fixture
async def setup(login: SignIn, world: World, http: httpx.AsyncClient) -> Setup:
    return await build_setup(login, world, http)


def _pk(global_id: str) -> int:
    return decode_id(global_id)[1]


async def _get(
    http: httpx.AsyncClient, url: str, token: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await http.get(url, headers=headers)


async def _signed_url(client: Client, file_id: str) -> str:
    body = await client.query(FILE_URL, {"id": file_id})
    assert "errors" not in body, body
    url: str = body["data"]["storedFile"]["url"]
    return url


async def test_each_role_downloads_only_what_it_may_see(
    http: httpx.AsyncClient, login: SignIn, world: World
) -> None:
    # Given a photo uploaded by a resident of A1
    owner = await login("resident_a1")
    content = make_png(seed=b"door")
    uploaded = (await upload_as(owner, content, "门牌.png"))["file"]
    url = f"/files/{_pk(uploaded['id'])}"

    async def status(key: str | None) -> int:
        token = (await login(key)).token if key else None
        response = await _get(http, url, token)
        if response.status_code == 200:
            assert response.content == content
        return response.status_code

    # Then the uploader and the staff over A1 download it; nobody else
    assert await status("resident_a1") == 200
    assert await status("cadre_a1") == 200
    assert await status("official_a") == 200
    assert await status("admin") == 200
    assert await status("resident_b1") == 404
    assert await status("cadre_b1") == 404
    assert await status("company_staff") == 404
    assert await status(None) == 404


async def test_unknown_and_hidden_files_answer_alike(
    http: httpx.AsyncClient, login: SignIn, world: World
) -> None:
    owner = await login("resident_a1")
    other = await login("resident_b1")
    uploaded = (await upload_as(owner, make_png()))["file"]

    hidden = await _get(http, f"/files/{_pk(uploaded['id'])}", other.token)
    unknown = await _get(http, "/files/999999", other.token)

    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content == unknown.content
    assert hidden.headers.get("content-type") == unknown.headers.get("content-type")


async def test_a_bad_token_is_401_not_a_download(
    http: httpx.AsyncClient, login: SignIn, world: World
) -> None:
    owner = await login("resident_a1")
    uploaded = (await upload_as(owner, make_png()))["file"]

    response = await _get(http, f"/files/{_pk(uploaded['id'])}", "nonsense")
    basic = await http.get(
        f"/files/{_pk(uploaded['id'])}", headers={"authorization": "Basic eDp5"}
    )

    assert response.status_code == basic.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_the_headers_keep_the_file_what_it_is(
    http: httpx.AsyncClient, login: SignIn, world: World
) -> None:
    owner = await login("resident_a1")
    photo = (await upload_as(owner, make_png(), "3幢 电梯.png"))["file"]
    table = await upload_as(owner, CSV_BYTES, "名单.csv", content_type="text/csv")

    image = await _get(http, f"/files/{_pk(photo['id'])}", owner.token)
    sheet = await _get(http, f"/files/{_pk(table['file']['id'])}", owner.token)

    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["cache-control"] == "private"
    assert image.headers["content-disposition"] == (
        "inline; filename=\"3_ __.png\"; filename*=UTF-8''"
        "3%E5%B9%A2%20%E7%94%B5%E6%A2%AF.png"
    )
    assert sheet.headers["content-type"].startswith("text/csv")
    assert sheet.headers["content-disposition"].startswith("attachment; ")
    assert (
        "filename*=UTF-8''%E5%90%8D%E5%8D%95.csv"
        in sheet.headers["content-disposition"]
    )
    assert sheet.content == CSV_BYTES


def test_a_name_cannot_break_out_of_the_header() -> None:
    header = content_disposition('a"b\\c;d%e\r\n.pdf', "application/pdf")

    assert header == (
        'attachment; filename="a_b_c_d_e__.pdf"; '
        "filename*=UTF-8''a%22b%5Cc%3Bd%25e%0D%0A.pdf"
    )


async def test_a_signed_url_downloads_without_a_header_for_minutes(
    http: httpx.AsyncClient, login: SignIn, world: World, settings: Any
) -> None:
    # Given the signed URL the uploader reads from the `url` field
    owner = await login("resident_a1")
    content = make_png(seed=b"signed")
    uploaded = (await upload_as(owner, content))["file"]
    url = await _signed_url(owner, uploaded["id"])
    query = parse_qs(urlsplit(url).query)
    expires = int(query["expires"][0])

    # When anyone opens it, with no header
    response = await http.get(url)

    # Then it downloads, and it is good for the configured ten minutes
    assert urlsplit(url).path == f"/files/{_pk(uploaded['id'])}"
    assert response.status_code == 200
    assert response.content == content
    # (rounded up to the minute, so a redrawn screen asks for the same URL)
    assert expires % 60 == 0
    assert 0 <= expires - time.time() - settings.file_url_ttl < 61
    assert settings.file_url_ttl == 600


async def test_a_tampered_or_expired_signature_is_403(
    http: httpx.AsyncClient, login: SignIn, world: World, settings: Any
) -> None:
    owner = await login("resident_a1")
    mine = (await upload_as(owner, make_png(seed=b"a")))["file"]
    other = (await upload_as(owner, make_png(seed=b"b")))["file"]
    url = await _signed_url(owner, mine["id"])
    query = parse_qs(urlsplit(url).query)
    expires, sign = query["expires"][0], query["signature"][0]
    pk, other_pk = _pk(mine["id"]), _pk(other["id"])
    past = int(time.time()) - 1
    key = settings.file_url_key

    # One character changed, whatever the first one was.
    changed = ("y" if sign[0] == "x" else "x") + sign[1:]
    tampered = await http.get(f"/files/{pk}?expires={expires}&signature={changed}")
    moved = await http.get(f"/files/{other_pk}?expires={expires}&signature={sign}")
    longer = await http.get(f"/files/{pk}?expires={int(expires) + 1}&signature={sign}")
    expired = await http.get(
        f"/files/{pk}?expires={past}&signature={signature(key, pk, past)}"
    )
    no_signature = await http.get(f"/files/{pk}?expires={expires}", headers={})
    foreign_key = await http.get(
        f"/files/{pk}?expires={expires}"
        f"&signature={signature(b'another key', pk, int(expires))}"
    )
    # A signature of the right key for a file that is not there: 404.
    unknown = await http.get(
        f"/files/999999?expires={expires}"
        f"&signature={signature(key, 999999, int(expires))}"
    )

    # An expiry that is not plain ASCII digits, or absurdly long: refused too.
    odd = [
        await http.get(f"/files/{pk}?expires={odd}&signature={sign}")
        for odd in ("%C2%B2", "9" * 5000, "-1", "")
    ]

    for refused in (tampered, moved, longer, expired, no_signature, foreign_key, *odd):
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert unknown.status_code == 404


async def test_a_url_only_for_whoever_sees_the_file(
    login: SignIn, world: World
) -> None:
    owner = await login("resident_a1")
    other = await login("resident_b1")
    uploaded = (await upload_as(owner, make_png()))["file"]

    body = await other.query(FILE_URL, {"id": uploaded["id"]})

    assert body["data"]["storedFile"] is None


async def _request_with_photo(
    login: SignIn, setup: Setup, content: bytes
) -> tuple[str, str]:
    resident = await login("resident_a1")
    photo = (await upload_as(resident, content, "lift.png"))["file"]
    given = {
        "categoryId": encode_id("RequestCategory", setup.categories["REPAIR"].id),
        "estateId": encode_id("Estate", setup.world.estates["E1"].id),
        "text": "电梯异响",
        "photoIds": [photo["id"]],
    }
    body = await resident.query(CREATE, {"input": given})
    assert "errors" not in body, body
    created = body["data"]["serviceRequestCreate"]
    assert created["errors"] == [], created
    return created["serviceRequest"]["id"], photo["id"]


async def test_the_handling_firm_downloads_the_residents_photo(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    # Given a request with a photo, dispatched to the company managing E1
    content = make_png(seed=b"lift")
    request_id, photo_id = await _request_with_photo(login, setup, content)
    url = f"/files/{_pk(photo_id)}"
    staff = await login("company_staff")
    neighbour = await login("resident_b1")

    # When the firm reads it with its API token, its staff with theirs
    by_token = await _get(http, url, setup.firm_secret)
    by_staff = await _get(http, url, staff.token)
    photos = await setup.firm.query(PHOTOS, {"id": request_id})
    [listed] = photos["data"]["node"]["photos"]
    by_link = await http.get(listed["url"])

    # Then both download it, also by the signed URL the firm was given
    assert by_token.status_code == by_staff.status_code == by_link.status_code == 200
    assert by_token.content == by_link.content == content
    assert listed["id"] == photo_id
    # And another firm, or a neighbour, does not
    assert (await _get(http, url, setup.other_firm.token)).status_code == 404
    assert (await _get(http, url, neighbour.token)).status_code == 404


def test_the_url_key_is_its_own_and_the_minutes_are_a_setting(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import load_settings

    monkeypatch.setenv("YUNSHANG_FILE_URL_MINUTES", "3")
    changed = load_settings()

    assert changed.file_url_ttl == 180
    assert changed.file_url_key == settings.file_url_key
    assert settings.file_url_key not in {b"s" * 40, settings.id_key}
