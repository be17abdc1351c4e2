"""The values SQLite is given: formatted ahead in the reader's thread or at the write, the
same rows; a batch that was formatted ahead is found only by the very batch object."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pyarrow as pa

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
    per = values_rows(2)
    rest: list[list[object]] = []
    chunks = list(value_chunks(batch, None, per, rest))
    assert all(len(c) == 2 * per for c in chunks)
    assert len(rest) == 1 and len(rest[0]) == 2 * (n % per)
    flat = [v for c in chunks + rest for v in c]
    assert flat == [v for i in range(n) for v in (i, str(i))]


def test_rows_per_insert_stay_under_sqlites_limit_of_values() -> None:
    assert values_rows(12) == 80
    assert values_rows(200) * 200 <= 999
    assert values_rows(5000) == 1
