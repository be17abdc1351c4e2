"""What travels between chute and PostgreSQL: Arrow columns as binary COPY takes them
(or as text for the server to cast), table columns as the engine sees them, and driver
errors as chute's, classified by SQLSTATE (:class:`~chute.sinks.sql.dialect.PostgresDialect`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import adbc_driver_manager
import pyarrow as pa
import pyarrow.compute as pc

from chute.coltypes import TEXT, ColumnType, Kind
from chute.engine.columns import is_json_text
from chute.errors import ConfigError, RecordError
from chute.sinks.postgres_arrays import array_text
from chute.sinks.postgres_binary import (
    inet_array,
    int_lists,
    interval_array,
    numeric_array,
    string_lists,
    uuid_array,
)
from chute.sinks.sql.dialect import PostgresDialect

DIALECT = PostgresDialect()

_CREATE = {
    Kind.BIGINT: "bigint",
    Kind.DOUBLE: "double precision",
    Kind.BOOLEAN: "boolean",
    Kind.DATE: "date",
    Kind.TIMESTAMP: "timestamp",
    Kind.TIMESTAMPTZ: "timestamptz",
    Kind.JSON: "jsonb",
    Kind.UUID: "uuid",
    Kind.TEXT: "text",
}


def create_type(t: ColumnType) -> str:
    if t.kind is Kind.NUMERIC:
        return str(t)
    return _CREATE[t.kind]


# PostgreSQL type name -> (kind values are converted to, Arrow type sent in binary COPY)
_NATIVE: dict[str, tuple[Kind, pa.DataType]] = {
    "int8": (Kind.BIGINT, pa.int64()),
    "int4": (Kind.BIGINT, pa.int32()),
    "int2": (Kind.BIGINT, pa.int16()),
    "float8": (Kind.DOUBLE, pa.float64()),
    "float4": (Kind.DOUBLE, pa.float32()),
    "bool": (Kind.BOOLEAN, pa.bool_()),
    "date": (Kind.DATE, pa.date32()),
    "timestamp": (Kind.TIMESTAMP, pa.timestamp("us")),
    "timestamptz": (Kind.TIMESTAMPTZ, pa.timestamp("us", tz="UTC")),
    "text": (Kind.TEXT, pa.string()),
    "varchar": (Kind.TEXT, pa.string()),
    "bpchar": (Kind.TEXT, pa.string()),
    "name": (Kind.TEXT, pa.string()),
    "json": (Kind.JSON, pa.string()),
    "jsonb": (Kind.JSON, pa.binary()),
}

#: the first adbc-driver-postgresql whose binary COPY stores every value as given (measured
#: here): 1.12 wrote a NULL inside a list as 0, 1.11 wrote ``10000.5`` as ``15000.0``
#: (apache/arrow-adbc#4507), each without an error
FIRST_EXACT_DRIVER = (1, 13)


def check_driver(version: str) -> None:
    """Refuse an ADBC PostgreSQL driver older than :data:`FIRST_EXACT_DRIVER`."""
    found = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if found < FIRST_EXACT_DRIVER:
        need = ".".join(map(str, FIRST_EXACT_DRIVER))
        raise ConfigError(
            f"adbc-driver-postgresql {version} writes some values wrongly (a NULL in an "
            f"array as 0 before 1.13; 10000.5 as 15000.0 before 1.12, apache/arrow-adbc#4507); "
            f"chute needs {need} or later",
            hint=f"pip install -U 'adbc-driver-postgresql>={need}' 'adbc-driver-manager>={need}'",
        )


_COPY_LINE = re.compile(r"COPY [^,]+, line (\d+)")
_JSONB_VERSION = pa.scalar(b"\x01", pa.binary())


@dataclass(frozen=True)
class PgColumn:
    name: str
    typname: str
    declared: str  # format_type(), e.g. numeric(12,2), character varying(20)
    typmod: int
    not_null: bool = False
    has_default: bool = False
    generated: bool = False  # GENERATED ALWAYS: a generated column, or identity
    base: str = ""  # format_type() without the modifier: numeric, character varying
    typtype: str = "b"  # pg_type.typtype: b base, e enum, d domain, ...
    element: str = ""  # an array's element type (its typname), else ""


def column_type(c: PgColumn) -> ColumnType:
    if c.typname == "numeric":
        if c.typmod < 0:
            return TEXT  # unconstrained: sent as text, the server keeps every digit
        return ColumnType(Kind.NUMERIC, (c.typmod - 4) & 0xFFFF)
    if c.typname == "uuid":  # travels as text; canonical text goes in binary
        return ColumnType(Kind.UUID)
    native = _NATIVE.get(c.typname)
    return ColumnType(native[0]) if native else TEXT


#: types whose binary input is their text's bytes (enum_recv, citext's textrecv): sent as
#: strings in binary COPY, no staging
_TEXT_BINARY = {"citext"}


def binary_text(pg: PgColumn) -> bool:
    """Whether the server reads this column's values in binary as their text."""
    return pg.typtype == "e" or pg.typname in _TEXT_BINARY


#: types sent in binary when every value of a batch is in a spelling chute decodes exactly
#: (:mod:`chute.sinks.postgres_binary`), else as text for the server to read
_SPELLED: dict[str, Callable[[pa.Array], pa.Array | None]] = {
    "uuid": uuid_array,
    "inet": inet_array,
    "interval": interval_array,
}
#: integer arrays' element types (smallint[], integer[], bigint[]) and theirs in Arrow
_INT_ELEMENTS = {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64()}
#: elements of the array types that take a typed source's lists of strings in binary
_TEXT_ELEMENTS = {"text", "varchar"}


def staged_columns(pg_cols: dict[str, PgColumn]) -> list[str]:
    """The columns whose values travel as text to be cast by the server, whatever the
    batch (no binary form chute sends): ``name (type)`` each."""
    return [
        f"{c.name} ({c.declared})"
        for c in pg_cols.values()
        if not c.generated
        and c.typname not in _NATIVE
        and c.typname not in _SPELLED  # staged only for other spellings
        and c.element not in _INT_ELEMENTS
        and c.typname != "numeric"  # unconstrained: staged only for other spellings
        and not binary_text(c)
    ]


def wire_batch(
    batch: pa.RecordBatch, pg_cols: dict[str, PgColumn]
) -> tuple[pa.RecordBatch, dict[str, str]]:
    """The batch as sent: Arrow types the server reads in binary, or text to be cast."""
    arrays = []
    casts: dict[str, str] = {}
    for field, col in zip(batch.schema, batch.columns, strict=True):
        pg = pg_cols[field.name]
        if pg.element and pa.types.is_string(col.type):
            arrays.append(_wire_array(col, pg, is_json_text(field), casts))
        else:
            arrays.append(_wire_column(col, pg, casts))
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names), casts


def _wire_column(col: pa.Array, pg: PgColumn, casts: dict[str, str]) -> pa.Array:
    native = _NATIVE.get(pg.typname)
    t = col.type
    if pg.typname == "numeric" and pa.types.is_decimal(t) and pg.typmod >= 0:
        return col
    if pg.typname == "numeric" and pg.typmod < 0 and pa.types.is_string(t):
        decimals = numeric_array(col)  # unconstrained: each value keeps its own scale
        if decimals is not None:
            return decimals
    if binary_text(pg) and pa.types.is_string(t):
        return col
    decode = _SPELLED.get(pg.typname)
    if decode is not None and pa.types.is_string(t):
        decoded = decode(col)
        if decoded is not None:
            return decoded
    if native is not None:
        kind, wire_type = native
        if t == wire_type or (kind is Kind.JSON and pa.types.is_string(t)):
            if pg.typname == "jsonb":
                return pc.binary_join_element_wise(
                    _JSONB_VERSION, pc.cast(col, pa.binary()), pa.scalar(b"", pa.binary())
                )
            return col
        if t == ColumnType(kind).arrow and kind in (Kind.BIGINT, Kind.DOUBLE):
            try:
                narrowed = pc.cast(col, wire_type, safe=kind is Kind.BIGINT)
                if kind is Kind.BIGINT or not _overflowed(col, narrowed):
                    return narrowed
            except pa.ArrowInvalid:
                pass  # out of range for the column: let the server say which value
    casts[pg.name] = cast_type(pg)
    return col if pa.types.is_string(t) else pc.cast(col, pa.string())


def cast_type(pg: PgColumn) -> str:
    """The type a staged text is cast to: the column's own without its modifier, so that
    the INSERT applies the modifier as the text input does (``varchar(3)`` refuses
    ``abcd``, where an explicit cast to it would cut it to ``abc``)."""
    return pg.base or pg.declared


def _wire_array(col: pa.Array, pg: PgColumn, json: bool, casts: dict[str, str]) -> pa.Array:
    """Texts for an array column: a text source's in the server's syntax, a typed
    source's lists in JSON (``json``).  Integer arrays go as Arrow lists when every value
    is spelled plainly, and a typed source's lists of strings; else the server reads them,
    a typed source's lists first put in its syntax where that is exact."""
    lists = None
    if pg.element in _INT_ELEMENTS:
        lists = int_lists(col, _INT_ELEMENTS[pg.element], json=json)
    elif json and pg.element in _TEXT_ELEMENTS:
        lists = string_lists(col)
    if lists is not None:
        return lists
    casts[pg.name] = cast_type(pg)
    return array_text(col) if json else col


def typed_lists_text(field: pa.Field, col: pa.Array, pg: PgColumn) -> pa.Array:
    """``col`` in the server's array syntax when it holds a typed source's lists (JSON,
    marked on ``field``) for an array column (:func:`postgres_arrays.array_text`); else
    as it is."""
    return array_text(col) if pg.element and is_json_text(field) else col


def _overflowed(wide: pa.Array, narrow: pa.Array) -> bool:
    """Whether a finite double became an infinite real (the server refuses it instead)."""
    if wide.type == narrow.type:
        return False
    became = pc.and_(pc.is_inf(narrow), pc.invert(pc.is_inf(wide)))
    return bool(pc.any(became).as_py())


def first_line(exc: Exception) -> str:
    text = str(exc)
    for prefix in ("IO: ", "INTEGRITY: ", "INVALID_DATA: ", "INVALID_ARGUMENT: ", "NOT_FOUND: "):
        text = text.removeprefix(prefix)
    text = text.replace("[libpq] ", "")
    return " ".join(text.split("\n")[0].split())


def _details(exc: adbc_driver_manager.Error) -> dict[str, str]:
    out = {}
    for k, v in getattr(exc, "details", None) or []:
        key = k.decode() if isinstance(k, bytes) else str(k)
        out[key] = v.decode(errors="replace") if isinstance(v, bytes) else str(v)
    return out


def wrap(exc: adbc_driver_manager.Error) -> Exception:
    d = _details(exc)
    sqlstate = d.get("PG_DIAG_SQLSTATE") or getattr(exc, "sqlstate", None)
    message = d.get("PG_DIAG_MESSAGE_PRIMARY") or first_line(exc)
    if d.get("PG_DIAG_MESSAGE_DETAIL"):
        message = f"{message} ({d['PG_DIAG_MESSAGE_DETAIL']})"
    err = DIALECT.classify(
        sqlstate,
        message,
        column=d.get("PG_DIAG_COLUMN_NAME") or _copy_column(d.get("PG_DIAG_CONTEXT", "")),
        lost="lost the database: ",
    )
    if isinstance(err, RecordError):
        match = _COPY_LINE.search(d.get("PG_DIAG_CONTEXT", ""))
        err.row = int(match.group(1)) - 1 if match else None
    return err


def _copy_column(context: str) -> str | None:
    match = re.search(r"COPY [^,]+, line \d+, column ([^:\n]+)", context)
    return match.group(1) if match else None


#: bytes of Arrow data per slice handed to the COPY (see :func:`copy_pieces`)
COPY_PIECE_BYTES = 1 << 20


def copy_pieces(batch: pa.RecordBatch) -> pa.RecordBatchReader:
    """The batch as a stream of slices of about :data:`COPY_PIECE_BYTES` (no copy): the
    driver encodes and sends COPY data one stream batch at a time, so its buffer and
    libpq's (which keeps its largest size for the connection's life) stay that small,
    instead of growing to the whole batch on every connection."""
    step = max(1, batch.num_rows * COPY_PIECE_BYTES // max(batch.nbytes, 1))
    pieces = [batch.slice(i, step) for i in range(0, batch.num_rows, step)] or [batch]
    return pa.RecordBatchReader.from_batches(batch.schema, pieces)
