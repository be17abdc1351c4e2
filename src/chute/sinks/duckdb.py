"""DuckDB: Arrow batches straight into the table, one transaction per batch.

Each batch is registered with DuckDB as an Arrow table and stored by one
``INSERT INTO t (...) SELECT ... FROM batch`` (no row goes through Python).  Upsert and
ignore are the same statement with ``ON CONFLICT (key) DO UPDATE`` / ``DO NOTHING``; the
engine has already kept only the last record of each key in the batch.  Counts are exact:
ignore's INSERT returns the rows it inserted, and an upsert counts the table's rows before
and after in its own transaction (``count(*)`` costs about a millisecond at 5M rows).

DuckDB's DDL is transactional (a table created, dropped or renamed in a rolled-back
transaction is back as it was), so a staged load swaps its stage table in inside the
publish transaction.  DuckDB has no savepoints (the sink is not
:class:`~chute.sinks.contract.Savepoints`): a refused batch is written again as pieces,
each in a transaction of its own.  One process at a time may open a database file; a
second run finds it locked and stops with exit 7 (:class:`~chute.errors.LoadRunningError`).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from chute.coltypes import ColumnType, Stores
from chute.errors import ConfigError, LoadRunningError, RecordError, SinkUnavailableError

try:
    import duckdb
except ImportError:  # an optional dependency: a clear error, not a traceback
    raise ConfigError(
        "the DuckDB sink needs the duckdb package", hint="pip install 'chute[duckdb]'"
    ) from None
from chute.sinks.contract import Capabilities, Mode, TableColumn, WriteCounts
from chute.sinks.duckdb_keys import has_duplicate, one, unique_keys
from chute.sinks.duckdb_types import DIALECT, column_type, create_type, lock_holder, wrap
from chute.sinks.sql.dialect import quote_identifier as q
from chute.sinks.sql.sql_sink import SqlSink
from chute.urls import redact

_CREATE_TABLE = re.compile(r'^CREATE TABLE\s+("(?:[^"]|"")*"|[^\s(]+)', re.IGNORECASE)
_CREATE_INDEX = re.compile(
    r'^CREATE (UNIQUE )?INDEX\s+("(?:[^"]|"")*"|[^\s(]+)\s+ON\s+("(?:[^"]|"")*"|[^\s(]+)',
    re.IGNORECASE,
)
#: a table's identity: its comment, when chute marked it (DuckDB's table oid changes when
#: the file is opened again)
_TOKEN = "chute:"
_names = itertools.count()


#: rows of a DuckDB row group: a transaction of fewer rows goes through the write-ahead log
ROW_GROUP_ROWS = 122_880


class DuckdbSink(SqlSink):
    """No :class:`~chute.sinks.contract.Savepoints` (DuckDB has none) and no
    :class:`~chute.sinks.contract.LoadLocks`: DuckDB's own lock on the file keeps a second
    process out."""

    schemes = ("duckdb",)
    dialect = DIALECT
    capabilities = Capabilities(
        parallel_writes=False,  # one writer: DuckDB's own insert is parallel
        names_ignore_case=True,  # DuckDB's names ignore case, quoted or not
        stores=Stores(exact_decimals=True, uuid=True),
        transactional_ddl=True,  # CREATE, DROP and RENAME are undone by a ROLLBACK
        min_batch_rows=ROW_GROUP_ROWS,
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        rest = url.split(":", 1)[1]
        if not rest.startswith("///") or len(rest) == 3:
            raise ConfigError(
                f"malformed DuckDB URL {redact(url)!r}",
                hint="use duckdb:///relative/path.duckdb or duckdb:////absolute/path.duckdb",
            )
        self.path = rest[3:]
        if self.path == ":memory:" or self.path.startswith(":memory:"):
            raise ConfigError(
                "a DuckDB database in memory is gone when the load ends",
                hint="load into a file: duckdb:///path.duckdb",
            )
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._in_transaction = False
        #: batches still registered because a refused statement aborted the transaction
        self._registered: list[str] = []

    @property
    def display_url(self) -> str:
        return redact(self.url)

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        assert self._conn is not None, "connect() first"
        return self._conn

    def connect(self) -> None:
        parent = Path(self.path).parent
        if not parent.is_dir():
            raise SinkUnavailableError(
                f"cannot open {self.display_url}: folder {str(parent)!r} does not exist"
            )
        try:
            self._conn = duckdb.connect(self.path)
        except duckdb.IOException as exc:
            holder = lock_holder(self.path)
            if holder is not None:
                who = f"pid {holder}" if holder > 0 else "pid unknown"
                raise LoadRunningError(
                    f"{self.display_url} is open in another process ({who}); DuckDB lets one "
                    "process at a time write a database file",
                    hint="wait for it to finish (or stop it), then run this again",
                ) from None
            raise wrap(exc) from exc
        except duckdb.Error as exc:
            raise SinkUnavailableError(f"cannot open {self.display_url}: {exc}") from exc

    # -- statements ---------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.statements += 1
        try:
            return self.conn.execute(sql, list(params) or None).fetchall()
        except duckdb.Error as exc:
            raise wrap(exc) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params)

    def _ddl(self, statements: list[str]) -> None:
        """``statements`` in the open transaction, or in one of their own."""
        if self._in_transaction:
            for sql in statements:
                self._run(sql)
            return
        with self.transaction():
            for sql in statements:
                self._run(sql)

    # -- tables -------------------------------------------------------------------------

    def describe(self, table: str) -> list[TableColumn] | None:
        rows = self._run(
            "SELECT column_name, data_type, numeric_scale, is_nullable, column_default, "
            "is_generated FROM duckdb_columns() WHERE schema_name = current_schema() "
            "AND table_name = ? ORDER BY column_index",
            [table],
        )
        if not rows:
            return None
        return [
            TableColumn(
                name,
                column_type(data_type, scale),
                data_type,
                nullable=bool(nullable),
                has_default=default is not None or bool(generated),
                generated=bool(generated),
            )
            for name, data_type, scale, nullable, default, generated in rows
        ]

    def _create_sql(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> str:
        cols = [
            f"{q(n)} {create_type(t)}" + (" NOT NULL" if n in key else "")
            for n, t in columns.items()
        ]
        if key:
            cols.append(f"PRIMARY KEY ({', '.join(q(k) for k in key)})")
        return f"CREATE TABLE {q(table)} ({', '.join(cols)})"

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        self._ddl([self._create_sql(table, columns, key)])

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        # a double becomes text through its shortest exact spelling (DuckDB's own cast);
        # DuckDB cannot change the type of a key column: the table is made again instead
        target = create_type(new_type)
        if column not in key:
            self._ddl([f"ALTER TABLE {q(table)} ALTER {q(column)} TYPE {target}"])
            return
        tmp = f"_chute_rebuild_{table}"
        names = ", ".join(q(n) for n in columns)
        values = ", ".join(f"CAST({q(n)} AS {target})" if n == column else q(n) for n in columns)
        token = self.table_token(table)
        self._ddl(
            [
                self._create_sql(tmp, {**columns, column: new_type}, key),
                f"INSERT INTO {q(tmp)} ({names}) SELECT {values} FROM {q(table)}",
                f"DROP TABLE {q(table)}",
                f"ALTER TABLE {q(tmp)} RENAME TO {q(table)}",
                *([f"COMMENT ON TABLE {q(table)} IS '{_TOKEN}{token}'"] if token else []),
            ]
        )

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        self._ddl([f"ALTER TABLE {q(table)} ADD COLUMN {q(column)} {create_type(new_type)}"])

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        """``like``'s own CREATE TABLE and CREATE INDEX statements, under new names."""
        rows = self._run(
            "SELECT sql FROM duckdb_tables() WHERE schema_name = current_schema() "
            "AND table_name = ?",
            [like],
        )
        indexes = self._run(
            "SELECT index_name, sql FROM duckdb_indexes() WHERE schema_name = current_schema() "
            "AND table_name = ? AND sql IS NOT NULL",
            [like],
        )
        statements = [_CREATE_TABLE.sub(f"CREATE TABLE {q(table)}", rows[0][0], count=1)]
        for name, sql in indexes:
            head = _CREATE_INDEX.match(sql)
            if head:
                renamed = f"CREATE {head.group(1) or ''}INDEX {q(table + '__' + name)} "
                statements.append(renamed + f"ON {q(table)}" + sql[head.end() :])
        self._ddl(statements)

    def primary_key(self, table: str) -> list[str]:
        rows = self._run(
            "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = "
            "current_schema() AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
            [table],
        )
        return list(rows[0][0]) if rows else []

    def unique_keys(self, table: str) -> list[list[str]]:
        self.statements += 1
        try:
            return unique_keys(self.conn, table)
        except duckdb.Error as exc:
            raise wrap(exc) from exc

    def table_token(self, table: str) -> str | None:
        rows = self._run(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = current_schema() "
            "AND table_name = ?",
            [table],
        )
        comment = rows[0][0] if rows else None
        if isinstance(comment, str) and comment.startswith(_TOKEN):
            return comment[len(_TOKEN) :]
        return None

    def mark_table(self, table: str) -> str | None:
        """Mark ``table`` with a comment holding a random token, unless it has a comment of
        its own (then it is left alone and has no identity)."""
        token = self.table_token(table)
        if token is not None:
            return token
        rows = self._run(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = current_schema() "
            "AND table_name = ?",
            [table],
        )
        if not rows or rows[0][0]:
            return None
        token = uuid.uuid4().hex
        self._ddl([f"COMMENT ON TABLE {q(table)} IS '{_TOKEN}{token}'"])
        return token

    # -- transactions -------------------------------------------------------------------

    def begin(self) -> None:
        self._run("BEGIN TRANSACTION")
        self._in_transaction = True

    def commit(self) -> None:
        self._in_transaction = False
        try:
            self._run("COMMIT")
        except RecordError:
            self._rollback()
            raise

    def rollback(self) -> None:
        self._rollback()

    def _rollback(self) -> None:
        was = self._in_transaction
        self._in_transaction = False
        if was and self._conn is not None:
            with contextlib.suppress(duckdb.Error):
                self.statements += 1
                self._conn.execute("ROLLBACK")
        while self._registered and self._conn is not None:
            with contextlib.suppress(duckdb.Error):
                self._conn.unregister(self._registered.pop())

    # -- writing ------------------------------------------------------------------------

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        n = batch.num_rows
        if n == 0:
            return WriteCounts()
        name = f"_chute_batch_{next(_names)}"
        self.conn.register(name, pa.Table.from_batches([batch]))
        try:
            return self._insert_from(table, name, list(batch.schema.names), mode, key, n)
        except duckdb.ConstraintException as exc:
            raise wrap(exc, duplicate=has_duplicate(self.conn, table, batch)) from exc
        except duckdb.Error as exc:
            raise wrap(exc) from exc
        finally:
            self._unregister(name)

    def _unregister(self, name: str) -> None:
        """Let go of a registered batch (after a refused statement: at the rollback)."""
        try:
            self.conn.unregister(name)
        except duckdb.Error:  # the transaction is aborted: not before ROLLBACK
            self._registered.append(name)

    def _insert_from(
        self, table: str, source: str, names: list[str], mode: Mode, key: list[str], n: int
    ) -> WriteCounts:
        conn = self.conn
        cols = ", ".join(q(c) for c in names)
        insert = f"INSERT INTO {q(table)} ({cols}) SELECT {cols} FROM {source}"
        self.statements += 1
        if mode is Mode.APPEND:
            conn.execute(insert).fetchall()
            return WriteCounts(created=n)
        conflict = f" ON CONFLICT ({', '.join(q(k) for k in key)}) "
        others = [c for c in names if c not in key]
        if mode is Mode.IGNORE:
            (created,) = one(conn.execute(f"{insert}{conflict}DO NOTHING"))
            return WriteCounts(created=created, skipped=n - created)
        (before,) = one(conn.execute(f"SELECT count(*) FROM {q(table)}"))
        if others:
            sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in others)
            conn.execute(f"{insert}{conflict}DO UPDATE SET {sets}").fetchall()
        else:
            conn.execute(f"{insert}{conflict}DO NOTHING").fetchall()
        (after,) = one(conn.execute(f"SELECT count(*) FROM {q(table)}"))
        self.statements += 2
        return WriteCounts(created=after - before, updated=n - (after - before))

    def merge_relation(
        self, table: str, relation: str, names: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        (n,) = self._run(f"SELECT count(*) FROM {relation}")[0]
        try:
            return self._insert_from(table, relation, names, mode, key, int(n))
        except duckdb.Error as exc:
            raise wrap(exc) from exc

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        keys = batch.select(key).append_column(
            "__chute_row", pa.array(range(batch.num_rows), pa.int64())
        )
        name = f"_chute_probe_{next(_names)}"
        match = " AND ".join(f"t.{q(k)} = p.{q(k)}" for k in key)
        self.conn.register(name, pa.Table.from_batches([keys]))
        try:
            rows = self._run(
                f"SELECT p.__chute_row FROM {name} p WHERE EXISTS "
                f"(SELECT 1 FROM {q(table)} t WHERE {match}) ORDER BY 1"
            )
        finally:
            self._unregister(name)
        return [int(r[0]) for r in rows]

    def close(self) -> None:
        if self._conn is not None:
            self._rollback()
            with contextlib.suppress(duckdb.Error):
                self._conn.close()
            self._conn = None
