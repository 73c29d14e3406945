"""What the care tests share: a clock to move, contexts per person of the world,
the sample files of tests/data, and imports of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api.events import LocalBus
from models import OrgUnit
from models.enums import BeneficiarySource, Role
from permissions.caller import Caller, Grant
from resolvers.care import import_beneficiaries
from resolvers.context import Context
from resolvers.files import LocalFileStore
from resolvers.identity import caller_for_person
from resolvers.notify import LogSender
from tests.world import World

DATA = Path(__file__).resolve().parent / "data"
# 10:00 on 1 March 2026 in China.
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
FILES = {
    BeneficiarySource.ZHELIJIU: "zhelijiu",
    BeneficiarySource.CIVIL_AFFAIRS: "civil_affairs",
    BeneficiarySource.HOUSING: "housing",
    BeneficiarySource.DISABLED_FEDERATION: "disabled_federation",
}
# The sample's people, by the name the departments give them.
WANG, CHEN, ZHOU, HUANG, LIN, WU, ZHENG = (
    "王秀英",
    "陈建国",
    "周美华",
    "黄德明",
    "林小雨",
    "吴丽娟",
    "郑志强",
)
# Near 湖景苑 in the world's community A1 (WGS-84), and the same in GCJ-02.
HOME = (27.9940, 120.6990)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_context(
    settings: Any, caller: Caller, clock: Clock, bus: LocalBus | None = None
) -> Context:
    return Context(
        bus=bus or LocalBus(),
        auth=settings.auth,
        store=LocalFileStore(settings.data_dir / "files"),
        sender=LogSender(),
        caller=caller,
        clock=clock,
        id_key=settings.id_key,
    )


async def context_of(
    world: World,
    settings: Any,
    key: str,
    clock: Clock,
    bus: LocalBus | None = None,
) -> Context:
    """A context acting as ``key`` of the world."""
    caller = await caller_for_person(world.people[key].id, clock())
    return make_context(settings, caller, clock, bus)


def system_context(
    world: World, settings: Any, clock: Clock, bus: LocalBus | None = None
) -> Context:
    """What a scheduled job gets: an admin of the root, no person."""
    root = world.units["district"]
    caller = Caller(grants=(Grant(Role.ADMIN, root.id, root.path),))
    return make_context(settings, caller, clock, bus)


def sample(source: BeneficiarySource, suffix: str = "csv") -> tuple[str, bytes]:
    name = f"{FILES[source]}.{suffix}"
    return name, (DATA / name).read_bytes()


async def import_sample(
    context: Context,
    unit: OrgUnit,
    source: BeneficiarySource,
    suffix: str = "csv",
) -> tuple[dict[str, Any], int]:
    filename, data = sample(source, suffix)
    return await import_beneficiaries(context, source, unit.id, filename, data)


async def import_bytes(
    context: Context,
    unit: OrgUnit,
    source: BeneficiarySource,
    text: str,
    filename: str = "list.csv",
) -> tuple[dict[str, Any], int]:
    return await import_beneficiaries(
        context, source, unit.id, filename, text.encode("utf-8-sig")
    )
