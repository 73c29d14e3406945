"""Messages to people (one-time codes, reminders): a pluggable sender.

The default only logs that a message went out, never its text, so the demo needs no
outside service; an SMS or messaging-app sender implements the same protocol.
"""

from __future__ import annotations

import logging
from typing import Protocol

__all__ = ["LogSender", "Sender"]

logger = logging.getLogger(__name__)


class Sender(Protocol):
    async def send(self, phone: str, purpose: str, text: str) -> None: ...


class LogSender:
    """Keeps the last message per phone in memory so a developer can read it."""

    def __init__(self) -> None:
        self.outbox: dict[str, str] = {}

    async def send(self, phone: str, purpose: str, text: str) -> None:
        self.outbox[phone] = text
        logger.info("message sent", extra={"purpose": purpose})
