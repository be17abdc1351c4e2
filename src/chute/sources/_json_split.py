"""Cutting one JSON array into its elements as the bytes stream in, in constant memory.

Why not a streaming JSON library: ijson (yajl) streams the array but gives no byte offset
or line for an element, so a reject could not say where it is, and a stopped load could not
go on at an element.  Finding where the top-level elements start and end needs only the
structure outside strings: a quote not escaped by an odd run of backslashes starts or ends a
string, ``[``/``{`` and ``]``/``}`` change the depth, and a comma at depth 1 ends an element.
All of that is found with vectorised numpy scans over each block (as the CSV splitter does
for quotes); each element's text is then parsed by orjson.  Measured in ``docs/sources.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chute.errors import SourceError
from chute.sources._input import Input

READ_SIZE = 1 << 20
#: an element longer than this is taken for a string that is never closed
MAX_ELEMENT_BYTES = 256 << 20
_WHITESPACE = b" \t\r\n"


@dataclass
class Elements:
    """The complete elements found in one block: their text and where they are."""

    data: bytes  # the bytes the spans point into
    spans: np.ndarray  # per element: [start, end) in ``data``, whitespace trimmed
    offsets: np.ndarray  # per element: byte offset in the input
    lines: np.ndarray  # per element: line of its first byte
    end_offset: int  # where the next element (or the end) starts
    end_line: int
    long_ints: bool  # a run of 19 digits or more: maybe an integer past 64 bits


class ArraySplitter:
    """Reads a JSON array's elements from an :class:`Input`, a block at a time."""

    def __init__(self, inp: Input) -> None:
        self._input = inp
        self._buffer = b""
        self._offset = 0  # byte offset of the buffer's first byte
        self._line = 1  # line of the buffer's first byte
        self._eof = False
        self._state = "start"  # start (before "["), items, end (after "]")
        self._after_comma = False  # the buffer starts after a comma: an element must follow
        self._error: SourceError | None = None  # found with the last elements: raised next

    def skip_to(self, offset: int, line: int) -> None:
        """Go on at byte ``offset`` (an element's start, or right after a comma or the
        closing bracket), which is on ``line``."""
        gap = offset - self._offset
        if gap < 0:
            raise ValueError("cannot go back")
        if self._input.can_seek() and gap > len(self._buffer):
            self._input.seek_forward(gap - len(self._buffer))
            gap = 0
            self._buffer = b""
        while gap > len(self._buffer):
            gap -= len(self._buffer)
            self._buffer = self._input.read(min(max(gap, READ_SIZE), 64 * READ_SIZE))
            if not self._buffer:
                raise SourceError(
                    "the file is shorter than where the load stopped", source=self._input.name
                )
        self._buffer = self._buffer[gap:]
        self._offset, self._line = offset, line
        self._state = "items"
        self._after_comma = False

    def next_block(self, size: int) -> Elements | None:
        """The complete elements of about the next ``size`` bytes (maybe none); None at the
        end of the array."""
        while True:
            if self._state == "end":
                self._check_rest()
                return None
            if not self._eof and len(self._buffer) < size:
                self._fill(size)
            if self._state == "start" and not self._open():
                continue
            found = self._scan()
            if found is not None:
                return found
            if self._eof:
                return self._unclosed()
            if len(self._buffer) > MAX_ELEMENT_BYTES:
                raise SourceError(
                    f"an element of the array runs past {MAX_ELEMENT_BYTES >> 20} MiB: is a "
                    "string or a bracket never closed?",
                    source=self._input.name,
                    line=self._line,
                )
            self._fill(max(2 * len(self._buffer), size))  # an element longer than the block

    # -- the parts ---------------------------------------------------------------------

    def _fill(self, target: int) -> None:
        parts = [self._buffer]
        size = len(self._buffer)
        while size < target and not self._eof:
            data = self._input.read(max(READ_SIZE, target - size))
            if not data:
                self._eof = True
            parts.append(data)
            size += len(data)
        self._buffer = b"".join(parts)

    def _open(self) -> bool:
        """Consume what precedes the array's "["; False when more input is needed."""
        stripped = self._buffer.lstrip(_WHITESPACE)
        skipped = len(self._buffer) - len(stripped)
        if not stripped:
            if self._eof:
                raise SourceError(
                    "no records: the input is empty or holds only blank lines",
                    source=self._input.name,
                )
            self._advance(skipped)
            self._fill(READ_SIZE)
            return False
        if stripped[:1] != b"[":
            self._advance(skipped)
            raise SourceError(
                f"expected a JSON array of objects, found {stripped[:1].decode(errors='replace')!r}"
                f" at byte {self._offset}",
                source=self._input.name,
                line=self._line,
                hint="one JSON object per line is --format jsonl",
            )
        self._advance(skipped + 1)
        self._state = "items"
        return True

    def _advance(self, n: int) -> None:
        self._line += self._buffer.count(b"\n", 0, n)
        self._offset += n
        self._buffer = self._buffer[n:]

    def _scan(self) -> Elements | None:
        """The elements that end in the buffer (None when none does yet).

        Works on the positions of the few bytes that matter (quotes, brackets, commas,
        newlines), found with one table look-up over the block, so its cost is a handful
        of passes over the bytes whatever the records look like."""
        buf = self._buffer
        a = np.frombuffer(buf, dtype=np.uint8)
        kind = _KIND[a]
        marked = np.flatnonzero(kind)
        marks = kind[marked]
        quotes = _real_quotes(a, marked[marks == _QUOTE])
        struct = marked[marks >= _COMMA]
        # a structural byte is outside strings when an even number of quotes precede it
        struct = struct[(np.searchsorted(quotes, struct) & 1) == 0]
        step = _STEP[a[struct]]
        depth = np.cumsum(step, dtype=np.int64) + 1  # after each structural byte
        closed = struct[(step < 0) & (depth == 0)]
        commas = struct[(step == 0) & (depth == 1)]
        end = int(closed[0]) if len(closed) else None
        if end is not None:
            commas = commas[commas < end]
        elif not len(commas):
            return None
        stops = np.append(commas, end) if end is not None else commas
        starts = np.concatenate(([0], commas + 1))[: len(stops)].astype(np.int64)
        lo, hi = _trim(a, starts, stops.astype(np.int64))
        if end is not None and not len(commas) and not self._after_comma and lo[0] == hi[0]:
            lo, hi = lo[1:], hi[1:]  # "[]": no element at all
        # an empty element otherwise ("[1,,2]", "[1,]") is kept, to be rejected
        newlines = marked[marks == _NEWLINE]
        spans = np.stack([lo, hi], axis=1) if len(lo) else np.empty((0, 2), dtype=np.int64)
        offsets = lo + self._offset
        lines = np.searchsorted(newlines, lo) + self._line
        cut = int(stops[-1]) + 1
        line_at_cut = self._line + int(np.searchsorted(newlines, cut))
        found = Elements(
            data=buf[:cut],
            spans=spans,
            offsets=offsets,
            lines=lines,
            end_offset=self._offset + cut,
            end_line=line_at_cut,
            long_ints=_long_digit_run(a[:cut]),
        )
        self._after_comma = end is None
        self._buffer = buf[cut:]
        self._offset += cut
        self._line = line_at_cut
        if end is not None:
            self._state = "end"
            if a[end] != 0x5D:  # raised once the elements before it are stored
                self._error = SourceError(
                    f"the array is closed by '}}' at byte {self._offset - 1}",
                    source=self._input.name,
                    line=self._line,
                )
        return found

    def _unclosed(self) -> Elements | None:
        """The input ended inside the array: what is left is its last element (rejected
        if it is not a whole value), or nothing."""
        buf = self._buffer
        text = buf.strip(_WHITESPACE)
        self._state = "end"
        if not text and not self._after_comma:
            return None
        start = len(buf) - len(buf.lstrip(_WHITESPACE))
        found = Elements(
            data=buf,
            spans=np.array([(start, start + len(text))], dtype=np.int64),
            offsets=np.array([self._offset + start], dtype=np.int64),
            lines=np.array([self._line + buf.count(b"\n", 0, start)], dtype=np.int64),
            end_offset=self._offset + len(buf),
            end_line=self._line + buf.count(b"\n"),
            long_ints=_long_digit_run(np.frombuffer(buf, dtype=np.uint8)),
        )
        self._buffer = b""
        self._offset += len(buf)
        return found

    def _check_rest(self) -> None:
        """After the array only whitespace may follow."""
        if self._error is not None:
            raise self._error
        while True:
            rest = self._buffer.lstrip(_WHITESPACE)
            if rest:
                self._advance(len(self._buffer) - len(rest))
                raise SourceError(
                    f"unexpected text after the array at byte {self._offset}",
                    source=self._input.name,
                    line=self._line,
                    hint="a file must hold one JSON array; one object per line is --format jsonl",
                )
            self._advance(len(self._buffer))
            if self._eof:
                return
            self._fill(READ_SIZE)


# byte classes: 1 newline, 2 quote, 3 comma, 4 opening, 5 closing bracket
_NEWLINE, _QUOTE, _COMMA = 1, 2, 3
_KIND = np.zeros(256, dtype=np.uint8)
_KIND[0x0A], _KIND[0x22], _KIND[0x2C] = _NEWLINE, _QUOTE, _COMMA
_KIND[[0x5B, 0x7B]] = 4
_KIND[[0x5D, 0x7D]] = 5
#: how a structural byte changes the depth
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[0x5B, 0x7B]] = 1
_STEP[[0x5D, 0x7D]] = -1
_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(_WHITESPACE)] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[0x30:0x3A] = True
#: leading/trailing whitespace trimmed a byte at a time for all elements at once, this many
#: times; longer runs are trimmed one element at a time
_TRIM_STEPS = 16


def _real_quotes(a: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The quotes that start or end a string: not escaped by an odd run of backslashes."""
    if not len(quotes):
        return quotes
    after_slash = quotes[(quotes > 0) & (a[np.maximum(quotes - 1, 0)] == 0x5C)]
    if not len(after_slash):
        return quotes
    slashes = np.flatnonzero(a == 0x5C)
    run_starts = slashes[np.diff(slashes, prepend=-2) != 1]
    # the backslash run that ends right before each such quote, and its length
    began = run_starts[np.searchsorted(run_starts, after_slash - 1, side="right") - 1]
    escaped = after_slash[((after_slash - began) & 1) == 1]
    kept: np.ndarray = np.setdiff1d(quotes, escaped, assume_unique=True)
    return kept


def _trim(a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi)`` without leading and trailing whitespace (``lo == hi`` when blank)."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(_TRIM_STEPS):
        more = lo < hi
        more[more] = _SPACE[a[lo[more]]]
        if not more.any():
            break
        lo[more] += 1
    else:
        for i in np.flatnonzero((lo < hi) & _SPACE[a[np.minimum(lo, len(a) - 1)]]):
            while lo[i] < hi[i] and _SPACE[a[lo[i]]]:
                lo[i] += 1
    for _ in range(_TRIM_STEPS):
        more = hi > lo
        more[more] = _SPACE[a[hi[more] - 1]]
        if not more.any():
            break
        hi[more] -= 1
    else:
        for i in np.flatnonzero((hi > lo) & _SPACE[a[np.maximum(hi - 1, 0)]]):
            while hi[i] > lo[i] and _SPACE[a[hi[i] - 1]]:
                hi[i] -= 1
    return lo, hi


def _long_digit_run(a: np.ndarray) -> bool:
    """Whether ``a`` holds 19 digits in a row (integers past 64 bits need another parser)."""
    if len(a) < 19:
        return False
    digits = np.flatnonzero(_DIGIT[a])
    if len(digits) < 19:
        return False
    # 19 in a row exactly when the digit 18 places further on is 18 bytes further on
    return bool(np.any(digits[18:] - digits[:-18] == 18))
