"""Opening an input: a path, a ``.gz`` path or stdin, read as UTF-8 bytes with progress."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
import re
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from chute.errors import ConfigError, SourceError

STDIN = "-"
BOM = codecs.BOM_UTF8
#: bytes at the start of the input checked to look like text
SAMPLE_BYTES = 64 << 10
#: control characters no text file holds (tab, line breaks, form feed, ESC and Ctrl-Z pass)
_NOT_TEXT = re.compile(rb"[\x00-\x08\x0e-\x19\x1c-\x1f]")


def _looks_binary(sample: bytes, first: int) -> bool:
    """Whether control bytes make ``sample`` a binary file rather than text with a stray
    one: one in the first line (the header, or the first record), or more than 5% of the
    sample (random bytes have about 10%).  A stray NUL further down is left to the record
    that holds it (stored where the database takes it, else rejected)."""
    end = sample.find(b"\n")
    if end < 0 or first < end:
        return True
    count = len(_NOT_TEXT.findall(sample))
    return count > 2 and count * 20 > len(sample)


def check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(
            f"unknown encoding {encoding!r}", hint="try utf-8, latin-1 or cp1252"
        ) from None


class Input:
    """A byte stream of the input decoded to UTF-8, with the raw size and position.

    ``read()`` returns UTF-8 bytes whatever the file's encoding; a UTF-8 byte-order mark at
    the start is dropped.  ``raw_position()``/``raw_size`` measure the file as stored (the
    compressed bytes of a ``.gz``), for progress.
    """

    def __init__(
        self, source: str | os.PathLike[str], *, encoding: str = "utf-8", header: bool = False
    ) -> None:
        self.encoding = check_encoding(encoding)
        #: the first line is a header: bytes not valid in the encoding there are an error
        self._header = header
        self.raw: BinaryIO
        #: reading standard input: what was read cannot be read again
        self.is_stdin = str(source) == STDIN
        if self.is_stdin:
            self.name = "<stdin>"
            self.raw = sys.stdin.buffer
            self.raw_size: int | None = None
            self.resumable = False
        else:
            path = Path(source)
            self.name = str(source)
            if path.is_dir():
                raise SourceError("is a directory, not a file", source=self.name)
            try:
                self.raw = open(path, "rb")  # noqa: SIM115 - closed by close()
            except FileNotFoundError:
                raise SourceError("no such file", source=self.name) from None
            except OSError as exc:
                raise SourceError(f"cannot open: {exc.strerror}", source=self.name) from None
            info = os.fstat(self.raw.fileno())
            # a pipe or a device is read as a stream, like stdin: no size, no resume
            regular = stat.S_ISREG(info.st_mode)
            self.raw_size = info.st_size if regular else None
            self.resumable = regular
        self._stream: BinaryIO = self.raw
        if self.name.endswith(".gz"):
            self._stream = gzip.GzipFile(fileobj=self.raw, mode="rb")  # type: ignore[assignment]
        self._decoder = (
            None if self.encoding == "utf-8" else codecs.getincrementaldecoder(self.encoding)()
        )
        self._started = False
        #: bytes of a byte-order mark dropped at the start (decoded offsets start after it)
        self.bom_bytes = 0
        self._raw_read = 0
        self._lines_seen = 0
        self._decoded_bytes = 0  # input bytes given to the decoder so far

    def read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise SourceError(f"cannot read: {exc}", source=self.name) from None
        if self.raw_size is None:
            self._raw_read += len(data)
        if self._decoder is not None:
            data = self._transcode(data)
        if not self._started and data:
            self._started = True
            self._check_text(data)
            if data.startswith(BOM):
                data = data[len(BOM) :]
                self.bom_bytes = len(BOM) if self._decoder is None else 0
        return data

    def _check_text(self, data: bytes) -> None:
        """Refuse, in one line, an input whose start does not look like text in its
        encoding: a NUL or another control character, or (in a header) bytes that do not
        decode.  ``data`` is the start of the input as UTF-8."""
        sample = data[:SAMPLE_BYTES]
        found = _NOT_TEXT.search(sample)
        at = found.start() if found else None
        if at is not None and not _looks_binary(sample, at):
            at = None  # a stray control byte in a record: that record's matter, not the file's
        what = ""
        if at is not None:
            what = "a NUL byte" if sample[at] == 0 else f"control character 0x{sample[at]:02x}"
        if self._header:
            end = sample.find(b"\n")
            first = sample[: end if end >= 0 else len(sample)]
            try:
                codecs.getincrementaldecoder("utf-8")().decode(first, final=end >= 0)
            except UnicodeDecodeError as exc:
                if at is None or exc.start < at:
                    at, what = exc.start, f"byte 0x{first[exc.start]:02x} (not utf-8)"
        if at is None:
            return
        if self._decoder is not None:  # the offset in the file, not in its UTF-8 form
            before = sample[:at].decode("utf-8", errors="replace")
            offset = len(before.encode(self.encoding, errors="replace"))
        else:
            offset = at
        raise SourceError(
            f"does not look like {self.encoding} text: {what} at byte offset {offset}"
            + (" (uncompressed)" if self._stream is not self.raw else ""),
            source=self.name,
            line=sample.count(b"\n", 0, at) + 1,
            offset=offset,
            hint="if it is text in another encoding, pass it with --encoding (e.g. utf-16, "
            "latin-1); chute reads CSV, TSV and JSON Lines, not binary files",
        )

    def can_seek(self) -> bool:
        """Whether decoded offsets are file offsets (plain UTF-8 file, past its start)."""
        return (
            self._stream is self.raw
            and self._decoder is None
            and self.raw_size is not None
            and self._started
        )

    def read_at(self, offset: int, size: int) -> bytes:
        """``size`` bytes of the file from byte ``offset``, without moving the reading
        position (from any thread; once the input is closed, from the file opened anew)."""
        try:
            return os.pread(self.raw.fileno(), size, offset)
        except ValueError:  # closed
            with open(self.raw.name, "rb") as f:
                f.seek(offset)
                return f.read(size)

    def seek_forward(self, n: int) -> None:
        self.raw.seek(n, os.SEEK_CUR)

    def fingerprint(self) -> str:
        """Size, modification time and a hash of the first 64 KiB: changes if the file does."""
        if not self.resumable:
            raise SourceError(f"{self.name} cannot be resumed", source=self.name)
        stat = os.fstat(self.raw.fileno())
        with open(self.raw.name, "rb") as f:
            head = hashlib.sha256(f.read(65536)).hexdigest()[:32]
        return f"{stat.st_size}:{stat.st_mtime_ns}:{head}"

    def _transcode(self, data: bytes) -> bytes:
        assert self._decoder is not None
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeError as exc:  # a decode error, or e.g. UTF-16 without its BOM
            at = exc.start if isinstance(exc, UnicodeDecodeError) else 0
            line = self._lines_seen + data.count(b"\n", 0, at) + 1
            offset = self._decoded_bytes + at
            raise SourceError(
                f"bytes that are not valid {self.encoding} at byte offset {offset}",
                source=self.name,
                line=line,
                offset=offset,
                hint="pass the file's real encoding with --encoding",
            ) from None
        self._lines_seen += data.count(b"\n")
        self._decoded_bytes += len(data)
        return text.encode("utf-8")

    def raw_position(self) -> int:
        if self.raw_size is None:
            return self._raw_read
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        if self.raw is not sys.stdin.buffer:
            self._stream.close()
            self.raw.close()
