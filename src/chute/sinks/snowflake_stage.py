"""A batch on its way into Snowflake: checked, written as Parquet, PUT on a stage, and
copied into a stage table shaped like the target.

- **Checked first, in memory** (no round trip): a NULL for a ``NOT NULL`` column and a
  text longer than its ``VARCHAR(n)`` refuse the batch with a
  :class:`~chute.errors.RecordError` naming the row, as Snowflake would refuse the INSERT;
  the engine sets the record aside and writes the rest.
- **Parquet files**: the batch becomes one file per :data:`ROWS_PER_FILE` rows, named
  ``C0``, ``C1``, ... for its columns (so a column name Snowflake would fold or reject does
  not matter) and ``R`` for the row's place in the batch (ignore mode keeps the first of
  a key repeated in a batch), in a temporary folder.
- **PUT**: one ``PUT file:///folder/* @stage/prefix/ PARALLEL=n`` uploads them all (the
  connector sends the files on ``n`` threads); the prefix is new for each batch, so
  Snowflake's load history never skips a file.
- **COPY INTO** the stage table (``MATCH_BY_COLUMN_NAME``, ``PURGE``): Snowflake casts each
  value to the column's own type here, and a value the type does not take refuses the COPY
  (``ON_ERROR = ABORT_STATEMENT``).  Semi-structured columns (VARIANT, OBJECT, ARRAY) are
  VARCHAR in the stage table and parsed by ``PARSE_JSON`` on the way to the target.

The stage table is a table of its own per (target, column types), made outside any
transaction (DDL commits in Snowflake) and dropped when the sink closes.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chute.errors import RecordError
from chute.sinks.contract import TableColumn
from chute.sinks.snowflake_types import MAX_VARCHAR, NOT_NULL, SEMI_STRUCTURED, TOO_LONG
from chute.sinks.sql.dialect import quote_identifier as quote

#: rows of one Parquet file; a larger batch goes as several files PUT in parallel
ROWS_PER_FILE = 250_000
#: threads the connector uploads a batch's files on
PUT_PARALLEL = 4
#: the session's own stage (a temporary stage: gone with the session, files and all)
STAGE = "_CHUTE_FILES"

_numbers = itertools.count()


@dataclass(frozen=True)
class StageTable:
    """A table a batch is copied into before it goes to its target."""

    name: str
    #: the target's columns, in the batch's order (the stage's are C0, C1, ...)
    columns: list[TableColumn]

    def select(self, alias: str = "") -> list[str]:
        """The stage's columns as expressions of the target's types."""
        prefix = f"{alias}." if alias else ""
        return [
            f"PARSE_JSON({prefix}C{i})" if _base(c.declared) in SEMI_STRUCTURED else f"{prefix}C{i}"
            for i, c in enumerate(self.columns)
        ]


def stage_table_ddl(name: str, columns: list[TableColumn]) -> str:
    """CREATE TABLE of a stage table for ``columns`` (every column nullable)."""
    cols = ["R NUMBER(38,0)"]  # the row's place in its batch
    for i, c in enumerate(columns):
        base = _base(c.declared)
        kind = "VARCHAR" if base in SEMI_STRUCTURED or base.startswith("VARCHAR") else c.declared
        cols.append(f"C{i} {kind}")
    return f"CREATE TABLE IF NOT EXISTS {quote(name)} ({', '.join(cols)})"


def new_stage_name() -> str:
    return f"_CHUTE_BATCH_{uuid.uuid4().hex[:12].upper()}_{next(_numbers)}"


def _base(declared: str) -> str:
    return declared.split("(", 1)[0].upper()


def check(batch: pa.RecordBatch, columns: list[TableColumn]) -> None:
    """Refuse ``batch`` for its first NULL in a NOT NULL column, or its first text longer
    than a ``VARCHAR(n)`` (what Snowflake refuses; checked here, before any round trip)."""
    for i, c in enumerate(columns):
        values = batch.column(i)
        if not c.nullable and values.null_count:
            row = int(pc.index(pc.is_null(values), True).as_py())
            _refuse(f"NULL result in a non-nullable column {c.name}", c.name, NOT_NULL, row)
        if (
            c.max_length is not None
            and c.max_length < MAX_VARCHAR
            and pa.types.is_string(values.type)
        ):
            long = pc.greater(pc.utf8_length(values), c.max_length)
            if pc.any(long).as_py():
                row = int(pc.index(long, True).as_py())
                _refuse(
                    f"String is too long and would be truncated: {c.name} is "
                    f"VARCHAR({c.max_length})",
                    c.name,
                    TOO_LONG,
                    row,
                )


def _refuse(message: str, column: str, sqlstate: str, row: int) -> None:
    exc = RecordError(message, column=column, sqlstate=sqlstate)
    exc.row = row
    raise exc


class BatchFiles:
    """A batch written as Parquet files in a folder of its own (removed by :meth:`close`)."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self.folder = tempfile.mkdtemp(prefix="chute-snowflake-")
        self.prefix = f"b{uuid.uuid4().hex[:16]}"
        renamed = batch.rename_columns([f"C{i}" for i in range(batch.num_columns)])
        table = pa.Table.from_batches([renamed]).append_column(
            "R", pa.array(range(batch.num_rows), pa.int64())
        )
        self.files = 0
        for lo in range(0, max(batch.num_rows, 1), ROWS_PER_FILE):
            path = os.path.join(self.folder, f"part{self.files:04d}.parquet")
            pq.write_table(table.slice(lo, ROWS_PER_FILE), path, coerce_timestamps="us")
            self.files += 1

    def put_sql(self) -> str:
        """One PUT uploading every file of the batch under its own prefix."""
        pattern = os.path.join(self.folder, "*.parquet").replace("\\", "/").replace("'", "\\'")
        parallel = min(PUT_PARALLEL, self.files)
        return (
            f"PUT 'file://{pattern}' @{STAGE}/{self.prefix}/ "
            f"AUTO_COMPRESS=FALSE OVERWRITE=TRUE PARALLEL={parallel}"
        )

    def copy_sql(self, stage_table: str) -> str:
        return (
            f"COPY INTO {quote(stage_table)} FROM @{STAGE}/{self.prefix}/ "
            "FILE_FORMAT=(TYPE=PARQUET) MATCH_BY_COLUMN_NAME=CASE_INSENSITIVE "
            "ON_ERROR=ABORT_STATEMENT PURGE=TRUE"
        )

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def load_into_stage(
    run: Callable[[str], list[tuple[Any, ...]]], batch: pa.RecordBatch, stage_table: str
) -> int:
    """PUT ``batch`` and COPY it into ``stage_table`` with ``run`` (one statement each);
    return the rows the COPY loaded."""
    files = BatchFiles(batch)
    try:
        run(files.put_sql())
        rows = run(files.copy_sql(stage_table))
    finally:
        files.close()
    return sum(_loaded(r) for r in rows)


def _loaded(row: tuple[Any, ...]) -> int:
    # COPY's result: (file, status, rows_parsed, rows_loaded, ...); "0 files processed"
    # is a row of one column
    return int(row[3]) if len(row) > 3 and row[3] is not None else 0
