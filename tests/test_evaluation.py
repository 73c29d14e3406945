"""Estate evaluation: scores on a hand-computed example, the minimum of owner
ratings, frozen rounds, rankings, and who sees which score and rating.

The world of ``tests.world`` gains, for these tests: three verified owners in E1
(resident_a1 and two more), E1's party branch with a member, and a questionnaire
of the district with one round per estate for 2026-H1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from models import (
    Estate,
    EvaluationRound,
    EvaluationScore,
    Organization,
    PropertyOwnership,
    PropertyRecord,
    Rating,
)
from models.enums import EvaluationTarget, OrganizationKind, Role, ScoreStatus
from resolvers.evaluation import blend, rating_score
from schema.base import encode_id
from tests.conftest import Client
from tests.test_permissions import REFUSAL, codes, token_for
from tests.world import World, add_person, grant

SignIn = Callable[[str], Awaitable[Client]]
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

QUESTIONNAIRE_CREATE = """
mutation Create($input: QuestionnaireCreateInput!) {
  questionnaireCreate(input: $input) {
    errors { field code }
    questionnaire { id minOwnerRatings questions { id target weight } }
  }
}
"""

ROUNDS_OPEN = """
mutation Open($input: EvaluationRoundsOpenInput!) {
  evaluationRoundsOpen(input: $input) { errors { field code } opened skipped }
}
"""

RATE = """
mutation Rate($input: RatingSubmitInput!) {
  ratingSubmit(input: $input) { errors { field code } rating { id score group } }
}
"""

SCORE_FIELDS = """
  status score ownerRatings minOwnerRatings explanation
  groups { group weight count mean share }
"""

ROUND = f"""
query Round($id: ID!) {{
  evaluationRound(id: $id) {{
    id period status
    estate {{ name }}
    propertyService {{ {SCORE_FIELDS} }}
    ownersCommittee {{ {SCORE_FIELDS} }}
    myRatings {{ id score }}
  }}
}}
"""

ROUNDS = """
query Rounds {
  evaluationRounds(first: 50) {
    edges { node { estate { name } propertyService { score } } }
  }
}
"""

RANKING = f"""
query Ranking($unitId: ID!, $target: EvaluationTarget!) {{
  evaluationRanking(unitId: $unitId, period: "2026-H1", target: $target) {{
    rank estate {{ name }} score {{ {SCORE_FIELDS} }}
  }}
}}
"""

CLOSE = """
mutation Close($id: ID!) {
  evaluationRoundClose(id: $id) { errors { field code } round { status } }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on Rating { score comment answers { questionId value } } }
}
"""

CONFIGURATION = """
query Configuration {
  questionnaires { name weights { target group weight } }
  evaluationRounds(first: 1) {
    edges { node { minOwnerRatings weights { target group weight } } }
  }
}
"""

ROUND_NODE = """
query RoundNode($id: ID!) {
  node(id: $id) {
    ... on EvaluationRound { propertyService { score } ownersCommittee { score } }
  }
}
"""

PS_QUESTIONS = [("PROPERTY_SERVICE", "保洁与绿化", 2), ("PROPERTY_SERVICE", "安保", 1)]
OC_QUESTIONS = [("OWNERS_COMMITTEE", "账目公开", 1)]
WEIGHTS = [
    ("PROPERTY_SERVICE", "OWNERS", 60),
    ("PROPERTY_SERVICE", "PARTY_ORGANIZATION", 20),
    ("PROPERTY_SERVICE", "SUBDISTRICT", 10),
    ("PROPERTY_SERVICE", "COMMUNITY", 10),
    ("OWNERS_COMMITTEE", "OWNERS", 50),
    ("OWNERS_COMMITTEE", "PROPERTY_COMPANY", 20),
    ("OWNERS_COMMITTEE", "SUBDISTRICT", 10),
    ("OWNERS_COMMITTEE", "COMMUNITY", 20),
]


async def add_owner(
    world: World, key: str, phone: str, estate: str, certificate: str
) -> PropertyOwnership:
    """A resident of A1 made a verified owner in ``estate`` (no claim needed here)."""
    person = world.people.get(key) or await add_person(world, key, key, phone)
    if key not in ("resident_a1",):
        await grant(person, Role.RESIDENT, world.units["A1"])
    found = world.estates[estate]
    record = await PropertyRecord.create(
        estate=found,
        unit_path=found.unit_path,
        certificate_number=certificate,
        dwelling=f"{certificate}室",
        owner_name=key,
        id_fingerprint=f"fp-{key}-{certificate}",
        id_masked="330***********0001",
        created_at=NOW,
        updated_at=NOW,
    )
    return await PropertyOwnership.create(
        person=person,
        record=record,
        estate=found,
        unit_path=found.unit_path,
        certificate_number=certificate,
        verified_at=NOW,
    )


class Evaluation:
    """The round of each estate and the questions, by their global ids."""

    def __init__(self, rounds: dict[str, str], questions: dict[str, str]) -> None:
        self.rounds = rounds
        self.questions = questions


@pytest_asyncio.fixture
async def evaluation(login: SignIn, world: World) -> Evaluation:
    await add_owner(world, "resident_a1", "", "E1", "A-101")
    await add_owner(world, "owner_2", "13900000021", "E1", "A-102")
    await add_owner(world, "owner_3", "13900000022", "E1", "A-103")
    a1 = world.units["A1"]
    branch = await Organization.create(
        kind=OrganizationKind.PARTY_ORGANIZATION,
        name="湖景苑党支部",
        unit=a1,
        unit_path=a1.path,
        estate=world.estates["E1"],
    )
    member = await add_person(world, "party_e1", "支部书记", "13900000023")
    await grant(member, Role.CADRE, a1, branch)

    official = await login("official_district")
    created = await official.query(
        QUESTIONNAIRE_CREATE,
        {
            "input": {
                "unitId": encode_id("OrgUnit", world.units["district"].id),
                "name": "2026 小区测评",
                "minOwnerRatings": 3,
                "questions": [
                    {"target": t, "text": text, "weight": w}
                    for t, text, w in PS_QUESTIONS + OC_QUESTIONS
                ],
                "weights": [
                    {"target": t, "group": g, "weight": w} for t, g, w in WEIGHTS
                ],
            }
        },
    )
    questionnaire = created["data"]["questionnaireCreate"]
    assert questionnaire["errors"] == [], created
    questions = {
        str(i): q["id"]
        for i, q in enumerate(questionnaire["questionnaire"]["questions"])
    }
    opened = await official.query(
        ROUNDS_OPEN,
        {
            "input": {
                "unitId": encode_id("OrgUnit", world.units["district"].id),
                "questionnaireId": questionnaire["questionnaire"]["id"],
                "period": "2026-H1",
                "startsOn": "2026-01-01",
                "endsOn": "2026-06-30",
            }
        },
    )
    assert opened["data"]["evaluationRoundsOpen"] == {
        "errors": [],
        "opened": 3,
        "skipped": 0,
    }, opened
    rounds = {
        estate: encode_id(
            "EvaluationRound",
            (await EvaluationRound.get(estate_id=world.estates[estate].id)).id,
        )
        for estate in ("E1", "E2", "E3")
    }
    return Evaluation(rounds, questions)


def ps_answers(e: Evaluation, first: int, second: int) -> list[dict[str, Any]]:
    return [
        {"questionId": e.questions["0"], "value": first},
        {"questionId": e.questions["1"], "value": second},
    ]


def oc_answers(e: Evaluation, value: int) -> list[dict[str, Any]]:
    return [{"questionId": e.questions["2"], "value": value}]


async def rate(
    client: Client,
    e: Evaluation,
    target: str,
    group: str,
    answers: list[dict[str, Any]],
    estate: str = "E1",
) -> dict[str, Any]:
    return await client.query(
        RATE,
        {
            "input": {
                "roundId": e.rounds[estate],
                "target": target,
                "group": group,
                "answers": answers,
            }
        },
    )


async def rate_ok(client: Client, *args: Any, **kwargs: Any) -> dict[str, Any]:
    body = await rate(client, *args, **kwargs)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["ratingSubmit"]
    assert result["errors"] == [], result
    return result


async def rate_the_example(login: SignIn, e: Evaluation) -> None:
    """The hand-computed example of ``test_scores_blend_as_computed_by_hand``."""
    owner_1 = await login("resident_a1")
    owner_2 = await login("owner_2")
    owner_3 = await login("owner_3")
    await rate_ok(owner_1, e, "PROPERTY_SERVICE", "OWNERS", ps_answers(e, 5, 2))
    await rate_ok(owner_2, e, "PROPERTY_SERVICE", "OWNERS", ps_answers(e, 3, 3))
    await rate_ok(owner_3, e, "PROPERTY_SERVICE", "OWNERS", ps_answers(e, 5, 5))
    party = await login("party_e1")
    await rate_ok(
        party, e, "PROPERTY_SERVICE", "PARTY_ORGANIZATION", ps_answers(e, 4, 1)
    )
    official_a = await login("official_a")
    await rate_ok(official_a, e, "PROPERTY_SERVICE", "SUBDISTRICT", ps_answers(e, 2, 2))
    # The owners' committee: two owners only, under the minimum of three.
    await rate_ok(owner_1, e, "OWNERS_COMMITTEE", "OWNERS", oc_answers(e, 4))
    await rate_ok(owner_2, e, "OWNERS_COMMITTEE", "OWNERS", oc_answers(e, 5))
    company = await login("company_staff")
    await rate_ok(company, e, "OWNERS_COMMITTEE", "PROPERTY_COMPANY", oc_answers(e, 3))


# -- the arithmetic ----------------------------------------------------------------


def test_a_ratings_score_is_its_weighted_mean_times_twenty() -> None:
    # Given two questions weighing 2 and 1, answered 5 and 2
    # Then the rating is (2×5 + 1×2) / 3 × 20 = 80
    assert rating_score([(1, 2), (2, 1)], {1: 5, 2: 2}) == 80.0
    assert rating_score([(1, 1)], {1: 1}) == 20.0


def test_groups_without_ratings_drop_out_and_the_rest_scale_up() -> None:
    # Given owners (60) at 80, the party (20) at 60, nobody of the community (10)
    weights = {
        "OWNERS": 60,
        "PARTY_ORGANIZATION": 20,
        "SUBDISTRICT": 10,
        "COMMUNITY": 10,
    }
    stats = {
        "OWNERS": (80.0, 3),
        "PARTY_ORGANIZATION": (60.0, 1),
        "SUBDISTRICT": (40.0, 1),
    }

    # When the property service score is blended
    score = blend(EvaluationTarget.PROPERTY_SERVICE, weights, stats, 3)

    # Then it is (60×80 + 20×60 + 10×40) / 90, the shares scaled to 90
    assert score.status == ScoreStatus.SCORED
    assert score.score == 71.11
    shares = {g.group.value: g.share for g in score.groups}
    assert shares == {
        "OWNERS": 66.67,
        "PARTY_ORGANIZATION": 22.22,
        "SUBDISTRICT": 11.11,
        "COMMUNITY": None,
    }


# -- scores through the API --------------------------------------------------------


async def test_scores_blend_as_computed_by_hand(
    login: SignIn, evaluation: Evaluation
) -> None:
    # Given the example's ratings of E1
    await rate_the_example(login, evaluation)

    # When the district official reads E1's round
    official = await login("official_district")
    body = await official.query(ROUND, {"id": evaluation.rounds["E1"]})

    # Then the property service score is the hand-computed 71.11, and it explains
    # itself: owners (80, 60, 100) mean 80, the party 60, the subdistrict 40
    assert "errors" not in body, body
    found = body["data"]["evaluationRound"]
    service = found["propertyService"]
    assert service["status"] == "SCORED"
    assert service["score"] == 71.11
    assert service["ownerRatings"] == 3
    assert service["groups"] == [
        {"group": "OWNERS", "weight": 60, "count": 3, "mean": 80.0, "share": 66.67},
        {
            "group": "PARTY_ORGANIZATION",
            "weight": 20,
            "count": 1,
            "mean": 60.0,
            "share": 22.22,
        },
        {
            "group": "SUBDISTRICT",
            "weight": 10,
            "count": 1,
            "mean": 40.0,
            "share": 11.11,
        },
        {"group": "COMMUNITY", "weight": 10, "count": 0, "mean": None, "share": None},
    ]
    assert service["explanation"].startswith("71.11 = OWNERS 80.0 × 66.67%")
    # And the official sees no one's rating
    assert found["myRatings"] == []


async def test_too_few_owner_ratings_show_no_score_and_no_means(
    login: SignIn, evaluation: Evaluation
) -> None:
    # Given two owners' ratings of the committee (three are needed) and the company's
    await rate_the_example(login, evaluation)

    # When staff read the committee score
    body = await (await login("cadre_a1")).query(ROUND, {"id": evaluation.rounds["E1"]})

    # Then it shows not enough ratings: no score, no group mean, only counts
    committee = body["data"]["evaluationRound"]["ownersCommittee"]
    assert committee["status"] == "NOT_ENOUGH_RATINGS"
    assert committee["score"] is None
    assert committee["ownerRatings"] == 2
    assert committee["minOwnerRatings"] == 3
    assert {g["group"]: (g["count"], g["mean"]) for g in committee["groups"]} == {
        "OWNERS": (2, None),
        "PROPERTY_COMPANY": (1, None),
        "SUBDISTRICT": (0, None),
        "COMMUNITY": (0, None),
    }
    assert "Not enough ratings" in committee["explanation"]

    # When a third owner rates
    await rate_ok(
        await login("owner_3"),
        evaluation,
        "OWNERS_COMMITTEE",
        "OWNERS",
        oc_answers(evaluation, 3),
    )
    body = await (await login("cadre_a1")).query(ROUND, {"id": evaluation.rounds["E1"]})

    # Then there is a score: owners (80, 100, 60) mean 80 at 50, the company 60 at 20
    committee = body["data"]["evaluationRound"]["ownersCommittee"]
    assert committee["status"] == "SCORED"
    assert committee["score"] == round((50 * 80 + 20 * 60) / 70, 2)


async def test_one_rating_per_property_and_target(
    login: SignIn, world: World, evaluation: Evaluation
) -> None:
    # Given a co-owner of resident_a1's property, also verified
    record = await PropertyRecord.get(certificate_number="A-101")
    co_owner = await add_person(world, "co_owner", "共有人", "13900000024")
    await grant(co_owner, Role.RESIDENT, world.units["A1"])
    await PropertyOwnership.create(
        person=co_owner,
        record=record,
        estate=world.estates["E1"],
        unit_path=record.unit_path,
        certificate_number="A-101",
        verified_at=NOW,
    )
    owner = await login("resident_a1")
    await rate_ok(
        owner, evaluation, "PROPERTY_SERVICE", "OWNERS", ps_answers(evaluation, 4, 4)
    )

    # When the owner rates again, and the co-owner rates the same property
    again = await rate(
        owner, evaluation, "PROPERTY_SERVICE", "OWNERS", ps_answers(evaluation, 1, 1)
    )
    shared = await rate(
        await login("co_owner"),
        evaluation,
        "PROPERTY_SERVICE",
        "OWNERS",
        ps_answers(evaluation, 1, 1),
    )

    # Then both are refused as already rated, and one rating stands
    for body in (again, shared):
        assert body["data"]["ratingSubmit"]["errors"] == [
            {"field": "roundId", "code": "ALREADY_RATED"}
        ]
    assert await Rating.all().count() == 1
    # But the committee is another target: the owner rates it once too
    await rate_ok(
        owner, evaluation, "OWNERS_COMMITTEE", "OWNERS", oc_answers(evaluation, 5)
    )


@pytest.mark.parametrize(
    ("rater", "target", "group", "code"),
    [
        ("resident_b1", "PROPERTY_SERVICE", "OWNERS", "NOT_FOUND"),
        ("cadre_b1", "PROPERTY_SERVICE", "COMMUNITY", "NOT_FOUND"),
        ("official_b", "PROPERTY_SERVICE", "SUBDISTRICT", "NOT_FOUND"),
        ("official_a", "PROPERTY_SERVICE", "COMMUNITY", "FORBIDDEN"),
        ("cadre_a1", "PROPERTY_SERVICE", "SUBDISTRICT", "FORBIDDEN"),
        ("cadre_a1", "PROPERTY_SERVICE", "PARTY_ORGANIZATION", "FORBIDDEN"),
        ("official_district", "PROPERTY_SERVICE", "SUBDISTRICT", "FORBIDDEN"),
        ("company_staff", "OWNERS_COMMITTEE", "OWNERS", "FORBIDDEN"),
        ("committee_member", "PROPERTY_SERVICE", "OWNERS", "FORBIDDEN"),
    ],
)
async def test_only_the_groups_own_raters_rate(
    login: SignIn,
    evaluation: Evaluation,
    rater: str,
    target: str,
    group: str,
    code: str,
) -> None:
    # Given a caller who is not of the group for E1 (or does not see E1's round)
    client = await login(rater)
    answers = (
        ps_answers(evaluation, 5, 5)
        if target == "PROPERTY_SERVICE"
        else oc_answers(evaluation, 5)
    )

    # When they rate as that group
    body = await rate(client, evaluation, target, group, answers)

    # Then it is refused with a code, and nothing is stored
    assert codes(body) == [code], body
    assert await Rating.all().count() == 0


async def test_bad_ratings_are_payload_errors_and_change_nothing(
    login: SignIn, evaluation: Evaluation
) -> None:
    owner = await login("resident_a1")
    cases = [
        (
            "PROPERTY_SERVICE",
            "OWNERS",
            ps_answers(evaluation, 6, 1),
            "ANSWER_OUT_OF_RANGE",
        ),
        (
            "PROPERTY_SERVICE",
            "OWNERS",
            ps_answers(evaluation, 5, 5)[:1],
            "ANSWERS_INCOMPLETE",
        ),
        ("PROPERTY_SERVICE", "OWNERS", oc_answers(evaluation, 3), "UNKNOWN_QUESTION"),
        (
            "PROPERTY_SERVICE",
            "PROPERTY_COMPANY",
            ps_answers(evaluation, 5, 5),
            "GROUP_NOT_RATING_TARGET",
        ),
    ]
    for target, group, answers, code in cases:
        body = await rate(owner, evaluation, target, group, answers)
        assert code in [e["code"] for e in body["data"]["ratingSubmit"]["errors"]], body
    assert await Rating.all().count() == 0


async def test_an_api_token_cannot_rate(
    http: httpx.AsyncClient, login: SignIn, world: World, evaluation: Evaluation
) -> None:
    _, secret = await token_for(await login("admin"), world, "company", "甲物业 system")
    body = await rate(
        Client(http, secret),
        evaluation,
        "OWNERS_COMMITTEE",
        "PROPERTY_COMPANY",
        oc_answers(evaluation, 2),
    )
    assert codes(body) == ["FORBIDDEN"], body


# -- closing freezes ---------------------------------------------------------------


async def test_a_closed_round_is_frozen(login: SignIn, evaluation: Evaluation) -> None:
    # Given the example's ratings, and the score before closing
    await rate_the_example(login, evaluation)
    official = await login("official_a")
    before = await official.query(ROUND, {"id": evaluation.rounds["E1"]})

    # When the subdistrict official closes the round
    closed = await official.query(CLOSE, {"id": evaluation.rounds["E1"]})

    # Then it is closed, its scores are kept as they stood
    assert closed["data"]["evaluationRoundClose"] == {
        "errors": [],
        "round": {"status": "CLOSED"},
    }
    assert await EvaluationScore.all().count() == 2
    after = await official.query(ROUND, {"id": evaluation.rounds["E1"]})
    for target in ("propertyService", "ownersCommittee"):
        assert (
            after["data"]["evaluationRound"][target]
            == before["data"]["evaluationRound"][target]
        )

    # And no rating changes it any more, not even one removed from the database
    late = await rate(
        await login("cadre_a1"),
        evaluation,
        "PROPERTY_SERVICE",
        "COMMUNITY",
        ps_answers(evaluation, 1, 1),
    )
    assert late["data"]["ratingSubmit"]["errors"] == [
        {"field": "roundId", "code": "ROUND_CLOSED"}
    ]
    await Rating.filter(group="SUBDISTRICT").delete()
    again = await official.query(ROUND, {"id": evaluation.rounds["E1"]})
    assert again["data"]["evaluationRound"]["propertyService"]["score"] == 71.11
    # And it cannot be closed twice
    twice = await official.query(CLOSE, {"id": evaluation.rounds["E1"]})
    assert twice["data"]["evaluationRoundClose"]["errors"] == [
        {"field": "id", "code": "ROUND_CLOSED"}
    ]


async def test_closing_is_for_officials_over_the_estate(
    login: SignIn, evaluation: Evaluation
) -> None:
    for role, code in (("official_b", "NOT_FOUND"), ("cadre_a1", "FORBIDDEN")):
        body = await (await login(role)).query(CLOSE, {"id": evaluation.rounds["E1"]})
        assert codes(body) == [code], body
    assert await EvaluationRound.filter(status="CLOSED").count() == 0


# -- rankings ----------------------------------------------------------------------


async def test_officials_see_every_estate_under_them_ranked(
    login: SignIn, world: World, evaluation: Evaluation
) -> None:
    # Given E1 scored and E2, E3 without ratings
    await rate_the_example(login, evaluation)

    # When the district and subdistrict A rank their estates
    district = await (await login("official_district")).query(
        RANKING,
        {
            "unitId": encode_id("OrgUnit", world.units["district"].id),
            "target": "PROPERTY_SERVICE",
        },
    )
    sub_a = await (await login("official_a")).query(
        RANKING,
        {
            "unitId": encode_id("OrgUnit", world.units["A"].id),
            "target": "PROPERTY_SERVICE",
        },
    )

    # Then E1 is first; the estates without a score come last, unranked
    ranked = [
        (r["rank"], r["estate"]["name"]) for r in district["data"]["evaluationRanking"]
    ]
    assert ranked == [(1, "湖景苑"), (None, "江月苑"), (None, "山水苑")]
    ranked_a = [
        (r["rank"], r["estate"]["name"]) for r in sub_a["data"]["evaluationRanking"]
    ]
    assert ranked_a == [(1, "湖景苑"), (None, "江月苑")]


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("official_b", "FORBIDDEN"),
        ("cadre_b1", "FORBIDDEN"),
        ("company_staff", "FORBIDDEN"),
        ("committee_member", "FORBIDDEN"),
        ("resident_a1", "FORBIDDEN"),
        ("anonymous", "UNAUTHENTICATED"),
    ],
)
async def test_a_ranking_outside_ones_jurisdiction_is_refused(
    login: SignIn,
    anonymous: Client,
    world: World,
    evaluation: Evaluation,
    role: str,
    code: str,
) -> None:
    client = anonymous if role == "anonymous" else await login(role)
    body = await client.query(
        RANKING,
        {
            "unitId": encode_id("OrgUnit", world.units["A"].id),
            "target": "PROPERTY_SERVICE",
        },
    )
    assert codes(body) == [code], body
    assert body["data"] is None


# -- who sees what -----------------------------------------------------------------

# What each caller reads of E1's round: None (the round is hidden), or which of
# the two scores it sees.
E1_SEEN: dict[str, tuple[bool, bool] | None] = {
    "admin": (True, True),
    "official_district": (True, True),
    "official_a": (True, True),
    "official_b": None,
    "cadre_a1": (True, True),
    "cadre_b1": None,
    "company_staff": (True, False),
    "committee_member": (False, True),
    "resident_a1": (False, False),
    "resident_b1": None,
}


@pytest.mark.parametrize("role", [*E1_SEEN, "anonymous"])
async def test_each_role_reads_exactly_its_scores(
    login: SignIn, anonymous: Client, evaluation: Evaluation, role: str
) -> None:
    # Given E1's rated round
    await rate_the_example(login, evaluation)
    client = anonymous if role == "anonymous" else await login(role)

    # When the caller reads it by id and through node(id:)
    body = await client.query(ROUND, {"id": evaluation.rounds["E1"]})
    node = await client.query(
        ROUND_NODE,
        {"id": evaluation.rounds["E1"]},
    )

    listed = await client.query(ROUNDS)

    # Then it sees the round and the scores the table says, and no more
    if role == "anonymous":
        assert codes(body) == [REFUSAL[role]]
        assert codes(listed) == [REFUSAL[role]]
        assert node["data"]["node"] is None
        return
    assert "errors" not in body, body
    found = body["data"]["evaluationRound"]
    expected = E1_SEEN[role]
    names = [
        e["node"]["estate"]["name"] for e in listed["data"]["evaluationRounds"]["edges"]
    ]
    assert ("湖景苑" in names) == (expected is not None)
    if expected is None:
        assert found is None
        assert node["data"]["node"] is None
        return
    seen = (found["propertyService"] is not None, found["ownersCommittee"] is not None)
    assert seen == expected
    by_node = node["data"]["node"]
    assert (
        by_node["propertyService"] is not None,
        by_node["ownersCommittee"] is not None,
    ) == expected


async def test_a_firm_token_reads_its_estates_aggregate_and_nothing_of_another_firms(
    http: httpx.AsyncClient, login: SignIn, world: World, evaluation: Evaluation
) -> None:
    # Given the rated E1 (甲物业) and API tokens of 甲物业 and 乙物业 (manages E3)
    await rate_the_example(login, evaluation)
    admin = await login("admin")
    _, ours = await token_for(admin, world, "company", "甲物业 system")
    _, theirs = await token_for(admin, world, "other_company", "乙物业 system")
    firm, other = Client(http, ours), Client(http, theirs)

    # When each firm's system reads E1's round and lists its rounds
    mine = await firm.query(ROUND, {"id": evaluation.rounds["E1"]})
    listed = await firm.query(ROUNDS)
    foreign = await other.query(ROUND, {"id": evaluation.rounds["E1"]})
    other_listed = await other.query(ROUNDS)

    # Then 甲物业 reads E1's property service aggregate, not the committee's,
    # and no individual rating
    round_ = mine["data"]["evaluationRound"]
    assert round_["propertyService"]["score"] == 71.11
    assert round_["ownersCommittee"] is None
    assert round_["myRatings"] == []
    assert [
        e["node"]["estate"]["name"] for e in listed["data"]["evaluationRounds"]["edges"]
    ] == ["湖景苑"]
    # And 乙物业 sees nothing of E1, only its E3
    assert foreign["data"]["evaluationRound"] is None
    assert [
        e["node"]["estate"]["name"]
        for e in other_listed["data"]["evaluationRounds"]["edges"]
    ] == ["山水苑"]


async def test_a_rating_is_seen_by_its_author_only(
    login: SignIn, evaluation: Evaluation
) -> None:
    # Given resident_a1's rating
    owner = await login("resident_a1")
    given = await rate_ok(
        owner, evaluation, "PROPERTY_SERVICE", "OWNERS", ps_answers(evaluation, 5, 2)
    )
    rating_id = given["rating"]["id"]

    # When the author, another owner, staff and the admin look it up
    seen = {}
    for role in (
        "resident_a1",
        "owner_2",
        "cadre_a1",
        "official_district",
        "admin",
        "company_staff",
    ):
        body = await (await login(role)).query(NODE, {"id": rating_id})
        assert "errors" not in body, body
        seen[role] = body["data"]["node"]
    mine = await owner.query(ROUND, {"id": evaluation.rounds["E1"]})

    # Then only its author finds it, with its answers
    assert seen.pop("resident_a1") == {
        "id": rating_id,
        "score": 80.0,
        "comment": "",
        "answers": [
            {"questionId": evaluation.questions["0"], "value": 5},
            {"questionId": evaluation.questions["1"], "value": 2},
        ],
    }
    assert set(seen.values()) == {None}
    assert mine["data"]["evaluationRound"]["myRatings"] == [
        {"id": rating_id, "score": 80.0}
    ]


async def test_questionnaires_are_configured_by_the_districts_officials(
    login: SignIn, world: World
) -> None:
    variables = {
        "input": {
            "unitId": encode_id("OrgUnit", world.units["district"].id),
            "name": "测评",
            "questions": [
                {"target": t, "text": x, "weight": w}
                for t, x, w in PS_QUESTIONS + OC_QUESTIONS
            ],
        }
    }
    for role in ("official_a", "cadre_a1"):
        body = await (await login(role)).query(QUESTIONNAIRE_CREATE, variables)
        assert codes(body) == ["FORBIDDEN"], body
    bad = dict(
        variables["input"],
        weights=[{"target": "PROPERTY_SERVICE", "group": "OWNERS", "weight": 90}],
    )
    body = await (await login("official_district")).query(
        QUESTIONNAIRE_CREATE, {"input": bad}
    )
    assert [e["code"] for e in body["data"]["questionnaireCreate"]["errors"]] == [
        "WEIGHTS_NOT_100",
        "WEIGHTS_NOT_100",
    ]
    fine = await (await login("official_district")).query(
        QUESTIONNAIRE_CREATE, variables
    )
    assert fine["data"]["questionnaireCreate"]["errors"] == []
    assert fine["data"]["questionnaireCreate"]["questionnaire"]["minOwnerRatings"] == 5


# -- the demo -------------------------------------------------------------------------


async def test_the_demo_has_a_register_owners_scored_and_open_rounds_and_duties(
    db: str,
) -> None:
    from api.demo import load_demo
    from models import DutyCheck, DutyItem, Person

    # Given the small demo
    await load_demo("small")
    wanghu = await Estate.get(name="望湖锦苑")

    # Then its pilots have a register and verified owners, 李明 among them
    assert await PropertyRecord.filter(estate_id=wanghu.id).count() > 10
    li_ming = await Person.get(phone="13900000009")
    assert await PropertyOwnership.filter(
        person_id=li_ming.id, estate_id=wanghu.id
    ).exists()
    # And a closed round whose property service is scored, and open rounds
    closed = await EvaluationRound.get(estate_id=wanghu.id, status="CLOSED")
    frozen = await EvaluationScore.get(round_id=closed.id, target="PROPERTY_SERVICE")
    assert frozen.status == "SCORED" and frozen.score is not None
    groups = {g["group"]: g["count"] for g in frozen.groups}
    assert groups["OWNERS"] >= closed.min_owner_ratings
    assert (
        groups["PARTY_ORGANIZATION"]
        == groups["SUBDISTRICT"]
        == groups["COMMUNITY"]
        == 1
    )
    assert (
        await EvaluationRound.filter(status="OPEN").count()
        == await Estate.all().count()
    )
    # And duty items of the three parties with checks
    assert await DutyItem.filter(estate_id=wanghu.id).count() == 6
    assert await DutyCheck.filter(estate_id=wanghu.id).count() > 20


async def test_the_job_closes_ended_rounds_once(
    app: Any, login: SignIn, evaluation: Evaluation
) -> None:
    from resolvers.jobs import run_job, system_caller

    # Given the rated 2026-H1 rounds, ended by now
    await rate_the_example(login, evaluation)
    context = app.state.platform.context("127.0.0.1")
    context.caller = await system_caller()

    # When the job runs, and runs again
    first = await run_job("evaluation.close_ended", context)
    second = await run_job("evaluation.close_ended", context)

    # Then the three rounds were closed once, their scores frozen as they stood
    assert (first["outcome"], first["counts"]) == ("OK", {"closed": 3})
    assert (second["outcome"], second["counts"]) == ("OK", {"closed": 0})
    assert await EvaluationRound.filter(status="OPEN").count() == 0
    scores = await EvaluationScore.filter(target="PROPERTY_SERVICE").values_list(
        "score", flat=True
    )
    assert sorted(scores, key=lambda s: s or 0) == [None, None, 71.11]


ROUNDS_WITH_SCORES = """
query RoundsWithScores {
  evaluationRounds(first: 50) {
    edges {
      node {
        period estate { name }
        propertyService { score groups { count } }
        ownersCommittee { status }
        coordination { party due done }
      }
    }
  }
}
"""


async def test_rounds_with_scores_take_the_same_statements_for_more_estates(
    login: SignIn,
    world: World,
    evaluation: Evaluation,
    statements: Callable[[], Any],
) -> None:
    # Given the three estates' rounds, rated
    await rate_the_example(login, evaluation)
    official = await login("official_district")

    async def count() -> int:
        with statements() as seen:
            body = await official.query(ROUNDS_WITH_SCORES)
        assert "errors" not in body, body
        return len(seen)

    few = await count()

    # When six more estates get their rounds
    a1 = world.units["A1"]
    for number in range(6):
        await Estate.create(unit=a1, unit_path=a1.path, name=f"新苑{number}")
    questionnaire = await EvaluationRound.first().values("questionnaire_id")
    again = await official.query(
        ROUNDS_OPEN,
        {
            "input": {
                "unitId": encode_id("OrgUnit", world.units["district"].id),
                "questionnaireId": encode_id(
                    "Questionnaire", questionnaire["questionnaire_id"]
                ),
                "period": "2026-H1",
                "startsOn": "2026-01-01",
                "endsOn": "2026-06-30",
            }
        },
    )
    assert again["data"]["evaluationRoundsOpen"]["opened"] == 6

    # Then listing nine rounds with their scores and duties costs what three did
    assert await count() == few


async def test_a_rating_is_published_without_its_content(
    bus: Any, login: SignIn, evaluation: Evaluation
) -> None:
    # Given a subscriber of the estate topic everywhere
    subscription = bus.subscribe("estate", ("/",))
    events = aiter(subscription)

    # When an owner rates
    owner = await login("resident_a1")
    await rate_ok(
        owner, evaluation, "PROPERTY_SERVICE", "OWNERS", ps_answers(evaluation, 5, 2)
    )

    # Then one event says the round was rated, where, and by whom, nothing more
    event = await asyncio.wait_for(anext(events), timeout=5)
    await subscription.close()
    assert (event.kind, event.subject_type) == ("RATING_SUBMITTED", "EvaluationRound")
    assert encode_id("EvaluationRound", event.subject_id) == evaluation.rounds["E1"]
    assert event.data == {}


async def test_the_blend_is_shown_on_the_questionnaire_and_each_round(
    login: SignIn, evaluation: Evaluation
) -> None:
    # When the estate's owner reads the configuration, through lists
    body = await (await login("resident_a1")).query(CONFIGURATION)

    # Then the questionnaire and the round both show the district's blend
    assert "errors" not in body, body
    expected = [{"target": t, "group": g, "weight": w} for t, g, w in WEIGHTS]
    assert body["data"]["questionnaires"][0]["weights"] == expected
    round_ = body["data"]["evaluationRounds"]["edges"][0]["node"]
    assert round_ == {"minOwnerRatings": 3, "weights": expected}


async def test_an_owner_whose_ownership_ended_no_longer_rates(
    login: SignIn, world: World, evaluation: Evaluation
) -> None:
    # Given owner_2's ownership ended, as a whole register without their line
    # ends it (tests/test_property.py), and their line with it
    ownership = await PropertyOwnership.get(certificate_number="A-102")
    await PropertyOwnership.filter(id=ownership.id).update(ended_at=NOW)
    await PropertyRecord.filter(id=ownership.record_id).update(ended_at=NOW)

    # When they rate E1 as an owner
    body = await rate(
        await login("owner_2"),
        evaluation,
        "PROPERTY_SERVICE",
        "OWNERS",
        ps_answers(evaluation, 5, 5),
    )

    # Then they are refused as anyone outside the estate is, and nothing is stored
    assert codes(body) == ["NOT_FOUND"], body
    assert await Rating.all().count() == 0
