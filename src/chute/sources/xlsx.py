"""Excel workbooks (``.xlsx``, ``.xlsm``) as a source, read by openpyxl in read-only mode:
the sheet's XML is parsed as it is read, so memory stays flat in the number of rows.  What
openpyxl holds whole is the workbook's shared-strings table (each distinct text once,
about 100 bytes a string): a sheet of millions of distinct texts costs memory for them.
Before reading, one scan of the sheet's XML finds its merged cells and refuses a sheet with
formulas that were never computed (:mod:`chute.sources.xlsx_facts`).

Every value reaches the engine as the text the engine would read from a CSV file, so types
are inferred (and checked against an existing table) exactly as for CSV: an integer as its
digits, a number as the shortest text that reads back as the same double, a date cell as
``YYYY-MM-DD`` and a date-and-time cell as ISO 8601 without a zone, as Excel keeps them,
booleans as ``true``/``false``.  An empty cell is NULL; a cell holding an Excel error
(``#DIV/0!``, ``#N/A``) rejects its record.  Empty rows are not records.  The default sheet
is the first visible one; which sheet was read is noted when the workbook has several.

The first non-empty row is the header (``header=False``: columns ``column_1, column_2, ...``).
An empty header cell under a merged cell is named after the merged cell (``Address``,
``Address_2``), any other empty one after its column letter (``column_D``); a name given
twice gets ``_2``; each renaming is noted in the report.  A record's line is its row number
in the sheet, and a resumed load goes on at the row after the last one committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from chute.errors import ConfigError, SourceError
from chute.sources._spool import spool_stdin
from chute.sources.base import BatchSize, Position, Reject, Sizes, SourceBatch
from chute.sources.xlsx_facts import sheet_facts
from chute.sources.xlsx_header import name_header

__all__ = ["XlsxSource"]


class XlsxSource:
    """One sheet of a workbook, as records."""

    numbers_from_text = True

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        sheet: str | None = None,
        header: bool = True,
        batch_rows: int,
        batch_bytes: int,
    ) -> None:
        path = os.fspath(source)
        self.is_stdin = path == "-"
        self.resumable = not self.is_stdin
        self._spooled: str | None = None
        self._file: BinaryIO | None = None
        if self.is_stdin:
            path = self._spooled = spool_stdin(".xlsx")
        self.name = "<stdin>" if self.is_stdin else path
        self._path = path
        self.batch_size = BatchSize(batch_rows, batch_bytes)
        #: what the report should say about the input (renamed header cells)
        self.notes: list[str] = []
        if not os.path.isfile(path):
            raise SourceError("no such file", source=self.name)
        self._size = os.path.getsize(path)
        # a file object, not the path: openpyxl refuses a path without an Excel extension
        # (a service's upload, a spooled stdin), whatever the content
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        try:
            self._book = load_workbook(self._file, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises what its zip and XML readers raise
            self._cleanup()
            raise SourceError(
                f"not an Excel workbook (.xlsx), or a damaged one: {type(exc).__name__}: {exc}",
                source=self.name,
                hint="an old .xls file must be saved as .xlsx first",
            ) from exc
        try:
            self._sheet = self._pick(sheet)
            self.sheet_name: str = self._sheet.title
            self._epoch_1904 = self._book.epoch.year == 1904
            self._declared_rows = self._sheet.max_row or 0
            self._facts = sheet_facts(self._sheet)
            self._facts.refuse_uncomputed(self.name, self.sheet_name)
            self._sheet.reset_dimensions()  # the file's own dimensions may be wrong: read all
            self._first_record = 1
            self._next_row = 1  # the sheet row reading goes on at
            self._rows_seen = 0
            self._resume_row = 0
            #: without a header, the first row is a record read with the header
            self._pending: tuple[int, Sequence[Any]] | None = None
            self._rows = self._sheet.iter_rows()
            self.columns = self._read_header(header)
        except BaseException:
            self.close()
            raise

    # -- opening

    def _pick(self, sheet: str | None) -> Any:
        """The sheet of cells ``sheet`` names or numbers (charts are not counted); by
        default the first visible one.  Which one was read is noted when there are more."""
        sheets = self._book.worksheets  # sheets of cells, not charts
        names = [s.title for s in sheets]
        if sheet is None:
            visible = [s for s in sheets if s.sheet_state == "visible"] or sheets
            if not visible:
                raise SourceError("the workbook has no sheet of cells", source=self.name)
            found = visible[0]
        elif sheet in names:
            found = sheets[names.index(sheet)]
        elif sheet in self._book.sheetnames:
            raise ConfigError(f"sheet {sheet!r} of {self.name} is a chart: it has no cells")
        elif sheet.isdigit() and 1 <= int(sheet) <= len(sheets):
            found = sheets[int(sheet) - 1]
        else:
            raise ConfigError(
                f"{self.name} has no sheet {sheet!r}; its sheets are: "
                + ", ".join(f"{i} {n!r}" for i, n in enumerate(names, 1)),
                hint="--sheet NAME, or its number counted from 1",
            )
        if len(sheets) > 1:
            self.notes.append(
                f"{self.name}: read sheet {found.title!r} ({names.index(found.title) + 1} of "
                f"{len(sheets)}: {', '.join(repr(n) for n in names)})"
            )
        return found

    def _read_header(self, header: bool) -> list[str]:
        for row in self._rows:
            number = _row_number(row, self._next_row)
            self._next_row = number + 1
            values = [c.value for c in row]
            if all(v is None or v == "" for v in values):
                continue
            if not header:
                self._pending = (number, row)
                return [f"column_{i + 1}" for i in range(_width(values))]

            def merges(at: int = number) -> list[tuple[int, int]]:
                return self._facts.merged_across(at)

            names, notes = name_header(values, merges, row=number)
            self.notes.extend(f"{self.name} [{self.sheet_name}]: {n}" for n in notes)
            return names
        raise SourceError(
            f"sheet {self.sheet_name!r} is empty: no header and no records", source=self.name
        )

    # -- reading

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        width = len(self.columns)
        record = self._first_record
        rows = self._data_rows()
        while True:
            size = self.batch_size if sizes is None else sizes()
            columns: list[list[str | None]] = [[] for _ in range(width)]
            records: list[int] = []
            lines: list[int] = []
            rejects: list[Reject] = []
            used = 0
            for number, cells in _guarded(rows, self.name):
                texts, problem = _texts(cells, width, number, self._epoch_1904)
                if problem is not None:
                    where = Position(self.name, record, number, number)
                    shown = dict(zip(self.columns, texts, strict=False))
                    kind, message, index = problem
                    named = None if index is None else self.columns[index]
                    rejects.append(Reject(where, kind, message, record=shown, column=named))
                else:
                    for column, text in zip(columns, texts, strict=True):
                        column.append(text)
                        used += len(text) if text else 1
                    records.append(record)
                    lines.append(number)
                record += 1
                if len(records) + len(rejects) >= size.rows or (size.bytes and used >= size.bytes):
                    break
            if not records and not rejects:
                return
            data = pa.RecordBatch.from_arrays(
                [pa.array(c, pa.string()) for c in columns], names=self.columns
            )
            at = np.array(lines, dtype=np.int64)
            yield SourceBatch(
                data=data,
                source=self.name,
                records=np.array(records, dtype=np.int64),
                lines=at,
                offsets=at,  # a workbook's offset of a record is its row number
                rejects=tuple(rejects),
                after=Position(self.name, record, self._next_row, self._next_row),
            )

    def _data_rows(self) -> Iterator[tuple[int, Sequence[Any]]]:
        """(row number, cells) of each non-empty row after the header (from the row to
        resume at)."""
        if self._pending is not None:
            number, row = self._pending
            self._pending = None
            if number >= self._resume_row:
                yield number, row
        for row in self._rows:
            number = _row_number(row, self._next_row)
            self._next_row = number + 1
            self._rows_seen = number
            if number < self._resume_row or all(c.value is None or c.value == "" for c in row):
                continue
            yield number, row

    def fingerprint(self) -> str:
        stat = os.stat(self._path)
        with open(self._path, "rb") as f:
            head = hashlib.sha256(f.read(65536)).hexdigest()[:32]
        return f"{stat.st_size}:{stat.st_mtime_ns}:{head}:{self.sheet_name}"

    def resume(self, at: Position) -> None:
        """Go on reading at ``at``: the next batch starts with that record, at its row."""
        assert at.line is not None
        self._resume_row = at.line
        self._first_record = at.record

    def total_bytes(self) -> int | None:
        return self._size

    def bytes_read(self) -> int:
        """The file's size times the share of the sheet's declared rows read so far (the
        sheet is read out of a compressed archive: no byte count tells how far)."""
        if self._declared_rows <= 1:
            return 0
        return min(self._size, self._size * self._rows_seen // self._declared_rows)

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._spooled is not None:
            os.unlink(self._spooled)
            self._spooled = None


def _row_number(row: Sequence[Any], default: int) -> int:
    for cell in row:
        number = getattr(cell, "row", None)
        if number is not None:
            return int(number)
    return default


def _width(values: list[Any]) -> int:
    """The row's width up to its last non-empty cell."""
    n = len(values)
    while n and (values[n - 1] is None or values[n - 1] == ""):
        n -= 1
    return n


def _texts(
    cells: Sequence[Any], width: int, row: int, epoch_1904: bool = False
) -> tuple[list[str | None], tuple[str, str, int | None] | None]:
    """A row's values as text; and (error kind, message, column) when it cannot be a
    record."""
    out: list[str | None] = []
    for i, cell in enumerate(cells):
        value = cell.value
        if i >= width:
            if value is not None and value != "":
                return out, (
                    "shape",
                    f"cell {get_column_letter(i + 1)}{row} has a value, right of the "
                    f"header's last column {get_column_letter(width)}",
                    None,
                )
            continue
        if getattr(cell, "data_type", None) == "e":
            return out, (
                "conversion",
                f"cell {get_column_letter(i + 1)}{row} holds the Excel error {value}",
                i,
            )
        out.append(cell_text(value, getattr(cell, "number_format", "General"), epoch_1904))
    out.extend([None] * (width - len(out)))
    return out, None


#: what a number format shows of a time: hours or seconds (minutes are "m", as are months)
_SHOWS_TIME = re.compile(r"[hs]")
_SHOWS_DATE = re.compile(r"[yd]")
_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


def cell_text(value: Any, number_format: str = "General", epoch_1904: bool = False) -> str | None:
    """A cell's value as the text a CSV file would hold.  ``epoch_1904``: the workbook counts
    days from 1904-01-01 (old Mac Excel), where a date on that first day reads as a time."""
    shown = _LITERALS.sub("", (number_format or "General").lower())
    if epoch_1904 and isinstance(value, dt.time) and _SHOWS_DATE.search(shown):
        value = dt.datetime.combine(dt.date(1904, 1, 1), value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, dt.datetime):
        shows_time = bool(_SHOWS_TIME.search(shown))
        if not shows_time and value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{sign}{int(hours):02d}:{int(minutes):02d}:{secs:09.6f}".rstrip("0").rstrip(".")
    return str(value)


def _guarded(
    rows: Iterator[tuple[int, Sequence[Any]]], name: str
) -> Iterator[tuple[int, Sequence[Any]]]:
    """The rows, with a damaged sheet (XML that stops parsing) said as a source error at
    the row after the last one read."""
    last = 0
    try:
        for number, cells in rows:
            last = number
            yield number, cells
    except (SourceError, ConfigError):
        raise
    except Exception as exc:  # openpyxl raises what its XML parser raises
        raise SourceError(
            f"the sheet's XML is damaged after row {last}: {type(exc).__name__}: {exc}",
            source=name,
        ) from exc
