"""Crash-safe loads into MariaDB: kill -9 at seeded moments, run again, and the table equals
a clean load (checkpoints commit with the rows in InnoDB)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import chute
from tests.mysql_server import mysql_execute, mysql_query, mysql_url

__all__ = ["mysql_url"]  # the fixture

ROWS = 40_000


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


def _cmd(path: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "chute",
        "load",
        str(path),
        "--into",
        url,
        "--table",
        "orders",
        "--batch-rows",
        "700",
        "--quiet",
        *extra,
    ]


def _loaded(url: str) -> int:
    try:
        rows = mysql_query(
            url, "SELECT read_count FROM _chute_checkpoints WHERE target_table = 'orders'"
        )
    except Exception:  # no checkpoint table yet
        return 0
    return int(rows[0][0]) if rows else 0


def _rows(url: str, table: str) -> list[tuple[object, ...]]:
    return mysql_query(url, f"SELECT id, name, amount, at, note FROM {table} ORDER BY id")


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["append", "upsert"])
def test_kill_9_at_seeded_moments_then_the_table_equals_a_clean_load(
    mysql_url: str, tmp_path: Path, mode: str
) -> None:
    path = _orders(tmp_path / "orders.csv")
    extra = ["--mode", mode, "--key", "id"] if mode == "upsert" else []
    clean = chute.load(path, into=mysql_url, table="clean", batch_rows=5000)
    rng = random.Random(20261203)
    targets = sorted(rng.sample(range(ROWS // 20, ROWS - ROWS // 20), 6))
    kills, runs = 0, 0
    report_path, log = tmp_path / "report.json", tmp_path / "log.txt"
    while True:
        runs += 1
        assert runs < 30, "the load never finished"
        with log.open("w") as out:
            proc = subprocess.Popen(
                _cmd(path, mysql_url, "--report", str(report_path), *extra),
                stdout=out,
                stderr=out,
            )
            while targets and proc.poll() is None and _loaded(mysql_url) < targets[0]:
                time.sleep(0.005)
            if targets and proc.poll() is None:
                targets.pop(0)
                time.sleep(rng.uniform(0, 0.05))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
            proc.wait(timeout=300)
        assert proc.returncode == 0, log.read_text()
        break
    assert kills >= 4, f"only {kills} kills"
    assert _rows(mysql_url, "orders") == _rows(mysql_url, "clean")
    final = json.loads(report_path.read_text())
    assert (final["read"], final["written"], final["rejected"]) == (ROWS, ROWS, 0)
    assert final["written"] == clean.written
    again = subprocess.run(
        _cmd(path, mysql_url, *extra), capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert "already loaded completely" in again.stdout
    assert mysql_query(mysql_url, "SELECT count(*) FROM orders") == [(ROWS,)]


@pytest.mark.parametrize(
    ("how", "fault"),
    [
        ("--mode replace", "stage-published:1:kill"),
        ("--mode replace", "completion-mark:1:kill"),
        ("--mode replace", "stage-published:1:raise"),
        ("--atomic", "stage-published:1:kill"),
        ("--atomic", "completion-mark:1:kill"),
    ],
)
def test_a_staged_load_crashed_before_its_commit_leaves_the_table_then_publishes_once(
    mysql_url: str, tmp_path: Path, how: str, fault: str
) -> None:
    """DDL commits on MySQL, so the swap (RENAME TABLE) waits for the publish commit: a
    crash before it leaves the old table whole; the rerun publishes once."""
    path = _orders(tmp_path / "orders.csv", 3000)
    mysql_execute(
        mysql_url,
        "CREATE TABLE orders (id bigint PRIMARY KEY, name text, amount decimal(12,2), "
        "at timestamp(6) NULL DEFAULT NULL, note text)",
        "INSERT INTO orders VALUES (1000, 'old', 1, NULL, NULL), (5000, 'old', 2, NULL, NULL)",
    )
    old = _rows(mysql_url, "orders")
    cmd = _cmd(path, mysql_url, "--key", "id", *how.split())
    if how == "--atomic":
        cmd += ["--mode", "upsert"]
    crashed = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "CHUTE_FAULT": fault}
    )
    assert crashed.returncode == (-9 if fault.endswith("kill") else 5), crashed.stderr
    assert _rows(mysql_url, "orders") == old
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    ids = [r[0] for r in _rows(mysql_url, "orders")]
    expected = list(range(1, 3001)) + ([5000] if how == "--atomic" else [])
    assert ids == expected
    leftovers = mysql_query(
        mysql_url,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME LIKE '\\_chute\\_%' AND TABLE_NAME <> '_chute_checkpoints'",
    )
    assert leftovers == []
