"""What CSV and JSON Lines sources share: a file read in whole records, resumable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from chute.sources._input import Input
from chute.sources._split import Chunk, RecordSplitter
from chute.sources.base import NO_DATA, BatchSize, Position, Sizes, SourceBatch, numbered


class TextFileSource:
    """A text file (or stdin) cut into records by a :class:`RecordSplitter`."""

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        encoding: str,
        quote: str | None,
        batch_rows: int,
        batch_bytes: int,
        header: bool = False,
    ) -> None:
        self._input = Input(source, encoding=encoding, header=header)
        self.name = self._input.name
        self.resumable = self._input.resumable
        self.is_stdin = self._input.is_stdin
        self._first_record = 1
        self._splitter = RecordSplitter(self._input, quote=quote)
        self.batch_size = BatchSize(batch_rows, batch_bytes)

    def _chunks(self, sizes: Sizes | None) -> Iterator[tuple[Chunk, SourceBatch]]:
        """Whole-record chunks, each with a batch that knows their positions (no data yet);
        each cut where ``sizes()`` says (None: at :attr:`batch_size`)."""
        record = self._first_record
        while True:
            size = self.batch_size if sizes is None else sizes()
            chunk = self._splitter.next_chunk(max_rows=size.rows, max_bytes=size.bytes)
            if chunk is None:
                return
            if not chunk.rows:
                continue
            yield (
                chunk,
                SourceBatch(
                    data=NO_DATA,
                    source=self.name,
                    records=numbered(record, chunk.rows),
                    lines=chunk.lines,
                    offsets=chunk.offsets,
                    text=self._text(chunk),
                    spans=chunk.spans,
                    rows=chunk.rows,
                    after=Position(
                        self.name, record + chunk.rows, chunk.end_line, chunk.end_offset
                    ),
                ),
            )
            record += chunk.rows

    def _text(self, chunk: Chunk) -> bytes | FileText:
        """The chunk's text for its batch: where it lies as it is in a plain UTF-8 file (no
        blank line dropped from it), a :class:`FileText`, so that the batches in memory do
        not each keep their input besides their parsed columns."""
        contiguous = chunk.end_offset - chunk.offset == len(chunk.data)
        if not contiguous or not self._input.can_seek():
            return chunk.data
        return FileText(self._input, self._input.bom_bytes + chunk.offset, len(chunk.data))

    def fingerprint(self) -> str:
        return self._input.fingerprint()

    def resume(self, at: Position) -> None:
        """Go on reading at ``at``: the next batch starts with that record."""
        assert at.offset is not None and at.line is not None
        self._splitter.skip_to(at.offset, at.line)
        self._first_record = at.record

    def total_bytes(self) -> int | None:
        return self._input.raw_size

    def bytes_read(self) -> int:
        return self._input.raw_position()

    def close(self) -> None:
        self._input.close()


@dataclass(frozen=True)
class FileText:
    """``size`` bytes of the input file from byte ``start``, read when sliced.

    A batch keeps this instead of its input text: the text is wanted only for the raw
    text of a rejected record, and a batch's parsed columns already hold its values."""

    input: Input
    start: int
    size: int

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, part: slice, /) -> bytes:
        first, stop, _ = part.indices(self.size)
        return self.input.read_at(self.start + first, max(stop - first, 0))
