"""PostgreSQL: binary COPY of Arrow batches through ADBC, one transaction per batch.

The server receives binary values, so it does not parse text: this is what lets chute run
faster than ``psql \\copy`` of the same CSV.  Columns chute has no binary form for (cidr,
text arrays from text, and uuids, inets, intervals, integer arrays and unconstrained
numerics in other spellings than the ones it decodes) travel as text into a
temporary staging table and are cast by the server; upsert and ignore go through the same
staging table and one ``INSERT ... SELECT ... ON CONFLICT`` that also counts created and
updated rows (:mod:`chute.sinks.postgres_insert`).  What travels, and how errors are told
apart, is in :mod:`chute.sinks.postgres_wire`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import adbc_driver_manager
import adbc_driver_postgresql
import adbc_driver_postgresql.dbapi as pgdbapi
import pyarrow as pa

from chute.coltypes import ColumnType, Kind, Stores
from chute.errors import ConfigError, SinkUnavailableError
from chute.sinks.contract import (
    Capabilities,
    ExplainsWrites,
    Held,
    Holder,
    LoadLocks,
    Mode,
    TableColumn,
    WriteCounts,
)
from chute.sinks.pg_lock import AdvisoryLock
from chute.sinks.postgres_insert import write_batch
from chute.sinks.postgres_probe import probe_keys
from chute.sinks.postgres_values import PostgresValueOracle, zone_is_utc
from chute.sinks.postgres_wire import (
    DIALECT,
    PgColumn,
    check_driver,
    column_type,
    create_type,
    first_line,
    staged_columns,
    wrap,
)
from chute.sinks.sql.counted import Counted
from chute.sinks.sql.dialect import quote_identifier as q
from chute.sinks.sql.sql_sink import ArrowPages, RowPages, ScratchTables, SqlSink, StreamsRows
from chute.urls import redact, scrub, with_param


class PostgresSink(SqlSink, LoadLocks, StreamsRows, ScratchTables, ExplainsWrites):
    schemes = ("postgresql", "postgres")
    dialect = DIALECT
    # no Savepoints: ADBC refuses every statement after a failed one until a full rollback
    #: psycopg, which pipelines (see chute.sinks.postgres_session)
    session_class = "chute.sinks.postgres_session:PostgresSessionSink"
    capabilities = Capabilities(
        parallel_writes=True,
        stores=Stores(exact_decimals=True, uuid=True),
        max_name_bytes=DIALECT.max_name_bytes,
        lists_into_arrays=True,
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        check_driver(adbc_driver_postgresql.__version__)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:  # also an unclosed [ of an IPv6 address
            raise ConfigError(
                f"malformed PostgreSQL URL {self.display_url!r}: {exc}",
                hint="use postgresql://user:password@host:port/database",
            ) from None
        if not parts.hostname and not parts.path.strip("/"):
            raise ConfigError(
                f"malformed PostgreSQL URL {self.display_url!r}",
                hint="use postgresql://user:password@host:port/database",
            )
        self._uri = urlunsplit(("postgresql", *parts[1:]))
        self._conn: Any = None
        self._columns: dict[str, dict[str, PgColumn]] = {}
        self._in_transaction = False  # between begin() and commit()/rollback()
        self._scratch: set[str] = set()  # tables to create UNLOGGED
        self._origin: PostgresSink | None = None  # the sink this one was made from
        # ADBC takes calls on one object from one thread at a time: the connections that
        # share an ADBC database (made by another()) open and close one at a time
        self._database_calls = threading.Lock()

    def another(self) -> PostgresSink:
        """A new, unconnected sink for the same database; connected while this one is
        connected, it opens its connection from this one's (:meth:`connect`)."""
        other = super().another()
        other._origin = self
        other._database_calls = self._database_calls
        return other

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def connect(self) -> None:
        uri = self._uri
        timeout = None
        if self.connect_timeout is not None:
            # libpq counts whole seconds, at least 2, for each of the host's addresses
            timeout = max(2, math.ceil(self.connect_timeout))
            uri = with_param(uri, "connect_timeout", str(timeout))
        origin = self._origin
        with self._database_calls:
            if origin is not None and origin._conn is not None:
                # a new connection from the same ADBC database: ADBC reads the server's
                # types (pg_type) once per database, about 25 ms, not for each connection
                with contextlib.suppress(adbc_driver_manager.Error):  # else connect anew
                    self._conn = Counted(origin._conn.adbc_clone(), self)
                    return
        started = time.monotonic()
        try:
            self._conn = Counted(pgdbapi.connect(uri), self)
        except adbc_driver_manager.Error as exc:
            waited = time.monotonic() - started
            hint = "is the server running, and are the user and database right?"
            if timeout is not None and waited >= timeout:
                hint = (
                    f"no answer within {timeout} s: is it a PostgreSQL server, and reachable? "
                    "(--connect-timeout sets the wait)"
                )
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {scrub(first_line(exc), self.url)}",
                hint=hint,
            ) from exc

    # -- helpers -----------------------------------------------------------------------

    def _execute(self, sql: str, params: tuple[Any, ...] | None = None) -> Any:
        cur = self._conn.cursor()
        try:
            cur.execute(sql, parameters=params)
            return cur.fetchall() if cur.description else None
        finally:
            cur.close()

    def _commit(self, statements: list[str]) -> None:
        """``statements`` (DDL) in the open transaction, or in one of their own."""
        try:
            for sql in statements:
                self._execute(sql)
            self._end_read()
        except adbc_driver_manager.Error as exc:
            self._rollback()
            raise wrap(exc) from exc

    def _end_read(self) -> None:
        """End the transaction a catalog read opened, unless the caller's is open (ending
        it would commit the caller's writes half-done)."""
        if not self._in_transaction:
            self._conn.commit()

    def _rollback(self) -> None:
        self._in_transaction = False
        with contextlib.suppress(adbc_driver_manager.Error):
            self._conn.rollback()

    def _pg_columns(self, table: str) -> dict[str, PgColumn]:
        if table not in self._columns:
            rows = self._execute(
                "SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod), a.atttypmod, "
                "a.attnotnull, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', "
                "a.attidentity = 'a' OR a.attgenerated <> '', format_type(a.atttypid, NULL), "
                "t.typtype::text, CASE WHEN t.typcategory = 'A' THEN "
                "(SELECT e.typname::text FROM pg_type e WHERE e.oid = t.typelem) ELSE '' END "
                "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
                "ORDER BY a.attnum",
                (q(table),),
            )
            self._end_read()
            self._columns[table] = {r[0]: PgColumn(*r) for r in rows}
        return self._columns[table]

    # -- Sink ---------------------------------------------------------------------------

    def describe(self, table: str) -> list[TableColumn] | None:
        try:
            cols = self._pg_columns(table)
        except adbc_driver_manager.Error as exc:
            self._rollback()
            raise wrap(exc) from exc
        if not cols:
            del self._columns[table]
            return None
        return [
            TableColumn(
                c.name,
                column_type(c),
                c.declared,
                nullable=not c.not_null,
                has_default=c.has_default,
                generated=c.generated,
                max_length=c.typmod - 4
                if c.typname in ("varchar", "bpchar") and c.typmod > 4
                else None,
            )
            for c in cols.values()
        ]

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        cols = [
            f"{q(n)} {create_type(t)}" + (" NOT NULL" if n in key else "")
            for n, t in columns.items()
        ]
        if key:
            cols.append(f"PRIMARY KEY ({', '.join(q(k) for k in key)})")
        unlogged = " UNLOGGED" if table in self._scratch else ""
        self._commit([f"CREATE{unlogged} TABLE {q(table)} ({', '.join(cols)})"])
        self._columns.pop(table, None)

    def make_scratch(self, table: str) -> None:
        self._scratch.add(table)

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        # Every stored value keeps its value: a double becomes text (or numeric) through its
        # shortest exact spelling, never through float8 -> numeric, which keeps 15 digits.
        pg = create_type(new_type)
        old = columns.get(column)
        if new_type.kind is Kind.JSON:
            using = f"to_jsonb({q(column)})"
        elif new_type.kind is Kind.TEXT:
            using = f"{q(column)}::text"
        elif old is not None and old.kind is Kind.DOUBLE:
            using = f"{q(column)}::text::{pg}"
        else:
            using = f"{q(column)}::{pg}"
        self._commit(
            [
                "SET LOCAL extra_float_digits = 1",  # shortest exact, whatever the server's
                f"ALTER TABLE {q(table)} ALTER COLUMN {q(column)} TYPE {pg} USING {using}",
            ]
        )
        self._columns.pop(table, None)

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        self._commit([f"ALTER TABLE {q(table)} ADD COLUMN {q(column)} {create_type(new_type)}"])
        self._columns.pop(table, None)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            rows = self._execute(self.dialect.params(sql), tuple(params) or None)
        except adbc_driver_manager.Error as exc:
            raise wrap(exc) from exc
        return list(rows or [])

    def stream_arrow(self, sql: str, params: Sequence[Any] = ()) -> ArrowPages:
        cur = self._conn.cursor()
        try:
            cur.execute(self.dialect.params(sql), parameters=tuple(params) or None)
            yield from cur.fetch_record_batch()
        except adbc_driver_manager.Error as exc:
            raise wrap(exc) from exc
        finally:
            cur.close()
            self._end_read()

    def stream_texts(self, select: str, columns: list[str]) -> ArrowPages:
        casts = ", ".join(f"CAST(s.{q(c)} AS text) AS {q(c)}" for c in columns)
        yield from self.stream_arrow(f"SELECT {casts} FROM ({select}) s")

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 10_000) -> RowPages:
        for batch in self.stream_arrow(sql, params):  # by columns: the driver's rows, one
            columns = [c.to_pylist() for c in batch.columns]  # value at a time, are slow
            yield batch.schema.names, list(zip(*columns, strict=True))

    def primary_key(self, table: str) -> list[str]:
        rows = self.execute(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
            "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(?) "
            "AND i.indisprimary ORDER BY a.attnum",
            [q(table)],
        )
        self._end_read()
        return [r[0] for r in rows]

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        return probe_keys(self, self._conn, self._pg_columns(table), table, key, batch)

    def table_token(self, table: str) -> str | None:
        # the oid: kept by ALTER TABLE, RENAME and VACUUM FULL, new for a table made anew
        rows = self.execute("SELECT to_regclass(?)::oid::text", [q(table)])
        return rows[0][0] if rows else None

    def lock_load(self, name: str, holder: Holder) -> Held:
        return AdvisoryLock.take(self.another(), name, holder)

    def unique_keys(self, table: str) -> list[list[str]]:
        rows = self._execute(
            "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL "
            "GROUP BY i.indexrelid",
            (q(table),),
        )
        self._end_read()
        return [list(r[0]) for r in rows or []]

    def write_notes(self, table: str, columns: Sequence[str]) -> list[str]:
        try:
            written = {n: c for n, c in self._pg_columns(table).items() if n in columns}
            staged = staged_columns(written)
        except adbc_driver_manager.Error:
            self._rollback()
            return []
        if not staged:
            return []
        return [
            "sent as text and cast by the server (no binary form chute sends): " + ", ".join(staged)
        ]

    def forget_table(self, table: str) -> None:
        self._columns.pop(table, None)

    def value_oracle(self, table: str) -> PostgresValueOracle:
        columns = self._pg_columns(table)
        utc = True
        if any(c.typname == "timestamptz" for c in columns.values()):
            # a zone-less timestamp is read in the session's zone: the server's default
            (zone,) = self.execute("SELECT current_setting('TimeZone')")[0]
            self._end_read()
            utc = zone_is_utc(str(zone))
        return PostgresValueOracle(self.another, columns, utc)

    def begin(self) -> None:
        self._in_transaction = True  # the driver opens it at the first statement

    def commit(self) -> None:
        self._in_transaction = False
        try:
            self._conn.commit()
        except adbc_driver_manager.Error as exc:
            self._rollback()
            raise wrap(exc) from exc

    def rollback(self) -> None:
        self._rollback()

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        cur = self._conn.cursor()
        try:
            return write_batch(cur, table, batch, self._pg_columns(table), mode, key)
        except adbc_driver_manager.Error as exc:
            raise wrap(exc) from exc
        finally:
            cur.close()

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        self._commit([f"CREATE TABLE {q(table)} (LIKE {q(like)} INCLUDING ALL)"])
        self._columns.pop(table, None)

    def close(self) -> None:
        if self._conn is not None:
            with self._database_calls, contextlib.suppress(adbc_driver_manager.Error):
                self._conn.close()
            self._conn = None
