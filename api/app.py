"""The ASGI app: GraphQL over HTTP and over graphql-transport-ws, health, frontends."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from tortoise import Tortoise, connections

from api import community_code, files, vendor
from api.db import tortoise_config
from api.events import create_bus
from api.open311 import open311_routes
from api.settings import Settings, load_settings
from permissions.caller import ANONYMOUS, Caller
from permissions.errors import CodedError, Unauthenticated
from resolvers.context import Clock, Context, utcnow
from resolvers.events import EventBus
from resolvers.files import LocalFileStore
from resolvers.identity import authenticate_bearer
from resolvers.jobs import SYSTEM_ADDRESS, scheduler
from resolvers.notify import LogSender, Sender
from schema.app import build_schema
from schema.extensions import last_operation_name

__all__ = ["Platform", "create_app"]

logger = logging.getLogger("yunshang.api")
operations = logging.getLogger("yunshang.operation")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
FRONTENDS = Path(__file__).resolve().parent.parent / "frontends"
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-yunshang-preflight")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SUBSCRIPTIONS_OVER_WS = "Subscriptions use the graphql-transport-ws websocket."
# Allocations between collections of the youngest generation (Python's is 700).
GC_YOUNGEST = 2000


@dataclass
class Platform:
    """What the app holds for its lifetime, shared by every request."""

    settings: Settings
    schema: strawberry.Schema
    bus: EventBus
    sender: Sender
    clock: Clock

    def context(self, client_address: str) -> Context:
        return Context(
            bus=self.bus,
            auth=self.settings.auth,
            store=LocalFileStore(self.settings.data_dir / "files"),
            sender=self.sender,
            caller=Caller(client_address=client_address)
            if client_address
            else ANONYMOUS,
            clock=self.clock,
            upload_max_bytes=self.settings.upload_max_bytes,
            upload_media_types=self.settings.upload_media_types,
            id_key=self.settings.id_key,
            file_url_key=self.settings.file_url_key,
            file_url_ttl=self.settings.file_url_ttl,
        )


def _address(request: Request | WebSocket) -> str:
    return request.client.host if request.client else ""


async def _caller(platform: Platform, context: Context, authorization: str) -> Caller:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use `Authorization: Bearer <token>`.")
    return await authenticate_bearer(
        context, token.strip(), context.caller.client_address
    )


def _error_body(message: str, code: str) -> bytes:
    return orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]}
    )


def _formatted(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if not isinstance(result, PreExecutionError):
        body["data"] = result.data
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def _status(result: ExecutionResult) -> int:
    """Status codes of the graphql-response+json media type."""
    if not isinstance(result, PreExecutionError):
        return 200
    errors = result.errors or []
    if any(_is_syntax_error(e) for e in errors):
        return 400
    return 422


def _is_syntax_error(error: GraphQLError) -> bool:
    return (
        isinstance(error, GraphQLSyntaxError)
        or isinstance(error.original_error, GraphQLSyntaxError)
        or (error.extensions or {}).get("code") == "GRAPHQL_PARSE_FAILED"
    )


class RequestError(Exception):
    def __init__(
        self, status: int, message: str, headers: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, f"`{name}` is not valid JSON.") from None


async def _read_upload_request(request: Request, settings: Settings) -> dict[str, Any]:
    if not any(request.headers.get(h) for h in PREFLIGHT_HEADERS):
        raise RequestError(
            400, "Uploads need the `Apollo-Require-Preflight: true` header."
        )
    length = int(request.headers.get("content-length") or 0)
    if length > settings.upload_max_bytes + 64 * 1024:
        raise RequestError(413, "The upload is too large.")
    try:
        form = await request.form(max_files=10, max_fields=10)
    except HTTPException as error:  # Starlette's answer to a malformed body
        message = f"The multipart body is malformed: {error.detail}"
        raise RequestError(400, message) from None
    request.state.form = form  # closed by graphql_http, whatever happens next
    try:
        operations_value = _json_param(str(form.get("operations") or ""), "operations")
        files_map = _json_param(str(form.get("map") or "{}"), "map")
        files = {k: v for k, v in form.items() if isinstance(v, UploadFile)}
        for upload in files.values():
            if (upload.size or 0) > settings.upload_max_bytes:
                raise RequestError(413, "The upload is too large.")
        if not isinstance(operations_value, dict) or not isinstance(files_map, dict):
            raise RequestError(400, "A multipart request needs `operations` and `map`.")
        data: dict[str, Any] = replace_placeholders_with_files(
            operations_value, files_map, files
        )
    except KeyError:
        raise RequestError(400, "A file named in `map` is missing.") from None
    return data


async def _request_data(request: Request, settings: Settings) -> dict[str, Any]:
    if request.method == "GET":
        params = request.query_params
        return {
            "query": params.get("query"),
            "variables": _json_param(params.get("variables"), "variables"),
            "operationName": params.get("operationName"),
            "extensions": _json_param(params.get("extensions"), "extensions"),
        }

    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == JSON:
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise RequestError(400, "The body is not valid JSON.") from None
        if isinstance(data, list):
            raise RequestError(400, "Batched operations are not supported.")
        if not isinstance(data, dict):
            raise RequestError(400, "The body must be a JSON object.")
        return data
    if media_type == "multipart/form-data":
        return await _read_upload_request(request, settings)
    raise RequestError(
        415, "Send `application/json` (or `multipart/form-data` for uploads)."
    )


def _check_shape(data: Mapping[str, Any]) -> None:
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "The request has no `query` string.")
    for key in ("variables", "extensions"):
        if data.get(key) is not None and not isinstance(data.get(key), dict):
            raise RequestError(400, f"`{key}` must be an object.")
    name = data.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string.")


def _log(name: str | None, caller: Caller, started: float, outcome: str) -> None:
    operations.info(
        "operation=%s role=%s duration_ms=%.1f outcome=%s",
        name or "-",
        caller.primary_role,
        (time.perf_counter() - started) * 1000,
        outcome,
    )


async def graphql_http(request: Request) -> Response:
    platform: Platform = request.app.state.platform
    settings = platform.settings
    started = time.perf_counter()
    media_type = (
        GRAPHQL_RESPONSE
        if GRAPHQL_RESPONSE in request.headers.get("accept", "")
        else JSON
    )

    if request.method not in ("GET", "POST"):
        _log(None, ANONYMOUS, started, "http_405")
        return Response(
            _error_body("Use GET for queries, POST for all.", "METHOD_NOT_ALLOWED"),
            405,
            headers={"Allow": "GET, POST"},
            media_type=media_type,
        )

    if (
        request.method == "GET"
        and settings.development
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    ):
        return HTMLResponse(get_graphql_ide_html("graphiql"))

    context = platform.context(_address(request))
    try:
        data = await _request_data(request, settings)
        _check_shape(data)
        authorization = request.headers.get("authorization")
        if authorization:
            context.caller = await _caller(platform, context, authorization)
        allowed = {OperationType.QUERY}
        if request.method == "POST":
            allowed |= {OperationType.MUTATION}
        result = await platform.schema.execute(
            data["query"],
            variable_values=data.get("variables"),
            context_value=context,
            operation_name=data.get("operationName"),
            allowed_operation_types=allowed,
        )
    except RequestError as error:
        _log(None, context.caller, started, f"http_{error.status}")
        return Response(
            _error_body(error.message, "BAD_REQUEST"),
            error.status,
            headers=error.headers,
            media_type=media_type,
        )
    except CannotGetOperationTypeError:
        _log(data.get("operationName"), context.caller, started, "http_400")
        return Response(
            _error_body("No operation of that name in the document.", "BAD_REQUEST"),
            400,
            media_type=media_type,
        )
    except InvalidOperationTypeError as error:
        if error.operation_type == OperationType.SUBSCRIPTION:
            _log(last_operation_name.get(), context.caller, started, "http_400")
            return Response(
                _error_body(SUBSCRIPTIONS_OVER_WS, "BAD_REQUEST"),
                400,
                media_type=media_type,
            )
        _log(last_operation_name.get(), context.caller, started, "http_405")
        return Response(
            _error_body("Mutations are sent with POST.", "METHOD_NOT_ALLOWED"),
            405,
            headers={"Allow": "POST"},
            media_type=media_type,
        )
    except CodedError as error:
        status = 401 if isinstance(error, Unauthenticated) else 429
        _log(None, context.caller, started, f"http_{status}")
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        return Response(
            _error_body(error.message, error.code),
            status,
            headers=headers,
            media_type=media_type,
        )
    finally:
        form = getattr(request.state, "form", None)
        if form is not None:
            await form.close()

    status = _status(result) if media_type == GRAPHQL_RESPONSE else 200
    outcome = (
        "ok"
        if not result.errors
        else ("invalid" if isinstance(result, PreExecutionError) else "errors")
    )
    _log(last_operation_name.get(), context.caller, started, outcome)
    return Response(orjson.dumps(_formatted(result)), status, media_type=media_type)


class WebSocketGraphQL(GraphQL):
    """GraphQL over graphql-transport-ws; the caller is set at connection init."""

    def __init__(self, platform: Platform) -> None:
        settings = platform.settings
        super().__init__(
            platform.schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout),
        )
        self.platform = platform

    async def get_context(self, request: Any, response: Any) -> Context:  # type: ignore[override]
        context = self.platform.context(_address(request))

        from starlette.websockets import WebSocketState

        async def close(code: int, reason: str) -> None:
            # Several streams of one connection may end at once, and the client or
            # strawberry may have closed it first: close once, quietly.
            if (
                request.application_state != WebSocketState.CONNECTED
                or request.client_state != WebSocketState.CONNECTED
            ):
                return
            try:
                await request.close(code=code, reason=reason)
            except (RuntimeError, OSError):
                logger.debug("websocket already closed")

        context.close_connection = close
        return context

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        # strawberry puts the connection_init payload on the context first.
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if not authorization:
            return None
        try:
            context.caller = await _caller(self.platform, context, str(authorization))
        except Unauthenticated as error:
            raise ConnectionRejectionError(
                {"message": error.message, "code": error.code}
            ) from None
        return None


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    platform: Platform = request.app.state.platform
    checks = {"database": False, "events": await platform.bus.ping()}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = True
    except Exception:  # any failure means not ready
        logger.warning("database not reachable for readiness")
    ready = all(checks.values())
    return JSONResponse({"ready": ready, **checks}, 200 if ready else 503)


def create_app(
    settings: Settings | None = None,
    *,
    manage_database: bool = True,
    bus: EventBus | None = None,
    sender: Sender | None = None,
    clock: Clock = utcnow,
) -> Starlette:
    """The app. Tests pass ``manage_database=False`` when they set up Tortoise."""
    settings = settings or load_settings()
    own_bus = bus is None
    platform = Platform(
        settings=settings,
        schema=build_schema(settings.limits),
        bus=bus or create_bus(settings.redis_url, settings.event_queue_size),
        sender=sender or LogSender(),
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            config = tortoise_config(
                settings.database_url, settings.db_pool_min, settings.db_pool_max
            )
            await Tortoise.init(config=config, _enable_global_fallback=True)
        await platform.bus.start()  # type: ignore[attr-defined]
        # What start-up allocated lives as long as the worker: keep it out of
        # every later collection (about a tenth of a request's time otherwise).
        gc.collect()
        gc.freeze()
        # A list screen allocates tens of thousands of dicts and lists that die
        # with its request, nearly all freed by reference counting: collecting
        # the youngest generation every 700 allocations mostly walks them.
        gc.set_threshold(GC_YOUNGEST, *gc.get_threshold()[1:])
        jobs = None
        if settings.jobs:
            jobs = asyncio.create_task(
                scheduler(
                    lambda: platform.context(SYSTEM_ADDRESS), settings.jobs_interval
                )
            )
        try:
            yield
        finally:
            if jobs is not None:
                jobs.cancel()
                with suppress(asyncio.CancelledError):
                    await jobs
            if own_bus:
                await platform.bus.close()  # type: ignore[attr-defined]
            if manage_database:
                await Tortoise.close_connections()

    routes: list[Any] = [
        # Other methods too, so that they get 405 with `Allow: GET, POST` from
        # graphql_http rather than the static mount's `Allow: GET, HEAD`.
        Route("/graphql", graphql_http, methods=HTTP_METHODS),
        WebSocketRoute("/graphql", WebSocketGraphQL(platform)),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *open311_routes(),
        *community_code.routes,
        *files.routes,
        *vendor.routes,
    ]
    if FRONTENDS.is_dir():
        routes.append(
            Mount("/", StaticFiles(directory=FRONTENDS, html=True), name="frontends")
        )
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.platform = platform
    return app
