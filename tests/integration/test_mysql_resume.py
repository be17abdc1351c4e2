"""Crash-safe loads into MariaDB: kill -9 at seeded moments, run again, and the table equals
a clean load (checkpoints commit with the rows in InnoDB)."""

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
from tests.mysql_server import mysql_query, mysql_url

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
