"""Open311 GeoReport v2 over service requests: the same rows, the same rules.

Routes under ``/open311/v2/``: ``services``, ``services/{service_code}``,
``requests`` (GET: list with its filters; POST: create, form-encoded) and
``requests/{service_request_id}``, each as ``.json`` or ``.xml``. The XML is the
same data under the spec's element names (``<services><service>``,
``<service_requests><request>``, ``<errors><error>``), errors included.

The caller is the ``api_key`` parameter or an ``Authorization: Bearer`` header,
either a person's access token or a firm's API token. Rows are scoped by
``permissions.scope.visible`` as in GraphQL; the private fields of a request
(``address`` beyond the estate, ``lat``, ``long``, ``status_notes``) are given
only to its parties, as the GraphQL field rules say. Errors are the spec's list
of ``{code, description}`` with the HTTP status as ``code``.

Statuses: EVALUATED is ``closed``; every other stage is ``open``, with the
stage in ``status_notes`` for parties. ``address_id`` is an estate's id, and
``attribute[community]`` names a community for a request outside any estate.
``media_url`` is, for the request's parties, a signed URL of its first photo
(``GET /files/{id}``), good for the configured minutes.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models import Estate, Organization, OrgUnit, RequestCategory, ServiceRequest
from models.enums import HandlerKind, RequestStage
from permissions.errors import CodedError, NotFound, Unauthenticated
from permissions.request import is_party
from permissions.scope import visible
from resolvers import request as request_rules
from resolvers.base import Invalid
from resolvers.context import Context
from resolvers.download import signed_path
from resolvers.identity import authenticate_bearer

__all__ = ["open311_routes"]

logger = logging.getLogger(__name__)

PREFIX = "/open311/v2"
FORMATS = ("json", "xml")
# The element of each item of a list, by the list's element (GeoReport v2).
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}
MAX_SPAN = timedelta(days=90)
MAX_ROWS = 1000
MAX_DESCRIPTION = 4000
ATTRIBUTES = [
    {
        "variable": True,
        "code": "community",
        "datatype": "string",
        "required": False,
        "datatype_description": "The id of a community (when address_id is not "
        "an estate's).",
        "order": 1,
        "description": "Community",
    },
    {
        "variable": True,
        "code": "share",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "Share it into the library of small needs.",
        "order": 2,
        "description": "Share",
        "values": [{"key": "true", "name": "Yes"}, {"key": "false", "name": "No"}],
    },
]


class Open311Error(Exception):
    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = descriptions or ("error",)


@dataclass(frozen=True)
class Answer:
    """What a route answers, before it is written as JSON or XML."""

    root: str
    body: Any
    status: int = 200


def _errors(status: int, *descriptions: str) -> Answer:
    body = [{"code": status, "description": d} for d in descriptions]
    return Answer("errors", body, status)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    elif isinstance(value, list):
        element.extend(_element(ITEMS[name], item) for item in value)
    elif value is not None:
        element.text = _text(value)
    return element


def xml_document(root: str, body: Any) -> bytes:
    """``body`` under ``root``: a key is an element, a list item its ``ITEMS``."""
    document: bytes = ET.tostring(
        _element(root, body), encoding="utf-8", xml_declaration=True
    )
    return document


def _render(answer: Answer, fmt: str) -> Response:
    if fmt == "xml":
        content = xml_document(answer.root, answer.body)
        return Response(content, answer.status, media_type="application/xml")
    return JSONResponse(answer.body, answer.status)


async def _context(request: Request, params: dict[str, str]) -> Context:
    platform = request.app.state.platform
    address = request.client.host if request.client else ""
    context: Context = platform.context(address)
    key = params.get("api_key", "").strip()
    authorization = request.headers.get("authorization", "")
    if not key and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if key:
        try:
            context.caller = await authenticate_bearer(context, key, address)
        except Unauthenticated as refused:
            raise Open311Error(403, refused.message) from None
    return context


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse_time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(400, f"{name} is not an ISO 8601 date and time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _service(category: dict[str, Any]) -> dict[str, Any]:
    return {
        "service_code": category["code"],
        "service_name": category["name"],
        "description": category["description"],
        "metadata": True,
        "type": "realtime",
        "keywords": category["keywords"],
        "group": category["group"],
    }


async def services(request: Request) -> Answer:
    categories = await request_rules.category_rows()
    return Answer("services", [_service(c) for c in categories])


async def service_definition(request: Request) -> Answer:
    code = request.path_params["service_code"]
    category = await RequestCategory.get_or_none(code=code, is_active=True)
    if category is None:
        return _errors(404, f"No service has the code {code}.")
    body = {"service_code": category.code, "attributes": ATTRIBUTES}
    return Answer("service_definition", body)


def _media_url(request: Request, context: Context, row: dict[str, Any]) -> str | None:
    photos = row["photo_ids"] or []
    if not photos:
        return None
    base = str(request.base_url).rstrip("/")
    return base + signed_path(context, photos[0])


async def _requests_view(
    request: Request, context: Context, found: list[dict[str, Any]]
) -> list[Any]:
    """The spec's fields for each row; private ones only for the row's parties."""
    caller = context.caller
    categories = {
        c["id"]: c
        for c in await RequestCategory.filter(
            id__in=sorted({r["category_id"] for r in found})
        ).values("id", "code", "name")
    }
    organizations = dict(
        await Organization.filter(
            id__in=sorted({r["handler_organization_id"] for r in found} - {None})
        ).values_list("id", "name")
    )
    estates = dict(
        await Estate.filter(
            id__in=sorted({r["estate_id"] for r in found} - {None})
        ).values_list("id", "name")
    )
    units = dict(
        await OrgUnit.filter(id__in=sorted({r["unit_id"] for r in found})).values_list(
            "id", "name"
        )
    )
    view = []
    for row in found:
        category = categories[row["category_id"]]
        party = is_party(caller, row)
        estate = estates.get(row["estate_id"], "")
        agency = (
            organizations.get(row["handler_organization_id"])
            if row["handler_kind"] != HandlerKind.COMMUNITY
            else None
        ) or units.get(row["unit_id"], "")
        closed = row["stage"] == RequestStage.EVALUATED
        address = (
            " ".join(p for p in (estate, row["address"]) if p) if party else estate
        )
        view.append(
            {
                "service_request_id": str(row["id"]),
                "status": "closed" if closed else "open",
                "status_notes": str(row["stage"]) if party else None,
                "service_name": category["name"],
                "service_code": category["code"],
                "description": row["text"],
                "agency_responsible": agency,
                "service_notice": "",
                "requested_datetime": _time(row["created_at"]),
                "updated_datetime": _time(row["updated_at"]),
                "expected_datetime": _time(row["due_at"]),
                "address": address,
                "address_id": str(row["estate_id"]) if row["estate_id"] else None,
                "zipcode": None,
                "lat": row["latitude"] if party else None,
                "long": row["longitude"] if party else None,
                "media_url": _media_url(request, context, row) if party else None,
            }
        )
    return view


COLUMNS = (
    "id",
    "category_id",
    "raised_by_id",
    "unit_id",
    "unit_path",
    "estate_id",
    "handler_kind",
    "handler_organization_id",
    "stage",
    "text",
    "address",
    "latitude",
    "longitude",
    "created_at",
    "updated_at",
    "due_at",
    "photo_ids",
)


def _ids(value: str) -> list[int]:
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise Open311Error(
            400, "service_request_id is a comma-separated list of ids."
        ) from None


async def _list(request: Request) -> Answer:
    params = _params(request)
    context = await _context(request, params)
    queryset = visible(ServiceRequest, context.caller)
    if params.get("service_request_id"):
        # Given ids, the other filters are ignored (as the spec says).
        queryset = queryset.filter(id__in=_ids(params["service_request_id"]))
    else:
        queryset = _filtered(queryset, params, context.clock())
    found = await queryset.order_by("-id").limit(MAX_ROWS).values(*COLUMNS)
    return Answer("service_requests", await _requests_view(request, context, found))


def _filtered(queryset: Any, params: dict[str, str], now: datetime) -> Any:
    end = (
        _parse_time(params["end_date"], "end_date") if params.get("end_date") else None
    )
    start = (
        _parse_time(params["start_date"], "start_date")
        if params.get("start_date")
        else None
    )
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if end < start or end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date are at most 90 days apart.")
    queryset = queryset.filter(created_at__gte=start, created_at__lte=end)
    if params.get("service_code"):
        codes = [c for c in params["service_code"].split(",") if c]
        queryset = queryset.filter(category__code__in=codes)
    statuses = {s.strip() for s in params.get("status", "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status is open, closed, or both.")
    if statuses == {"open"}:
        queryset = queryset.exclude(stage=RequestStage.EVALUATED)
    elif statuses == {"closed"}:
        queryset = queryset.filter(stage=RequestStage.EVALUATED)
    return queryset


async def _create(request: Request) -> Answer:
    form = await request.form()
    params = {k: str(v) for k, v in form.items()}
    params.update({k: v for k, v in _params(request).items() if k not in params})
    context = await _context(request, params)
    if context.caller.person_id is None:
        raise Open311Error(403, "Sign in: requests are raised by people, with api_key.")
    code = params.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required.")
    category = await RequestCategory.get_or_none(code=code, is_active=True)
    if category is None:
        raise Open311Error(404, f"No service has the code {code}.")
    description = params.get("description", "")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, "description is at most 4,000 characters.")
    new = request_rules.NewRequest(
        category_id=category.id,
        text=description,
        estate_id=_optional_int(params.get("address_id"), "address_id"),
        unit_id=_optional_int(
            params.get("attribute[community]"), "attribute[community]"
        ),
        address=params.get("address_string", "")[:200],
        latitude=_optional_float(params.get("lat"), "lat"),
        longitude=_optional_float(params.get("long"), "long"),
        share=params.get("attribute[share]", "").lower() == "true",
    )
    try:
        row = await request_rules.create_request(context, new)
    except Invalid as invalid:
        descriptions = (f"{e.field}: {e.message}" for e in invalid.errors)
        raise Open311Error(400, *descriptions) from None
    created = {
        "service_request_id": str(row["id"]),
        "service_notice": "",
        "account_id": None,
    }
    return Answer("service_requests", [created])


def _optional_int(value: str | None, name: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise Open311Error(400, f"{name} is a number.") from None


def _optional_float(value: str | None, name: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise Open311Error(400, f"{name} is a number.") from None


async def requests_list_or_create(request: Request) -> Answer:
    if request.method == "POST":
        return await _create(request)
    return await _list(request)


async def one_request(request: Request) -> Answer:
    try:
        pk = int(request.path_params["service_request_id"])
    except ValueError:
        return _errors(404, "No request has this id.")
    context = await _context(request, _params(request))
    found = await visible(ServiceRequest, context.caller).filter(id=pk).values(*COLUMNS)
    if not found:
        return _errors(404, "No request has this id.")
    return Answer("service_requests", await _requests_view(request, context, found))


Handler = Callable[[Request], Awaitable[Answer]]


def _endpoint(handler: Handler, fmt: str) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` answering in ``fmt``, its errors in the spec's list too."""

    async def endpoint(request: Request) -> Response:
        try:
            answer = await handler(request)
        except Open311Error as error:
            answer = _errors(error.status, *error.descriptions)
        except CodedError as error:
            status = 404 if isinstance(error, NotFound) else 403
            answer = _errors(status, error.message)
        return _render(answer, fmt)

    return endpoint


def open311_routes() -> list[Route]:
    paths: list[tuple[str, Handler, list[str]]] = [
        ("services", services, ["GET"]),
        ("services/{service_code}", service_definition, ["GET"]),
        ("requests", requests_list_or_create, ["GET", "POST"]),
        ("requests/{service_request_id}", one_request, ["GET"]),
    ]
    return [
        Route(f"{PREFIX}/{path}.{fmt}", _endpoint(handler, fmt), methods=methods)
        for path, handler, methods in paths
        for fmt in FORMATS
    ]
