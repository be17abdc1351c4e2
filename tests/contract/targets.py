"""The sinks the contract suite runs on, and how to read each one back.

Adding a sink to chute means adding one :class:`SinkSpec` to :data:`SINKS` (its name, URL
scheme, what it can do) and, when its database is new here, a :class:`Reader` subclass that
reads tables back with the database's *own* driver (never through chute).  The expectations
that differ between sinks (declared column types, how a driver returns a value) live in
``tests/contract/expected.py``.

A target is a throwaway place: a SQLite or DuckDB file in the test's tmp directory, the
PostgreSQL session database of ``tests/conftest.py`` (emptied after each test), a
MariaDB database ``chute_c_<random>`` made for the test and dropped after it, or a Snowflake
schema ``CHUTE_C_<random>`` on fakesnow's server or ``CHUTE_TEST_SNOWFLAKE_URL``'s account
(``tests/snowflake_server.py``), dropped after it.
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tests.snowflake_server import snowflake_xfails

MYSQL_URL = os.environ.get("CHUTE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
#: the Python driver the MySQL sink uses, which the suite reads MariaDB back with
MYSQL_DRIVER = os.environ.get("CHUTE_TEST_MYSQL_DRIVER", "pymysql")


@dataclass(frozen=True)
class SinkSpec:
    """One sink of the list: its name in test ids, the URL scheme it registers, and the
    optional abilities the tests branch on."""

    name: str
    scheme: str
    #: ``--workers N`` writes with N connections at once (else the load says one writer)
    parallel_writers: bool = False
    #: a reader on another connection sees the table while a load is running in this
    #: process (the atomic/replace tests watch the table from an observer)
    concurrent_readers: bool = True
    #: DDL happens inside a transaction: a staged load's swap commits with its completion
    #: mark (else the swap may commit just before it; the table is still old or all new)
    transactional_ddl: bool = True
    #: fixed-point decimals are stored exactly (an exact numeric type), not as doubles
    exact_decimals: bool = True
    #: module attributes set for the test ("module.NAME", value), to run a second write
    #: path of the sink (in this process only: a CLI run in a process of its own keeps the
    #: defaults)
    settings: tuple[tuple[str, object], ...] = ()
    #: contract tests this sink fails for a reason of its database or its stand-in, not
    #: chute's: (test id, or its start followed by "*"; reason), marked strict xfail with the
    #: reason (skipped instead when the reason starts with "skip: ")
    xfail: tuple[tuple[str, str], ...] = ()


#: every sink the contract runs on; a sink whose scheme is not registered in this checkout
#: is skipped with a loud reason (failed under CHUTE_REQUIRE_SERVICES=1)
SINKS: list[SinkSpec] = [
    SinkSpec("sqlite", "sqlite", exact_decimals=False),
    SinkSpec("postgresql", "postgresql", parallel_writers=True),
    SinkSpec("mariadb", "mysql", parallel_writers=True, transactional_ddl=False),
    # every batch through LOAD DATA LOCAL and a temporary table (batches of the suite are
    # small, so "mariadb" writes them as multi-row INSERTs)
    SinkSpec(
        "mariadb-load-data",
        "mysql",
        parallel_writers=True,
        transactional_ddl=False,
        settings=(("chute.sinks.mysql_write.SMALL_WRITE_ROWS", 0),),
    ),
    SinkSpec("duckdb", "duckdb"),
    # the fakesnow stand-in (DuckDB under Snowflake's SQL) unless CHUTE_TEST_SNOWFLAKE_URL
    # names a real account; Snowflake's DDL commits the open transaction
    SinkSpec("snowflake", "snowflake", transactional_ddl=False, xfail=snowflake_xfails()),
]


Row = tuple[Any, ...]


class Reader:
    """Reads a database back with its own driver.  Subclasses give ``_connect`` and the
    catalog queries; every call opens and closes its own connection (DuckDB allows one
    process at a time on a file, so nothing is kept open while chute runs)."""

    #: quote for identifiers
    q = '"'

    def __init__(self, url: str) -> None:
        self.url = url

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        raise NotImplementedError

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with self._connect() as conn:
            cur = conn.cursor()
            cur.execute(sql, params) if params else cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]

    def execute(self, *statements: str) -> None:
        with self._connect() as conn:
            cur = conn.cursor()
            for sql in statements:
                cur.execute(sql)
            self._commit(conn)

    def _commit(self, conn: Any) -> None:
        conn.commit()

    def name(self, ident: str) -> str:
        return f"{self.q}{ident}{self.q}"

    def rows(self, table: str, columns: str = "*") -> list[Row]:
        """The rows of ``table``, sorted (NULLs first, as None sorts before anything)."""
        found = self.query(f"SELECT {columns} FROM {self.name(table)}")
        return sorted(found, key=_sort_key)

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {self.name(table)}")[0][0])

    def column_types(self, table: str) -> dict[str, str]:
        """Column name -> type as the database reports it, in table order."""
        raise NotImplementedError

    def tables(self) -> set[str]:
        raise NotImplementedError

    def exists(self, table: str) -> bool:
        return table in self.tables()


def _sort_key(row: Row) -> tuple[Any, ...]:
    return tuple((v is not None, _comparable(v)) for v in row)


def _comparable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


class SqliteReader(Reader):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path = url.split(":///", 1)[1]

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        conn = sqlite3.connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def column_types(self, table: str) -> dict[str, str]:
        return {r[1]: r[2] for r in self.query(f"PRAGMA table_info({self.name(table)})")}

    def tables(self) -> set[str]:
        return {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}


class PostgresReader(Reader):
    @contextmanager
    def _connect(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            yield conn

    def column_types(self, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (self.name(table),),
        )
        return {str(n): str(t) for n, t in rows}

    def tables(self) -> set[str]:
        sql = "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'"
        return {r[0] for r in self.query(sql)}


class DuckdbReader(Reader):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path = url.split(":///", 1)[1]

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        import duckdb

        conn = duckdb.connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(sql, list(params)).fetchall()]

    def _commit(self, conn: Any) -> None:
        pass  # autocommit

    def column_types(self, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return {str(n): str(t) for n, t in rows}

    def tables(self) -> set[str]:
        return {r[0] for r in self.query("SELECT table_name FROM information_schema.tables")}


class MysqlReader(Reader):
    q = "`"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 3306
        self.user = parts.username or "root"
        self.password = parts.password or ""
        self.database = parts.path.lstrip("/") or None

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        conn = mysql_connect(self.host, self.port, self.user, self.password, self.database)
        try:
            yield conn
        finally:
            conn.close()

    def column_types(self, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (table,),
        )
        return {str(n): _text(t) for n, t in rows}

    def tables(self) -> set[str]:
        rows = self.query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
        return {_text(r[0]) for r in rows}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def mysql_connect(host: str, port: int, user: str, password: str, database: str | None) -> Any:
    """A connection with the driver named by ``MYSQL_DRIVER`` (the MySQL sink's own)."""
    module = importlib.import_module(
        {"mysqlclient": "MySQLdb", "mysql-connector-python": "mysql.connector"}.get(
            MYSQL_DRIVER, MYSQL_DRIVER
        )
    )
    kwargs: dict[str, Any] = {"host": host, "port": port, "user": user, "password": password}
    if database:
        kwargs["database"] = database
    if MYSQL_DRIVER in ("pymysql", "mysqlclient", "MySQLdb"):
        kwargs["charset"] = "utf8mb4"
        kwargs["connect_timeout"] = 5
    conn = module.connect(**kwargs)
    cur = conn.cursor()
    cur.execute("SET time_zone = '+00:00'")
    return conn


class SnowflakeReader(Reader):
    """Snowflake read back with the official connector.  Names as chute writes them: a
    lower-case name is Snowflake's upper-case one (``t`` is ``T``), and is given back in
    lower case."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        from chute.sinks.snowflake_url import connect_args  # parsing only, no writing

        self.args = connect_args(url)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        import snowflake.connector

        conn = snowflake.connector.connect(**self.args, session_parameters={"TIMEZONE": "UTC"})
        try:
            yield conn
        finally:
            conn.close()

    def name(self, ident: str) -> str:
        return ident if ident.isidentifier() and ident.islower() else f'"{ident}"'

    def column_types(self, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT column_name, data_type, numeric_precision, numeric_scale "
            "FROM information_schema.columns WHERE table_schema = CURRENT_SCHEMA() "
            "AND table_name = %s ORDER BY ordinal_position",
            (table.upper() if table.islower() else table,),
        )
        return {
            _lower(str(n)): f"NUMBER({p},{s})" if t == "NUMBER" else str(t) for n, t, p, s in rows
        }

    def tables(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA()"
        )
        return {_lower(str(r[0])) for r in rows}


def _lower(name: str) -> str:
    return name.lower() if name.isupper() else name


READERS: dict[str, type[Reader]] = {
    "sqlite": SqliteReader,
    "postgresql": PostgresReader,
    "mysql": MysqlReader,
    "duckdb": DuckdbReader,
    "snowflake": SnowflakeReader,
}


@dataclass
class SinkTarget:
    """A throwaway place of one sink: its URL and its reader."""

    spec: SinkSpec
    url: str
    tmp: Path

    def __post_init__(self) -> None:
        self.db = READERS[self.spec.scheme](self.url)

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"SinkTarget({self.name}, {self.url})"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


def new_mysql_database() -> str:
    return f"chute_c_{uuid.uuid4().hex[:12]}"
