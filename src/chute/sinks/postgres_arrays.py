"""A typed source's lists, which arrive as JSON text, in PostgreSQL's array syntax, so
that the server's text input judges each element (a value out of range is refused as
such, not as a malformed array).  A string beside them is its text, as from a text file.

Most lists are rewritten with Arrow kernels: numbers, booleans, nulls and nested lists of
them (``[[1,null]]`` is ``{{1,NULL}}``), and flat lists of strings whose only escapes are
the array syntax's own (``["a\\"b"]`` is ``{"a\\"b"}``).  The others (strings with other
escapes, such as a newline; lists of strings nested; dicts inside a list) are decoded and
written again in Python, one value at a time."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

#: a JSON list with no strings and no objects: numbers, booleans, nulls and lists of them
_PLAIN_JSON_LIST = r'^\[[^"{}]*\]$'
#: a flat JSON list of strings and nulls whose only escapes are \" and \\ (the array
#: syntax's own): between its outer brackets it is already that syntax
_JSON_STRING = r'"(?:[^"\\\x00-\x1f]|\\["\\])*"'
_FLAT_STRING_LIST = rf"^\[(?:(?:{_JSON_STRING}|null)(?:,(?:{_JSON_STRING}|null))*)?\]$"


def array_text(col: pa.Array) -> pa.Array:
    """``col``'s JSON lists in the server's array syntax.  A string goes as its text, for
    the server to read as array syntax, as it does when no list shares its batch (the
    column is not JSON then).  Any other value (a dict, a number) goes as ``not a list:
    <its JSON>``, which the server refuses: an empty dict's ``{}`` would otherwise be read
    as an empty array."""
    lists = pc.starts_with(col, "[")
    texts = pc.fill_null(pc.starts_with(col, '"'), False)
    others = pc.fill_null(pc.invert(pc.or_(lists, texts)), False)
    if pc.any(others).as_py():
        col = pc.if_else(others, pc.binary_join_element_wise("not a list: ", col, ""), col)
    plain = pc.match_substring_regex(col, _PLAIN_JSON_LIST)
    strings = pc.match_substring_regex(col, _FLAT_STRING_LIST)
    rewritten = pc.or_(plain, strings)
    out = col
    if pc.any(rewritten).as_py():
        braces = pc.replace_substring(pc.replace_substring(col, "[", "{"), "]", "}")
        outer = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(col, 1, -1), "}", "")
        out = pc.if_else(
            plain, pc.replace_substring(braces, "null", "NULL"), pc.if_else(strings, outer, col)
        )
    rest = pc.or_(pc.fill_null(pc.and_(lists, pc.invert(rewritten)), False), texts)
    rows = np.flatnonzero(rest.to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return out
    written = [_from_json(text) for text in col.take(pa.array(rows)).to_pylist()]
    mask = np.zeros(len(col), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(out, pa.array(mask), pa.array(written, pa.string()))


def _from_json(text: str) -> str:
    """One JSON list in the array syntax, or a JSON string as its text; text that is no
    JSON goes as it is (the server refuses it)."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, str):
        return value
    return _array(value) if isinstance(value, list) else text


def _array(values: list[Any]) -> str:
    return "{" + ",".join(_element(v) for v in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return _array(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return orjson.dumps(value).decode()  # as the Arrow path keeps it: ``1e-7``
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):  # an element of a json or jsonb array
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
