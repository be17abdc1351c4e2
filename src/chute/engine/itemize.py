"""Turning a batch as read into a batch to write (:func:`to_item`): converted to the
table's column types, with what cannot be stored set aside as rejects.  The reader stage
does it for a load, a writer session for each write."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine import columns as ct
from chute.engine.convert import Converter
from chute.engine.dedupe import keep_last, refuse_null_keys
from chute.engine.inflight import Item
from chute.engine.run import LoadRun
from chute.engine.schema_check import check_new_name
from chute.errors import ConfigError
from chute.sinks.contract import Mode
from chute.sinks.names import check_column_names
from chute.sources.base import SourceBatch


def to_item(run: LoadRun, batch: SourceBatch, converter: Converter) -> Item:
    """``batch`` converted to the table's types: records that cannot be stored set aside,
    new columns typed, null keys refused, and (upsert) the last record of each key kept."""
    options = run.options
    added = new_columns(run, batch, converter)
    data, widenings, refused = converter.convert(batch)
    rejects = list(batch.rejects)
    if refused:
        keep = np.array([i for i in range(batch.num_rows) if i not in refused], dtype=np.int64)
        as_read = batch.data.take(pa.array(sorted(refused))).to_pylist()
        for row, record in zip(sorted(refused), as_read, strict=True):
            why = refused[row]
            rejects.append(
                batch.reject(
                    row,
                    why.category,
                    why.message,
                    record=record,
                    column=why.column,
                    sqlstate=why.sqlstate,
                )
            )
        data = data.take(pa.array(keep))
        batch = batch.take(keep)
    if options.mode in (Mode.UPSERT, Mode.IGNORE):
        batch, data = refuse_null_keys(batch, data, run.key, options.mode, rejects)
    item = Item(batch.released(), data, widenings, added, rejects=rejects)
    if options.mode is Mode.UPSERT:
        deduped, rows = keep_last(data, run.key)
        if rows is not None:
            item.data, item.rows = deduped, rows
            item.superseded = data.num_rows - deduped.num_rows
    return item


def new_columns(
    run: LoadRun, batch: SourceBatch, converter: Converter
) -> dict[str, tuple[ct.ColumnType, str]]:
    """Columns of the batch the table lacks, with their types and where first seen."""
    capabilities = run.sink.capabilities
    added: dict[str, tuple[ct.ColumnType, str]] = {}
    for name in batch.data.schema.names:
        target = converter.rename.get(name, name)
        if target in converter.targets:
            continue
        if capabilities.names_ignore_case:
            where = batch.position(0).describe()
            check_new_name(name, converter.targets, table=run.target, where=where)
        if not (converter.may_widen or run.options.add_columns):
            raise ConfigError(
                f"{batch.position(0).describe()}: table {run.target} has no column {name!r}",
                hint="pass --add-columns to let chute add it",
            )
        check_column_names([name], capabilities.max_name_bytes, run.database)
        t = ct.infer(
            batch.data.schema.field(name),
            batch.data.column(name),
            numbers_from_text=run.source.numbers_from_text,
            stores=converter.stores,
        )
        column = batch.data.column(name)
        first = int(pc.index(pc.is_valid(column), True).as_py())
        converter.targets[name] = t
        added[name] = (t, batch.position(max(first, 0)).describe())
    return added
