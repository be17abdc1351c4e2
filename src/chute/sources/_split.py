"""Cutting a byte stream into chunks of whole records, with each record's line number.

A record ends at a newline that is outside quotes.  With RFC 4180 quoting (a quote inside a
value is doubled) a newline is outside quotes exactly when an even number of quote
characters precede it, so the cut points are found with vectorised numpy scans, not a
Python loop per byte.  Blank lines are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from chute.errors import SourceError
from chute.sources._input import Input

NEWLINE = 10
CR = 13
READ_SIZE = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """Whole records: their bytes, and for each record its first line and where it is."""

    data: bytes
    lines: np.ndarray  # first line number (1-based) of each record
    starts: np.ndarray  # where each record starts in ``data``
    offsets: np.ndarray  # where each record starts in the decoded input
    offset: int  # byte offset of the chunk in the decoded input
    end_offset: int  # where the input continues after the chunk
    end_line: int  # the line number there

    @property
    def rows(self) -> int:
        return len(self.lines)

    @property
    def spans(self) -> np.ndarray:
        """Per record, ``[start, end)`` of its bytes in ``data``."""
        ends = np.append(self.starts[1:], len(self.data))
        return np.stack([self.starts, ends], axis=1)

    def record(self, row: int) -> bytes:
        """The raw bytes of one record, without its line ending."""
        start, end = self.spans[row]
        return self.data[int(start) : int(end)].rstrip(b"\r\n")


class RecordSplitter:
    def __init__(self, inp: Input, *, quote: str | None) -> None:
        self._input = inp
        self._quote = ord(quote) if quote else None
        self._buffer = b""
        self._eof = False
        self._line = 1  # line number of the first byte of the buffer
        self._offset = 0  # byte offset of the first byte of the buffer
        self._record_bytes = 0.0  # bytes per record of the last chunk

    def chunks(self, *, max_rows: int, max_bytes: int) -> Iterator[Chunk]:
        while True:
            chunk = self.next_chunk(max_rows=max_rows, max_bytes=max_bytes)
            if chunk is None:
                return
            if chunk.rows:
                yield chunk

    def next_chunk(self, *, max_rows: int, max_bytes: int) -> Chunk | None:
        """The next chunk of at most ``max_rows`` records and about ``max_bytes`` bytes.

        A chunk can be empty (it held only blank lines); ``None`` means the input is done.
        """
        # read (and scan) about what max_rows records take, not max_bytes every time:
        # small chunks would otherwise cost a scan and a copy of the whole budget each
        want = max_bytes
        if self._record_bytes:
            want = min(max_bytes, max(MIN_FILL, int(max_rows * self._record_bytes * 1.25)))
        while True:
            if not self._eof and len(self._buffer) < want:
                self._fill(want)
            if not self._buffer:
                return None
            ends, newlines = self._record_ends()
            if len(ends) == 0 and not self._eof:
                self._fill(len(self._buffer) * 2)  # one record longer than the buffer
                continue
            if len(ends) < max_rows and want < max_bytes and not self._eof:
                want = min(max_bytes, want * 2)  # records longer than guessed: read more
                continue
            chunk = self._cut(ends, newlines, max_rows, max_bytes)
            if chunk.rows:
                self._record_bytes = (chunk.end_offset - chunk.offset) / chunk.rows
            return chunk

    def skip_to(self, offset: int, line: int) -> None:
        """Go on reading at byte ``offset`` of the decoded input, which is on ``line``."""
        if offset < self._offset:
            raise ValueError("cannot go back")
        gap = offset - self._offset
        if gap <= len(self._buffer):
            self._buffer = self._buffer[gap:]
        else:
            gap -= len(self._buffer)
            self._buffer = b""
            if self._input.can_seek():
                self._input.seek_forward(gap)
                gap = 0
            while gap > 0:
                data = self._input.read(min(gap, READ_SIZE))
                if not data:
                    raise SourceError(
                        "the file is shorter than where the load stopped", source=self._input.name
                    )
                self._buffer, gap = data[gap:], max(gap - len(data), 0)
            self._eof = False
        self._offset = offset
        self._line = line

    def unread(self, chunk: Chunk) -> None:
        """Put ``chunk`` back, so that the next chunk starts with its records again."""
        self._buffer = chunk.data + self._buffer
        if chunk.rows:
            self._line = int(chunk.lines[0])
            self._offset = int(chunk.offsets[0])

    def _fill(self, target: int) -> None:
        parts = [self._buffer]
        size = len(self._buffer)
        while size < target:
            data = self._input.read(max(READ_SIZE, target - size))
            if not data:
                self._eof = True
                break
            parts.append(data)
            size += len(data)
        self._buffer = b"".join(parts)

    def _record_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Byte positions of record-ending newlines, and of all newlines, in the buffer."""
        arr = np.frombuffer(self._buffer, dtype=np.uint8)
        newlines = _positions(arr, NEWLINE)
        if self._quote is None:
            return np.arange(len(newlines)), newlines
        if len(newlines) == 0:
            return newlines, newlines
        return np.flatnonzero(_quoted(arr, newlines, self._quote) == 0), newlines

    def _cut(self, ends: np.ndarray, newlines: np.ndarray, max_rows: int, max_bytes: int) -> Chunk:
        buf = self._buffer
        end_pos = newlines[ends]  # byte positions of record-ending newlines
        fit = int(np.searchsorted(end_pos, max_bytes))  # records ending before max_bytes
        n = max(1, min(max_rows, fit)) if len(ends) else 0
        tail = self._eof and (len(end_pos) == 0 or int(end_pos[-1]) < len(buf) - 1)
        take_tail = tail and n == len(ends) and n < max_rows
        if take_tail:
            if self._quote is not None and buf.count(bytes([self._quote])) % 2:
                start = int(end_pos[-1]) + 1 if len(end_pos) else 0
                line = self._line + int(np.searchsorted(newlines, start))
                raise SourceError(
                    "a quoted value is never closed", source=self._input.name, line=line
                )
            cut = len(buf)
            consumed_newlines = len(newlines)
        else:
            cut = int(end_pos[n - 1]) + 1
            consumed_newlines = int(ends[n - 1]) + 1
        rows = n + (1 if take_tail else 0)
        starts = np.zeros(rows, dtype=np.int64)
        lines = np.zeros(rows, dtype=np.int64)
        if rows > 1:
            starts[1:] = end_pos[: rows - 1] + 1
            lines[1:] = ends[: rows - 1] + 1
        lines += self._line
        data = buf[:cut]
        stops = np.append(starts[1:], cut)
        offsets = starts + self._offset
        keep = ~_blank(np.frombuffer(data, dtype=np.uint8), starts, stops - starts)
        if not keep.all():
            data = b"".join(data[a:b] for a, b in zip(starts[keep], stops[keep], strict=True))
            lines, offsets = lines[keep], offsets[keep]
            lengths = (stops - starts)[keep]
            starts = (np.cumsum(lengths) - lengths).astype(np.int64)
        chunk = Chunk(
            data,
            lines,
            starts,
            offsets,
            self._offset,
            self._offset + cut,
            self._line + consumed_newlines,
        )
        self._line += consumed_newlines
        self._offset += cut
        self._buffer = buf[cut:]
        return chunk


_WINDOW = 1 << 20
#: the least a chunk reads ahead
MIN_FILL = 64 << 10


def _positions(arr: np.ndarray, byte: int) -> np.ndarray:
    """Where ``byte`` occurs in ``arr``, scanned in windows to keep temporaries small."""
    if len(arr) <= _WINDOW:
        return np.flatnonzero(arr == byte)
    parts = [np.flatnonzero(arr[i : i + _WINDOW] == byte) + i for i in range(0, len(arr), _WINDOW)]
    return np.concatenate(parts)


def _quoted(arr: np.ndarray, newlines: np.ndarray, quote: int) -> np.ndarray:
    """Per newline, 1 when an odd number of quotes precede it (it is inside a quoted
    value), else 0: the parity of each stretch between newlines (an XOR over the stretch)
    accumulated, a window at a time, without listing where the quotes are."""
    parity = np.empty(len(newlines), dtype=np.uint8)
    carry = 0  # the parity of the quotes in the windows before
    first = 0  # the first newline of the window
    for i in range(0, len(arr), _WINDOW):
        window = (arr[i : i + _WINDOW] == quote).view(np.uint8)
        last = int(np.searchsorted(newlines, i + len(window)))
        if last > first:
            ends = newlines[first:last] - i
            starts = np.empty(len(ends), dtype=np.intp)
            starts[0] = 0
            starts[1:] = ends[:-1] + 1
            stretches = np.bitwise_xor.reduceat(window[: int(ends[-1]) + 1], starts)
            parity[first:last] = np.bitwise_xor.accumulate(stretches) ^ carry
        carry ^= int(np.count_nonzero(window)) & 1
        first = last
    return parity


def _blank(arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Which records hold nothing but a line ending."""
    blank: np.ndarray = lengths == 0
    if len(arr) == 0:
        return blank
    first = arr[np.minimum(starts, len(arr) - 1)]
    blank |= (lengths == 1) & ((first == NEWLINE) | (first == CR))
    second = arr[np.minimum(starts + 1, len(arr) - 1)]
    blank |= (lengths == 2) & (first == CR) & (second == NEWLINE)
    return blank
