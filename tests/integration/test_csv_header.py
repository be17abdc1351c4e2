"""A CSV header is decoded strictly: a byte that is not in the file's encoding is an error
before anything is created, never a column renamed with U+FFFD."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import query
from tests.integration.readback import is_pg, table_exists


def chute(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chute", *args], capture_output=True, text=True, timeout=120
    )


def test_undecodable_byte_in_the_header_is_an_error_naming_its_offset_and_creates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "cafe.csv"
    path.write_bytes(b"id,caf\xe9\n1,x\n")

    result = chute("load", str(path), "--into", db_url, "--table", "t")

    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [first, *_] = result.stderr.splitlines()
    assert first.startswith("error: ") and "line 1" in first
    assert "0xe9" in first and "byte offset 6" in first
    assert "--encoding" in result.stderr
    assert "\ufffd" not in result.stderr
    assert not table_exists(db_url, "t")


def test_header_offset_counts_a_byte_order_mark_and_blank_lines(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf\n\nid,na\xffme\n1,x\n")

    result = chute("load", str(path), "--into", sqlite_url, "--table", "t")

    assert result.returncode == 3, (result.stdout, result.stderr)
    first = result.stderr.splitlines()[0]
    assert "line 3" in first and "0xff at byte offset 10" in first


def test_the_same_header_loads_under_its_real_encoding(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "cafe.csv"
    path.write_bytes(b"id,caf\xe9\n1,x\n")

    result = chute("load", str(path), "--into", db_url, "--table", "t", "--encoding", "latin-1")

    assert result.returncode == 0, result.stderr
    column = '"café"' if is_pg(db_url) else "café"
    assert query(db_url, f"SELECT id, {column} FROM t") == [(1, "x")]
