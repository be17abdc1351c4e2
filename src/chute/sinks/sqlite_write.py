"""The statements that write a batch into SQLite: multi-row inserts (append; ignore, with
``ON CONFLICT DO NOTHING``; upsert, with ``ON CONFLICT DO UPDATE``), and their counts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from chute.sinks.contract import WriteCounts
from chute.sinks.sql.dialect import SqliteDialect
from chute.sinks.sql.dialect import quote_identifier as q
from chute.sinks.sqlite_wire import python_rows, value_chunks, values_rows

#: keys looked up per statement when counting an upsert's existing rows (SQLite allows
#: 32,766 parameters per statement since 3.32)
KEYS_PER_COUNT = 10_000
#: the last rows of a batch, when fewer than this, go in one statement of their number
#: (small statements: the connection may keep many); more go in powers of two
ODD_ROWS = 64


def insert_rows(
    conn: sqlite3.Connection,
    dialect: SqliteDialect,
    table: str,
    batch: pa.RecordBatch,
    wired: list[pa.Array] | None,
    ignore: list[str],
) -> WriteCounts:
    """Insert the batch; with ``ignore`` (a key), rows whose key is in the table already
    are skipped.  ``wired``: the batch's values made ahead, if they were."""
    names = list(batch.schema.names)
    n = batch.num_rows
    before = conn.total_changes

    def statement(values: str) -> str:
        if ignore:
            return dialect.insert_ignore(table, names, ignore, values)
        return dialect.insert(table, names, values)

    _many(conn, statement, batch, wired)
    if not ignore:
        return WriteCounts(created=n)
    created = conn.total_changes - before
    return WriteCounts(created=created, skipped=n - created)


def upsert_rows(
    conn: sqlite3.Connection,
    dialect: SqliteDialect,
    table: str,
    batch: pa.RecordBatch,
    key: list[str],
    wired: list[pa.Array] | None,
) -> WriteCounts:
    """Count the batch's keys already in the table, then insert with ``ON CONFLICT DO
    UPDATE`` (SQLite has one writer: nothing changes between the two).  The batch's
    keys are distinct (the engine keeps the last record of each)."""
    names = list(batch.schema.names)
    keys = list(python_rows(batch.select(key)))
    existing = 0
    step = max(1, KEYS_PER_COUNT // len(key))
    one = f"({', '.join('?' * len(key))})"
    cols = ", ".join(q(k) for k in key)
    for start in range(0, len(keys), step):
        chunk = keys[start : start + step]
        values = ", ".join([one] * len(chunk))
        found = conn.execute(
            f"SELECT count(*) FROM {q(table)} WHERE ({cols}) IN (VALUES {values})",
            [v for k in chunk for v in k],
        ).fetchone()
        existing += int(found[0])
    _many(conn, lambda values: dialect.upsert(table, names, key, values), batch, wired)
    n = batch.num_rows
    return WriteCounts(created=n - existing, updated=existing)


def _many(
    conn: sqlite3.Connection,
    statement: Callable[[str], str],
    batch: pa.RecordBatch,
    wired: list[pa.Array] | None,
) -> None:
    """Run ``statement(values)`` over the batch, ``values`` being a multi-row ``VALUES``
    of :func:`~chute.sinks.sqlite_wire.values_rows` rows.  The last rows, fewer, go in
    statements of a power of two rows each down to :data:`ODD_ROWS` (1,234 rows: 1,024,
    128, 64 and 18): the connection keeps the statements it compiled (the last 128), and
    one of each odd size would pile up there, a statement of thousands of values taking
    megabytes (1M rows into SQLite peaked 80 MB higher)."""
    width = batch.num_columns
    marks = f"({', '.join('?' * width)})"

    def values(rows: int) -> str:
        return "VALUES " + ", ".join([marks] * rows)

    per = values_rows(width, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    rest: list[list[Any]] = []
    conn.executemany(statement(values(per)), value_chunks(batch, wired, per, rest))
    for last in rest:
        at = 0
        rows = len(last) // width
        while rows:
            take = 1 << (rows.bit_length() - 1) if rows >= ODD_ROWS else rows
            conn.execute(statement(values(take)), last[at : at + take * width])
            at += take * width
            rows -= take
