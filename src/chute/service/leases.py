"""A job's lease where its rows go: table ``_chute_job_leases`` in the tenant's own database.

The service gives each run of a job a new lease number (:func:`chute.service.jobs.take_job`).
Before loading, the worker records it in the sink (:func:`claim`); every commit of the job's
rows first reads it back in the same transaction (:func:`check`) and stops if another
worker's newer lease is there.  The check and the rows share one transaction on one
database, whatever database that is (PostgreSQL, MySQL/MariaDB, SQLite, DuckDB...), so a
worker that lost its job can never commit again: the lock it takes on the lease row
(``FOR SHARE`` where the database has it; SQLite has one writer at a time) makes a takeover
wait for a commit in flight, and every commit after the takeover sees the newer lease.
"""

from __future__ import annotations

from chute.errors import ChuteError, ConfigError
from chute.sinks import open_sink
from chute.sinks.contract import Sink
from chute.sinks.sql.sql_sink import SqlSink

LEASES = "_chute_job_leases"
#: how a read locks the lease row against a takeover until the transaction ends
_SHARE = {"postgresql": " FOR SHARE", "mysql": " LOCK IN SHARE MODE"}
_UPDATE = {"postgresql": " FOR UPDATE", "mysql": " FOR UPDATE"}


class LeaseLost(ChuteError):
    """Another worker holds the job now: this one must not commit."""


def _sql(sink: Sink) -> SqlSink:
    if not isinstance(sink, SqlSink):
        raise ConfigError(
            f"{sink.display_url} is not a SQL database: the import service loads into one"
        )
    return sink


def check_sink(url: str) -> None:
    """``url`` names a SQL database chute can load into (not connected)."""
    _sql(open_sink(url))


def claim(url: str, job: str, lease: int, *, connect_timeout: float = 10) -> None:
    """Record ``lease`` for ``job`` in the database at ``url`` (LeaseLost: a newer one is
    there already)."""
    sink = _sql(open_sink(url, connect_timeout=connect_timeout))
    sink.connect()
    try:
        table = sink.q(LEASES)
        sink.execute(
            f"CREATE TABLE IF NOT EXISTS {table} "
            "(job VARCHAR(64) NOT NULL PRIMARY KEY, lease BIGINT NOT NULL)"
        )
        with sink.transaction():
            suffix = _UPDATE.get(sink.dialect.name, "")
            rows = sink.execute(f"SELECT lease FROM {table} WHERE job = ?{suffix}", (job,))
            if not rows:
                sink.execute(f"INSERT INTO {table} (job, lease) VALUES (?, ?)", (job, lease))
            elif int(rows[0][0]) < lease:
                sink.execute(f"UPDATE {table} SET lease = ? WHERE job = ?", (lease, job))
            elif int(rows[0][0]) > lease:
                raise LeaseLost(f"job {job}: a newer run holds it (lease {rows[0][0]})")
    finally:
        sink.close()


def check(sink: Sink, job: str, lease: int) -> None:
    """In the open transaction of ``sink``: ``lease`` is still ``job``'s (LeaseLost if
    not), and stays so until the transaction ends."""
    db = _sql(sink)
    suffix = _SHARE.get(db.dialect.name, "")
    rows = db.execute(f"SELECT lease FROM {db.q(LEASES)} WHERE job = ?{suffix}", (job,))
    if not rows or int(rows[0][0]) != lease:
        raise LeaseLost(f"job {job} was taken over by another worker: this one stops uncommitted")
