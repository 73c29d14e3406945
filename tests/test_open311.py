"""Open311 GeoReport v2: the spec's field lists, errors and filters, over the same
requests and the same permissions as GraphQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio

from api.open311 import ITEMS
from models import ServiceRequest
from schema.base import decode_id, encode_id
from tests.conftest import Client
from tests.test_files import make_png, upload_as
from tests.test_requests import (
    ACCEPT,
    CREATE,
    RESOLVE,
    Setup,
    build_setup,
    raise_request,
    step,
)
from tests.world import World

SignIn = Callable[[str], Awaitable[Client]]

# The fields GeoReport v2 lists for each object.
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
ATTRIBUTE_FIELDS = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
}
DATATYPES = {
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
CREATED_FIELDS = {"service_request_id", "service_notice", "account_id"}
BASE = "/open311/v2"


@pytest_asyncio.fixture
async def setup(login: SignIn, world: World, http: httpx.AsyncClient) -> Setup:
    return await build_setup(login, world, http)


def assert_errors(response: httpx.Response, status: int) -> list[str]:
    """The spec's error list: ``[{code, description}]``, the code the status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and body
    for error in body:
        assert set(error) == {"code", "description"}
        assert error["code"] == status
    return [e["description"] for e in body]


async def test_services_list_the_categories_with_the_specs_fields(
    http: httpx.AsyncClient, setup: Setup
) -> None:
    response = await http.get(f"{BASE}/services.json")

    assert response.status_code == 200
    services = response.json()
    assert [s["service_code"] for s in services] == ["REPAIR", "SAFETY", "ROAD"]
    for service in services:
        assert set(service) == SERVICE_FIELDS
        assert service["type"] in {"realtime", "batch", "blackbox"}
        assert isinstance(service["metadata"], bool)
    assert services[0]["service_name"] == "公共维修"


async def test_a_service_definition_has_the_specs_attribute_fields(
    http: httpx.AsyncClient, setup: Setup
) -> None:
    response = await http.get(f"{BASE}/services/REPAIR.json")
    missing = await http.get(f"{BASE}/services/NOPE.json")

    definition = response.json()
    assert set(definition) == {"service_code", "attributes"}
    assert definition["service_code"] == "REPAIR"
    for attribute in definition["attributes"]:
        assert ATTRIBUTE_FIELDS <= set(attribute) <= ATTRIBUTE_FIELDS | {"values"}
        assert attribute["datatype"] in DATATYPES
        if attribute["datatype"].endswith("valuelist"):
            assert all(set(v) == {"key", "name"} for v in attribute["values"])
    assert_errors(missing, 404)


async def test_a_resident_creates_a_request_with_their_api_key(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    e1 = setup.world.estates["E1"]

    response = await http.post(
        f"{BASE}/requests.json",
        data={
            "api_key": resident.token or "",
            "service_code": "REPAIR",
            "description": "电梯不动了",
            "address_id": str(e1.id),
            "address_string": "2幢",
            "lat": "28.0",
            "long": "120.6",
        },
    )

    assert response.status_code == 200, response.text
    [created] = response.json()
    assert set(created) == CREATED_FIELDS
    row = await ServiceRequest.get(id=int(created["service_request_id"]))
    assert (row.text, row.estate_id, row.stage) == ("电梯不动了", e1.id, "DISPATCHED")
    assert row.handler_organization_id == setup.world.organizations["company"].id


async def test_creating_is_refused_in_the_specs_error_format(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    key = resident.token or ""

    anonymous = await http.post(
        f"{BASE}/requests.json", data={"service_code": "REPAIR", "description": "x"}
    )
    firm = await http.post(
        f"{BASE}/requests.json",
        data={"api_key": setup.firm_secret, "service_code": "REPAIR"},
    )
    bad_key = await http.post(
        f"{BASE}/requests.json", data={"api_key": "nonsense", "service_code": "REPAIR"}
    )
    no_code = await http.post(f"{BASE}/requests.json", data={"api_key": key})
    unknown = await http.post(
        f"{BASE}/requests.json", data={"api_key": key, "service_code": "NOPE"}
    )
    no_place = await http.post(
        f"{BASE}/requests.json",
        data={"api_key": key, "service_code": "REPAIR", "description": "x"},
    )

    assert_errors(anonymous, 403)
    assert_errors(firm, 403)
    assert_errors(bad_key, 403)
    assert_errors(no_code, 400)
    assert_errors(unknown, 404)
    assert any("estateId" in d for d in assert_errors(no_place, 400))
    assert await ServiceRequest.all().count() == 0


async def _list(
    http: httpx.AsyncClient, key: str | None = None, **params: str
) -> list[dict[str, Any]]:
    if key:
        params["api_key"] = key
    response = await http.get(f"{BASE}/requests.json", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    for item in found:
        assert set(item) == REQUEST_FIELDS
    return found


async def test_requests_list_with_the_specs_fields_scoped_like_graphql(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident_a = await login("resident_a1")
    resident_b = await login("resident_b1")
    private = await raise_request(resident_a, setup, text="我家漏水")
    shared = await raise_request(resident_a, setup, share=True, text="加装电梯")
    theirs = await raise_request(resident_b, setup, estate="E3", text="乙的请求")
    await ServiceRequest.filter(id=int(_pk(private["id"]))).update(
        latitude=28.0, longitude=120.6
    )

    mine = await _list(http, resident_a.token)
    by_b = await _list(http, resident_b.token)
    anonymous = await _list(http)
    firm = await _list(http, setup.firm_secret)
    by_header = await http.get(
        f"{BASE}/requests.json",
        headers={"authorization": f"Bearer {setup.firm_secret}"},
    )
    other = await _list(
        http, None, service_request_id=",".join(_pk(r["id"]) for r in (private, theirs))
    )

    def ids(found: list[dict[str, Any]]) -> set[str]:
        return {item["service_request_id"] for item in found}

    assert ids(mine) == {_pk(private["id"]), _pk(shared["id"])}
    assert ids(by_b) == {_pk(shared["id"]), _pk(theirs["id"])}
    assert ids(anonymous) == {_pk(shared["id"])}
    assert ids(firm) == {_pk(private["id"]), _pk(shared["id"])}
    assert ids(by_header.json()) == ids(firm)  # the same key, from the header
    assert ids(other) == set()  # neither is shared: hidden from anonymous callers
    # Private fields only for the request's parties.
    own = next(i for i in mine if i["service_request_id"] == _pk(private["id"]))
    assert (own["lat"], own["long"], own["status"]) == (28.0, 120.6, "open")
    assert own["agency_responsible"] == "甲物业"
    assert own["service_code"] == "REPAIR"
    public = anonymous[0]
    assert (public["lat"], public["long"], public["status_notes"]) == (
        None,
        None,
        None,
    )
    assert public["address"] == "湖景苑"


async def test_another_firm_sees_nothing_of_the_estate(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    created = await raise_request(resident, setup, share=True)

    listed = await _list(http, setup.other_firm.token)
    one = await http.get(
        f"{BASE}/requests/{_pk(created['id'])}.json",
        headers={"authorization": f"Bearer {setup.other_firm.token}"},
    )

    assert listed == []
    assert_errors(one, 404)


async def test_status_and_date_filters(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    admin = await login("admin")
    done = await raise_request(resident, setup)
    waiting = await raise_request(resident, setup)
    await step(setup.firm, ACCEPT, id=done["id"])
    await step(setup.firm, RESOLVE, id=done["id"])
    confirm = (
        "mutation($id: ID!) { serviceRequestConfirm(id: $id) { errors { code } } }"
    )
    await admin.query(confirm, {"id": done["id"]})
    key = resident.token
    now = datetime.now(UTC)

    closed = await _list(http, key, status="closed")
    opened = await _list(http, key, status="open")
    both = await _list(http, key, status="open,closed")
    earlier = await _list(
        http,
        key,
        start_date=(now - timedelta(days=30)).isoformat(),
        end_date=(now - timedelta(days=20)).isoformat(),
    )
    too_long = await http.get(
        f"{BASE}/requests.json",
        params={
            "start_date": (now - timedelta(days=100)).isoformat(),
            "end_date": now.isoformat(),
        },
    )
    bad_status = await http.get(f"{BASE}/requests.json", params={"status": "fixed"})

    assert [i["service_request_id"] for i in closed] == [_pk(done["id"])]
    assert closed[0]["status"] == "closed"
    assert [i["service_request_id"] for i in opened] == [_pk(waiting["id"])]
    assert len(both) == 2
    assert earlier == []
    assert_errors(too_long, 400)
    assert_errors(bad_status, 400)


async def test_one_request_by_id(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident_a = await login("resident_a1")
    resident_b = await login("resident_b1")
    created = await raise_request(resident_a, setup)
    url = f"{BASE}/requests/{_pk(created['id'])}.json"

    own = await http.get(url, params={"api_key": resident_a.token or ""})
    other = await http.get(url, params={"api_key": resident_b.token or ""})
    missing = await http.get(f"{BASE}/requests/999999.json")

    assert own.status_code == 200
    [item] = own.json()
    assert set(item) == REQUEST_FIELDS
    assert item["description"] == "楼道灯坏了"
    assert_errors(other, 404)
    assert_errors(missing, 404)


def _pk(global_id: str) -> str:
    return str(decode_id(global_id)[1])


# -- media_url --------------------------------------------------------------------


async def _raise_with_photo(
    login: SignIn, setup: Setup, content: bytes, share: bool = False
) -> str:
    resident = await login("resident_a1")
    photo = (await upload_as(resident, content, "lift.png"))["file"]
    given = {
        "categoryId": encode_id("RequestCategory", setup.categories["REPAIR"].id),
        "estateId": encode_id("Estate", setup.world.estates["E1"].id),
        "text": "电梯异响",
        "share": share,
        "photoIds": [photo["id"]],
    }
    body = await resident.query(CREATE, {"input": given})
    assert body["data"]["serviceRequestCreate"]["errors"] == [], body
    return _pk(body["data"]["serviceRequestCreate"]["serviceRequest"]["id"])


async def test_media_url_is_the_first_photo_signed_for_the_parties(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    # Given a shared request with a photo, and one without
    content = make_png(seed=b"media")
    with_photo = await _raise_with_photo(login, setup, content, share=True)
    resident = await login("resident_a1")
    without = _pk((await raise_request(resident, setup))["id"])

    # When its parties and an anonymous caller list and read them
    mine = {i["service_request_id"]: i for i in await _list(http, resident.token)}
    firm = {i["service_request_id"]: i for i in await _list(http, setup.firm_secret)}
    anonymous = await _list(http)
    neighbour = await _list(http, (await login("resident_b1")).token)
    one = await http.get(
        f"{BASE}/requests/{with_photo}.json", params={"api_key": resident.token or ""}
    )

    # Then the parties get an absolute signed URL that downloads the photo
    url = mine[with_photo]["media_url"]
    assert url.startswith("http://test/files/")
    assert "expires=" in url and "signature=" in url
    assert firm[with_photo]["media_url"].startswith("http://test/files/")
    assert one.json()[0]["media_url"].startswith("http://test/files/")
    downloaded = await http.get(url)
    assert downloaded.status_code == 200
    assert downloaded.content == content
    # and nobody gets one for a request without photos, nor an outsider at all
    assert mine[without]["media_url"] is None
    assert [i["media_url"] for i in anonymous] == [None]
    # A signed-in resident who is not a party sees the shared request, no photo
    assert [(i["service_request_id"], i["media_url"]) for i in neighbour] == [
        (with_photo, None)
    ]


# -- XML --------------------------------------------------------------------------


def _from_xml(element: ET.Element) -> Any:
    """The JSON shape of a GeoReport XML element, every leaf as text."""
    if element.tag in ITEMS:
        return [_from_xml(child) for child in element]
    if len(element):
        return {child.tag: _from_xml(child) for child in element}
    return element.text


def _as_text(value: Any) -> Any:
    """A JSON answer with leaves as XML writes them ("" and null both empty)."""
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value in (None, "") else str(value)


def _xml(response: httpx.Response, root: str, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/xml")
    document = ET.fromstring(response.content)
    assert document.tag == root
    return _from_xml(document)


def _unsigned(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Two answers are signed a second apart at most: compare the paths.
    for item in found:
        if item.get("media_url"):
            item["media_url"] = item["media_url"].split("?")[0]
    return found


async def test_services_in_xml_are_the_json_answers(
    http: httpx.AsyncClient, setup: Setup
) -> None:
    listed = await http.get(f"{BASE}/services.xml")
    definition = await http.get(f"{BASE}/services/REPAIR.xml")
    as_json = await http.get(f"{BASE}/services.json")
    definition_json = await http.get(f"{BASE}/services/REPAIR.json")

    assert _xml(listed, "services") == _as_text(as_json.json())
    assert _xml(definition, "service_definition") == _as_text(definition_json.json())
    assert b"<service><service_code>REPAIR</service_code>" in listed.content
    assert b"<attributes><attribute><variable>true</variable>" in definition.content


async def test_requests_in_xml_are_the_json_answers(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    with_photo = await _raise_with_photo(login, setup, make_png(), share=True)
    resident = await login("resident_a1")
    await raise_request(resident, setup)
    key = {"api_key": resident.token or ""}

    listed = await http.get(f"{BASE}/requests.xml", params=key)
    listed_json = await http.get(f"{BASE}/requests.json", params=key)
    one = await http.get(f"{BASE}/requests/{with_photo}.xml", params=key)
    one_json = await http.get(f"{BASE}/requests/{with_photo}.json", params=key)
    public = await http.get(f"{BASE}/requests.xml")
    public_json = await http.get(f"{BASE}/requests.json")

    found = _unsigned(_xml(listed, "service_requests"))
    assert len(found) == 2
    assert found == _as_text(_unsigned(listed_json.json()))
    assert _unsigned(_xml(one, "service_requests")) == _as_text(
        _unsigned(one_json.json())
    )
    assert _xml(public, "service_requests") == _as_text(public_json.json())
    assert b"<service_requests><request><service_request_id>" in listed.content


async def test_creating_and_errors_in_xml(
    http: httpx.AsyncClient, login: SignIn, setup: Setup
) -> None:
    resident = await login("resident_a1")
    e1 = setup.world.estates["E1"]

    created = await http.post(
        f"{BASE}/requests.xml",
        data={
            "api_key": resident.token or "",
            "service_code": "REPAIR",
            "description": "门禁坏了",
            "address_id": str(e1.id),
        },
    )
    unknown = await http.get(f"{BASE}/services/NOPE.xml")
    bad_status = await http.get(f"{BASE}/requests.xml", params={"status": "fixed"})
    missing = await http.get(f"{BASE}/requests/999999.xml")
    anonymous = await http.post(f"{BASE}/requests.xml", data={"service_code": "X"})

    [answer] = _xml(created, "service_requests")
    assert set(answer) == CREATED_FIELDS
    row = await ServiceRequest.get(id=int(answer["service_request_id"]))
    assert row.text == "门禁坏了"
    for response, status in (
        (unknown, 404),
        (bad_status, 400),
        (missing, 404),
        (anonymous, 403),
    ):
        errors = _xml(response, "errors", status)
        assert errors and all(set(e) == {"code", "description"} for e in errors)
        assert {e["code"] for e in errors} == {str(status)}
    assert _xml(bad_status, "errors", 400) == _as_text(
        (await http.get(f"{BASE}/requests.json", params={"status": "fixed"})).json()
    )
