"""Records and their keys in upsert and ignore mode: a NULL key matches nothing, so such
records are refused; within one batch only the last record of each key is kept (upsert: the
last one wins)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.sinks.contract import Mode
from chute.sources.base import Reject, SourceBatch

_ROW = "__chute_row"


def null_keys(batch: pa.RecordBatch, key: list[str]) -> dict[int, str]:
    """The rows of ``batch`` with a NULL in a key column, each with the first such column.

    A key column missing from the batch is NULL in every row."""
    found: dict[int, str] = {}
    n = batch.num_rows
    names = set(batch.schema.names)
    for k in key:
        rows: list[int]
        if k not in names:
            rows = list(range(n))
        else:
            column = batch.column(k)
            if not column.null_count:
                continue
            rows = np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False)).tolist()
        for row in rows:
            found.setdefault(int(row), k)
    return found


def refuse_null_keys(
    batch: SourceBatch, data: pa.RecordBatch, key: list[str], mode: Mode, rejects: list[Reject]
) -> tuple[SourceBatch, pa.RecordBatch]:
    """``batch`` (as read) and ``data`` (converted) without the rows whose key has a NULL;
    a reject (kind ``key``) for each of them is added to ``rejects``."""
    found = null_keys(data, key)
    if not found:
        return batch, data
    rows = sorted(found)
    for row, record in zip(rows, batch.data.take(pa.array(rows)).to_pylist(), strict=True):
        rejects.append(
            batch.reject(
                row,
                "key",
                f"key column {found[row]!r} is NULL: mode {mode.value} matches records by "
                "their key, and a NULL key matches nothing",
                record=record,
                column=found[row],
            )
        )
    keep = np.setdiff1d(np.arange(batch.num_rows, dtype=np.int64), rows)
    return batch.take(keep), data.take(pa.array(keep))


def keep_last(batch: pa.RecordBatch, key: list[str]) -> tuple[pa.RecordBatch, np.ndarray | None]:
    """The batch without earlier duplicates of a key, and the source row of each kept row.

    Returns ``(batch, None)`` when every key is already unique.  Kept rows stay in input
    order.  Keys must not be NULL (see :func:`null_keys`): NULLs would be taken as equal.
    """
    n = batch.num_rows
    if n < 2 or not key:
        return batch, None
    if len(key) == 1 and pc.count_distinct(batch.column(key[0])).as_py() == n:
        return batch, None  # the common case, at a fraction of the grouping's cost
    table = pa.Table.from_arrays(
        [batch.column(k) for k in key] + [pa.array(np.arange(n))], names=[*key, _ROW]
    )
    last = table.group_by(key, use_threads=False).aggregate([(_ROW, "max")])
    if last.num_rows == n:
        return batch, None
    rows = pc.sort_indices(last[f"{_ROW}_max"])
    keep = pc.take(last[f"{_ROW}_max"], rows).combine_chunks()
    return batch.take(keep), keep.to_numpy()
