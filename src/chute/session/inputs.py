"""What a session write takes, as one Arrow batch: dicts (or dataclasses, named tuples),
tuples with column names, Arrow tables and batches, and data frames (pandas, polars and any
other through the Arrow C stream interface, so neither is a dependency).

Values keep their types as in ``chute.load`` of an iterable: Arrow types the engine knows
pass as they are, narrower ones are widened exactly (int32 to int64, float32 to float64,
dictionaries decoded, timestamps to microseconds in UTC), and anything else (lists, structs,
binary, times) goes the way a Python value of a dict record goes (nested values as JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa

from chute.engine.columns import JSON_FIELD_META
from chute.errors import ConfigError
from chute.sources._records import column_from_values, records_to_batch
from chute.sources.base import Position, Reject, SourceBatch
from chute.sources.iterable import as_mapping

#: Arrow types that pass as they are
_KNOWN = (pa.int64(), pa.float64(), pa.bool_(), pa.string(), pa.date32())


def to_source_batch(records: object, columns: Sequence[str] | None, source: str) -> SourceBatch:
    """``records`` as one batch; records that are not records are rejects."""
    if isinstance(records, pa.RecordBatch):
        return _arrow(pa.Table.from_batches([records]), source)
    if isinstance(records, pa.Table):
        return _arrow(records, source)
    if hasattr(records, "__arrow_c_stream__"):  # polars, pandas >= 2.2, DuckDB relations
        return _arrow(pa.table(records), source)
    if type(records).__module__.split(".")[0] == "pandas":  # an older pandas
        return _arrow(pa.Table.from_pandas(records, preserve_index=False), source)
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
        raise ConfigError(
            f"cannot write a {type(records).__name__}: give a list of dicts, tuples with "
            "columns=[...], an Arrow table or batch, or a data frame"
        )
    items = list(records)
    if columns is not None:
        return _tuples(items, list(columns), source)
    return _dicts(items, source)


def _dicts(items: list[Any], source: str) -> SourceBatch:
    if set(map(type, items)) == {dict} and all(items):  # the common case, quickly
        names = dict.fromkeys(chain.from_iterable(items))
        data = records_to_batch(items, list(names))
        return SourceBatch(data, source, np.arange(1, len(items) + 1, dtype=np.int64))
    names = {}
    kept: list[Mapping[str, Any]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    for i, item in enumerate(items, 1):
        mapping = as_mapping(item)
        if not mapping:
            why = "an empty dict: no field to store"
            if mapping is None:
                why = f"expected a dict, found {type(item).__name__} (pass columns= for tuples)"
            rejects.append(Reject(Position(source, i), "shape", why, raw=repr(item)[:1000]))
            continue
        kept.append(mapping)
        numbers.append(i)
        names.update(dict.fromkeys(mapping))
    data = records_to_batch(kept, list(names))
    return SourceBatch(data, source, np.array(numbers, dtype=np.int64), rejects=tuple(rejects))


def _tuples(items: list[Any], columns: list[str], source: str) -> SourceBatch:
    if len(set(columns)) != len(columns):
        raise ConfigError(f"columns named twice: {columns}")
    kept: list[Sequence[Any]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    for i, item in enumerate(items, 1):
        if isinstance(item, (str, bytes, Mapping)) or not isinstance(item, Sequence):
            why = f"expected a tuple of {len(columns)} values, found {type(item).__name__}"
        elif len(item) != len(columns):
            why = f"{len(item)} values for {len(columns)} columns ({', '.join(columns)})"
        else:
            kept.append(item)
            numbers.append(i)
            continue
        rejects.append(Reject(Position(source, i), "shape", why, raw=repr(item)[:1000]))
    arrays = []
    fields = []
    for j, name in enumerate(columns):
        array, is_json = column_from_values([row[j] for row in kept])
        arrays.append(array)
        fields.append(pa.field(name, array.type, metadata=JSON_FIELD_META if is_json else None))
    data = pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
    return SourceBatch(data, source, np.array(numbers, dtype=np.int64), rejects=tuple(rejects))


def _arrow(table: pa.Table, source: str) -> SourceBatch:
    arrays = []
    fields = []
    for field, chunked in zip(table.schema, table.columns, strict=True):
        array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
        array, is_json = _normalize(field.name, array)
        arrays.append(array)
        meta = JSON_FIELD_META if is_json else field.metadata
        fields.append(pa.field(field.name, array.type, metadata=meta))
    data = pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
    numbers = np.arange(1, data.num_rows + 1, dtype=np.int64)
    return SourceBatch(data, source, numbers)


def _normalize(name: str, array: pa.Array) -> tuple[pa.Array, bool]:
    """``array`` in a type the engine knows, exactly; or as a Python value column."""
    t = array.type
    if pa.types.is_dictionary(t):
        return _normalize(name, array.dictionary_decode())
    if t in _KNOWN or pa.types.is_decimal128(t):
        return array, False
    try:
        if pa.types.is_integer(t):
            return array.cast(pa.int64()), False  # safe: a uint64 beyond int64 raises
        if pa.types.is_floating(t):
            return array.cast(pa.float64()), False  # exact
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return array.cast(pa.string()), False
        if pa.types.is_date64(t):
            return array.cast(pa.date32()), False  # safe: a time of day raises
        if pa.types.is_timestamp(t):
            return array.cast(pa.timestamp("us", tz="UTC" if t.tz else None)), False
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        if pa.types.is_timestamp(t):
            raise ConfigError(
                f"column {name!r}: {exc}",
                hint="timestamps are stored to the microsecond: round the column first",
            ) from None
    if pa.types.is_null(t):
        return pa.nulls(len(array), pa.string()), False
    return column_from_values(array.to_pylist())
