"""Python iterables of dicts (or objects with ``_asdict``/dataclasses) as a source."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

import numpy as np

from chute.config import DEFAULT_BATCH_ROWS
from chute.sources._records import records_to_batch
from chute.sources.base import BatchSize, Position, Reject, Sizes, SourceBatch


class IterableSource:
    numbers_from_text = False
    resumable = False

    def __init__(
        self,
        records: Iterable[Any],
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        name: str = "<iterable>",
    ) -> None:
        self.name = name
        self._records = iter(records)
        self.batch_size = BatchSize(batch_rows, 0)  # rows only: records are not bytes yet
        self.columns: list[str] = []
        self._known: set[str] = set()

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        record = 1
        while True:
            size = self.batch_size if sizes is None else sizes()
            items = list(islice(self._records, size.rows))
            if not items:
                return
            records = []
            keep = []
            rejects = []
            for i, item in enumerate(items):
                mapping = as_mapping(item)
                if not mapping:
                    why = "an empty dict: no field to store"
                    if mapping is None:
                        why = f"expected a dict, found {type(item).__name__}"
                    rejects.append(
                        Reject(Position(self.name, record + i), "shape", why, raw=repr(item)[:1000])
                    )
                    continue
                records.append(mapping)
                keep.append(record + i)
                for key in mapping:
                    if key not in self._known:
                        self._known.add(key)
                        self.columns.append(key)
            yield SourceBatch(
                data=records_to_batch(records, self.columns),
                source=self.name,
                records=np.array(keep, dtype=np.int64),
                rejects=tuple(rejects),
            )
            record += len(items)

    def total_bytes(self) -> int | None:
        return None

    def bytes_read(self) -> int:
        return 0

    def close(self) -> None:
        pass


def as_mapping(record: Any) -> Mapping[str, Any] | None:
    """A record as a mapping: a dict, a dataclass, a named tuple (None: not a record)."""
    if isinstance(record, Mapping):
        return record
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    if hasattr(record, "_asdict"):
        return dict(record._asdict())
    return None
