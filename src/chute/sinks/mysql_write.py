"""The write path of :class:`~chute.sinks.mysql.MysqlSink`: a batch into a table in a mode.

``LOAD DATA LOCAL`` of the batch (or multi-row ``INSERT`` where the server forbids it),
its warnings read and turned into a refusal; upsert and ignore through a temporary table
like the target and one ``INSERT ... SELECT ... ON DUPLICATE KEY UPDATE`` that counts the
keys it finds.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pymysql

from chute.errors import ConfigError
from chute.sinks.contract import Mode, WriteCounts
from chute.sinks.mysql_errors import LOCAL_INFILE_REFUSED, classify, warning_error
from chute.sinks.mysql_load import LoadPath, insert_values, load_batch

log = logging.getLogger("chute.sinks.mysql")


def q(name: str) -> str:
    """``name`` as a back-quoted MySQL identifier."""
    if "\x00" in name:
        raise ConfigError(f"column name {name!r} contains a NUL character")
    return "`" + name.replace("`", "``") + "`"


#: a batch of at most this many rows goes as multi-row INSERT statements straight into the
#: table (measured with benchmarks/indexer.py --db mariadb: a 150-row upsert in 5 round
#: trips instead of 9)
SMALL_WRITE_ROWS = 2_000


class MysqlWriting:
    """Writes batches over the sink's connection (``_cursor``, ``_query``)."""

    local_infile: bool
    _mariadb: bool
    notes: list[str]
    _max_packet: int

    def _cursor(self) -> Any:
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _path(self) -> LoadPath:
        return LoadPath(
            cursor=self._cursor,
            local_infile=self.local_infile,
            max_packet=self._max_packet,
        )

    def _load(self, table: str, batch: pa.RecordBatch, *, allowed: frozenset[int]) -> int:
        """Put ``batch`` into ``table``; return the rows stored.  Warnings other than
        ``allowed`` codes refuse the batch (:class:`RecordError`)."""
        if self.local_infile:
            try:
                stored, warnings = load_batch(self._path(), q(table), batch, local=True)
            except pymysql.MySQLError as exc:
                if exc.args and exc.args[0] in LOCAL_INFILE_REFUSED:
                    self._no_local_infile(exc)
                    return self._load(table, batch, allowed=allowed)
                raise wrap(exc) from exc
        else:
            try:
                stored, warnings = load_batch(self._path(), q(table), batch, local=False)
            except pymysql.MySQLError as exc:
                raise wrap(exc) from exc
        refused = [w for w in warnings if w[1] not in allowed]
        if refused:
            raise warning_error(refused)
        return stored

    def _no_local_infile(self, exc: pymysql.MySQLError) -> None:
        self.local_infile = False
        note = (
            f"the server does not allow LOAD DATA LOCAL ({exc.args[0]}): batches go as "
            "multi-row INSERT statements (slower); SET GLOBAL local_infile = 1 to allow it"
        )
        self.notes.append(note)
        log.warning(note)

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        n = batch.num_rows
        if n == 0:
            return WriteCounts()
        if n <= SMALL_WRITE_ROWS:
            return self._write_small(table, batch, mode, key)
        if mode is Mode.APPEND or (mode is Mode.REPLACE and not key):
            self._load(table, batch, allowed=frozenset())
            return WriteCounts(created=n)
        if mode is Mode.IGNORE and self.local_infile:
            # LOAD DATA LOCAL skips a duplicate key with warning 1062: the skipped rows
            created = self._load(table, batch, allowed=frozenset({1062}))
            return WriteCounts(created=created, skipped=n - created)
        stage = self._stage(table, batch)
        self._load(stage, batch, allowed=frozenset())
        try:
            return self._merge(table, stage, list(batch.schema.names), mode, key, n)
        finally:  # made anew for each batch: the table's columns may have widened since
            self._query(f"DROP TEMPORARY TABLE IF EXISTS {q(stage)}")

    def _write_small(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        """Multi-row ``INSERT`` straight into the table, upserts with ``ON DUPLICATE KEY
        UPDATE`` counting the keys it finds as :meth:`_merge` does: no temporary table and
        no ``LOAD DATA`` pipe, so a small write (a writer session's) is a few round trips."""
        n = batch.num_rows
        if mode is Mode.APPEND or (mode is Mode.REPLACE and not key):
            self._insert_values(table, batch, "")
            return WriteCounts(created=n)
        k = q(key[0])
        sets = [f"{k} = IF((@chute_found := @chute_found + 1) > 0, {k}, {k})"]
        alias = ""
        if mode is Mode.UPSERT:
            others = [q(c) for c in batch.schema.names if c not in key]
            if self._mariadb:
                sets += [f"{c} = VALUES({c})" for c in others]
            else:  # MySQL 8 deprecates VALUES() (a warning): a row alias instead
                alias = f" AS {_NEW}"
                sets += [f"{c} = {_NEW}.{c}" for c in others]
        self._query("SET @chute_found = 0")
        self._insert_values(table, batch, f"{alias} ON DUPLICATE KEY UPDATE {', '.join(sets)}")
        existing = int(self._query("SELECT @chute_found")[0][0])
        if mode is Mode.UPSERT:
            return WriteCounts(created=n - existing, updated=existing)
        return WriteCounts(created=n - existing, skipped=existing)

    def _insert_values(self, table: str, batch: pa.RecordBatch, suffix: str) -> None:
        try:
            _, warnings = insert_values(self._path(), q(table), batch, suffix)
        except pymysql.MySQLError as exc:
            raise wrap(exc) from exc
        if warnings:
            raise warning_error(warnings)

    def _stage(self, table: str, batch: pa.RecordBatch) -> str:
        """A temporary table like ``table`` as it is now (its types check the values as the
        target's would); temporary tables neither commit nor outlive the connection."""
        name = "_chute_tmp_" + hashlib.sha1(table.encode()).hexdigest()[:16]
        self._query(f"CREATE TEMPORARY TABLE IF NOT EXISTS {q(name)} LIKE {q(table)}")
        return name

    def _merge(
        self, table: str, stage: str, names: list[str], mode: Mode, key: list[str], n: int
    ) -> WriteCounts:
        cols = ", ".join(q(c) for c in names)
        # the stage's alias is a name no user table can have (a table named s would make
        # "s.id" ambiguous in the UPDATE clause)
        select = f"SELECT {', '.join(_NEW + '.' + q(c) for c in names)} FROM {q(stage)} {_NEW}"
        insert = f"INSERT INTO {q(table)} ({cols}) {select}"
        if mode is Mode.APPEND:
            self._query(insert)
            return WriteCounts(created=n if n >= 0 else self._count(stage))
        total = n if n >= 0 else self._count(stage)
        # every row whose key is already there runs the UPDATE clause once: it counts them
        # in a session variable when it meets them (exact under concurrent writers, no
        # locks taken ahead, and unchanged rows count as updated, which the affected-rows
        # 1/2/0 rule cannot tell from the inserted ones)
        k = f"{q(table)}.{q(key[0])}"
        sets = [f"{k} = IF((@chute_found := @chute_found + 1) > 0, {k}, {k})"]
        if mode is Mode.UPSERT:
            sets += [f"{q(table)}.{q(c)} = {_NEW}.{q(c)}" for c in names if c not in key]
        self._query("SET @chute_found = 0")
        self._query(f"{insert} ON DUPLICATE KEY UPDATE {', '.join(sets)}")
        existing = int(self._query("SELECT @chute_found")[0][0])
        if mode is Mode.UPSERT:
            return WriteCounts(created=total - existing, updated=existing)
        return WriteCounts(created=total - existing, skipped=existing)

    def _count(self, table: str) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM {q(table)}")[0][0])


#: the alias of the stage's rows in an INSERT ... SELECT (chute's names are reserved)
_NEW = "_chute_new"


def wrap(exc: pymysql.MySQLError) -> Exception:
    args = exc.args
    if args and isinstance(args[0], int):
        message = str(args[1]) if len(args) > 1 else ""
        return classify(args[0], message, lost="lost the database: ")
    return classify(2013, str(exc), lost="lost the database: ")
