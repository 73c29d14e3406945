"""Duty attendance (坐值班考勤): rules, check-in points, check-ins, calendar days.

Coordinates are stored as WGS-84. Times of day and days are China Standard Time;
``at`` columns are UTC.
"""

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.models import Model

from models.org import OrgUnit
from models.person import Person

__all__ = ["CheckInPoint", "DutyCheckIn", "DutyRule", "WorkCalendarDay"]


class DutyRule(Model):
    # ``person`` is on duty at the community ``unit`` on the official working days
    # (``working_days``) or on ``weekdays`` (1 = Monday), from ``starts_minute``
    # to ``ends_minute`` (minutes after midnight, China time), between
    # ``valid_from`` and ``valid_until``; a check-in more than ``grace_minutes``
    # after the start is late. A check-in may use the community's active points
    # whose ids are in ``point_ids``; all of them when it is empty.

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="duty_rules", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="duty_rules", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100, default="")
    working_days = fields.BooleanField(default=True)
    weekdays: fields.JSONField[list[int]] = fields.JSONField(default=list)
    starts_minute = fields.SmallIntField()
    ends_minute = fields.SmallIntField()
    grace_minutes = fields.SmallIntField(default=0)
    # The SQL default fills the rules that were there before the column.
    point_ids: fields.JSONField[list[int]] = fields.JSONField(
        default=list, db_default=SqlDefault("'[]'")
    )
    valid_from = fields.DateField()
    valid_until = fields.DateField(null=True)
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    unit_id: int
    person_id: int

    class Meta:
        table = "duty_rule"


class CheckInPoint(Model):
    # A place a community's duty check-ins must be made within ``radius_m`` of.

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="check_in_points", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    name = fields.CharField(max_length=100)
    latitude = fields.FloatField()
    longitude = fields.FloatField()
    radius_m = fields.FloatField()
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    unit_id: int

    class Meta:
        table = "check_in_point"


class DutyCheckIn(Model):
    # A check-in accepted for one duty day of one rule (at most one per pair).

    id = fields.IntField(primary_key=True)
    rule: fields.ForeignKeyRelation[DutyRule] = fields.ForeignKeyField(
        "models.DutyRule", related_name="check_ins", on_delete=fields.RESTRICT
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="duty_check_ins", on_delete=fields.RESTRICT
    )
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="duty_check_ins", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    point: fields.ForeignKeyRelation[CheckInPoint] = fields.ForeignKeyField(
        "models.CheckInPoint", related_name="check_ins", on_delete=fields.RESTRICT
    )
    day = fields.DateField(db_index=True)
    at = fields.DatetimeField()
    latitude = fields.FloatField()
    longitude = fields.FloatField()
    accuracy_m = fields.FloatField()
    distance_m = fields.FloatField()
    minutes_late = fields.IntField(default=0)

    rule_id: int
    person_id: int
    unit_id: int
    point_id: int

    class Meta:
        table = "duty_check_in"
        unique_together = (("rule", "day"),)


class WorkCalendarDay(Model):
    # An explicit entry of the official calendar: a statutory holiday
    # (``is_working`` false) or a weekend day worked in exchange (调休). Wins over
    # the ``chinese_calendar`` package, whose data ends with the year it knows.

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    is_working = fields.BooleanField()
    note = fields.CharField(max_length=50, default="")

    class Meta:
        table = "work_calendar_day"
