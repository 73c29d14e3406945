"""Uploads: read within the limit, tell the media type from the bytes, store once.

What a file is comes from its first bytes, not from the name or the type the
client declared; the declared type only has to agree with what was found. The
bytes are stored once per SHA-256 (``Context.store``); every upload gets its own
``StoredFile`` row, because the row carries who uploaded it and where, which is
what decides who may see it.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from models import StoredFile
from models.enums import Outcome
from resolvers.base import Invalid, UserError, audit, write
from resolvers.context import Context
from resolvers.loaders import fetch_row

__all__ = [
    "FileErrorCode",
    "Upload",
    "detect_media_type",
    "resolve_media_type",
    "safe_filename",
    "upload_file",
]

logger = logging.getLogger("yunshang.file")

ACTION = "FILE_UPLOAD"
MAX_FILENAME = 200
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
TEXT = "text/plain"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Declared types that say nothing about the content.
UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# What clients call each detected type. Browsers on Windows send a spreadsheet
# program's type for .csv files.
CSV_NAMES = frozenset(
    {CSV, "application/csv", "text/comma-separated-values", "application/vnd.ms-excel"}
)
DECLARED_AS: dict[str, frozenset[str]] = {
    JPEG: frozenset({JPEG, "image/jpg", "image/pjpeg"}),
    PNG: frozenset({PNG, "image/x-png"}),
    WEBP: frozenset({WEBP}),
    PDF: frozenset({PDF, "application/x-pdf"}),
    XLSX: frozenset({XLSX}),
    TEXT: CSV_NAMES | {TEXT},
}
# Control characters that do not occur in text (tab, newlines and form feed do).
BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
UNSAFE_IN_NAMES = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


class FileErrorCode(StrEnum):
    FILE_REQUIRED = "FILE_REQUIRED"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    FILE_EMPTY = "FILE_EMPTY"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    MEDIA_TYPE_NOT_ALLOWED = "MEDIA_TYPE_NOT_ALLOWED"
    MEDIA_TYPE_MISMATCH = "MEDIA_TYPE_MISMATCH"


@runtime_checkable
class Upload(Protocol):
    """An uploaded file as the web layer hands it over (Starlette's ``UploadFile``)."""

    filename: str | None

    @property
    def content_type(self) -> str | None: ...

    async def read(self, size: int = -1) -> bytes: ...

    async def close(self) -> None: ...


def _error(code: FileErrorCode, message: str) -> Invalid:
    return Invalid([UserError("file", message, code.value)])


def _is_xlsx(content: bytes) -> bool:
    # Only the central directory is read: nothing is decompressed.
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _is_text(content: bytes) -> bool:
    if BINARY_BYTES.search(content):
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_media_type(content: bytes) -> str | None:
    """The media type the bytes show, or ``None`` for anything else.

    CSV cannot be told from other text by its bytes: text is ``text/plain`` here.
    """
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(PNG_SIGNATURE):
        return PNG
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"PK\x03\x04"):
        return XLSX if _is_xlsx(content) else None
    if _is_text(content):
        return TEXT
    return None


def _declared(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def resolve_media_type(
    content: bytes, content_type: str | None, allowed: frozenset[str]
) -> str:
    """The media type to store; raises ``Invalid`` when it is refused."""
    detected = detect_media_type(content)
    declared = _declared(content_type)
    media_type = detected
    if detected == TEXT and (
        declared in CSV_NAMES or (declared in UNDECLARED and CSV in allowed)
    ):
        # Text declared as CSV, or not declared at all, is taken as CSV.
        media_type = CSV

    if media_type is None or media_type not in allowed:
        raise _error(
            FileErrorCode.MEDIA_TYPE_NOT_ALLOWED,
            "This kind of file is not accepted.",
        )
    assert detected is not None
    if declared not in UNDECLARED and declared not in DECLARED_AS[detected]:
        raise _error(
            FileErrorCode.MEDIA_TYPE_MISMATCH,
            f"The file is declared as {declared} but its content is {media_type}.",
        )
    return media_type


def safe_filename(name: str | None) -> str:
    """The last part of ``name``, without control characters, at most 200 characters.

    A name longer than that keeps its extension.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = UNSAFE_IN_NAMES.sub("", text).strip().lstrip(".").strip()
    if not text:
        return "upload"
    if len(text) <= MAX_FILENAME:
        return text
    stem, dot, extension = text.rpartition(".")
    if dot and stem and len(extension) <= 16:
        return stem[: MAX_FILENAME - len(extension) - 1] + "." + extension
    return text[:MAX_FILENAME]


async def _read(upload: Upload, limit: int) -> bytes:
    """At most ``limit + 1`` bytes, enough to know a file is over the limit."""
    try:
        return await upload.read(limit + 1)
    except (ValueError, OSError):
        # Closed already: the same file part was mapped to a second variable.
        raise _error(
            FileErrorCode.FILE_UNREADABLE, "The file could not be read."
        ) from None
    finally:
        await upload.close()


def _readable(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def _check_size(content: bytes, limit: int) -> None:
    if not content:
        raise _error(FileErrorCode.FILE_EMPTY, "The file is empty.")
    if len(content) > limit:
        raise _error(
            FileErrorCode.FILE_TOO_LARGE,
            f"Files may be at most {_readable(limit)}.",
        )


async def _refused(context: Context, invalid: Invalid, size: int) -> Invalid:
    codes = [e.code for e in invalid.errors]
    logger.info("upload refused", extra={"codes": codes, "size": size})
    await audit(context, ACTION, Outcome.FAILED, "StoredFile", codes=codes, size=size)
    return invalid


def _unit_path(context: Context) -> str:
    grants = context.caller.grants
    return grants[0].unit_path if grants else ""


async def upload_file(context: Context, upload: object) -> dict[str, Any]:
    """Check and store one upload; returns its ``StoredFile`` row.

    The upload is always closed. A refused file leaves nothing behind but a
    FAILED audit record.
    """
    if not isinstance(upload, Upload):
        raise _error(
            FileErrorCode.FILE_REQUIRED,
            "Send the file as a part of a multipart request.",
        )
    content = b""
    try:
        content = await _read(upload, context.upload_max_bytes)
        _check_size(content, context.upload_max_bytes)
        media_type = resolve_media_type(
            content, upload.content_type, context.upload_media_types
        )
    except Invalid as invalid:
        raise await _refused(context, invalid, len(content)) from None

    # Bytes first: were the row to fail, the bytes would only wait for a sweep.
    sha256 = await context.store.put(content)
    unit_path = _unit_path(context)
    async with write(context, ACTION) as work:
        stored = await StoredFile.create(
            sha256=sha256,
            size=len(content),
            media_type=media_type,
            filename=safe_filename(upload.filename),
            uploaded_by_id=context.caller.person_id,
            unit_path=unit_path,
        )
        work.audit(
            "StoredFile",
            [stored.id],
            unit_path,
            sha256=sha256,
            size=len(content),
            media_type=media_type,
        )
    return await fetch_row(StoredFile, stored.id)
