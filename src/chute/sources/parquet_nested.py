"""A Parquet file's nested columns (lists, structs, maps) as JSON text, value by value,
guided by the column's type: maps become objects, dates and times ISO 8601 text, decimals
JSON numbers with every digit, binary values ``\\x`` and hex digits.

A value JSON cannot hold refuses its record, with the reason: a NaN or an infinity (JSON
has no such number; a JSON library would write ``null``), and a map giving one key twice
(an object would keep only one of them).  Nanoseconds inside nested values are cut to
microseconds (Python's datetime holds no more).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine.columns import bytes_text

_OPTIONS = orjson.OPT_NON_STR_KEYS


class _Refused(Exception):
    pass


def json_column(a: pa.Array) -> tuple[pa.Array, dict[int, str]]:
    """The column as JSON texts, and the rows (0-based) whose value JSON cannot hold, with
    why (their text is NULL)."""
    fast = _flat_list_json(a)
    if fast is not None:
        return fast, {}
    t = _without_nanos(a.type)
    values = (a if t == a.type else a.cast(t, safe=False)).to_pylist()
    texts: list[str | None] = []
    refused: dict[int, str] = {}
    for row, value in enumerate(values):
        try:
            plain = _plain(value, t)
        except _Refused as why:
            refused[row] = str(why)
            texts.append(None)
            continue
        if plain is None:
            texts.append(None)
        else:
            texts.append(
                orjson.dumps(plain, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()
            )
    return pa.array(texts, pa.string()), refused


_CONTROL = r"[\x00-\x1f]"


def _flat_list_json(a: pa.Array) -> pa.Array | None:
    """A list column of strings, integers or booleans, with no NULL inside a list, as JSON
    text made with Arrow's kernels (the text orjson writes: the same escapes, UTF-8 kept);
    None for any other column, which goes value by value."""
    t = a.type
    if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
        return None
    items = pc.list_flatten(a)
    v = items.type
    if items.null_count:
        return None
    if pa.types.is_string(v) or pa.types.is_large_string(v):
        if pc.any(pc.match_substring_regex(items, _CONTROL)).as_py():
            return None  # escaped as \n, \u0001...: left to orjson
        escaped = pc.replace_substring(pc.replace_substring(items, "\\", "\\\\"), '"', '\\"')
        texts = pc.binary_join_element_wise('"', pc.cast(escaped, pa.string()), '"', "")
    elif pa.types.is_integer(v):
        texts = pc.cast(items, pa.string())
    elif pa.types.is_boolean(v):
        texts = pc.if_else(items, "true", "false")
    else:
        return None
    lengths = pc.fill_null(pc.list_value_length(a), 0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), texts, mask=a.is_null())
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")


def _plain(value: Any, t: pa.DataType) -> Any:
    """``value`` (as pyarrow gives it) in the JSON shape its type says."""
    if value is None:
        return None
    if pa.types.is_map(t):
        out: dict[str, Any] = {}
        for key, item in value:
            name = str(key)
            if name in out:
                raise _Refused(f"a map gives the key {name!r} twice; a JSON object holds one")
            out[name] = _plain(item, t.item_type)
        return out
    if pa.types.is_struct(t):
        return {f.name: _plain(value.get(f.name), f.type) for f in t}
    if _is_list(t):
        return [_plain(item, t.value_type) for item in value]
    if pa.types.is_dictionary(t):
        return _plain(value, t.value_type)
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(f"{value} inside a nested value: JSON has no such number")
    return value


def _is_list(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )


def _without_nanos(t: pa.DataType) -> pa.DataType:
    """``t`` with every nanosecond type inside it in microseconds."""
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_time64(t) and t.unit == "ns":
        return pa.time64("us")
    if pa.types.is_duration(t) and t.unit == "ns":
        return pa.duration("us")
    if pa.types.is_map(t):
        return pa.map_(_without_nanos(t.key_type), _without_nanos(t.item_type))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_without_nanos(f.type)) for f in t])
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(_without_nanos(t.value_type)), t.list_size)
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_without_nanos(t.value_type)))
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_without_nanos(t.value_type)))
    return t


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # a JSON number, every digit
    if isinstance(value, timedelta):
        return f"PT{Decimal(value // timedelta(microseconds=1)).scaleb(-6).normalize():f}S"
    if isinstance(value, bytes):
        return bytes_text(value)
    raise TypeError(type(value).__name__)
