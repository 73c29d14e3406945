"""Days on duty, late and missed, derived from the rules and the check-ins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from models import (
    DutyCheckIn,
    DutyRule,
    OrgUnit,
)
from permissions.errors import NotFound
from permissions.scope import visible
from resolvers.context import Context
from resolvers.duty.calendar import (
    _local_moment,
    calendar_between,
    duty_days,
    period_range,
)
from resolvers.duty.common import (
    Period,
)

# -- statistics ------------------------------------------------------------------------


@dataclass
class Tally:
    person_id: int | None
    unit_id: int | None
    scheduled: int = 0
    attended: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    minutes_late: int = 0
    days: list[date] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.scheduled += other.scheduled
        self.attended += other.attended
        self.late += other.late
        self.missed += other.missed
        self.pending += other.pending
        self.minutes_late += other.minutes_late
        # A day two people missed is one day missed.
        self.days = sorted(set(self.days) | set(other.days))

    @property
    def attendance_rate(self) -> float | None:
        return round(self.attended / self.scheduled, 4) if self.scheduled else None


@dataclass
class Statistics:
    first: date
    last: date
    totals: Tally
    people: list[Tally]


async def duty_statistics(
    context: Context,
    period: Period,
    day: date,
    unit_id: int | None = None,
    person_id: int | None = None,
) -> Statistics:
    """Days on duty, late, missed and the attendance rate per person, over the
    period holding ``day``, from the rules and check-ins the caller may see."""
    first, last = period_range(period, day)
    rules = visible(DutyRule, context.caller).filter(valid_from__lte=last)
    if unit_id is not None:
        unit = await visible(OrgUnit, context.caller).get_or_none(id=unit_id)
        if unit is None:
            raise NotFound("No OrgUnit has this id.")
        rules = rules.filter(unit_path__startswith=unit.path)
    if person_id is not None:
        rules = rules.filter(person_id=person_id)
    found = await rules.order_by("id").values(
        "id",
        "person_id",
        "unit_id",
        "valid_from",
        "valid_until",
        "working_days",
        "weekdays",
        "ends_minute",
    )
    found = [r for r in found if r["valid_until"] is None or r["valid_until"] >= first]
    check_ins = (
        await visible(DutyCheckIn, context.caller)
        .filter(rule_id__in=[r["id"] for r in found], day__gte=first, day__lte=last)
        .values("rule_id", "day", "minutes_late")
        if found
        else []
    )
    explicit = await calendar_between(first, last)
    taken = {(c["rule_id"], c["day"]): c["minutes_late"] for c in check_ins}
    now = context.clock()

    people: dict[tuple[int, int], Tally] = {}
    for rule in found:
        tally = people.setdefault(
            (rule["person_id"], rule["unit_id"]),
            Tally(rule["person_id"], rule["unit_id"]),
        )
        for duty_day in duty_days(rule, first, last, explicit):
            late = taken.get((rule["id"], duty_day))
            closed = _local_moment(duty_day, rule["ends_minute"]) < now
            if late is None and not closed:
                tally.pending += 1
                continue
            tally.scheduled += 1
            if late is None:
                tally.missed += 1
                tally.days.append(duty_day)
                continue
            tally.attended += 1
            if late > 0:
                tally.late += 1
                tally.minutes_late += late
    totals = Tally(None, unit_id)
    for tally in people.values():
        tally.days.sort()
        totals.add(tally)
    ordered = [people[key] for key in sorted(people)]
    return Statistics(first, last, totals, ordered)
