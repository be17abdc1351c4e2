"""Parquet files loaded into PostgreSQL and SQLite, through ``chute load`` and ``chute.load``:
the file's own column types make the table (nothing inferred), every row of every row group
is stored once, a killed load resumes in the row group where it stopped, rows the table
refuses are rejected with their row number, and bad files or tables that cannot take the
file's types are refused with one clear error before anything is written."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import chute
from chute.errors import SourceError
from tests.helpers import assert_error, execute, query
from tests.helpers import chute as run_chute
from tests.integration.readback import expect_types, is_pg, rejects_in, table_exists
from tests.parquet_tables import ENGINE_TYPES, U1, every_type

UTC = dt.UTC
ROWS = 10_000  # in row groups of 1,000


def _write(path: Path, table: pa.Table, **kwargs: Any) -> Path:
    pq.write_table(table, path, **kwargs)
    return path


def _numbered(n: int) -> pa.Table:
    """``n`` rows whose id (1000 + the row number) is not their row number."""
    return pa.table(
        {
            "id": pa.array([1000 + r for r in range(1, n + 1)], pa.int64()),
            "name": [f"name {r}" for r in range(1, n + 1)],
        }
    )


def _grouped(path: Path, n: int = ROWS) -> Path:
    _write(path, _numbered(n), row_group_size=1000)
    assert pq.ParquetFile(path).metadata.num_row_groups == n // 1000
    return path


def _report(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def _once(url: str, table: str, n: int = ROWS) -> None:
    """Every row 1..n is in ``table`` exactly once."""
    assert query(url, f"SELECT count(*), count(DISTINCT id), sum(id) FROM {table}") == [
        (n, n, 1000 * n + n * (n + 1) // 2)
    ]


def _one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return str(lines[0])


# -- types -------------------------------------------------------------------------------


def _every_type() -> pa.Table:
    return every_type("2024-01-02", int8=True)


TYPES = {"n": "bigint", **ENGINE_TYPES}

EXPECTED = [
    {
        "n": 1,
        "i32": 1,
        "i64": 2**62,
        "u64": Decimal(2**64 - 1),
        "f32": float(np.float32(0.1)),  # the float32's own value
        "d10": Decimal("12345678.91"),
        "d50": "1234567890123456789012345678901234567890.0123456789",
        "ok": True,
        "day": dt.date(2024, 2, 29),
        "at": dt.datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC),
        "naive": dt.datetime(2024, 3, 31, 2, 30, 0, 123456),
        "datelike": "2024-01-01",
        "u": str(U1),
        "dict": "a",
        "tags": [1, 2],
        "st": {"x": 1, "y": "a"},
        "mp": {"a": 1, "b": 2},
        "tm": "12:34:56.123456",
        "bin": "\\x00ff",
        "nothing": None,
    },
    {
        "n": 2,
        "i32": -(2**31),
        "i64": -(2**63),
        "u64": Decimal(2**63),
        "f32": 1.5,
        "d10": Decimal("-0.01"),
        "d50": "-1.5000000000",
        "ok": False,
        "day": dt.date(1, 1, 1),
        "at": dt.datetime(2023, 11, 14, 22, 13, 20, 0, tzinfo=UTC),
        "naive": dt.datetime(1970, 1, 1),
        "datelike": "2024-01-02",
        "u": "00000000-0000-0000-0000-000000000000",
        "dict": None,
        "tags": [],
        "st": {"x": None, "y": "b"},
        "mp": {},
        "tm": "00:00:00",
        "bin": "\\x",
        "nothing": None,
    },
    {name: None for name in TYPES} | {"n": 3, "dict": "a"},
]


def _as_python(url: str, name: str, value: Any) -> Any:
    """A value read back, as the Python value it stands for (SQLite keeps most as text)."""
    if value is None:
        return None
    if is_pg(url):
        return str(value) if isinstance(value, uuid.UUID) else value
    kind = TYPES[name]
    if kind == "json":
        return json.loads(value)
    if kind.startswith("numeric"):
        return Decimal(value)
    if kind == "boolean":
        return bool(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind in ("timestamp", "timestamptz"):
        return dt.datetime.fromisoformat(value)
    return value


def _rows(url: str, table: str, names: list[str]) -> list[dict[str, Any]]:
    cols = ", ".join(f'"{c}"' for c in names)
    return [
        {c: _as_python(url, c, v) for c, v in zip(names, row, strict=True)}
        for row in query(url, f'SELECT {cols} FROM "{table}" ORDER BY n')
    ]


def test_every_type_is_the_files_own_in_a_new_table(db_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "types.parquet", _every_type())
    report = chute.load(path, into=db_url, table="t")
    assert (report.read, report.written, report.rejected) == (3, 3, 0)
    # uuid where the database has one (PostgreSQL), its canonical text elsewhere
    types = TYPES | {"u": "uuid" if is_pg(db_url) else "text"}
    assert report.columns == types
    expect_types(db_url, "t", types)
    got = _rows(db_url, "t", list(TYPES))
    for want, row in zip(EXPECTED, got, strict=True):
        assert row == want
        if row["at"] is not None:  # the same instant, whatever zone it is shown in
            assert row["at"].utcoffset() == dt.timedelta(0)


def test_a_string_column_of_dates_and_numbers_stays_text(db_url: str, tmp_path: Path) -> None:
    table = pa.table({"day": ["2024-01-01", "2024-02-29"], "zip": ["00123", "04567"]})
    report = chute.load(_write(tmp_path / "s.parquet", table), into=db_url, table="s")
    assert report.columns == {"day": "text", "zip": "text"}
    expect_types(db_url, "s", {"day": "text", "zip": "text"})
    assert query(db_url, "SELECT day, zip FROM s ORDER BY day") == [
        ("2024-01-01", "00123"),
        ("2024-02-29", "04567"),
    ]


def test_zoned_nanoseconds_in_the_hour_a_clock_goes_back_are_stored(
    db_url: str, tmp_path: Path
) -> None:
    """Pandas writes zoned times as timestamp[ns, tz=...]. On 2024-10-27 Paris's clocks went
    back from 03:00 to 02:00: 00:30 and 01:30 UTC are both 02:30 there, and both are plain
    instants in the file."""
    instants = [
        dt.datetime(2024, 10, 26, 23, 30, tzinfo=UTC) + dt.timedelta(minutes=30 * i)
        for i in range(6)
    ]
    table = pa.table(
        {
            "n": list(range(1, 7)),
            "at": pa.array(instants, pa.timestamp("ns", tz="Europe/Paris")),
        }
    )
    path = _write(tmp_path / "autumn.parquet", table)
    result = run_chute("load", str(path), "--into", db_url, "--table", "autumn", "--quiet")
    assert result.returncode == 0, result.stderr
    got = query(db_url, "SELECT at FROM autumn ORDER BY n")
    if not is_pg(db_url):
        got = [(dt.datetime.fromisoformat(v),) for (v,) in got]
    assert got == [(i,) for i in instants]


@pytest.mark.postgres
def test_nanoseconds_are_rounded_to_microseconds_as_postgresql_rounds_them(
    pg_url: str, tmp_path: Path
) -> None:
    """The module says nanoseconds are rounded "as PostgreSQL's text input rounds them": the
    same nanoseconds written as text and cast by the server are the oracle (ties included)."""
    nanos = [
        1_700_000_000_000_001_500,
        1_700_000_000_000_002_500,
        1_700_000_000_000_003_500,
        1_700_000_000_123_456_789,
        -1_500,
        -2_500,
    ]
    table = pa.table(
        {
            "n": list(range(len(nanos))),
            "zoned": pa.array(nanos, pa.timestamp("ns", tz="UTC")),
            "naive": pa.array(nanos, pa.timestamp("ns")),
        }
    )
    chute.load(_write(tmp_path / "ns.parquet", table), into=pg_url, table="ns")
    got = query(pg_url, "SELECT zoned, naive FROM ns ORDER BY n")
    for v, (zoned, naive) in zip(nanos, got, strict=True):
        seconds, fraction = divmod(v, 10**9)
        whole = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
        text = f"{whole:%Y-%m-%d %H:%M:%S}.{fraction:09d}"
        oracle = query(pg_url, f"SELECT '{text}+00'::timestamptz, '{text}'::timestamp")[0]
        assert (zoned, naive) == oracle, text


def test_decimals_of_more_than_38_digits_are_text_of_plain_digits(
    db_url: str, tmp_path: Path
) -> None:
    """A decimal256 column is text of every digit; the oracle is the same values in a
    decimal128 column of the same file, which chute stores as a number: the same digits,
    never an exponent ("1E-10")."""
    values = [Decimal("0.0000000001"), Decimal("0"), Decimal("-0.0000001"), Decimal("12.5"), None]
    table = pa.table(
        {
            "n": list(range(len(values))),
            "narrow": pa.array(values, pa.decimal128(20, 10)),
            "wide": pa.array(values, pa.decimal256(50, 10)),
        }
    )
    report = chute.load(_write(tmp_path / "dec.parquet", table), into=db_url, table="dec")
    assert report.columns == {"n": "bigint", "narrow": "numeric(38,10)", "wide": "text"}
    narrow_text = "narrow::text" if is_pg(db_url) else "narrow"
    got = query(db_url, f"SELECT {narrow_text}, wide FROM dec ORDER BY n")
    assert got[0][0] == "0.0000000001"
    assert [w for _, w in got] == [n for n, _ in got]


# -- row groups and rejects --------------------------------------------------------------


def test_every_row_of_every_row_group_is_stored_once_in_order(db_url: str, tmp_path: Path) -> None:
    """10 row groups of 1,000 rows, batches of 750 (cut across groups), and a CHECK that
    refuses every 997th row: the rejects name the rows by their number in the file."""
    execute(db_url, "CREATE TABLE g (id bigint NOT NULL, name text, v bigint CHECK (v <> 0))")
    rows = range(1, ROWS + 1)
    table = _numbered(ROWS).append_column(
        "v", pa.array([0 if r % 997 == 0 else r for r in rows], pa.int32())
    )
    path = _write(tmp_path / "g.parquet", table, row_group_size=1000)
    rejects = tmp_path / "g.rejects.jsonl"
    report = chute.load(path, into=db_url, table="g", batch_rows=750, rejects=str(rejects))
    bad = [r for r in rows if r % 997 == 0]
    assert (report.read, report.written, report.rejected) == (ROWS, ROWS - len(bad), len(bad))
    found = rejects_in(report, rejects)
    assert sorted(r["record_number"] for r in found) == bad
    assert all(r["record"]["id"] == 1000 + r["record_number"] for r in found)
    assert all(r["source"] == str(path) and r["line"] is None for r in found)
    stored = query(db_url, "SELECT id FROM g ORDER BY id")
    assert [i for (i,) in stored] == [1000 + r for r in rows if r % 997]
    if not is_pg(db_url):  # one writer: in the file's order
        in_order = query(db_url, "SELECT id FROM g ORDER BY rowid")
        assert [i for (i,) in in_order] == [1000 + r for r in rows if r % 997]


@pytest.mark.postgres
def test_rows_a_not_null_or_check_constraint_refuses_are_rejected_with_their_numbers(
    pg_url: str, tmp_path: Path
) -> None:
    execute(
        pg_url,
        "CREATE TABLE stock (id bigint PRIMARY KEY, qty integer NOT NULL CHECK (qty > 0), "
        "name text)",
    )
    rows = range(1, 3001)
    nulls = [r for r in rows if r % 500 == 0]
    negative = [r for r in rows if r % 701 == 0]
    qty = [None if r in nulls else (-r if r in negative else r) for r in rows]
    table = pa.table(
        {
            "id": pa.array([1000 + r for r in rows], pa.int64()),
            "qty": pa.array(qty, pa.int32()),
            "name": [f"n{r}" for r in rows],
        }
    )
    path = _write(tmp_path / "stock.parquet", table, row_group_size=1000)
    out, rejects = tmp_path / "stock.json", tmp_path / "stock.rejects.jsonl"
    result = run_chute(
        "load", str(path), "--into", pg_url, "--table", "stock", "--batch-rows", "400",
        "--rejects", str(rejects), "--report", str(out), "--quiet",
    )  # fmt: skip
    assert result.returncode == 6, result.stderr  # completed, with rejects
    report = _report(out)
    bad = sorted(nulls + negative)
    assert (report["read"], report["written"], report["rejected"]) == (
        3000,
        3000 - len(bad),
        len(bad),
    )
    assert report["read"] == report["written"] + report["rejected"]
    found = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert sorted(r["record_number"] for r in found) == bad
    by_row = {r["record_number"]: r for r in found}
    for r in nulls:
        assert by_row[r]["sqlstate"] == "23502" and by_row[r]["column"] == "qty"
    for r in negative:
        assert by_row[r]["sqlstate"] == "23514"
        assert by_row[r]["record"] == {"id": 1000 + r, "qty": -r, "name": f"n{r}"}
    assert query(pg_url, "SELECT count(*), min(qty) FROM stock") == [(3000 - len(bad), 1)]
    assert [i for (i,) in query(pg_url, "SELECT id FROM stock ORDER BY id")] == [
        1000 + r for r in rows if r not in bad
    ]


@pytest.mark.postgres
def test_an_existing_table_whose_columns_fit_takes_the_file_and_judges_each_value(
    pg_url: str, tmp_path: Path
) -> None:
    """Integers into integer, a date into timestamp, a uuid into text, nested values into
    jsonb and varchar: all fit.  A uint64 beyond bigint, and a string that is no integer,
    are judged row by row."""
    execute(
        pg_url,
        "CREATE TABLE fits (id integer, big bigint, day timestamp, u text, tags jsonb, "
        "s varchar(50), num integer)",
    )
    table = pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int32()),
            "big": pa.array([5, 2**63, 6, 7], pa.uint64()),
            "day": pa.array([dt.date(2024, 1, 1)] * 4, pa.date32()),
            "u": pa.array([U1.bytes] * 4, pa.uuid()),
            "tags": pa.array([[1], [2, 3], None, []], pa.list_(pa.int64())),
            "s": pa.array([{"x": 1}, {"x": 2}, None, {"x": 4}]),
            "num": ["1", "2", "x", "4"],
        }
    )
    rejects = tmp_path / "fits.rejects.jsonl"
    report = chute.load(
        _write(tmp_path / "fits.parquet", table), into=pg_url, table="fits", rejects=str(rejects)
    )
    assert (report.read, report.written, report.rejected) == (4, 2, 2)
    found = rejects_in(report, rejects)
    assert sorted((r["record_number"], r["column"]) for r in found) == [(2, "big"), (3, "num")]
    assert query(pg_url, "SELECT id, big, day, u, tags, s, num FROM fits ORDER BY id") == [
        (1, 5, dt.datetime(2024, 1, 1), str(U1), [1], '{"x":1}', 1),
        (4, 7, dt.datetime(2024, 1, 1), str(U1), [], '{"x":4}', 4),
    ]


# -- resume ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["after-commit:4:kill", "before-commit:4:kill"])
def test_a_killed_load_resumes_in_the_row_group_where_it_stopped(
    db_url: str, tmp_path: Path, fault: str
) -> None:
    path = _grouped(tmp_path / "k.parquet")
    out = tmp_path / "k.json"
    cmd = ("load", str(path), "--into", db_url, "--table", "k", "--batch-rows", "700", "--quiet")
    killed = run_chute(*cmd, env={**os.environ, "CHUTE_FAULT": fault})
    assert killed.returncode != 0
    (done,) = query(db_url, "SELECT count(*) FROM k")[0]
    assert 0 < done < ROWS and done % 700 == 0
    assert done % 1000 != 0  # the resume point is inside a row group, not at its start
    again = run_chute(*cmd, "--report", str(out))
    assert again.returncode == 0, again.stderr
    report = _report(out)
    assert (report["read"], report["written"], report["rejected"]) == (ROWS, ROWS, 0)
    _once(db_url, "k")
    # it went on at the row after the last one committed (in row group done // 1000)
    assert report["resumed_at"] == f"{path}, record {done + 1}"
    notes = [c for c in report["changes"] if c.startswith("resuming")]
    assert len(notes) == 1
    assert f"{done:,} rows already loaded" in notes[0]
    # the note says where, as resumed_at does: a Parquet file has records, not lines
    assert "None" not in notes[0], notes[0]
    assert str(done + 1) in notes[0].replace(",", ""), notes[0]


def test_a_file_changed_since_the_load_stopped_is_not_resumed(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = _grouped(tmp_path / "c.parquet")
    cmd = (
        "load",
        str(path),
        "--into",
        sqlite_url,
        "--table",
        "c",
        "--batch-rows",
        "700",
        "--quiet",
    )
    killed = run_chute(*cmd, env={**os.environ, "CHUTE_FAULT": "after-commit:2:kill"})
    assert killed.returncode != 0
    assert query(sqlite_url, "SELECT count(*) FROM c") == [(1400,)]
    table = _numbered(ROWS)
    _write(
        path,
        table.set_column(1, "name", pa.array([f"other {r}" for r in range(ROWS)])),
        row_group_size=1000,
    )
    refused = run_chute(*cmd)
    assert_error(refused, 2, "changed since the load into c stopped")
    assert "--restart" in refused.stderr
    assert query(sqlite_url, "SELECT count(*) FROM c") == [(1400,)]
    restarted = run_chute(*cmd, "--restart")
    assert restarted.returncode == 0, restarted.stderr
    assert query(sqlite_url, "SELECT count(*) FROM c WHERE name LIKE 'other %'") == [(ROWS,)]


# -- bad input ---------------------------------------------------------------------------


def _footer_damaged(path: Path, how: str) -> Path:
    data = _grouped(path, 2000).read_bytes()
    if how == "truncated":
        data = data[:-10]
    elif how == "overwritten":
        length = int.from_bytes(data[-8:-4], "little")
        data = data[: -8 - length] + b"\xff" * length + data[-8:]
    else:  # its length says more than the file holds
        data = data[:-8] + (2**31 - 1).to_bytes(4, "little") + data[-4:]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("how", ["truncated", "overwritten", "length"])
def test_a_file_whose_footer_is_damaged_gets_one_clear_error(
    sqlite_url: str, tmp_path: Path, how: str
) -> None:
    path = _footer_damaged(tmp_path / "bad.parquet", how)
    result = run_chute("load", str(path), "--into", sqlite_url, "--table", "bad")
    assert_error(result, 3, "Parquet", "footer", str(path))
    _one_error_line(result)
    assert not table_exists(sqlite_url, "bad")


def test_a_file_named_parquet_that_is_not_is_refused(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("id,name\n1,a\n")
    result = run_chute("load", str(path), "--into", db_url, "--table", "fake")
    assert_error(result, 3, "not a Parquet file", str(path))
    _one_error_line(result)
    assert not table_exists(db_url, "fake")


def _misfits(path: Path) -> Path:
    return _write(
        path,
        pa.table(
            {
                "id": pa.array([1, 2], pa.int64()),
                "day": pa.array([dt.date(2024, 1, 1)] * 2, pa.date32()),
                "at": pa.array([dt.datetime(2024, 1, 1, 5)] * 2, pa.timestamp("us")),
                "tags": pa.array([[1], [2, 3]], pa.list_(pa.int64())),
                "pairs": pa.array([[("a", 1)], []], pa.map_(pa.string(), pa.int64())),
                "point": pa.array([{"x": 1}, {"x": 2}]),
                "note": ["a", "b"],
            }
        ),
    )


@pytest.mark.postgres
def test_an_existing_table_that_cannot_take_the_files_types_is_refused_naming_each_column(
    pg_url: str, tmp_path: Path
) -> None:
    execute(
        pg_url,
        "CREATE TABLE misfit (id bigint, day integer, at date, tags integer[], pairs integer[], "
        "point integer, note text)",
    )
    path = _misfits(tmp_path / "misfit.parquet")
    schema = pq.read_schema(path)
    result = run_chute("load", str(path), "--into", pg_url, "--table", "misfit")
    line = _one_error_line(result)
    assert_error(
        result,
        2,
        "misfit",
        "day is date32[day] in the file and integer in the table",
        "at is timestamp[us] in the file and date in the table",
        f"pairs is {schema.field('pairs').type} in the file and integer[] in the table",
        f"point is {schema.field('point').type} in the file and integer in the table",
    )
    assert line.count("nested values need a JSON (or text) column") == 2
    # those fit: a list goes into an array (the server judges each element)
    assert "id is" not in line and "note is" not in line and "tags is" not in line
    assert query(pg_url, "SELECT count(*) FROM misfit") == [(0,)]


def test_an_existing_sqlite_table_that_cannot_take_the_files_types_is_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    execute(
        sqlite_url,
        "CREATE TABLE misfit (id INTEGER, day INTEGER, at DATE, tags INTEGER, pairs TEXT, "
        "point JSON, note TEXT)",
    )
    path = _misfits(tmp_path / "misfit.parquet")
    result = run_chute("load", str(path), "--into", sqlite_url, "--table", "misfit")
    assert_error(
        result,
        2,
        "day is date32[day] in the file and INTEGER in the table",
        "at is timestamp[us] in the file and DATE in the table",
        f"tags is {pq.read_schema(path).field('tags').type} in the file and INTEGER in the table",
    )
    assert "pairs is" not in result.stderr and "point is" not in result.stderr
    assert query(sqlite_url, "SELECT count(*) FROM misfit") == [(0,)]


@pytest.mark.postgres
def test_a_renamed_column_that_does_not_fit_is_named_with_the_files_type(
    pg_url: str, tmp_path: Path
) -> None:
    """With --rename the refusal still says each column's type as the file declares it
    (not the text or UTC microseconds chute turns it into)."""
    execute(pg_url, "CREATE TABLE renamed (id bigint, labels integer, day date)")
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "tags": pa.array([[1], [2]], pa.list_(pa.int64())),
            "at": pa.array([1, 2], pa.timestamp("ns", tz="Europe/Paris")),
        }
    )
    path = _write(tmp_path / "renamed.parquet", table)
    schema = pq.read_schema(path)
    result = run_chute(
        "load", str(path), "--into", pg_url, "--table", "renamed",
        "--rename", "tags=labels", "--rename", "at=day",
    )  # fmt: skip
    assert_error(
        result,
        2,
        f"{schema.field('tags').type} in the file and integer in the table",
        "timestamp[ns, tz=Europe/Paris] in the file and date in the table",
    )
    assert query(pg_url, "SELECT count(*) FROM renamed") == [(0,)]


def test_an_encoding_is_refused_for_a_parquet_file(sqlite_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "e.parquet", _numbered(3))
    result = run_chute(
        "load", str(path), "--into", sqlite_url, "--table", "e", "--encoding", "latin-1"
    )
    assert_error(result, 2, "--encoding", "Parquet")
    assert not table_exists(sqlite_url, "e")


# -- standard input, formats -------------------------------------------------------------


def test_a_parquet_file_on_standard_input_loads_every_row_and_is_not_resumable(
    db_url: str, tmp_path: Path
) -> None:
    path = _grouped(tmp_path / "in.parquet", 3000)
    spool = tmp_path / "tmp"
    spool.mkdir()
    result = run_chute(
        "load", "-", "--format", "parquet", "--into", db_url, "--table", "piped",
        "--batch-rows", "700", stdin=path.read_bytes(), env={**os.environ, "TMPDIR": str(spool)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "standard input cannot be resumed" in result.stdout
    _once(db_url, "piped", 3000)
    assert list(spool.iterdir()) == []  # the copy of standard input is gone


def test_a_killed_load_from_standard_input_starts_again_from_the_beginning(
    sqlite_url: str, tmp_path: Path
) -> None:
    data = _grouped(tmp_path / "in.parquet", 3000).read_bytes()
    cmd = (
        "load",
        "-",
        "--format",
        "parquet",
        "--into",
        sqlite_url,
        "--table",
        "p",
        "--batch-rows",
        "700",
    )
    killed = run_chute(*cmd, stdin=data, env={**os.environ, "CHUTE_FAULT": "after-commit:2:kill"})
    assert killed.returncode != 0
    assert query(sqlite_url, "SELECT count(*) FROM p") == [(1400,)]
    again = run_chute(*cmd, stdin=data)
    assert again.returncode == 0, again.stderr
    assert "resuming" not in again.stdout
    assert "standard input cannot be resumed" in again.stdout
    assert query(sqlite_url, "SELECT count(*), count(DISTINCT id) FROM p") == [(4400, 3000)]


@pytest.mark.parametrize(("name", "extra"), [("f.pq", ()), ("f.bin", ("--format", "parquet"))])
def test_pq_files_and_format_parquet_load(
    sqlite_url: str, tmp_path: Path, name: str, extra: tuple[str, ...]
) -> None:
    path = _grouped(tmp_path / name, 2000)
    result = run_chute("load", str(path), "--into", sqlite_url, "--table", "f", "--quiet", *extra)
    assert result.returncode == 0, result.stderr
    _once(sqlite_url, "f", 2000)


# -- no rows -----------------------------------------------------------------------------


def test_an_empty_parquet_file_creates_nothing_and_reports_no_records(
    db_url: str, tmp_path: Path
) -> None:
    """As a CSV file with a header and no records (test_csv_values): exit 3, no table."""
    path = _write(tmp_path / "empty.parquet", _numbered(0))
    with pytest.raises(SourceError, match="no records") as raised:
        chute.load(path, into=db_url, table="t")
    assert raised.value.exit_code == 3
    report = raised.value.report
    assert report is not None and report.read == report.written == 0
    assert not table_exists(db_url, "t")


def test_an_empty_parquet_file_fails_on_the_command_line_as_a_header_only_csv(
    sqlite_url: str, tmp_path: Path
) -> None:
    parquet = _write(tmp_path / "empty.parquet", _numbered(0))
    csv = tmp_path / "empty.csv"
    csv.write_text("id,name\n")
    from_parquet = run_chute("load", str(parquet), "--into", sqlite_url, "--table", "p")
    from_csv = run_chute("load", str(csv), "--into", sqlite_url, "--table", "c")
    assert_error(from_parquet, 3, "no records")
    assert from_parquet.returncode == from_csv.returncode == 3
    said = _one_error_line(from_parquet).replace(str(parquet), "FILE")
    assert said == _one_error_line(from_csv).replace(str(csv), "FILE")
    assert not table_exists(sqlite_url, "p") and not table_exists(sqlite_url, "c")


# -- found in review: values the database's own text input would store ------------------


@pytest.mark.postgres
def test_decimals_into_a_double_column_are_what_the_text_input_stores(
    pg_url: str, tmp_path: Path
) -> None:
    """Differential: Arrow's decimal-to-double cast is not correctly rounded (805.080147524937
    came out 805.0801475249369); each value must equal the server's reading of its text."""
    rng = np.random.default_rng(7)
    values = [Decimal(int(v)).scaleb(-12) for v in rng.integers(0, 10**15, 3000)]
    values.append(Decimal("805.080147524937"))
    path = _write(tmp_path / "d.parquet", pa.table({"v": pa.array(values, pa.decimal128(38, 12))}))
    execute(pg_url, "CREATE TABLE d (v double precision, t text)")
    execute(pg_url, "CREATE TABLE src (t text)")
    report = chute.load(path, into=pg_url, table="d")
    assert report.written == len(values)
    execute(pg_url, "INSERT INTO src VALUES " + ", ".join(f"('{v}')" for v in values))
    wrong = query(
        pg_url,
        "SELECT count(*) FROM src s WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.v = s.t::float8)",
    )
    assert wrong == [(0,)]


@pytest.mark.postgres
def test_zone_less_times_into_timestamptz_are_read_in_the_servers_zone(
    pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TABLE z (at timestamptz, day timestamptz)")
    database = pg_url.rsplit("/", 1)[1]
    execute(pg_url, f"ALTER DATABASE \"{database}\" SET timezone = 'Europe/Paris'")
    try:
        table = pa.table(
            {
                "at": pa.array([dt.datetime(2024, 1, 1, 10, 0)], pa.timestamp("us")),
                "day": pa.array([dt.date(2024, 7, 1)]),
            }
        )
        report = chute.load(_write(tmp_path / "z.parquet", table), into=pg_url, table="z")
        assert report.written == 1
        got = query(pg_url, "SELECT at = '2024-01-01 09:00+00', day = '2024-06-30 22:00+00' FROM z")
        assert got == [(True, True)]
    finally:
        execute(pg_url, f'ALTER DATABASE "{database}" RESET timezone')


def test_nested_values_json_cannot_hold_reject_their_records(db_url: str, tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": [1, 2, 3, 4, 5],
            "v": pa.array(
                [[1.5], [float("nan")], [2.0], None, [float("inf")]], pa.list_(pa.float64())
            ),
            "m": pa.array(
                [[("a", 1)], [("a", 1)], [("k", 1), ("k", 2)], [], None],
                pa.map_(pa.string(), pa.int64()),
            ),
            "at": pa.array([[1_500]] * 5, pa.list_(pa.timestamp("ns"))),  # without pandas
        }
    )
    path = _write(tmp_path / "n.parquet", table)
    result = run_chute(
        "load", str(path), "--into", db_url, "--table", "n", "--rejects", str(tmp_path / "r.jsonl")
    )
    assert result.returncode == 6, result.stderr  # completed, with rejects
    rejects = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [(r["record_number"], r["column"]) for r in rejects] == [(2, "v"), (3, "m"), (5, "v")]
    assert "JSON has no such number" in rejects[0]["message"]
    assert "gives the key 'k' twice" in rejects[1]["message"]
    assert sorted(r[0] for r in query(db_url, "SELECT id FROM n")) == [1, 4]


def test_a_refused_typed_column_leaves_no_table(sqlite_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "t.parquet", pa.table({"amt": [1.5, 2.5]}))
    result = run_chute(
        "load", str(path), "--into", sqlite_url, "--table", "t", "--type", "amt=bigint"
    )
    assert result.returncode == 2
    assert "amt is double in the file and bigint in the table" in result.stderr
    assert not table_exists(sqlite_url, "t")


@pytest.mark.postgres
def test_lists_go_into_postgresql_array_columns(pg_url: str, tmp_path: Path) -> None:
    """A Parquet file's lists into array columns: integers and plain strings in binary,
    the rest read by the server in its array syntax (escapes, floats, two dimensions)."""
    path = tmp_path / "lists.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, 3],
                "ints": pa.array([[1, None, -3], None, []], pa.list_(pa.int64())),
                "small": pa.array([[7], [None], [-32768]], pa.list_(pa.int32())),
                "words": pa.array([["a", "b,c"], ["Zoë"], []]),
                "quoted": pa.array([['say "hi"', None], ["back\\slash"], None]),
                "floats": pa.array([[1.5, None], [], [-0.0]]),
                "grid": pa.array([[[1, 2], [3, 4]], None, []], pa.list_(pa.list_(pa.int64()))),
            }
        ),
        path,
    )
    execute(
        pg_url,
        "CREATE TABLE lists (id int, ints bigint[], small smallint[], words text[], "
        "quoted varchar[], floats float8[], grid int[])",
    )

    report = chute.load(path, into=pg_url, table="lists")

    assert (report.written, report.rejected) == (3, 0)
    assert query(
        pg_url,
        "SELECT ints::text, small::text, words::text, quoted::text, floats::text, grid::text "
        "FROM lists ORDER BY id",
    ) == [
        ("{1,NULL,-3}", "{7}", '{a,"b,c"}', '{"say \\"hi\\"",NULL}', "{1.5,NULL}", "{{1,2},{3,4}}"),
        (None, "{NULL}", "{Zoë}", '{"back\\\\slash"}', "{}", None),
        ("{}", "{-32768}", "{}", None, "{-0}", "{}"),
    ]


@pytest.mark.postgres
def test_lists_an_array_cannot_take_exactly_are_refused_before_loading(
    pg_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "odd_lists.parquet"
    pq.write_table(
        pa.table(
            {
                "points": pa.array([[{"x": 1}]]),
                "times": pa.array([[1_700_000_000_000_000_900]], pa.list_(pa.timestamp("ns"))),
                "ints": pa.array([[1]]),
            }
        ),
        path,
    )
    execute(pg_url, "CREATE TABLE odd_lists (points int[], times timestamp[], ints int[])")
    result = run_chute("load", str(path), "--into", pg_url, "--table", "odd_lists")
    line = _one_error_line(result)
    assert_error(
        result,
        2,
        "points is list<element: struct<x: int64>> in the file and integer[] in the table "
        "(an array takes a list of values, not of structs or maps)",
        "times is list<element: timestamp[ns]> in the file and timestamp without time zone[] "
        "in the table (nanoseconds inside a list would be cut to microseconds)",
    )
    assert "ints is list<element: int64>" not in line
    assert query(pg_url, "SELECT count(*) FROM odd_lists") == [(0,)]
