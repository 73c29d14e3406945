"""Events: what changed and where in the hierarchy, published after the commit.

The bus carries them between workers (``api.events`` has the in-process and the
Redis backends). An event is a notice that something changed; the database stays
the truth, and a subscriber that missed one re-reads what it shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

__all__ = ["Event", "EventBus", "Subscription"]


@dataclass(frozen=True, slots=True)
class Event:
    """``topic`` groups events into channels (``org``, ``task``, ...); ``kind`` names
    the change (``PERSON_CREATED``); ``unit_path`` places it in the hierarchy."""

    topic: str
    kind: str
    unit_path: str
    subject_type: str
    subject_id: int
    actor_id: int | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def decode(cls, raw: bytes | str) -> Event:
        values = orjson.loads(raw)
        values["at"] = datetime.fromisoformat(values["at"])
        return cls(**values)

    def is_under(self, path: str) -> bool:
        return self.unit_path.startswith(path)


class Subscription(Protocol):
    """A bounded stream of the events of one topic under one or more paths."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber of its topic, in every worker."""

    def subscribe(self, topic: str, paths: tuple[str, ...]) -> Subscription:
        """Events of ``topic`` whose unit path lies under any of ``paths``.

        ``("/",)`` means everywhere. The subscription holds a bounded queue: a
        subscriber that falls behind loses the oldest events, never blocks others.
        """

    async def ping(self) -> bool:
        """Whether the bus can deliver now (for ``/readyz``)."""
