"""DuckDB's types as chute's column types, its errors as chute's, and who holds its file.

Errors are told apart by the exception's class (DuckDB's Python errors carry no code):
a constraint refused is a :class:`~chute.errors.RecordError` (the sink decides whether it
is a duplicate key by looking the keys up, see ``DuckdbSink``), a value that does not
convert is one too, a write-write conflict between transactions is worth a retry, and an
I/O error is the database being unavailable.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import sys

import duckdb

from chute.engine.columns import TEXT, ColumnType, Kind
from chute.engine.numbers import MAX_DECIMAL_PRECISION
from chute.errors import ChuteError, ConfigError, RecordError, SinkError, SinkUnavailableError

#: what chute creates for each kind
CREATE: dict[Kind, str] = {
    Kind.BIGINT: "BIGINT",
    Kind.DOUBLE: "DOUBLE",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
    Kind.JSON: "JSON",
    Kind.UUID: "UUID",
    Kind.TEXT: "VARCHAR",
}

# DuckDB's data_type (as duckdb_columns() spells it) -> the kind values are converted to;
# anything else travels as text and DuckDB casts it while storing
_KINDS: dict[str, Kind] = {
    "BIGINT": Kind.BIGINT,
    "INTEGER": Kind.BIGINT,
    "SMALLINT": Kind.BIGINT,
    "TINYINT": Kind.BIGINT,
    "UINTEGER": Kind.BIGINT,
    "USMALLINT": Kind.BIGINT,
    "UTINYINT": Kind.BIGINT,
    "DOUBLE": Kind.DOUBLE,
    "FLOAT": Kind.DOUBLE,
    "BOOLEAN": Kind.BOOLEAN,
    "DATE": Kind.DATE,
    "TIMESTAMP": Kind.TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": Kind.TIMESTAMPTZ,
    "JSON": Kind.JSON,
    "UUID": Kind.UUID,
    "VARCHAR": Kind.TEXT,
}

# SQLSTATE-like codes for the report's ``sqlstate`` (DuckDB has none of its own)
UNIQUE_VIOLATION = "23505"
INTEGRITY = "23000"
INVALID_TEXT = "22018"  # a text that does not convert to the column's type
OUT_OF_RANGE = "22003"
SERIALIZATION = "40001"  # a write-write conflict: the engine tries the batch again


def create_type(t: ColumnType) -> str:
    if t.kind is Kind.NUMERIC:
        return f"DECIMAL({MAX_DECIMAL_PRECISION},{t.scale})"
    return CREATE[t.kind]


def column_type(data_type: str, scale: int | None) -> ColumnType:
    """The column type values going into a DuckDB column of ``data_type`` get."""
    if data_type.startswith("DECIMAL"):
        return ColumnType(Kind.NUMERIC, scale or 0)
    kind = _KINDS.get(data_type)
    return ColumnType(kind) if kind is not None else TEXT


def wrap(exc: duckdb.Error, *, duplicate: bool = False) -> ChuteError:
    """The chute error a DuckDB error is, by its class; ``duplicate``: a constraint error
    that the sink found to be a duplicate key."""
    message = _first_line(exc)
    if isinstance(exc, duckdb.ConstraintException):
        return RecordError(message, sqlstate=UNIQUE_VIOLATION if duplicate else INTEGRITY)
    if isinstance(exc, duckdb.ConversionException):
        return RecordError(message, sqlstate=INVALID_TEXT)
    if isinstance(exc, duckdb.OutOfRangeException):
        return RecordError(message, sqlstate=OUT_OF_RANGE)
    if isinstance(exc, duckdb.TransactionException):
        return SinkError(message, sqlstate=SERIALIZATION)
    if isinstance(exc, duckdb.PermissionException):
        return ConfigError(message, hint="the database file cannot be written: check its mode")
    if isinstance(exc, duckdb.IOException | duckdb.ConnectionException):
        return SinkUnavailableError(message)
    return SinkError(message)


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split("\n")[0].split())


# struct flock on Linux: l_type, l_whence (short), l_start, l_len (off_t), l_pid (pid_t)
_FLOCK = "hhqqi4x"


def lock_holder(path: str) -> int | None:
    """The pid of another process holding DuckDB's write lock on ``path`` (0: held, pid
    unknown), or None when no other process holds it.  Asked with ``F_GETLK``, which only
    reports, so this process's own locks are untouched."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if not sys.platform.startswith("linux"):
            try:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return 0
            return None  # (closing fd drops the lock just taken)
        asked = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        with contextlib.suppress(OSError):
            l_type, _, _, _, pid = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, asked))
            if l_type != fcntl.F_UNLCK:
                return int(pid)
        return None
    finally:
        os.close(fd)
