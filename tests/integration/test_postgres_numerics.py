"""Numerics of a declared scale and of none go to PostgreSQL as Arrow decimals through ADBC's
binary COPY; each must be what the server's text input stores from the same text.

The values are the shapes ADBC's numeric writer got wrong before 1.12, storing another number
without an error (``10000.5`` as ``15000.0``: a zero group of four digits in the integer part
beside a fraction, apache/arrow-adbc#4507), one reason chute needs 1.13 or later (see
:func:`chute.sinks.postgres_wire.check_driver`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import chute
from tests.helpers import execute, query

pytestmark = pytest.mark.postgres

VALUES = [
    "10000.5", "-10000.5", "5000000000.000001", "-5000000000.5", "4999999999.000001",
    "100000000.0001", "1000000000000.25", "-20000.0001", "20000.00001", "44.123456",
    "0.0001", "0.000001", "12345678.9", "100000000", "10000", "1", "0",
]  # fmt: skip


@pytest.mark.parametrize("declared", ["numeric(24,6)", "numeric(20,5)", "numeric(16,2)", "numeric"])
def test_numerics_in_binary_are_what_the_servers_text_input_stores(
    pg_url: str, tmp_path: Path, declared: str
) -> None:
    execute(pg_url, f"CREATE TABLE nums (id int4, n {declared}, n_text text)")
    path = tmp_path / "nums.csv"
    path.write_text("id,n,n_text\n" + "".join(f"{i},{v},{v}\n" for i, v in enumerate(VALUES)))

    report = chute.load(path, into=pg_url, table="nums")

    assert (report.read, report.written, report.rejected) == (len(VALUES), len(VALUES), 0)
    differ = query(
        pg_url,
        f"SELECT n_text, n::text, n_text::{declared}::text FROM nums "
        f"WHERE n::text IS DISTINCT FROM n_text::{declared}::text ORDER BY id",
    )
    assert differ == []
