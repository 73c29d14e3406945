"""Imports: each run of a file, its progress and its row report."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from models import ImportRowReport as ImportRowReportModel
from models import ImportRun as ImportRunModel
from models import OrgUnit as OrgUnitModel
from models.enums import ImportOutcome, ImportStatus
from permissions.errors import NotFound
from permissions.rules import SIGNED_IN, VISIBLE
from permissions.scope import visible
from resolvers.events import Event
from resolvers.imports import TOPIC
from resolvers.live import stream
from resolvers.loaders import columns
from resolvers.pagination import paginate
from schema.base import AppInfo, Connection, Node, as_row, decode_id, encode_id, field
from schema.node import register_node
from schema.org import OrgUnit
from schema.relations import related

ImportOutcomeType = strawberry.enum(
    ImportOutcome,
    description=(
        "TAKEN (new), MERGED (joined to what was there), UNCHANGED (already there), "
        "REFUSED (not taken: the report says why)."
    ),
)
ImportStatusType = strawberry.enum(ImportStatus, description="Where a run stands.")


@strawberry.type(description="What happened to one row of an imported file.")
class ImportRowReport:
    row_number: int = field(VISIBLE, "The row as numbered in the sheet (header = 1).")
    outcome: ImportOutcomeType = field(VISIBLE, "What was done with it.")  # type: ignore[valid-type]
    code: str = field(
        VISIBLE, "A stable code for the reason, e.g. ID_NUMBER_CHECK_DIGIT."
    )
    message: str = field(VISIBLE, "The reason, for the person who sent the file.")


@strawberry.type(description="One import of a file: its progress, counts and report.")
class ImportRun(Node):
    kind: str = field(VISIBLE, "What was imported, e.g. PROPERTY_REGISTER.")
    filename: str = field(VISIBLE, "The file's name as uploaded.")
    digest: str = field(VISIBLE, "The SHA-256 of the file.")
    status: ImportStatusType = field(VISIBLE, "Running, done or failed.")  # type: ignore[valid-type]
    total_rows: int = field(VISIBLE, "Rows in the file (below the header).")
    done_rows: int = field(VISIBLE, "Rows handled so far.")
    counts: JSON = field(VISIBLE, 'Rows per outcome, e.g. {"TAKEN": 95, "REFUSED": 5}.')
    started_at: datetime = field(VISIBLE, "When it started.")
    finished_at: datetime | None = field(VISIBLE, "When it ended.")
    failure: str = field(VISIBLE, "Why it failed, if it did.")
    unit: OrgUnit | None = related(
        VISIBLE,
        "The unit it was imported for.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )

    @field(VISIBLE, "The global id of the object imported into (an estate, ...).")
    def target_id(self) -> strawberry.ID | None:
        row = as_row(self)
        if not row["target_type"] or row["target_id"] is None:
            return None
        return encode_id(row["target_type"], row["target_id"])

    @field(VISIBLE, "The rows refused or merged, with their reasons, by row number.")
    async def reports(
        self,
        info: AppInfo,
        outcome: ImportOutcomeType | None = None,  # type: ignore[valid-type]
        first: int = 100,
        after: str | None = None,
    ) -> Connection[ImportRowReport]:
        caller = info.context.caller
        queryset = visible(ImportRowReportModel, caller).filter(
            run_id=as_row(self)["id"]
        )
        if outcome is not None:
            queryset = queryset.filter(outcome=ImportOutcome(outcome))
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


register_node("ImportRun", ImportRunModel)


@strawberry.type
class ImportQuery:
    @field(SIGNED_IN, "Imports the caller may see, of one kind or all, newest last.")
    async def import_runs(
        self,
        info: AppInfo,
        kind: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ImportRun]:
        queryset = visible(ImportRunModel, info.context.caller)
        if kind:
            queryset = queryset.filter(kind=kind)
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]


@strawberry.type
class ImportSubscription:
    @field(
        SIGNED_IN,
        "An import's progress: the run after each chunk, until it ends.",
        is_subscription=True,
    )
    async def import_progress(
        self, info: AppInfo, id: strawberry.ID
    ) -> AsyncGenerator[ImportRun, None]:
        _, pk = decode_id(id, "ImportRun")
        context = info.context
        run = await visible(ImportRunModel, context.caller).get_or_none(id=pk)
        if run is None:
            raise NotFound("No ImportRun has this id.")

        def admit(event: Event) -> bool:
            return event.subject_id == pk

        async def current() -> Any:
            found = (
                await visible(ImportRunModel, context.caller)
                .filter(id=pk)
                .values(*columns(ImportRunModel))
            )
            return found[0] if found else None

        first = await current()
        yield first
        if first is None or first["status"] != ImportStatus.RUNNING:
            return
        events = stream(context, TOPIC, (run.unit_path,), admit)
        async with aclosing(events):
            async for _ in events:
                now = await current()
                if now is None:
                    return
                yield now
                if now["status"] != ImportStatus.RUNNING:
                    return
