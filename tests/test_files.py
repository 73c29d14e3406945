"""Uploads over the GraphQL multipart request spec, and who sees the stored files.

Each request is what a browser client sends: the `operations` and `map` parts,
then the file parts, with the header that forces a CORS preflight.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers, UploadFile

from models import AuditRecord, StoredFile
from models.enums import Outcome, Role
from permissions.caller import Caller, Grant
from resolvers.base import Invalid
from resolvers.context import UPLOAD_MEDIA_TYPES
from resolvers.file import (
    CSV,
    PDF,
    PNG,
    TEXT,
    XLSX,
    detect_media_type,
    resolve_media_type,
    safe_filename,
    upload_file,
)
from tests.conftest import Client
from tests.world import World

UPLOAD = """
mutation Upload($file: Upload!) {
  fileUpload(file: $file) {
    errors { field message code }
    file { id sha256 size mediaType filename createdAt }
  }
}
"""

STORED_FILE = """
query StoredFile($id: ID!) {
  storedFile(id: $id) { id sha256 filename }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename id ... on StoredFile { sha256 } }
}
"""

pytestmark = pytest.mark.filterwarnings(
    "error::pytest.PytestUnraisableExceptionWarning"
)

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
CSV_BYTES = "姓名,电话\n张三,13800000000\n".encode()
# Starlette keeps a file part in memory up to 1 MiB, then on disk.
ON_DISK = 2 * 1024 * 1024


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def make_png(size: int | None = None, seed: bytes = b"") -> bytes:
    """A valid 1×1 PNG; padded with a text chunk to ``size`` bytes if given."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = _chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    end = _chunk(b"IEND", b"")
    head = b"\x89PNG\r\n\x1a\n" + header + pixels
    if size is None:
        return head + (_chunk(b"tEXt", b"Comment\x00" + seed) if seed else b"") + end
    filler = size - len(head) - len(end) - 12 - len(b"Comment\x00")
    assert filler >= 0, "too small for a padded PNG"
    text = b"Comment\x00" + (seed + b"x" * filler)[:filler]
    png = head + _chunk(b"tEXt", text) + end
    assert len(png) == size
    return png


def make_zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


XLSX_BYTES = make_zip("[Content_Types].xml", "xl/workbook.xml", "xl/sheet1.xml")
DOCX_BYTES = make_zip("[Content_Types].xml", "word/document.xml")


async def upload(
    http: httpx.AsyncClient,
    content: bytes,
    filename: str = "photo.png",
    content_type: str = "image/png",
    *,
    token: str | None = None,
    preflight: bool = True,
) -> httpx.Response:
    headers = {"Apollo-Require-Preflight": "true"} if preflight else {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    operations = {"query": UPLOAD, "variables": {"file": None}}
    return await http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (filename, content, content_type)},
        headers=headers,
    )


async def upload_as(
    client: Client, content: bytes, filename: str = "photo.png", **options: Any
) -> dict[str, Any]:
    response = await upload(
        client.http, content, filename, token=client.token, **options
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["fileUpload"]
    return result


def stored_paths(data_dir: Path) -> list[Path]:
    root = data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def path_of(data_dir: Path, sha256: str) -> Path:
    return data_dir / "files" / sha256[:2] / sha256[2:4] / sha256


@pytest.fixture(autouse=True)
def upload_files() -> Iterator[list[UploadFile]]:
    """Every ``UploadFile`` Starlette makes in the test; each must end closed.

    An unclosed one would only warn when collected (as an unraisable exception,
    which does not fail a test), in whatever test runs then: checking ``closed``
    at the end of each test is deterministic.
    """
    made: list[UploadFile] = []
    original = UploadFile.__init__

    def record(self: UploadFile, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(UploadFile, "__init__", record)
        yield made

    left_open = [u for u in made if not u.file.closed]
    for leftover in left_open:
        leftover.file.close()
    if left_open:
        pytest.fail(f"{len(left_open)} uploaded file(s) left open")


def assert_all_closed(made: list[UploadFile]) -> None:
    assert made, "no upload was parsed"
    assert all(u.file.closed for u in made), "an uploaded file was left open"


# -- storing ----------------------------------------------------------------------


async def test_a_png_upload_is_stored_by_its_hash(
    login: Callable[[str], Any],
    world: World,
    settings: Any,
    upload_files: list[UploadFile],
) -> None:
    # Given a resident and a PNG
    resident: Client = await login("resident_a1")
    png = make_png()

    # When they upload it
    result = await upload_as(resident, png, "../../家门口.png")

    # Then the file is described, the bytes are on disk by hash, the row is theirs
    sha256 = hashlib.sha256(png).hexdigest()
    assert result["errors"] == []
    stored = result["file"]
    assert stored["sha256"] == sha256
    assert stored["size"] == len(png)
    assert stored["mediaType"] == PNG
    assert stored["filename"] == "家门口.png"
    assert path_of(settings.data_dir, sha256).read_bytes() == png

    row = await StoredFile.get(sha256=sha256)
    assert row.uploaded_by_id == world.people["resident_a1"].id
    assert row.unit_path == world.units["A1"].path
    record = await AuditRecord.get(action="FILE_UPLOAD")
    assert record.outcome == Outcome.OK
    assert record.subject_ids == [row.id]
    assert_all_closed(upload_files)


async def test_the_same_bytes_uploaded_twice_are_stored_once(
    login: Callable[[str], Any], settings: Any
) -> None:
    # Given the same PNG, uploaded by two people
    png = make_png(seed=b"twice")
    first = await upload_as(await login("resident_a1"), png, "a.png")
    second = await upload_as(await login("cadre_a1"), png, "b.png")

    # Then each upload has its own row, and the bytes are on disk once
    assert first["file"]["id"] != second["file"]["id"]
    assert first["file"]["sha256"] == second["file"]["sha256"]
    assert await StoredFile.all().count() == 2
    assert stored_paths(settings.data_dir) == [
        path_of(settings.data_dir, first["file"]["sha256"])
    ]


@pytest.mark.parametrize(
    ("content", "filename", "declared", "stored_as"),
    [
        (XLSX_BYTES, "台账.xlsx", XLSX, XLSX),
        (CSV_BYTES, "名单.csv", "text/csv", CSV),
        (CSV_BYTES, "名单.csv", "application/vnd.ms-excel", CSV),
        (PDF_BYTES, "通知.pdf", "application/octet-stream", PDF),
    ],
    ids=["xlsx", "csv", "csv-from-windows", "pdf-undeclared"],
)
async def test_other_accepted_kinds_are_stored_as_their_content_shows(
    login: Callable[[str], Any],
    content: bytes,
    filename: str,
    declared: str,
    stored_as: str,
) -> None:
    cadre: Client = await login("cadre_a1")
    result = await upload_as(cadre, content, filename, content_type=declared)
    assert result["errors"] == []
    assert result["file"]["mediaType"] == stored_as


async def test_a_large_upload_spooled_to_disk_is_stored_and_closed(
    login: Callable[[str], Any], settings: Any, upload_files: list[UploadFile]
) -> None:
    # Given a PNG too large for Starlette to keep in memory
    png = make_png(ON_DISK)

    # When it is uploaded
    result = await upload_as(await login("cadre_a1"), png, "scan.png")

    # Then it is stored whole, and the spooled file is closed
    assert result["file"]["size"] == ON_DISK
    sha256 = hashlib.sha256(png).hexdigest()
    assert path_of(settings.data_dir, sha256).stat().st_size == ON_DISK
    assert_all_closed(upload_files)


# -- refusing ---------------------------------------------------------------------


async def assert_nothing_stored(data_dir: Path) -> None:
    assert await StoredFile.all().count() == 0
    assert stored_paths(data_dir) == []


async def test_a_renamed_exe_is_refused_and_nothing_is_stored(
    login: Callable[[str], Any], settings: Any, upload_files: list[UploadFile]
) -> None:
    # Given a Windows program renamed to look like a photo
    resident: Client = await login("resident_a1")

    # When it is uploaded as image/png
    result = await upload_as(resident, EXE, "photo.png", content_type="image/png")

    # Then it is refused as data, nothing is stored, and the refusal is audited
    assert result["file"] is None
    assert [e["code"] for e in result["errors"]] == ["MEDIA_TYPE_NOT_ALLOWED"]
    assert result["errors"][0]["field"] == "file"
    await assert_nothing_stored(settings.data_dir)
    record = await AuditRecord.get(action="FILE_UPLOAD")
    assert record.outcome == Outcome.FAILED
    assert record.detail["codes"] == ["MEDIA_TYPE_NOT_ALLOWED"]
    assert_all_closed(upload_files)


@pytest.mark.parametrize(
    ("content", "declared", "code"),
    [
        (PDF_BYTES, "image/png", "MEDIA_TYPE_MISMATCH"),
        (make_png(), "application/pdf", "MEDIA_TYPE_MISMATCH"),
        (DOCX_BYTES, "application/zip", "MEDIA_TYPE_NOT_ALLOWED"),
        (b"plain words\n", "text/plain", "MEDIA_TYPE_NOT_ALLOWED"),
        (b"", "image/png", "FILE_EMPTY"),
    ],
    ids=["pdf-as-png", "png-as-pdf", "docx", "text-plain", "empty"],
)
async def test_a_refused_upload_stores_nothing(
    login: Callable[[str], Any],
    settings: Any,
    content: bytes,
    declared: str,
    code: str,
) -> None:
    cadre: Client = await login("cadre_a1")
    result = await upload_as(cadre, content, "f.bin", content_type=declared)
    assert result["file"] is None
    assert [e["code"] for e in result["errors"]] == [code]
    await assert_nothing_stored(settings.data_dir)


async def test_an_anonymous_upload_is_unauthenticated(
    http: httpx.AsyncClient,
    world: World,
    settings: Any,
    upload_files: list[UploadFile],
) -> None:
    response = await upload(http, make_png())

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await assert_nothing_stored(settings.data_dir)
    assert_all_closed(upload_files)


async def test_an_upload_without_the_preflight_header_is_refused(
    login: Callable[[str], Any], settings: Any
) -> None:
    # A multipart POST is a "simple" request a foreign page may send without CORS.
    cadre: Client = await login("cadre_a1")

    response = await upload(cadre.http, make_png(), token=cadre.token, preflight=False)

    assert response.status_code == 400
    assert "Apollo-Require-Preflight" in response.json()["errors"][0]["message"]
    await assert_nothing_stored(settings.data_dir)


LIMIT = 4096


class TestSizeLimit:
    """With ``YUNSHANG_UPLOAD_MAX_BYTES`` = 4 KiB.

    The app refuses an over-size request before execution (413): by its
    Content-Length when that is far over, by the parsed part's size otherwise.
    ``FILE_TOO_LARGE`` in the payload is the resolver's own check, for a file
    whose size the web layer did not know.
    """

    @pytest.fixture
    def small_limit(self, monkeypatch: pytest.MonkeyPatch) -> int:
        monkeypatch.setenv("YUNSHANG_UPLOAD_MAX_BYTES", str(LIMIT))
        return LIMIT

    @pytest.fixture
    def settings(self, small_limit: int, settings: Any) -> Any:
        # ``small_limit`` comes first, so the environment is set before loading.
        assert settings.upload_max_bytes == small_limit
        return settings

    async def test_a_file_of_exactly_the_limit_is_accepted(
        self, login: Callable[[str], Any]
    ) -> None:
        result = await upload_as(await login("cadre_a1"), make_png(LIMIT))
        assert result["errors"] == []
        assert result["file"]["size"] == LIMIT

    @pytest.mark.parametrize(
        "size",
        [LIMIT + 1, LIMIT + 200 * 1024],
        ids=["one-byte-over:part-size", "far-over:content-length"],
    )
    async def test_an_over_size_upload_is_refused_with_413(
        self,
        login: Callable[[str], Any],
        settings: Any,
        size: int,
        upload_files: list[UploadFile],
    ) -> None:
        cadre: Client = await login("cadre_a1")

        response = await upload(cadre.http, make_png(size), token=cadre.token)

        assert response.status_code == 413
        assert response.json()["errors"][0]["message"] == "The upload is too large."
        await assert_nothing_stored(settings.data_dir)
        # Refused by its Content-Length, the body is never parsed.
        parsed = size <= LIMIT + 64 * 1024
        assert bool(upload_files) is parsed
        if parsed:
            # Regression: a part refused after parsing left the form open.
            assert_all_closed(upload_files)

    async def test_a_file_of_unknown_size_over_the_limit_is_file_too_large(
        self, app: Any, world: World, settings: Any
    ) -> None:
        # Given an upload whose size nobody counted, and a resident's context
        a1 = world.units["A1"]
        context = app.state.platform.context("127.0.0.1")
        context.caller = Caller(
            person_id=world.people["resident_a1"].id,
            grants=(Grant(Role.RESIDENT, a1.id, a1.path),),
        )
        file = UploadFile(
            io.BytesIO(make_png(LIMIT + 1)),
            filename="big.png",
            headers=Headers({"content-type": "image/png"}),
        )

        # When the rules read it
        with pytest.raises(Invalid) as refused:
            await upload_file(context, file)

        # Then it is too large, closed, and nothing is stored
        assert [e.code for e in refused.value.errors] == ["FILE_TOO_LARGE"]
        assert file.file.closed
        await assert_nothing_stored(settings.data_dir)


# -- who sees a file --------------------------------------------------------------


async def test_a_residents_file_is_seen_by_them_and_their_cadre_only(
    login: Callable[[str], Any], world: World
) -> None:
    # Given a file uploaded by a resident of A1 (filed under A1, their first grant)
    owner: Client = await login("resident_a1")
    uploaded = (await upload_as(owner, make_png(), "门牌.png"))["file"]
    row = await StoredFile.get(sha256=uploaded["sha256"])
    assert row.unit_path == world.units["A1"].path
    file_id = uploaded["id"]

    async def sees(key: str) -> tuple[bool, bool]:
        client: Client = await login(key)
        by_type = await client.query(STORED_FILE, {"id": file_id})
        by_node = await client.query(NODE, {"id": file_id})
        assert "errors" not in by_type
        assert "errors" not in by_node
        found = by_type["data"]["storedFile"]
        node = by_node["data"]["node"]
        if node is not None:
            assert node == {"__typename": "StoredFile", "id": file_id, **_sha(row)}
        return found is not None, node is not None

    # Then the uploader and the staff of A1 and above see it; others do not
    assert await sees("resident_a1") == (True, True)
    assert await sees("cadre_a1") == (True, True)
    assert await sees("official_a") == (True, True)
    assert await sees("resident_b1") == (False, False)
    assert await sees("cadre_b1") == (False, False)
    assert await sees("company_staff") == (False, False)


def _sha(row: StoredFile) -> dict[str, str]:
    return {"sha256": row.sha256}


async def test_stored_file_needs_a_signed_in_caller(
    anonymous: Client, world: World
) -> None:
    from schema.base import encode_id

    body = await anonymous.query(STORED_FILE, {"id": encode_id("StoredFile", 1)})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- the rules, without HTTP ------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (make_png(), PNG),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (PDF_BYTES, PDF),
        (XLSX_BYTES, XLSX),
        (DOCX_BYTES, None),
        (b"PK\x03\x04 not really a zip", None),
        (CSV_BYTES, TEXT),
        ("\ufeff编号,名称\r\n1,甲\r\n".encode(), TEXT),
        (EXE, None),
        (b"\x00\x01\x02", None),
        (b"\xc3\x28", None),
    ],
    ids=[
        "jpeg",
        "png",
        "webp",
        "pdf",
        "xlsx",
        "docx",
        "broken-zip",
        "csv",
        "csv-with-bom",
        "exe",
        "binary",
        "bad-utf8",
    ],
)
def test_the_media_type_is_read_from_the_content(
    content: bytes, expected: str | None
) -> None:
    assert detect_media_type(content) == expected


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (None, CSV),
        ("", CSV),
        ("text/csv; charset=utf-8", CSV),
        ("TEXT/CSV", CSV),
        ("application/vnd.ms-excel", CSV),
    ],
)
def test_text_is_taken_as_csv(declared: str | None, expected: str) -> None:
    assert resolve_media_type(CSV_BYTES, declared, UPLOAD_MEDIA_TYPES) == expected


def test_text_plain_is_refused_unless_allowed() -> None:
    with pytest.raises(Invalid) as refused:
        resolve_media_type(CSV_BYTES, "text/plain", UPLOAD_MEDIA_TYPES)
    assert refused.value.errors[0].code == "MEDIA_TYPE_NOT_ALLOWED"
    allowed = UPLOAD_MEDIA_TYPES | {TEXT}
    assert resolve_media_type(CSV_BYTES, "text/plain", allowed) == TEXT


def test_an_allowed_type_can_be_narrowed() -> None:
    with pytest.raises(Invalid) as refused:
        resolve_media_type(PDF_BYTES, PDF, frozenset({PNG}))
    assert refused.value.errors[0].code == "MEDIA_TYPE_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\张三\\身份证.jpg", "身份证.jpg"),
        ("/abs/path/", "upload"),
        ("..", "upload"),
        (".hidden", "hidden"),
        (None, "upload"),
        ("a\x00b\r\nc.pdf", "abc.pdf"),
        ('what?<>:"|*.csv', "what.csv"),
    ],
)
def test_filenames_lose_folders_and_unsafe_characters(
    given: str | None, expected: str
) -> None:
    assert safe_filename(given) == expected


def test_a_long_filename_keeps_its_extension() -> None:
    name = safe_filename("名" * 300 + ".xlsx")
    assert len(name) == 200
    assert name.endswith("名.xlsx")
    assert len(safe_filename("x" * 300)) == 200
