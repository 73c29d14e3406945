"""Scoring a district's evaluation round: every estate of the demo district.

Loads the district demo into a throwaway database, gives every estate's open
round (2026-H2) owner ratings (``--owners`` per estate on average) and one rating
of each other rater group, then measures, as the district official:

- the ranking of all estates through the resolver (``resolvers.evaluation.ranking``),
- the same through GraphQL (``evaluationRanking`` over ASGI, in-process),
- closing every round of the period (scores computed and frozen),
- the ranking again, from the frozen scores,

with the SQL statements each sends. Run by hand:

    .venv/bin/python bench/evaluation.py --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.app import create_app
from api.demo import DEMO_PASSWORD, load_demo
from api.events import LocalBus
from api.settings import load_settings
from bench.common import bench_environment, migrated_database, throwaway_database
from bench.statements import count_statements
from models import EvaluationRound, OrgUnit, Person, Question, Rating
from models.enums import EvaluationTarget, Level, RaterGroup
from resolvers.context import Context
from resolvers.evaluation import close_rounds, ranking, rating_score
from resolvers.files import LocalFileStore
from resolvers.identity import caller_for_person
from resolvers.notify import LogSender
from schema.base import encode_id

PERIOD = "2026-H2"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
OFFICIAL_PHONE = "13900000002"  # 陈建国, district official
LOGIN = """
mutation Login($p: String!, $w: String!) {
  authLogin(phone: $p, password: $w) { accessToken }
}
"""
RANKING = """
query Ranking($unitId: ID!) {
  evaluationRanking(unitId: $unitId, period: "2026-H2", target: PROPERTY_SERVICE) {
    rank estate { name }
    score { status score ownerRatings groups { group mean count share } }
  }
}
"""


async def _timed(
    action: Callable[[], Awaitable[Any]], repeat: int
) -> tuple[float, float, int]:
    """Median and best milliseconds over ``repeat`` runs, and statements of one."""
    with count_statements() as counter:
        await action()
    statements = len(counter.logged)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), statements


async def _rate_everything(owners: int, seed: int) -> tuple[int, int]:
    """Ratings of every open round: owners per estate, and each other group once."""
    rng = random.Random(seed)
    rounds = await EvaluationRound.filter(period=PERIOD).values(
        "id", "unit_path", "questionnaire_id"
    )
    questions = {
        target: [
            (q["id"], q["weight"])
            for q in await Question.filter(target=target)
            .order_by("position")
            .values("id", "weight")
        ]
        for target in EvaluationTarget
    }
    people = [
        int(str(p)) for p in await Person.all().limit(5000).values_list("id", flat=True)
    ]
    await Rating.filter(round__period=PERIOD).delete()
    made: list[Rating] = []

    def add(
        round_: dict[str, Any], target: EvaluationTarget, group: RaterGroup, key: str
    ) -> None:
        answers = {q: rng.randint(2, 5) for q, _ in questions[target]}
        made.append(
            Rating(
                round_id=round_["id"],
                unit_path=round_["unit_path"],
                target=target,
                group=group,
                rater_key=key,
                person_id=rng.choice(people),
                answers={str(k): v for k, v in answers.items()},
                score=rating_score(questions[target], answers),
                created_at=NOW,
            )
        )

    for round_ in rounds:
        for number in range(rng.randint(owners // 2, owners * 3 // 2)):
            for target in EvaluationTarget:
                add(round_, target, RaterGroup.OWNERS, f"property:bench-{number}")
        for group in (
            RaterGroup.PARTY_ORGANIZATION,
            RaterGroup.SUBDISTRICT,
            RaterGroup.COMMUNITY,
        ):
            add(round_, EvaluationTarget.PROPERTY_SERVICE, group, "person:bench")
        for group in (
            RaterGroup.PROPERTY_COMPANY,
            RaterGroup.SUBDISTRICT,
            RaterGroup.COMMUNITY,
        ):
            add(round_, EvaluationTarget.OWNERS_COMMITTEE, group, "person:bench")
    await Rating.bulk_create(made, batch_size=2000)
    return len(rounds), len(made)


async def measure(url: str, owners: int, repeat: int) -> None:
    async with migrated_database(url):
        started = time.perf_counter()
        await load_demo("district")
        print(f"district demo loaded in {time.perf_counter() - started:.1f} s")
        estates, ratings = await _rate_everything(owners, 7)
        print(f"{estates} estates with an open {PERIOD} round, {ratings} ratings")

        settings = load_settings()
        official = await Person.get(phone=OFFICIAL_PHONE)
        district = await OrgUnit.get(name="瓯海区", level=Level.DISTRICT)
        caller = await caller_for_person(official.id, datetime.now(UTC))
        context = Context(
            bus=LocalBus(),
            auth=settings.auth,
            store=LocalFileStore(settings.data_dir / "files"),
            sender=LogSender(),
            caller=caller,
            id_key=settings.id_key,
        )

        async def resolver() -> Any:
            context.reset()
            return await ranking(
                context, district.path, PERIOD, EvaluationTarget.PROPERTY_SERVICE
            )

        app = create_app(
            settings, manage_database=False, bus=LocalBus(), sender=LogSender()
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench"
        ) as http:
            login = await http.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "variables": {"p": OFFICIAL_PHONE, "w": DEMO_PASSWORD},
                },
            )
            token = login.json()["data"]["authLogin"]["accessToken"]
            variables = {"unitId": encode_id("OrgUnit", district.id)}

            async def graphql() -> Any:
                response = await http.post(
                    "/graphql",
                    json={"query": RANKING, "variables": variables},
                    headers={"authorization": f"Bearer {token}"},
                )
                body = response.json()
                assert "errors" not in body, body
                return body

            rows = [
                ("ranking, open round (resolver)", await _timed(resolver, repeat)),
                ("ranking, open round (GraphQL)", await _timed(graphql, repeat)),
            ]
            first = (await graphql())["data"]["evaluationRanking"]
            print(
                f"ranked {sum(1 for r in first if r['rank'])} of {len(first)} estates"
            )

            started = time.perf_counter()
            with count_statements() as counter:
                context.reset()
                closed = await close_rounds(context, district.id, PERIOD)
            close_ms = (time.perf_counter() - started) * 1000
            rows.append(
                (
                    f"close {closed} rounds (freeze scores)",
                    (close_ms, close_ms, len(counter.logged)),
                )
            )
            rows += [
                ("ranking, closed round (resolver)", await _timed(resolver, repeat)),
                ("ranking, closed round (GraphQL)", await _timed(graphql, repeat)),
            ]
            assert (await graphql())["data"]["evaluationRanking"] == first

        print(
            "\n| operation | median ms | best ms | statements |\n"
            "| --- | ---: | ---: | ---: |"
        )
        for name, (median, best, statements) in rows:
            print(f"| {name} | {median:.1f} | {best:.1f} | {statements} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL server (SQLite if empty)"
    )
    parser.add_argument(
        "--owners", type=int, default=40, help="owner ratings per estate, on average"
    )
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    async def run() -> None:
        with bench_environment(database_url=args.database_url or None) as folder:
            async with throwaway_database(args.database_url or None, folder) as url:
                await measure(url, args.owners, args.repeat)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
