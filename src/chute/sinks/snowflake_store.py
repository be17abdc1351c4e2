"""The checkpoint and reject stores on Snowflake.

Both are tables in the target schema, written in the batch's own transaction with plain
DML (a MERGE would do as one statement on Snowflake, but the fakesnow stand-in cannot run a
MERGE inside a transaction, and the checkpoint must commit with its batch): a checkpoint is
an UPDATE of its row, or an INSERT the first time; rejects are one multi-row
``INSERT ... SELECT ... FROM VALUES`` with bound parameters (few rows, no stage table: a
stage table's DDL would commit the open transaction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from chute.coltypes import Kind
from chute.sinks.contract import REJECT_COLUMNS, Checkpoint
from chute.sinks.sql.sql_sink import (
    _CHECKPOINT_COLUMNS,
    CHECKPOINTS_TABLE,
    SqlCheckpointStore,
    SqlRejectStore,
    _now,
)

if TYPE_CHECKING:
    from chute.sinks.snowflake import SnowflakeSink

#: rows of rejects per INSERT (each row binds one parameter per column)
_REJECTS_PER_INSERT = 500


class SnowflakeCheckpointStore(SqlCheckpointStore):
    sink: SnowflakeSink

    def save(self, load_key: str, checkpoint: Checkpoint) -> None:
        names = [*_CHECKPOINT_COLUMNS, "saved_at"]
        values = [*(getattr(checkpoint, c) for c in _CHECKPOINT_COLUMNS), _now()]
        sets = ", ".join(f"{n} = ?" for n in names)
        rows = self.sink.execute(
            f"UPDATE {CHECKPOINTS_TABLE} SET {sets} WHERE load_key = ?", [*values, load_key]
        )
        if rows and rows[0][0]:
            return
        marks = ", ".join("?" * (len(names) + 1))
        self.sink.execute(
            f"INSERT INTO {CHECKPOINTS_TABLE} (load_key, {', '.join(names)}) VALUES ({marks})",
            [load_key, *values],
        )

    def load(self, load_key: str) -> Checkpoint | None:
        found = super().load(load_key)
        if found is not None:  # NUMBER(38,0) comes back as int; next_line may be None
            found.table_created = int(found.table_created)
        return found


class SnowflakeRejectStore(SqlRejectStore):
    sink: SnowflakeSink

    def append(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        q = self.sink.q
        names = list(REJECT_COLUMNS)
        exprs = [
            f"PARSE_JSON(C{i})" if REJECT_COLUMNS[n].kind is Kind.JSON else f"C{i}"
            for i, n in enumerate(names)
        ]
        aliases = ", ".join(f"C{i}" for i in range(len(names)))
        rows = batch.select(names).to_pylist()
        for lo in range(0, len(rows), _REJECTS_PER_INSERT):
            chunk = rows[lo : lo + _REJECTS_PER_INSERT]
            row = "(" + ", ".join("?" * len(names)) + ")"
            params: list[Any] = [r[n] for r in chunk for n in names]
            self.sink.execute(
                f"INSERT INTO {q(self.table)} ({', '.join(q(n) for n in names)}) "
                f"SELECT {', '.join(exprs)} FROM (VALUES {', '.join([row] * len(chunk))}) "
                f"AS v ({aliases})",
                params,
            )
