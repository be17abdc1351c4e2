"""SQLite: one transaction per batch, prepared ``executemany``, WAL journal.

SQLite has no exact decimal, date or timestamp storage.  Numbers from text are INTEGER, or
REAL when every value is exact as a double, or else the source's text (chute infers no
numeric here, see ``Stores.exact_decimals``); Python ``Decimal``s are stored as their
text.  Dates and timestamps are text in canonical form (``2024-01-31``,
``2024-01-31 10:00:00.5+00:00``, timestamps with a zone converted to UTC), which sorts and
compares correctly.  Declared types are chosen for their affinity: a text column never has
one that turns number-like text into a number (``JSON TEXT``, not ``JSON``).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pyarrow as pa

from chute.coltypes import ColumnType, Kind, Stores
from chute.errors import ConfigError, SinkError, SinkUnavailableError
from chute.sinks.contract import (
    Capabilities,
    Held,
    Holder,
    LoadLocks,
    Mode,
    PreparesBatches,
    Savepoints,
    TableColumn,
    WriteCounts,
)
from chute.sinks.locks import FileLock
from chute.sinks.sql.counted import Counted
from chute.sinks.sql.dialect import SqliteDialect
from chute.sinks.sql.dialect import quote_identifier as q
from chute.sinks.sql.digest import DIGEST_FUNCTION, digest
from chute.sinks.sql.sql_sink import (
    ArrowPages,
    RowPages,
    SqlSink,
    StreamsRows,
    rows_to_batch,
)
from chute.sinks.sqlite_arrow import text_pages, texts_of_rows
from chute.sinks.sqlite_ddl import TOKEN_TRIGGER, copy_statements, token_trigger
from chute.sinks.sqlite_values import SqliteValueOracle
from chute.sinks.sqlite_wire import (
    DECLARED,
    NUMBER_TEXT,
    Wired,
    kind_of_declared,
    number_text,
    python_rows,
)
from chute.sinks.sqlite_write import insert_rows, upsert_rows
from chute.urls import redact

#: seconds to wait for the switch to WAL when no connect timeout is given
WAL_WAIT = 10.0


class SqliteSink(SqlSink, Savepoints, LoadLocks, StreamsRows, PreparesBatches):
    schemes = ("sqlite",)
    dialect = SqliteDialect()
    capabilities = Capabilities(
        names_ignore_case=True,
        stores=Stores(exact_decimals=False),
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        rest = url.split(":", 1)[1]
        if not rest.startswith("///") or len(rest) == 3:
            raise ConfigError(
                f"malformed SQLite URL {redact(url)!r}",
                hint="use sqlite:///relative/path.db or sqlite:////absolute.db",
            )
        self.path = rest[3:]
        self._conn: sqlite3.Connection | None = None
        self._wired = Wired()  # batches' values formatted in the reader's thread

    @property
    def display_url(self) -> str:
        return redact(self.url)

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None, "connect() first"
        return self._conn

    def connect(self) -> None:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise SinkUnavailableError(
                    f"cannot open {self.display_url}: folder {str(parent)!r} does not exist"
                )
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.create_function(NUMBER_TEXT, 1, number_text, deterministic=True)
            conn.create_function(DIGEST_FUNCTION, -1, digest, deterministic=True)
            self._conn = cast(sqlite3.Connection, Counted(conn, self))
            self._use_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA temp_store=MEMORY")
            self._conn.execute("PRAGMA foreign_keys=ON")  # declared foreign keys are kept
        except sqlite3.Error as exc:
            raise SinkUnavailableError(f"cannot open {self.display_url}: {exc}") from exc

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL.  SQLite answers "database is locked" at once, without
        waiting, when another connection holds a lock on a file not yet in WAL (two runs
        opening a new database together): try again until the connect timeout."""
        deadline = time.monotonic() + (self.connect_timeout or WAL_WAIT)
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def describe(self, table: str) -> list[TableColumn] | None:
        # table_xinfo also lists generated columns (hidden 2: virtual, 3: stored)
        rows = self.conn.execute(f"PRAGMA table_xinfo({q(table)})").fetchall()
        if not rows:
            return None
        return [
            TableColumn(
                r[1],
                ColumnType(kind_of_declared(r[2] or "")),
                r[2] or "",
                nullable=not r[3],
                has_default=r[4] is not None or r[6] in (2, 3),
                generated=r[6] in (2, 3),
            )
            for r in rows
            if r[6] != 1  # a virtual table's hidden column
        ]

    def value_oracle(self, table: str) -> SqliteValueOracle:
        info = self.conn.execute(f"PRAGMA table_info({q(table)})").fetchall()
        declared = {r[1]: r[2] or "" for r in info}
        kinds = {name: kind_of_declared(d) for name, d in declared.items()}
        try:
            listed = self.conn.execute(f"PRAGMA table_list({q(table)})").fetchall()
        except sqlite3.Error:  # older than 3.37: no STRICT tables either
            listed = []
        strict = any(r[1] == table and r[5] for r in listed)
        return SqliteValueOracle(table, declared, kinds, strict)

    def _ddl(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> str:
        cols = [
            f"{q(n)} {DECLARED[t.kind]}" + (" NOT NULL" if n in key else "")
            for n, t in columns.items()
        ]
        if key:
            cols.append(f"PRIMARY KEY ({', '.join(q(k) for k in key)})")
        return f"CREATE TABLE {q(table)} ({', '.join(cols)})"

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        self._run_ddl([self._ddl(table, columns, key)])

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        # SQLite cannot change a column's type: rebuild the table in one transaction.
        # Values are copied as stored (text stays the very text); only a column that stops
        # being a number or a boolean is rewritten, each value to its exact spelling.
        new_columns = {**columns, column: new_type}
        tmp = f"_chute_rebuild_{table}"
        names = ", ".join(q(n) for n in columns)
        as_text = new_type.kind in (Kind.TEXT, Kind.JSON)
        values = ", ".join(
            f"CASE {q(n)} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"
            if n == column and t.kind is Kind.BOOLEAN and new_type.kind is not Kind.BOOLEAN
            else f"{NUMBER_TEXT}({q(n)})"
            if n == column and t.kind is Kind.DOUBLE and as_text
            else q(n)
            for n, t in columns.items()
        )
        token = self.table_token(table)
        self._run_ddl(
            [
                self._ddl(tmp, new_columns, key),
                f"INSERT INTO {q(tmp)} ({names}) SELECT {values} FROM {q(table)}",
                f"DROP TABLE {q(table)}",
                f"ALTER TABLE {q(tmp)} RENAME TO {q(table)}",
                *([token_trigger(table, token)] if token else []),  # the same table still
            ]
        )

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        self._run_ddl([f"ALTER TABLE {q(table)} ADD COLUMN {q(column)} {DECLARED[new_type.kind]}"])

    def _run_ddl(self, statements: list[str]) -> None:
        """``statements`` in the open transaction (a writer session's), or in their own."""
        own = not self.conn.in_transaction
        try:
            if own:
                self.conn.execute("BEGIN IMMEDIATE")
            for sql in statements:
                self.conn.execute(sql)
            if own:
                self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise SinkError(f"{exc}", sqlstate=None) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc

    def stream_arrow(self, sql: str, params: Sequence[Any] = ()) -> ArrowPages:
        for names, page in self.stream(sql, params, 65_536):
            yield rows_to_batch(names, page)

    def stream_texts(self, select: str, columns: list[str]) -> ArrowPages:
        """Through the ADBC driver (a connection of its own: what is committed), but for an
        in-memory database, which only this connection sees."""
        if self.path != ":memory:":
            return text_pages(self.path, select, columns, q)
        return texts_of_rows(self.stream, select, columns, q)

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 10_000) -> RowPages:
        try:
            cur = self.conn.execute(sql, tuple(params))
            names = [d[0] for d in cur.description]
            while page := cur.fetchmany(size):
                yield names, page
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc

    def primary_key(self, table: str) -> list[str]:
        info = self.conn.execute(f"PRAGMA table_info({q(table)})").fetchall()
        return [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        cols = ", ".join(q(k) for k in key)
        match = " AND ".join(f"t.{q(k)} = p.{q(k)}" for k in key)
        rows = python_rows(batch.select(key))
        conn = self.conn
        try:
            conn.execute("BEGIN")
            conn.execute(
                f"CREATE TEMP TABLE _chute_probe AS SELECT {cols}, 0 AS __chute_row "
                f"FROM {q(table)} WHERE 0"
            )
            conn.executemany(
                f"INSERT INTO _chute_probe VALUES ({', '.join('?' * (len(key) + 1))})",
                ((*r, i) for i, r in enumerate(rows)),
            )
            found = conn.execute(
                "SELECT p.__chute_row FROM _chute_probe p WHERE EXISTS "
                f"(SELECT 1 FROM {q(table)} t WHERE {match})"
            ).fetchall()
            conn.execute("ROLLBACK")  # the probe table goes with it
        except sqlite3.Error as exc:
            self._rollback()
            raise _wrap(exc) from exc
        return [int(r[0]) for r in found]

    def table_token(self, table: str) -> str | None:
        # SQLite has no table id that survives VACUUM (rootpage does not): chute marks the
        # table with a trigger that never fires, named after a random token; it goes with
        # the table when it is dropped, and stays through VACUUM, ALTER TABLE and renames
        rows = self.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            "COLLATE NOCASE AND name LIKE ? ESCAPE '\\' ORDER BY name",
            [table, TOKEN_TRIGGER.replace("_", "\\_") + "%"],
        )
        return str(rows[0][0])[len(TOKEN_TRIGGER) :] if rows else None

    def is_table(self, table: str, token: str | None) -> bool:
        if token is not None and token.isdigit():
            # a checkpoint completed by chute before tables were marked kept the rootpage:
            # still the same table while its rootpage is (a rerun does not load it twice)
            rows = self.execute(
                "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
            )
            return bool(rows) and str(rows[0][0]) == token
        return super().is_table(table, token)

    def mark_table(self, table: str) -> str | None:
        token = self.table_token(table)
        if token is None and self.describe(table) is not None:
            token = uuid.uuid4().hex
            self._sql(token_trigger(table, token))
        return token

    def lock_load(self, name: str, holder: Holder) -> Held:
        if self.path == ":memory:":
            return _Unlocked()  # no other process sees this database
        return FileLock.take(f"{self.path}-chute-{name[:16]}.lock", holder)

    def unique_keys(self, table: str) -> list[list[str]]:
        info = self.conn.execute(f"PRAGMA table_info({q(table)})").fetchall()
        pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
        keys = [pk] if pk else []
        for idx in self.conn.execute(f"PRAGMA index_list({q(table)})").fetchall():
            if idx[2] and not idx[4]:  # unique, not partial
                keys.append([r[2] for r in self.conn.execute(f"PRAGMA index_info({q(idx[1])})")])
        return keys

    def begin(self) -> None:
        self._sql("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._sql("COMMIT")

    def rollback(self) -> None:
        self._rollback()

    def savepoint(self) -> None:
        self._sql("SAVEPOINT chute_piece")

    def rollback_to_savepoint(self) -> None:
        self._sql("ROLLBACK TO chute_piece")
        self._sql("RELEASE chute_piece")

    def release_savepoint(self) -> None:
        self._sql("RELEASE chute_piece")

    def _sql(self, sql: str) -> None:
        try:
            self.conn.execute(sql)
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc

    def prepare_batch(self, table: str, batch: pa.RecordBatch) -> None:
        self._wired.make(batch)

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        wired = self._wired.take(batch)
        try:
            if mode in (Mode.APPEND, Mode.IGNORE):
                ignore = key if mode is Mode.IGNORE else []
                return insert_rows(self.conn, self.dialect, table, batch, wired, ignore)
            return upsert_rows(self.conn, self.dialect, table, batch, key, wired)
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        """A copy of ``like``'s CREATE TABLE and CREATE INDEX statements under new names."""
        self._run_ddl(copy_statements(self.conn, table, like))

    def _rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Unlocked:
    def release(self) -> None:
        pass


def _wrap(exc: sqlite3.Error) -> Exception:
    return SqliteSink.dialect.classify(getattr(exc, "sqlite_errorname", None), str(exc))
