"""Texts encoded in PostgreSQL's binary forms with numpy, where the server's binary input
takes them through ADBC's COPY (a 16-byte uuid, an inet's address bytes); each encoder
answers None for a batch holding any other spelling, which then travels as text for the
server to cast, so the server's own text input judges it."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine.columns import UUID_HYPHENS, uuid_chars

#: where the hex digits of a canonical uuid's text are: [start, end) of each group
_UUID_DIGITS = [(0, 8), (9, 13), (14, 18), (19, 23), (24, 36)]


def uuid_array(col: pa.Array) -> pa.Array | None:
    """Canonical uuid strings as Arrow's 16-byte uuid type (their hex digits decoded by
    ``bytes.fromhex``); ``None`` when any value is in another spelling (the server then
    parses the text)."""
    chars = uuid_chars(col)
    if chars is None or not (chars[:, UUID_HYPHENS] == ord("-")).all():
        return None
    n = len(chars)
    digits = np.concatenate([chars[:, a:b] for a, b in _UUID_DIGITS], axis=1)
    try:
        # fromhex skips whitespace: a value holding any is one byte short, or odd
        raw = bytes.fromhex(digits.tobytes().decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    if len(raw) != 16 * n:
        return None
    storage = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)])
    if col.null_count:
        storage = pc.if_else(col.is_valid(), storage, pa.scalar(None, pa.binary(16)))
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


#: inet_recv's family byte for IPv4 (PGSQL_AF_INET)
_AF_INET = 2
_OCTET = r"(0|[1-9][0-9]{0,2})"
_IPV4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(/(0|[1-9][0-9]?))?$"


def inet_array(col: pa.Array) -> pa.Array | None:
    """IPv4 addresses in plain dotted form (``10.0.0.1``, ``10.0.0.1/8``: no leading
    zeros) as ``inet``'s binary form (family, bits, not cidr, 4 bytes, the address); None
    when any value is in another form (IPv6, a leading zero), which the server reads."""
    n = len(col)
    present = pc.fill_null(col, "0.0.0.0") if col.null_count else col
    if n == 0 or not pc.all(pc.match_substring_regex(present, _IPV4)).as_py():
        return None
    parts = pc.split_pattern_regex(present, r"[./]")
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    flat = pc.cast(pc.list_flatten(parts), pa.int64()).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    octets = flat[starts[:, None] + np.arange(4)]
    if (octets > 255).any():
        return None
    bits = np.where(lengths == 5, flat[np.minimum(starts + 4, len(flat) - 1)], 32)
    if (bits > 32).any():
        return None
    out = np.empty((n, 8), dtype=np.uint8)
    out[:, 0] = _AF_INET
    out[:, 1] = bits
    out[:, 2] = 0  # inet, not cidr
    out[:, 3] = 4
    out[:, 4:] = octets
    offsets = np.arange(0, 8 * (n + 1), 8, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(),
        n,
        [_validity(col), pa.py_buffer(offsets.tobytes()), pa.py_buffer(out.tobytes())],
        null_count=col.null_count,
    )


#: the ISO 8601 seconds chute writes for a Parquet duration (``PT90.5S``, ``PT-3S``): up to
#: 9 digits of whole seconds (the nanoseconds of Arrow's interval stay in 64 bits) and 6 of
#: fraction (the server's microseconds; more would be rounded by it)
_ISO_SECONDS = r"^PT(?P<minus>-?)(?P<s>0|[1-9][0-9]{0,8})(?:\.(?P<f>[0-9]{1,6}))?S$"
#: Python's text of a timedelta (``1 day, 2:03:04.000005``, ``0:00:03``), of zero or more
#: days: a negative one (``-1 day, 23:59:57``) is left to the server, whose reading of a
#: leading minus depends on its IntervalStyle
_TIMEDELTA = (
    r"^(?:(?P<d>[1-9][0-9]{0,8}) days?, )?(?P<h>1?[0-9]|2[0-3]):(?P<m>[0-5][0-9])"
    r":(?P<s>[0-5][0-9])(?:\.(?P<f>[0-9]{6}))?$"
)
_INTERVAL = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])
#: either spelling, a texts' check (the server surely takes them; no group names, which
#: RE2 wants distinct)
INTERVAL_SPELLINGS = re.sub(r"\?P<\w+>", "", f"{_ISO_SECONDS}|{_TIMEDELTA}")


def interval_array(col: pa.Array) -> pa.Array | None:
    """Durations in the two spellings chute writes for them (ISO 8601 seconds, Python's
    timedelta text) as Arrow's month-day-nano intervals: what the server stores for that
    text (whole seconds stay seconds: ``PT90000S`` is ``25:00:00``, not a day and an
    hour); None when any value is in another spelling (``1 day``, ``P1D``), which the
    server then reads."""
    n = len(col)
    if n == 0 or col.null_count == n:
        return None
    iso = pc.extract_regex(col, _ISO_SECONDS)
    delta = pc.extract_regex(col, _TIMEDELTA)
    from_iso, from_delta = iso.is_valid(), delta.is_valid()
    if pc.sum(pc.or_kleene(from_iso, from_delta)).as_py() != n - col.null_count:
        return None
    minus = pc.equal(_text(iso, "minus"), "-").to_numpy(zero_copy_only=False)
    iso_micros = _micros(iso, 0) * np.where(minus, -1, 1)
    delta_micros = _micros(delta, 60 * (60 * _int(delta, "h") + _int(delta, "m")))
    out = np.zeros(n, dtype=_INTERVAL)
    out["nanos"] = np.where(from_iso.to_numpy(zero_copy_only=False), iso_micros, delta_micros)
    out["nanos"] *= 1000
    out["days"] = _int(delta, "d")
    return pa.Array.from_buffers(
        pa.month_day_nano_interval(),
        n,
        [_validity(col), pa.py_buffer(out.tobytes())],
        null_count=col.null_count,
    )


def _validity(col: pa.Array) -> pa.Buffer | None:
    """``col``'s nulls as the validity bitmap of an array built from buffers."""
    return pa.array(col.is_valid()).buffers()[1] if col.null_count else None


def _lists(col: pa.Array, lengths: np.ndarray, values: pa.Array) -> pa.ListArray:
    """Lists of ``values``, ``lengths`` of them a row, null where ``col`` is."""
    offsets = np.zeros(len(col) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    mask = pc.is_null(col) if col.null_count else None
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=mask)


def _text(parts: pa.StructArray, name: str) -> pa.Array:
    """The text captured as ``name``: empty where the group or the whole match is absent."""
    return pc.fill_null(pc.struct_field(parts, name), "")


def _int(parts: pa.StructArray, name: str) -> np.ndarray:
    """The digits captured as ``name`` as int64, 0 where there are none."""
    text = _text(parts, name)
    numbers = pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64())
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.int64)


def _micros(parts: pa.StructArray, more_seconds: np.ndarray | int) -> np.ndarray:
    """Microseconds of the captured seconds, their fraction and ``more_seconds``."""
    fraction = pc.utf8_rpad(_text(parts, "f"), 6, "0")
    micros = pc.cast(fraction, pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray((_int(parts, "s") + more_seconds) * 1_000_000 + micros, dtype=np.int64)


_INT = r"-?(?:0|[1-9][0-9]{0,18})"
#: one-dimensional integer arrays in the server's canonical text (``{1,-2,NULL}``, as
#: ``array_out`` writes them: no spaces, no quotes, no bounds like ``[0:1]={…}``)
_PG_INT_LIST = rf"^\{{(?:(?:{_INT}|NULL)(?:,(?:{_INT}|NULL))*)?\}}$"
#: ... and as chute writes a typed source's list of integers in JSON (``[1,-2,null]``)
_JSON_INT_LIST = rf"^\[(?:(?:{_INT}|null)(?:,(?:{_INT}|null))*)?\]$"


def int_lists(col: pa.Array, element: pa.DataType, *, json: bool) -> pa.Array | None:
    """Integer arrays, in the server's syntax or (``json``: a typed source's lists) in
    JSON, as Arrow lists of ``element`` (the column's element type: the server's binary
    input wants exactly it); None when any value is in another spelling or out of the
    element's range, which the server then reads (and refuses, by record)."""
    n = len(col)
    present = pc.fill_null(col, "[]" if json else "{}") if col.null_count else col
    pattern = _JSON_INT_LIST if json else _PG_INT_LIST
    if n == 0 or not pc.all(pc.match_substring_regex(present, pattern)).as_py():
        return None
    inner = pc.utf8_slice_codeunits(present, 1, -1)
    parts = pc.split_pattern(inner, ",")
    empty = pc.equal(inner, "").to_numpy(zero_copy_only=False)
    lengths = np.where(empty, 0, pc.list_value_length(parts).to_numpy(zero_copy_only=False))
    texts = pc.list_flatten(parts)
    texts = pc.filter(texts, pc.not_equal(texts, ""))  # the one "" of each empty list
    nulls = pc.equal(texts, "null" if json else "NULL")
    try:
        values = pc.cast(pc.if_else(nulls, pa.scalar(None, pa.string()), texts), pa.int64())
        values = pc.cast(values, element)  # safe: a value beyond the element's range raises
    except pa.ArrowInvalid:
        return None
    return _lists(col, lengths, values)


#: a list of strings as chute writes a typed source's list in JSON, when no string holds a
#: quote, a backslash or a control character (none escaped) and none is null
_STRING_LIST = r'^\[(?:"[^"\\\x00-\x1f]*"(?:,"[^"\\\x00-\x1f]*")*)?\]$'


def string_lists(col: pa.Array) -> pa.Array | None:
    """Lists of strings (JSON, unescaped) as Arrow lists of strings for a ``text[]``
    column; None when any value is spelled otherwise (the server's own array syntax,
    escapes, nulls), which then travels as text."""
    n = len(col)
    present = pc.fill_null(col, "[]") if col.null_count else col
    if n == 0 or not pc.all(pc.match_substring_regex(present, _STRING_LIST)).as_py():
        return None
    inner = pc.utf8_slice_codeunits(present, 2, -2)  # between the outer [" and "]
    empty = pc.equal(present, "[]")
    parts = pc.split_pattern(pc.if_else(empty, pa.scalar(None, pa.string()), inner), '","')
    parts = pc.if_else(empty, pa.scalar([], pa.list_(pa.string())), parts)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    return _lists(col, lengths, pc.list_flatten(parts))


#: a decimal in plain notation whose fraction, if any, ends in a non-zero digit (``-12.5``,
#: ``7``; not ``1.50``, ``+1``, ``1e5``, ``.5``): the display scale the server keeps for its
#: text is then the number of its fraction digits, which is what ADBC's numeric writer
#: writes (it drops trailing zeros)
_PLAIN_DECIMAL = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?$"
#: the digits Arrow's decimal128 holds
_DECIMAL_DIGITS = 38


def numeric_array(col: pa.Array) -> pa.Array | None:
    """Texts of an unconstrained ``numeric`` column as one Arrow decimal type (the largest
    scale among them) when every value is a plain decimal without trailing zeros in its
    fraction and all fit 38 digits at that scale; None otherwise (``1.50`` keeps its scale
    only through the server's text input)."""
    n = len(col)
    if n == 0 or col.null_count == n:
        return None
    present = pc.fill_null(col, "0") if col.null_count else col
    if not pc.all(pc.match_substring_regex(present, _PLAIN_DECIMAL)).as_py():
        return None
    point = pc.find_substring(present, ".").to_numpy(zero_copy_only=False)
    length = pc.utf8_length(present).to_numpy(zero_copy_only=False)
    minus = pc.starts_with(present, "-").to_numpy(zero_copy_only=False)
    fraction = np.where(point >= 0, length - point - 1, 0)
    whole = np.where(point >= 0, point, length) - minus
    scale = int(fraction.max())
    if int(whole.max()) + scale > _DECIMAL_DIGITS:
        return None
    return pc.cast(col, pa.decimal128(_DECIMAL_DIGITS, scale))
