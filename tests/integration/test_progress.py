"""The progress bar shows on a terminal, and nothing but the summary shows elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import on_a_terminal


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "big.csv"
    path.write_text("id,name\n" + "".join(f"{i},name {i}\n" for i in range(60_000)))
    return path


def test_progress_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    code, stdout, screen = on_a_terminal(
        [sys.executable, "-m", "chute", "load", str(path), "--into",
         f"sqlite:///{tmp_path / 'x.db'}", "--batch-rows", "5000"]
    )  # fmt: skip
    assert code == 0
    assert "rows" in screen and "ETA" in screen and "%" in screen
    assert "read 60,000  written 60,000" in stdout


def test_no_progress_when_not_a_terminal_or_quiet(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    for extra in ([], ["--quiet"]):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "chute",
                "load",
                str(path),
                "--into",
                f"sqlite:///{tmp_path / 'y.db'}",
                "--table",
                f"t{len(extra)}",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0
        assert proc.stderr == ""
        assert proc.stdout.startswith(f"Loaded {path}")
