"""The write path of :class:`~chute.sinks.snowflake.SnowflakeSink`: a batch into a table in
a mode, counted by Snowflake's own DML results.

A batch is checked, PUT and copied into its stage table (:mod:`.snowflake_stage`), then
moved into the target in the batch's transaction:

- append: ``INSERT INTO t SELECT ... FROM stage`` ("number of rows inserted"); into a table
  that declares a primary key, one query first refuses a batch that repeats a key or holds
  one already stored (Snowflake does not enforce primary keys: chute does);
- upsert: ``UPDATE t ... FROM stage`` ("number of rows updated"), then
  ``INSERT ... WHERE NOT EXISTS`` ("number of rows inserted");
- ignore: the INSERT alone, keeping the first record of a key repeated in the batch
  (``QUALIFY ROW_NUMBER() ... = 1`` by the row's place); the others are skipped.

Not a MERGE: the fakesnow stand-in cannot run one inside a transaction, and the checkpoint
commits in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from chute.errors import RecordError, Refusal, SinkError
from chute.sinks.contract import Mode, TableColumn, WriteCounts
from chute.sinks.snowflake_stage import (
    StageTable,
    check,
    load_into_stage,
    new_stage_name,
    stage_table_ddl,
)
from chute.sinks.snowflake_types import DUPLICATE, SEMI_STRUCTURED


class SnowflakeWriting:
    """Writes batches over the sink's connection (``execute``, ``_run``, ``_ddl``)."""

    _stages: dict[tuple[str, tuple[str, ...]], StageTable]
    _txn: str

    if TYPE_CHECKING:  # given by SnowflakeSink

        def q(self, name: str) -> str: ...

        def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

        def _run(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

        def _ddl(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

        def describe(self, table: str) -> list[TableColumn] | None: ...

        def primary_key(self, table: str) -> list[str]: ...

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        n = batch.num_rows
        if n == 0:
            return WriteCounts()
        columns = self._batch_columns(table, list(batch.schema.names))
        check(batch, columns)
        if self._txn == "open" and _signature(table, columns) not in self._stages:
            # making a stage table now would commit the open transaction (DDL commits)
            return self._write_values(table, batch, columns, mode, key)
        stage = self._stage_table(table, columns)
        loaded = load_into_stage(self.execute, batch, stage.name)
        if loaded != n:  # a file skipped (load history) or cut short: never count blindly
            raise SinkError(f"COPY INTO the stage table loaded {loaded} of the batch's {n} rows")
        source = dict(zip([c.name for c in columns], stage.select("s"), strict=True))
        counts = self._merge(table, f"{self.q(stage.name)} s", source, mode, key, n, "s.R")
        self.execute(f"DELETE FROM {self.q(stage.name)}")
        return counts

    def _batch_columns(self, table: str, names: list[str]) -> list[TableColumn]:
        """The target's columns for the batch's names, in the batch's order."""
        have = self.describe(table) or []
        by_name = {c.name: c for c in have}
        by_folded = {c.name.lower(): c for c in have}
        try:
            return [by_name.get(n) or by_folded[n.lower()] for n in names]
        except KeyError as exc:
            raise SinkError(f"table {table} has no column {exc.args[0]!r}") from None

    def _write_values(
        self,
        table: str,
        batch: pa.RecordBatch,
        columns: list[TableColumn],
        mode: Mode,
        key: list[str],
    ) -> WriteCounts:
        """``batch`` as bound ``VALUES`` (each value as text, cast by Snowflake's own text
        input to its column's type): for a write inside an open transaction into a table
        that has no stage table yet (a writer session's second table), which a stage
        table's DDL would commit."""
        n = batch.num_rows
        texts = [_texts(batch.column(i)) for i in range(batch.num_columns)]
        marks = ", ".join("?" * len(columns))
        rows = ", ".join(f"({marks}, {r})" for r in range(n))
        aliases = ", ".join([*(f"C{i}" for i in range(len(columns))), "R"])
        relation = f"(VALUES {rows}) AS s ({aliases})"
        params = [texts[i][r] for r in range(n) for i in range(len(columns))]
        source = {c.name: _cast(f"s.C{i}", c.declared) for i, c in enumerate(columns)}
        return self._merge(table, relation, source, mode, key, n, "s.R", params)

    def _stage_table(self, table: str, columns: list[TableColumn]) -> StageTable:
        signature = _signature(table, columns)
        stage = self._stages.get(signature)
        if stage is None:
            stage = StageTable(new_stage_name(), columns)
            self._ddl(stage_table_ddl(stage.name, columns))
            self._stages[signature] = stage
        return stage

    def _refuse_duplicates(
        self, table: str, relation: str, source: dict[str, str], params: Sequence[Any] = ()
    ) -> None:
        """Snowflake stores a repeated primary key; chute refuses it, for a table that
        declares one (one query)."""
        q = self.q
        key = {k: source[k] for k in self.primary_key(table) if k in source}
        if not key:
            return
        cols = ", ".join(key.values())
        match = " AND ".join(f"t.{q(k)} = {v}" for k, v in key.items())
        s = relation
        sql = (
            f"SELECT (SELECT count(*) FROM {s}) - (SELECT count(*) FROM (SELECT DISTINCT "
            f"{cols} FROM {s})), (SELECT count(*) FROM {s} WHERE EXISTS (SELECT 1 FROM "
            f"{q(table)} t WHERE {match}))"
        )
        ((repeated, stored),) = self._run(sql, _bound(sql, relation, params))
        if repeated or stored:
            raise RecordError(
                f"duplicate key value violates the primary key ({', '.join(key)}) of {table}",
                sqlstate=DUPLICATE,
                refusal=Refusal.DUPLICATE_KEY,
            )

    def _merge(
        self,
        table: str,
        relation: str,
        source: dict[str, str],
        mode: Mode,
        key: list[str],
        n: int,
        order: str | None = None,
        params: Sequence[Any] = (),
    ) -> WriteCounts:
        """Move the rows of ``relation`` (alias ``s``; ``source``: column -> expression) into
        ``table`` in ``mode``, counted by Snowflake's own DML results; ``order``: the
        expression of the rows' order (ignore keeps the first of a repeated key);
        ``params``: what ``relation``'s marks are bound to, each time it occurs."""
        q = self.q

        def run(sql: str, *, write: bool = True) -> list[tuple[Any, ...]]:
            bound = _bound(sql, relation, params)
            return self.execute(sql, bound) if write else self._run(sql, bound)

        cols = ", ".join(q(c) for c in source)
        rows = f"SELECT {', '.join(source.values())} FROM {relation}"
        if mode is Mode.APPEND:
            self._refuse_duplicates(table, relation, source, params)
            return WriteCounts(created=_count(run(f"INSERT INTO {q(table)} ({cols}) {rows}")))
        match = " AND ".join(f"t.{q(k)} = {source[k]}" for k in key)
        updated = 0
        if mode is Mode.UPSERT:
            others = [c for c in source if c not in key]
            if others:
                sets = ", ".join(f"{q(c)} = {source[c]}" for c in others)
                found = run(f"UPDATE {q(table)} t SET {sets} FROM {relation} WHERE {match}")
            else:
                found = run(
                    f"SELECT count(*) FROM {relation} WHERE EXISTS "
                    f"(SELECT 1 FROM {q(table)} t WHERE {match})",
                    write=False,
                )
            updated = _count(found)
        first = ""
        if mode is Mode.IGNORE and order is not None:
            keys = ", ".join(source[k] for k in key)
            first = f" QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) = 1"
        created = _count(
            run(
                f"INSERT INTO {q(table)} ({cols}) {rows} WHERE NOT EXISTS "
                f"(SELECT 1 FROM {q(table)} t WHERE {match}){first}"
            )
        )
        skipped = n - created if mode is Mode.IGNORE else 0
        return WriteCounts(created=created, updated=updated, skipped=skipped)

    def merge_from(
        self, table: str, stage: str, columns: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        (n,) = self._run(f"SELECT count(*) FROM {self.q(stage)}")[0]
        source = {c: f"s.{self.q(c)}" for c in columns}
        return self._merge(table, f"{self.q(stage)} s", source, mode, key, int(n))

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        keys = [tuple(r[k] for k in key) for r in batch.select(key).to_pylist()]
        cols = ", ".join(self.q(k) for k in key)
        one = "(" + ", ".join("?" * len(key)) + ")"
        found: set[tuple[Any, ...]] = set()
        step = 1000
        for lo in range(0, len(keys), step):
            chunk = keys[lo : lo + step]
            rows = self._run(
                f"SELECT {cols} FROM {self.q(table)} WHERE ({cols}) IN "
                f"({', '.join([one] * len(chunk))})",
                [v for k in chunk for v in k],
            )
            found.update(tuple(r) for r in rows)
        return [i for i, k in enumerate(keys) if k in found]


def _count(rows: list[tuple[Any, ...]]) -> int:
    """The first number of a DML result ("number of rows inserted", "... updated")."""
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0


def _signature(table: str, columns: list[TableColumn]) -> tuple[str, tuple[str, ...]]:
    return table, tuple(f"{c.name}:{c.declared}" for c in columns)


def _bound(sql: str, relation: str, params: Sequence[Any]) -> list[Any]:
    """``params`` once for each time ``relation`` occurs in ``sql``."""
    return list(params) * sql.count(relation) if params else []


def _texts(values: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """A column's values as Snowflake's text input reads them (ISO dates and times, an
    instant with its zone, JSON as it is)."""
    if pa.types.is_timestamp(values.type) and values.type.tz is not None:
        values = pc.cast(values, pa.timestamp(values.type.unit))  # UTC, marked with Z below
        texts = pc.cast(values, pa.string()).to_pylist()
        return [None if v is None else v.replace(" ", "T", 1) + "Z" for v in texts]
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return list(values.to_pylist())
    return list(pc.cast(values, pa.string()).to_pylist())


def _cast(expression: str, declared: str) -> str:
    """``expression`` (text) as a value of the ``declared`` type."""
    base = declared.split("(", 1)[0].upper()
    if base in SEMI_STRUCTURED:
        return f"PARSE_JSON({expression})"
    if base in ("VARCHAR", "TEXT", "STRING"):
        return expression
    return f"CAST({expression} AS {declared})"
