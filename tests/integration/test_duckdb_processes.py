"""DuckDB across processes: kill -9 at seeded points and the load resumes to the very table a
clean load makes; a second process finds the file locked and stops with exit 7."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import chute
from tests.helpers import chute_cmd

duckdb = pytest.importorskip("duckdb")
from chute.sinks.duckdb_types import lock_holder  # noqa: E402

LOAD_RUNNING = 7


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = duckdb.connect(str(db))
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        conn.close()


def _orders(path: Path, rows: int) -> Path:
    lines = ["id,name,amount,at,note"]
    for i in range(1, rows + 1):
        note = f'"line one\nline two {i}"' if i % 97 == 0 else f"note {i}"
        lines.append(
            f"{i},name {i % 113},{i * 7 % 1000}.{i % 100:02d},"
            f"2024-01-{1 + i % 28:02d}T10:00:00+01:00,{note}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _cmd(path: Path, db: Path, *extra: str, batch_rows: int = 700) -> list[str]:
    return chute_cmd(
        "load", str(path), "--into", f"duckdb:///{db}", "--table", "orders",
        "--batch-rows", str(batch_rows), "--quiet", *extra,
    )  # fmt: skip


def _rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    return _query(db, f'SELECT id, name, amount, "at", note FROM {table} ORDER BY id')


POINTS = ["batch-written", "before-commit", "after-commit"]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("atomic", [False, True], ids=["append", "atomic"])
def test_kill_9_at_seeded_points_then_the_table_equals_a_clean_load(
    tmp_path: Path, atomic: bool
) -> None:
    """Each run is killed (SIGKILL, by the fault points) inside a seeded batch at a seeded
    step of its transaction; the next run resumes; the last one ends as a clean load."""
    rows = 60_000
    path = _orders(tmp_path / "orders.csv", rows)
    db = tmp_path / "test.duckdb"
    clean_db = tmp_path / "clean.duckdb"
    extra = ["--atomic"] if atomic else []
    subprocess.run(_cmd(path, clean_db), check=True, capture_output=True, timeout=300)
    rng = random.Random(20261203)
    faults = [f"{rng.choice(POINTS)}:{rng.randint(1, 12)}:kill" for _ in range(8)]
    if atomic:
        faults.append("stage-published:1:kill")
    faults.append("completion-mark:1:kill")
    report = tmp_path / "report.json"
    for fault in faults:
        run = subprocess.run(
            _cmd(path, db, "--report", str(report), *extra),
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "CHUTE_FAULT": fault},
        )
        assert run.returncode == -signal.SIGKILL, (fault, run.stdout, run.stderr)
    last = subprocess.run(
        _cmd(path, db, "--report", str(report), *extra), capture_output=True, text=True
    )
    assert last.returncode == 0, last.stderr
    assert "resuming" in last.stdout or "already loaded completely" in last.stdout, last.stdout
    assert _rows(db, "orders") == _rows(clean_db, "orders")
    final = json.loads(report.read_text())
    assert (final["read"], final["rejected"]) == (rows, 0) or final["nothing_to_do"], final
    again = subprocess.run(_cmd(path, db, *extra), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "already loaded completely" in again.stdout
    assert _query(db, "SELECT count(*) FROM orders") == [(rows,)]


def _paused_holder(path: Path, db: Path) -> subprocess.Popen[str]:
    """A load stopped with SIGSTOP once it holds the database file."""
    holder = subprocess.Popen(
        _cmd(path, db, batch_rows=200), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while holder.poll() is None and time.monotonic() < deadline:
        if db.exists() and lock_holder(str(db)) == holder.pid:
            break
        time.sleep(0.01)
    holder.send_signal(signal.SIGSTOP)
    assert holder.poll() is None, "the load finished before it could be paused"
    return holder


@pytest.mark.parametrize("same_load", [True, False], ids=["same-load", "other-file"])
def test_a_second_process_stops_with_exit_7_and_names_the_first(
    tmp_path: Path, same_load: bool
) -> None:
    path = _orders(tmp_path / "orders.csv", 20_000)
    other = path if same_load else _orders(tmp_path / "other.csv", 10)
    db = tmp_path / "test.duckdb"
    holder = _paused_holder(path, db)
    try:
        second = subprocess.run(_cmd(other, db), capture_output=True, text=True, timeout=120)
        assert second.returncode == LOAD_RUNNING, second.stderr
        assert second.stderr.splitlines()[0] == (
            f"error: duckdb:///{db} is open in another process (pid {holder.pid}); DuckDB "
            "lets one process at a time write a database file"
        )
    finally:
        holder.send_signal(signal.SIGCONT)
    _, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    assert _query(db, "SELECT count(*), count(DISTINCT id) FROM orders") == [(20_000, 20_000)]


def test_two_identical_loads_at_once_store_every_row_once(tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 50_000)
    db = tmp_path / "test.duckdb"
    runs = [
        subprocess.Popen(
            _cmd(path, db, batch_rows=1000),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(run.returncode, *run.communicate(timeout=300)) for run in runs]
    results = [(run.returncode, out, err) for run, (_, out, err) in zip(runs, results, strict=True)]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, LOAD_RUNNING], [0, 0]), results
    if codes == [0, 0]:  # one started after the other had finished
        assert sum("nothing to do" in out for _, out, _ in results) == 1, results
    assert _query(db, "SELECT count(*), count(DISTINCT id) FROM orders") == [(50_000, 50_000)]


def test_an_in_process_load_and_a_reader_share_the_file(tmp_path: Path) -> None:
    """In one process, DuckDB shares the open database: a load and a reader coexist."""
    path = _orders(tmp_path / "orders.csv", 100)
    db = tmp_path / "test.duckdb"
    reader = duckdb.connect(str(db))
    try:
        report = chute.load(path, into=f"duckdb:///{db}", table="orders")
        assert report.written == 100
        assert reader.execute("SELECT count(*) FROM orders").fetchall() == [(100,)]
    finally:
        reader.close()
