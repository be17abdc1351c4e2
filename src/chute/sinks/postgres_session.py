"""PostgreSQL for writer sessions: many small writes, each one round trip.

A writer session (:mod:`chute.session`) writes a few hundred records at a time, often
inside a transaction of the caller's.  The load sink (:class:`~chute.sinks.postgres.PostgresSink`,
ADBC) pays several round trips per batch: a temporary stage, a COPY, the insert, and a
prepare before each parameterised statement.  This sink speaks to the same server through
psycopg instead, which pipelines:

- a write is one statement, ``INSERT ... SELECT ... FROM unnest($1::int8[], $2::text[], ...)``
  with each column as one array parameter (``ON CONFLICT`` and the created/updated count in
  the same statement, as the load sink counts them);
- ``BEGIN``, the savepoint that isolates a write inside the caller's transaction, and the
  release of the previous one travel in the same round trip as the write; ``COMMIT`` takes one.

So a transaction of three writes costs four round trips.  Tables, types, counts and errors
are the load sink's (this class is one): what differs is the connection and the write.
A write of more than :data:`COPY_ABOVE_ROWS` rows goes through the binary COPY of a
temporary stage table and one ``INSERT ... SELECT`` from it, as loads do.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg.pq import TransactionStatus

from chute.errors import ChuteError, SinkUnavailableError
from chute.sinks.contract import Mode, Savepoints, WriteCounts
from chute.sinks.postgres import PostgresSink
from chute.sinks.postgres_insert import insert_counted
from chute.sinks.postgres_wire import DIALECT, PgColumn, first_line, typed_lists_text
from chute.sinks.sql.counted import Counted
from chute.sinks.sql.dialect import quote_identifier as q
from chute.urls import scrub

#: a write of more rows goes through COPY and a stage table: measured with
#: benchmarks/session_paths.py, COPY takes 1.2-2.5x the time of the one statement up to 1,000
#: rows, breaks even near 5,000, and is 3-6 % faster from 20,000 (and streams, where the
#: statement's parameters are whole strings)
COPY_ABOVE_ROWS = 5_000
#: the savepoint a write inside the caller's transaction is isolated by
_SAVEPOINT = "chute_write"
#: Arrow types of converted batches -> the array parameter's element type
_PARAM_TYPES: dict[pa.DataType, str] = {
    pa.int64(): "int8",
    pa.float64(): "float8",
    pa.bool_(): "bool",
    pa.date32(): "date",
    pa.timestamp("us"): "timestamp",
    pa.timestamp("us", tz="UTC"): "timestamptz",
    pa.string(): "text",
}
#: column types a text parameter goes into without a cast (the assignment does it)
_TEXTS = frozenset({"text", "varchar", "bpchar", "name"})


class PostgresSessionSink(PostgresSink, Savepoints):
    """The PostgreSQL sink over psycopg, with pipelined statements (see the module)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        #: statements sent in the same round trip as the next one (savepoints)
        self._queued: list[str] = []
        #: round trips to the server so far (a pipeline of several statements is one)
        self.round_trips = 0

    def another(self) -> PostgresSessionSink:
        other = PostgresSessionSink(self.url)
        other.connect_timeout = self.connect_timeout
        return other

    def connect(self) -> None:
        timeout = None
        if self.connect_timeout is not None:
            timeout = max(2, math.ceil(self.connect_timeout))
        try:
            conn = psycopg.connect(
                self._uri,
                # chute sends BEGIN and COMMIT itself, in the round trip of the statements
                # around them (psycopg's own BEGIN would take a round trip of its own)
                autocommit=True,
                cursor_factory=psycopg.RawCursor,  # $1 placeholders, as the dialect writes
                connect_timeout=timeout,
            )
        except psycopg.Error as exc:
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {scrub(first_line(exc), self.url)}",
                hint="is the server running, and are the user and database right?",
            ) from exc
        self._conn = Counted(conn, self)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    # -- statements, pipelined with what is queued -------------------------------------

    @contextmanager
    def _round_trip(self) -> Iterator[Any]:
        """A pipeline that first sends the queued statements; it syncs at the end (one
        round trip), and errors become chute's."""
        conn = self._conn
        self.round_trips += 1
        try:
            with conn.pipeline():
                for sql in self._queued:
                    conn.execute(sql)
                self._queued.clear()
                yield conn
        except psycopg.Error as exc:
            self._queued.clear()
            raise _wrap(exc) from exc

    def _execute(self, sql: str, params: tuple[Any, ...] | None = None) -> Any:
        with self._round_trip() as conn:
            cur = conn.cursor()
            cur.execute(sql, params)
        return cur.fetchall() if cur.description else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._execute(self.dialect.params(sql), tuple(params) or None) or [])

    # -- transactions -----------------------------------------------------------------

    def begin(self) -> None:
        self._in_transaction = True
        self._queued.append("BEGIN")  # sent with the first statement

    def commit(self) -> None:
        self._in_transaction = False
        if self._queued == ["BEGIN"]:  # nothing was sent: nothing to commit
            self._queued.clear()
            return
        try:
            self._execute("COMMIT")
        except ChuteError:
            self._rollback()
            raise

    def _rollback(self) -> None:
        self._in_transaction = False
        self._queued.clear()
        conn = self._conn
        if conn is not None and conn.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")

    def _commit(self, statements: list[str]) -> None:
        """``statements`` (DDL) in the open transaction, or in one of their own."""
        if self._in_transaction:
            for sql in statements:
                self._execute(sql)
            return
        self.begin()
        try:
            for sql in statements:
                self._execute(sql)
        except BaseException:
            self._rollback()
            raise
        self.commit()

    def savepoint(self) -> None:
        self._queued.append(f"SAVEPOINT {_SAVEPOINT}")

    def release_savepoint(self) -> None:
        self._queued.append(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    def rollback_to_savepoint(self) -> None:
        if self._queued and self._queued[-1] == f"SAVEPOINT {_SAVEPOINT}":
            self._queued.pop()  # never sent: nothing to undo
            return
        self._execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        self._queued.append(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    # -- writing ----------------------------------------------------------------------

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        names = batch.schema.names
        layout = _layout(batch, self._pg_columns(table))
        if batch.num_rows > COPY_ABOVE_ROWS:
            rows = self._copy_to_stage(table, batch, layout)
            params: tuple[Any, ...] | None = None
        else:
            rows, params = unnest_rows(layout)

        def first_row(sql: str) -> Any:
            found = self._execute(sql, params)
            return found[0] if found else None

        return insert_counted(first_row, table, names, rows, mode, key, batch.num_rows)

    def _copy_to_stage(self, table: str, batch: pa.RecordBatch, layout: list[_Column]) -> str:
        """Binary COPY of ``batch`` into a temporary stage table (emptied at commit); the
        SELECT of its rows in the table's types."""
        stage = "_chute_session_" + "_".join(c.param for c in layout)[:40]
        stage = f"{stage}_{len(layout)}"
        cols = ", ".join(f"c{i} {c.param}" for i, c in enumerate(layout))
        self._execute(f"CREATE TEMP TABLE IF NOT EXISTS {q(stage)} ({cols}) ON COMMIT DELETE ROWS")
        self._execute(f"TRUNCATE pg_temp.{q(stage)}")
        values = [c.values() for c in layout]
        self.round_trips += 2  # the COPY's start and its end
        try:
            cur = self._conn.cursor()
            with cur.copy(f"COPY pg_temp.{q(stage)} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([c.param for c in layout])
                for row in zip(*values, strict=True):
                    copy.write_row(row)
        except psycopg.Error as exc:
            raise _wrap(exc) from exc
        selects = ", ".join(c.select(f"c{i}") for i, c in enumerate(layout))
        return f"SELECT {selects} FROM pg_temp.{q(stage)}"

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        """One statement in the open transaction: the batch's keys joined with the table's."""
        keys = batch.select(key).append_column("__row", pa.array(range(batch.num_rows), pa.int64()))
        columns = {**self._pg_columns(table), "__row": PgColumn("__row", "int8", "bigint", -1)}
        rows, params = unnest_rows(_layout(keys, columns))
        on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key)
        names = ", ".join(q(c) for c in keys.schema.names)
        found = self._execute(
            f"SELECT DISTINCT s.__row FROM ({rows}) AS s({names}) "
            f"JOIN {q(table)} AS t ON {on} ORDER BY 1",
            params,
        )
        return [int(r[0]) for r in found or []]


@dataclass(frozen=True)
class _Column:
    """How one column of a batch travels: as an array (or COPY) of ``param``, and the
    expression (``{}`` the value) that makes it the table's type."""

    array: pa.Array
    param: str
    expr: str = "{}"

    def values(self) -> list[Any]:
        return self.array.to_pylist()  # type: ignore[no-any-return]

    def literal(self) -> str:
        """The column as one PostgreSQL array literal: ``{1,2,NULL}``, ``{"a","b\\"c"}``.
        The server reads each element with its type's own text input; numbers are in
        Arrow's exact spelling (the shortest that round-trips, for doubles)."""
        return array_literal(self.array)

    def select(self, alias: str) -> str:
        return self.expr.format(alias)


#: a timestamp travels as microseconds since the epoch (an integer, exact and fast to
#: spell) and is made one again by interval arithmetic, exact to the microsecond
_FROM_MICROS = {
    "timestamp": "('epoch'::timestamp + {} * interval '1 microsecond')",
    "timestamptz": "('epoch'::timestamptz + {} * interval '1 microsecond')",
}


def _layout(batch: pa.RecordBatch, columns: dict[str, PgColumn]) -> list[_Column]:
    """A column whose Arrow type has a parameter type goes as that (the INSERT assigns it
    to the column); a timestamp as microseconds; any other as text, cast to the column's
    type (uuid, jsonb, inet, enums, arrays...); a typed source's lists (JSON) are put in
    the server's array syntax where that is exact."""
    out = []
    for field, array in zip(batch.schema, batch.columns, strict=True):
        pg = columns[field.name]
        array = typed_lists_text(field, array, pg)
        param = _PARAM_TYPES.get(array.type)
        if param in _FROM_MICROS:
            out.append(_Column(array.cast(pa.int64()), "int8", _FROM_MICROS[param]))
            continue
        if param is None:
            if pa.types.is_decimal(array.type):
                param = "numeric"
            else:
                param, array = "text", array.cast(pa.string())
        if param == "text" and pg.typname not in _TEXTS:
            out.append(_Column(array, param, "{}::" + (pg.base or pg.declared)))
        else:
            out.append(_Column(array, param))
    return out


def unnest_rows(layout: list[_Column]) -> tuple[str, tuple[Any, ...]]:
    """``SELECT ... FROM unnest($1::int8[], ...)``: the rows in the table's column types,
    and the parameters (one Python list per column)."""
    arrays = ", ".join(f"${i + 1}::{c.param}[]" for i, c in enumerate(layout))
    aliases = ", ".join(f"c{i}" for i in range(len(layout)))
    selects = ", ".join(c.select(f"u.c{i}") for i, c in enumerate(layout))
    sql = f"SELECT {selects} FROM unnest({arrays}) AS u({aliases})"
    return sql, tuple(c.literal() for c in layout)


def array_literal(array: pa.Array) -> str:
    """``array`` as a PostgreSQL array literal (see :meth:`_Column.literal`).  Arrow spells
    each value; the joining is Python's, which beats a chain of compute calls on the few
    hundred values of a session write."""
    if pa.types.is_string(array.type):
        values = array.to_pylist()
        if not array.null_count:
            joined = '","'.join(values)
            if "\\" not in joined and joined.count('"') == 2 * (len(values) - 1):
                return '{"' + joined + '"}' if values else "{}"  # nothing to escape
        quoted = (
            "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
        return "{" + ",".join(quoted) + "}"
    texts = pc.cast(array, pa.string()).to_pylist()
    return "{" + ",".join("NULL" if v is None else v for v in texts) + "}"


def _wrap(exc: psycopg.Error) -> ChuteError:
    diag = exc.diag
    message = diag.message_primary or first_line(exc)
    if diag.message_detail:
        message = f"{message} ({diag.message_detail})"
    return DIALECT.classify(
        exc.sqlstate,
        message,
        column=diag.column_name,
        lost="lost the database: ",
    )
