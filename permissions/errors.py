"""Denials and faults that reach the caller as top-level errors with a stable code.

What a user can fix is not here: that travels as payload data (``UserError``).
"""

from __future__ import annotations

__all__ = [
    "CodedError",
    "Forbidden",
    "NotFound",
    "TooManyRequests",
    "Unauthenticated",
]


class CodedError(Exception):
    """An error whose message is safe to show and whose code clients can test."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Unauthenticated(CodedError):
    code = "UNAUTHENTICATED"


class Forbidden(CodedError):
    code = "FORBIDDEN"


class NotFound(CodedError):
    code = "NOT_FOUND"


class TooManyRequests(CodedError):
    code = "TOO_MANY_REQUESTS"
