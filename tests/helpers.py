"""Helpers for tests: read the database back with an independent driver."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` run on the database at ``url``, read with an independent driver."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.split(":///", 1)[1])
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def execute(url: str, *statements: str) -> None:
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.split(":///", 1)[1])
        try:
            for sql in statements:
                conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)  # type: ignore[arg-type]


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def on_a_terminal(
    cmd: list[str], *, columns: int = 100, timeout: float = 120
) -> tuple[int, str, str]:
    """Run ``cmd`` with its stderr on a pseudo-terminal ``columns`` wide; returns its exit
    code, its stdout, and what it drew on the terminal."""
    import os
    import pty
    import subprocess

    main, tty = pty.openpty()
    proc = subprocess.Popen(
        cmd, stderr=tty, stdout=subprocess.PIPE, env={**os.environ, "COLUMNS": str(columns)}
    )
    os.close(tty)
    drawn = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    stdout = proc.communicate(timeout=timeout)[0].decode()
    os.close(main)
    return proc.returncode, stdout, drawn.decode(errors="replace")


class CancelAfter:
    """An observer that asks the load to stop after ``n`` committed batches: pass it as an
    observer and its ``event`` as ``cancel``."""

    def __init__(self, n: int) -> None:
        import threading

        self.n = n
        self.event = threading.Event()

    def on_start(self, report: Any, total_bytes: int | None) -> None:
        pass

    def on_batch(self, report: Any, bytes_read: int) -> None:
        if report.batches >= self.n:
            self.event.set()

    def on_finish(self, report: Any) -> None:
        pass


def tables(url: str) -> list[str]:
    """The names of the tables of the database (PostgreSQL: of schema public), sorted."""
    if url.startswith("sqlite:"):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        sql = "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    return [r[0] for r in query(url, sql)]


def columns(url: str, table: str) -> list[str]:
    """The column names of ``table``, in order."""
    if url.startswith("sqlite:"):
        return [r[1] for r in query(url, f'PRAGMA table_info("{table}")')]
    return [
        r[0]
        for r in query(
            url,
            "SELECT attname::text FROM pg_attribute WHERE attrelid = "
            f"to_regclass('\"{table}\"') AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        )
    ]


def chute_cmd(*args: str) -> list[str]:
    """The command line of ``chute`` with ``args``, run by this Python."""
    import sys

    return [sys.executable, "-m", "chute", *args]


def chute(
    *args: str,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``chute ARGS...`` in a process of its own."""
    proc = subprocess.run(
        [sys.executable, "-m", "chute", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def assert_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    """The run failed with ``code`` and one ``error:`` line holding each fragment, and no
    traceback."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ")
    for fragment in fragments:
        assert fragment in first, first
