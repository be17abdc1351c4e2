"""The Parquet source on its own, without a database: each column's type is the file's (never
inferred), values arrive in the engine's types, batches are cut where the sizes asked say (in
rows and in bytes), records are numbered by their row in the file across row groups, and a
resumed read starts in the row group holding the resume point."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chute.config import LoadOptions
from chute.errors import ConfigError, SourceError
from chute.sources import open_source
from chute.sources.base import BatchSize, Position, ReadsStdin, Resumable, SourceBatch
from chute.sources.parquet import ParquetSource
from tests.parquet_tables import ENGINE_TYPES, U1, every_type

UTC = dt.UTC


def _write(path: Path, table: pa.Table, **kwargs: Any) -> Path:
    pq.write_table(table, path, **kwargs)
    return path


def _open(path: Path | str, *, rows: int = 10_000, nbytes: int = 0) -> ParquetSource:
    return ParquetSource(path, batch_rows=rows, batch_bytes=nbytes)


def _batches(source: ParquetSource, sizes: Any = None) -> list[SourceBatch]:
    try:
        return list(source.batches(sizes))
    finally:
        source.close()


def _column(batches: list[SourceBatch], name: str) -> list[Any]:
    return [v for b in batches for v in b.data.column(name).to_pylist()]


def _numbered(n: int) -> pa.Table:
    """``n`` rows: id is 1-based row number times 10 plus 7 (so it is not the row number)."""
    return pa.table(
        {
            "id": pa.array([10 * r + 7 for r in range(1, n + 1)], pa.int64()),
            "name": [f"name {r}" for r in range(1, n + 1)],
        }
    )


# -- types -------------------------------------------------------------------------------


def _every_type() -> pa.Table:
    return every_type()


def test_each_column_takes_the_type_the_file_declares(tmp_path: Path) -> None:
    source = _open(_write(tmp_path / "t.parquet", _every_type()))
    try:
        assert source.columns == list(ENGINE_TYPES)
        assert {c.name: str(c.type) for c in source.file_columns} == ENGINE_TYPES
        declared = source.declared_types()
        assert declared["i32"] == "int32" and declared["u64"] == "uint64"
        assert declared["d50"] == "decimal256(50, 10)"
        assert declared["at"] == "timestamp[ns, tz=Europe/Paris]"
        assert declared["tags"].startswith("list<") and declared["mp"].startswith("map<")
        assert [c.name for c in source.file_columns if c.nested] == ["tags", "st", "mp"]
    finally:
        source.close()


def test_values_arrive_in_the_engines_types(tmp_path: Path) -> None:
    (batch,) = _batches(_open(_write(tmp_path / "t.parquet", _every_type())))
    got = batch.data.to_pydict()
    assert got["i32"] == [1, -(2**31), None]
    assert got["i64"] == [2**62, -(2**63), None]
    # beyond int64: every digit kept
    assert got["u64"] == [Decimal(2**64 - 1), Decimal(2**63), None]
    # every float32 is exact as a double: the float32's own value, not the decimal literal
    assert got["f32"] == [float(np.float32(0.1)), 1.5, None]
    assert got["d10"] == [Decimal("12345678.91"), Decimal("-0.01"), None]
    assert got["d50"][0] == "1234567890123456789012345678901234567890.0123456789"
    assert got["ok"] == [True, False, None]
    assert got["day"] == [dt.date(2024, 2, 29), dt.date(1, 1, 1), None]
    # the same instants, in UTC, nanoseconds rounded to microseconds
    assert got["at"] == [
        dt.datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC),
        dt.datetime(2023, 11, 14, 22, 13, 20, 0, tzinfo=UTC),
        None,
    ]
    assert got["naive"] == [
        dt.datetime(2024, 3, 31, 2, 30, 0, 123456),
        dt.datetime(1970, 1, 1),
        None,
    ]
    assert got["datelike"] == ["2024-01-01", "00123", None]
    assert got["u"] == [str(U1), "00000000-0000-0000-0000-000000000000", None]
    assert got["dict"] == ["a", None, "a"]
    assert got["tags"] == ["[1,2]", "[]", None]
    assert got["st"] == ['{"x":1,"y":"a"}', '{"x":null,"y":"b"}', None]
    assert got["mp"] == ['{"a":1,"b":2}', "{}", None]
    assert got["tm"] == ["12:34:56.123456", "00:00:00", None]
    assert got["bin"] == ["\\x00ff", "\\x", None]
    assert got["nothing"] == [None, None, None]


def test_nested_values_keep_dates_decimals_and_bytes_as_json(tmp_path: Path) -> None:
    inner = pa.struct(
        [
            ("day", pa.date32()),
            ("price", pa.decimal128(12, 3)),
            ("raw", pa.binary()),
            ("big", pa.uint64()),
        ]
    )
    table = pa.table(
        {
            "s": pa.array(
                [
                    {
                        "day": dt.date(2024, 1, 2),
                        "price": Decimal("1.250"),
                        "raw": b"\x01",
                        "big": 2**64 - 1,
                    }
                ],
                inner,
            ),
            "m": pa.array([[(3, "three"), (1, "one")]], pa.map_(pa.int64(), pa.string())),
        }
    )
    (batch,) = _batches(_open(_write(tmp_path / "n.parquet", table)))
    assert batch.data.column("s").to_pylist() == [
        '{"day":"2024-01-02","price":1.250,"raw":"\\\\x01","big":18446744073709551615}'
    ]
    assert batch.data.column("m").to_pylist() == ['{"3":"three","1":"one"}']


def test_a_time_of_nanoseconds_is_text_as_documented(tmp_path: Path) -> None:
    """The module's table says: time -> text, ``HH:MM:SS[.ffffff]`` (at most microseconds,
    as timestamps of nanoseconds are rounded to microseconds)."""
    table = pa.table(
        {
            "s": pa.array([45_296], pa.time32("s")),
            "us": pa.array([45_296_123_456], pa.time64("us")),
            "ns": pa.array([45_296_123_456_789], pa.time64("ns")),
        }
    )
    (batch,) = _batches(_open(_write(tmp_path / "t.parquet", table)))
    got = batch.data.to_pylist()[0]
    assert got["s"] == "12:34:56" and got["us"] == "12:34:56.123456"
    assert re.fullmatch(r"\d\d:\d\d:\d\d(\.\d{1,6})?", got["ns"]), got["ns"]
    assert got["ns"].startswith("12:34:56.12345")


# -- row groups, positions ---------------------------------------------------------------


def test_rows_of_every_row_group_come_once_in_order_numbered_by_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.parquet", _numbered(10_000), row_group_size=1000)
    assert pq.ParquetFile(path).metadata.num_row_groups == 10
    batches = _batches(_open(path, rows=750))
    assert [b.num_rows for b in batches] == [750] * 13 + [250]
    assert _column(batches, "id") == [10 * r + 7 for r in range(1, 10_001)]
    records = np.concatenate([b.records for b in batches])
    assert records.tolist() == list(range(1, 10_001))
    first = 1
    for b in batches:  # each batch says where reading goes on: the record after its last
        assert b.position(0).record == first
        assert b.position(0).line is None  # a Parquet file has no lines
        first += b.num_rows
        assert b.after is not None and b.after.record == first
    assert batches[-1].after is not None and batches[-1].after.record == 10_001


def test_a_source_is_resumable_and_knows_its_columns_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.parquet", _numbered(3))
    source = open_source(path, LoadOptions())
    try:
        assert isinstance(source, ParquetSource)
        assert isinstance(source, Resumable) and source.resumable
        assert isinstance(source, ReadsStdin) and not source.is_stdin
        assert list(source.columns) == ["id", "name"]
        assert source.total_bytes() == os.path.getsize(path)
        assert source.bytes_read() == 0
        list(source.batches())
        assert source.bytes_read() == source.total_bytes()
    finally:
        source.close()


@pytest.mark.parametrize("name", ["f.parquet", "f.pq", "f.data"])
def test_parquet_is_told_by_its_extension_or_by_format(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / name, _numbered(3))
    fmt = "parquet" if name.endswith(".data") else None
    source = open_source(path, LoadOptions(format=fmt))
    try:
        assert isinstance(source, ParquetSource)
        assert sum(b.num_rows for b in source.batches()) == 3
    finally:
        source.close()


def test_an_encoding_other_than_utf8_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.parquet", _numbered(3))
    with pytest.raises(ConfigError, match="--encoding"):
        open_source(path, LoadOptions(encoding="latin-1"))


# -- resume ------------------------------------------------------------------------------


@pytest.mark.parametrize("at", [0, 1, 7, 999, 1000, 1001, 2800, 9999, 10_000])
def test_a_resumed_read_gives_every_row_from_the_resume_point_once(tmp_path: Path, at: int) -> None:
    path = _write(tmp_path / "r.parquet", _numbered(10_000), row_group_size=1000)
    source = _open(path, rows=700)
    source.resume(Position(str(path), at + 1, None, at))
    batches = _batches(source)
    assert _column(batches, "id") == [10 * r + 7 for r in range(at + 1, 10_001)]
    records = [int(r) for b in batches for r in b.records]
    assert records == list(range(at + 1, 10_001))


def test_a_batchs_resume_point_resumes_at_that_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.parquet", _numbered(3000), row_group_size=1000)
    batches = _batches(_open(path, rows=700))
    third = batches[2]  # records 1401..2100, across the end of the second row group (2000)
    for row in (0, 599, 600, third.num_rows):
        point = third.resume_point(row)
        assert point is not None
        again = _open(path, rows=700)
        again.resume(point)
        ids = _column(_batches(again), "id")
        assert ids[0] == 10 * (1401 + row) + 7
        assert len(ids) == 3000 - 1400 - row


def _damage_row_groups(path: Path, groups: list[int]) -> None:
    """Overwrite every column chunk of ``groups`` with junk, leaving the footer whole."""
    meta = pq.ParquetFile(path).metadata
    data = bytearray(path.read_bytes())
    for g in groups:
        for c in range(meta.num_columns):
            chunk = meta.row_group(g).column(c)
            has_dictionary = chunk.has_dictionary_page and chunk.dictionary_page_offset
            start = chunk.dictionary_page_offset if has_dictionary else chunk.data_page_offset
            data[start : start + chunk.total_compressed_size] = (
                b"\x55" * chunk.total_compressed_size
            )
    path.write_bytes(bytes(data))


def test_a_resumed_read_starts_in_the_row_group_holding_the_resume_point(tmp_path: Path) -> None:
    """Row groups 0 and 1 are junk: a read from the start fails, and a read resumed at
    row 2800 (in group 2) never touches them."""
    path = _write(tmp_path / "d.parquet", _numbered(10_000), row_group_size=1000)
    _damage_row_groups(path, [0, 1])
    with pytest.raises(SourceError, match="damaged"):
        _batches(_open(path, rows=700))
    for at in (2000, 2800):
        source = _open(path, rows=700)
        source.resume(Position(str(path), at + 1, None, at))
        batches = _batches(source)
        assert _column(batches, "id") == [10 * r + 7 for r in range(at + 1, 10_001)]
        assert int(batches[0].records[0]) == at + 1


def test_the_fingerprint_holds_for_the_same_file_and_changes_with_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.parquet", _numbered(100))
    first, again = _open(path), _open(path)
    try:
        before = first.fingerprint()
        assert again.fingerprint() == before
    finally:
        first.close()
        again.close()
    stat = os.stat(path)
    table = _numbered(100)
    changed = table.set_column(0, "id", pa.array([v + 1 for v in table.column("id").to_pylist()]))
    _write(path, changed)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the same times
    later = _open(path)
    try:
        assert later.fingerprint() != before
    finally:
        later.close()


def test_standard_input_is_spooled_is_not_resumable_and_is_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _write(tmp_path / "s.parquet", _numbered(2500), row_group_size=1000).read_bytes()
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    source = open_source("-", LoadOptions(format="parquet"))
    assert isinstance(source, ParquetSource)
    assert source.is_stdin and not source.resumable and source.name == "<stdin>"
    assert len(list(spool.iterdir())) == 1
    batches = _batches(source)
    assert _column(batches, "id") == [10 * r + 7 for r in range(1, 2501)]
    assert batches[0].source == "<stdin>"
    assert list(spool.iterdir()) == []


def test_damaged_standard_input_leaves_no_spooled_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"id,name\n1,a\n")))
    with pytest.raises(SourceError, match="not a Parquet file"):
        open_source("-", LoadOptions(format="parquet"))
    assert list(spool.iterdir()) == []


# -- bad files ---------------------------------------------------------------------------


def test_a_file_that_is_not_parquet_or_whose_footer_is_damaged_is_refused(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.parquet", _numbered(100)).read_bytes()
    footer = int.from_bytes(good[-8:-4], "little")  # the footer's length, before "PAR1"
    start = len(good) - 8 - footer
    cases = {
        "text.parquet": b"id,name\n1,a\n",
        "empty.parquet": b"",
        "cut.parquet": good[:-10],
        "length.parquet": good[:-8] + b"\xff\xff\xff\x7f" + good[-4:],
        "junk_footer.parquet": good[:start] + b"\xff" * footer + good[-8:],
        "half_footer.parquet": good[: start + footer // 2]
        + bytes(range(256))[: footer - footer // 2]
        + good[-8:],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(SourceError) as raised:
            _open(path)
        text = str(raised.value)
        assert "Parquet" in text and "footer" in text, (name, text)
        assert "\n" not in text, (name, text)
    with pytest.raises(SourceError, match="no such file"):
        _open(tmp_path / "missing.parquet")


def test_an_empty_file_with_a_schema_knows_its_columns_and_yields_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.parquet", _numbered(0))
    source = _open(path)
    assert source.columns == ["id", "name"]
    assert _batches(source) == []


# -- batch sizes (memory) ----------------------------------------------------------------


def test_batches_are_cut_at_the_rows_each_call_of_sizes_asks(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.parquet", _numbered(5000), row_group_size=1000)
    asked = [3, 1000, 997, 1, 2500, 4999]
    given: list[int] = []

    def sizes() -> BatchSize:
        rows = asked[len(given) % len(asked)]
        given.append(rows)
        return BatchSize(rows, 0)

    batches = _batches(_open(path, rows=10), sizes)
    got = [b.num_rows for b in batches]
    assert sum(got) == 5000
    assert got[:-1] == given[: len(got) - 1]  # each batch as asked just before it was cut
    assert got[-1] <= given[len(got) - 1]
    assert _column(batches, "id") == [10 * r + 7 for r in range(1, 5001)]


def _strings(sizes: list[int]) -> pa.Table:
    return pa.table({"id": pa.array(range(len(sizes)), pa.int64()), "s": ["x" * n for n in sizes]})


def test_the_bytes_limit_cuts_batches_of_even_rows_at_or_under_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.parquet", _strings([100] * 20_000), row_group_size=3000)
    limit = 20_000
    batches = _batches(_open(path), lambda: BatchSize(1_000_000, limit))
    assert sum(b.num_rows for b in batches) == 20_000
    assert _column(batches, "id") == list(range(20_000))
    assert all(b.data.nbytes <= limit for b in batches), [b.data.nbytes for b in batches]
    # the bytes, not the rows, cut them, and not needlessly small
    assert all(b.data.nbytes >= limit // 2 for b in batches[:-1])


def test_a_row_bigger_than_the_bytes_limit_comes_alone(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.parquet", _strings([10_000] * 20))
    batches = _batches(_open(path), lambda: BatchSize(1000, 5_000))
    assert [b.num_rows for b in batches] == [1] * 20


def test_the_bytes_limit_holds_when_big_rows_come_before_small_ones(tmp_path: Path) -> None:
    """100 rows of 10 kB, then 10,000 of one byte, under a limit of 50 kB: a batch may hold
    about 5 of the big rows; one that holds hundreds of them is 20 times the limit, and the
    engine plans its memory on the limit."""
    path = _write(tmp_path / "b.parquet", _strings([10_000] * 100 + [1] * 10_000))
    limit = 50_000
    batches = _batches(_open(path), lambda: BatchSize(1_000_000, limit))
    assert sum(b.num_rows for b in batches) == 10_100
    over = [
        (b.num_rows, b.data.nbytes) for b in batches if b.num_rows > 1 and b.data.nbytes > 2 * limit
    ]
    assert not over, f"batches (rows, bytes) over twice the {limit:,}-byte limit: {over}"


def test_small_rows_before_big_ones_are_not_cut_into_needlessly_small_batches(
    tmp_path: Path,
) -> None:
    """10,000 rows of one byte (about 130 kB in all), then 100 of 10 kB, under a limit of
    50 kB: the small rows fit in 3 batches of the limit; cutting them by the average row of
    all rows held (big ones included) makes dozens of tiny batches, each a transaction."""
    path = _write(tmp_path / "b.parquet", _strings([1] * 10_000 + [10_000] * 100))
    limit = 50_000
    batches = _batches(_open(path), lambda: BatchSize(1_000_000, limit))
    assert sum(b.num_rows for b in batches) == 10_100
    small = [b for b in batches if b.data.column("id")[b.num_rows - 1].as_py() < 10_000]
    assert len(small) <= 6, [(b.num_rows, b.data.nbytes) for b in small[:10]]


def test_nanoseconds_round_as_postgresqls_text_input_and_midnight_is_24(tmp_path: Path) -> None:
    """PostgreSQL reads a fraction as rint(strtod(".fffffffff") * 1e6): .0001255 gives
    .000125 (not .000126), and 23:59:59.9999996 is 24:00:00."""
    table = pa.table(
        {
            "at": pa.array([1_700_000_000_000_125_500], pa.timestamp("ns")),
            "t": pa.array([86_399_999_999_600], pa.time64("ns")),
        }
    )
    (batch,) = _batches(_open(_write(tmp_path / "r.parquet", table)))
    got = batch.data.to_pylist()[0]
    assert got["at"].microsecond == 125
    assert got["t"] == "24:00:00"


def test_lists_of_strings_as_json_are_what_orjson_writes() -> None:
    """The vectorised path for flat lists must give orjson's text, escapes and all, on
    sliced arrays too; a list with a control character or a NULL inside goes value by value."""
    import random

    import orjson

    from chute.sources.parquet_nested import json_column

    rng = random.Random(3)
    chars = 'ab"\\é€ ,[]{}x'
    values = [
        None
        if rng.random() < 0.1
        else [
            "".join(rng.choice(chars) for _ in range(rng.randint(0, 6)))
            for _ in range(rng.randint(0, 4))
        ]
        for _ in range(2000)
    ]
    expected = [None if v is None else orjson.dumps(v).decode() for v in values]
    column = pa.array(values, pa.list_(pa.string()))
    assert json_column(column)[0].to_pylist() == expected
    assert json_column(column.slice(7, 100))[0].to_pylist() == expected[7:107]
    assert json_column(pa.array([["a\nb"], ["x", None]]))[0].to_pylist() == [
        '["a\\nb"]',
        '["x",null]',
    ]
    assert json_column(pa.array([[1, -2], [], None]))[0].to_pylist() == ["[1,-2]", "[]", None]


@pytest.mark.parametrize("zone", [None, "UTC"])
def test_a_timestamp_too_far_for_microseconds_rejects_its_record_not_the_load(
    tmp_path: Path, zone: str | None
) -> None:
    """Parquet keeps seconds as milliseconds; ten trillion seconds (about 317,000 years)
    have no microseconds in 64 bits: that record is rejected with its reason, the rest
    of the batch and of the column arrive."""
    far = 10**13  # seconds: 10**16 milliseconds in the file
    table = pa.table(
        {
            "id": [1, 2, 3, 4],
            "at": pa.array([0, far, None, -far], pa.timestamp("s", tz=zone)),
        }
    )
    (batch,) = _batches(_open(_write(tmp_path / "far.parquet", table)))
    assert batch.data.column("id").to_pylist() == [1, 3]
    assert batch.data.column("at").cast(pa.int64()).to_pylist() == [0, None]
    assert [(r.position.record, r.column, r.error) for r in batch.rejects] == [
        (2, "at", "conversion"),
        (4, "at", "conversion"),
    ]
    assert "10,000,000,000,000,000 milliseconds from 1970" in batch.rejects[0].message
    assert "-10,000,000,000,000,000 milliseconds" in batch.rejects[1].message
