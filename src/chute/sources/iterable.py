"""Python iterables of dicts (or objects with ``_asdict``/dataclasses) as a source."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from chute.config import DEFAULT_BATCH_ROWS
from chute.errors import SourceError
from chute.sources._records import records_to_batch
from chute.sources.base import SourceBatch


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
        self._batch_rows = batch_rows
        self.columns: list[str] = []
        self._known: set[str] = set()

    def batches(self) -> Iterator[SourceBatch]:
        record = 1
        while True:
            chunk = [
                self._as_mapping(r, record + i)
                for i, r in enumerate(islice(self._records, self._batch_rows))
            ]
            if not chunk:
                return
            for rec in chunk:
                for key in rec:
                    if key not in self._known:
                        self._known.add(key)
                        self.columns.append(key)
            yield SourceBatch(
                data=records_to_batch(chunk, self.columns), source=self.name, first_record=record
            )
            record += len(chunk)

    def _as_mapping(self, record: Any, number: int) -> Mapping[str, Any]:
        if isinstance(record, Mapping):
            return record
        if dataclasses.is_dataclass(record) and not isinstance(record, type):
            return dataclasses.asdict(record)
        if hasattr(record, "_asdict"):
            return dict(record._asdict())
        raise SourceError(
            f"expected a dict, found {type(record).__name__}",
            source=f"{self.name}, record {number}",
        )

    def total_bytes(self) -> int | None:
        return None

    def bytes_read(self) -> int:
        return 0

    def close(self) -> None:
        pass
