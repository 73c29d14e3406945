"""Imports: a table from a file, handled row by row in chunks, with a report.

``run_import`` reads and checks the file first (an unreadable file or a missing
column changes nothing), then records the run and hands the rows to the domain's
handler, one transaction per chunk: a large file shows progress as it goes, and a
fault keeps what earlier chunks committed (a re-import then resumes, since
handlers return UNCHANGED for what is already there).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from models import ImportRowReport, ImportRun
from models.enums import ImportOutcome, ImportStatus
from resolvers.base import Work, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.loaders import fetch_row
from resolvers.tabular import Table, digest, read_table

__all__ = ["TOPIC", "RowResult", "run_import"]

logger = logging.getLogger(__name__)

TOPIC = "import"
CHUNK_ROWS = 500


@dataclass(frozen=True, slots=True)
class RowResult:
    outcome: ImportOutcome
    code: str = ""
    message: str = ""


Values = dict[str, str]
RowHandler = Callable[[Work, int, Values], Awaitable[RowResult]]
ChunkHandler = Callable[
    [Work, Sequence[tuple[int, Values]]], Awaitable[list[RowResult]]
]
# After the last row, in one transaction of its own: what the whole file decides
# (lines it no longer lists, say); adds its own outcomes to the counts.
FinishHandler = Callable[[Work, Counter[str]], Awaitable[None]]


async def run_import(
    context: Context,
    *,
    kind: str,
    filename: str,
    data: bytes,
    columns: Sequence[str],
    handle: RowHandler | None = None,
    handle_chunk: ChunkHandler | None = None,
    unit_id: int | None = None,
    unit_path: str = "",
    target_type: str = "",
    target_id: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    prepare: Callable[[Table], None] | None = None,
    finish: FinishHandler | None = None,
) -> dict[str, Any]:
    """Import ``data``; the run's row (status DONE, or FAILED with the reason).

    Give ``handle`` (one row at a time) or ``handle_chunk`` (a chunk at once, for
    bulk statements), and ``finish`` for a last step over the whole file, run
    only when every chunk went through. Raises ``Invalid`` before anything is
    stored when the file cannot be read or lacks one of ``columns``.
    """
    if (handle is None) == (handle_chunk is None):
        raise ValueError("run_import needs exactly one of handle and handle_chunk")
    table = read_table(data, filename)
    table.require(columns)
    if prepare is not None:
        prepare(table)

    caller = context.caller
    run = await ImportRun.create(
        kind=kind,
        unit_id=unit_id,
        unit_path=unit_path,
        target_type=target_type,
        target_id=target_id,
        filename=filename[:200],
        digest=digest(data),
        started_by_id=caller.person_id,
        token_id=caller.token_id,
        status=ImportStatus.RUNNING,
        started_at=context.clock(),
        total_rows=table.total,
    )
    counts: Counter[str] = Counter()
    done = 0
    try:
        batch: list[tuple[int, Values]] = []
        for row in table.rows:
            batch.append(row)
            if len(batch) >= chunk_rows:
                done += await _chunk(context, run, batch, handle, handle_chunk, counts)
                batch = []
        if batch:
            done += await _chunk(context, run, batch, handle, handle_chunk, counts)
        if finish is not None:
            async with write(context, f"IMPORT_{kind}") as work:
                await finish(work, counts)
                run.counts = dict(counts)
                await ImportRun.filter(id=run.id).update(counts=run.counts)
    except Exception as error:
        logger.exception("import %s (run %s) failed", kind, run.id)
        await ImportRun.filter(id=run.id).update(
            status=ImportStatus.FAILED,
            finished_at=context.clock(),
            failure=f"{type(error).__name__}"[:300],
        )
        await _progress(context, run, "IMPORT_FAILED")
        return await fetch_row(ImportRun, run.id)

    await ImportRun.filter(id=run.id).update(
        status=ImportStatus.DONE, finished_at=context.clock()
    )
    await _progress(context, run, "IMPORT_DONE")
    return await fetch_row(ImportRun, run.id)


async def _chunk(
    context: Context,
    run: ImportRun,
    batch: list[tuple[int, Values]],
    handle: RowHandler | None,
    handle_chunk: ChunkHandler | None,
    counts: Counter[str],
) -> int:
    async with write(context, f"IMPORT_{run.kind}") as work:
        if handle_chunk is not None:
            results = await handle_chunk(work, batch)
        else:
            assert handle is not None
            results = [await handle(work, number, values) for number, values in batch]
        if len(results) != len(batch):
            raise RuntimeError("an import handler returned one result per row")

        reports = []
        for (number, _), result in zip(batch, results, strict=True):
            counts[result.outcome.value] += 1
            if result.outcome is not ImportOutcome.TAKEN or result.code:
                if result.outcome is ImportOutcome.UNCHANGED and not result.code:
                    continue
                reports.append(
                    ImportRowReport(
                        run_id=run.id,
                        row_number=number,
                        outcome=result.outcome,
                        code=result.code[:60],
                        message=result.message[:300],
                    )
                )
        if reports:
            await ImportRowReport.bulk_create(reports)
        run.done_rows += len(batch)
        run.counts = dict(counts)
        await ImportRun.filter(id=run.id).update(
            done_rows=run.done_rows, counts=run.counts
        )
        work.emit(_event(context, run, "IMPORT_PROGRESS"))
    return len(batch)


def _event(context: Context, run: ImportRun, kind: str) -> Event:
    return Event(
        topic=TOPIC,
        kind=kind,
        unit_path=run.unit_path,
        subject_type="ImportRun",
        subject_id=run.id,
        actor_id=context.caller.person_id,
        at=context.clock(),
        data={"done_rows": run.done_rows, "total_rows": run.total_rows},
    )


async def _progress(context: Context, run: ImportRun, kind: str) -> None:
    await context.bus.publish(_event(context, run, kind))
