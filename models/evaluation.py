"""Estate evaluation (小区测评): questionnaires, rounds, ratings, frozen scores."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import EvaluationTarget, RaterGroup, RoundStatus, ScoreStatus
from models.org import Estate, OrgUnit
from models.person import Person

__all__ = ["EvaluationRound", "EvaluationScore", "Question", "Questionnaire", "Rating"]


class Questionnaire(Model):
    # What a district asks, and how it blends the rater groups into a score:
    # ``weights`` is {target: {group: percent}}, each target's percents summing
    # to 100.

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="questionnaires", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    name = fields.CharField(max_length=100)
    weights: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    min_owner_ratings = fields.SmallIntField(default=5)
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    unit_id: int

    class Meta:
        table = "questionnaire"


class Question(Model):
    id = fields.IntField(primary_key=True)
    questionnaire: fields.ForeignKeyRelation[Questionnaire] = fields.ForeignKeyField(
        "models.Questionnaire", related_name="questions", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    target = fields.CharEnumField(EvaluationTarget, max_length=20)
    position = fields.SmallIntField()
    text = fields.CharField(max_length=200)
    weight = fields.SmallIntField(default=1)

    questionnaire_id: int

    class Meta:
        table = "question"


class EvaluationRound(Model):
    # One estate's evaluation over one period; the questionnaire's weights and
    # minimum are copied in when it opens, so later edits never move its scores.

    id = fields.IntField(primary_key=True)
    estate: fields.ForeignKeyRelation[Estate] = fields.ForeignKeyField(
        "models.Estate", related_name="evaluation_rounds", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255, db_index=True)
    questionnaire: fields.ForeignKeyRelation[Questionnaire] = fields.ForeignKeyField(
        "models.Questionnaire", related_name="rounds", on_delete=fields.RESTRICT
    )
    period = fields.CharField(max_length=16, db_index=True)
    starts_on = fields.DateField()
    ends_on = fields.DateField()
    status = fields.CharEnumField(RoundStatus, max_length=8, default=RoundStatus.OPEN)
    weights: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    min_owner_ratings = fields.SmallIntField()
    opened_by_id = fields.IntField(null=True)
    closed_at = fields.DatetimeField(null=True)
    closed_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    estate_id: int
    questionnaire_id: int

    class Meta:
        table = "evaluation_round"
        unique_together = (("estate", "period"),)


class Rating(Model):
    # One rater's rating of one target in one round. ``rater_key`` makes it one
    # per property for owners (co-owners share it) and one per person otherwise.

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[EvaluationRound] = fields.ForeignKeyField(
        "models.EvaluationRound", related_name="ratings", on_delete=fields.RESTRICT
    )
    unit_path = fields.CharField(max_length=255)
    target = fields.CharEnumField(EvaluationTarget, max_length=20)
    group = fields.CharEnumField(RaterGroup, max_length=20)
    rater_key = fields.CharField(max_length=80)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="ratings", on_delete=fields.RESTRICT
    )
    # {question id: 1..5}
    answers: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    score = fields.FloatField()
    comment = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    round_id: int
    person_id: int

    class Meta:
        table = "rating"
        unique_together = (("round", "target", "group", "rater_key"),)


class EvaluationScore(Model):
    # A target's score of a closed round, as it stood when the round closed.

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[EvaluationRound] = fields.ForeignKeyField(
        "models.EvaluationRound", related_name="scores", on_delete=fields.RESTRICT
    )
    estate_id = fields.IntField(db_index=True)
    unit_path = fields.CharField(max_length=255, db_index=True)
    target = fields.CharEnumField(EvaluationTarget, max_length=20)
    status = fields.CharEnumField(ScoreStatus, max_length=20)
    score = fields.FloatField(null=True)
    groups: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    computed_at = fields.DatetimeField()

    round_id: int

    class Meta:
        table = "evaluation_score"
        unique_together = (("round", "target"),)
