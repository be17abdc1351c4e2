"""Parquet files as a source, read by row groups with pyarrow: memory holds one row group's
pages being decoded and one batch, whatever the size of the file.

Types are the file's own, never inferred from values (see :mod:`chute.sources.parquet_types`):
a string column stays text even when every value looks like a date.  Nested columns (lists,
structs, maps) arrive as JSON text, marked so that the engine stores them as JSON.

A record's position is its row in the file: record ``n`` is row ``n - 1`` counted from 0
across row groups (its ``offset``).  A resumed load finds the row group holding the row to go
on at from the footer and skips the rows before it in that group; nothing before that group
is read.  Standard input is copied to a temporary file first: a Parquet file is read from its
footer, at the end.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chute.errors import SourceError, first_line
from chute.sources._spool import spool_stdin
from chute.sources.base import BatchSize, Position, Sizes, SourceBatch, numbered
from chute.sources.parquet_types import FileColumn, file_columns, to_engine

__all__ = ["ParquetSource"]

#: rows pyarrow decodes at a time; batches are cut from these pieces
_PIECE_ROWS = 16_384


class ParquetSource:
    """One Parquet file (or standard input), as records."""

    numbers_from_text = False

    def __init__(self, source: str | os.PathLike[str], *, batch_rows: int, batch_bytes: int):
        path = os.fspath(source)
        self.is_stdin = path == "-"
        self.resumable = not self.is_stdin
        self.name = "<stdin>" if self.is_stdin else path
        self._spooled = spool_stdin(".parquet") if self.is_stdin else None
        self._path = self._spooled or path
        self.batch_size = BatchSize(batch_rows, batch_bytes)
        if not os.path.isfile(self._path):
            self._cleanup()
            raise SourceError("no such file", source=self.name)
        self._size = os.path.getsize(self._path)
        try:
            # pre_buffer off: column chunks are read as pages are decoded, not a row
            # group whole at once (58 MB less at the peak of the 1M-row orders file)
            self._file = pq.ParquetFile(self._path, pre_buffer=False)
        except (pa.ArrowException, OSError) as exc:
            self._cleanup()
            why = first_line(exc) or type(exc).__name__
            raise SourceError(
                f"not a Parquet file, or its footer is damaged: {why}",
                source=self.name,
            ) from exc
        meta = self._file.metadata
        self._group_rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self._group_starts = np.concatenate([[0], np.cumsum(self._group_rows, dtype=np.int64)])
        self._total_rows = int(self._group_starts[-1])
        try:
            self.file_columns: list[FileColumn] = file_columns(self._file.schema_arrow)
        except BaseException:
            self.close()
            raise
        self.columns = [c.name for c in self.file_columns]
        #: file rows whose nested value JSON cannot hold -> (column, why), until batched
        self._refused: dict[int, tuple[str, str]] = {}
        self._start_row = 0  # the row (0-based, across groups) reading starts at
        self._rows_read = 0

    def declared_types(self) -> dict[str, str]:
        return {c.name: str(c.file_type) for c in self.file_columns}

    # -- reading

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        pending: list[pa.RecordBatch] = []
        held = 0  # rows in pending
        held_bytes = 0
        row = self._start_row  # the file row of pending's first row
        pieces = self._pieces()
        size = self.batch_size if sizes is None else sizes()
        while True:
            piece = next(pieces, None)
            if piece is not None and piece.num_rows:
                pending.append(piece)
                held += piece.num_rows
                held_bytes += piece.nbytes
            while held and (
                piece is None or held >= size.rows or (size.bytes and held_bytes >= size.bytes)
            ):
                take = _rows_within(pending, size)
                data, pending = _split(pending, take)
                held -= take
                held_bytes = sum(p.nbytes for p in pending)
                yield self._batch(data, row)
                row += take
                self._rows_read = row
                size = self.batch_size if sizes is None else sizes()
            if piece is None:
                return

    def _pieces(self) -> Iterator[pa.RecordBatch]:
        """The file's rows from :attr:`_start_row` on, in pieces of the engine's types, of
        at most :data:`_PIECE_ROWS` rows and about a batch's bytes (from the footer's sizes)."""
        start = self._start_row
        group = int(np.searchsorted(self._group_starts, start, side="right")) - 1
        if group >= len(self._group_rows):
            return
        skip = start - int(self._group_starts[group])
        groups = list(range(group, len(self._group_rows)))
        decoded = int(self._group_starts[group])  # the file row the next piece starts at
        try:
            for piece in self._file.iter_batches(
                batch_size=self._piece_rows(groups), row_groups=groups, use_threads=False
            ):
                decoded += piece.num_rows
                if skip:
                    dropped = min(skip, piece.num_rows)
                    piece = piece.slice(dropped)
                    skip -= dropped
                data, refused = to_engine(piece, self.file_columns)
                first_row = decoded - piece.num_rows  # the file row of the piece's first
                for row, why in refused.items():
                    self._refused[first_row + row] = why
                yield data
        except (pa.ArrowException, OSError) as exc:
            problem = first_line(exc) or type(exc).__name__
            raise SourceError(
                f"the file is damaged after row {decoded:,}: {problem}",
                source=self.name,
            ) from exc

    def _piece_rows(self, groups: list[int]) -> int:
        """Rows decoded at a time: at most :data:`_PIECE_ROWS`, fewer where the footer says
        rows are big, so that a piece holds about one batch's bytes."""
        meta = self._file.metadata
        widest = max(
            (meta.row_group(g).total_byte_size / max(1, self._group_rows[g]) for g in groups),
            default=1.0,
        )
        budget = self.batch_size.bytes or (4 << 20)
        return int(max(64, min(_PIECE_ROWS, budget // max(1.0, widest))))

    def _batch(self, data: pa.RecordBatch, row: int) -> SourceBatch:
        n = data.num_rows
        batch = SourceBatch(
            data=data,
            source=self.name,
            records=numbered(row + 1, n),
            offsets=np.arange(row, row + n, dtype=np.int64),
            after=Position(self.name, row + n + 1, None, row + n),
        )
        bad = sorted(r for r in self._refused if row <= r < row + n)
        if not bad:
            return batch
        rejects = []
        for r in bad:
            column, why = self._refused.pop(r)
            rejects.append(batch.reject(r - row, "conversion", why, column=column))
        keep = np.setdiff1d(np.arange(n), np.array(bad, dtype=np.int64) - row)
        return batch.take(keep, rejects=tuple(rejects))

    def fingerprint(self) -> str:
        """Size, modification time and a hash of the footer (which holds every row group's
        statistics, so a rewritten file changes it)."""
        stat = os.stat(self._path)
        with open(self._path, "rb") as f:
            f.seek(max(0, stat.st_size - 65536))
            tail = hashlib.sha256(f.read()).hexdigest()[:32]
        return f"parquet:{stat.st_size}:{stat.st_mtime_ns}:{tail}"

    def resume(self, at: Position) -> None:
        """Go on reading at ``at``: the next batch starts with that record, in its row
        group, at its row."""
        assert at.offset is not None
        self._start_row = self._rows_read = int(at.offset)

    def total_bytes(self) -> int | None:
        return self._size

    def bytes_read(self) -> int:
        """The file's size times the share of its rows read (row groups are compressed:
        no byte count tells how far)."""
        if not self._total_rows:
            return 0
        return min(self._size, self._size * self._rows_read // self._total_rows)

    def close(self) -> None:
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()
            self._file = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._spooled is not None:
            os.unlink(self._spooled)
            self._spooled = None


def _rows_within(pieces: list[pa.RecordBatch], size: BatchSize) -> int:
    """How many of the rows held in ``pieces`` the next batch takes: ``size.rows`` at most,
    and no more than reach ``size.bytes`` (at least one), counting each row's own bytes."""
    taken = 0
    used = 0
    for piece in pieces:
        rows = min(piece.num_rows, size.rows - taken)
        if size.bytes:
            ends = np.cumsum(_row_bytes(piece.slice(0, rows))) + used
            fit = int(np.searchsorted(ends, size.bytes, side="right"))
            rows = min(rows, max(fit, 1 if taken == 0 else 0))
            used = int(ends[rows - 1]) if rows else used
        taken += rows
        if taken >= size.rows or rows < piece.num_rows:
            break
    return max(1, taken)


def _row_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """Each row's bytes: the fixed widths of its values, and its strings' lengths."""
    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    fixed = 0
    for col in batch.columns:
        if pa.types.is_string(col.type):
            offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)
            sizes += np.diff(offsets[col.offset : col.offset + len(col) + 1]) + 4
        else:
            fixed += max(1, col.type.bit_width // 8) if col.type.bit_width > 0 else 8
    return sizes + fixed


def _split(pieces: list[pa.RecordBatch], rows: int) -> tuple[pa.RecordBatch, list[pa.RecordBatch]]:
    """The first ``rows`` rows of ``pieces`` as one batch, and the pieces left."""
    out: list[pa.RecordBatch] = []
    left = rows
    rest = list(pieces)
    while left:
        head = rest.pop(0)
        if head.num_rows > left:
            out.append(head.slice(0, left))
            rest.insert(0, head.slice(left))
            break
        out.append(head)
        left -= head.num_rows
    if len(out) == 1:
        return out[0], rest
    return pa.Table.from_batches(out).combine_chunks().to_batches()[0], rest
