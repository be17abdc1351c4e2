"""Python records (dicts) to Arrow columns, keeping each value's own type.

Scalars keep their type (int, float, bool, str, Decimal, date, datetime).  Nested values
(dicts, lists) and columns that mix kinds of value become JSON text, marked with
:data:`~chute.engine.columns.JSON_FIELD_META` so that the engine stores them as JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from itertools import repeat
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine.columns import JSON_FIELD_META, bytes_text


def json_text(value: Any) -> str | None:
    """``value`` as JSON text; integers of any size keep every digit, and a NaN or an
    infinity is written ``NaN``, ``Infinity`` (not JSON: a JSON column refuses its record,
    where a JSON library would store ``null``; an array of numbers takes it)."""
    if value is None:
        return None
    try:
        text = orjson.dumps(value, default=_plain, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits: the standard library does not
        return json.dumps(value, default=_plain, ensure_ascii=False)
    if "null" in text and _non_finite(value):  # orjson writes them as null
        return json.dumps(value, default=_plain, ensure_ascii=False)
    return text


def _non_finite(value: Any) -> bool:
    """Whether a float inside ``value`` is a NaN or an infinity."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    return False


def _plain(value: Any) -> str:
    """What is written for values JSON has no type for: dates and times as ISO 8601 (as
    orjson writes them), bytes as ``\\x`` and hex digits (PostgreSQL's bytea text)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    return str(value)


def shape_problem(value: Any) -> str | None:
    """Why a parsed JSON value is not a record (a non-empty object), or None."""
    if isinstance(value, dict):
        return None if value else "an empty object: no field to store"
    return f"expected a JSON object, found {type(value).__name__}"


def records_to_batch(records: Sequence[Mapping[str, Any]], columns: list[str]) -> pa.RecordBatch:
    arrays = []
    fields = []
    plain = bool(records) and set(map(type, records)) == {dict}
    get: Any = dict.get  # plain dicts: the method itself, without a call per record
    for name in columns:
        values = list(map(get, records, repeat(name))) if plain else [r.get(name) for r in records]
        array, is_json = column_from_values(values)
        arrays.append(array)
        fields.append(pa.field(name, array.type, metadata=JSON_FIELD_META if is_json else None))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


#: values a column's type is guessed from before the whole column is converted to it
TYPE_SAMPLE = 512


def column_from_values(values: list[Any]) -> tuple[pa.Array, bool]:
    """A column of Python values; True when its values became JSON text."""
    decimals = _decimals(values)
    if decimals is not None:
        return decimals, False
    try:
        array = pa.array(values, from_pandas=False)
    except OverflowError:
        # integers beyond 64 bits: exact decimals when they fit numeric(38)
        if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
            try:
                return pa.array(
                    [None if v is None else Decimal(v) for v in values], pa.decimal128(38, 0)
                ), False
            except (pa.ArrowInvalid, OverflowError):
                pass
        return pa.array([json_text(v) for v in values], pa.string()), True
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        # mixed types, or values Arrow cannot nest (a uuid.UUID inside a list)
        return pa.array([json_text(v) for v in values], pa.string()), True
    t = array.type
    if pa.types.is_null(t):
        return pa.nulls(len(values), pa.string()), False
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):  # bytea's text, as Parquet's
        return pa.array([None if v is None else _plain(v) for v in values], pa.string()), False
    if pa.types.is_nested(t):
        return pa.array([json_text(v) for v in values], pa.string()), True
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return pa.array([None if v is None else str(v) for v in values], pa.string()), False
    return array, False


def _decimals(values: list[Any]) -> pa.Array | None:
    """A column of only Decimals (and None) as Arrow decimals, or None to convert it the
    general way.  Arrow infers a Decimal column's precision and scale by asking every value
    for its digits (1.4–2.7 µs a value here).  This infers them from the first values and
    converts the whole column to that type (about 0.5 µs a value with the check below);
    the type is the one inference of the whole column gives: Arrow refuses a later value
    with more digits before the point than the type holds (never rounds it), and a later
    value with more places than the type's scale, which Arrow would take when they are
    zeros (``2.50000`` as ``2.50``), is found from the values' text, as is a zero after
    values with no digit before the point (Arrow counts ``0`` one digit, ``0.5`` none)."""
    if len(values) <= TYPE_SAMPLE or Decimal not in set(map(type, values[:TYPE_SAMPLE])):
        return None
    if not set(map(type, values)) <= _DECIMAL_OR_NONE:
        return None
    try:
        guess = pa.array(values[:TYPE_SAMPLE], from_pandas=False).type
        if not pa.types.is_decimal(guess):
            return None
        array = pa.array(values, type=guess, from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return None
    texts = pa.array([None if v is None else str(v) for v in values], pa.string())
    if pc.any(pc.match_substring(texts, "E")).as_py():
        return None  # exponent notation (1E+5, 1.2E-9): let Arrow infer the column
    point = pc.find_substring(texts, ".")  # -1: no places
    places = pc.if_else(
        pc.less(point, 0), 0, pc.subtract(pc.subtract(pc.utf8_length(texts), point), 1)
    )
    most = pc.max(places).as_py()
    if most is not None and most > guess.scale:
        return None
    if guess.precision == guess.scale and pc.any(pc.less(point, 0)).as_py():
        return None  # only places so far, then a zero, which Arrow counts a digit before them
    return array


_DECIMAL_OR_NONE = {Decimal, type(None)}
