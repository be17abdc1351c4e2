"""MySQL and MariaDB (``mysql://user:pw@host:port/db``, ``mariadb://...``) through PyMySQL.

Each batch is streamed to ``LOAD DATA LOCAL INFILE`` from memory (an ``os.pipe`` fed by a
thread; no file on disk), the fastest path the server has.  When the server or the URL
(``?local_infile=0``) does not allow it, batches go as multi-row ``INSERT`` statements
instead, with a note.  The session is strict (``STRICT_ALL_TABLES`` and friends), in UTC
(``time_zone = '+00:00'``) and takes ANSI double-quoted names.

Traps this sink closes (see :mod:`chute.sinks.mysql_errors` for the codes):

- ``LOAD DATA LOCAL`` turns refused values and duplicate keys into *warnings*, even in strict
  mode (``'12x'`` stored as 12, strings cut short, a duplicate skipped).  After each load
  the warnings are read; any warning refuses the piece (it is rolled back to its savepoint)
  and the engine isolates the record the warning names (``at row N``), or bisects.
- NULL travels as ``\\N``; an empty field is an empty string.
- MariaDB and MySQL have no time-zone-aware timestamp that covers every date: a zoned
  timestamp is stored in UTC in a ``DATETIME(6)`` column that carries the comment
  ``chute: timestamptz, UTC`` (so chute knows it again).
- The default collations compare case-insensitively and ignore trailing spaces, so ``'a'``
  and ``'A '`` would be one key.  Tables chute creates use the exact binary, no-pad collation
  (``utf8mb4_nopad_bin``; ``utf8mb4_0900_bin`` on MySQL 8): keys compare like PostgreSQL's.
  An existing table keeps its own collation, and with it its own idea of a duplicate.
- DDL commits the open transaction, so a staged load (``--atomic``, ``--mode replace``)
  publishes with one ``RENAME TABLE target TO old, stage TO target`` (atomic in the server),
  then drops the old table; ``capabilities.transactional_ddl`` is False.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa
import pymysql

from chute.coltypes import ColumnType, Kind, Stores
from chute.errors import ConfigError, SinkUnavailableError
from chute.sinks.contract import (
    Capabilities,
    Held,
    Holder,
    LoadLocks,
    Mode,
    Savepoints,
    TableColumn,
    WriteCounts,
)
from chute.sinks.mysql_errors import DIALECT
from chute.sinks.mysql_lock import NamedLock
from chute.sinks.mysql_schema import (
    MysqlColumn,
    column_ddl,
    mysql_columns,
    table_comment,
    table_options,
    unique_indexes,
)
from chute.sinks.mysql_write import MysqlWriting, q, wrap
from chute.sinks.sql.after_commit import DdlAfterCommit
from chute.sinks.sql.counted import Counted
from chute.sinks.sql.sql_sink import SqlSink
from chute.urls import redact, scrub

SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "ANSI_QUOTES,NO_ENGINE_SUBSTITUTION"
)
_TOKEN = re.compile(r"\[chute:([0-9a-f]{32})\]")
_SAVEPOINT = "chute_piece"


class MysqlSink(DdlAfterCommit, MysqlWriting, SqlSink, Savepoints, LoadLocks):
    schemes = ("mysql", "mariadb")
    dialect = DIALECT
    capabilities = Capabilities(
        parallel_writes=True,
        names_ignore_case=True,  # column names compare without regard to case
        stores=Stores(exact_decimals=True, uuid=False),
        max_name_bytes=DIALECT.max_name_bytes,
        transactional_ddl=DIALECT.transactional_ddl,  # see swap_in
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        bad = ConfigError(
            f"malformed MySQL URL {redact(url)!r}",
            hint="use mysql://user:password@host:port/database (or mariadb://...)",
        )
        try:
            parts = urlsplit(url)
            port = parts.port or 3306
        except ValueError:
            raise bad from None
        database = unquote(parts.path.lstrip("/"))
        if not database or "/" in database:
            raise bad
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self._params: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": port,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
            "database": database,
        }
        if "unix_socket" in params:
            self._params["unix_socket"] = params["unix_socket"]
        #: LOAD DATA LOCAL is tried unless the URL says ``local_infile=0``
        self.local_infile = params.get("local_infile", "1").lower() not in ("0", "false", "off")
        self.database = database
        #: what this sink had to do differently (e.g. no LOAD DATA LOCAL), for the report
        self.notes: list[str] = []
        self._conn: Any = None
        self._columns: dict[str, dict[str, MysqlColumn]] = {}
        self._mariadb = True
        self._in_transaction = False  # between begin() and commit()/rollback()
        self._reset_pending()  # DdlAfterCommit
        self._max_packet = 16 * 1024 * 1024

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def another(self) -> MysqlSink:
        other = MysqlSink(self.url)
        other.connect_timeout = self.connect_timeout
        other.local_infile = self.local_infile
        return other

    # -- connection ----------------------------------------------------------------------

    def connect(self) -> None:
        try:
            conn = pymysql.connect(
                **self._params,
                charset="utf8mb4",
                autocommit=True,
                local_infile=self.local_infile,
                connect_timeout=self.connect_timeout or 10,
                init_command=(
                    f"SET SESSION sql_mode = '{SQL_MODE}', time_zone = '+00:00', "
                    "max_error_count = 65535"
                ),
            )
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 2003
            message = scrub(str(exc.args[1] if len(exc.args) > 1 else exc), self.url)
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {message} ({code})",
                hint="is the server running, and are the user, password and database right?",
            ) from exc
        self._conn = conn
        version = str(self._query("SELECT VERSION()")[0][0])
        self._mariadb = "mariadb" in version.lower()
        self._max_packet = int(self._query("SELECT @@max_allowed_packet")[0][0])

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(pymysql.MySQLError, OSError):
                self._conn.close()
            self._conn = None

    def _cursor(self) -> Any:
        assert self._conn is not None, "connect() first"
        return Counted(self._conn.cursor(), self)

    def _query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self._cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
        except pymysql.MySQLError as exc:
            raise wrap(exc) from exc
        finally:
            cur.close()

    # -- Sink: SQL --------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) in the open transaction, or in one of its
        own when none is open."""
        if params:
            sql = self.dialect.params(sql)
            return self._query(sql, list(params))
        return self._query(sql)

    # -- Sink: tables -----------------------------------------------------------------------

    def _mysql_columns(self, table: str) -> dict[str, MysqlColumn]:
        if table not in self._columns:
            self._columns[table] = mysql_columns(self._query, table)
        return self._columns[table]

    def forget_table(self, table: str) -> None:
        self._columns.pop(table, None)

    def describe(self, table: str) -> list[TableColumn] | None:
        cols = self._mysql_columns(table)
        if not cols:
            del self._columns[table]
            return None
        return [c.table_column() for c in cols.values()]

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        cols = [column_ddl(q(n), t, key=n in key, keys=len(key)) for n, t in columns.items()]
        if key:
            cols.append(f"PRIMARY KEY ({', '.join(q(k) for k in key)})")
        token = uuid.uuid4().hex
        self._ddl(
            f"CREATE TABLE {q(table)} ({', '.join(cols)}) "
            f"{table_options(self._mariadb)} COMMENT = '[chute:{token}]'"
        )
        self._columns.pop(table, None)

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        old = columns.get(column)
        ddl = column_ddl(q(column), new_type, key=column in key, keys=len(key))
        self._ddl(f"ALTER TABLE {q(table)} MODIFY COLUMN {ddl}")
        if old is not None and old.kind is Kind.BOOLEAN and new_type.kind is Kind.TEXT:
            self._query(  # booleans were 1/0 (tinyint): keep the words that were read
                f"UPDATE {q(table)} SET {q(column)} = CASE {q(column)} WHEN '1' THEN 'true' "
                f"WHEN '0' THEN 'false' END"
            )
        self._columns.pop(table, None)

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        ddl = column_ddl(q(column), new_type, key=False, keys=0)
        self._ddl(f"ALTER TABLE {q(table)} ADD COLUMN {ddl}")
        self._columns.pop(table, None)

    def _ddl(self, sql: str) -> None:
        self._query(sql)

    def primary_key(self, table: str) -> list[str]:
        return next((cols for name, cols in self._indexes(table) if name == "PRIMARY"), [])

    def unique_keys(self, table: str) -> list[list[str]]:
        return [cols for _name, cols in self._indexes(table)]

    def _indexes(self, table: str) -> list[tuple[str, list[str]]]:
        return unique_indexes(self._query, table)

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        if batch.num_rows == 0:
            return []
        keys = batch.select(key).to_pylist()
        found: set[tuple[Any, ...]] = set()
        cols = ", ".join(q(k) for k in key)
        step = 1000
        for lo in range(0, len(keys), step):
            chunk = [tuple(r[k] for k in key) for r in keys[lo : lo + step]]
            marks = ", ".join("(" + ", ".join(["%s"] * len(key)) + ")" for _ in chunk)
            rows = self._query(
                f"SELECT {cols} FROM {q(table)} WHERE ({cols}) IN ({marks})",
                [v for r in chunk for v in r],
            )
            found.update(tuple(_norm(v) for v in r) for r in rows)
        return [i for i, r in enumerate(keys) if tuple(_norm(r[k]) for k in key) in found]

    # -- table identity: a token in the table's comment (kept by ALTER TABLE and RENAME)

    def table_token(self, table: str) -> str | None:
        match = _TOKEN.search(table_comment(self._query, table) or "")
        return match.group(1) if match else None

    def mark_table(self, table: str) -> str | None:
        table = self._marked_table(table)
        token = self.table_token(table)
        if token is None and self.describe(table) is not None:
            # a table made by someone else: its comment keeps what it was, with the token
            token = uuid.uuid4().hex
            comment = table_comment(self._query, table) or ""
            self._query(f"ALTER TABLE {q(table)} COMMENT = %s", [f"{comment} [chute:{token}]"])
        return token

    def lock_load(self, name: str, holder: Holder) -> Held:
        return NamedLock.take(self.another(), f"chute:{self.database}:{name}"[:64], holder)

    # -- transactions -----------------------------------------------------------------------

    def begin(self) -> None:
        self._query("START TRANSACTION")
        self._in_transaction = True

    def commit(self) -> None:
        self._in_transaction = False
        self._query("COMMIT")
        self._after_commit()

    def rollback(self) -> None:
        self._in_transaction = False
        self._reset_pending()
        if self._conn is not None:
            with contextlib.suppress(pymysql.MySQLError, OSError):
                self._conn.rollback()

    def savepoint(self) -> None:
        self._query(f"SAVEPOINT {_SAVEPOINT}")

    def rollback_to_savepoint(self) -> None:
        self._query(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        self._query(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    def release_savepoint(self) -> None:
        self._query(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    # -- writing ----------------------------------------------------------------------------

    # -- staged loads -----------------------------------------------------------------------

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        self._ddl(f"CREATE TABLE {q(table)} LIKE {q(like)}")
        # the copy took the comment, token and all: it is a table of its own
        self._query(f"ALTER TABLE {q(table)} COMMENT = %s", [f"[chute:{uuid.uuid4().hex}]"])
        self._columns.pop(table, None)

    def merge_from(
        self, table: str, stage: str, columns: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        return self._merge(table, stage, columns, mode, key, -1)

    def _in_open_transaction(self) -> bool:
        return self._in_transaction

    def _swap(self, table: str, stage: str) -> None:
        if self.describe(table) is not None:
            old = "_chute_old_" + hashlib.sha1(table.encode()).hexdigest()[:16]
            self._query(f"DROP TABLE IF EXISTS {q(old)}")
            self._query(f"RENAME TABLE {q(table)} TO {q(old)}, {q(stage)} TO {q(table)}")
            self._query(f"DROP TABLE {q(old)}")
        else:
            self._query(f"RENAME TABLE {q(stage)} TO {q(table)}")
        self._columns.pop(table, None)
        self._columns.pop(stage, None)

    def _drop_now(self, table: str) -> None:
        self._query(f"DROP TABLE IF EXISTS {q(table)}")


def _norm(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["MysqlSink"]
