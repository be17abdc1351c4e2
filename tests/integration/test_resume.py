"""Crash-safe loads: kill -9 at random moments, run again, and the table equals a clean load."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import chute
from tests.helpers import CancelAfter, execute, query

ROWS = 300_000
KILL_ROWS = 300_000


def _orders(path: Path, rows: int = ROWS) -> Path:
    lines = ["id,name,amount,at,note"]
    for i in range(1, rows + 1):
        note = f'"line one\nline two {i}"' if i % 97 == 0 else f"note {i}"
        lines.append(
            f"{i},name {i % 113},{i * 7 % 1000}.{i % 100:02d},"
            f"2024-01-{1 + i % 28:02d}T10:00:00+01:00,{note}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _load_cmd(path: Path, url: str, table: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "chute",
        "load",
        str(path),
        "--into",
        url,
        "--table",
        table,
        "--batch-rows",
        "700",
        "--quiet",
        *extra,
    ]


def _rows(url: str, table: str) -> list[tuple[object, ...]]:
    return query(url, f"SELECT id, name, amount, at, note FROM {table} ORDER BY id")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_9_at_twenty_random_moments_then_the_table_equals_a_clean_load(
    db_url: str, tmp_path: Path
) -> None:
    path = _orders(tmp_path / "orders.csv", KILL_ROWS)
    clean = chute.load(path, into=db_url, table="clean", batch_rows=5000)
    # 24 kill points spread over the load: each run is killed once the load has passed the
    # next seeded row count, plus a random delay (mid-batch, mid-commit, ...)
    rng = random.Random(20261125)
    targets = sorted(rng.sample(range(KILL_ROWS // 50, KILL_ROWS - KILL_ROWS // 50), 24))
    kills, runs = 0, 0
    report_path, log = tmp_path / "report.json", tmp_path / "log.txt"
    while True:
        runs += 1
        assert runs < 100, "the load never finished"
        with log.open("w") as out:
            proc = subprocess.Popen(
                _load_cmd(path, db_url, "orders", "--report", str(report_path)),
                stdout=out,
                stderr=out,
            )
            while targets and proc.poll() is None and _loaded(db_url) < targets[0]:
                time.sleep(0.005)
            if targets and proc.poll() is None:
                targets.pop(0)
                time.sleep(rng.uniform(0, 0.05))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
            proc.wait(timeout=120)
        assert proc.returncode == 0, log.read_text()
        break
    assert kills >= 20, f"only {kills} kills"
    assert _rows(db_url, "orders") == _rows(db_url, "clean")
    final = json.loads(report_path.read_text())
    assert (final["read"], final["written"], final["rejected"]) == (KILL_ROWS, KILL_ROWS, 0)
    assert final["written"] == clean.written
    again = subprocess.run(
        _load_cmd(path, db_url, "orders"), capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert "already loaded completely" in again.stdout
    assert query(db_url, "SELECT count(*) FROM orders") == [(KILL_ROWS,)]


def _loaded(url: str) -> int:
    """Rows the load into ``orders`` has committed, from its checkpoint (0 before any)."""
    try:
        rows = query(url, "SELECT read_count FROM _chute_checkpoints WHERE target_table = 'orders'")
    except Exception:  # no checkpoint table yet
        return 0
    return int(rows[0][0]) if rows else 0


def test_resume_says_where_and_counts_the_whole_load(sqlite_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 5_000)
    cancel = CancelAfter(3)
    with pytest.raises(chute.Interrupted, match="run the same command again") as info:
        chute.load(
            path,
            into=sqlite_url,
            table="o",
            batch_rows=500,
            memory_limit="64GiB",  # batches of 500 whatever earlier tests left in this process
            observers=[cancel],
            cancel=cancel.event,
        )
    first = info.value.report
    assert first is not None and first.written == 1_500
    report = chute.load(path, into=sqlite_url, table="o", batch_rows=500, memory_limit="64GiB")
    line = 1_502 + 1_500 // 97  # the header, and a quoted newline in every 97th record
    assert report.resumed_at == f"{path}, line {line}"
    assert f"resuming {path} at line {line}, 1,500 rows already loaded" in report.changes
    assert (report.read, report.written, report.batches) == (5_000, 5_000, 10)
    assert query(sqlite_url, "SELECT count(*), count(DISTINCT id) FROM o") == [(5_000, 5_000)]


def test_a_changed_source_is_not_resumed(sqlite_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 3_000)
    cancel = CancelAfter(1)
    with pytest.raises(chute.Interrupted):
        chute.load(
            path,
            into=sqlite_url,
            table="o",
            batch_rows=500,
            observers=[cancel],
            cancel=cancel.event,
        )
    _orders(path, 3_001)
    with pytest.raises(chute.ResumeError, match="changed since the load into o stopped"):
        chute.load(path, into=sqlite_url, table="o", batch_rows=500)
    assert query(sqlite_url, "SELECT count(*) FROM o") == [(500,)]
    report = chute.load(path, into=sqlite_url, table="o", batch_rows=500, restart=True)
    assert any("restarting" in c and "500 rows already loaded stay" in c for c in report.changes)
    assert query(sqlite_url, "SELECT count(*) FROM o") == [(3_501,)]


def test_stdin_says_it_cannot_be_resumed(sqlite_url: str, tmp_path: Path) -> None:
    data = _orders(tmp_path / "orders.csv", 100).read_bytes()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "chute",
            "load",
            "-",
            "--format",
            "csv",
            "--table",
            "s",
            "--into",
            sqlite_url,
        ],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"standard input cannot be resumed" in proc.stdout


@pytest.mark.postgres
def test_a_killed_database_connection_stops_the_load_and_a_rerun_finishes(
    pg_url: str, tmp_path: Path
) -> None:
    path = _orders(tmp_path / "orders.csv")
    proc = subprocess.Popen(
        _load_cmd(path, pg_url, "orders"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    database = pg_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        if _count_if_any(pg_url, "orders"):
            break
    killed = query(
        pg_url.rsplit("/", 1)[0] + "/postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
        f"datname = '{database}' AND pid <> pg_backend_pid()",
    )
    out, err = proc.communicate(timeout=60)
    assert killed, "the load finished before its connection could be killed"
    assert proc.returncode == 5, (out, err)
    assert err.startswith("error: lost the database"), err
    rerun = subprocess.run(
        _load_cmd(path, pg_url, "orders"), capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stdout
    assert query(pg_url, "SELECT count(*), count(DISTINCT id) FROM orders") == [(ROWS, ROWS)]


def test_sigterm_commits_the_batch_in_hand_and_says_how_to_resume(
    db_url: str, tmp_path: Path
) -> None:
    path = _orders(tmp_path / "orders.csv")
    proc = subprocess.Popen(
        _load_cmd(path, db_url, "orders"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if _count_if_any(db_url, "orders"):
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (out, err)
    assert "run the same command again to go on from there" in err
    stored = query(db_url, "SELECT count(*) FROM orders")[0][0]
    assert 0 < stored < ROWS
    assert f"written {stored:,}" in out
    rerun = subprocess.run(
        _load_cmd(path, db_url, "orders"), capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert query(db_url, "SELECT count(*), count(DISTINCT id) FROM orders") == [(ROWS, ROWS)]


def _count_if_any(url: str, table: str) -> int:
    try:
        return int(query(url, f"SELECT count(*) FROM {table}")[0][0])
    except Exception:  # the table is not there yet
        return 0


def test_a_completed_load_runs_again_into_a_table_made_anew(db_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 1_000)
    chute.load(path, into=db_url, table="o")
    again = chute.load(path, into=db_url, table="o")
    assert again.nothing_to_do and query(db_url, "SELECT count(*) FROM o") == [(1_000,)]
    execute(db_url, "DROP TABLE o")
    fresh = chute.load(path, into=db_url, table="o")
    assert not fresh.nothing_to_do and fresh.written == 1_000
    assert query(db_url, "SELECT count(*) FROM o") == [(1_000,)]
