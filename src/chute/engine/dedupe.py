"""Within one batch, keep only the last record of each key (upsert: the last one wins)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ROW = "__chute_row"


def keep_last(batch: pa.RecordBatch, key: list[str]) -> tuple[pa.RecordBatch, np.ndarray | None]:
    """The batch without earlier duplicates of a key, and the source row of each kept row.

    Returns ``(batch, None)`` when every key is already unique.  Kept rows stay in input
    order.
    """
    n = batch.num_rows
    if n < 2 or not key:
        return batch, None
    table = pa.Table.from_arrays(
        [batch.column(k) for k in key] + [pa.array(np.arange(n))], names=[*key, _ROW]
    )
    last = table.group_by(key, use_threads=False).aggregate([(_ROW, "max")])
    if last.num_rows == n:
        return batch, None
    rows = pc.sort_indices(last[f"{_ROW}_max"])
    keep = pc.take(last[f"{_ROW}_max"], rows).combine_chunks()
    return batch.take(keep), keep.to_numpy()
