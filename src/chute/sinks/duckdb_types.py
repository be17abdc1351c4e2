"""DuckDB's types as chute's column types, its dialect, and who holds its file.

DuckDB's Python errors carry no code: the exception's class stands in for one
(:func:`error_code` gives it a SQLSTATE of the same meaning, which the report keeps), and
:class:`DuckdbDialect` classifies by that code, never by the message.  A constraint refused
is a :class:`~chute.errors.RecordError` (a duplicate key when the sink finds the batch's
keys taken, see ``DuckdbSink``), a value that does not convert is one too, a write-write
conflict between transactions is worth a retry, and an I/O error is the database being
unavailable.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import sys

import duckdb

from chute.coltypes import MAX_DECIMAL_PRECISION, TEXT, ColumnType, Kind
from chute.errors import (
    ChuteError,
    ConfigError,
    RecordError,
    Refusal,
    SinkError,
    SinkUnavailableError,
    first_line,
)
from chute.sinks.sql.dialect import Dialect

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


#: the code of an I/O error (a file that cannot be opened or written), and of a write
#: refused for the file's mode
IO_ERROR = "58030"
PERMISSION = "42501"

_CODES: list[tuple[type[duckdb.Error], str]] = [
    (duckdb.ConstraintException, INTEGRITY),
    (duckdb.ConversionException, INVALID_TEXT),
    (duckdb.OutOfRangeException, OUT_OF_RANGE),
    (duckdb.TransactionException, SERIALIZATION),
    (duckdb.PermissionException, PERMISSION),
    (duckdb.IOException, IO_ERROR),
    (duckdb.ConnectionException, IO_ERROR),
]


def error_code(exc: duckdb.Error, *, duplicate: bool = False) -> str | None:
    """The SQLSTATE of a DuckDB error, by its class; ``duplicate``: a constraint error the
    sink found to be a duplicate key."""
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return UNIQUE_VIOLATION if duplicate and code == INTEGRITY else code
    return None


class DuckdbDialect(Dialect):
    """DuckDB: standard quoting and ``ON CONFLICT``; ``?`` placeholders; DDL transactional."""

    name = "duckdb"
    key_text = "VARCHAR"

    def classify(
        self, code: str | None, message: str, *, column: str | None = None, lost: str = ""
    ) -> ChuteError:
        if code == SERIALIZATION:
            return RecordError(message, sqlstate=code, refusal=Refusal.RETRY)
        if code in (UNIQUE_VIOLATION, INTEGRITY, INVALID_TEXT, OUT_OF_RANGE):
            refusal = Refusal.DUPLICATE_KEY if code == UNIQUE_VIOLATION else Refusal.VALUE
            return RecordError(message, column=column, sqlstate=code, refusal=refusal)
        if code == PERMISSION:
            return ConfigError(message, hint="the database file cannot be written: check its mode")
        if code == IO_ERROR:
            return SinkUnavailableError(f"{lost}{message}", sqlstate=code)
        return SinkError(message, sqlstate=code)


DIALECT = DuckdbDialect()


def wrap(exc: duckdb.Error, *, duplicate: bool = False) -> ChuteError:
    """The chute error a DuckDB error is."""
    return DIALECT.classify(error_code(exc, duplicate=duplicate), first_line(exc))


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
