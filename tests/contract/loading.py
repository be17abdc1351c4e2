"""Running loads for the contract tests: through ``chute.load`` and through ``python -m chute
load`` only, so the suite holds whatever the internals become."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import chute
from tests.contract.targets import SinkTarget

#: batch sizes are planned from the memory left above this process's RSS: a limit far above
#: it keeps ``batch_rows`` what the test says, whatever earlier tests left in the process
ROOMY = "64GiB"


def write(target: SinkTarget, name: str, text: str) -> Path:
    path = target.tmp / name
    path.write_bytes(text.encode("utf-8"))
    return path


def load(target: SinkTarget, source: Any, **kwargs: Any) -> chute.LoadReport:
    """``chute.load(source, into=target)`` (table ``t`` unless given); a completed load's
    report must add up."""
    kwargs.setdefault("table", "t")
    kwargs.setdefault("memory_limit", ROOMY)
    report = chute.load(source, into=target.url, **kwargs)
    check_identity(report)
    return report


def load_text(target: SinkTarget, text: str, *, name: str = "in.csv", **kwargs: Any) -> Any:
    return load(target, write(target, name, text), **kwargs)


def check_identity(report: chute.LoadReport) -> None:
    assert report.status == "completed", report.error
    assert report.read == report.written + report.skipped + report.rejected
    assert report.written == report.created + report.updated


def counts(report: chute.LoadReport) -> tuple[int, int, int, int, int]:
    """(read, created, updated, skipped, rejected)."""
    return report.read, report.created, report.updated, report.skipped, report.rejected


def rejects_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def cli(
    target: SinkTarget, path: Path, *args: str, fault: str | None = None, table: str = "t"
) -> subprocess.CompletedProcess[str]:
    """``python -m chute load PATH --into TARGET --table TABLE ARGS...`` in its own process;
    ``fault`` arms a fault point (``CHUTE_FAULT=<point>:<nth>:kill``)."""
    env = {k: v for k, v in os.environ.items() if k != "CHUTE_FAULT"}
    if fault is not None:
        env["CHUTE_FAULT"] = fault
    cmd = [sys.executable, "-m", "chute", "load", str(path), "--into", target.url]
    cmd += ["--table", table, "--memory-limit", ROOMY, "--quiet", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


def report_of(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text())
    return result
