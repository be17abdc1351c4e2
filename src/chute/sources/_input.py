"""Opening an input: a path, a ``.gz`` path or stdin, read as UTF-8 bytes with progress."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
import sys
from pathlib import Path
from typing import BinaryIO

from chute.errors import ConfigError, SourceError

STDIN = "-"
BOM = codecs.BOM_UTF8


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

    def __init__(self, source: str | os.PathLike[str], *, encoding: str = "utf-8") -> None:
        self.encoding = check_encoding(encoding)
        self.raw: BinaryIO
        if str(source) == STDIN:
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
            self.raw_size = os.fstat(self.raw.fileno()).st_size
            self.resumable = True
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
            if data.startswith(BOM):
                data = data[len(BOM) :]
                self.bom_bytes = len(BOM) if self._decoder is None else 0
        return data

    def can_seek(self) -> bool:
        """Whether decoded offsets are file offsets (plain UTF-8 file, past its start)."""
        return (
            self._stream is self.raw
            and self._decoder is None
            and self.raw_size is not None
            and self._started
        )

    def seek_forward(self, n: int) -> None:
        self.raw.seek(n, os.SEEK_CUR)

    def fingerprint(self) -> str:
        """Size, modification time and a hash of the first 64 KiB: changes if the file does."""
        if self.raw_size is None:
            raise SourceError("standard input cannot be resumed", source=self.name)
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
            raise SourceError(
                f"bytes that are not valid {self.encoding}",
                source=self.name,
                line=line,
                hint="pass the file's real encoding with --encoding",
            ) from None
        self._lines_seen += data.count(b"\n")
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
