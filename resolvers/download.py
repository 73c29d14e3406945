"""Downloads of stored files: who may read one, and signed short-lived URLs.

A caller reads a file they see through ``visible(StoredFile, caller)``, or a
photo of a service request they are a party of: the firm handling a request
sees the resident's photos though it did not upload them, as the request's
``photos`` field shows them. A signed URL (``/files/{id}?expires=&signature=``)
is for places that cannot send a header, such as ``<img src>``: whoever may see
a file gets one, and it works for minutes without any other proof.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

from models import StoredFile
from permissions.caller import Caller
from permissions.request import parties_scope
from permissions.scope import visible
from resolvers.context import Context

__all__ = [
    "COLUMNS",
    "DOWNLOAD_PATH",
    "is_signed",
    "readable_file",
    "signature",
    "signed_file",
    "signed_path",
]

DOWNLOAD_PATH = "/files/{id}"
EXPIRES = re.compile(r"[0-9]{1,12}")
COLUMNS = ("id", "sha256", "size", "media_type", "filename")


def signature(key: bytes, file_id: int, expires: int) -> str:
    """The HMAC-SHA256 of ``id.expires``, URL-safe base64 without padding."""
    digest = hmac.new(key, f"{file_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed_path(context: Context, file_id: int) -> str:
    """The download path of a file, signed until ``file_url_ttl`` from now.

    The end is rounded up to the minute, so that a screen redrawn within it
    asks for the same URL and the browser shows the image it already has.
    """
    ends = int(context.clock().timestamp()) + context.file_url_ttl
    expires = -(-ends // 60) * 60
    sign = signature(context.file_url_key, file_id, expires)
    path = DOWNLOAD_PATH.format(id=file_id)
    return f"{path}?expires={expires}&signature={sign}"


def is_signed(
    key: bytes, file_id: int, expires: str, given: str, now: datetime
) -> bool:
    """Whether ``given`` signs this file until ``expires``, and that is not past."""
    # ASCII digits only, and few: ``isdigit`` takes "²", and ``int`` refuses
    # over 4,300 digits; either would be a fault instead of a refusal.
    if EXPIRES.fullmatch(expires) is None or int(expires) < now.timestamp():
        return False
    expected = signature(key, file_id, int(expires))
    return hmac.compare_digest(expected.encode(), given.encode())


async def _is_request_photo(caller: Caller, row: dict[str, Any]) -> bool:
    # A request's photos were uploaded by who raised it: only those requests
    # can hold the file, which keeps this to a handful of rows.
    uploader = row["uploaded_by_id"]
    if uploader is None:
        return False
    held = await (
        parties_scope(caller)
        .filter(raised_by_id=uploader)
        .values_list("photo_ids", flat=True)
    )
    return any(row["id"] in (ids or []) for ids in held)


async def readable_file(caller: Caller, file_id: int) -> dict[str, Any] | None:
    """The file's row if ``caller`` may download it, else ``None``."""
    found = await visible(StoredFile, caller).filter(id=file_id).values(*COLUMNS)
    if found:
        return found[0]

    row = await StoredFile.filter(id=file_id).values(*COLUMNS, "uploaded_by_id")
    if not row or not await _is_request_photo(caller, row[0]):
        return None
    return {k: row[0][k] for k in COLUMNS}


async def signed_file(file_id: int) -> dict[str, Any] | None:
    """The row of a file whose URL was signed: the signature is the permission."""
    found = await StoredFile.filter(id=file_id).values(*COLUMNS)
    return found[0] if found else None
