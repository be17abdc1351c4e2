"""What every source gives the engine: Arrow record batches that know where they came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Position:
    """Where one record is in its source: 1-based record number, line and byte offset."""

    source: str
    record: int
    line: int | None = None
    offset: int | None = None

    def describe(self) -> str:
        if self.line is not None:
            return f"{self.source}, line {self.line}"
        return f"{self.source}, record {self.record}"


_NO_DATA = pa.RecordBatch.from_pylist([])


@dataclass(frozen=True)
class SourceBatch:
    """A batch of records as read, with the positions needed to name any one of them.

    ``first_record`` is the 1-based number of the batch's first record in the source.
    ``lines`` holds each record's first line number when the source has lines.
    ``start_offset``/``end_offset`` are byte offsets of the batch in the (decoded) input.
    """

    data: pa.RecordBatch
    source: str
    first_record: int
    lines: np.ndarray | None = None
    start_offset: int | None = None
    end_offset: int | None = None
    nbytes: int = 0
    rows: int = -1  # set from ``data``; kept when the data is released

    def __post_init__(self) -> None:
        if self.rows < 0:
            object.__setattr__(self, "rows", int(self.data.num_rows))

    @property
    def num_rows(self) -> int:
        return self.rows

    def released(self) -> SourceBatch:
        """The same positions without the data, so the raw values can be freed."""
        return replace(self, data=_NO_DATA)

    def position(self, row: int) -> Position:
        """The position of the batch's ``row``-th record (0-based)."""
        line = int(self.lines[row]) if self.lines is not None else None
        return Position(
            self.source, self.first_record + row, line, self.start_offset if row == 0 else None
        )


class Source(Protocol):
    """A readable input.  Sources are registered by format in :mod:`chute.sources`."""

    #: A name for messages and reports (a path, ``<stdin>``, ``<iterable>``).
    name: str
    #: True when every value arrives as text (CSV), so numbers are inferred from strings.
    numbers_from_text: bool

    def batches(self) -> Iterator[SourceBatch]:
        """Yield the input's records in order, in batches."""
        ...

    def total_bytes(self) -> int | None:
        """The size of the input for progress, when known."""
        ...

    def bytes_read(self) -> int:
        """How far reading has got, in the same unit as :meth:`total_bytes`."""
        ...

    def close(self) -> None: ...
