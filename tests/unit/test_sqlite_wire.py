"""The values SQLite is given: formatted ahead in the reader's thread or at the write, the
same rows; a batch that was formatted ahead is found only by the very batch object."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from chute.sinks.sqlite_wire import Wired, python_rows, value_chunks, values_rows, wire_columns


def _batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "id": pa.array([1, 2, None], pa.int64()),
            "price": pa.array([Decimal("1.50"), Decimal("0.0000001"), None], pa.decimal128(38, 7)),
            "day": pa.array([dt.date(2024, 2, 29), None, dt.date(1, 1, 1)]),
            "at": pa.array(
                [dt.datetime(2024, 1, 31, 10, 0, 0, 500000), None, dt.datetime(2024, 1, 1)],
                pa.timestamp("us", tz="UTC"),
            ),
            "w": pa.array([1.5, math.nan, None]),
        }
    )


EXPECTED = [
    (1, "1.5000000", "2024-02-29", "2024-01-31 10:00:00.5+00:00", 1.5),
    (2, "0.0000001", None, None, "NaN"),
    (None, None, "0001-01-01", "2024-01-01 00:00:00+00:00", None),
]


def test_rows_are_the_same_formatted_ahead_or_at_the_write() -> None:
    batch = _batch()
    assert list(python_rows(batch)) == EXPECTED
    assert list(python_rows(batch, wire_columns(batch))) == EXPECTED


def test_a_batch_formatted_ahead_is_taken_once_and_only_by_itself() -> None:
    wired = Wired(keep=2)
    batch, other = _batch(), _batch()
    wired.make(batch)
    assert wired.take(other) is None  # equal values, another batch
    taken = wired.take(batch)
    assert taken is not None and list(python_rows(batch, taken)) == EXPECTED
    assert wired.take(batch) is None  # taken once


def test_batches_never_written_are_let_go() -> None:
    wired = Wired(keep=2)
    batches = [_batch() for _ in range(3)]
    for b in batches:
        wired.make(b)
    assert wired.take(batches[0]) is None  # the oldest was dropped
    assert wired.take(batches[2]) is not None


def test_taking_a_batch_lets_go_of_those_made_before_it() -> None:
    wired = Wired(keep=8)
    refused, written = _batch(), _batch()  # the first was written in pieces, never whole
    wired.make(refused)
    wired.make(written)
    assert wired.take(written) is not None
    assert wired.take(refused) is None


def test_value_chunks_hold_every_value_in_row_order() -> None:
    n = 10_001  # several pieces, and a last chunk of fewer rows
    batch = pa.RecordBatch.from_pydict({"a": list(range(n)), "b": [str(i) for i in range(n)]})
    per = values_rows(2, 999)
    rest: list[list[object]] = []
    chunks = list(value_chunks(batch, None, per, rest))
    assert all(len(c) == 2 * per for c in chunks)
    assert len(rest) == 1 and len(rest[0]) == 2 * (n % per)
    flat = [v for c in chunks + rest for v in c]
    assert flat == [v for i in range(n) for v in (i, str(i))]


def test_rows_per_insert_stay_under_the_connections_limit_of_values() -> None:
    assert values_rows(5, 250_000) == 4000  # the most rows a statement takes
    assert values_rows(12, 32_766) == 2730
    assert values_rows(12, 999) == 83  # SQLite before 3.32: 999 values
    assert values_rows(200, 999) * 200 <= 999
    assert values_rows(50_000, 32_766) == 1


def test_a_statement_of_the_most_values_the_connection_allows_runs(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "wide.db")
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    width = 7
    per = values_rows(width, limit)
    conn.execute(f"CREATE TABLE t ({', '.join(f'c{i}' for i in range(width))})")
    marks = "(" + ", ".join("?" * width) + ")"
    conn.execute(f"INSERT INTO t VALUES {', '.join([marks] * per)}", list(range(per * width)))
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (per,)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamps_of_any_unit_lose_only_the_zeros_of_their_fraction(unit: str) -> None:
    per_second = {"s": 1, "ms": 1000, "us": 10**6, "ns": 10**9}[unit]
    ticks = [0, per_second * 90, None] + ([per_second * 3 // 2] if per_second > 1 else [])
    text = wire_columns(pa.record_batch({"at": pa.array(ticks, pa.timestamp(unit))}))[0]
    want = ["1970-01-01 00:00:00", "1970-01-01 00:01:30", None]
    assert text.to_pylist() == want + (["1970-01-01 00:00:01.5"] if per_second > 1 else [])
    zoned = pa.array(ticks, pa.timestamp(unit, tz="Europe/Paris"))
    assert wire_columns(pa.record_batch({"at": zoned}))[0].to_pylist()[:2] == [
        "1970-01-01 00:00:00+00:00",
        "1970-01-01 00:01:30+00:00",
    ]
