"""What an uploaded file is, by its first bytes (never by its name alone)."""

from __future__ import annotations

import gzip
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

#: the formats an import takes, as ``chute load --format`` names them
KNOWN = ("csv", "tsv", "jsonl", "json", "xlsx", "parquet")
_HEAD = 64 * 1024
UNKNOWN_FORMAT = "not a file chute imports (CSV, TSV, JSON Lines, JSON, .xlsx, Parquet, .gz)"


@dataclass(frozen=True)
class Sniffed:
    """A file's format (as ``--format`` names it) and, for text, the encoding its first
    64 KiB decode in: ``utf-8``, else a legacy one (``cp1252``, then ``latin-1``)."""

    format: str
    encoding: str | None = None


def sniff(path: Path, name: str = "") -> Sniffed | None:
    """What the file at ``path`` is (``name``: the name the client gave it, which breaks a
    tie between CSV and TSV); None: nothing chute reads."""
    with path.open("rb") as f:
        head = f.read(_HEAD)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as book:
                names = set(book.namelist())
        except zipfile.BadZipFile:
            return None
        return Sniffed("xlsx") if "xl/workbook.xml" in names else None
    if head.startswith(b"PAR1"):  # Parquet's magic (its footer, at the end, is checked on open)
        return Sniffed("parquet")
    if head.startswith(b"\x1f\x8b"):
        with gzip.open(path, "rb") as g:
            try:
                head = g.read(_HEAD)
            except (OSError, EOFError, zlib.error):  # not gzip after all, or damaged
                return None
    return _text_format(head, name.lower().removesuffix(".gz"))


def _text_format(head: bytes, name: str) -> Sniffed | None:
    if b"\x00" in head:  # binary (or UTF-16, which the loaders do not read)
        return None
    encoding = "utf-8"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            encoding = "cp1252"
            try:
                text = head.decode(encoding)
            except UnicodeDecodeError:
                encoding = "latin-1"
                text = head.decode(encoding)
        else:
            text = head[: exc.start].decode("utf-8")
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        return None
    if body[0] == "[":
        return Sniffed("json", encoding)
    if body[0] == "{":
        return Sniffed("jsonl", encoding)
    first = body.splitlines()[0]
    if name.endswith(".tsv") or ("\t" in first and "," not in first):
        return Sniffed("tsv", encoding)
    return Sniffed("csv", encoding)
