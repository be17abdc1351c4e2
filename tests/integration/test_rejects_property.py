"""Property: whatever the bad records and the batch size, every record is stored or
rejected, and the stored rows are exactly the good ones."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chute
from tests.helpers import execute, query

BAD_KINDS = ["extra_field", "not_a_number", "null_in_not_null", "too_long", "bad_utf8"]

rows_strategy = st.lists(
    st.tuples(
        st.integers(-1000, 1000),
        st.text("abc", max_size=5),
        st.one_of(st.none(), st.sampled_from(BAD_KINDS)),
    ),
    min_size=1,
    max_size=60,
)


def _make(
    rows: list[tuple[int, str, str | None]],
) -> tuple[bytes, list[tuple[int, int, str]], list[int]]:
    lines = [b"id,n,code"]
    good, bad_lines = [], []
    for i, (n, code, bad) in enumerate(rows):
        line_no = i + 2
        if bad is None:
            lines.append(f'{i},{n},"{code}"'.encode())
            good.append((i, n, code))
            continue
        bad_lines.append(line_no)
        lines.append(
            {
                "extra_field": f"{i},{n},{code},x".encode(),
                "not_a_number": f"{i},{n}x,{code}".encode(),
                "null_in_not_null": f"{i},,{code}".encode(),
                "too_long": f"{i},{n},{code}toolong".encode(),
                "bad_utf8": f"{i},{n},".encode() + b"\xff\xfe",
            }[bad]
        )
    return b"\n".join(lines) + b"\n", good, bad_lines


def _check(url: str, rows: list[tuple[int, str, str | None]], batch_rows: int) -> None:
    table = f"p_{uuid.uuid4().hex[:8]}"
    execute(
        url,
        f"CREATE TABLE {table} (id integer PRIMARY KEY, n integer NOT NULL, "
        f"code text CHECK (length(code) <= 5))",
    )
    data, good, bad_lines = _make(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.csv"
        path.write_bytes(data)
        try:
            report = chute.load(
                path,
                into=url,
                table=table,
                batch_rows=batch_rows,
                rejects=str(Path(tmp) / "rejects.jsonl"),
            )
        except chute.NothingStoredError as exc:  # every record was bad: the load says so
            assert not good
            assert exc.report is not None
            report = exc.report
        else:
            assert good
        rejects = (
            [json.loads(x) for x in (Path(tmp) / "rejects.jsonl").read_text().splitlines()]
            if bad_lines
            else []
        )
    assert report.read == len(rows)
    assert report.read == report.written + report.skipped + report.rejected
    assert report.rejected == len(bad_lines)
    assert sorted(r["line"] for r in rejects) == bad_lines
    assert query(url, f"SELECT id, n, code FROM {table} ORDER BY id") == good


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy, batch_rows=st.integers(1, 70))
def test_sqlite_stores_exactly_the_good_rows(sqlite_url: str, rows: list, batch_rows: int) -> None:
    _check(sqlite_url, rows, batch_rows)


@pytest.mark.postgres
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy, batch_rows=st.integers(1, 70))
def test_postgres_stores_exactly_the_good_rows(pg_url: str, rows: list, batch_rows: int) -> None:
    _check(pg_url, rows, batch_rows)
