"""Tables that arrive as files: CSV (as Excel and department systems write them)
and XLSX, read row by row with the row numbers the sender sees in the sheet."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from resolvers.base import Invalid, UserError

__all__ = ["Table", "digest", "read_table"]

# Chinese Excel saves CSV as GB18030 (GBK); department exports are often UTF-8
# with a byte-order mark. Tried in this order; the first that decodes wins.
_ENCODINGS = ("utf-8-sig", "gb18030")
_XLSX_MAGIC = b"PK\x03\x04"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unreadable(message: str, code: str = "FILE_UNREADABLE") -> Invalid:
    return Invalid([UserError("file", message, code)])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel keeps long digit strings typed as numbers as floats.
        return str(int(value))
    return str(value).strip()


@dataclass
class Table:
    """A header row and the rows below it, as ``(row number, {header: text})``."""

    headers: list[str]
    total: int
    _rows: Iterable[tuple[int, list[str]]]

    @property
    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        width = len(self.headers)
        for number, cells in self._rows:
            cells = (cells + [""] * width)[:width]
            if any(cells):
                yield number, dict(zip(self.headers, cells, strict=True))

    def require(self, columns: Iterable[str]) -> None:
        """Refuse the whole file when a needed column is missing, naming them all."""
        missing = [c for c in columns if c not in self.headers]
        if missing:
            raise _unreadable(f"缺少列：{'、'.join(missing)}。", "MISSING_COLUMNS")


def _csv_table(data: bytes) -> Table:
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _unreadable("文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV。")

    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    lines = list(csv.reader(io.StringIO(text), dialect))
    return _table([(i, [c.strip() for c in row]) for i, row in enumerate(lines, 1)])


def _xlsx_table(data: bytes) -> Table:
    # openpyxl is loaded by the first workbook read, not by every worker at start
    # (about 15 MiB of resident memory that most workers never use).
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise _unreadable("无法读取此 Excel 文件，请确认是 .xlsx 格式。") from error
    try:
        sheet = workbook.worksheets[0]
        lines = [
            (i, [_text(v) for v in row])
            for i, row in enumerate(sheet.iter_rows(values_only=True), 1)
        ]
    finally:
        workbook.close()
    return _table(lines)


def _table(lines: list[tuple[int, list[str]]]) -> Table:
    for position, (_, cells) in enumerate(lines):
        if any(cells):
            headers = [c.strip() for c in cells]
            while headers and not headers[-1]:
                headers.pop()
            body = lines[position + 1 :]
            total = sum(1 for _, row in body if any(row))
            return Table(headers, total, body)
    raise _unreadable("文件中没有表头行。", "NO_HEADER")


def read_table(data: bytes, filename: str) -> Table:
    """The table in ``data``: XLSX by its zip signature, otherwise CSV."""
    if not data:
        raise _unreadable("文件是空的。")
    if data.startswith(_XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        return _xlsx_table(data)
    return _csv_table(data)
