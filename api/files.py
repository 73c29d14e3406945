"""``GET /files/{id}``: the bytes of a stored file, to whoever may read it.

The caller is the ``Authorization: Bearer`` header (a person's access token or
a firm's API token, as on ``/graphql``), or the URL is signed
(``?expires=&signature=``, from the ``url`` field of ``StoredFile``), which is
what an ``<img src>`` can carry. An unknown file and one the caller may not see
are both 404; a bad or expired signature is 403.

The answer is never sniffed into something else, is named for saving with an
RFC 5987 ``filename*``, and is kept by no shared cache.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from permissions.errors import Unauthenticated
from resolvers.context import Context
from resolvers.download import DOWNLOAD_PATH, is_signed, readable_file, signed_file
from resolvers.identity import authenticate_bearer

__all__ = ["content_disposition", "routes"]

logger = logging.getLogger("yunshang.download")

# Shown in the page rather than saved: images, which nothing runs.
INLINE = frozenset({"image/jpeg", "image/png", "image/webp"})
NOT_ASCII_SAFE = re.compile(r'[^\x20-\x7e]|["\\%;]')


def _error(status: int, message: str, code: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    headers = {"cache-control": "no-store"}
    if status == 401:
        headers["www-authenticate"] = "Bearer"
    return JSONResponse(body, status, headers=headers)


def _not_found() -> Response:
    return _error(404, "No file has this id.", "NOT_FOUND")


def content_disposition(filename: str, media_type: str) -> str:
    """``inline`` for images, else ``attachment``; the name as RFC 6266 asks.

    Old clients read the ASCII ``filename`` (other characters become ``_``);
    the others the UTF-8 ``filename*`` of RFC 5987.
    """
    kind = "inline" if media_type in INLINE else "attachment"
    fallback = NOT_ASCII_SAFE.sub("_", filename) or "download"
    encoded = quote(filename, safe="")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


async def _row(request: Request, context: Context, pk: int) -> dict[str, Any] | None:
    params = request.query_params
    if "signature" in params or "expires" in params:
        if not is_signed(
            context.file_url_key,
            pk,
            params.get("expires", ""),
            params.get("signature", ""),
            context.clock(),
        ):
            raise PermissionError
        return await signed_file(pk)

    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Use `Authorization: Bearer <token>`.")
        context.caller = await authenticate_bearer(
            context, token.strip(), context.caller.client_address
        )
    return await readable_file(context.caller, pk)


async def download(request: Request) -> Response:
    platform = request.app.state.platform
    context: Context = platform.context(request.client.host if request.client else "")
    pk: int = request.path_params["id"]

    try:
        row = await _row(request, context, pk)
    except PermissionError:
        return _error(403, "The link is wrong or has expired.", "FORBIDDEN")
    except Unauthenticated as error:
        return _error(401, error.message, error.code)
    if row is None:
        return _not_found()

    content = await context.store.get(row["sha256"])
    if content is None:
        logger.warning("stored bytes missing", extra={"file_id": pk})
        return _not_found()
    headers = {
        "content-disposition": content_disposition(row["filename"], row["media_type"]),
        "x-content-type-options": "nosniff",
        "cache-control": "private",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    return Response(content, media_type=row["media_type"], headers=headers)


routes = [
    Route(DOWNLOAD_PATH.replace("{id}", "{id:int}"), download, methods=["GET"]),
]
