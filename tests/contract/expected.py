"""The expectation table: where sinks differ, what each one stores and declares.

Everything not listed here is the same on every sink.  A new sink adds its column to each
table below (a test fails with a KeyError naming the sink until it does).

- ``REPORTED``: the column type chute reports (``LoadReport.columns``) for each kind of
  value when chute creates the table.
- ``DECLARED``: what the database's catalog says the created column is (SQLite:
  ``PRAGMA table_info``; PostgreSQL: ``format_type``; MariaDB: ``COLUMN_TYPE``; DuckDB:
  ``information_schema.columns.data_type``).  A tuple lists the acceptable answers.
- ``STORED``: how the database's own driver returns a canonical value, per kind.  The
  canonical values are Python's: ``int``, ``float``, ``Decimal``, ``bool``, ``date``, naive
  ``datetime`` (a timestamp as written), aware ``datetime`` (an instant), ``str``.

What the sinks document for a timestamp with an offset: PostgreSQL and DuckDB store the
instant (``timestamptz``; the driver returns an aware datetime, compared as instants);
SQLite stores the instant as UTC text ``YYYY-MM-DD HH:MM:SS[.ffffff]+00:00``; MariaDB has no
type with a zone, so chute stores the instant converted to UTC in a ``datetime(6)``, read
back naive.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def _sqlite_timestamp(value: datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text


def _sqlite_instant(value: datetime) -> str:
    return _sqlite_timestamp(value.astimezone(UTC).replace(tzinfo=None)) + "+00:00"


def _utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _same(value: Any) -> Any:
    return value


#: chute's kinds of value -> the type chute reports, per sink (default: the kind itself)
REPORTED: dict[str, dict[str, str]] = {
    "sqlite": {"numeric(38,2)": "double", "numeric(38,0)": "text"},
    "postgresql": {},
    "mariadb": {},
    "duckdb": {},
    "snowflake": {},
}

DECLARED: dict[str, dict[str, str | tuple[str, ...]]] = {
    "sqlite": {
        "bigint": "BIGINT",
        "double": "REAL",
        "numeric(38,2)": "REAL",
        "numeric(38,0)": "TEXT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "json": "JSON TEXT",
        "text": "TEXT",
    },
    "postgresql": {
        "bigint": "bigint",
        "double": "double precision",
        "numeric(38,2)": "numeric(38,2)",
        "numeric(38,0)": "numeric(38,0)",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamp without time zone",
        "timestamptz": "timestamp with time zone",
        "json": "jsonb",
        "text": "text",
    },
    "mariadb": {
        "bigint": ("bigint(20)", "bigint"),
        "double": "double",
        "numeric(38,2)": "decimal(38,2)",
        "numeric(38,0)": "decimal(38,0)",
        "boolean": ("tinyint(1)", "boolean"),
        "date": "date",
        "timestamp": "datetime(6)",
        "timestamptz": ("datetime(6)", "timestamp(6)"),
        "json": ("longtext", "json"),
        "text": ("text", "mediumtext", "longtext"),
    },
    "duckdb": {
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "numeric(38,2)": "DECIMAL(38,2)",
        "numeric(38,0)": "DECIMAL(38,0)",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMP WITH TIME ZONE",
        "json": "JSON",
        "text": "VARCHAR",
    },
    "snowflake": {
        "bigint": "NUMBER(38,0)",
        "double": "FLOAT",
        "numeric(38,2)": "NUMBER(38,2)",
        "numeric(38,0)": "NUMBER(38,0)",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP_NTZ",
        "timestamptz": "TIMESTAMP_TZ",
        "json": "VARIANT",
        "text": "TEXT",
    },
}

#: kind -> how the sink's driver returns a canonical value (default: as it is)
STORED: dict[str, dict[str, Callable[[Any], Any]]] = {
    "sqlite": {
        "numeric(38,2)": float,
        "numeric(38,0)": str,
        "boolean": int,
        "date": date.isoformat,
        "timestamp": _sqlite_timestamp,
        "timestamptz": _sqlite_instant,
    },
    "postgresql": {},
    "mariadb": {"boolean": int, "timestamptz": _utc_naive},
    "duckdb": {},
    # the connector returns a NUMBER of scale 0 as an int, however many digits it has
    "snowflake": {"numeric(38,0)": int},
}


#: declared types whose limits the sink's database does not enforce: a value that breaks them
#: is stored, not rejected (SQLite: ``varchar(n)`` and ``decimal(p,s)`` are only names;
#: DuckDB: the length of ``varchar(n)`` "has no effect", its documentation says)
NOT_ENFORCED: dict[str, set[str]] = {
    "sqlite": {"varchar", "decimal"},
    "postgresql": set(),
    "mariadb": set(),
    "duckdb": {"varchar"},
    "snowflake": set(),  # chute checks VARCHAR(n) lengths itself, as Snowflake does
}

#: a sink run again through another write path stores what the first stores
for _table in (REPORTED, DECLARED, STORED, NOT_ENFORCED):
    _table["mariadb-load-data"] = _table["mariadb"]  # type: ignore[index]


def reported(sink: str, kind: str) -> str:
    return REPORTED[sink].get(kind, kind)


def declared_ok(sink: str, kind: str, found: str) -> bool:
    want = DECLARED[sink][kind]
    return found in want if isinstance(want, tuple) else found == want


def stored(sink: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    return STORED[sink].get(kind, _same)(value)


#: one column per kind: (CSV texts, canonical values); every row after them is NULL
CSV_CASES: dict[str, tuple[str, list[str], list[Any]]] = {
    "i": ("bigint", ["42", "-7", "0"], [42, -7, 0]),
    "big": (
        "bigint",
        ["999999999999999999", "-999999999999999999", "9007199254740993"],
        [999999999999999999, -999999999999999999, 9007199254740993],
    ),
    # more than 18 digits: an exact numeric where the sink has one, else text
    "huge": (
        "numeric(38,0)",
        ["123456789012345678901234567", "-10000000000000000000", "0"],
        [Decimal("123456789012345678901234567"), Decimal("-10000000000000000000"), Decimal(0)],
    ),
    "f": ("double", ["1.5e3", "-2E-3", "3.141592653589793"], [1500.0, -0.002, 3.141592653589793]),
    "x": (
        "numeric(38,2)",
        ["12.50", "0.05", "-99999999999.99"],
        [Decimal("12.50"), Decimal("0.05"), Decimal("-99999999999.99")],
    ),
    "b": ("boolean", ["true", "False", "TRUE"], [True, False, True]),
    "d": (
        "date",
        ["2024-01-31", "1999-12-31", "2024-02-29"],
        [date(2024, 1, 31), date(1999, 12, 31), date(2024, 2, 29)],
    ),
    "ts": (
        "timestamp",
        ["2024-01-31 10:00:00", "2024-06-30T23:59:59.123456", "1970-01-01 00:00:00.5"],
        [
            datetime(2024, 1, 31, 10),
            datetime(2024, 6, 30, 23, 59, 59, 123456),
            datetime(1970, 1, 1, 0, 0, 0, 500000),
        ],
    ),
    "tz": (
        "timestamptz",
        ["2024-01-31T10:00:00+02:00", "2023-12-31T23:00:00-09:00", "2024-07-01T00:00:00.25Z"],
        [
            datetime(2024, 1, 31, 8, tzinfo=UTC),
            datetime(2024, 1, 1, 8, tzinfo=UTC),
            datetime(2024, 7, 1, 0, 0, 0, 250000, tzinfo=UTC),
        ],
    ),
    "s": ("text", ["hello", "wörld", "x"], ["hello", "wörld", "x"]),
}

#: text values that must come back as they went in: (CSV field as written, value)
TEXTS: list[tuple[str, str | None]] = [
    ("Zürich — 日本語 🚀 ∑", "Zürich — 日本語 🚀 ∑"),
    ('"She said ""hi"", then left"', 'She said "hi", then left'),
    ('"line one\nline two\n"', "line one\nline two\n"),
    ("tab\there", "tab\there"),
    ('"quoted\ttab"', "quoted\ttab"),
    (r"C:\new\table\x00", r"C:\new\table\x00"),
    ("\\N", "\\N"),
    ("ends with a backslash \\", "ends with a backslash \\"),
    ("NULL", "NULL"),
    ("it's", "it's"),
    ('" padded "', " padded "),
    ('""', ""),
    ("", None),
    ("'; DROP TABLE t; --", "'; DROP TABLE t; --"),
]
