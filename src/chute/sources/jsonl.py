"""JSON Lines: one JSON object per line, parsed with orjson; nested values become JSON."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import orjson

from chute.config import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS
from chute.errors import SourceError
from chute.sources._file import TextFileSource
from chute.sources._records import records_to_batch, shape_problem
from chute.sources._split import Chunk
from chute.sources.base import REJECTS_SUFFIX, Reject, Sizes, SourceBatch

_LONG_DIGITS = re.compile(rb"[0-9]{19}")
#: said of a line holding an array
ARRAY_ON_A_LINE = (
    "a line is one record, so an array is not split into records; a file that is one JSON "
    "array of objects loads with --format json"
)


class JsonlSource(TextFileSource):
    numbers_from_text = False

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        encoding: str = "utf-8",
        batch_rows: int = DEFAULT_BATCH_ROWS,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        super().__init__(
            source, encoding=encoding, quote=None, batch_rows=batch_rows, batch_bytes=batch_bytes
        )
        self.columns: list[str] = []
        self._known: set[str] = set()
        #: a reject file of an earlier load: each line's "record" is what to load
        self._unwrap = self.name.endswith(REJECTS_SUFFIX)

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        lines = 0
        for chunk, batch in self._chunks(sizes):
            lines += chunk.rows
            records, keep, rejects = self._parse(chunk, batch)
            for rec in records:
                for key in rec:
                    if key not in self._known:
                        self._known.add(key)
                        self.columns.append(key)
            data = records_to_batch(records, self.columns)
            if rejects:
                yield batch.take(np.array(keep, dtype=np.int64), data, tuple(rejects))
            else:
                yield replace(batch, data=data)
        if not lines and self._first_record == 1:
            raise SourceError(
                "no records: the input is empty or holds only blank lines", source=self.name
            )

    def _parse(
        self, chunk: Chunk, batch: SourceBatch
    ) -> tuple[list[dict[str, Any]], list[int], list[Reject]]:
        records = []
        keep = []
        rejects = []
        lines = chunk.data.split(b"\n")
        if not lines[-1]:
            lines.pop()
        long_ints = _LONG_DIGITS.search(chunk.data) is not None
        for i, line in enumerate(lines):
            try:
                value = parse_json(line, long_ints=long_ints)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # orjson's: a subclass
                rejects.append(batch.reject(i, *why_not_json(line, exc)))
                continue
            problem = shape_problem(value)
            if isinstance(value, list):
                problem = f"{problem} ({ARRAY_ON_A_LINE})"
            if problem is not None:
                rejects.append(batch.reject(i, "shape", problem))
                continue
            if self._unwrap:
                inner = value.get("record")
                if not isinstance(inner, dict) or not inner:
                    rejects.append(
                        batch.reject(
                            i,
                            "shape",
                            'this reject has no "record" object to load; write the '
                            "fixed record there",
                        )
                    )
                    continue
                value = inner
            records.append(value)
            keep.append(i)
        return records, keep, rejects


def parse_json(text: bytes, *, long_ints: bool = True) -> Any:
    """One JSON value; integers of any size keep every digit.  orjson reads integers past
    64 bits as floats, so text that may hold one goes to the standard library, which is told
    to refuse what orjson refuses (NaN, Infinity, 1e999)."""
    if long_ints and _LONG_DIGITS.search(text):
        return json.loads(text, parse_constant=_refuse, parse_float=_finite)
    return orjson.loads(text)


def _refuse(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise json.JSONDecodeError("number is infinity when parsed as double", text, 0)
    return value


def why_not_json(line: bytes, exc: ValueError) -> tuple[str, str]:
    """The kind of reject and its message for text that is not one JSON value."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "decode", "bytes that are not valid utf-8"
    if isinstance(exc, json.JSONDecodeError):  # orjson's is a subclass
        return "parse", f"invalid JSON ({exc.msg} at character {exc.pos + 1})"
    return "parse", "invalid JSON"
