"""Uploaded files: the `fileUpload` mutation and the `StoredFile` type.

Uploads follow the GraphQL multipart request spec; the app accepts them only
with a header that forces a CORS preflight, and refuses an over-size request
before execution. Rows are scoped by ``permissions.scope``: staff see the files
of their subtree, everyone their own uploads.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.file_uploads import Upload

from models import StoredFile as StoredFileModel
from permissions.rules import SIGNED_IN, VISIBLE
from resolvers import download
from resolvers import file as file_rules
from resolvers.base import Invalid
from resolvers.loaders import by_id
from schema.base import (
    AppInfo,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    failed,
    field,
    one,
    payload,
    structural,
)
from schema.node import register_node

__all__ = ["FileMutation", "FileQuery", "FileUploadPayload", "StoredFile"]


@strawberry.type(description="An uploaded file; its bytes are kept once per hash.")
class StoredFile(Node):
    sha256: str = field(VISIBLE, "The SHA-256 of the content, in hex.")
    size: int = field(VISIBLE, "The size in bytes.")
    media_type: str = field(VISIBLE, "The media type, as found in the content.")
    filename: str = field(VISIBLE, "The name it was uploaded with, without folders.")
    created_at: datetime = field(VISIBLE, "When it was uploaded.")

    @field(
        VISIBLE,
        "A signed path on this server that downloads the file without an "
        "`Authorization` header (for `<img src>`), for the configured minutes "
        "(`YUNSHANG_FILE_URL_MINUTES`). `GET /files/{id}` with the header works too.",
    )
    def url(self, info: AppInfo) -> str:
        return download.signed_path(info.context, as_row(self)["id"])


register_node("StoredFile", StoredFileModel)


@strawberry.type
class FileQuery:
    @field(SIGNED_IN, "An uploaded file by id, if the caller may see it.")
    async def stored_file(self, info: AppInfo, id: strawberry.ID) -> StoredFile | None:
        _, pk = decode_id(id, "StoredFile")
        return one(StoredFile, await by_id(info.context, StoredFileModel).load(pk))


@structural
@strawberry.type(description="The result of `fileUpload`.")
class FileUploadPayload:
    errors: list[UserErrorType]
    file: StoredFile | None


@strawberry.type
class FileMutation:
    @field(
        SIGNED_IN,
        "Upload one file (a multipart request). JPEG, PNG, WebP, PDF, XLSX and CSV "
        "are accepted by default, up to the configured size; the type is read from "
        "the content and must agree with the declared one.",
    )
    async def file_upload(self, info: AppInfo, file: Upload) -> FileUploadPayload:
        try:
            row = await file_rules.upload_file(info.context, file)
        except Invalid as invalid:
            return failed(invalid, "file")  # type: ignore[no-any-return]
        return payload(file=row)  # type: ignore[no-any-return]
