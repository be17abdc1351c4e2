"""JSON: a file holding one array of objects, streamed element by element.

The array is never loaded whole: :class:`~chute.sources._json_split.ArraySplitter` cuts the
bytes into elements a block at a time, and each element is parsed like a JSON Lines record
(orjson; integers of any size exact).  Every element is a record read: an object is
stored, anything else (a number, an array, an empty object, invalid JSON) is rejected with
its record number, line and byte offset.  A file can be resumed at an element.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from chute.config import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS
from chute.errors import SourceError
from chute.sources._input import Input
from chute.sources._json_split import ArraySplitter, Elements
from chute.sources._records import records_to_batch, shape_problem
from chute.sources.base import (
    NO_DATA,
    BatchSize,
    Position,
    Reject,
    Sizes,
    SourceBatch,
    numbered,
)
from chute.sources.jsonl import parse_json, why_not_json

#: the smallest block read at once
MIN_BLOCK = 64 << 10


class JsonArraySource:
    numbers_from_text = False

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        encoding: str = "utf-8",
        batch_rows: int = DEFAULT_BATCH_ROWS,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        self._input = Input(source, encoding=encoding)
        self.name = self._input.name
        self.resumable = self._input.resumable
        self.is_stdin = self._input.is_stdin
        self.batch_size = BatchSize(batch_rows, batch_bytes)
        self.columns: list[str] = []
        self._known: set[str] = set()
        self._splitter = ArraySplitter(self._input)
        self._next_record = 1

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        from_start = self._next_record == 1
        while True:
            size = self.batch_size if sizes is None else sizes()
            found = self._splitter.next_block(max(size.bytes, MIN_BLOCK))
            if found is None:
                break
            rows = max(size.rows, 1)
            for lo in range(0, len(found.offsets), rows):
                yield self._batch(found, lo, min(lo + rows, len(found.offsets)))
        if from_start and self._next_record == 1:
            raise SourceError("no records: the array is empty", source=self.name)

    def _batch(self, found: Elements, lo: int, hi: int) -> SourceBatch:
        first = self._next_record
        self._next_record += hi - lo
        last = hi == len(found.offsets)
        batch = SourceBatch(
            data=NO_DATA,
            source=self.name,
            records=numbered(first, hi - lo),
            lines=found.lines[lo:hi],
            offsets=found.offsets[lo:hi],
            text=found.data,
            spans=found.spans[lo:hi],
            rows=hi - lo,
            after=Position(
                self.name,
                first + hi - lo,
                found.end_line if last else int(found.lines[hi]),
                found.end_offset if last else int(found.offsets[hi]),
            ),
        )
        long_ints = found.long_ints
        records: list[dict[str, Any]] = []
        keep: list[int] = []
        rejects: list[Reject] = []
        for i, (start, end) in enumerate(found.spans[lo:hi].tolist()):
            text = found.data[start:end]
            try:
                value = parse_json(text, long_ints=long_ints) if text else None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                rejects.append(batch.reject(i, *why_not_json(text, exc)))
                continue
            if not text:
                rejects.append(batch.reject(i, "parse", "invalid JSON (no value here)"))
                continue
            problem = shape_problem(value)
            if problem is not None:
                rejects.append(batch.reject(i, "shape", problem))
                continue
            assert isinstance(value, dict)
            records.append(value)
            keep.append(i)
            for key in value:
                if key not in self._known:
                    self._known.add(key)
                    self.columns.append(key)
        data = records_to_batch(records, self.columns)
        return batch.take(np.array(keep, dtype=np.int64), data, tuple(rejects))

    def fingerprint(self) -> str:
        return self._input.fingerprint()

    def resume(self, at: Position) -> None:
        """Go on reading at ``at``: the next batch starts with that element."""
        assert at.offset is not None and at.line is not None
        self._splitter.skip_to(at.offset, at.line)
        self._next_record = at.record

    def total_bytes(self) -> int | None:
        return self._input.raw_size

    def bytes_read(self) -> int:
        return self._input.raw_position()

    def close(self) -> None:
        self._input.close()
