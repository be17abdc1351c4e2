from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chute.errors import SourceError
from chute.sources import _split
from chute.sources._input import Input
from chute.sources._split import RecordSplitter


def _chunks(path: Path, max_rows: int, max_bytes: int, quote: str | None = '"') -> list:
    inp = Input(path)
    try:
        return list(RecordSplitter(inp, quote=quote).chunks(max_rows=max_rows, max_bytes=max_bytes))
    finally:
        inp.close()


def test_records_carry_their_first_line_through_quoted_newlines_and_blank_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'a,b\n1,"x\ny"\n\n2,z\r\n\r\n3,"q""q"\n4,last')
    for max_rows in (1, 2, 100):
        chunks = _chunks(path, max_rows, 8)
        lines = [int(n) for c in chunks for n in c.lines]
        assert lines == [1, 2, 5, 7, 8]
        assert b"".join(c.data for c in chunks) == b'a,b\n1,"x\ny"\n2,z\r\n3,"q""q"\n4,last'
        assert all(c.rows <= max_rows for c in chunks)


def test_unclosed_quote_at_the_end_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'a,b\n1,2\n3,"open\nstill open\n')
    with pytest.raises(SourceError, match=r"line 3: a quoted value is never closed"):
        _chunks(path, 100, 1 << 20)


def test_a_record_longer_than_the_chunk_size_is_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    big = "x" * 100_000
    path.write_bytes(f'a\n"{big}"\nb\n'.encode())
    chunks = _chunks(path, 100, 10)
    assert [c.data for c in chunks] == [b"a\n", f'"{big}"\n'.encode(), b"b\n"]


_value = st.text(alphabet=st.sampled_from(list('ab,"\n é')), max_size=6)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_value, min_size=2, max_size=2), min_size=1, max_size=30),
    max_rows=st.integers(1, 7),
    max_bytes=st.integers(1, 64),
    window=st.sampled_from([1, 3, 8, 1 << 20]),
)
def test_chunks_hold_whole_records_with_exact_line_numbers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[list[str]],
    max_rows: int,
    max_bytes: int,
    window: int,
) -> None:
    monkeypatch.setattr(_split, "_WINDOW", window)  # scans of many windows, and of one
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    path = tmp_path / "h.csv"
    path.write_bytes(text.encode())
    # what Python's csv module says: each non-blank record and the line it starts on
    expected = []
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for record in reader:
        if record:
            expected.append((record, line))
        line = reader.line_num + 1
    chunks = _chunks(path, max_rows, max_bytes)
    got_lines = [int(n) for c in chunks for n in c.lines]
    got_records = [
        r for c in chunks for r in csv.reader(io.StringIO(c.data.decode(), newline="")) if r
    ]
    assert got_records == [r for r, _ in expected]
    assert got_lines == [n for _, n in expected]
