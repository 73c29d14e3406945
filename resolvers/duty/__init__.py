"""Duty attendance (坐值班考勤): rules, check-ins by location, late and missed duty.

Modules: ``common``, ``calendar``, ``check_in``, ``rules`` (rules and points),
``statistics``, ``today`` (a cadre's duty of the day); this module re-exports
what the schema uses.

A community's rules say who is on duty on which days (the official working days,
or chosen weekdays) and in which window of local time; its check-in points are
circles. A cadre's check-in is taken when it falls in the window of one of their
rules for today, within a point's radius, with an accuracy good enough to tell;
otherwise it is refused with the distance and the reason, and nothing is kept.

Late and missed duty are derived, never stored as events: a duty day of a rule
whose window has closed without a check-in is missed; a check-in more than the
rule's grace after the window opened is late.

Working days: an explicit ``WorkCalendarDay`` wins; else the ``chinese_calendar``
package (statutory holidays and make-up working days); for a year that package
does not know yet, Monday to Friday, until the year's days are entered.
"""

from __future__ import annotations

from resolvers.duty.calendar import (
    duty_days,
    is_working_day,
    minute_of,
    period_range,
    set_calendar_day,
    time_of,
)
from resolvers.duty.check_in import (
    CheckInRefused,
    Location,
    check_in,
)
from resolvers.duty.common import (
    EARLY_MINUTES,
    MAX_ACCURACY_M,
    DutyErrorCode,
    Period,
)
from resolvers.duty.rules import (
    RuleChange,
    RuleDraft,
    create_point,
    create_rule,
    end_rule,
    update_point,
    update_rule,
)
from resolvers.duty.statistics import (
    Statistics,
    Tally,
    duty_statistics,
)
from resolvers.duty.today import (
    DutyState,
    DutyToday,
    duty_today,
    state_of,
)

__all__ = [
    "EARLY_MINUTES",
    "MAX_ACCURACY_M",
    "CheckInRefused",
    "DutyErrorCode",
    "DutyState",
    "DutyToday",
    "Location",
    "Period",
    "RuleChange",
    "RuleDraft",
    "Statistics",
    "Tally",
    "check_in",
    "create_point",
    "create_rule",
    "duty_days",
    "duty_statistics",
    "duty_today",
    "end_rule",
    "is_working_day",
    "minute_of",
    "period_range",
    "set_calendar_day",
    "state_of",
    "time_of",
    "update_point",
    "update_rule",
]
