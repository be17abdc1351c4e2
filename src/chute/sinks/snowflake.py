"""Snowflake (``snowflake://user[:password]@account/db/schema?warehouse=WH``) through the
official connector (``pip install 'chute[snowflake]'``).

A batch costs a handful of round trips whatever its size: it is checked in memory, written
as Parquet, PUT on the session's temporary stage, copied into a stage table (``COPY
INTO``; :mod:`.snowflake_stage`), then moved into the target in the batch's transaction by
INSERT, or UPDATE and INSERT, whose own results give exact created and updated counts
(:mod:`.snowflake_write`).  The checkpoint is saved in the same transaction
(:mod:`.snowflake_store`).  Names, types and errors: :mod:`.snowflake_types`; the URL:
:mod:`.snowflake_url`.

DDL commits the open transaction in Snowflake.  So ``begin()`` sends nothing: BEGIN goes
just before the first statement that writes, and the DDL a batch needs (its stage table)
runs before it.  A DROP or a swap asked for inside a transaction waits for its COMMIT, as on
MySQL (``capabilities.transactional_ddl`` is False); a swap is ``ALTER TABLE ... SWAP
WITH`` (atomic), or, on a server without it, a DROP and a RENAME.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Sequence
from typing import Any

from chute.coltypes import ColumnType, Stores
from chute.errors import ChuteError, ConfigError, SinkError
from chute.sinks.snowflake_url import EXTRA_HINT, connect_args

try:
    import snowflake.connector
except ImportError:  # an optional dependency: a clear error, not a traceback
    raise ConfigError(
        "the Snowflake sink needs the snowflake-connector-python package", hint=EXTRA_HINT
    ) from None
from chute.sinks.contract import Capabilities, TableColumn
from chute.sinks.snowflake_stage import (
    STAGE,
    StageTable,
)
from chute.sinks.snowflake_store import SnowflakeCheckpointStore, SnowflakeRejectStore
from chute.sinks.snowflake_types import (
    DIALECT,
    chute_name,
    column_type,
    create_type,
    declared,
    stored_name,
    wrap,
)
from chute.sinks.snowflake_write import SnowflakeWriting
from chute.sinks.sql.after_commit import DdlAfterCommit
from chute.sinks.sql.sql_sink import SqlSink
from chute.urls import redact, scrub

_TOKEN = re.compile(r"\[chute:([0-9a-f]{32})\]")
_DDL = ("CREATE", "ALTER", "DROP", "COMMENT", "TRUNCATE", "GRANT", "USE")
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY")
#: the session's settings: UTC (TIMESTAMP_LTZ and conversions), and no telemetry
_SESSION = {"TIMEZONE": "UTC", "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}


class SnowflakeSink(DdlAfterCommit, SnowflakeWriting, SqlSink):
    schemes = ("snowflake",)
    dialect = DIALECT
    capabilities = Capabilities(
        parallel_writes=False,  # one writer: the warehouse runs each COPY in parallel
        names_ignore_case=True,  # unquoted names fold to upper case
        stores=Stores(exact_decimals=True, uuid=False),
        max_name_bytes=DIALECT.max_name_bytes,
        transactional_ddl=False,  # DDL commits; see swap_in
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._args = connect_args(url)  # a ConfigError for a URL that cannot work
        self._conn: Any = None
        #: "none", "wanted" (begin() was called, nothing written yet) or "open" (BEGIN sent)
        self._txn = "none"
        self._columns: dict[str, list[TableColumn]] = {}
        self._keys: dict[str, list[str]] = {}
        self._stages: dict[tuple[str, tuple[str, ...]], StageTable] = {}
        self._reset_pending()  # DdlAfterCommit

    @property
    def display_url(self) -> str:
        return redact(self.url)

    # -- connection ----------------------------------------------------------------------

    def connect(self) -> None:
        args = {**self._args, "paramstyle": "qmark"}
        args["session_parameters"] = {**_SESSION, **args.get("session_parameters", {})}
        if self.connect_timeout is not None:
            args.setdefault("login_timeout", int(max(self.connect_timeout, 1)))
        try:
            self._conn = snowflake.connector.connect(**args)
        except snowflake.connector.errors.Error as exc:
            error = wrap(exc, url=self.url)
            raise type(error)(
                f"cannot connect to {self.display_url}: {error}",
                hint="is the account right, and are the user, its credentials, the "
                "database, schema and warehouse?",
            ) from exc
        except Exception as exc:  # a key file that cannot be read, a bad option value
            message = scrub(str(exc), self.url)
            raise ConfigError(f"cannot connect to {self.display_url}: {message}") from exc
        self._run(f"CREATE TEMPORARY STAGE IF NOT EXISTS {STAGE}")

    def close(self) -> None:
        if self._conn is None:
            return
        self.rollback()
        for stage in self._stages.values():
            with contextlib.suppress(ChuteError):
                self._run(f"DROP TABLE IF EXISTS {self.q(stage.name)}")
        self._stages.clear()
        with contextlib.suppress(Exception):
            self._conn.close()
        self._conn = None

    # -- statements ----------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """One statement as it is, counted; its rows."""
        assert self._conn is not None, "connect() first"
        self.statements += 1
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql, list(params) if params else None)
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        except snowflake.connector.errors.Error as exc:
            raise wrap(exc, url=self.url) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in _DDL:
            return self._ddl(sql, params)
        if verb in _WRITES and self._txn == "wanted":
            self._run("BEGIN")
            self._txn = "open"
        return self._run(sql, params)

    def _ddl(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """DDL commits the open transaction in Snowflake: say so, then run it."""
        if self._txn == "open":
            self._run("COMMIT")
            self._txn = "wanted"
        return self._run(sql, params)

    # -- tables --------------------------------------------------------------------------

    def describe(self, table: str) -> list[TableColumn] | None:
        if table in self._columns:
            return self._columns[table]
        rows = self._run(
            "SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable, "
            "column_default, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = CURRENT_SCHEMA() AND table_name = ? ORDER BY ordinal_position",
            [stored_name(table)],
        )
        if not rows:
            return None
        self._columns[table] = [
            TableColumn(
                chute_name(name),
                column_type(data_type, precision, scale),
                declared(data_type, precision, scale, length),
                nullable=nullable == "YES",
                has_default=default is not None,
                max_length=int(length) if length is not None else None,
            )
            for name, data_type, precision, scale, nullable, default, length in rows
        ]
        return self._columns[table]

    def forget_table(self, table: str) -> None:
        self._columns.pop(table, None)
        self._keys.pop(table, None)

    def _create_sql(
        self, table: str, columns: list[tuple[str, str, bool]], key: list[str], token: str
    ) -> str:
        cols = [f"{self.q(n)} {t}" + ("" if null else " NOT NULL") for n, t, null in columns]
        if key:
            cols.append(f"PRIMARY KEY ({', '.join(self.q(k) for k in key)})")
        return f"CREATE TABLE {self.q(table)} ({', '.join(cols)}) COMMENT = '[chute:{token}]'"

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        spec = [(n, create_type(t), n not in key) for n, t in columns.items()]
        self._ddl(self._create_sql(table, spec, key, uuid.uuid4().hex))
        self.forget_table(table)

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        """Snowflake changes no column's type but a wider VARCHAR or NUMBER precision: the
        table is made again with the wider column, its rows cast, and swapped in."""
        target = create_type(new_type)
        tmp = f"_chute_rebuild_{uuid.uuid4().hex[:8]}"
        token = self.table_token(table) or uuid.uuid4().hex
        spec = [
            (n, target if n == column else create_type(t), n not in key) for n, t in columns.items()
        ]
        cast = "TO_VARIANT" if target == "VARIANT" else None
        values = ", ".join(
            (f"{cast}({self.q(n)})" if cast else f"CAST({self.q(n)} AS {target})")
            if n == column
            else self.q(n)
            for n in columns
        )
        names = ", ".join(self.q(n) for n in columns)
        self._ddl(self._create_sql(tmp, spec, key, token))
        self._run(f"INSERT INTO {self.q(tmp)} ({names}) SELECT {values} FROM {self.q(table)}")
        self._swap(table, tmp)

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        self._ddl(
            f"ALTER TABLE {self.q(table)} ADD COLUMN {self.q(column)} {create_type(new_type)}"
        )
        self.forget_table(table)

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        columns = self.describe(like) or []
        spec = [(c.name, c.declared, c.nullable) for c in columns]
        self._ddl(self._create_sql(table, spec, self.primary_key(like), uuid.uuid4().hex))
        self.forget_table(table)

    def _in_open_transaction(self) -> bool:
        return self._txn != "none"

    def _drop_now(self, table: str) -> None:
        self._run(f"DROP TABLE IF EXISTS {self.q(table)}")

    def primary_key(self, table: str) -> list[str]:
        if table not in self._keys:
            self._keys[table] = next(iter(self._constraints(table, "PRIMARY")), [])
        return self._keys[table]

    def unique_keys(self, table: str) -> list[list[str]]:
        return self._constraints(table, "PRIMARY") + self._constraints(table, "UNIQUE")

    def _constraints(self, table: str, kind: str) -> list[list[str]]:
        """The column sets of ``table``'s PRIMARY or UNIQUE keys (SHOW ... KEYS: column 4 is
        the column, 5 its place in the key, 6 the constraint)."""
        if self.describe(table) is None:
            return []
        rows = self._run(f"SHOW {kind} KEYS IN TABLE {self.q(table)}")
        keys: dict[str, list[tuple[int, str]]] = {}
        for row in rows:
            keys.setdefault(str(row[6]), []).append((int(row[5]), chute_name(str(row[4]))))
        return [[name for _, name in sorted(cols)] for cols in keys.values()]

    # -- table identity: a token in the table's comment ----------------------------------

    def _comment(self, table: str) -> str | None:
        rows = self._run(
            "SELECT comment FROM information_schema.tables WHERE table_schema = "
            "CURRENT_SCHEMA() AND table_name = ?",
            [stored_name(table)],
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def table_token(self, table: str) -> str | None:
        match = _TOKEN.search(self._comment(table) or "")
        return match.group(1) if match else None

    def mark_table(self, table: str) -> str | None:
        table = self._marked_table(table)
        token = self.table_token(table)
        if token is None and self.describe(table) is not None:
            token = uuid.uuid4().hex
            comment = f"{self._comment(table) or ''} [chute:{token}]".strip()
            self._ddl(f"COMMENT ON TABLE {self.q(table)} IS '{comment.replace(chr(39), '')}'")
        return token

    # -- transactions --------------------------------------------------------------------

    def begin(self) -> None:
        self._txn = "wanted"  # BEGIN goes with the first write (see the module docstring)

    def commit(self) -> None:
        was, self._txn = self._txn, "none"
        if was == "open":
            self._run("COMMIT")
        self._after_commit()

    def rollback(self) -> None:
        was, self._txn = self._txn, "none"
        self._reset_pending()
        if was == "open" and self._conn is not None:
            with contextlib.suppress(ChuteError):
                self._run("ROLLBACK")

    # -- staged loads --------------------------------------------------------------------
    def _swap(self, table: str, stage: str) -> None:
        q = self.q
        if self.describe(table) is None:
            self._ddl(f"ALTER TABLE {q(stage)} RENAME TO {q(table)}")
        else:
            try:
                self._ddl(f"ALTER TABLE {q(table)} SWAP WITH {q(stage)}")
            except SinkError:  # a server without SWAP WITH (the fakesnow stand-in)
                self._ddl(f"DROP TABLE {q(table)}")
                self._ddl(f"ALTER TABLE {q(stage)} RENAME TO {q(table)}")
            else:
                self._ddl(f"DROP TABLE IF EXISTS {q(stage)}")
        self.forget_table(table)
        self.forget_table(stage)

    # -- the stores ----------------------------------------------------------------------

    def checkpoint_store(self) -> SnowflakeCheckpointStore:
        return SnowflakeCheckpointStore(self)

    def reject_store(self, table: str) -> SnowflakeRejectStore:
        return SnowflakeRejectStore(self, table)


__all__ = ["SnowflakeSink"]
