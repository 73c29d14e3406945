"""What the duty modules share: limits, error codes, periods."""

from __future__ import annotations

from enum import StrEnum

from models.enums import Role
from resolvers.base import UserError

TOPIC = "duty"
# A check-in may come this long before the window opens.
EARLY_MINUTES = 60
# A fix whose accuracy circle is wider than this cannot tell inside from outside.
MAX_ACCURACY_M = 80.0
OFFICIALS = frozenset({Role.OFFICIAL})


class DutyErrorCode(StrEnum):
    NOT_ON_DUTY = "NOT_ON_DUTY"
    TOO_EARLY = "TOO_EARLY"
    WINDOW_CLOSED = "WINDOW_CLOSED"
    ALREADY_CHECKED_IN = "ALREADY_CHECKED_IN"
    NO_CHECK_IN_POINT = "NO_CHECK_IN_POINT"
    OUTSIDE_FENCE = "OUTSIDE_FENCE"
    ACCURACY_TOO_POOR = "ACCURACY_TOO_POOR"
    NOT_A_COMMUNITY = "NOT_A_COMMUNITY"
    PERSON_NOT_CADRE = "PERSON_NOT_CADRE"
    WINDOW_INVALID = "WINDOW_INVALID"
    WEEKDAYS_INVALID = "WEEKDAYS_INVALID"
    PERIOD_INVALID = "PERIOD_INVALID"
    NAME_REQUIRED = "NAME_REQUIRED"
    RADIUS_INVALID = "RADIUS_INVALID"
    RULE_ENDED = "RULE_ENDED"
    POINT_UNKNOWN = "POINT_UNKNOWN"


class Period(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


def _error(field: str, message: str, code: DutyErrorCode) -> UserError:
    return UserError(field, message, code.value)
