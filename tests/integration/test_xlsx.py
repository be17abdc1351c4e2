"""Excel workbooks as a source: values as the same file in CSV would give them (the CSV is
the oracle, loaded into the same database), header cells named, sheets picked, bad cells
rejected, bad workbooks refused, resume after a kill, standard input."""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

import chute
from chute.sources.xlsx import cell_text
from tests.helpers import assert_error, query
from tests.helpers import chute as run_chute


def _workbook(path: Path, rows: list[list[Any]], *, title: str = "Orders", **sheets: Any) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, more in sheets.items():
        other = book.create_sheet(name)
        for row in more:
            other.append(row)
    book.save(path)
    return path


def _random_rows(rng: random.Random, n: int) -> list[list[Any]]:
    """Rows of every kind of cell: integers, decimals, doubles, dates, date-times, times,
    booleans, text, empty cells."""
    rows: list[list[Any]] = []
    for i in range(1, n + 1):
        rows.append(
            [
                i,
                rng.choice([rng.randint(-(10**12), 10**12), None]),
                rng.choice([round(rng.uniform(-1e6, 1e6), 2), 0.1, 1e-7, 123456789.125, None]),
                rng.choice([dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 20000)), None]),
                rng.choice(
                    [
                        dt.datetime(2023, 1, 2, 3, 4, 5, rng.choice([0, 123000, 999000])),
                        dt.datetime(1999, 12, 31),
                        None,
                    ]
                ),
                rng.choice([True, False, None]),
                rng.choice(["plain", 'comma, quote " and\nnewline', "ünïcödé ✓", "", None]),
            ]
        )
    return rows


HEADER = ["id", "big", "amount", "day", "at", "ok", "note"]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_sheet_loads_as_the_same_rows_in_csv_would(
    db_url: str, tmp_path: Path, seed: int
) -> None:
    rows = _random_rows(random.Random(seed), 300)
    book = _workbook(tmp_path / "orders.xlsx", [HEADER, *rows])
    text = tmp_path / "orders.csv"
    with open(text, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(HEADER)
        for row in rows:  # an empty cell is an unquoted empty field: NULL, as in the sheet
            w.writerow(["" if v is None else cell_text(v, _format(v)) for v in row])
    from_book = chute.load(str(book), into=db_url, table="from_book")
    from_csv = chute.load(str(text), into=db_url, table="from_csv")
    assert from_book.read == from_book.written == len(rows)
    assert from_book.columns == from_csv.columns
    assert from_book.columns["day"] == "date" and from_book.columns["ok"] == "boolean"
    cols = ", ".join(f'"{c}"' for c in HEADER)
    got = query(db_url, f"SELECT {cols} FROM from_book ORDER BY id")
    assert got == query(db_url, f"SELECT {cols} FROM from_csv ORDER BY id")
    assert len(got) == len(rows)
    # and the values are the sheet's, exactly: integers, dates, milliseconds
    first = {r[0]: r for r in rows}
    for row in got[:50]:
        want = first[row[0]]
        assert row[1] == want[1]
        if want[3] is not None:
            assert str(row[3]).startswith(want[3].isoformat())


def _format(value: Any) -> str:
    """The number format openpyxl writes for a value of this type."""
    if isinstance(value, dt.datetime):
        return "yyyy-mm-dd h:mm:ss"
    if isinstance(value, dt.date):
        return "yyyy-mm-dd"
    return "General"


def test_empty_merged_and_repeated_header_cells_are_named_and_reported(
    db_url: str, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "Address", None, None, "id", None])
    sheet.merge_cells("B1:C1")
    sheet.append([1, "street", "town", "x", 7])
    book.save(tmp_path / "h.xlsx")
    report = chute.load(str(tmp_path / "h.xlsx"), into=db_url, table="h")
    assert list(report.columns) == ["id", "Address", "Address_2", "column_D", "id_2"]
    notes = " | ".join(report.changes)
    assert "header cell C1 is merged with B1: named Address_2" in notes
    assert "header cell D1 is empty: named column_D" in notes
    assert "header cell E1 repeats 'id': named id_2" in notes
    assert query(db_url, 'SELECT "Address", "Address_2", "column_D", id_2 FROM h') == [
        ("street", "town", "x", 7)
    ]


def test_a_sheet_is_picked_by_name_or_number_and_an_unknown_one_is_refused(
    db_url: str, tmp_path: Path
) -> None:
    book = _workbook(tmp_path / "b.xlsx", [["a"], [1]], Returns=[["r", "s"], [2, "x"], [3, "y"]])
    by_name = chute.load(str(book), into=db_url, table="by_name", sheet="Returns")
    by_number = chute.load(str(book), into=db_url, table="by_number", sheet=2)
    first = chute.load(str(book), into=db_url, table="first")
    assert (by_name.written, by_number.written, first.written) == (2, 2, 1)
    assert query(db_url, "SELECT r, s FROM by_number ORDER BY r") == [(2, "x"), (3, "y")]
    result = run_chute("load", str(book), "--into", db_url, "--sheet", "Nope")
    assert_error(result, 2, "no sheet 'Nope'", "1 'Orders', 2 'Returns'")
    result = run_chute("load", str(book), "--into", db_url, "--sheet", "3")
    assert_error(result, 2, "no sheet '3'")


def test_error_cells_and_cells_right_of_the_header_reject_their_records(
    db_url: str, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["id", "v"], [1, 10], [2, "#DIV/0!"], [], [3, 30, "extra"], [4, 40]):
        sheet.append(row)
    sheet["B3"].data_type = "e"
    book.save(tmp_path / "e.xlsx")
    rejects = tmp_path / "e.rejects.jsonl"
    result = run_chute(
        "load", str(tmp_path / "e.xlsx"), "--into", db_url, "--table", "e",
        "--rejects", str(rejects), "--report", str(tmp_path / "e.json"),
    )  # fmt: skip
    assert result.returncode == 6, result.stderr
    assert query(db_url, "SELECT id, v FROM e ORDER BY id") == [(1, 10), (4, 40)]
    lines = [chute_json(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["error"], r["column"]) for r in lines] == [
        (3, "conversion", "v"),
        (5, "shape", None),
    ]
    assert "cell B3 holds the Excel error #DIV/0!" in lines[0]["message"]
    assert "cell C5 has a value, right of the header's last column B" in lines[1]["message"]
    report = chute_json((tmp_path / "e.json").read_text())
    assert (report["read"], report["written"], report["rejected"]) == (4, 2, 2)


def chute_json(text: str) -> dict[str, Any]:
    import json

    value: dict[str, Any] = json.loads(text)
    return value


def test_bad_workbooks_get_one_clear_error(db_url: str, tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("id,name\n1,a\n")
    assert_error(run_chute("load", str(fake), "--into", db_url), 3, "not an Excel workbook")
    empty = _workbook(tmp_path / "empty.xlsx", [])
    assert_error(run_chute("load", str(empty), "--into", db_url), 3, "sheet 'Orders' is empty")
    text = tmp_path / "t.csv"
    text.write_text("a\n1\n")
    result = run_chute("load", str(text), "--into", db_url, "--sheet", "1")
    assert_error(result, 2, "--sheet picks a sheet of an Excel workbook")
    assert (
        query(db_url, "SELECT count(*) FROM sqlite_master WHERE type = 'table'") == [(0,)]
        if db_url.startswith("sqlite")
        else True
    )


def test_a_killed_load_resumes_at_the_row_after_the_last_commit(
    db_url: str, tmp_path: Path
) -> None:
    rows = [[i, f"name {i}", i * 1.5] for i in range(1, 2001)]
    sheet = [["id", "name", "amount"], *rows[:1000], [], *rows[1000:]]
    book = _workbook(tmp_path / "k.xlsx", sheet)
    out = tmp_path / "k.json"
    cmd = ("load", str(book), "--into", db_url, "--table", "k", "--batch-rows", "150", "--quiet")
    env = {**os.environ, "CHUTE_FAULT": "after-commit:4:kill"}
    killed = run_chute(*cmd, env=env)
    assert killed.returncode != 0
    (done,) = query(db_url, "SELECT count(*) FROM k")[0]
    assert 0 < done < len(rows)
    again = run_chute(*cmd, "--report", str(out))
    assert again.returncode == 0, again.stderr
    report = chute_json(out.read_text())
    assert report["read"] == report["written"] == len(rows)
    assert query(db_url, "SELECT count(*), count(DISTINCT id), sum(id) FROM k") == [
        (len(rows), len(rows), len(rows) * (len(rows) + 1) // 2)
    ]


def test_a_workbook_on_standard_input(db_url: str, tmp_path: Path) -> None:
    book = _workbook(tmp_path / "s.xlsx", [["id", "at"], [1, dt.date(2024, 2, 29)]])
    result = run_chute(
        "load", "-", "--format", "xlsx", "--into", db_url, "--table", "s", "--quiet",
        stdin=book.read_bytes(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [str(v) for v in query(db_url, "SELECT at FROM s")[0]] == ["2024-02-29"]


def test_a_sheet_declaring_a_million_rows_of_two_is_read_as_two(
    db_url: str, tmp_path: Path
) -> None:
    """A dimension bomb: the sheet says A1:XFD1048576 and holds three rows. Nothing is sized
    from the declared dimensions: the load reads what is there."""
    import zipfile

    plain = _workbook(tmp_path / "plain.xlsx", [["id", "v"], [1, "a"], [2, "b"]])
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                assert b'<dimension ref="A1:B3" />' in data
                data = data.replace(
                    b'<dimension ref="A1:B3"/>', b'<dimension ref="A1:XFD1048576"/>'
                )
            out.writestr(item, data)
    report = chute.load(str(bomb), into=db_url, table="bomb")
    # in time, too: a reader that trusted the dimensions would walk 1,048,576 rows of
    # 16,384 empty cells each (the test's timeout); peak RSS here is the test process's
    assert (report.read, report.written) == (2, 2)
    assert query(db_url, "SELECT id, v FROM bomb ORDER BY id") == [(1, "a"), (2, "b")]


def test_a_merged_header_cell_at_the_right_end_makes_its_columns(
    db_url: str, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "Address"])
    sheet.merge_cells("B1:C1")
    sheet.append([1, "street", "city"])
    book.save(tmp_path / "m.xlsx")
    report = chute.load(str(tmp_path / "m.xlsx"), into=db_url, table="m")
    assert list(report.columns) == ["id", "Address", "Address_2"]
    assert query(db_url, 'SELECT id, "Address", "Address_2" FROM m') == [(1, "street", "city")]


def test_formulas_never_computed_refuse_the_sheet_before_anything_is_written(
    db_url: str, tmp_path: Path
) -> None:
    book = _workbook(tmp_path / "f.xlsx", [["id", "twice"], [1, "=A2*2"], [2, "=1/0"]])
    result = run_chute("load", str(book), "--into", db_url, "--table", "f")
    assert_error(result, 3, "2 formula cell(s) that were never computed (the first: B2)")
    assert "save the workbook in Excel or LibreOffice" in result.stderr


def test_charts_hidden_sheets_and_the_1904_calendar(db_url: str, tmp_path: Path) -> None:
    from openpyxl.chart import BarChart

    book = Workbook()
    hidden = book.active
    assert hidden is not None
    hidden.title = "secret"
    hidden.append(["s"])
    hidden.append(["x"])
    hidden.sheet_state = "hidden"
    book.create_chartsheet("chart").add_chart(BarChart())
    data = book.create_sheet("data")
    data.append(["id", "day", "at"])
    data.append([1, dt.date(1904, 1, 1), dt.datetime(1904, 1, 1, 12, 0)])
    data.append([2, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 8, 30)])
    book.epoch = dt.datetime(1904, 1, 1)  # old Mac Excel's calendar: day 0 is 1904-01-01
    book.save(tmp_path / "c.xlsx")
    report = chute.load(str(tmp_path / "c.xlsx"), into=db_url, table="c")  # the visible one
    assert any("read sheet 'data' (2 of 2: 'secret', 'data')" in n for n in report.changes)
    assert report.columns["day"] == "date" and report.columns["at"] == "timestamp"
    got = [tuple(str(v) for v in r) for r in query(db_url, "SELECT id, day, at FROM c ORDER BY id")]
    assert got == [
        ("1", "1904-01-01", "1904-01-01 12:00:00"),
        ("2", "2024-02-29", "2024-02-29 08:30:00"),
    ]
    assert chute.load(str(tmp_path / "c.xlsx"), into=db_url, table="c2", sheet=2).written == 2
    result = run_chute("load", str(tmp_path / "c.xlsx"), "--into", db_url, "--sheet", "chart")
    assert_error(result, 2, "sheet 'chart'", "is a chart")


def test_a_damaged_or_missing_workbook_is_one_error_and_leaves_no_temp_file(
    db_url: str, tmp_path: Path
) -> None:
    import glob
    import tempfile
    import zipfile

    plain = _workbook(tmp_path / "plain.xlsx", [["id"], [1]])
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(broken, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = data[: len(data) // 2]
            out.writestr(item, data)
    spooled = os.path.join(tempfile.gettempdir(), "chute-stdin-*.xlsx")
    before = set(glob.glob(spooled))
    for args, stdin in (((str(broken),), None), (("-", "--format", "xlsx"), broken.read_bytes())):
        result = run_chute("load", *args, "--into", db_url, "--table", "b", stdin=stdin)
        assert_error(result, 3, "damaged")
    assert set(glob.glob(spooled)) == before
    result = run_chute("load", str(tmp_path / "nothere.xlsx"), "--into", db_url)
    assert_error(result, 3, "no such file")
