"""SQLite results as Arrow columns of text, read by the ADBC SQLite driver: the rows go from
SQLite into Arrow buffers in C, with no Python object per value (a 1M-row checkout into CSV:
1.9 s instead of 7.8 s, benchmarks/RESULTS.md).

The driver guesses each column's type from its first rows, and a column whose first rows
are NULL is guessed wrong (INT64, then it refuses the first text).  So a first row of empty
texts, marked, goes before the rows and is taken off again: every column is text from the
start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from chute.errors import SinkError
from chute.sinks.sql.sql_sink import ArrowPages, RowPages

MARK = "_chute_first"


def text_pages(path: str, select: str, columns: list[str], q: Callable[[str], str]) -> ArrowPages:
    """``columns`` of the rows of ``select`` as SQLite's text of each value (NULL stays
    NULL), through a read connection of its own to the database file ``path`` (so: what
    is committed)."""
    casts = ", ".join(f"CAST(s.{q(c)} AS text) AS {q(c)}" for c in columns)
    empties = ", ".join(f"'' AS {q(c)}" for c in columns)
    sql = f"SELECT 0 AS {MARK}, {empties} UNION ALL SELECT 1, {casts} FROM ({select}) s"
    import adbc_driver_sqlite.dbapi as adbc_sqlite  # imported when needed

    conn = adbc_sqlite.connect(path)
    try:
        cur = conn.cursor()
        try:
            cur.execute(sql)
            first = True
            for batch in cur.fetch_record_batch():
                marks = batch.column(0)
                expected = batch.num_rows - 1 if first else batch.num_rows
                if pc.sum(marks).as_py() != expected or (first and marks[0].as_py() != 0):
                    raise SinkError(f"SQLite returned the rows of {path} out of order")
                data = pa.RecordBatch.from_arrays(batch.columns[1:], names=columns)
                yield data.slice(1) if first else data
                first = False
        except adbc_sqlite.Error as exc:
            raise SinkError(f"reading {path}: {exc}") from exc
        finally:
            cur.close()
    finally:
        conn.close()


def texts_of_rows(
    stream: Callable[[str, Sequence[Any], int], RowPages],
    select: str,
    columns: list[str],
    q: Callable[[str], str],
) -> ArrowPages:
    """The same, through the sink's own connection (``stream``), one Python object per
    value: for an in-memory database, which no other connection sees."""
    casts = ", ".join(f"CAST(s.{q(c)} AS text)" for c in columns)
    schema = pa.schema([(c, pa.string()) for c in columns])
    for _, page in stream(f"SELECT {casts} FROM ({select}) s", (), 65_536):
        arrays = [pa.array(values, pa.string()) for values in zip(*page, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
