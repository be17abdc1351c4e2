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
