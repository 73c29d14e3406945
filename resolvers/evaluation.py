"""Estate evaluation (小区测评): questionnaires, rounds, ratings and scores.

A district configures a questionnaire: questions per target, each with a weight,
and the blend of rater groups (percent per group, 100 per target) with the least
number of owner ratings a score needs. Opening a round for a period copies that
blend into one round per estate, so later edits never move a round's scores.

One rating's score is the weighted mean of its answers (1 to 5) times 20, so a
rating is 20 to 100. A target's score blends the mean of each rater group by the
group's weight; groups that gave no rating drop out and the weights of the rest
are scaled up to 100 (each group's share says so). With fewer owner ratings than
the minimum there is no score, and no group mean either: one or two owners'
ratings must not be readable through an aggregate. Closing a round freezes its
scores into ``EvaluationScore`` rows; nothing about a closed round changes again.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Avg, Count
from tortoise.transactions import in_transaction

from models import (
    Estate,
    EstateManagement,
    EvaluationRound,
    EvaluationScore,
    Organization,
    OrgUnit,
    PropertyOwnership,
    Question,
    Questionnaire,
    Rating,
)
from models.enums import (
    EvaluationTarget,
    Level,
    OrganizationKind,
    RaterGroup,
    Role,
    RoundStatus,
    ScoreStatus,
)
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.estates import committee_estates, company_estates, local_today
from resolvers.events import Event
from resolvers.jobs import JobRun, job
from resolvers.loaders import fetch_row

__all__ = [
    "DEFAULT_WEIGHTS",
    "GROUPS",
    "GroupScore",
    "TargetScore",
    "blend",
    "close_ended_rounds",
    "close_round",
    "close_rounds",
    "create_questionnaire",
    "may_read_score",
    "open_rounds",
    "ranking",
    "rating_score",
    "scores_of",
    "submit_rating",
]

logger = logging.getLogger("yunshang.evaluation")

PS, OC = EvaluationTarget.PROPERTY_SERVICE, EvaluationTarget.OWNERS_COMMITTEE
# Who rates what (the two blends).
GROUPS: dict[EvaluationTarget, tuple[RaterGroup, ...]] = {
    PS: (
        RaterGroup.OWNERS,
        RaterGroup.PARTY_ORGANIZATION,
        RaterGroup.SUBDISTRICT,
        RaterGroup.COMMUNITY,
    ),
    OC: (
        RaterGroup.OWNERS,
        RaterGroup.PROPERTY_COMPANY,
        RaterGroup.SUBDISTRICT,
        RaterGroup.COMMUNITY,
    ),
}
# What a questionnaire blends when the district says nothing else.
DEFAULT_WEIGHTS: dict[str, dict[str, int]] = {
    PS.value: {
        "OWNERS": 60,
        "PARTY_ORGANIZATION": 15,
        "SUBDISTRICT": 10,
        "COMMUNITY": 15,
    },
    OC.value: {
        "OWNERS": 60,
        "PROPERTY_COMPANY": 10,
        "SUBDISTRICT": 10,
        "COMMUNITY": 20,
    },
}
LOWEST, HIGHEST = 1, 5
PERIOD = re.compile(r"^\d{4}(-(Q[1-4]|H[12]|(0[1-9]|1[0-2])))?$")


# -- the arithmetic -------------------------------------------------------------------


def rating_score(
    questions: Sequence[tuple[int, int]], answers: Mapping[int, int]
) -> float:
    """The weighted mean of the answers (1..5) on ``questions`` (id, weight), × 20."""
    total = sum(weight for _, weight in questions)
    weighted = sum(weight * answers[question] for question, weight in questions)
    return round(20 * weighted / total, 2)


@dataclass(frozen=True)
class GroupScore:
    group: RaterGroup
    weight: int
    count: int
    mean: float | None
    # The weight after the groups without ratings dropped out, in percent.
    share: float | None


@dataclass(frozen=True)
class TargetScore:
    target: EvaluationTarget
    status: ScoreStatus
    score: float | None
    owner_ratings: int
    min_owner_ratings: int
    groups: list[GroupScore] = field(default_factory=list)

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "group": g.group.value,
                "weight": g.weight,
                "count": g.count,
                "mean": g.mean,
                "share": g.share,
            }
            for g in self.groups
        ]


def blend(
    target: EvaluationTarget,
    weights: Mapping[str, int],
    stats: Mapping[str, tuple[float, int]],
    min_owner_ratings: int,
) -> TargetScore:
    """The target's score from each group's (mean, count), as the docstring says."""
    owners = stats.get(RaterGroup.OWNERS.value, (0.0, 0))[1]
    if owners < min_owner_ratings:
        groups = [
            GroupScore(
                g,
                int(weights.get(g.value, 0)),
                stats.get(g.value, (0.0, 0))[1],
                None,
                None,
            )
            for g in GROUPS[target]
        ]
        return TargetScore(
            target,
            ScoreStatus.NOT_ENOUGH_RATINGS,
            None,
            owners,
            min_owner_ratings,
            groups,
        )

    present = [
        g
        for g in GROUPS[target]
        if stats.get(g.value, (0.0, 0))[1] > 0 and weights.get(g.value, 0) > 0
    ]
    total = sum(int(weights[g.value]) for g in present)
    score = sum(int(weights[g.value]) * stats[g.value][0] for g in present) / total
    groups = []
    for g in GROUPS[target]:
        mean, count = stats.get(g.value, (0.0, 0))
        weight = int(weights.get(g.value, 0))
        groups.append(
            GroupScore(
                g,
                weight,
                count,
                round(mean, 2) if count else None,
                round(100 * weight / total, 2) if g in present else None,
            )
        )
    return TargetScore(
        target, ScoreStatus.SCORED, round(score, 2), owners, min_owner_ratings, groups
    )


def _from_frozen(row: Mapping[str, Any], minimum: int) -> TargetScore:
    groups = [
        GroupScore(
            RaterGroup(g["group"]), g["weight"], g["count"], g["mean"], g["share"]
        )
        for g in row["groups"]
    ]
    owners = next((g.count for g in groups if g.group == RaterGroup.OWNERS), 0)
    return TargetScore(
        EvaluationTarget(row["target"]),
        ScoreStatus(row["status"]),
        row["score"],
        owners,
        minimum,
        groups,
    )


async def _group_stats(
    round_ids: Sequence[int],
) -> dict[tuple[int, str], dict[str, tuple[float, int]]]:
    """Each group's mean and count per (round, target), in one statement."""
    stats: dict[tuple[int, str], dict[str, tuple[float, int]]] = defaultdict(dict)
    if not round_ids:
        return stats
    found = (
        await Rating.filter(round_id__in=list(round_ids))
        .annotate(mean=Avg("score"), count=Count("id"))
        .group_by("round_id", "target", "group")
        .values("round_id", "target", "group", "mean", "count")
    )
    for row in found:
        stats[(row["round_id"], str(row["target"]))][str(row["group"])] = (
            float(row["mean"]),
            int(row["count"]),
        )
    return stats


async def scores_of(
    rounds: Iterable[Mapping[str, Any]],
) -> dict[tuple[int, EvaluationTarget], TargetScore]:
    """Both targets' scores of every round: frozen ones read, open ones computed,
    in two statements for any number of rounds."""
    rounds = list(rounds)
    closed = [r for r in rounds if r["status"] == RoundStatus.CLOSED]
    open_ = [r for r in rounds if r["status"] != RoundStatus.CLOSED]
    scores: dict[tuple[int, EvaluationTarget], TargetScore] = {}
    if closed:
        minimum = {r["id"]: r["min_owner_ratings"] for r in closed}
        frozen = await EvaluationScore.filter(round_id__in=list(minimum)).values(
            "round_id", "target", "status", "score", "groups"
        )
        for row in frozen:
            target = EvaluationTarget(row["target"])
            scores[(row["round_id"], target)] = _from_frozen(
                row, minimum[row["round_id"]]
            )
    stats = await _group_stats([r["id"] for r in open_])
    for r in open_:
        for target in EvaluationTarget:
            scores[(r["id"], target)] = blend(
                target,
                r["weights"].get(target.value, {}),
                stats.get((r["id"], target.value), {}),
                r["min_owner_ratings"],
            )
    return scores


async def may_read_score(
    context: Context, round_row: Mapping[str, Any], target: EvaluationTarget
) -> bool:
    """Staff over the estate; its company its property-service score, its
    committee its own score."""
    caller = context.caller
    if caller.is_admin or caller.covers(round_row["unit_path"]):
        return True
    if target == PS and Role.PROPERTY_COMPANY in caller.roles:
        return round_row["estate_id"] in await company_estates(context)
    if target == OC and Role.OWNERS_COMMITTEE in caller.roles:
        return round_row["estate_id"] in await committee_estates(context)
    return False


async def ranking(
    context: Context,
    unit_path: str,
    period: str,
    target: EvaluationTarget,
) -> list[dict[str, Any]]:
    """Every estate under the unit with a round of ``period``, best score first;
    estates with too few ratings last, unranked."""
    rounds = (
        await visible(EvaluationRound, context.caller)
        .filter(unit_path__startswith=unit_path, period=period)
        .values()
    )
    scores = await scores_of(rounds)
    entries: list[dict[str, Any]] = [
        {"round": r, "score": scores[(r["id"], target)]} for r in rounds
    ]
    entries.sort(
        key=lambda e: (
            e["score"].score is None,
            -(e["score"].score or 0),
            e["round"]["estate_id"],
        )
    )
    rank = 0
    previous: float | None = None
    for position, entry in enumerate(entries, start=1):
        value = entry["score"].score
        if value is None:
            entry["rank"] = None
            continue
        if value != previous:
            rank, previous = position, value
        entry["rank"] = rank
    return entries


# -- questionnaires -------------------------------------------------------------------


def _check_weights(weights: Mapping[str, Mapping[str, int]]) -> list[UserError]:
    errors = []
    for target in EvaluationTarget:
        given = weights.get(target.value, {})
        allowed = {g.value for g in GROUPS[target]}
        if set(given) - allowed:
            errors.append(
                UserError(
                    "weights",
                    f"{target.value} is rated by {', '.join(sorted(allowed))} only.",
                    "GROUP_NOT_RATING_TARGET",
                )
            )
        elif (
            any(not 0 <= w <= 100 for w in given.values()) or sum(given.values()) != 100
        ):
            errors.append(
                UserError(
                    "weights",
                    f"The weights of {target.value} are percents summing to 100.",
                    "WEIGHTS_NOT_100",
                )
            )
        elif given.get(RaterGroup.OWNERS.value, 0) <= 0:
            errors.append(
                UserError(
                    "weights", "Owners must carry weight.", "OWNERS_WEIGHT_REQUIRED"
                )
            )
    return errors


async def create_questionnaire(
    context: Context,
    unit_id: int,
    name: str,
    questions: Sequence[tuple[EvaluationTarget, str, int]],
    weights: Mapping[str, Mapping[str, int]] | None,
    min_owner_ratings: int,
) -> dict[str, Any]:
    unit = await visible(OrgUnit, context.caller).get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    caller = context.caller
    if not (caller.is_admin or caller.covers(unit.path, frozenset({Role.OFFICIAL}))):
        raise Forbidden("The district's officials configure its questionnaires.")

    name = name.strip()
    blend_weights = {t: dict(w) for t, w in (weights or DEFAULT_WEIGHTS).items()}
    errors = _check_weights(blend_weights)
    if unit.level != Level.DISTRICT:
        errors.append(
            UserError("unitId", "Questionnaires are a district's.", "NOT_A_DISTRICT")
        )
    if not 1 <= len(name) <= 100:
        errors.append(
            UserError("name", "Name it (1 to 100 characters).", "INVALID_NAME")
        )
    if not 1 <= min_owner_ratings <= 1000:
        errors.append(
            UserError("minOwnerRatings", "Between 1 and 1000.", "INVALID_MINIMUM")
        )
    for index, (_, text, weight) in enumerate(questions):
        if not 1 <= len(text.strip()) <= 200 or not 1 <= weight <= 100:
            errors.append(
                UserError(
                    f"questions.{index}",
                    "A question has 1 to 200 characters and a weight of 1 to 100.",
                    "INVALID_QUESTION",
                )
            )
    for target in EvaluationTarget:
        if not any(t == target for t, _, _ in questions):
            errors.append(
                UserError(
                    "questions",
                    f"Ask at least one question on {target.value}.",
                    "QUESTIONS_REQUIRED",
                )
            )
    if errors:
        raise Invalid(errors)

    async with write(context, "QUESTIONNAIRE_CREATE") as work:
        questionnaire = await Questionnaire.create(
            unit_id=unit.id,
            unit_path=unit.path,
            name=name,
            weights=blend_weights,
            min_owner_ratings=min_owner_ratings,
            created_by_id=caller.person_id,
            created_at=context.clock(),
        )
        await Question.bulk_create(
            [
                Question(
                    questionnaire_id=questionnaire.id,
                    unit_path=unit.path,
                    target=target,
                    position=position,
                    text=text.strip(),
                    weight=weight,
                )
                for position, (target, text, weight) in enumerate(questions, start=1)
            ]
        )
        work.audit("Questionnaire", [questionnaire.id], unit.path)
        work.emit(
            Event(
                "estate",
                "QUESTIONNAIRE_CREATED",
                unit.path,
                "Questionnaire",
                questionnaire.id,
                caller.person_id,
            )
        )
    return await fetch_row(Questionnaire, questionnaire.id)


# -- rounds ---------------------------------------------------------------------------


async def open_rounds(
    context: Context,
    unit_id: int,
    questionnaire_id: int,
    period: str,
    starts_on: date,
    ends_on: date,
) -> tuple[int, int]:
    """One round of ``period`` for every estate under the unit that has none yet:
    (opened, already there)."""
    caller = context.caller
    unit = await visible(OrgUnit, caller).get_or_none(id=unit_id)
    questionnaire = await visible(Questionnaire, caller).get_or_none(
        id=questionnaire_id
    )
    if unit is None or questionnaire is None:
        raise NotFound("No such unit or questionnaire.")
    if not (caller.is_admin or caller.covers(unit.path, frozenset({Role.OFFICIAL}))):
        raise Forbidden("Officials over the unit open its rounds.")
    errors = []
    if not unit.path.startswith(questionnaire.unit_path):
        errors.append(
            UserError(
                "questionnaireId",
                "The questionnaire is of another district.",
                "QUESTIONNAIRE_ELSEWHERE",
            )
        )
    if not PERIOD.match(period):
        errors.append(
            UserError(
                "period", "A year, 2026-Q1, 2026-H1 or 2026-03.", "INVALID_PERIOD"
            )
        )
    if ends_on < starts_on:
        errors.append(
            UserError("endsOn", "The end comes after the start.", "INVALID_DATES")
        )
    if errors:
        raise Invalid(errors)

    estates = await Estate.filter(unit_path__startswith=unit.path).values(
        "id", "unit_path"
    )
    taken = set(
        await EvaluationRound.filter(
            estate_id__in=[e["id"] for e in estates], period=period
        ).values_list("estate_id", flat=True)
    )
    now = context.clock()
    fresh = [
        EvaluationRound(
            estate_id=e["id"],
            unit_path=e["unit_path"],
            questionnaire_id=questionnaire.id,
            period=period,
            starts_on=starts_on,
            ends_on=ends_on,
            status=RoundStatus.OPEN,
            weights=questionnaire.weights,
            min_owner_ratings=questionnaire.min_owner_ratings,
            opened_by_id=caller.person_id,
            created_at=now,
        )
        for e in estates
        if e["id"] not in taken
    ]
    async with write(context, "EVALUATION_ROUNDS_OPEN") as work:
        await EvaluationRound.bulk_create(fresh, batch_size=500)
        work.audit("OrgUnit", [unit.id], unit.path, period=period, opened=len(fresh))
        work.emit(
            Event(
                "estate",
                "ROUNDS_OPENED",
                unit.path,
                "OrgUnit",
                unit.id,
                caller.person_id,
                data={"period": period},
            )
        )
    return len(fresh), len(taken)


async def _round_for_staff(context: Context, round_id: int) -> EvaluationRound:
    found = await visible(EvaluationRound, context.caller).get_or_none(id=round_id)
    if found is None:
        raise NotFound("No EvaluationRound has this id.")
    caller = context.caller
    if not (
        caller.is_admin or caller.covers(found.unit_path, frozenset({Role.OFFICIAL}))
    ):
        raise Forbidden("Officials over the estate close its rounds.")
    return found


async def close_round(context: Context, round_id: int) -> dict[str, Any]:
    found = await _round_for_staff(context, round_id)
    if found.status == RoundStatus.CLOSED:
        raise Invalid([UserError("id", "The round is already closed.", "ROUND_CLOSED")])
    await _freeze(context, [found.id], "EVALUATION_ROUND_CLOSE")
    return await fetch_row(EvaluationRound, found.id)


async def close_rounds(context: Context, unit_id: int, period: str) -> int:
    """Close every open round of ``period`` under the unit; returns how many."""
    caller = context.caller
    unit = await visible(OrgUnit, caller).get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    if not (caller.is_admin or caller.covers(unit.path, frozenset({Role.OFFICIAL}))):
        raise Forbidden("Officials over the unit close its rounds.")
    ids = await EvaluationRound.filter(
        unit_path__startswith=unit.path, period=period, status=RoundStatus.OPEN
    ).values_list("id", flat=True)
    if not ids:
        raise Invalid(
            [UserError("period", "No open round of this period here.", "NO_OPEN_ROUND")]
        )
    await _freeze(context, [int(str(i)) for i in ids], "EVALUATION_ROUNDS_CLOSE")
    return len(ids)


async def _freeze(context: Context, round_ids: list[int], action: str) -> None:
    """Compute the rounds' scores and keep them; the rounds are closed after."""
    now = context.clock()
    async with write(context, action) as work:
        # Claim the rounds first: a rating committed meanwhile finds them closed.
        claimed = await EvaluationRound.filter(
            id__in=round_ids, status=RoundStatus.OPEN
        ).update(
            status=RoundStatus.CLOSED,
            closed_at=now,
            closed_by_id=context.caller.person_id,
        )
        if claimed != len(round_ids):
            raise Invalid(
                [UserError("id", "A round was closed meanwhile.", "ROUND_CLOSED")]
            )
        rounds = await EvaluationRound.filter(id__in=round_ids).values()
        opened = [{**r, "status": RoundStatus.OPEN} for r in rounds]
        scores = await scores_of(opened)
        await EvaluationScore.bulk_create(
            [
                EvaluationScore(
                    round_id=r["id"],
                    estate_id=r["estate_id"],
                    unit_path=r["unit_path"],
                    target=target,
                    status=scores[(r["id"], target)].status,
                    score=scores[(r["id"], target)].score,
                    groups=scores[(r["id"], target)].as_json(),
                    computed_at=now,
                )
                for r in rounds
                for target in EvaluationTarget
            ],
            batch_size=500,
        )
        work.audit(
            "EvaluationRound", round_ids, _common_path(r["unit_path"] for r in rounds)
        )
        for r in rounds:
            work.emit(
                Event(
                    "estate",
                    "ROUND_CLOSED",
                    r["unit_path"],
                    "EvaluationRound",
                    r["id"],
                    context.caller.person_id,
                )
            )


def _common_path(paths: Iterable[str]) -> str:
    found = list(paths)
    if not found:
        return ""
    first = found[0]
    while not all(p.startswith(first) for p in found):
        first = first[: first.rstrip("/").rfind("/") + 1]
    return first


# -- ratings --------------------------------------------------------------------------


async def _create_rating(**values: Any) -> Rating:
    # A savepoint: a duplicate fails alone, leaving the transaction usable.
    async with in_transaction():
        return await Rating.create(**values)


def _parent_path(path: str) -> str:
    return path[: path.rstrip("/").rfind("/") + 1]


async def _party_organizations(estate: Mapping[str, Any]) -> set[int]:
    """The estate's own party organisation, else its community's."""
    found = await Organization.filter(
        kind=OrganizationKind.PARTY_ORGANIZATION, estate_id=estate["id"]
    ).values_list("id", flat=True)
    if not found:
        found = await Organization.filter(
            kind=OrganizationKind.PARTY_ORGANIZATION,
            unit_id=estate["unit_id"],
            estate_id__isnull=True,
        ).values_list("id", flat=True)
    return {int(str(i)) for i in found}


async def _rater_key(
    context: Context,
    estate: Mapping[str, Any],
    group: RaterGroup,
    ownership_id: int | None,
) -> str:
    """Who the caller rates as, or a denial if they are not of the group."""
    caller = context.caller
    person_id = caller.person_id
    assert person_id is not None
    if group == RaterGroup.OWNERS:
        owned = (
            await PropertyOwnership.filter(
                person_id=person_id, estate_id=estate["id"], ended_at__isnull=True
            )
            .order_by("id")
            .values("id", "certificate_number")
        )
        if not owned:
            raise Forbidden("Only verified owners of this estate rate as owners.")
        if ownership_id is not None:
            owned = [o for o in owned if o["id"] == ownership_id]
            if not owned:
                raise NotFound("No ownership of yours has this id.")
        certificates = {o["certificate_number"] for o in owned}
        if len(certificates) > 1:
            raise Invalid(
                [
                    UserError(
                        "ownershipId",
                        "Say which of your properties rates.",
                        "OWNERSHIP_REQUIRED",
                    )
                ]
            )
        return f"property:{certificates.pop()}"

    grants = caller.grants
    if group == RaterGroup.COMMUNITY:
        allowed = any(
            g.role == Role.CADRE and g.unit_path == estate["unit_path"] for g in grants
        )
    elif group == RaterGroup.SUBDISTRICT:
        above = _parent_path(estate["unit_path"])
        allowed = any(g.role == Role.OFFICIAL and g.unit_path == above for g in grants)
    elif group == RaterGroup.PARTY_ORGANIZATION:
        held = {g.organization_id for g in grants if g.organization_id is not None}
        allowed = bool(held & await _party_organizations(estate))
    else:
        companies = caller.organization_ids(Role.PROPERTY_COMPANY)
        allowed = (
            bool(companies)
            and await EstateManagement.filter(
                active_on(local_today(context)),
                estate_id=estate["id"],
                company_id__in=list(companies),
            ).exists()
        )
    if not allowed:
        raise Forbidden(f"You do not rate this estate as {group.value}.")
    return f"person:{person_id}"


async def submit_rating(
    context: Context,
    round_id: int,
    target: EvaluationTarget,
    group: RaterGroup,
    answers: Mapping[int, int],
    comment: str = "",
    ownership_id: int | None = None,
) -> dict[str, Any]:
    """One rating of one target in an open round, as one rater group."""
    caller = context.caller
    if caller.person_id is None:
        raise Forbidden("Ratings are given by people, not by API tokens.")
    found = await visible(EvaluationRound, caller).filter(id=round_id).values()
    if not found:
        raise NotFound("No EvaluationRound has this id.")
    round_row = found[0]
    estate = (
        await Estate.filter(id=round_row["estate_id"]).values(
            "id", "unit_id", "unit_path"
        )
    )[0]
    errors: list[UserError] = []
    if round_row["status"] == RoundStatus.CLOSED:
        raise Invalid([UserError("roundId", "The round is closed.", "ROUND_CLOSED")])
    if group not in GROUPS[target]:
        raise Invalid(
            [
                UserError(
                    "group",
                    f"{group.value} does not rate {target.value}.",
                    "GROUP_NOT_RATING_TARGET",
                )
            ]
        )
    rater_key = await _rater_key(context, estate, group, ownership_id)

    questions = [
        (q["id"], q["weight"])
        for q in await Question.filter(
            questionnaire_id=round_row["questionnaire_id"], target=target
        )
        .order_by("position")
        .values("id", "weight")
    ]
    asked = {q for q, _ in questions}
    if set(answers) - asked:
        errors.append(
            UserError(
                "answers", "An answer is to a question not asked.", "UNKNOWN_QUESTION"
            )
        )
    if asked - set(answers):
        errors.append(
            UserError("answers", "Answer every question.", "ANSWERS_INCOMPLETE")
        )
    if any(not LOWEST <= v <= HIGHEST for v in answers.values()):
        errors.append(
            UserError(
                "answers", f"Answers are {LOWEST} to {HIGHEST}.", "ANSWER_OUT_OF_RANGE"
            )
        )
    if len(comment) > 500:
        errors.append(
            UserError("comment", "At most 500 characters.", "COMMENT_TOO_LONG")
        )
    if await Rating.filter(
        round_id=round_id, target=target, group=group, rater_key=rater_key
    ).exists():
        errors.append(
            UserError(
                "roundId", "This was rated already in this round.", "ALREADY_RATED"
            )
        )
    if errors:
        raise Invalid(errors)

    async with write(context, "RATING_SUBMIT") as work:
        # The round may have closed since it was read: checked again inside.
        if not await EvaluationRound.filter(
            id=round_id, status=RoundStatus.OPEN
        ).exists():
            raise Invalid(
                [UserError("roundId", "The round is closed.", "ROUND_CLOSED")]
            )
        try:
            rating = await _create_rating(
                round_id=round_id,
                unit_path=round_row["unit_path"],
                target=target,
                group=group,
                rater_key=rater_key,
                person_id=caller.person_id,
                answers={str(k): v for k, v in answers.items()},
                score=rating_score(questions, answers),
                comment=comment.strip(),
                created_at=context.clock(),
            )
        except IntegrityError:
            # Rated by a co-owner (or twice at once) since the check above.
            raise Invalid(
                [UserError("roundId", "This was rated already.", "ALREADY_RATED")]
            ) from None
        work.audit("Rating", [rating.id], round_row["unit_path"])
        work.emit(
            Event(
                "estate",
                "RATING_SUBMITTED",
                round_row["unit_path"],
                "EvaluationRound",
                round_id,
                caller.person_id,
            )
        )
    return await fetch_row(Rating, rating.id)


# -- the schedule ---------------------------------------------------------------------


@job("evaluation.close_ended", every=timedelta(hours=1))
async def close_ended_rounds(run: JobRun) -> dict[str, int]:
    """Close the rounds whose last day has passed, freezing their scores."""
    today = local_today(run.context)
    ids = await EvaluationRound.filter(
        status=RoundStatus.OPEN, ends_on__lt=today
    ).values_list("id", flat=True)
    closed = [int(str(i)) for i in ids]
    # A round closed meanwhile by an official makes the batch refuse: run again.
    for start in range(0, len(closed), 500):
        await _freeze(
            run.context, closed[start : start + 500], "EVALUATION_ROUNDS_CLOSE_DUE"
        )
    return {"closed": len(closed)}
