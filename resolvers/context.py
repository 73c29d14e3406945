"""What a resolver needs from outside, handed in by the app: caller, bus, clock, ...

The object lives for one HTTP request, or for one websocket connection; per-request
state (loaders, settled rule decisions, reveals to audit) is reset per operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from permissions.caller import ANONYMOUS, Caller
from resolvers.events import EventBus

if TYPE_CHECKING:
    from resolvers.files import FileStore
    from resolvers.identity import AuthConfig
    from resolvers.notify import Sender

__all__ = [
    "DEVELOPMENT_FILE_URL_KEY",
    "DEVELOPMENT_ID_KEY",
    "FILE_URL_TTL",
    "Clock",
    "Context",
    "utcnow",
]

Clock = Callable[[], datetime]
# The ID-number fingerprint key of tests and tools; the app sets its own.
DEVELOPMENT_ID_KEY = b"yunshang development id-number key, never in production"
# The key of signed download URLs in tests and tools; the app derives its own.
DEVELOPMENT_FILE_URL_KEY = b"yunshang development file-url key, never in production"
# How long a signed download URL works, in seconds, unless the app says otherwise.
FILE_URL_TTL = 600
# What uploads may be when the app says nothing else (api.settings has the same).
UPLOAD_MEDIA_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    bus: EventBus
    auth: AuthConfig
    store: FileStore
    sender: Sender
    caller: Caller = ANONYMOUS
    clock: Clock = utcnow
    # Upload limits (the app sets them from its settings).
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_media_types: frozenset[str] = UPLOAD_MEDIA_TYPES
    # Keys ID-number fingerprints (resolvers.idnumber.id_fingerprint).
    id_key: bytes = DEVELOPMENT_ID_KEY
    # Signs download URLs (resolvers.download), and how long they work (seconds).
    file_url_key: bytes = DEVELOPMENT_FILE_URL_KEY
    file_url_ttl: int = FILE_URL_TTL
    # On a websocket: closes the connection (code, reason), e.g. when a token ends.
    close_connection: Callable[[int, str], Awaitable[None]] | None = None
    # On a websocket: the payload of connection_init (strawberry sets it there).
    connection_params: dict[str, Any] | None = None
    # Settled per operation: rule decisions, loaders, sensitive values revealed.
    decisions: dict[int, int] = field(default_factory=dict)
    loaders: dict[Any, Any] = field(default_factory=dict)
    reveals: dict[tuple[str, str], set[Any]] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget what one operation settled; a websocket context serves many."""
        self.decisions.clear()
        self.loaders.clear()
        self.reveals.clear()
