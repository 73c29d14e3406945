"""Scheduled work on service requests: overdue warnings and escalation."""

from __future__ import annotations

from models import ServiceRequest
from resolvers.base import Work

__all__ = ["cure_overdue"]


async def cure_overdue(work: Work, request: ServiceRequest) -> None:
    """The request moved on: its open overdue warnings are resolved."""
    # TODO: resolve REQUEST_OVERDUE warnings once resolvers.warnings is on main.
    return
