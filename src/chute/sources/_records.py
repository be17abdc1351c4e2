"""Python records (dicts) to Arrow columns, keeping each value's own type.

Scalars keep their type (int, float, bool, str, Decimal, date, datetime).  Nested values
(dicts, lists) and columns that mix kinds of value become JSON text, marked with
:data:`~chute.engine.columns.JSON_FIELD_META` so that the engine stores them as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa

from chute.engine.columns import JSON_FIELD_META


def json_text(value: Any) -> str | None:
    """``value`` as JSON text; integers of any size keep every digit."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits: the standard library does not
        return json.dumps(value, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> str:
    """What orjson writes for values JSON has no type for (dates and times: ISO 8601)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def shape_problem(value: Any) -> str | None:
    """Why a parsed JSON value is not a record (a non-empty object), or None."""
    if isinstance(value, dict):
        return None if value else "an empty object: no field to store"
    return f"expected a JSON object, found {type(value).__name__}"


def records_to_batch(records: Sequence[Mapping[str, Any]], columns: list[str]) -> pa.RecordBatch:
    arrays = []
    fields = []
    for name in columns:
        values = [r.get(name) for r in records]
        array, is_json = column_from_values(values)
        arrays.append(array)
        fields.append(pa.field(name, array.type, metadata=JSON_FIELD_META if is_json else None))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def column_from_values(values: list[Any]) -> tuple[pa.Array, bool]:
    """A column of Python values; True when its values became JSON text."""
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
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array([json_text(v) for v in values], pa.string()), True
    t = array.type
    if pa.types.is_null(t):
        return pa.nulls(len(values), pa.string()), False
    if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([json_text(v) for v in values], pa.string()), True
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return pa.array([None if v is None else str(v) for v in values], pa.string()), False
    return array, False
