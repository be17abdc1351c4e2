"""What travels between chute and SQLite: Arrow columns as Python values in the forms
chute stores (see :mod:`chute.sinks.sqlite`), and declared types both ways."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from chute.coltypes import Kind
from chute.engine.numbers import plain_decimals

DECLARED = {
    Kind.BIGINT: "BIGINT",  # not INTEGER: an INTEGER key would alias the rowid
    Kind.NUMERIC: "TEXT",
    Kind.DOUBLE: "REAL",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
    Kind.JSON: "JSON TEXT",  # TEXT affinity: a JSON number stays its text, every digit
    Kind.UUID: "TEXT",  # not inferred here (no uuid type)
    Kind.TEXT: "TEXT",
}


def kind_of_declared(declared: str) -> Kind:
    d = declared.upper()
    if "INT" in d:
        return Kind.BIGINT
    if any(w in d for w in ("REAL", "FLOA", "DOUB")):
        return Kind.DOUBLE
    if "BOOL" in d:
        return Kind.BOOLEAN
    if "TIMESTAMPTZ" in d:
        return Kind.TIMESTAMPTZ
    if "TIMESTAMP" in d or "DATETIME" in d:
        return Kind.TIMESTAMP
    if d == "DATE":
        return Kind.DATE
    if "JSON" in d:
        return Kind.JSON
    return Kind.TEXT


NUMBER_TEXT = "chute_number_text"


def number_text(value: str | bytes | int | float | None) -> str | bytes | int | float | None:
    """A REAL as its shortest exact spelling (``34.02505165179919``): SQLite's own
    conversion to text keeps 15 digits (``34.0250516517992``)."""
    return repr(value) if isinstance(value, float) else value


#: rows turned into Python values at a time while a batch is written (see python_rows)
ROWS_PER_PIECE = 4096


def python_rows(
    batch: pa.RecordBatch, wired: list[pa.Array] | None = None
) -> Iterator[tuple[Any, ...]]:
    """The batch's rows as Python tuples, made a slice of :data:`ROWS_PER_PIECE` at a time
    (``executemany`` takes them as they come): only one slice's Python objects exist at
    once, not the whole batch's.  ``wired``: the batch's :func:`wire_columns`, when they
    were made already (in the reader's thread)."""
    columns = wire_columns(batch) if wired is None else wired
    for start in range(0, batch.num_rows, ROWS_PER_PIECE):
        yield from zip(
            *(_python_values(c.slice(start, ROWS_PER_PIECE)) for c in columns), strict=True
        )


class Wired:
    """:func:`wire_columns` of batches made ahead (in the reader's thread), until their
    write takes them (in the writer's).  Batches are written in the order they were made,
    so taking one lets go of those made before it (a batch cut after a refusal is written
    in pieces, never taken whole); a few at most are kept."""

    def __init__(self, keep: int = 8) -> None:
        self._keep = keep
        self._made: dict[int, tuple[pa.RecordBatch, list[pa.Array]]] = {}
        self._lock = threading.Lock()

    def make(self, batch: pa.RecordBatch) -> None:
        columns = wire_columns(batch)
        with self._lock:
            while len(self._made) >= self._keep:
                del self._made[next(iter(self._made))]
            self._made[id(batch)] = (batch, columns)

    def take(self, batch: pa.RecordBatch) -> list[pa.Array] | None:
        with self._lock:
            made = self._made.get(id(batch))
            if made is None or made[0] is not batch:
                return None
            for key in list(self._made):  # this one, and those made before it
                del self._made[key]
                if key == id(batch):
                    break
            return made[1]


#: rows per INSERT of an append (multi-row VALUES), at most.  Python's sqlite3 lets go of
#: the GIL while SQLite steps a statement and must win it back after: while another thread
#: runs Python (the reader making the next batch), that takes up to the switch interval
#: (5 ms), so a writer stepping small statements crawls (300,000 rows of 80 a statement:
#: 0.12 s alone, 23 s beside a busy thread; of 4,000: 0.12 s and 0.6 s).  Big statements
#: let SQLite's work overlap the reader's.
VALUES_ROWS = 4000


def values_rows(columns: int, max_values: int) -> int:
    """Rows per INSERT for a table of ``columns`` columns, given the most values a
    statement may hold (``Connection.getlimit(SQLITE_LIMIT_VARIABLE_NUMBER)``: 32,766
    since SQLite 3.32, 999 before)."""
    return max(1, min(VALUES_ROWS, max_values // max(1, columns)))


def value_chunks(
    batch: pa.RecordBatch, wired: list[pa.Array] | None, per: int, rest: list[list[Any]]
) -> Iterator[list[Any]]:
    """The batch's values row after row, ``per`` rows of them at a time (the parameters of
    a multi-row INSERT); the last rows, when fewer than ``per``, go into ``rest`` instead.
    Made a slice of about :data:`ROWS_PER_PIECE` rows at a time."""
    columns = wire_columns(batch) if wired is None else wired
    width = len(columns)
    step = max(per, ROWS_PER_PIECE // per * per)
    for start in range(0, batch.num_rows, step):
        values = [_python_values(c.slice(start, step)) for c in columns]
        rows = len(values[0])
        flat: list[Any] = [None] * (rows * width)
        for i, column in enumerate(values):
            flat[i::width] = column
        whole = rows - rows % per
        for at in range(0, whole * width, per * width):
            yield flat[at : at + per * width]
        if whole < rows:
            rest.append(flat[whole * width :])


def wire_columns(batch: pa.RecordBatch) -> list[pa.Array]:
    """The batch's columns in the forms chute stores, made with Arrow's kernels (which let
    other threads run): decimals, dates and timestamps as their text."""
    return [_wire(col) for col in batch.columns]


def _wire(col: pa.Array) -> pa.Array:
    t = col.type
    if pa.types.is_decimal(t):  # plain notation: 0.000000123, never 1.23E-7
        return plain_decimals(col)
    if pa.types.is_date(t):
        return pc.cast(col, pa.string())
    if pa.types.is_timestamp(t):
        return _timestamp_text(col)
    return col


def _python_values(col: pa.Array) -> list[Any]:
    if pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():
        # SQLite turns NaN into NULL: keep it as the text 'NaN'
        return [v if v is None or v == v else "NaN" for v in col.to_pylist()]
    return col.to_pylist()  # type: ignore[no-any-return]


def _timestamp_text(col: pa.Array) -> pa.Array:
    """``2024-01-31 10:00:00[.5]`` (UTC, with ``+00:00``, for zoned ones), vectorised: the
    fraction of a second without its trailing zeros, of any unit, left out when it is zero."""
    zoned = col.type.tz is not None
    # formatting a zoned timestamp is slow in Arrow; its values are UTC already
    text = pc.cast(col.cast(pa.timestamp(col.type.unit)), pa.string())
    fraction = pc.fill_null(pc.match_substring(text, "."), False)
    if pc.any(fraction).as_py():
        trimmed = pc.ascii_rtrim(pc.ascii_rtrim(pc.filter(text, fraction), "0"), ".")
        text = pc.replace_with_mask(text, fraction, trimmed)
    if zoned:
        text = pc.binary_join_element_wise(text, "+00:00", "")
    return text
