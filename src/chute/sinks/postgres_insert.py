"""A batch into its PostgreSQL table: by binary COPY straight in (an append with nothing
for the server to cast), else by binary COPY into a temporary staging table and the one
statement that moves it into the table in the load's mode, counting the rows it created
and updated as it goes (the load's cursor and a writer session's pipeline both send it)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from chute.sinks.contract import Mode, WriteCounts
from chute.sinks.postgres_wire import DIALECT, PgColumn, copy_pieces, wire_batch
from chute.sinks.sql.dialect import quote_identifier as q


def write_batch(
    cur: Any,
    table: str,
    batch: pa.RecordBatch,
    pg_cols: dict[str, PgColumn],
    mode: Mode,
    key: list[str],
) -> WriteCounts:
    """Write ``batch`` into ``table`` (whose columns are ``pg_cols``) with the ADBC cursor
    ``cur``, in ``mode``; ADBC's errors pass through."""
    wire, casts = wire_batch(batch, pg_cols)
    n = batch.num_rows
    if mode is Mode.APPEND and not casts:
        cur.adbc_ingest(table, copy_pieces(wire), mode="append")
        return WriteCounts(created=n)
    layout = tuple((c, "text" if c in casts else pg_cols[c].declared) for c in wire.schema.names)
    stage = "_chute_stage_" + hashlib.sha1(repr((table, layout)).encode()).hexdigest()[:16]
    columns = ", ".join(f"{q(c)} {t}" for c, t in layout)
    # made anew after a rollback; cheap when it exists
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {q(stage)} ({columns}) ON COMMIT DELETE ROWS")
    cur.adbc_ingest(stage, copy_pieces(wire), mode="append", temporary=True)
    select = ", ".join(f"{q(c)}::{casts[c]}" if c in casts else q(c) for c in wire.schema.names)

    def first_row(sql: str) -> Any:
        cur.execute(sql)
        return cur.fetchone() if cur.description else None

    rows = f"SELECT {select} FROM pg_temp.{q(stage)}"
    counts = insert_counted(first_row, table, wire.schema.names, rows, mode, key, n)
    cur.execute(f"TRUNCATE pg_temp.{q(stage)}")
    return counts


def insert_counted(
    first_row: Callable[[str], Any],
    table: str,
    names: Sequence[str],
    rows: str,
    mode: Mode,
    key: list[str],
    n: int,
) -> WriteCounts:
    """Insert the ``n`` rows of the SELECT ``rows`` into ``table`` in ``mode``, counting
    created and updated rows in the same statement; ``first_row`` runs one statement and
    returns its first row (the load's cursor and the session's pipeline both do)."""
    columns = list(names)
    if mode is Mode.APPEND:
        first_row(f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) {rows}")
        return WriteCounts(created=n)
    if mode is Mode.IGNORE or not [c for c in columns if c not in key]:
        insert = DIALECT.insert_ignore(table, columns, key, rows)
        created = int(first_row(f"WITH ins AS ({insert} RETURNING 1) SELECT count(*) FROM ins")[0])
        if mode is Mode.IGNORE:
            return WriteCounts(created=created, skipped=n - created)
        return WriteCounts(created=created, updated=n - created)
    found, total = first_row(
        f"WITH ins AS ({DIALECT.upsert(table, columns, key, rows)} "
        "RETURNING (xmax = 0) AS created) "
        "SELECT count(*) FILTER (WHERE created), count(*) FROM ins"
    )
    return WriteCounts(created=int(found), updated=int(total) - int(found))
