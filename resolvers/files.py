"""Files stored by content hash, behind an interface a later store can implement."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

__all__ = ["FileStore", "LocalFileStore"]


class FileStore(Protocol):
    async def put(self, content: bytes) -> str:
        """Store ``content`` once; returns its SHA-256 in hex."""

    async def get(self, sha256: str) -> bytes | None: ...


class LocalFileStore:
    """A directory of files named by their hash, two levels of fan-out."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self._path(sha256)
        if path.exists():
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside, then rename: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
        return sha256

    async def get(self, sha256: str) -> bytes | None:
        path = self._path(sha256)
        return path.read_bytes() if path.exists() else None
