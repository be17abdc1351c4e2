"""The statements that write a batch into SQLite: every row once, in order, in statements
of few distinct sizes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa

from chute.sinks.sql.dialect import SqliteDialect
from chute.sinks.sqlite_wire import values_rows
from chute.sinks.sqlite_write import insert_rows, upsert_rows


def _connect(path: Path) -> tuple[sqlite3.Connection, list[int]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute('CREATE TABLE t ("k" INTEGER PRIMARY KEY, "v" TEXT)')
    sizes: list[int] = []  # rows of each INSERT the connection ran

    def traced(sql: str) -> None:
        if sql.startswith("INSERT"):  # the statement with its values in place
            sizes.append(sql.count("), (") + 1)

    conn.set_trace_callback(traced)
    return conn, sizes


def test_the_last_rows_go_in_powers_of_two_then_one_small_statement(tmp_path: Path) -> None:
    conn, sizes = _connect(tmp_path / "t.db")
    per = values_rows(2, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    n = 2 * per + 1234
    batch = pa.record_batch({"k": list(range(n)), "v": [f"v{i}" for i in range(n)]})
    assert insert_rows(conn, SqliteDialect(), "t", batch, None, []).created == n
    assert sizes == [per, per, 1024, 128, 64, 18]
    rows = conn.execute("SELECT k, v FROM t ORDER BY rowid").fetchall()
    assert rows == [(i, f"v{i}") for i in range(n)]


def test_ignore_and_upsert_count_rows_in_big_statements(tmp_path: Path) -> None:
    conn, _ = _connect(tmp_path / "t.db")
    n = 9_000
    first = pa.record_batch({"k": list(range(0, n, 2)), "v": ["old"] * len(range(0, n, 2))})
    insert_rows(conn, SqliteDialect(), "t", first, None, [])
    batch = pa.record_batch({"k": list(range(n)), "v": ["new"] * n})
    counts = insert_rows(conn, SqliteDialect(), "t", batch, None, ["k"])
    assert (counts.created, counts.skipped) == (n // 2, n // 2)
    conn.execute("DELETE FROM t WHERE k % 3 = 0")
    counts = upsert_rows(conn, SqliteDialect(), "t", batch, ["k"], None)
    kept = sum(1 for k in range(n) if k % 3)
    assert (counts.created, counts.updated) == (n - kept, kept)
    assert conn.execute("SELECT count(*), min(v), max(v) FROM t").fetchone() == (n, "new", "new")
