"""Arrow batches as the bytes MySQL/MariaDB reads: ``LOAD DATA`` text and ``INSERT`` rows.

Both are built column by column with Arrow kernels (no Python loop per row) and joined into
one buffer:

- :func:`load_data_bytes`: tab-separated lines for ``LOAD DATA LOCAL INFILE ... FIELDS
  TERMINATED BY '\\t' ESCAPED BY '\\\\'``.  NULL travels as ``\\N`` (an empty field is an
  empty string, so ``""`` and NULL stay apart); a backslash, tab, newline or NUL inside a
  value is escaped, so each record is exactly one line and line ``i`` is row ``i``.
- :func:`insert_rows`: ``('v1','v2',NULL),...`` tuples of quoted literals for a multi-row
  ``INSERT``, cut into statements under the server's packet limit.

Values are spelled as the server parses them: booleans ``1``/``0``, timestamps
``YYYY-MM-DD HH:MM:SS.ffffff`` (zoned ones in UTC: the session's ``time_zone`` is
``+00:00``), decimals in plain notation, never ``1E-7``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine.numbers import plain_decimals

NULL_FIELD = "\\N"
#: what must be escaped inside a LOAD DATA field (ESCAPED BY '\\')
_LOAD_SPECIALS = [("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\x00", "\\0")]
#: what must be escaped inside a quoted SQL literal (backslash escapes on)
_SQL_SPECIALS = [("\\", "\\\\"), ("'", "\\'"), ("\x00", "\\0")]


def value_text(col: pa.Array) -> pa.Array:
    """Each value as the text the server reads it from (nulls stay null)."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col
    if pa.types.is_boolean(t):
        return pc.cast(pc.cast(col, pa.int8()), pa.string())
    if pa.types.is_decimal(t):
        return plain_decimals(col)
    if pa.types.is_timestamp(t):
        naive = col.cast(pa.timestamp(t.unit)) if t.tz is not None else col
        return pc.cast(naive, pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pc.cast(col, pa.string())
    return pc.cast(col, pa.string())


def _escaped(text: pa.Array, specials: list[tuple[str, str]]) -> pa.Array:
    """``text`` with its special characters escaped.  The common case, a column without
    any, costs one copy and a memchr per special character over its bytes (no regex);
    only the characters present are replaced."""
    if len(text) == 0 or pa.types.is_large_string(text.type):
        raw = b"".join(v.encode() for v in text.to_pylist() if v) if len(text) else b""
    else:
        raw = _buffer(text)
    for c, escaped in specials:  # the backslash first: the others' escapes have one
        if c.encode() in raw:
            text = pc.replace_substring(text, c, escaped)
    return text


def _or(text: pa.Array, null: str) -> pa.Array:
    """``text`` with ``null`` for each null (coalesce: far faster than fill_null here)."""
    if not text.null_count:
        return text
    return pc.coalesce(text, pa.scalar(null, text.type))


def _buffer(lines: pa.Array) -> bytes:
    """The bytes of a string array's values, one after another."""
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = lines.buffers()[2]
    blob: bytes = data[int(offsets[0]) : int(offsets[-1])].to_pybytes()
    return blob


def load_data_bytes(batch: pa.RecordBatch) -> bytes:
    """``batch`` as LOAD DATA lines: tab between fields, ``\\n`` after each record."""
    fields = [_or(_escaped(value_text(col), _LOAD_SPECIALS), NULL_FIELD) for col in batch.columns]
    if not fields:
        return b""
    lines = pc.binary_join_element_wise(*fields, "\t") if len(fields) > 1 else fields[0]
    return _buffer(pc.binary_join_element_wise(lines, "", "\n"))


def _literals(batch: pa.RecordBatch) -> pa.Array:
    """Each record as ``('v1','v2',NULL)``."""
    fields = []
    for col in batch.columns:
        text = _escaped(value_text(col), _SQL_SPECIALS)
        quoted = pc.binary_join_element_wise("'", text, "'", "")
        fields.append(_or(quoted, "NULL"))
    inner = pc.binary_join_element_wise(*fields, ",") if len(fields) > 1 else fields[0]
    return pc.binary_join_element_wise("(", inner, ")", "")


def insert_rows(batch: pa.RecordBatch, max_bytes: int) -> list[tuple[int, bytes]]:
    """``batch``'s records as VALUES lists of at most ``max_bytes`` each (a record longer
    than that goes alone): ``(index of the first record, b"(...),(...)")`` pairs."""
    if batch.num_rows == 0:
        return []
    tuples = _literals(batch)
    with_comma = pc.binary_join_element_wise(tuples, ",", "")
    offsets = np.frombuffer(with_comma.buffers()[1], dtype=np.int32)[
        with_comma.offset : with_comma.offset + len(with_comma) + 1
    ].astype(np.int64)
    data = with_comma.buffers()[2]
    chunks = []
    start = 0
    n = len(with_comma)
    while start < n:
        limit = offsets[start] + max_bytes
        end = int(np.searchsorted(offsets, limit, side="right")) - 1
        end = min(max(end, start + 1), n)
        blob = data[int(offsets[start]) : int(offsets[end]) - 1].to_pybytes()  # last comma
        chunks.append((start, blob))
        start = end
    return chunks
