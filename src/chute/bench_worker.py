"""One contender of ``chute bench``, alone in its own process so that its peak memory is its own.

:mod:`chute.bench` runs ``python -m chute.bench_worker`` once per strategy, writes the job as
JSON on its stdin and reads one JSON result from its stdout.  The worker makes the strategy's
table, times the strategy, counts the rows that arrived, and drops the table again.

Every strategy reads the same records from :func:`records` (deterministic, generated while
they are written, as an application would produce them) and opens its own connection inside
the timed part; the table is made before the clock starts and counted after it stops.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

#: strategy name -> label, in the order they run
STRATEGIES: dict[str, str] = {
    "row_by_row": "INSERT + COMMIT per row",
    "executemany": "executemany, one transaction",
    "multirow_values": "multi-row VALUES, one transaction",
    "copy": "COPY",
    "chute_fixed": "chute, batch_rows=10,000",
    "chute_adaptive": "chute, adaptive batches",
}
COLUMNS = ("id", "name", "amount", "created_at", "active")
#: the table each strategy writes to: chute_bench_<strategy>
TABLE_PREFIX = "chute_bench_"
SEED = 20240229
SAMPLE_ROWS = 2_000  # row by row writes at most this many rows ...
SAMPLE_SECONDS = 10.0  # ... or for at most this long, and is extrapolated to the rest
VALUES_ROWS = 1_000  # rows per multi-row INSERT ... VALUES statement
COPY_BATCH_ROWS = 10_000  # rows per Arrow batch sent by COPY
CHUTE_BATCH_ROWS = 10_000  # the fixed batch size of chute_fixed

_DDL = {
    # as chute would make it: exact decimals as text, SQLite having no exact decimal type
    "sqlite": "CREATE TABLE {t} (id BIGINT PRIMARY KEY, name TEXT, amount TEXT, "
    "created_at TIMESTAMP, active BOOLEAN)",
    "postgresql": "CREATE TABLE {t} (id bigint PRIMARY KEY, name text, amount numeric(12,2), "
    "created_at timestamp, active boolean)",
}
_FIRST = ("Ann", "Bob", "Chidi", "Dagmar", "Eun-ji", "François", "Guo", "Hannelore", "Ivo")
_LAST = ("Ng", "Okafor", "Smith", "Łukasiewicz", "van der Berg", "Yamamoto-Fischer", "O'Neil")
_EPOCH = datetime(2024, 1, 1)


def records(rows: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``rows`` synthetic records, the same for the same ``rows`` and ``seed``: a growing
    bigint id, a name, an exact amount with two decimals, a timestamp and a flag."""
    rng = random.Random(seed)
    for i in range(1, rows + 1):
        yield {
            "id": i,
            "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            "amount": Decimal(rng.randrange(-100_000, 100_000_000)).scaleb(-2),
            "created_at": _EPOCH + timedelta(microseconds=rng.randrange(366 * 86_400 * 10**6)),
            "active": rng.random() < 0.7,
        }


def peak_rss_bytes() -> int | None:
    """The process's peak resident memory so far (``getrusage``), or None where unknown."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


@dataclass
class Job:
    strategy: str
    into: str
    kind: str  # sqlite | postgresql
    rows: int
    table: str
    sample_rows: int = SAMPLE_ROWS
    sample_seconds: float = SAMPLE_SECONDS


@dataclass
class Outcome:
    """What a strategy did: the rows it wrote, and for a sample the time to extrapolate."""

    rows_written: int
    sample: bool = False  # rows_written is a sample of job.rows, to extrapolate from
    connect_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# -- the strategies -----------------------------------------------------------------------


def _connect(job: Job) -> Any:
    """A plain driver connection, as an application would open one.

    The URL is read by chute's own sink (the same rules and errors), and SQLite gets the
    settings chute's SQLite sink uses (WAL journal, ``synchronous=NORMAL``), so that the
    contenders differ only in how they send the rows.
    """
    from urllib.parse import urlsplit, urlunsplit

    from chute.sinks import open_sink

    sink = open_sink(job.into)
    if job.kind == "sqlite":
        import sqlite3

        from chute.sinks.sqlite import SqliteSink

        assert isinstance(sink, SqliteSink)
        conn = sqlite3.connect(sink.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn
    import adbc_driver_postgresql.dbapi as pgdbapi

    # postgres:// and postgresql+driver:// as libpq wants them, like PostgresSink does
    return pgdbapi.connect(urlunsplit(("postgresql", *urlsplit(job.into)[1:])))


def _row_converter(kind: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if kind == "sqlite":  # sqlite3 binds neither Decimal nor (without a warning) datetime

        def sqlite_row(r: dict[str, Any]) -> tuple[Any, ...]:
            created = r["created_at"].isoformat(" ")
            return (r["id"], r["name"], str(r["amount"]), created, r["active"])

        return sqlite_row

    def pg_row(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["id"], r["name"], r["amount"], r["created_at"], r["active"])

    return pg_row


def _insert_sql(job: Job, rows: int) -> str:
    """``INSERT INTO table (...) VALUES (...), ...`` with placeholders for ``rows`` rows."""
    from chute.sinks.base import quote_identifier as q

    n = len(COLUMNS)
    if job.kind == "sqlite":
        groups = ["(" + ", ".join("?" * n) + ")"] * rows
    else:
        groups = ["(" + ", ".join(f"${r * n + c + 1}" for c in range(n)) + ")" for r in range(rows)]
    cols = ", ".join(q(c) for c in COLUMNS)
    return f"INSERT INTO {q(job.table)} ({cols}) VALUES {', '.join(groups)}"


class _Driver:
    """A plain driver connection and cursor; BEGIN and COMMIT spelled as each driver needs."""

    def __init__(self, job: Job) -> None:
        self.sqlite = job.kind == "sqlite"
        self.conn = _connect(job)
        self.cur = self.conn.cursor()

    def begin(self) -> None:
        if self.sqlite:  # autocommit mode, as chute's; ADBC opens a transaction by itself
            self.cur.execute("BEGIN")

    def commit(self) -> None:
        if self.sqlite:
            self.cur.execute("COMMIT")
        else:
            self.conn.commit()

    def __enter__(self) -> _Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cur.close()
        self.conn.close()


def row_by_row(job: Job) -> Outcome:
    """One INSERT and one COMMIT per record, on a sample (at most ``sample_rows`` records or
    ``sample_seconds``); :func:`run` extrapolates the time to every record."""
    convert = _row_converter(job.kind)
    sql = _insert_sql(job, 1)
    written = 0
    started = time.perf_counter()
    with _Driver(job) as db:
        connected = time.perf_counter()
        for record in islice(records(job.rows), job.sample_rows):
            db.begin()
            db.cur.execute(sql, convert(record))
            db.commit()
            written += 1
            if time.perf_counter() - connected > job.sample_seconds:
                break
    return Outcome(written, sample=written < job.rows, connect_seconds=connected - started)


def executemany(job: Job) -> Outcome:
    """``executemany`` of every record in one transaction."""
    convert = _row_converter(job.kind)
    rows = (convert(r) for r in records(job.rows))
    with _Driver(job) as db:
        db.begin()
        # sqlite3 streams an iterator; ADBC wants a sequence (it makes Arrow of it at once)
        db.cur.executemany(_insert_sql(job, 1), rows if db.sqlite else list(rows))
        db.commit()
    return Outcome(job.rows)


def multirow_values(job: Job) -> Outcome:
    """``INSERT ... VALUES (...), (...), ...`` of VALUES_ROWS records each, one transaction."""
    convert = _row_converter(job.kind)
    full = _insert_sql(job, VALUES_ROWS)
    source = records(job.rows)
    with _Driver(job) as db:
        db.begin()
        while chunk := [convert(r) for r in islice(source, VALUES_ROWS)]:
            sql = full if len(chunk) == VALUES_ROWS else _insert_sql(job, len(chunk))
            db.cur.execute(sql, tuple(v for row in chunk for v in row))
        db.commit()
    return Outcome(job.rows)


def copy(job: Job) -> Outcome:
    """Binary COPY through ADBC's bulk ingest, fed Arrow batches of COPY_BATCH_ROWS records,
    one transaction."""
    import pyarrow as pa

    if job.kind != "postgresql":
        raise RuntimeError(f"{job.kind} has no COPY")
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("amount", pa.decimal128(12, 2)),
            ("created_at", pa.timestamp("us")),
            ("active", pa.bool_()),
        ]
    )

    def batches() -> Iterator[pa.RecordBatch]:
        source = records(job.rows)
        while chunk := list(islice(source, COPY_BATCH_ROWS)):
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)

    with _Driver(job) as db:
        db.cur.adbc_ingest(
            job.table, pa.RecordBatchReader.from_batches(schema, batches()), mode="append"
        )
        db.commit()
    return Outcome(job.rows)


def _chute(job: Job, batch_rows: int | None) -> Outcome:
    import chute

    with tempfile.TemporaryDirectory(prefix="chute-bench-") as tmp:
        options: dict[str, Any] = {"batch_rows": batch_rows}  # None: the adaptive batcher
        report = chute.load(
            records(job.rows),
            into=job.into,
            table=job.table,
            rejects=str(Path(tmp) / "rejects.jsonl"),
            **options,
        )
    extra: dict[str, Any] = {"batches": report.batches}
    if report.rejected:
        first = report.rejects[0].message if report.rejects else "?"
        raise RuntimeError(f"chute rejected {report.rejected:,} records, e.g. {first}")
    return Outcome(report.written, extra=extra)


def chute_fixed(job: Job) -> Outcome:
    return _chute(job, CHUTE_BATCH_ROWS)


def chute_adaptive(job: Job) -> Outcome:
    return _chute(job, None)


RUNNERS: dict[str, Callable[[Job], Outcome]] = {
    "row_by_row": row_by_row,
    "executemany": executemany,
    "multirow_values": multirow_values,
    "copy": copy,
    "chute_fixed": chute_fixed,
    "chute_adaptive": chute_adaptive,
}


# -- one run ------------------------------------------------------------------------------


def _admin(job: Job, statements: Iterable[str]) -> list[tuple[Any, ...]]:
    """Run ``statements`` in one transaction on a connection of its own; the last one's rows."""
    from chute.sinks import open_sink
    from chute.sinks.sql import SqlSink

    sink = open_sink(job.into)
    assert isinstance(sink, SqlSink), "chute bench measures SQL databases"
    sink.connect()
    try:
        rows: list[tuple[Any, ...]] = []
        sink.begin()
        for sql in statements:
            rows = sink.execute(sql)
        sink.commit()
        return rows
    finally:
        sink.close()


def run(job: Job) -> dict[str, Any]:
    """Make the table, time the strategy, count what arrived, drop the table."""
    import chute  # every contender starts with the same modules loaded  # noqa: F401
    from chute.errors import ChuteError
    from chute.sinks.base import check_table_name
    from chute.sinks.base import quote_identifier as q

    table = q(check_table_name(job.table))
    result: dict[str, Any] = {"strategy": job.strategy}
    try:
        _admin(job, [f"DROP TABLE IF EXISTS {table}", _DDL[job.kind].format(t=table)])
        # the driver is loaded now too: what is above this is the strategy's own
        result["baseline_rss_bytes"] = peak_rss_bytes()
        started = time.perf_counter()
        outcome = RUNNERS[job.strategy](job)
        seconds = time.perf_counter() - started
        (count,) = _admin(job, [f"SELECT count(*) FROM {table}"])[0]
        if count != outcome.rows_written:
            raise RuntimeError(f"{outcome.rows_written:,} rows written but {count:,} in the table")
        if not outcome.sample and count != job.rows:
            raise RuntimeError(f"{count:,} rows of {job.rows:,} in the table")
        if outcome.sample:  # scale the time per row to every row
            per_row = (seconds - outcome.connect_seconds) / max(outcome.rows_written, 1)
            seconds = outcome.connect_seconds + per_row * job.rows
            result["extrapolated_from"] = outcome.rows_written
        result.update(status="ok", seconds=seconds, **outcome.extra)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if not isinstance(exc, ChuteError):
            message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        result.update(status="failed", error=message)
    finally:
        try:
            _admin(job, [f"DROP TABLE IF EXISTS {table}"])
        except Exception as exc:  # the parent drops what is left, and says so
            result.setdefault("cleanup_error", str(exc))
    result["peak_rss_bytes"] = peak_rss_bytes()
    return result


def main() -> None:
    job = Job(**json.loads(sys.stdin.read()))
    result = run(job)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
