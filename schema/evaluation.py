"""Estate evaluation in the schema: questionnaires, rounds, ratings, scores, the
ranking of estates, and the estate change stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from models import Estate as EstateModel
from models import EvaluationRound as EvaluationRoundModel
from models import OrgUnit as OrgUnitModel
from models import Question as QuestionModel
from models import Questionnaire as QuestionnaireModel
from models import Rating as RatingModel
from models.enums import (
    EvaluationTarget,
    RaterGroup,
    Role,
    RoundStatus,
    ScoreStatus,
)
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.rules import SIGNED_IN, STAFF, VISIBLE, Decision, HasRole, Rule
from permissions.scope import visible
from resolvers import evaluation as rules
from resolvers.base import Invalid
from resolvers.coordination import party_duties
from resolvers.estates import local_today
from resolvers.live import changes_under
from resolvers.loaders import by_id, columns, expose
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    encode_id,
    failed,
    field,
    one,
    payload,
    rows,
    structural,
)
from schema.coordination import PartyDuties
from schema.node import register_node
from schema.org import Estate, OrgChange, OrgUnit
from schema.relations import related

__all__ = ["EvaluationMutation", "EvaluationQuery", "EvaluationSubscription"]

EvaluationTargetType = strawberry.enum(
    EvaluationTarget, description="What an estate evaluation rates."
)
RaterGroupType = strawberry.enum(
    RaterGroup, description="Whose ratings are blended into a score, as which role."
)
RoundStatusType = strawberry.enum(
    RoundStatus, description="An open round takes ratings; a closed one is frozen."
)
ScoreStatusType = strawberry.enum(
    ScoreStatus, description="A score, or too few owner ratings to give one."
)
STAFF_ROLES = frozenset({Role.ADMIN, Role.OFFICIAL, Role.CADRE})
OFFICIALS = HasRole(Role.ADMIN, Role.OFFICIAL)


class _ScoreReaders(Rule):
    """Staff over the estate, and the party whose own score it is.

    The resolver checks the party precisely (the company managing the estate
    today, the estate's own committee); this rule refuses everyone else.
    """

    def __init__(self, party: Role, name: str) -> None:
        self.party = party
        self.name = name

    def decide(self, caller: Caller) -> Decision:
        if caller.is_admin:
            return Decision.ALLOW
        if caller.roles & (STAFF_ROLES | {self.party}):
            return Decision.ROW
        return Decision.DENY

    def allows(self, caller: Caller, row: Mapping[str, Any]) -> bool:
        if caller.covers(row.get("unit_path")):
            return True
        return self.party in caller.roles and row.get("estate_id") in caller.estate_ids

    def describe(self) -> str:
        staff = "ADMIN, CADRE, OFFICIAL whose jurisdiction contains the estate"
        return f"{staff}; {self.name}"


PROPERTY_SERVICE_READERS = _ScoreReaders(
    Role.PROPERTY_COMPANY, "the property company managing it"
)
OWNERS_COMMITTEE_READERS = _ScoreReaders(
    Role.OWNERS_COMMITTEE, "the estate's owners' committee"
)


@structural
@strawberry.type(description="How much a rater group weighs in a target's score.")
class GroupWeight:
    target: EvaluationTargetType  # type: ignore[valid-type]
    group: RaterGroupType  # type: ignore[valid-type]
    weight: int = strawberry.field(description="In percent; a target's sum to 100.")


@strawberry.type(description="One question of a questionnaire, answered 1 to 5.")
class Question(Node):
    target: EvaluationTargetType = field(VISIBLE, "What it rates.")  # type: ignore[valid-type]
    position: int = field(VISIBLE, "Its place in the questionnaire.")
    text: str = field(VISIBLE, "The question.")
    weight: int = field(VISIBLE, "Its weight in a rating's score.")


@strawberry.type(description="What a district asks in its estate evaluations.")
class Questionnaire(Node):
    name: str = field(VISIBLE, "Its name.")
    min_owner_ratings: int = field(
        VISIBLE, "Owner ratings a score needs; fewer show as not enough ratings."
    )
    questions: list[Question] = related(
        VISIBLE,
        "Its questions, in order.",
        QuestionModel,
        key="questionnaire_id",
        order="position",
    )
    unit: OrgUnit | None = related(
        VISIBLE,
        "The district it belongs to.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )

    @field(VISIBLE, "The blend of rater groups, per target.")
    def weights(self) -> list[GroupWeight]:
        return rows(GroupWeight, _weights(as_row(self)["weights"]))


def _weights(weights: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    # In the schema's order: JSON columns on PostgreSQL keep no key order.
    return [
        {"target": target, "group": group, "weight": weights[target][group]}
        for target in EvaluationTarget
        for group in rules.GROUPS[target]
        if group in weights.get(target, {})
    ]


@structural
@strawberry.type(description="One rater group's part in a score.")
class GroupScore:
    group: RaterGroupType  # type: ignore[valid-type]
    weight: int = strawberry.field(description="Its configured weight, in percent.")
    count: int = strawberry.field(description="How many ratings it gave.")
    mean: float | None = strawberry.field(
        description="Its mean rating (20 to 100); null without ratings or a score."
    )
    share: float | None = strawberry.field(
        description="Its weight in this score, in percent, after groups without "
        "ratings dropped out; null if it had none."
    )


@structural
@strawberry.type(description="A target's score in a round, and how it was made.")
class EvaluationScore:
    target: EvaluationTargetType  # type: ignore[valid-type]
    status: ScoreStatusType  # type: ignore[valid-type]
    score: float | None = strawberry.field(
        description="0 to 100; null when there are not enough owner ratings."
    )
    owner_ratings: int = strawberry.field(description="Owner ratings given.")
    min_owner_ratings: int = strawberry.field(description="Owner ratings needed.")
    groups: list[GroupScore]

    @strawberry.field(description="The score in words: each group's mean and weight.")
    def explanation(self) -> str:
        score: rules.TargetScore = as_row(self)["__score"]
        if score.score is None:
            return (
                f"Not enough ratings: {score.owner_ratings} of the "
                f"{score.min_owner_ratings} owner ratings needed."
            )
        parts = [
            f"{g.group.value} {g.mean} × {g.share}% ({g.count} ratings)"
            for g in score.groups
            if g.share is not None
        ]
        return f"{score.score} = " + " + ".join(parts)


def _score_row(score: rules.TargetScore) -> dict[str, Any]:
    return {
        "__score": score,
        "target": score.target,
        "status": score.status,
        "score": score.score,
        "owner_ratings": score.owner_ratings,
        "min_owner_ratings": score.min_owner_ratings,
        "groups": [
            {
                "group": g.group,
                "weight": g.weight,
                "count": g.count,
                "mean": g.mean,
                "share": g.share,
            }
            for g in score.groups
        ],
    }


@structural
@strawberry.type(description="One answer of a rating.")
class Answer:
    question_id: strawberry.ID
    value: int


@strawberry.type(description="A rating: seen by its author only.")
class Rating(Node):
    target: EvaluationTargetType = field(VISIBLE, "What it rates.")  # type: ignore[valid-type]
    group: RaterGroupType = field(VISIBLE, "As whom it was given.")  # type: ignore[valid-type]
    score: float = field(VISIBLE, "Its score, 20 to 100.")
    comment: str = field(VISIBLE, "The rater's comment.")
    created_at: datetime = field(VISIBLE, "When it was given.")
    round: EvaluationRound | None = related(
        VISIBLE, "Its round.", EvaluationRoundModel, source="round_id", many=False
    )

    @field(VISIBLE, "The answers, one per question.")
    def answers(self) -> list[Answer]:
        given: dict[str, int] = as_row(self)["answers"]
        return rows(
            Answer,
            (
                {"question_id": encode_id("Question", int(q)), "value": given[q]}
                for q in sorted(given, key=int)
            ),
        )


def _score_loader(
    info: AppInfo,
) -> DataLoader[int, dict[EvaluationTarget, rules.TargetScore]]:
    """Scores of every round a response shows, in two statements."""
    context = info.context
    key = ("evaluation-scores",)
    loader = context.loaders.get(key)
    if loader is None:
        known: dict[int, Mapping[str, Any]] = {}

        async def load(
            ids: Sequence[int],
        ) -> list[dict[EvaluationTarget, rules.TargetScore]]:
            missing = [i for i in ids if i not in known]
            if missing:
                for row in await EvaluationRoundModel.filter(id__in=missing).values():
                    known[row["id"]] = row
            scores = await rules.scores_of(known[i] for i in ids)
            return [{t: scores[(i, t)] for t in EvaluationTarget} for i in ids]

        loader = DataLoader(load)
        loader.known = known  # type: ignore[attr-defined]
        context.loaders[key] = loader
    return loader


async def _score(
    info: AppInfo, source: Any, target: EvaluationTarget
) -> EvaluationScore | None:
    row = as_row(source)
    if not await rules.may_read_score(info.context, row, target):
        return None
    loader = _score_loader(info)
    if {"status", "weights", "min_owner_ratings"} <= row.keys():
        loader.known.setdefault(row["id"], row)  # type: ignore[attr-defined]
    scores = await loader.load(row["id"])
    return one(EvaluationScore, _score_row(scores[target]))


def _duties_loader(info: AppInfo) -> DataLoader[tuple[int, date, date], list[Any]]:
    context = info.context
    key = ("party-duties",)
    loader = context.loaders.get(key)
    if loader is None:

        async def load(keys: Sequence[tuple[int, date, date]]) -> list[list[Any]]:
            spans: dict[tuple[date, date], list[int]] = {}
            for estate_id, first, last in keys:
                spans.setdefault((first, last), []).append(estate_id)
            found: dict[tuple[int, date, date], list[Any]] = {}
            for (first, last), estates in spans.items():
                duties = await party_duties(context, estates, first, last)
                for estate_id, parties in duties.items():
                    found[(estate_id, first, last)] = [vars(p) for p in parties]
            return [found[k] for k in keys]

        loader = DataLoader(load)
        context.loaders[key] = loader
    return loader


@strawberry.type(description="One estate's evaluation over one period.")
class EvaluationRound(Node):
    period: str = field(VISIBLE, "The period, e.g. 2026-H1.")
    starts_on: date = field(VISIBLE, "Its first day.")
    ends_on: date = field(VISIBLE, "Its last day.")
    status: RoundStatusType = field(VISIBLE, "Open or closed.")  # type: ignore[valid-type]
    closed_at: datetime | None = field(
        VISIBLE, "When it was closed and its scores frozen."
    )
    min_owner_ratings: int = field(VISIBLE, "Owner ratings a score needs.")

    estate: Estate | None = related(
        VISIBLE, "The estate rated.", EstateModel, source="estate_id", many=False
    )
    questionnaire: Questionnaire | None = related(
        VISIBLE,
        "What it asks.",
        QuestionnaireModel,
        source="questionnaire_id",
        many=False,
    )
    my_ratings: list[Rating] = related(
        VISIBLE,
        "The caller's own ratings in this round (no one sees another's).",
        RatingModel,
        key="round_id",
    )

    @field(VISIBLE, "The blend of rater groups, as copied in when it opened.")
    def weights(self) -> list[GroupWeight]:
        return rows(GroupWeight, _weights(as_row(self)["weights"]))

    @field(PROPERTY_SERVICE_READERS, "The property service score.")
    async def property_service(self, info: AppInfo) -> EvaluationScore | None:
        return await _score(info, self, EvaluationTarget.PROPERTY_SERVICE)

    @field(OWNERS_COMMITTEE_READERS, "The owners' committee score.")
    async def owners_committee(self, info: AppInfo) -> EvaluationScore | None:
        return await _score(info, self, EvaluationTarget.OWNERS_COMMITTEE)

    @field(
        VISIBLE,
        "Three-party coordination over the round: per party, its duty items and "
        "the checks done against those due (to today while the round is open).",
    )
    async def coordination(self, info: AppInfo) -> list[PartyDuties]:
        row = as_row(self)
        last = min(row["ends_on"], local_today(info.context))
        if last < row["starts_on"]:
            last = row["starts_on"]
        found = await _duties_loader(info).load(
            (row["estate_id"], row["starts_on"], last)
        )
        return rows(PartyDuties, found)


@strawberry.type(description="An estate's place in a ranking.")
class RankedEstate:
    rank: int | None = field(VISIBLE, "1 for the best; null without a score.")
    estate: Estate | None = related(
        VISIBLE, "The estate.", EstateModel, source="estate_id", many=False
    )
    round: EvaluationRound | None = field(VISIBLE, "Its round.")
    score: EvaluationScore | None = field(VISIBLE, "Its score.")


# Columns that fields with resolvers read: rows must carry them too.
expose(QuestionnaireModel, frozenset({"weights"}))
expose(EvaluationRoundModel, frozenset({"weights"}))
expose(RatingModel, frozenset({"answers"}))

for _name, _model in (
    ("Question", QuestionModel),
    ("Questionnaire", QuestionnaireModel),
    ("EvaluationRound", EvaluationRoundModel),
    ("Rating", RatingModel),
):
    register_node(_name, _model)


async def _unit_in_reach(info: AppInfo, unit_id: strawberry.ID) -> Any:
    _, pk = decode_id(unit_id, "OrgUnit")
    unit = await visible(OrgUnitModel, info.context.caller).get_or_none(id=pk)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    caller = info.context.caller
    if not (caller.is_admin or caller.covers(unit.path)):
        raise Forbidden("This unit is outside your jurisdiction.")
    return unit


@strawberry.type
class EvaluationQuery:
    @field(SIGNED_IN, "Questionnaires configured at or above the caller's units.")
    async def questionnaires(self, info: AppInfo) -> list[Questionnaire]:
        found = (
            await visible(QuestionnaireModel, info.context.caller)
            .order_by("id")
            .values(*columns(QuestionnaireModel))
        )
        return rows(Questionnaire, found)

    @field(
        SIGNED_IN,
        "Rounds the caller may see: staff their jurisdiction's, a company or "
        "committee its estates', a verified owner their estates'.",
    )
    async def evaluation_rounds(
        self,
        info: AppInfo,
        estate_id: strawberry.ID | None = None,
        period: str | None = None,
        status: RoundStatusType | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
    ) -> Connection[EvaluationRound]:
        queryset = visible(EvaluationRoundModel, info.context.caller)
        if estate_id is not None:
            queryset = queryset.filter(estate_id=decode_id(estate_id, "Estate")[1])
        if period is not None:
            queryset = queryset.filter(period=period)
        if status is not None:
            queryset = queryset.filter(status=status)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(SIGNED_IN, "A round by id, if the caller may see it.")
    async def evaluation_round(
        self, info: AppInfo, id: strawberry.ID
    ) -> EvaluationRound | None:
        _, pk = decode_id(id, "EvaluationRound")
        return one(
            EvaluationRound, await by_id(info.context, EvaluationRoundModel).load(pk)
        )

    @field(STAFF, "Every estate under a unit of the caller's, ranked by one target.")
    async def evaluation_ranking(
        self,
        info: AppInfo,
        unit_id: strawberry.ID,
        period: str,
        target: EvaluationTargetType,  # type: ignore[valid-type]
    ) -> list[RankedEstate]:
        unit = await _unit_in_reach(info, unit_id)
        entries = await rules.ranking(info.context, unit.path, period, target)
        return rows(
            RankedEstate,
            (
                {
                    "rank": e["rank"],
                    "estate_id": e["round"]["estate_id"],
                    "round": e["round"],
                    "score": _score_row(e["score"]),
                }
                for e in entries
            ),
        )


@strawberry.input(description="A question of a new questionnaire.")
class QuestionInput:
    target: EvaluationTargetType  # type: ignore[valid-type]
    text: str
    weight: int = 1


@strawberry.input(description="A rater group's weight in a target's score.")
class GroupWeightInput:
    target: EvaluationTargetType  # type: ignore[valid-type]
    group: RaterGroupType  # type: ignore[valid-type]
    weight: int


@strawberry.input(description="A district's questionnaire.")
class QuestionnaireCreateInput:
    unit_id: strawberry.ID
    name: str
    questions: list[QuestionInput]
    weights: list[GroupWeightInput] | None = strawberry.field(
        default=None,
        description="Omitted: owners 60, the other three 15/10/15 "
        "(property service) or 10/10/20 (owners' committee).",
    )
    min_owner_ratings: int = 5


@strawberry.input(description="Open a period's rounds for every estate under a unit.")
class EvaluationRoundsOpenInput:
    unit_id: strawberry.ID
    questionnaire_id: strawberry.ID
    period: str
    starts_on: date
    ends_on: date


@strawberry.input(description="An answer to one question.")
class AnswerInput:
    question_id: strawberry.ID
    value: int


@strawberry.input(description="A rating of one target in an open round.")
class RatingSubmitInput:
    round_id: strawberry.ID
    target: EvaluationTargetType  # type: ignore[valid-type]
    group: RaterGroupType  # type: ignore[valid-type]
    answers: list[AnswerInput]
    comment: str = ""
    ownership_id: strawberry.ID | None = strawberry.field(
        default=None, description="For an owner of several properties: which one."
    )


@structural
@strawberry.type
class QuestionnairePayload:
    errors: list[UserErrorType]
    questionnaire: Questionnaire | None


@structural
@strawberry.type
class EvaluationRoundsOpenPayload:
    errors: list[UserErrorType]
    opened: int | None
    skipped: int | None = strawberry.field(description="Estates that had one already.")


@structural
@strawberry.type
class EvaluationRoundPayload:
    errors: list[UserErrorType]
    round: EvaluationRound | None


@structural
@strawberry.type
class EvaluationRoundsClosePayload:
    errors: list[UserErrorType]
    closed: int | None


@structural
@strawberry.type
class RatingPayload:
    errors: list[UserErrorType]
    rating: Rating | None


@strawberry.type
class EvaluationMutation:
    @field(OFFICIALS, "Configure a questionnaire for a district (its officials).")
    async def questionnaire_create(
        self, info: AppInfo, input: QuestionnaireCreateInput
    ) -> QuestionnairePayload:
        weights: dict[str, dict[str, int]] | None = None
        if input.weights is not None:
            given: dict[str, dict[str, int]] = {}
            for w in input.weights:
                given.setdefault(EvaluationTarget(w.target).value, {})[
                    RaterGroup(w.group).value
                ] = w.weight
            weights = given
        try:
            row = await rules.create_questionnaire(
                info.context,
                decode_id(input.unit_id, "OrgUnit")[1],
                input.name,
                [
                    (EvaluationTarget(q.target), q.text, q.weight)
                    for q in input.questions
                ],
                weights,
                input.min_owner_ratings,
            )
        except Invalid as invalid:
            return failed(invalid, "questionnaire")  # type: ignore[no-any-return]
        return payload(questionnaire=row)  # type: ignore[no-any-return]

    @field(OFFICIALS, "Open a period's round for every estate under a unit.")
    async def evaluation_rounds_open(
        self, info: AppInfo, input: EvaluationRoundsOpenInput
    ) -> EvaluationRoundsOpenPayload:
        try:
            opened, skipped = await rules.open_rounds(
                info.context,
                decode_id(input.unit_id, "OrgUnit")[1],
                decode_id(input.questionnaire_id, "Questionnaire")[1],
                input.period.strip(),
                input.starts_on,
                input.ends_on,
            )
        except Invalid as invalid:
            return failed(invalid, "opened", "skipped")  # type: ignore[no-any-return]
        return payload(opened=opened, skipped=skipped)  # type: ignore[no-any-return]

    @field(OFFICIALS, "Close a round: its scores are computed and frozen.")
    async def evaluation_round_close(
        self, info: AppInfo, id: strawberry.ID
    ) -> EvaluationRoundPayload:
        try:
            row = await rules.close_round(
                info.context, decode_id(id, "EvaluationRound")[1]
            )
        except Invalid as invalid:
            return failed(invalid, "round")  # type: ignore[no-any-return]
        return payload(round=row)  # type: ignore[no-any-return]

    @field(OFFICIALS, "Close every open round of a period under a unit.")
    async def evaluation_rounds_close(
        self, info: AppInfo, unit_id: strawberry.ID, period: str
    ) -> EvaluationRoundsClosePayload:
        try:
            closed = await rules.close_rounds(
                info.context, decode_id(unit_id, "OrgUnit")[1], period
            )
        except Invalid as invalid:
            return failed(invalid, "closed")  # type: ignore[no-any-return]
        return payload(closed=closed)  # type: ignore[no-any-return]

    @field(
        SIGNED_IN,
        "Rate a target in an open round as one rater group: verified owners once "
        "per property, the others once per person.",
    )
    async def rating_submit(
        self, info: AppInfo, input: RatingSubmitInput
    ) -> RatingPayload:
        answers = {
            decode_id(a.question_id, "Question")[1]: a.value for a in input.answers
        }
        ownership = (
            decode_id(input.ownership_id, "PropertyOwnership")[1]
            if input.ownership_id
            else None
        )
        try:
            row = await rules.submit_rating(
                info.context,
                decode_id(input.round_id, "EvaluationRound")[1],
                EvaluationTarget(input.target),
                RaterGroup(input.group),
                answers,
                input.comment,
                ownership,
            )
        except Invalid as invalid:
            return failed(invalid, "rating")  # type: ignore[no-any-return]
        return payload(rating=row)  # type: ignore[no-any-return]


@strawberry.type
class EvaluationSubscription:
    @field(
        STAFF,
        "Changes of estates (register, owners, rounds, ratings, duties) under a "
        "unit in the caller's jurisdiction; never a rating's content.",
        is_subscription=True,
    )
    async def estate_changes(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> AsyncGenerator[OrgChange, None]:
        _, pk = decode_id(unit_id, "OrgUnit")
        async for event in changes_under(info.context, "estate", pk):
            yield {  # type: ignore[misc]
                "kind": event.kind,
                "subject_type": event.subject_type,
                "subject_id": encode_id(event.subject_type, event.subject_id),
                "at": event.at,
                "unit_path": event.unit_path,
            }
