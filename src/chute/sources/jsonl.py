"""JSON Lines: one JSON object per line, parsed with orjson; nested values become JSON."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import orjson

from chute.config import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS
from chute.errors import SourceError
from chute.sources._input import Input
from chute.sources._records import records_to_batch
from chute.sources._split import Chunk, RecordSplitter
from chute.sources.base import SourceBatch

_LONG_DIGITS = re.compile(rb"[0-9]{19}")


class JsonlSource:
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
        self._splitter = RecordSplitter(self._input, quote=None)
        self._batch_rows = batch_rows
        self._batch_bytes = batch_bytes
        self.columns: list[str] = []
        self._known: set[str] = set()

    def batches(self) -> Iterator[SourceBatch]:
        record = 1
        for chunk in self._splitter.chunks(max_rows=self._batch_rows, max_bytes=self._batch_bytes):
            records = self._parse(chunk)
            for rec in records:
                for key in rec:
                    if key not in self._known:
                        self._known.add(key)
                        self.columns.append(key)
            yield SourceBatch(
                data=records_to_batch(records, self.columns),
                source=self.name,
                first_record=record,
                lines=chunk.lines,
                start_offset=chunk.offset,
                end_offset=chunk.offset + len(chunk.data),
                nbytes=len(chunk.data),
            )
            record += len(records)

    def _parse(self, chunk: Chunk) -> list[dict[str, Any]]:
        records = []
        lines = chunk.data.split(b"\n")
        if not lines[-1]:
            lines.pop()
        long_ints = _LONG_DIGITS.search(chunk.data) is not None
        for i, line in enumerate(lines):
            try:
                if long_ints and _LONG_DIGITS.search(line):
                    value = json.loads(line)  # orjson reads integers past 64 bits as floats
                else:
                    value = orjson.loads(line)
            except (
                json.JSONDecodeError,
                UnicodeDecodeError,
            ) as exc:  # orjson's error is a subclass
                raise SourceError(
                    _why(line, exc), source=self.name, line=int(chunk.lines[i])
                ) from None
            if not isinstance(value, dict):
                raise SourceError(
                    f"expected a JSON object, found {type(value).__name__}",
                    source=self.name,
                    line=int(chunk.lines[i]),
                )
            records.append(value)
        return records

    def total_bytes(self) -> int | None:
        return self._input.raw_size

    def bytes_read(self) -> int:
        return self._input.raw_position()

    def close(self) -> None:
        self._input.close()


def _why(line: bytes, exc: ValueError) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes that are not valid utf-8"
    if isinstance(exc, json.JSONDecodeError):  # orjson's is a subclass
        return f"invalid JSON ({exc.msg} at character {exc.pos + 1})"
    return "invalid JSON"
