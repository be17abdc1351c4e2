"""The ways of loading that ``chute bench`` compares, and their order for a database.

Every database runs the generic ones (:data:`GENERIC`: what an application does with a plain
driver), then its own bulk paths (:attr:`Target.own`), then chute (:data:`CHUTE`).  Each opens
its own connection inside the timed part.
"""

from __future__ import annotations

import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from chute_bench.records import CHUTE_BATCH_ROWS, VALUES_ROWS, records
from chute_bench.targets import Job, Outcome, Strategy, Target


def row_by_row(job: Job, target: Target) -> Outcome:
    """One INSERT and one COMMIT per record, on a sample (at most ``sample_rows`` records or
    ``sample_seconds``); the worker extrapolates the time to every record."""
    sql = target.insert_sql(job.table, 1)
    written = 0
    started = time.perf_counter()
    with target.session() as db:
        connected = time.perf_counter()
        for record in islice(records(job.rows), job.sample_rows):
            db.begin()
            db.execute(sql, target.row(record))
            db.commit()
            written += 1
            if time.perf_counter() - connected > job.sample_seconds:
                break
    return Outcome(written, sample=written < job.rows, connect_seconds=connected - started)


def executemany(job: Job, target: Target) -> Outcome:
    """``executemany`` of every record in one transaction (of ``sample_rows`` records, to
    extrapolate from, where the target samples it)."""
    rows = min(job.rows, job.sample_rows) if "executemany" in target.sampled else job.rows
    started = time.perf_counter()
    with target.session() as db:
        connected = time.perf_counter()
        db.begin()
        db.executemany(target.insert_sql(job.table, 1), map(target.row, records(rows)))
        db.commit()
    return Outcome(rows, sample=rows < job.rows, connect_seconds=connected - started)


def multirow_values(job: Job, target: Target) -> Outcome:
    """``INSERT ... VALUES (...), (...), ...`` of VALUES_ROWS records each, one transaction."""
    full = target.insert_sql(job.table, VALUES_ROWS)
    source = records(job.rows)
    with target.session() as db:
        db.begin()
        while chunk := [target.row(r) for r in islice(source, VALUES_ROWS)]:
            sql = full if len(chunk) == VALUES_ROWS else target.insert_sql(job.table, len(chunk))
            db.execute(sql, tuple(v for row in chunk for v in row))
        db.commit()
    return Outcome(job.rows)


def _chute(job: Job, batch_rows: int | None, workers: int | None = None) -> Outcome:
    import chute

    with tempfile.TemporaryDirectory(prefix="chute-bench-") as tmp:
        # batch_rows None: the adaptive batcher; workers None: the database's default
        options: dict[str, Any] = {"batch_rows": batch_rows, "workers": workers}
        report = chute.load(
            records(job.rows),
            into=job.into,
            table=job.table,
            rejects=str(Path(tmp) / "rejects.jsonl"),
            **options,
        )
    if report.rejected:
        first = report.rejects[0].message if report.rejects else "?"
        raise RuntimeError(f"chute rejected {report.rejected:,} records, e.g. {first}")
    return Outcome(report.written, connections=report.workers, extra={"batches": report.batches})


def chute_fixed(job: Job, target: Target) -> Outcome:
    return _chute(job, CHUTE_BATCH_ROWS)


def chute_adaptive(job: Job, target: Target) -> Outcome:
    return _chute(job, None)


def chute_one_writer(job: Job, target: Target) -> Outcome:
    """chute with one connection writing, like every other strategy: like for like."""
    return _chute(job, None, workers=1)


GENERIC: dict[str, Strategy] = {
    "row_by_row": Strategy("INSERT + COMMIT per row", row_by_row),
    "executemany": Strategy("executemany, one transaction", executemany),
    "multirow_values": Strategy("multi-row VALUES, one transaction", multirow_values),
}
CHUTE: dict[str, Strategy] = {
    "chute_fixed": Strategy(f"chute, batch_rows={CHUTE_BATCH_ROWS:,}", chute_fixed),
    "chute_adaptive": Strategy("chute, adaptive batches", chute_adaptive),
    "chute_one_writer": Strategy(
        "chute, adaptive batches, one writer (like for like)", chute_one_writer
    ),
}


def plan(target: Target) -> dict[str, Strategy]:
    """Strategy name -> strategy, in the order they run on ``target``'s database."""
    return {**GENERIC, **target.own, **CHUTE}
