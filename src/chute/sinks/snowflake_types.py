"""Snowflake's names, types and errors, as chute's.

Names: Snowflake folds an unquoted name to upper case, so ``t`` and ``T`` are one table.
chute writes a name that is all lower case letters, digits and underscores in upper case
(``id`` -> ``ID``) and reads an all upper case name back in lower case, as the Snowflake
SQLAlchemy dialect does: ``chute load --table orders`` makes the table a user queries as
``SELECT id FROM orders``.  Any other name (``"Order Id"``, ``Zürich``) is quoted as written.

Errors: the connector's errors carry Snowflake's SQLSTATE and its numeric error code; only
those decide (the message is kept for the user).  Class 22/23 is a refused record; 08 (and a
connection the connector could not make) is the database being unavailable; 40001 is worth
another try; a missing privilege is the user's configuration.
"""

from __future__ import annotations

import re
from typing import Any

from chute.coltypes import TEXT, ColumnType, Kind
from chute.errors import (
    ChuteError,
    ConfigError,
    RecordError,
    Refusal,
    SinkError,
    SinkUnavailableError,
)
from chute.sinks.sql.dialect import Dialect, quote_identifier

#: what chute creates for each kind
CREATE: dict[Kind, str] = {
    Kind.BIGINT: "NUMBER(38,0)",
    Kind.DOUBLE: "FLOAT",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "TIMESTAMP_NTZ",
    Kind.TIMESTAMPTZ: "TIMESTAMP_TZ",
    Kind.JSON: "VARIANT",
    Kind.UUID: "VARCHAR",
    Kind.TEXT: "VARCHAR",
}

#: information_schema.columns.data_type -> the kind values are converted to (anything else
#: travels as text, and the COPY into the stage table casts it)
_KINDS: dict[str, Kind] = {
    "FLOAT": Kind.DOUBLE,
    "BOOLEAN": Kind.BOOLEAN,
    "DATE": Kind.DATE,
    "TIMESTAMP_NTZ": Kind.TIMESTAMP,
    "TIMESTAMP_TZ": Kind.TIMESTAMPTZ,
    "TIMESTAMP_LTZ": Kind.TIMESTAMPTZ,
    "VARIANT": Kind.JSON,
    "OBJECT": Kind.JSON,
    "ARRAY": Kind.JSON,
    "TEXT": Kind.TEXT,
}

#: semi-structured types: a value travels as JSON text and is stored by PARSE_JSON
SEMI_STRUCTURED = frozenset({"VARIANT", "OBJECT", "ARRAY"})
#: Snowflake's longest VARCHAR (in characters): a column of that length has no limit to check
MAX_VARCHAR = 16_777_216

_FOLDS = re.compile(r"^[a-z_][a-z0-9_$]*$")
_FOLDED = re.compile(r"^[A-Z_][A-Z0-9_$]*$")


def stored_name(name: str) -> str:
    """The name Snowflake keeps for chute's ``name`` (see the module's docstring)."""
    return name.upper() if _FOLDS.match(name) else name


def chute_name(name: str) -> str:
    """The name chute sees for Snowflake's ``name``: the inverse of :func:`stored_name`."""
    return name.lower() if _FOLDED.match(name) else name


def create_type(t: ColumnType) -> str:
    if t.kind is Kind.NUMERIC:
        return f"NUMBER(38,{t.scale})"
    return CREATE[t.kind]


def declared(data_type: str, precision: Any, scale: Any, length: Any) -> str:
    """A column's type as DDL says it, from its information_schema row."""
    if data_type == "NUMBER":
        return f"NUMBER({int(precision or 38)},{int(scale or 0)})"
    if data_type == "TEXT":
        return "VARCHAR" if not length or int(length) >= MAX_VARCHAR else f"VARCHAR({length})"
    return data_type


def column_type(data_type: str, precision: Any, scale: Any) -> ColumnType:
    """The type values going into a Snowflake column of ``data_type`` get.  A NUMBER of
    scale 0 holds 38 digits: its values travel as exact decimals unless it fits an int64
    (precision up to 18)."""
    if data_type == "NUMBER":
        if not scale and precision is not None and int(precision) <= 18:
            return ColumnType(Kind.BIGINT)
        return ColumnType(Kind.NUMERIC, int(scale or 0))
    kind = _KINDS.get(data_type)
    return ColumnType(kind) if kind is not None else TEXT


# -- errors ---------------------------------------------------------------------------------

#: SQLSTATE classes of a record Snowflake refused (a value, a NOT NULL column)
_RECORD = ("22", "23")
#: the connection is gone or could not be made
_UNAVAILABLE = ("08",)
#: a transaction that lost a conflict: the batch can be tried again whole
_RETRY = ("40001",)
#: the user's role lacks a privilege, or cannot see the object
_PRIVILEGE = ("42501",)
#: the connector's codes for a connection that could not be made or was lost (its own
#: errors carry no SQLSTATE): 250001 could not connect, 250003 request failed, 251012
#: login timeout; 390100/390144 are wrong credentials
UNAVAILABLE_CODES = frozenset({250001, 250003, 251012, 390100, 390144})
#: a NULL into a NOT NULL column, checked by chute before it sends a batch
NOT_NULL = "22004"
#: a text longer than its VARCHAR(n), checked by chute before it sends a batch
TOO_LONG = "22001"
#: a key repeated in a batch, or already in a table with that primary key (Snowflake does
#: not enforce primary keys; chute does, for a table that declares one)
DUPLICATE = "23505"


class SnowflakeDialect(Dialect):
    """Snowflake: folded names, ``?`` placeholders (qmark binding), DDL commits."""

    name = "snowflake"
    placeholder = "qmark"
    max_name_bytes = 255
    transactional_ddl = False  # DDL commits the open transaction
    key_text = "VARCHAR"

    def quote(self, name: str) -> str:
        return quote_identifier(stored_name(name))

    def classify(
        self, code: str | None, message: str, *, column: str | None = None, lost: str = ""
    ) -> ChuteError:
        if code is None or code.startswith(_UNAVAILABLE):
            return SinkUnavailableError(f"{lost}{message}", sqlstate=code)
        if code in _RETRY:
            return RecordError(message, sqlstate=code, refusal=Refusal.RETRY)
        if code.startswith(_RECORD):
            refusal = Refusal.DUPLICATE_KEY if code == DUPLICATE else Refusal.VALUE
            return RecordError(message, column=column, sqlstate=code, refusal=refusal)
        if code in _PRIVILEGE:
            return ConfigError(
                message,
                hint="the role lacks a privilege: GRANT it, or connect with ?role= one that has it",
                sqlstate=code,
            )
        return SinkError(message, sqlstate=code)


DIALECT = SnowflakeDialect()


def wrap(exc: Exception, *, url: str = "") -> ChuteError:
    """The chute error a connector error is (secrets of ``url`` scrubbed from it)."""
    from chute.urls import scrub

    errno = getattr(exc, "errno", None)
    sqlstate = getattr(exc, "sqlstate", None)
    message = " ".join(scrub(str(getattr(exc, "msg", None) or exc), url).split())
    if errno in UNAVAILABLE_CODES:
        return SinkUnavailableError(message, sqlstate=sqlstate)
    if sqlstate is None and isinstance(errno, int) and errno >= 250000:
        return SinkUnavailableError(message)  # the connector's own: the request failed
    return DIALECT.classify(sqlstate, message)
