"""Import jobs: what a tenant asked for, and how far each got.

A job's row holds its state (``queued``, ``running``, ``done``, ``failed``,
``cancelled``), its progress, its report and its *lease*: a number a worker raises when it
takes the job.  Every commit of the job's data checks the lease in the same transaction
(:class:`JobFence`, :mod:`chute.service.leases`), so a worker that lost the job to another
(its heartbeat stopped, the job was given to someone else) can never commit again: no
duplicate and no gap, since the next worker goes on from the last checkpoint committed.
"""

from __future__ import annotations

import threading
from typing import Any

from psycopg.types.json import Jsonb

from chute.report import LoadReport
from chute.service import leases
from chute.service.leases import LeaseLost as LeaseLost
from chute.service.state import SCHEMA, ServiceDb
from chute.sinks.contract import Sink

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
#: what a job's spec may hold, besides its target (``table`` or ``dataset``)
SPEC_FIELDS = ("mode", "key", "rename", "skip", "types", "options", "branch", "message")
#: the options of ``chute.load`` a job may set
LOAD_OPTIONS = (
    "format",
    "delimiter",
    "quote",
    "encoding",
    "header",
    "sheet",
    "max_errors",
    "add_columns",
    "atomic",
    "batch_rows",
)

_COLUMNS = (
    "id, upload_id, spec, state, cancel, bytes_total, bytes_done, rows_done, report, error, "
    "created, started, finished"
)


def create_job(db: ServiceDb, tenant: int, upload: str, spec: dict[str, Any], size: int) -> int:
    row = db.one(
        f"INSERT INTO {SCHEMA}.jobs (tenant_id, upload_id, spec, bytes_total) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (tenant, upload, Jsonb(spec), size),
    )
    assert row is not None
    return int(row["id"])


def job_view(row: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it."""
    spec = row["spec"]
    return {
        "id": row["id"],
        "upload": row["upload_id"],
        "state": row["state"],
        "cancel_requested": row["cancel"] and row["state"] not in FINISHED,
        **{k: spec[k] for k in ("table", "dataset", *SPEC_FIELDS) if k in spec},
        "bytes_total": row["bytes_total"],
        "bytes_done": row["bytes_done"],
        "rows_done": row["rows_done"],
        "report": _public(row["report"]),
        "error": row["error"],
        "created": row["created"].isoformat(),
        "started": row["started"] and row["started"].isoformat(),
        "finished": row["finished"] and row["finished"].isoformat(),
    }


#: report fields that name the service's own paths and database: not the tenant's business
_PRIVATE = ("source", "target", "rejects_to", "committed_through")


def _public(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {k: v for k, v in report.items() if k not in _PRIVATE}


def get_job(db: ServiceDb, tenant: int, job: int) -> dict[str, Any] | None:
    return db.one(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.jobs WHERE id = %s AND tenant_id = %s", (job, tenant)
    )


def list_jobs(db: ServiceDb, tenant: int, limit: int = 100) -> list[dict[str, Any]]:
    return db.all(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.jobs WHERE tenant_id = %s ORDER BY id DESC LIMIT %s",
        (tenant, limit),
    )


def cancel_job(db: ServiceDb, tenant: int, job: int) -> bool:
    """Ask job ``job`` to stop: a queued job is cancelled at once, a running one at its
    next batch.  False: no such job of this tenant."""
    with db.connect() as conn:
        row = conn.execute(
            f"UPDATE {SCHEMA}.jobs SET cancel = true, "
            "state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, "
            "finished = CASE WHEN state = 'queued' THEN now() ELSE finished END "
            "WHERE id = %s AND tenant_id = %s RETURNING id",
            (job, tenant),
        ).fetchone()
    return row is not None


def take_job(db: ServiceDb, job: int) -> dict[str, Any] | None:
    """Take job ``job`` for this worker: its row with the new lease; None: the job is
    finished (or cancelled) and there is nothing to do."""
    return db.one(
        f"UPDATE {SCHEMA}.jobs j SET lease = lease + 1, state = 'running', "
        "started = coalesce(started, now()) "
        "WHERE id = %s AND state IN ('queued', 'running') AND NOT cancel "
        "RETURNING id, tenant_id, upload_id, spec, lease, key, bytes_total",
        (job,),
    )


def finish_job(
    db: ServiceDb,
    job: int,
    lease: int,
    state: str,
    report: LoadReport | None,
    error: str | None = None,
) -> bool:
    """Record the end of a job, if this worker still holds it."""
    summary = report.to_dict() if report is not None else None
    rows = report.written if report is not None else None
    return (
        db.run(
            f"UPDATE {SCHEMA}.jobs SET state = %s, report = %s, error = %s, finished = now(), "
            "rows_done = greatest(rows_done, coalesce(%s, 0)) WHERE id = %s AND lease = %s",
            (state, summary and Jsonb(summary), error, rows, job, lease),
        )
        == 1
    )


class JobFence:
    """The observer of a job's load: its lease checked in each commit, in the very
    transaction that commits the rows (:mod:`chute.service.leases`); its progress to the
    job's row after each batch, where a cancel is seen (the load stops after that batch)."""

    def __init__(
        self, db: ServiceDb, job: int, key: str, lease: int, cancel: threading.Event
    ) -> None:
        self.db = db
        self.job = int(job)
        self.key = key
        self.lease = int(lease)
        self.cancel = cancel

    def in_commit(self, sink: Sink) -> None:
        leases.check(sink, self.key, self.lease)

    def on_start(self, report: LoadReport, total_bytes: int | None) -> None:
        pass

    def on_batch(self, report: LoadReport, bytes_read: int) -> None:
        row = self.db.one(
            f"UPDATE {SCHEMA}.jobs SET bytes_done = %s, rows_done = %s "
            "WHERE id = %s AND lease = %s RETURNING cancel",
            (bytes_read, report.written, self.job, self.lease),
        )
        if row is None or row["cancel"]:
            self.cancel.set()  # cancelled, or taken over: stop after this batch

    def on_finish(self, report: LoadReport) -> None:
        pass
