"""The monitor (report, summary, --log-json), batch sizing, and parallel writers."""

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
from tests.helpers import execute, query, write
from tests.integration.test_resume import _load_cmd, _loaded, _orders, _rows


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chute", "load", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_monitor_adds_up_in_the_report_and_the_json_log(db_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 60_000)
    bad = path.read_text().replace("\n500,", "\nnot-a-number,", 1)
    path.write_text(bad)
    execute(
        db_url,
        "CREATE TABLE orders (id bigint, name text, amount numeric(12,2), at text, note text)",
    )
    report_path = tmp_path / "report.json"
    done = _run(
        str(path), "--into", db_url, "--table", "orders", "--log-json",
        "--report", str(report_path),
    )  # fmt: skip
    assert done.returncode == 6, done.stderr  # completed, with a reject
    report = json.loads(report_path.read_text())
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    batches = [e for e in events if e["event"] == "batch"]
    assert events[0]["event"] == "start" and events[-1]["event"] == "finish"
    assert events[-1]["read"] == report["read"] == 60_000
    assert sum(b["rows"] for b in batches) == report["read"]
    assert sum(b["bytes"] for b in batches) == pytest.approx(path.stat().st_size, rel=0.01)
    assert len(batches) == report["batches"] > 1
    assert all(b["ms"] > 0 and b["rows_per_second"] > 0 for b in batches)
    assert report["read"] == report["written"] + report["skipped"] + report["rejected"]
    assert report["rejected"] == 1
    sizes, ms = report["batch_rows"], report["batch_ms"]
    assert sizes["min"] <= sizes["median"] <= sizes["max"]
    assert sizes["max"] == max(b["rows"] for b in batches)
    assert 0 < ms["p50"] <= ms["p95"] <= ms["max"]
    assert report["batch_sizing"] == "adaptive"
    assert report["statements"] >= 2 * report["batches"]  # a write and a commit each at least
    assert report["read_seconds"] > 0 and report["write_seconds"] > 0
    waits = {"source": report["wait_seconds"], "database": report["backpressure_seconds"]}
    if report["bottleneck"] is None:  # neither held the other up for long
        assert max(waits.values()) < max(0.01, 0.05 * report["seconds"])
    else:
        assert report["bottleneck"] == max(waits, key=lambda k: waits[k])
    assert report["peak_rss_bytes"] > 0 and report["bytes_read"] == path.stat().st_size
    # after the first batch the controller asks for bigger ones
    assert batches[0]["next_batch_rows"] > batches[0]["rows"]


def test_the_summary_shows_batches_latency_and_the_waits(sqlite_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 5_000)
    done = _run(str(path), "--into", sqlite_url, "--table", "orders", "--batch-rows", "1000")
    assert done.returncode == 0, done.stderr
    assert "5 batches (fixed, 1,000–1,000 rows, last 1,000)" in done.stdout
    assert "database time per batch p50" in done.stdout
    assert "database idle waiting for the source" in done.stdout


def test_a_fixed_batch_size_is_kept(db_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 10_500)
    # batch bytes are planned from the memory left above this process's RSS: give room, so
    # that what earlier tests left in this process cannot cut the batches
    report = chute.load(path, into=db_url, table="orders", batch_rows=1_000, memory_limit="64GiB")
    assert report.batch_sizing == "fixed"
    assert report.batch_rows == {"min": 500, "median": 1_000, "max": 1_000, "last": 500}
    assert report.batches == 11


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--workers", "0", "workers must be between 1 and 32"),
        ("--memory-limit", "lots", "cannot read 'lots' as a size"),
        ("--memory-limit", "1MiB", "is too small"),
        ("--batch-rows", "0", "batch_rows must be at least 1"),
    ],
)
def test_bad_sizing_options_are_one_line_errors(
    sqlite_url: str, tmp_path: Path, option: str, value: str, message: str
) -> None:
    path = write(tmp_path / "t.csv", "a\n1\n")
    done = _run(str(path), "--into", sqlite_url, option, value)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith("error: ")
    assert message in done.stderr
    assert not query(sqlite_url, "SELECT name FROM sqlite_master WHERE name = 't'")


def test_sqlite_takes_one_writer_and_says_so(sqlite_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 2_000)
    report = chute.load(path, into=sqlite_url, table="orders", workers=4)
    assert report.workers == 1
    assert any("one writer at a time" in c for c in report.changes)
    assert query(sqlite_url, "SELECT count(*) FROM orders") == [(2_000,)]


# -- parallel writers on PostgreSQL ------------------------------------------------------


def test_parallel_writers_load_everything_exactly_once(pg_url: str, tmp_path: Path) -> None:
    path = _orders(tmp_path / "orders.csv", 50_000)
    report = chute.load(
        path, into=pg_url, table="orders", batch_rows=2_000, workers=4, memory_limit="64GiB"
    )
    assert report.workers == 4
    assert (report.read, report.written, report.batches) == (50_000, 50_000, 25)
    assert query(pg_url, "SELECT count(*), count(DISTINCT id) FROM orders") == [(50_000, 50_000)]
    clean = chute.load(path, into=pg_url, table="clean", batch_rows=50_000)
    assert _rows(pg_url, "orders") == _rows(pg_url, "clean")
    # the checkpoint marks the whole file: running it again does nothing
    again = chute.load(path, into=pg_url, table="orders", batch_rows=2_000, workers=4)
    assert again.nothing_to_do and clean.written == 50_000


def test_parallel_upsert_the_later_record_in_the_input_wins(pg_url: str, tmp_path: Path) -> None:
    """Every key appears in many batches that are in flight at once; the last one wins."""
    rng = random.Random(7)
    lines = ["id,version,payload"]
    last: dict[int, int] = {}
    for version in range(30_000):
        key = rng.randrange(300)
        lines.append(f"{key},{version},p{version}")
        last[key] = version
    path = write(tmp_path / "events.csv", "\n".join(lines) + "\n")
    chute.load(
        path, into=pg_url, table="events", mode="upsert", key="id", batch_rows=500, workers=4
    )
    stored = dict(query(pg_url, "SELECT id, version FROM events"))
    assert stored == last


def test_parallel_append_rejects_the_later_duplicate_as_one_writer_does(
    pg_url: str, tmp_path: Path
) -> None:
    lines = ["id,name"] + [f"{i},n{i}" for i in range(20_000)]
    lines += [f"{i},again{i}" for i in range(0, 20_000, 997)]  # duplicates, later in the input
    path = write(tmp_path / "people.csv", "\n".join(lines) + "\n")
    results = {}
    for workers in (1, 4):
        table = f"people_{workers}"
        execute(pg_url, f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text)")
        rejects = tmp_path / f"{table}.rejects.jsonl"
        report = chute.load(
            path,
            into=pg_url,
            table=table,
            batch_rows=1_000,
            workers=workers,
            rejects=str(rejects),
        )
        lines_rejected = [json.loads(x)["line"] for x in rejects.read_text().splitlines()]
        results[workers] = (report.written, report.rejected, lines_rejected)
        assert query(pg_url, f"SELECT count(*) FROM {table} WHERE name LIKE 'again%'") == [(0,)]
    assert results[4] == results[1]
    assert results[1][1] == len(range(0, 20_000, 997))


def test_a_column_widens_while_writers_are_in_flight(pg_url: str, tmp_path: Path) -> None:
    lines = ["id,code"] + [f"{i},{i}" for i in range(30_000)] + ["30000,A-17"]
    lines += [f"{i},{i}" for i in range(30_001, 40_000)]
    path = write(tmp_path / "codes.csv", "\n".join(lines) + "\n")
    report = chute.load(path, into=pg_url, table="codes", batch_rows=1_000, workers=3)
    assert report.columns["code"] == "text"
    assert query(pg_url, "SELECT count(*), max(id) FROM codes") == [(40_000, 39_999)]
    assert query(pg_url, "SELECT code FROM codes WHERE id = 30000") == [("A-17",)]


@pytest.mark.slow
def test_kill_9_with_parallel_writers_then_the_table_equals_a_clean_load(
    pg_url: str, tmp_path: Path
) -> None:
    rows = 200_000
    path = _orders(tmp_path / "orders.csv", rows)
    chute.load(path, into=pg_url, table="clean", batch_rows=20_000)
    rng = random.Random(5)
    targets = sorted(rng.sample(range(rows // 20, rows - rows // 20), 8))
    kills = 0
    for _ in range(40):
        proc = subprocess.Popen(
            _load_cmd(path, pg_url, "orders", "--workers", "3"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while targets and proc.poll() is None and _loaded(pg_url) < targets[0]:
            time.sleep(0.005)
        if targets and proc.poll() is None:
            targets.pop(0)
            time.sleep(rng.uniform(0, 0.05))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
        assert proc.wait(timeout=120) == 0
        break
    assert kills >= 6
    assert _rows(pg_url, "orders") == _rows(pg_url, "clean")
