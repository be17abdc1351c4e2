"""The values SQLite is given: formatted ahead in the reader's thread or at the write, the
same rows; a batch that was formatted ahead is found only by the very batch object."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pyarrow as pa

from chute.sinks.sqlite_wire import Wired, python_rows, wire_columns


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
