"""What CSV and JSON Lines sources share: a file read in whole records, resumable."""

from __future__ import annotations

import os

from chute.sources._input import Input
from chute.sources._split import RecordSplitter
from chute.sources.base import Position


class TextFileSource:
    """A text file (or stdin) cut into records by a :class:`RecordSplitter`."""

    def __init__(self, source: str | os.PathLike[str], *, encoding: str, quote: str | None) -> None:
        self._input = Input(source, encoding=encoding)
        self.name = self._input.name
        self.resumable = self._input.resumable
        self._first_record = 1
        self._splitter = RecordSplitter(self._input, quote=quote)

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
