"""CSV and TSV: whole-record chunks parsed by Arrow's C++ reader into string columns.

NULL versus empty string: an unquoted empty field is NULL, a quoted empty field (``""``) is
the empty string.  Types are not decided here: every column arrives as text and the engine
infers and converts (see :mod:`chute.engine.columns`).
"""

from __future__ import annotations

import csv as pycsv
import io
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from chute.config import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS
from chute.errors import ConfigError, SourceError
from chute.sources._file import TextFileSource
from chute.sources._split import CR, NEWLINE, Chunk
from chute.sources.base import Reject, Sizes, SourceBatch


class CsvSource(TextFileSource):
    numbers_from_text = True

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        delimiter: str = ",",
        quote: str | None = '"',
        encoding: str = "utf-8",
        header: bool = True,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        if len(delimiter) != 1 or delimiter in "\r\n":
            raise ConfigError(f"the delimiter must be one character, not {delimiter!r}")
        if quote is not None and (len(quote) != 1 or quote in "\r\n" or quote == delimiter):
            raise ConfigError(
                f"the quote must be one character other than the delimiter, not {quote!r}"
            )
        super().__init__(
            source,
            encoding=encoding,
            quote=quote,
            batch_rows=batch_rows,
            batch_bytes=batch_bytes,
            header=header,
        )
        self._delimiter = delimiter
        self._quote = quote
        self._header = header
        try:
            self.columns = self._read_header()
        except BaseException:
            self._input.close()
            raise

    def _read_header(self) -> list[str]:
        first = self._splitter.next_chunk(max_rows=1, max_bytes=1)
        while first is not None and first.rows == 0:
            first = self._splitter.next_chunk(max_rows=1, max_bytes=1)
        if first is None:
            raise SourceError("the file is empty: no header and no records", source=self.name)
        if self._header:
            self._check_header_bytes(first)
        self._check_line_endings(first)
        fields = self._python_rows(first.data)[0]
        if not self._header:  # the first record is data: a bad byte in it is its reject
            self._splitter.unread(first)
            return [f"column_{i + 1}" for i in range(len(fields))]
        names = [f.strip() for f in fields]
        for i, name in enumerate(names):
            if not name:
                raise SourceError(
                    f"header field {i + 1} is empty",
                    source=self.name,
                    line=1,
                    hint="name every column, or use --no-header",
                )
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:  # a configuration error, as are names that differ only in case
            raise ConfigError(
                f"{self.name}, line 1: the header repeats column names: {', '.join(dupes)}",
                hint="rename or drop all but one of each in the header",
            )
        return names

    def _check_header_bytes(self, header: Chunk) -> None:
        """A byte of the header that is not UTF-8 is an error naming its offset in the file,
        never a U+FFFD in a column name."""
        try:
            header.data.decode("utf-8")
        except UnicodeDecodeError as err:
            # the decoded input is the file itself here (a transcoded one is valid UTF-8)
            offset = self._input.bom_bytes + int(header.offsets[0]) + err.start
            raise SourceError(
                f"the header has a byte that is not valid {self._input.encoding} "
                f"(0x{header.data[err.start]:02x} at byte offset {offset})",
                source=self.name,
                line=int(header.lines[0]),
                hint="pass the file's real encoding with --encoding (e.g. --encoding latin-1)",
            ) from None

    def _check_line_endings(self, first: Chunk) -> None:
        """Records end at a line feed; a first line holding more than one record ends its
        lines with a carriage return alone (old Mac files), which would be read as one."""
        if b"\r" in first.data.rstrip(b"\r\n") and len(self._python_rows(first.data)) > 1:
            raise SourceError(
                "lines end with a carriage return (CR) alone; records must end with a line "
                "feed (LF or CRLF)",
                source=self.name,
                line=int(first.lines[0]),
                hint="convert the line endings, e.g. tr '\\r' '\\n' < in.csv > out.csv",
            )

    def _python_rows(self, data: bytes) -> list[list[str]]:
        text = data.decode("utf-8", errors="replace")
        return list(
            pycsv.reader(
                io.StringIO(text, newline=""),
                delimiter=self._delimiter,
                quotechar=self._quote or '"',
                quoting=pycsv.QUOTE_MINIMAL if self._quote else pycsv.QUOTE_NONE,
            )
        )

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        for chunk, batch in self._chunks(sizes):
            yield self._batch(chunk, batch)

    def _batch(self, chunk: Chunk, batch: SourceBatch) -> SourceBatch:
        parsed = self._parse_records(chunk, batch, np.arange(chunk.rows), [])
        if parsed is None:
            # the parser found more records than the splitter: a carriage return outside
            # quotes ends a record for the one, not for the other; reject those records
            split = self._bare_carriage_returns(chunk, batch)
            bad = {r.position.record - int(batch.records[0]) for r in split}
            keep = np.array([i for i in range(chunk.rows) if i not in bad], dtype=np.int64)
            parsed = self._parse_records(chunk, batch, keep, split)
        if parsed is None:
            raise SourceError(
                "the parser and the record splitter disagree on where records end",
                source=self.name,
                line=int(chunk.lines[0]),
            )
        return parsed

    def _parse_records(
        self, chunk: Chunk, batch: SourceBatch, keep: np.ndarray, rejects: list[Reject]
    ) -> SourceBatch | None:
        """The records ``keep`` of ``chunk`` parsed, with ``rejects`` and those found here;
        None if the parser cut them into another number of records."""
        data = (
            chunk.data
            if len(keep) == chunk.rows
            else b"".join(chunk.data[int(a) : int(b)] for a, b in chunk.spans[keep])
        )
        try:
            table, invalid = self._parse(data)
        except pa.ArrowInvalid:
            # Arrow refuses the whole chunk when a value is not UTF-8: find those records
            good = []
            for row in keep.tolist():
                try:
                    chunk.record(row).decode("utf-8")
                    good.append(row)
                except UnicodeDecodeError as err:
                    rejects.append(
                        batch.reject(
                            row,
                            "decode",
                            f"bytes that are not valid utf-8 "
                            f"(at byte {err.start + 1} of the record)",
                        )
                    )
            keep = np.array(good, dtype=np.int64)
            spans = chunk.spans[keep]
            data = b"".join(chunk.data[int(a) : int(b)] for a, b in spans)
            try:
                table, invalid = self._parse(data) if good else (self._empty(), [])
            except pa.ArrowInvalid as exc:
                raise SourceError(
                    f"malformed CSV: {exc}", source=self.name, line=int(chunk.lines[0])
                ) from None
        if table.num_rows + len(invalid) != len(keep):
            return None  # the parser cut the records otherwise (a carriage return alone)
        if invalid:
            bad = {number - 1 for number, _ in invalid}
            for number, found in invalid:
                rejects.append(
                    batch.reject(
                        int(keep[number - 1]),
                        "parse",
                        f"expected {len(self.columns)} fields, found {found}",
                    )
                )
            keep = np.array([r for i, r in enumerate(keep) if i not in bad], dtype=np.int64)
        if table.num_rows != len(keep):
            return None
        record_batch = (
            table.combine_chunks().to_batches()[0]
            if table.num_rows
            else pa.RecordBatch.from_pylist([], schema=table.schema)
        )
        rejects.sort(key=lambda r: r.position.record)
        if not rejects:
            return replace(batch, data=record_batch)
        return batch.take(keep, record_batch, tuple(rejects))

    def _bare_carriage_returns(self, chunk: Chunk, batch: SourceBatch) -> list[Reject]:
        """Rejects for records that a carriage return outside quotes cuts in two: the
        parser would end a record there, where the splitter does not."""
        arr = np.frombuffer(chunk.data, dtype=np.uint8)
        crs = np.flatnonzero(arr == CR)
        after = np.append(arr, 0)[crs + 1]
        bare = crs[after != NEWLINE]  # a CR of a CRLF ends its record where it should
        rejects = []
        for row in np.unique(np.searchsorted(chunk.starts, bare, side="right") - 1).tolist():
            try:
                table, invalid = self._parse(chunk.record(row) + b"\n")
            except pa.ArrowInvalid:
                continue  # not UTF-8: rejected as such
            if table.num_rows + len(invalid) > 1:
                rejects.append(
                    batch.reject(
                        row,
                        "parse",
                        "a carriage return (CR) outside quotes ends a line inside this "
                        "record; records end with a line feed (LF or CRLF)",
                    )
                )
        return rejects

    def _empty(self) -> pa.Table:
        return pa.table({name: pa.array([], pa.string()) for name in self.columns})

    def _parse(self, data: bytes) -> tuple[pa.Table, list[tuple[int, int]]]:
        """Parse whole records; return the table and (record number, fields) of bad ones."""
        invalid: list[tuple[int, int]] = []

        def on_invalid(row: Any) -> str:
            invalid.append((int(row.number), int(row.actual_columns)))
            return "skip"

        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(
                column_names=self.columns, use_threads=False, block_size=len(data) + 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self._delimiter,
                quote_char=self._quote or False,
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(self.columns, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        return table, invalid
