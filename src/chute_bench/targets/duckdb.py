"""DuckDB through its Python package, and its own bulk paths: ``read_csv`` and an Arrow scan."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from chute_bench.records import arrow_batches, write_delimited
from chute_bench.targets.base import Job, Outcome, Session, Strategy, Target

# the table's own types, given to read_csv rather than guessed
_CSV_COLUMNS = (
    "{'id': 'BIGINT', 'name': 'VARCHAR', 'amount': 'DECIMAL(12,2)', "
    "'created_at': 'TIMESTAMP', 'active': 'BOOLEAN'}"
)


def read_csv(job: Job, target: Target) -> Outcome:
    """The records written to a tab-separated file (timed), then
    ``INSERT INTO t SELECT * FROM read_csv(...)`` with the column types given, one transaction."""
    with tempfile.TemporaryDirectory(prefix="chute-bench-") as tmp:
        path = Path(tmp) / "records.tsv"
        write_delimited(job.rows, path, header=True)
        with target.session() as db:
            db.begin()
            db.execute(
                f"INSERT INTO {target.quote(job.table)} SELECT * FROM read_csv(?, "
                f"header = true, delim = '\\t', quote = '', escape = '', columns = {_CSV_COLUMNS})",
                (str(path),),
            )
            db.commit()
    return Outcome(job.rows)


def arrow_scan(job: Job, target: Target) -> Outcome:
    """Arrow batches built from the dicts, scanned by ``INSERT INTO t SELECT * FROM batches``,
    one transaction."""
    with target.session() as db:
        db.begin()
        db.conn.register("chute_bench_batches", arrow_batches(job.rows))
        db.execute(f"INSERT INTO {target.quote(job.table)} SELECT * FROM chute_bench_batches")
        db.commit()
    return Outcome(job.rows)


def duckdb_path(url: str) -> str:
    """``duckdb:///relative.duckdb`` → ``relative.duckdb``, ``duckdb:////abs`` → ``/abs``."""
    return url.split("://", 1)[1][1:]


class _DuckdbSession(Session):
    """A DuckDB connection is its own cursor; it commits each statement unless begun."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.cur = conn

    def begin(self) -> None:
        self.conn.begin()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, list(rows))

    def close(self) -> None:
        self.conn.close()


class DuckdbTarget(Target):
    name = "DuckDB"
    ddl = (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, name VARCHAR, amount DECIMAL(12,2), "
        "created_at TIMESTAMP, active BOOLEAN)"
    )
    own: ClassVar[dict[str, Strategy]] = {
        "read_csv": Strategy("INSERT … SELECT FROM read_csv (typed)", read_csv),
        "arrow_scan": Strategy("INSERT … SELECT FROM Arrow batches", arrow_scan),
    }

    # DuckDB's executemany runs one statement per row: a few hundred rows/s
    sampled = frozenset({"row_by_row", "executemany"})

    def session(self) -> Session:
        import duckdb

        return _DuckdbSession(duckdb.connect(duckdb_path(self.url)))

    def version(self, db: Session) -> str:
        ((version,),) = db.fetch("SELECT version()")
        return str(version).lstrip("v")
