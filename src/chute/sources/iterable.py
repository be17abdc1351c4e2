"""Python iterables of dicts (or objects with ``_asdict``/dataclasses) as a source."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
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
        self.batch_size = BatchSize(batch_rows, 0)
        self.columns: list[str] = []
        self._known: set[str] = set()
        #: the bytes of a record as Python holds it (see _record_bytes), 0: not known yet
        self._record_bytes = 0

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        record = 1
        while True:
            items = self._take(self.batch_size if sizes is None else sizes())
            if not items:
                return
            if set(map(type, items)) == {dict} and all(items):  # non-empty dicts: no loop
                records: list[Mapping[str, Any]] = items
                keep = np.arange(record, record + len(items), dtype=np.int64)
                rejects: list[Reject] = []
                if not self._known.issuperset(chain.from_iterable(items)):
                    self._learn(items)
            else:
                records, keep, rejects = self._sorted(items, record)
            self._record_bytes = _record_bytes(records)
            yield SourceBatch(
                data=records_to_batch(records, self.columns),
                source=self.name,
                records=keep,
                rejects=tuple(rejects),
            )
            record += len(items)

    def _take(self, size: BatchSize) -> list[Any]:
        """The next batch's items: ``size.rows`` of them, fewer when the records seen so
        far say that many would take more than ``size.bytes``.  Before the first batch, a
        few records are read and measured, so that the first batch is cut by bytes too."""
        if size.bytes <= 0:
            return list(islice(self._records, size.rows))
        items: list[Any] = []
        if not self._record_bytes:
            items = list(islice(self._records, min(size.rows, SIZE_SAMPLE)))
            self._record_bytes = _record_bytes(items)
        rows = size.rows
        if self._record_bytes:
            rows = max(1, min(rows, size.bytes // self._record_bytes))
        items.extend(islice(self._records, max(0, rows - len(items))))
        return items

    def _sorted(
        self, items: list[Any], record: int
    ) -> tuple[list[Mapping[str, Any]], np.ndarray, list[Reject]]:
        """The records among ``items`` (numbered from ``record``), and the rejects."""
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
        self._learn(records)
        return records, np.array(keep, dtype=np.int64), rejects

    def _learn(self, records: list[Mapping[str, Any]]) -> None:
        """Add the fields not seen before, in the order they first appear."""
        for mapping in records:
            for key in mapping:
                if key not in self._known:
                    self._known.add(key)
                    self.columns.append(key)

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


#: records whose size is measured, spread over a batch
SIZE_SAMPLE = 8


def _record_bytes(records: Sequence[Any]) -> int:
    """About how many bytes a record takes as Python holds it (the mapping and its values;
    not what values share), from a few records spread over the batch (0: none to measure).
    A batch of Python records is cut by these bytes as a batch of text is cut by its text's."""
    step = max(1, len(records) // SIZE_SAMPLE)
    sample = [r for r in records[::step][:SIZE_SAMPLE] if isinstance(r, Mapping)]
    if not sample:
        return 0
    total = sum(sys.getsizeof(r) + sum(map(sys.getsizeof, r.values())) for r in sample)
    return max(1, total // len(sample))
