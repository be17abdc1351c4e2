"""Sources: the inputs chute reads, chosen by format name or file extension."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from chute.config import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, LoadOptions
from chute.errors import ConfigError
from chute.sources._input import Input
from chute.sources.base import Position, Source, SourceBatch
from chute.sources.csv import CsvSource
from chute.sources.iterable import IterableSource
from chute.sources.json_array import JsonArraySource
from chute.sources.jsonl import JsonlSource

FORMATS = ("csv", "tsv", "jsonl", "json", "xlsx", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",  # or JSON Lines: see _json_or_lines
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}

__all__ = ["FORMATS", "Position", "Source", "SourceBatch", "detect_format", "open_source"]


def detect_format(path: str) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    ext = os.path.splitext(name)[1].lower()
    try:
        return _EXTENSIONS[ext]
    except KeyError:
        raise ConfigError(
            f"cannot tell the format of {path!r} from its extension",
            hint=f"pass --format ({'|'.join(FORMATS)})",
        ) from None


def open_source(source: str | os.PathLike[str] | Iterable[Any], options: LoadOptions) -> Source:
    """Open ``source`` (a path, ``-`` for stdin, or an iterable of dicts) for reading, as
    ``options`` say (format, delimiter, quote, encoding, header, sheet, batch size)."""
    # the size of batches read without the engine (which passes its own to batches())
    batch_rows = options.batch_rows or DEFAULT_BATCH_ROWS
    batch_bytes = options.batch_bytes or DEFAULT_BATCH_BYTES
    format = options.format
    if not isinstance(source, (str, os.PathLike)):
        if format is not None or options.sheet is not None:
            raise ConfigError("format and sheet apply to files, not to an iterable of records")
        return IterableSource(source, batch_rows=batch_rows)
    path = os.fspath(source)
    if format is None:
        if path == "-":
            raise ConfigError("reading stdin needs --format", hint="e.g. --format csv")
        format = detect_format(path)
        if format == "json":
            format = _json_or_lines(path, options.encoding)
    if options.sheet is not None and format != "xlsx":
        raise ConfigError(
            f"--sheet picks a sheet of an Excel workbook; {path} is read as {format}",
            hint="leave --sheet out, or pass --format xlsx",
        )
    if format == "xlsx":
        from chute.sources.xlsx import XlsxSource  # openpyxl: 0.1 s to import, when needed

        return XlsxSource(
            path,
            sheet=options.sheet,
            header=options.header,
            batch_rows=batch_rows,
            batch_bytes=batch_bytes,
        )
    if format == "parquet":
        if options.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise ConfigError("--encoding applies to text files; Parquet strings are UTF-8")
        from chute.sources.parquet import ParquetSource  # pyarrow.parquet, when needed

        return ParquetSource(path, batch_rows=batch_rows, batch_bytes=batch_bytes)
    if format not in FORMATS:  # a format of another package (entry point chute.sources)
        from chute.registry import source_class

        found: Source = source_class(format)(path, options)
        return found
    if format == "jsonl":
        return JsonlSource(
            path, encoding=options.encoding, batch_rows=batch_rows, batch_bytes=batch_bytes
        )
    if format == "json":
        return JsonArraySource(
            path, encoding=options.encoding, batch_rows=batch_rows, batch_bytes=batch_bytes
        )
    default_delimiter, default_quote = (",", '"') if format == "csv" else ("\t", None)
    quote = options.quote
    return CsvSource(
        path,
        delimiter=options.delimiter or default_delimiter,
        quote=(quote or None) if quote is not None else default_quote,
        encoding=options.encoding,
        header=options.header,
        batch_rows=batch_rows,
        batch_bytes=batch_bytes,
    )


def _json_or_lines(path: str, encoding: str) -> str:
    """A ``.json`` file is one JSON array when it starts with "[" (after blanks), else JSON
    Lines (files of one object per line are often named ``.json`` too)."""
    inp = Input(path, encoding=encoding)
    try:
        head = b""
        while not head.strip() and (data := inp.read(65536)):
            head += data
    finally:
        inp.close()
    return "json" if head.lstrip()[:1] == b"[" else "jsonl"
