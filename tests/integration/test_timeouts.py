"""Connecting has a deadline, and Ctrl-C/SIGTERM stop a real ``chute`` process in every
phase: connecting to a server that never answers, waiting for a lock held by another
session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.helpers import assert_error, chute, query, write
from tests.servers import SilentServer


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def _signalled(cmd: list[str], ready: object, signum: int) -> tuple[int, str]:
    """Start ``chute CMD``, wait until ``ready()`` is true, send ``signum``; the exit code
    and stderr (the process must end by itself, well within the bound)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "chute", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert callable(ready)
        assert ready(), "the run never reached the phase under test"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err.decode()


def test_postgres_that_accepts_and_never_answers_times_out_with_exit_5_naming_the_host(
    tmp_path: Path,
) -> None:
    source = write(tmp_path / "t.csv", "id\n1\n")
    with SilentServer() as server:
        result = chute(
            "load", str(source), "--into", f"postgresql://u@127.0.0.1:{server.port}/db",
            "--connect-timeout", "2",
        )  # fmt: skip
        assert server.accepted.is_set()
    assert_error(result, 5, f"127.0.0.1:{server.port}")
    assert "connect-timeout" in result.stderr  # the hint names the setting
    assert not (tmp_path / "t.rejects.jsonl").exists()


def test_broker_that_accepts_and_never_answers_times_out_with_exit_5_naming_the_host(
    tmp_path: Path,
) -> None:
    db = tmp_path / "q.db"
    with SilentServer() as server:
        result = chute(
            "consume", f"amqp://guest:guest@127.0.0.1:{server.port}/", "--queue", "orders",
            "--into", f"sqlite:///{db}",
            env={**os.environ, "CHUTE_CONNECT_TIMEOUT": "1"},  # the setting from the env
        )  # fmt: skip
        assert server.accepted.is_set()
    assert_error(result, 5, f"127.0.0.1:{server.port}", "1 s")
    assert not db.exists() or not query(f"sqlite:///{db}", "SELECT name FROM sqlite_master")


def test_connect_timeout_must_be_positive(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "id\n1\n")
    result = chute("load", str(source), "--into", f"sqlite:///{tmp_path / 'x.db'}",
                   "--connect-timeout", "0")  # fmt: skip
    assert_error(result, 2, "connect timeout")
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("command", "signum"),
    [("load", signal.SIGTERM), ("load", signal.SIGINT), ("consume", signal.SIGTERM)],
)
def test_signal_while_connecting_to_a_server_that_never_answers_stops_chute(
    tmp_path: Path, command: str, signum: int
) -> None:
    source = write(tmp_path / "t.csv", "id\n1\n")
    with SilentServer() as server:
        if command == "load":
            cmd = ["load", str(source), "--into", f"postgresql://u@127.0.0.1:{server.port}/db"]
        else:
            cmd = ["consume", f"amqp://127.0.0.1:{server.port}/", "--queue", "q",
                   "--into", f"sqlite:///{tmp_path / 'q.db'}"]  # fmt: skip
        # a wait far longer than the test's bound: the signal must end it, not the timeout
        code, stderr = _signalled(
            [*cmd, "--connect-timeout", "3600"], lambda: server.accepted.wait(60), signum
        )
    assert code == 128 + signum  # 143 for SIGTERM, 130 for Ctrl-C
    line = _one_error_line(stderr)
    assert "stopped" in line


def test_sigterm_while_waiting_for_a_lock_stops_chute_and_writes_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    source = write(tmp_path / "locked.csv", "id\n1\n2\n")
    with psycopg.connect(pg_url) as holder:
        holder.execute("CREATE TABLE locked (id bigint)")
        holder.commit()
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")  # held until rollback

        def waiting() -> bool:  # chute's connection is waiting for that lock
            with psycopg.connect(pg_url, autocommit=True) as probe:
                for _ in range(600):
                    row = probe.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    ).fetchone()
                    if row and row[0]:
                        return True
                    probe.execute("SELECT pg_sleep(0.1)")
            return False

        code, stderr = _signalled(
            ["load", str(source), "--into", pg_url, "--table", "locked"], waiting, signal.SIGTERM
        )
        holder.rollback()
    assert code == 143
    assert "stopped" in _one_error_line(stderr)
    assert query(pg_url, "SELECT count(*) FROM locked") == [(0,)]
