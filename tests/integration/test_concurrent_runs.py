"""Two runs of the same load exclude each other: the second stops (exit 7) and says which
process holds the load; a holder that died leaves no stale lock."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import chute_cmd, query

ROWS = 20_000
LOAD_RUNNING = 7  # the exit code of "another chute load of X into T is running"


def _csv(path: Path, first: int = 1, rows: int = ROWS) -> Path:
    path.write_text(
        "id,name,amount\n"
        + "".join(f"{i},name {i},{i % 977}.5\n" for i in range(first, first + rows))
    )
    return path


def _cmd(path: Path, url: str, *extra: str, batch_rows: int = 200) -> list[str]:
    """``chute load`` of ``path`` into table orders; small batches, so a load lasts a while."""
    return chute_cmd(
        "load", str(path), "--into", url, "--table", "orders", "--batch-rows", str(batch_rows),
        "--quiet", *extra,
    )  # fmt: skip


def _committed(url: str) -> int:
    """Records the load into orders has committed, from its checkpoint (0 before any)."""
    try:
        rows = query(url, "SELECT read_count FROM _chute_checkpoints WHERE target_table = 'orders'")
    except Exception:  # no checkpoint table yet
        return 0
    return int(rows[0][0]) if rows else 0


def _paused_holder(path: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    """A load started and stopped with SIGSTOP once it has committed a batch: it holds the
    load's lock as long as it lives."""
    holder = subprocess.Popen(
        _cmd(path, url, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while _committed(url) == 0 and holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    holder.send_signal(signal.SIGSTOP)
    _wait_stopped(holder.pid)  # kill() returns before every thread of it has stopped
    assert holder.poll() is None, "the load finished before it could be paused"
    assert 0 < _committed(url) < ROWS
    return holder


def _wait_stopped(pid: int) -> None:
    """Wait until every thread of ``pid`` is stopped (state T), so no commit is still on
    its way when the test looks at the table."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        states = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except OSError:  # a thread that ended meanwhile
                continue
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not stop")


def _all_rows_once(url: str, rows: int = ROWS) -> None:
    assert query(url, "SELECT count(*), count(DISTINCT id) FROM orders") == [(rows, rows)]


@pytest.mark.parametrize("atomic", [False, True], ids=["append", "atomic"])
def test_a_second_run_of_a_running_load_stops_and_names_the_first(
    db_url: str, tmp_path: Path, atomic: bool
) -> None:
    path = _csv(tmp_path / "orders.csv")
    extra = ("--atomic",) if atomic else ()
    holder = _paused_holder(path, db_url, *extra)
    try:
        stored = query(db_url, "SELECT count(*) FROM orders")[0][0] if not atomic else None
        second = subprocess.run(
            _cmd(path, db_url, *extra, "--report", str(tmp_path / "second.json")),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == LOAD_RUNNING, second.stderr
        assert second.stderr.splitlines()[0] == (
            f"error: another chute load of {path} into orders is running (pid {holder.pid})"
        )
        if not atomic:
            assert query(db_url, "SELECT count(*) FROM orders") == [(stored,)]
    finally:
        holder.send_signal(signal.SIGCONT)
    _, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    _all_rows_once(db_url)
    again = subprocess.run(_cmd(path, db_url, *extra), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    _all_rows_once(db_url)


def test_a_killed_holder_leaves_no_stale_lock(db_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path / "orders.csv")
    holder = _paused_holder(path, db_url)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=60)
    rerun = subprocess.run(_cmd(path, db_url), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stdout
    _all_rows_once(db_url)


def test_two_identical_loads_started_at_once_store_every_row_once(
    db_url: str, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "orders.csv", rows=100_000)
    command = _cmd(path, db_url, batch_rows=1000)
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    results = [
        (run.pid, run.returncode, out, err) for run, (out, err) in zip(runs, outputs, strict=True)
    ]
    codes = sorted(code for _, code, _, _ in results)
    # the usual outcome: one loads, the other finds it running; should one start only after
    # the other finished, it finds the load complete and does nothing
    assert codes in ([0, LOAD_RUNNING], [0, 0]), results
    if codes == [0, 0]:
        assert sum("nothing to do" in out for _, _, out, _ in results) == 1, results
    for pid, code, _, err in results:
        if code == LOAD_RUNNING:
            (other,) = [p for p, _, _, _ in results if p != pid]
            assert err.splitlines()[0] == (
                f"error: another chute load of {path} into orders is running (pid {other})"
            ), err
    _all_rows_once(db_url, 100_000)


@pytest.mark.postgres
def test_loads_of_two_files_into_one_table_run_at_once(pg_url: str, tmp_path: Path) -> None:
    """The lock is the load's (file, table, mode, key), not the table's."""
    first = _csv(tmp_path / "a.csv", 1, ROWS // 2)
    second = _csv(tmp_path / "b.csv", ROWS // 2 + 1, ROWS // 2)
    holder = _paused_holder(first, pg_url)
    try:
        other = subprocess.run(_cmd(second, pg_url), capture_output=True, text=True, timeout=120)
        assert other.returncode == 0, other.stderr
    finally:
        holder.send_signal(signal.SIGCONT)
    _, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    _all_rows_once(pg_url)


def test_a_run_opening_a_new_sqlite_file_another_holds_a_lock_on_waits_for_it(
    tmp_path: Path,
) -> None:
    """SQLite answers "database is locked" at once, without its busy wait, to the switch to
    WAL while another connection holds a lock on a file not yet in WAL: two runs opening a
    new database together (seen in CI: the second exited 5, not 7).  The switch is tried
    again until the connect timeout."""
    import sqlite3
    import threading

    from chute.sinks.sqlite import SqliteSink

    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()

    sink = SqliteSink(f"sqlite:///{path}")
    sink.connect()
    try:
        assert sink.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert sink.conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        sink.close()
        other.close()
