"""Keys on DuckDB: a table's unique keys, and whether a refused batch repeated one.

DuckDB's constraint error has one class for every constraint (NOT NULL, CHECK, PRIMARY
KEY, UNIQUE) and no code; which one refused a batch is found by looking at the keys, not
by reading the message.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from chute.sinks.sql.dialect import quote_identifier as q


def unique_keys(conn: duckdb.DuckDBPyConnection, table: str) -> list[list[str]]:
    """The column sets of ``table``'s primary key and unique constraints."""
    rows = conn.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = "
        "current_schema() AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        [table],
    ).fetchall()
    return [list(r[0]) for r in rows]


def has_duplicate(conn: duckdb.DuckDBPyConnection, table: str, batch: pa.RecordBatch) -> bool:
    """Whether a unique key of ``table`` repeats in ``batch`` or is in the table already:
    the constraint DuckDB refused the batch for was a unique one.  Asked on a connection of
    its own (``conn``'s transaction is aborted); it sees what was committed, which is all
    the refused transaction had (without savepoints, a piece is its own transaction)."""
    other = conn.cursor()
    try:
        name = "_chute_check"
        other.register(name, pa.Table.from_batches([batch]))
        for key in unique_keys(other, table):
            if not all(k in batch.schema.names for k in key):
                continue
            cols = ", ".join(q(k) for k in key)
            match = " AND ".join(f"t.{q(k)} = b.{q(k)}" for k in key)
            (found,) = one(
                other.execute(
                    f"SELECT (SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {name})) "
                    f"< (SELECT count(*) FROM {name}) OR EXISTS (SELECT 1 FROM {name} b "
                    f"WHERE EXISTS (SELECT 1 FROM {q(table)} t WHERE {match}))"
                )
            )
            if found:
                return True
        return False
    except duckdb.Error:
        return False  # not known: a refused value, not a duplicate
    finally:
        other.close()


def one(result: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    """The one row of a result, as integers, fetched to the end (DuckDB keeps the
    connection busy until a result is)."""
    (row,) = result.fetchall()
    return tuple(int(v) for v in row)
