"""A Parquet table of every type the source maps, for the unit and integration tests."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa

U1 = uuid.UUID("12345678-1234-5678-1234-567812345678")


def every_type(datelike: str = "00123", *, int8: bool = False) -> pa.Table:
    """Three rows (the last all NULL); ``datelike``: the second value of a text column
    whose first looks like a date; ``int8``: an int8 column ``n`` first."""
    table = _table(datelike)
    return table.add_column(0, "n", pa.array([1, 2, 3], pa.int8())) if int8 else table


def _table(datelike: str) -> pa.Table:
    return pa.table(
        {
            "i32": pa.array([1, -(2**31), None], pa.int32()),
            "i64": pa.array([2**62, -(2**63), None], pa.int64()),
            "u64": pa.array([2**64 - 1, 2**63, None], pa.uint64()),
            "f32": pa.array([0.1, 1.5, None], pa.float32()),
            "d10": pa.array([Decimal("12345678.91"), Decimal("-0.01"), None], pa.decimal128(10, 2)),
            "d50": pa.array(
                [
                    Decimal("1234567890123456789012345678901234567890.0123456789"),
                    Decimal("-1.5"),
                    None,
                ],
                pa.decimal256(50, 10),
            ),
            "ok": pa.array([True, False, None]),
            "day": pa.array([dt.date(2024, 2, 29), dt.date(1, 1, 1), None], pa.date32()),
            "at": pa.array(
                [1_700_000_000_123_456_789, 1_700_000_000_000_000_400, None],
                pa.timestamp("ns", tz="Europe/Paris"),
            ),
            "naive": pa.array(
                [dt.datetime(2024, 3, 31, 2, 30, 0, 123456), dt.datetime(1970, 1, 1), None],
                pa.timestamp("us"),
            ),
            "datelike": pa.array(["2024-01-01", datelike, None]),
            "u": pa.array([U1.bytes, uuid.UUID(int=0).bytes, None], pa.uuid()),
            "dict": pa.array(["a", None, "a"]).dictionary_encode(),
            "tags": pa.array([[1, 2], [], None], pa.list_(pa.int64())),
            "st": pa.array(
                [{"x": 1, "y": "a"}, {"x": None, "y": "b"}, None],
                pa.struct([("x", pa.int64()), ("y", pa.string())]),
            ),
            "mp": pa.array([[("a", 1), ("b", 2)], [], None], pa.map_(pa.string(), pa.int64())),
            "tm": pa.array([45_296_123_456, 0, None], pa.time64("us")),
            "bin": pa.array([b"\x00\xff", b"", None], pa.binary()),
            "nothing": pa.array([None, None, None], pa.null()),
        }
    )


#: the type the engine gives each column of :func:`every_type` (without ``n``)
ENGINE_TYPES = {
    "i32": "bigint",
    "i64": "bigint",
    "u64": "numeric(38,0)",
    "f32": "double",
    "d10": "numeric(38,2)",
    "d50": "text",
    "ok": "boolean",
    "day": "date",
    "at": "timestamptz",
    "naive": "timestamp",
    "datelike": "text",
    "u": "uuid",
    "dict": "text",
    "tags": "json",
    "st": "json",
    "mp": "json",
    "tm": "text",
    "bin": "text",
    "nothing": "text",
}
