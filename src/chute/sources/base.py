"""What every source gives the engine: Arrow record batches that know where they came from."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from chute.sinks.contract import Sink


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


#: the ending of reject files; a JSON Lines source of that name loads each line's "record"
REJECTS_SUFFIX = ".rejects.jsonl"


@dataclass(frozen=True)
class Reject:
    """A record that was not stored, with why and where, and what it was."""

    position: Position
    error: str  # parse | decode | shape | conversion | constraint | database
    message: str
    raw: str | None = None  # the input text of the record, when it came from text
    record: dict[str, Any] | None = None  # the record as read, when it could be read
    column: str | None = None
    sqlstate: str | None = None

    def to_dict(self) -> dict[str, Any]:
        p = self.position
        return {
            "source": p.source,
            "line": p.line,
            "offset": p.offset,
            "record_number": p.record,
            "column": self.column,
            "error": self.error,
            "sqlstate": self.sqlstate,
            "message": self.message,
            "raw": self.raw,
            "record": self.record,
        }


#: the data of a batch that carries only positions
NO_DATA = pa.RecordBatch.from_pylist([])


class Text(Protocol):
    """The input text a batch's rows came from: ``bytes``, or a stretch of a file read back
    when a record's raw text is wanted (:class:`chute.sources._file.FileText`)."""

    def __len__(self) -> int: ...

    def __getitem__(self, part: slice, /) -> bytes: ...


@dataclass(frozen=True)
class SourceBatch:
    """A batch of records as read, with what is needed to name and show any one of them.

    Per row: ``records`` (1-based record number in the source), ``lines`` (first line, for
    sources with lines) and ``offsets`` (byte offset in the decoded input).  ``text`` and
    ``spans`` give each row's input text when the source is text.  ``rejects`` are the
    records of this stretch of input that could not be read; they are not in ``data``.
    """

    data: pa.RecordBatch
    source: str
    records: np.ndarray
    lines: np.ndarray | None = None
    offsets: np.ndarray | None = None
    text: Text | None = None  # the input text the rows came from
    spans: np.ndarray | None = None  # per row: [start, end) of its text in ``text``
    rejects: tuple[Reject, ...] = ()
    rows: int = -1  # set from ``data``; kept when the data is released
    #: where reading goes on after this batch (record, line and offset of the next record)
    after: Position | None = None

    def __post_init__(self) -> None:
        if self.rows < 0:
            object.__setattr__(self, "rows", int(self.data.num_rows))

    @property
    def num_rows(self) -> int:
        return self.rows

    def released(self) -> SourceBatch:
        """The same positions without the data, so the raw values can be freed."""
        return replace(self, data=NO_DATA)

    def position(self, row: int) -> Position:
        """The position of the batch's ``row``-th record (0-based)."""
        return Position(
            self.source,
            int(self.records[row]),
            int(self.lines[row]) if self.lines is not None else None,
            int(self.offsets[row]) if self.offsets is not None else None,
        )

    def resume_point(self, row: int) -> Position | None:
        """Where to go on reading so that rows from ``row`` on are read again."""
        if row >= self.rows:
            return self.after
        if self.offsets is None:
            return None
        return self.position(row)

    def raw_text(self, row: int) -> str | None:
        if self.text is None or self.spans is None:
            return None
        start, end = self.spans[row]
        return self.text[int(start) : int(end)].rstrip(b"\r\n").decode("utf-8", "replace")

    def reject(
        self,
        row: int,
        error: str,
        message: str,
        *,
        record: dict[str, Any] | None = None,
        column: str | None = None,
        sqlstate: str | None = None,
    ) -> Reject:
        return Reject(
            self.position(row),
            error,
            message,
            raw=self.raw_text(row),
            record=record,
            column=column,
            sqlstate=sqlstate,
        )

    def take(
        self, rows: np.ndarray, data: pa.RecordBatch | None = None, rejects: tuple[Reject, ...] = ()
    ) -> SourceBatch:
        """The batch with only ``rows`` (indices), and ``rejects`` added."""
        return replace(
            self,
            data=self.data.take(pa.array(rows)) if data is None else data,
            records=self.records[rows],
            lines=None if self.lines is None else self.lines[rows],
            offsets=None if self.offsets is None else self.offsets[rows],
            spans=None if self.spans is None else self.spans[rows],
            rejects=self.rejects + rejects,
            rows=len(rows),
        )


def numbered(first: int, n: int) -> np.ndarray:
    """Record numbers ``first, first + 1, ...`` for ``n`` rows."""
    return np.arange(first, first + n, dtype=np.int64)


@dataclass(frozen=True)
class BatchSize:
    """Where a source cuts a batch: at ``rows`` records or about ``bytes`` bytes, whichever
    comes first (``bytes`` 0: rows only)."""

    rows: int
    bytes: int


#: asked by a source before it cuts each batch: the size of that batch.  The engine passes
#: its batch controller's (see :mod:`chute.engine.batch_control`), which steers the size
#: from what each batch cost; the source only reads it.
Sizes = Callable[[], BatchSize]


class Source(Protocol):
    """A readable input.  Sources are registered by format in :mod:`chute.sources`.

    What some sources can do besides is said by the protocols below (:class:`Resumable`,
    :class:`HasColumns`, :class:`HasNotes`, :class:`Acknowledging`, :class:`TransactionHooks`,
    :class:`Halting`, :class:`ReadsStdin`); the engine checks them with ``isinstance``."""

    #: A name for messages and reports (a path, ``<stdin>``, ``<iterable>``).
    name: str
    #: True when every value arrives as text (CSV), so numbers are inferred from strings.
    numbers_from_text: bool

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        """Yield the input's records in order, in batches; each cut where ``sizes()``,
        asked just before, says (None: at the size the source was opened with)."""
        ...

    def total_bytes(self) -> int | None:
        """The size of the input for progress, when known."""
        ...

    def bytes_read(self) -> int:
        """How far reading has got, in the same unit as :meth:`total_bytes`."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Resumable(Protocol):
    """A source that can say what it is and go on reading at a position."""

    @property
    def resumable(self) -> bool:
        """False when this input cannot be read again (standard input, a pipe)."""
        ...

    def fingerprint(self) -> str:
        """Changes when the input changes; a resumed load refuses a changed input."""
        ...

    def resume(self, at: Position) -> None:
        """Go on reading at ``at`` (from a :attr:`SourceBatch.after` or a row's position)."""
        ...


class ResumableSource(Source, Resumable, Protocol):
    """A source that is :class:`Resumable`."""


@runtime_checkable
class ReadsStdin(Protocol):
    """A source that may be reading standard input (which no later run can read again)."""

    @property
    def is_stdin(self) -> bool: ...


@runtime_checkable
class HasNotes(Protocol):
    """A source with something to say in the report (header cells it had to name)."""

    notes: list[str]


@runtime_checkable
class HasColumns(Protocol):
    """A source that knows its columns without a record (a CSV header): a table is made
    even for an input with no records."""

    @property
    def columns(self) -> Sequence[str]: ...


@runtime_checkable
class DeclaresTypes(Protocol):
    """A source whose file declares each column's type (Parquet): an existing table's
    columns are checked against them before anything is written."""

    def declared_types(self) -> dict[str, str]:
        """Each column's type as the file names it (e.g. ``list<item: int64>``)."""
        ...


@runtime_checkable
class TransactionHooks(Protocol):
    """A source with bookkeeping of its own in the database (a queue's message ledger)."""

    def in_transaction(self, sink: Sink, batch: SourceBatch, rows: int) -> None:
        """Called inside each commit of ``batch``, for its first ``rows`` rows, on the
        connection that wrote them."""
        ...


@runtime_checkable
class Acknowledging(Protocol):
    """A source that holds on to what it handed out until it is stored (a queue)."""

    def committed(self, batch: SourceBatch, rejects: list[Reject]) -> None:
        """``batch`` is committed and counted (with its ``rejects``): let go of it."""
        ...

    def status(self) -> dict[str, Any]:
        """Fields added to each batch's record (``report.last_batch``, ``--log-json``),
        e.g. a queue's depth."""
        ...


@runtime_checkable
class Halting(Protocol):
    """A source that waits for input (a queue): told to stop waiting when a load fails."""

    def halt(self) -> None: ...
