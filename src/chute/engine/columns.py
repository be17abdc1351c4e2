"""Column types: what chute infers from data, and how types widen when data disagrees.

Inference never loses information.  A column is given a type only when every sampled value
is written in that type's canonical form (``00123`` or ``+5`` stay text, because ``123``
would not give them back) and the type holds every value exactly: numbers go to ``bigint``,
to ``numeric(38,s)`` when written in fixed point (and the database has exact decimals), to
``double`` when every value survives a double (see :mod:`chute.engine.numbers`), else to
``numeric`` or ``text``.  When a later value does not fit, the column widens along
:func:`widen_number` and :func:`widen` to a type that holds every value seen.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# their home is chute.coltypes (sinks import them from there); kept here for the engine
from chute.coltypes import EXACT_DECIMALS as EXACT_DECIMALS
from chute.coltypes import JSON as JSON
from chute.coltypes import MAX_DECIMAL_PRECISION as MAX_DECIMAL_PRECISION
from chute.coltypes import TEXT as TEXT
from chute.coltypes import ColumnType as ColumnType
from chute.coltypes import Kind as Kind
from chute.coltypes import Stores as Stores
from chute.engine import numbers

# Canonical spellings only, so that storing the typed value loses nothing.
_INT = r"^(0|-?[1-9][0-9]{0,17})$"  # at most 18 digits: always fits int64
_DECIMAL = r"^(-?(0|[1-9][0-9]*)\.[0-9]+|0|-?[1-9][0-9]*)$"
_EXPONENT = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?[eE][-+]?[0-9]+$"
_FLOAT = _EXPONENT + r"|^-?(inf|Infinity|nan|NaN)$"
#: any number: integers of any length, decimals, exponents, NaN and infinities
_NUMBER = f"{_DECIMAL}|{_FLOAT}"
_BOOL = r"^(true|false|TRUE|FALSE|True|False)$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME = r"[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
_TIMESTAMP = "^[0-9]{4}-[0-9]{2}-[0-9]{2}" + _TIME + "$"
_TIMESTAMPTZ = "^[0-9]{4}-[0-9]{2}-[0-9]{2}" + _TIME + "(Z|[-+][0-9]{2}(:?[0-9]{2})?)$"
# lowercase only: the text the database gives back is the text read
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# Checked in this order; the first pattern that every value matches wins (a number that is
# not a bigint gets the type :func:`number_type` says).
_TEXT_PATTERNS: list[tuple[str, Kind]] = [
    (_INT, Kind.BIGINT),
    (_NUMBER, Kind.NUMERIC),
    (_BOOL, Kind.BOOLEAN),
    (_DATE, Kind.DATE),
    (_TIMESTAMP, Kind.TIMESTAMP),
    (_TIMESTAMPTZ, Kind.TIMESTAMPTZ),
    (_UUID, Kind.UUID),
]
# What strings of typed sources (JSON, Python objects) can be
_STRING_PATTERNS = [
    p for p in _TEXT_PATTERNS if p[1] in (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.UUID)
]

JSON_FIELD_META = {b"chute.json": b"1"}
#: a field's type as its source declares it (``text`` or ``uuid``): taken, not inferred
DECLARED_TYPE = b"chute.type"


def bytes_text(value: bytes | bytearray | memoryview) -> str:
    """Bytes as every source writes them into text: ``\\x`` and hex digits, the text
    PostgreSQL's bytea input reads."""
    return "\\x" + bytes(value).hex()


def is_json_text(field: pa.Field) -> bool:
    """Whether a source marked this string column as holding JSON texts."""
    return bool(field.metadata and field.metadata.get(b"chute.json") == b"1")


_HEX = np.zeros(256, dtype=bool)
_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = True
#: where a uuid's canonical text has its hyphens
UUID_HYPHENS = [8, 13, 18, 23]
_NIL_UUID = "00000000-0000-0000-0000-000000000000"


def uuid_chars(values: pa.Array) -> np.ndarray | None:
    """The bytes of strings that all have 36 (a uuid's canonical text) as an array of
    36-byte rows, a null's row the nil uuid's; None when any has another length, or
    there are none."""
    present = pc.fill_null(values, _NIL_UUID) if values.null_count else values
    n = len(present)
    offsets = np.frombuffer(present.buffers()[1], dtype=np.int32)[
        present.offset : present.offset + n + 1
    ]
    if n == 0 or not (np.diff(offsets) == 36).all():
        return None
    chars = np.frombuffer(present.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return chars.reshape(-1, 36)


def canonical_uuids(values: pa.Array) -> pa.Array:
    """Per string: whether it is a canonical lowercase uuid (what :data:`_UUID` matches),
    checked with numpy when every value has 36 characters (the regex is slower)."""
    chars = uuid_chars(values)
    if chars is None:
        return pc.match_substring_regex(values, _UUID)
    hyphens = (chars[:, UUID_HYPHENS] == ord("-")).all(axis=1)
    hex_digits = _HEX[np.delete(chars, UUID_HYPHENS, axis=1)].all(axis=1)
    ok = pa.array(hyphens & hex_digits)
    if values.null_count:
        return pc.if_else(values.is_null(), pa.scalar(None, pa.bool_()), ok)
    return ok


def infer(
    field: pa.Field, values: pa.Array, *, numbers_from_text: bool, stores: Stores = EXACT_DECIMALS
) -> ColumnType:
    """The narrowest type that holds every value of ``values`` exactly.

    ``numbers_from_text`` is true for sources where everything is text (CSV): there a
    string can become a number or a boolean.  For typed sources (JSON, Python objects) only
    dates, timestamps and uuids are recognised inside strings.  ``stores``: what the
    database keeps exactly (no numeric on SQLite, see :func:`number_type`; uuid only where
    there is such a type).
    """
    t = values.type
    if is_json_text(field):
        return JSON
    declared = field.metadata.get(DECLARED_TYPE) if field.metadata else None
    if declared == b"uuid":
        return ColumnType(Kind.UUID) if stores.uuid else TEXT
    if declared == b"text":
        return TEXT
    if pa.types.is_integer(t):
        return ColumnType(Kind.BIGINT)
    if pa.types.is_floating(t):
        return ColumnType(Kind.DOUBLE)
    if pa.types.is_boolean(t):
        return ColumnType(Kind.BOOLEAN)
    if pa.types.is_decimal(t):
        if t.precision > MAX_DECIMAL_PRECISION:
            return TEXT  # wider than numeric(38): kept as its exact text
        return ColumnType(Kind.NUMERIC, t.scale)
    if pa.types.is_date(t):
        return ColumnType(Kind.DATE)
    if pa.types.is_timestamp(t):
        return ColumnType(Kind.TIMESTAMPTZ if t.tz else Kind.TIMESTAMP)
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return TEXT
    present = pc.drop_null(values)
    if len(present) == 0:
        return TEXT
    patterns = _TEXT_PATTERNS if numbers_from_text else _STRING_PATTERNS
    for pattern, kind in patterns:
        if kind is Kind.UUID and not stores.uuid:
            continue
        matches = (
            canonical_uuids(present)
            if kind is Kind.UUID
            else pc.match_substring_regex(present, pattern)
        )
        if pc.all(matches).as_py():
            if kind is Kind.NUMERIC:
                return number_type(numbers.shape(present), exact_decimals=stores.exact_decimals)
            if kind in (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ) and not _parses(
                present, ColumnType(kind).arrow
            ):
                continue  # e.g. 2024-02-30: looks like a date, is not one
            return ColumnType(kind)
    return TEXT


def number_type(shape: numbers.Shape, *, exact_decimals: bool) -> ColumnType:
    """The type for a column of numbers (not all bigints) of this shape.

    Fixed point (``12.50``, money with the same 1–4 decimals) is ``numeric(38,s)`` where the
    database has exact decimals; otherwise a double when every value survives one
    (measurements such as ``34.02505165179919``); otherwise ``numeric(38,s)`` if it holds
    them; otherwise text.  Without exact decimals (SQLite) there is no numeric: a number that
    is not exact as a double keeps its text.
    """
    if exact_decimals and shape.fixed_point and shape.fits_numeric:
        return ColumnType(Kind.NUMERIC, shape.scale)
    if shape.double_exact:
        return ColumnType(Kind.DOUBLE)
    if exact_decimals and shape.fits_numeric:
        return ColumnType(Kind.NUMERIC, shape.scale)
    return TEXT


def _parses(values: pa.Array, arrow_type: pa.DataType) -> bool:
    try:
        pc.cast(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


NUMBER_KINDS = (Kind.BIGINT, Kind.NUMERIC, Kind.DOUBLE)
BIGINT_DIGITS = 19


def widen_number(
    current: ColumnType, seen: numbers.Shape, held_whole: int | None, *, exact_decimals: bool
) -> ColumnType:
    """The narrowest type that holds the numbers of ``current`` and those of shape ``seen``.

    ``held_whole`` is the most digits before the point of any value the column holds or is
    about to hold (``None``: not known, e.g. after a resume).  A ``bigint`` or ``numeric``
    widens to a ``numeric(38,s)`` that holds them all; to a double only when the integers
    held are exact as doubles (at most 15 digits) and so are the new values; else to text.
    """
    if current.kind in (Kind.BIGINT, Kind.NUMERIC) and exact_decimals and seen.finite:
        whole = held_whole
        if whole is None:  # the most the column can hold
            whole = MAX_DECIMAL_PRECISION - current.scale
            if current.kind is Kind.BIGINT:
                whole = BIGINT_DIGITS
        scale = max(current.scale, seen.scale)
        if max(whole, seen.whole) + scale <= MAX_DECIMAL_PRECISION:
            return ColumnType(Kind.NUMERIC, scale)
    ints_exact = held_whole is not None and held_whole <= numbers.ALWAYS_EXACT_DIGITS
    if seen.double_exact and current.kind is Kind.BIGINT and ints_exact:
        return ColumnType(Kind.DOUBLE)
    return TEXT


def widen(current: ColumnType, seen: ColumnType) -> ColumnType:
    """The narrowest type that holds values of both ``current`` and ``seen`` exactly."""
    if current == seen:
        return current
    kinds = {current.kind, seen.kind}
    if Kind.TEXT in kinds:
        return TEXT
    if Kind.JSON in kinds:
        return JSON
    if kinds == {Kind.BIGINT, Kind.NUMERIC} or kinds == {Kind.NUMERIC}:
        return ColumnType(Kind.NUMERIC, max(current.scale, seen.scale))
    return TEXT
