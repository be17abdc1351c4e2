"""``chute bench``: the ways of loading rows, side by side, on the user's own database.

Each strategy (:func:`chute_bench.strategies.plan`) loads the same synthetic records into a
fresh table of its own (``chute_bench_<strategy>``, dropped before and after) in a process of
its own, so that its peak memory is its own; the strategies run one after the other in one
run, on the same machine.  One INSERT + COMMIT per row runs on a sample and is extrapolated,
and says so everywhere its figure appears.  The result is a table on the terminal, a JSON file
and a PNG chart (see ``docs/bench.md``).

This package sits above chute's public API: it reads the URL with chute's own sinks (the same
rules and errors as ``chute load``), loads through :func:`chute.load`, and reaches the
database otherwise through its plain driver (:mod:`chute_bench.targets`).  Nothing in chute
imports it but the ``chute bench`` command, lazily.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chute import ConfigError
from chute.sinks import open_sink
from chute_bench.records import SAMPLE_ROWS, TABLE_PREFIX
from chute_bench.report import BenchReport, StrategyResult
from chute_bench.strategies import plan
from chute_bench.targets import Target, scheme, target_for

__all__ = ["DEFAULT_ROWS", "JSON_NAME", "PNG_NAME", "run_bench"]

DEFAULT_ROWS = 100_000
JSON_NAME = "chute-bench.json"
PNG_NAME = "chute-bench.png"
MEASURED = "SQLite, PostgreSQL, MySQL/MariaDB and DuckDB"


def run_bench(
    into: str,
    *,
    rows: int = DEFAULT_ROWS,
    out: str | os.PathLike[str] = ".",
    sample_rows: int = SAMPLE_ROWS,
    progress: Callable[[str], None] | None = None,
) -> BenchReport:
    """Load ``rows`` synthetic records into the database at ``into`` by each strategy in turn,
    and write ``chute-bench.json`` and ``chute-bench.png`` into the folder ``out``.

    One INSERT + COMMIT per row writes at most ``sample_rows`` rows (or for at most
    SAMPLE_SECONDS), and its time is extrapolated to ``rows``.  ``progress`` is called with a
    line of text as each strategy starts and ends.  Raises a
    :class:`~chute.ConfigError` for a bad URL, ``rows``, ``sample_rows`` or ``out``, and a
    :class:`~chute.SinkUnavailableError` when the database cannot be reached; a strategy that
    fails is a ``failed`` row in the report, not an error.
    """
    say = progress or (lambda line: None)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ConfigError(f"rows must be at least 1, not {rows!r}", hint="pass --rows 100000")
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 1:
        raise ConfigError(f"sample_rows must be at least 1, not {sample_rows!r}")
    sink = open_sink(into)  # the URL as chute reads it: the same rules and errors
    target = target_for(into)
    if target is None:
        raise ConfigError(
            f"chute bench measures {MEASURED}, not {scheme(into)}",
            hint="pass --into sqlite:///bench.db or --into postgresql://user@host/db",
        )
    folder = _out_folder(out)
    sink.connect()  # a database that cannot be reached is chute's own error, with its hint
    sink.close()
    strategies = plan(target)
    with target.session() as db:
        database, version = target.identify(db)
    report = BenchReport(
        database,
        version,
        sink.display_url,
        rows,
        sample_rows,
        started_at=datetime.now(UTC).isoformat(),
    )
    _drop_tables(target, strategies)  # left by an earlier run that was killed
    say(f"chute bench: {report.database} {report.version} at {report.target}, {rows:,} rows")
    started = time.perf_counter()
    finished = False
    try:
        for i, (name, strategy) in enumerate(strategies.items(), 1):
            step = f"[{i}/{len(strategies)}] {strategy.label}"
            if strategy.run is None:
                result = StrategyResult(
                    name, strategy.label, "skipped", rows, note=strategy.skipped
                )
                say(f"{step}: skipped, {strategy.skipped}")
            else:
                if name in target.sampled and rows > sample_rows:
                    step += f", on a sample of up to {sample_rows:,} rows"
                say(f"{step} ...")
                result = _run_worker(name, strategy.label, into, rows, sample_rows)
                say(f"    {describe(result)}")
            report.results.append(result)
        finished = True
    finally:
        try:  # the workers drop their tables; this drops those of a worker that was killed
            _drop_tables(target, strategies)
        except Exception:
            if finished:
                raise
    report.seconds = time.perf_counter() - started
    report.rank()
    report.json_path = folder / JSON_NAME
    report.json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    report.png_path = folder / PNG_NAME
    from chute_bench.chart import write_chart  # matplotlib: only the parent draws

    write_chart(report, report.png_path)
    return report


def _out_folder(out: str | os.PathLike[str]) -> Path:
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot make the output folder {str(folder)!r}: {exc.strerror}",
            hint="choose another folder with --out DIR",
        ) from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(
            f"cannot write to the output folder {str(folder)!r}",
            hint="choose another folder with --out DIR",
        )
    return folder


def _drop_tables(target: Target, strategies: dict[str, Any]) -> None:
    target.admin([f"DROP TABLE IF EXISTS {target.quote(TABLE_PREFIX + s)}" for s in strategies])


def _run_worker(
    strategy: str, label: str, into: str, rows: int, sample_rows: int = SAMPLE_ROWS
) -> StrategyResult:
    """Run one strategy in a process of its own; its JSON result as a StrategyResult."""
    job = {
        "strategy": strategy,
        "into": into,
        "rows": rows,
        "table": TABLE_PREFIX + strategy,
        "sample_rows": sample_rows,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "chute_bench.worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    try:
        data: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return StrategyResult(
            strategy,
            label,
            "failed",
            rows,
            note=f"the worker process exited with code {proc.returncode}: {last}",
        )
    result = StrategyResult(
        strategy,
        label,
        data["status"],
        rows,
        peak_rss_bytes=data.get("peak_rss_bytes"),
        baseline_rss_bytes=data.get("baseline_rss_bytes"),
        extrapolated_from=data.get("extrapolated_from"),
        connections=data.get("connections"),
        batches=data.get("batches"),
        note=data.get("error"),
    )
    if result.status == "ok":
        result.seconds = float(data["seconds"])
        result.rows_per_second = rows / result.seconds if result.seconds > 0 else None
    return result


def describe(r: StrategyResult) -> str:
    """One strategy's figures in a line of progress."""
    if r.status != "ok" or r.seconds is None or not r.rows_per_second:
        return f"{r.status}: {r.note}"
    how = f", extrapolated from {r.extrapolated_from:,} rows" if r.extrapolated_from else ""
    peak = "?" if r.peak_rss_bytes is None else f"{r.peak_rss_bytes / 2**20:,.0f} MiB"
    return (
        f"{r.seconds:,.2f} s, {r.rows_per_second:,.0f} rows/s{how}, "
        f"{r.connections or 1} connection{'s' if (r.connections or 1) > 1 else ''}, "
        f"peak memory {peak}"
    )
