"""A Parquet file's column types, as the engine takes them: each column's type is the file's,
never inferred from its values.

=========================================  ===============================================
in the file                                 as the engine takes it
=========================================  ===============================================
int8 … int64, uint8 … uint32                bigint
uint64                                      numeric(38,0) (values beyond int64 keep every digit)
float16, float32, float64                   double (every float32 is exact as a double)
decimal up to 38 digits                     numeric(38, its scale)
decimal of more digits                      text, every digit
bool                                        boolean
date32, date64                              date
timestamp without a zone                    timestamp (nanoseconds rounded half to even to
                                            microseconds, as PostgreSQL's text input rounds;
                                            one too far from 1970 for microseconds in 64 bits
                                            rejects its record)
timestamp with a zone                       timestamptz
string, large_string, string_view           text (a string that looks like a date stays text)
uuid (the Parquet logical type)             uuid where the database has one, else its text
time                                        text, ``HH:MM:SS[.ffffff]`` (nanoseconds rounded
                                            half to even)
duration                                    text, ISO 8601 seconds (``PT90.5S``)
binary                                      text, ``\\x`` and hex digits (PostgreSQL's bytea input)
list, struct, map (nested)                  JSON
dictionary-encoded                          its values' type
a column of nulls only                      text
=========================================  ===============================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.coltypes import JSON, MAX_DECIMAL_PRECISION, TEXT, ColumnType, Kind
from chute.engine.columns import DECLARED_TYPE, JSON_FIELD_META, bytes_text
from chute.engine.numbers import plain_decimals
from chute.errors import SourceError
from chute.sources.parquet_nested import json_column

Convert = Callable[[pa.Array], pa.Array]
#: the rows of a column whose value the engine's type cannot hold: row -> why
Refuse = Callable[[pa.Array], dict[int, str]]


@dataclass(frozen=True)
class FileColumn:
    """A column of the file: its name, its type there, and what the engine stores."""

    name: str
    file_type: pa.DataType
    type: ColumnType
    field: pa.Field  # as the engine gets it (with chute's markers)
    convert: Convert
    refuse: Refuse | None = None  # rows to reject (their value is left out before convert)

    @property
    def nested(self) -> bool:
        return self.type.kind is Kind.JSON


def file_columns(schema: pa.Schema) -> list[FileColumn]:
    """The engine's view of each column of ``schema`` (a Parquet file's Arrow schema)."""
    out = []
    for field in schema:
        try:
            column_type, arrow, convert = _plan(field.type)
        except _Unsupported:
            raise SourceError(
                f"column {field.name} has type {field.type}, which chute cannot store",
                hint="leave the column out of the file, or cast it to a plain type",
            ) from None
        meta: dict[bytes, bytes] | None = None
        if column_type.kind is Kind.JSON:
            meta = JSON_FIELD_META
        elif column_type.kind in (Kind.TEXT, Kind.UUID):
            meta = {DECLARED_TYPE: column_type.kind.value.encode()}
        engine_field = pa.field(field.name, arrow, True, meta)
        refuse = _beyond_microseconds(field.type) if pa.types.is_timestamp(field.type) else None
        out.append(FileColumn(field.name, field.type, column_type, engine_field, convert, refuse))
    return out


def to_engine(
    batch: pa.RecordBatch, columns: list[FileColumn]
) -> tuple[pa.RecordBatch, dict[int, tuple[str, str]]]:
    """A batch as read, in the engine's types (see :func:`file_columns`), and the rows
    whose value the engine's type cannot hold (nested values JSON cannot, timestamps beyond
    microseconds): row -> (column, why)."""
    arrays = []
    refused: dict[int, tuple[str, str]] = {}
    for c, a in zip(columns, batch.columns, strict=True):
        if c.nested:
            a, bad = json_column(a)
        else:
            bad = c.refuse(a) if c.refuse is not None else {}
            if bad:  # left out, so that the rest of the column converts
                a = pc.if_else(pa.array(_rows_mask(len(a), bad)), pa.scalar(None, a.type), a)
            a = c.convert(a)
        for row, why in bad.items():
            refused.setdefault(row, (c.name, why))
        arrays.append(a)
    data = pa.RecordBatch.from_arrays(arrays, schema=pa.schema([c.field for c in columns]))
    return data, refused


class _Unsupported(Exception):
    pass


def _cast(arrow: pa.DataType) -> Convert:
    def convert(a: pa.Array) -> pa.Array:
        return a if a.type == arrow else pc.cast(a, arrow)

    return convert


def _plan(t: pa.DataType) -> tuple[ColumnType, pa.DataType, Convert]:
    """The engine's type of file type ``t``, its Arrow type, and how a column converts."""
    if pa.types.is_dictionary(t):
        column_type, arrow, inner = _plan(t.value_type)
        return column_type, arrow, lambda a: inner(a.dictionary_decode())
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name == "arrow.uuid":
            return ColumnType(Kind.UUID), pa.string(), _uuid_text
        column_type, arrow, inner = _plan(t.storage_type)
        return column_type, arrow, lambda a: inner(a.storage)
    if pa.types.is_null(t):
        return TEXT, pa.string(), lambda a: pa.nulls(len(a), pa.string())
    if pa.types.is_boolean(t):
        return ColumnType(Kind.BOOLEAN), pa.bool_(), _cast(pa.bool_())
    if pa.types.is_uint64(t):
        return ColumnType(Kind.NUMERIC, 0), pa.decimal128(38, 0), _cast(pa.decimal128(38, 0))
    if pa.types.is_integer(t):
        return ColumnType(Kind.BIGINT), pa.int64(), _cast(pa.int64())
    if pa.types.is_floating(t):
        return ColumnType(Kind.DOUBLE), pa.float64(), _cast(pa.float64())
    if pa.types.is_decimal(t):
        if t.precision > MAX_DECIMAL_PRECISION or t.scale < 0:
            return TEXT, pa.string(), plain_decimals
        arrow = pa.decimal128(MAX_DECIMAL_PRECISION, t.scale)
        return ColumnType(Kind.NUMERIC, t.scale), arrow, _cast(arrow)
    if pa.types.is_date(t):
        return ColumnType(Kind.DATE), pa.date32(), _cast(pa.date32())
    if pa.types.is_timestamp(t):
        zoned = t.tz is not None
        arrow = pa.timestamp("us", tz="UTC") if zoned else pa.timestamp("us")
        kind = Kind.TIMESTAMPTZ if zoned else Kind.TIMESTAMP
        return ColumnType(kind), arrow, _timestamps(t, arrow)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return TEXT, pa.string(), _cast(pa.string())
    if pa.types.is_time(t):
        return TEXT, pa.string(), _times(t)
    if pa.types.is_duration(t):
        return TEXT, pa.string(), _durations(t)
    binary = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary)
    if any(is_kind(t) for is_kind in binary) or pa.types.is_binary_view(t):
        return TEXT, pa.string(), _each(bytes_text)
    if pa.types.is_nested(t):
        return JSON, pa.string(), lambda a: json_column(a)[0]
    raise _Unsupported


def _timestamps(t: pa.TimestampType, arrow: pa.DataType) -> Convert:
    """To microseconds (of UTC, for zoned ones: a timestamp's value is its instant)."""
    if t.unit == "ns":
        return lambda a: _nanos_to_micros(a, arrow)
    return lambda a: _scaled(a, t, arrow)


_PER_MICRO = {"s": 1_000_000, "ms": 1000, "us": 1}


def _scaled(a: pa.Array, t: pa.TimestampType, arrow: pa.DataType) -> pa.Array:
    ticks = pc.multiply_checked(pc.cast(a, pa.int64()), _PER_MICRO[t.unit])
    return pc.cast(ticks, arrow)


_INT64_MAX = 2**63 - 1


def _beyond_microseconds(t: pa.TimestampType) -> Refuse | None:
    """Timestamps of seconds or milliseconds too far from 1970 for microseconds (about
    292,000 years): such a record is rejected, not the load stopped."""
    factor = _PER_MICRO.get(t.unit, 1)
    if factor == 1:
        return None
    limit = _INT64_MAX // factor

    def refuse(a: pa.Array) -> dict[int, str]:
        ticks = pc.cast(a, pa.int64())
        far = pc.fill_null(pc.or_(pc.greater(ticks, limit), pc.less(ticks, -limit)), False)
        if not pc.any(far).as_py():
            return {}
        rows = np.flatnonzero(far.to_numpy(zero_copy_only=False))
        values = pc.take(ticks, pa.array(rows)).to_pylist()
        return {
            int(r): f"{v:,} {_UNIT_NAME[t.unit]} from 1970 is beyond the timestamps a database "
            "holds (microseconds, about 292,000 years either way)"
            for r, v in zip(rows, values, strict=True)
        }

    return refuse


_UNIT_NAME = {"s": "seconds", "ms": "milliseconds"}


def _rows_mask(n: int, rows: dict[int, str]) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[list(rows)] = True
    return mask


def _nanos_to_micros(a: pa.Array, arrow: pa.DataType) -> pa.Array:
    """Nanoseconds to microseconds as PostgreSQL's text input rounds a fraction of a second
    (``rint(strtod(".fffffffff") * 1e6)``), on the count since the epoch, or midnight:
    never in a local time."""
    ticks = pc.fill_null(pc.cast(a, pa.int64()), 0).to_numpy(zero_copy_only=False)
    seconds, rest = np.divmod(ticks, 1_000_000_000)  # rest: the clock's fraction, >= 0
    micros = seconds * 1_000_000 + np.rint(rest / 1e9 * 1e6).astype(np.int64)
    mask = a.is_null().to_numpy(zero_copy_only=False) if a.null_count else None
    return pc.cast(pa.array(micros, pa.int64(), mask=mask), arrow)


_DAY_MICROS = 86_400_000_000


def _times(t: pa.DataType) -> Convert:
    """``HH:MM:SS[.ffffff]``: nanoseconds rounded to microseconds, a fraction of zeros left out."""

    def convert(a: pa.Array) -> pa.Array:
        midnight = None
        if t.unit == "ns":
            micros = _nanos_to_micros(a, pa.int64())
            midnight = pc.equal(micros, _DAY_MICROS)  # 23:59:59.9999995 and on: 24:00:00
            a = pc.cast(pc.if_else(midnight, 0, micros), pa.time64("us"))
        text = pc.replace_substring_regex(pc.cast(a, pa.string()), r"\.0+$", "")
        return text if midnight is None else pc.if_else(midnight, "24:00:00", text)

    return convert


def _durations(t: pa.DurationType) -> Convert:
    """ISO 8601 durations of seconds, every digit of the file's unit (``PT90.5S``)."""
    digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[t.unit]

    def convert(a: pa.Array) -> pa.Array:
        ticks = pc.cast(a, pa.int64()).to_pylist()
        return pa.array(
            [
                None if v is None else f"PT{Decimal(v).scaleb(-digits).normalize():f}S"
                for v in ticks
            ],
            pa.string(),
        )

    return convert


def _each(text: Callable[[Any], str]) -> Convert:
    def convert(a: pa.Array) -> pa.Array:
        return pa.array([None if v is None else text(v) for v in a.to_pylist()], pa.string())

    return convert


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: where each of a canonical uuid's 32 hex digits goes among its 36 characters
_DIGIT_AT = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _uuid_text(a: pa.Array) -> pa.Array:
    """16-byte uuids as canonical lowercase text, decoded with numpy."""
    storage = a.storage if isinstance(a, pa.ExtensionArray) else a
    n = len(storage)
    raw = np.frombuffer(storage.buffers()[1], dtype=np.uint8)[
        storage.offset * 16 : (storage.offset + n) * 16
    ].reshape(n, 16)
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    chars[:, _DIGIT_AT] = digits
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    validity = storage.buffers()[0] if storage.null_count else None
    if validity is not None and storage.offset:
        validity = pa.array(storage.is_valid()).buffers()[1]
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(chars.tobytes()), validity
    )
