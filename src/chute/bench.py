"""``chute bench``: the ways of loading rows, side by side, on the user's own database.

Each strategy (:data:`chute.bench_worker.STRATEGIES`) loads the same synthetic records into a
fresh table of its own (``chute_bench_<strategy>``, dropped before and after) in a process of
its own, so that its peak memory is its own; the strategies run one after the other in one
run, on the same machine.  One INSERT + COMMIT per row runs on a sample and is extrapolated,
and says so everywhere its figure appears.  The result is a table on the terminal, a JSON file
and a PNG chart (see ``docs/bench.md``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chute.bench_worker import (
    CHUTE_BATCH_ROWS,
    COPY_BATCH_ROWS,
    SAMPLE_ROWS,
    SAMPLE_SECONDS,
    STRATEGIES,
    TABLE_PREFIX,
    VALUES_ROWS,
)
from chute.errors import ChuteError, ConfigError
from chute.sinks import open_sink
from chute.sinks.base import Sink
from chute.sinks.sql import SqlSink

__all__ = ["DEFAULT_ROWS", "BenchReport", "StrategyResult", "bench_command", "run_bench"]

DEFAULT_ROWS = 100_000
JSON_NAME = "chute-bench.json"
PNG_NAME = "chute-bench.png"
_KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_COLOURS = {False: "#7fa7d1", True: "#2f855a"}  # the usual routes, chute's


@dataclass
class StrategyResult:
    """One strategy's figures; ``status`` is ``ok``, ``skipped`` or ``failed`` (see ``note``)."""

    strategy: str
    label: str
    status: str
    rows: int
    seconds: float | None = None
    rows_per_second: float | None = None
    #: how many times slower than the fastest strategy (1.0 for the fastest)
    ratio_to_best: float | None = None
    #: the strategy's process at its peak, and before its first row (Python, chute, driver)
    peak_rss_bytes: int | None = None
    baseline_rss_bytes: int | None = None
    #: set when the figures are extrapolated from a sample of this many rows
    extrapolated_from: int | None = None
    batches: int | None = None
    note: str | None = None

    @property
    def title(self) -> str:
        """The label, with the extrapolation said where there is one."""
        if self.extrapolated_from is None:
            return self.label
        return f"{self.label} (extrapolated from {self.extrapolated_from:,} rows)"


@dataclass
class BenchReport:
    database: str  # SQLite | PostgreSQL
    version: str
    target: str  # the URL, password redacted
    rows: int
    sample_rows: int = SAMPLE_ROWS
    results: list[StrategyResult] = field(default_factory=list)
    started_at: str = ""
    seconds: float = 0.0
    json_path: Path | None = None
    png_path: Path | None = None

    @property
    def best(self) -> StrategyResult | None:
        ran = [r for r in self.results if r.rows_per_second]
        return max(ran, key=lambda r: r.rows_per_second or 0.0) if ran else None

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "database": self.database,
            "version": self.version,
            "target": self.target,
            "rows": self.rows,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "best": best.strategy if best else None,
            "settings": {
                "row_by_row_sample_rows": self.sample_rows,
                "row_by_row_sample_seconds": SAMPLE_SECONDS,
                "values_rows_per_statement": VALUES_ROWS,
                "copy_batch_rows": COPY_BATCH_ROWS,
                "chute_batch_rows": CHUTE_BATCH_ROWS,
            },
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "strategies": [{**asdict(r), "label": r.title} for r in self.results],
        }


# -- running ------------------------------------------------------------------------------


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
    :class:`~chute.errors.ConfigError` for a bad URL, ``rows``, ``sample_rows`` or ``out``, and a
    :class:`~chute.errors.SinkUnavailableError` when the database cannot be reached; a
    strategy that fails is a ``failed`` row in the report, not an error.
    """
    say = progress or (lambda line: None)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ConfigError(f"rows must be at least 1, not {rows!r}", hint="pass --rows 100000")
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 1:
        raise ConfigError(f"sample_rows must be at least 1, not {sample_rows!r}")
    sink = open_sink(into)
    kind = sink.schemes[0]
    if kind not in _KINDS:
        raise ConfigError(
            f"chute bench measures SQLite and PostgreSQL, not {kind}",
            hint="pass --into sqlite:///bench.db or --into postgresql://user@host/db",
        )
    folder = _out_folder(out)
    report = BenchReport(
        _KINDS[kind],
        "",
        sink.display_url,
        rows,
        sample_rows,
        started_at=datetime.now(UTC).isoformat(),
    )
    sink.connect()
    try:
        report.version = _server_version(sink, kind)
        _drop_tables(sink)  # left by an earlier run that was killed
    finally:
        sink.close()
    say(f"chute bench: {report.database} {report.version} at {report.target}, {rows:,} rows")
    started = time.perf_counter()
    finished = False
    try:
        for i, (strategy, label) in enumerate(STRATEGIES.items(), 1):
            step = f"[{i}/{len(STRATEGIES)}] {label}"
            if strategy == "copy" and kind == "sqlite":
                result = StrategyResult(strategy, label, "skipped", rows, note="SQLite has no COPY")
                say(f"{step}: skipped, SQLite has no COPY")
            else:
                if strategy == "row_by_row" and rows > sample_rows:
                    step += f", on a sample of up to {sample_rows:,} rows"
                say(f"{step} ...")
                result = _run_worker(strategy, label, into, kind, rows, sample_rows)
                say(f"    {_describe(result)}")
            report.results.append(result)
        finished = True
    finally:
        try:  # the workers drop their tables; this drops those of a worker that was killed
            sink = open_sink(into)
            sink.connect()
            try:
                _drop_tables(sink)
            finally:
                sink.close()
        except ChuteError:
            if finished:
                raise
    report.seconds = time.perf_counter() - started
    _rank(report)
    report.json_path = folder / JSON_NAME
    report.json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    report.png_path = folder / PNG_NAME
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


def _server_version(sink: Sink, kind: str) -> str:
    if kind == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    assert isinstance(sink, SqlSink), "chute bench measures SQL databases"
    (version,) = sink.execute("SELECT current_setting('server_version')")[0]
    sink.commit()
    return str(version).split()[0]


def _drop_tables(sink: Sink) -> None:
    with sink.transaction():
        for strategy in STRATEGIES:
            sink.drop_table(TABLE_PREFIX + strategy)


def _run_worker(
    strategy: str, label: str, into: str, kind: str, rows: int, sample_rows: int = SAMPLE_ROWS
) -> StrategyResult:
    """Run one strategy in a process of its own; its JSON result as a StrategyResult."""
    job = {
        "strategy": strategy,
        "into": into,
        "kind": kind,
        "rows": rows,
        "table": TABLE_PREFIX + strategy,
        "sample_rows": sample_rows,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "chute.bench_worker"],
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
        batches=data.get("batches"),
        note=data.get("error"),
    )
    if result.status == "ok":
        result.seconds = float(data["seconds"])
        result.rows_per_second = rows / result.seconds if result.seconds > 0 else None
    return result


def _rank(report: BenchReport) -> None:
    best = report.best
    for r in report.results:
        if best is not None and best.rows_per_second and r.rows_per_second:
            r.ratio_to_best = best.rows_per_second / r.rows_per_second


# -- showing ------------------------------------------------------------------------------


def _mib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**20:,.0f} MiB"


def _versus(r: StrategyResult, best: StrategyResult | None) -> str:
    if r is best:
        return "best"
    if r.ratio_to_best is None:
        return ""
    ratio = r.ratio_to_best
    return f"{ratio:,.{2 if ratio < 10 else 1 if ratio < 100 else 0}f}× slower"


def _describe(r: StrategyResult) -> str:
    if r.status != "ok" or r.seconds is None or not r.rows_per_second:
        return f"{r.status}: {r.note}"
    how = f", extrapolated from {r.extrapolated_from:,} rows" if r.extrapolated_from else ""
    return (
        f"{r.seconds:,.2f} s, {r.rows_per_second:,.0f} rows/s{how}, "
        f"peak memory {_mib(r.peak_rss_bytes)}"
    )


def render_table(report: BenchReport) -> Table:
    """The results as a rich table: strategy, rows, seconds, rows/s, ratio, peak memory."""
    best = report.best
    table = Table(
        title=f"chute bench: {report.database} {report.version}, {report.rows:,} rows",
        title_justify="left",
    )
    table.add_column("strategy")
    for name in ("rows", "seconds", "rows/s", "vs best", "peak memory"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in report.results:
        if r.status == "ok" and r.seconds is not None:
            table.add_row(
                r.title,
                f"{r.rows:,}",
                f"{r.seconds:,.2f}",
                f"{r.rows_per_second or 0:,.0f}",
                _versus(r, best),
                _mib(r.peak_rss_bytes),
            )
        else:
            peak = _mib(r.peak_rss_bytes) if r.peak_rss_bytes else ""
            table.add_row(r.title, "", "", r.status, "", peak)
    return table


def _notes(report: BenchReport) -> list[str]:
    notes = [f"{r.label}: {r.status}, {r.note}" for r in report.results if r.status != "ok"]
    baselines = [r.baseline_rss_bytes for r in report.results if r.baseline_rss_bytes]
    if baselines:
        notes.append(
            "peak memory is each strategy's own process; about "
            f"{_mib(min(baselines))} of it is Python, chute and the driver before the first row"
        )
    return notes


def write_chart(report: BenchReport, path: Path) -> None:
    """A horizontal bar chart of rows/s per strategy; an extrapolated bar is hatched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    best = report.best
    results = report.results
    fig = Figure(figsize=(10, 1.6 + 0.65 * len(results)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = best.rows_per_second if best is not None and best.rows_per_second else 1.0
    for y, r in enumerate(results):
        if r.status == "ok" and r.rows_per_second:
            extrapolated = r.extrapolated_from is not None
            ax.barh(
                y,
                r.rows_per_second,
                color="#c9d6e3" if extrapolated else _COLOURS[r.strategy.startswith("chute")],
                edgecolor="#2b4c6f",
                hatch="//" if extrapolated else None,
            )
            text = f" {r.rows_per_second:,.0f} rows/s, {_versus(r, best)}"
            if extrapolated:
                text += " (extrapolated)"
        else:
            text = f" {r.status}: {r.note}"
            text = text if len(text) <= 70 else text[:69] + "…"
        color = "#333333" if r.status == "ok" else "#999999"
        ax.text(r.rows_per_second or 0.0, y, text, va="center", fontsize=9, color=color)
    ax.set_yticks(
        list(range(len(results))),
        [
            r.label
            if r.extrapolated_from is None
            else f"{r.label}\n(extrapolated from {r.extrapolated_from:,} rows)"
            for r in results
        ],
    )
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.6)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("rows per second (higher is better)")
    ax.set_title(f"chute bench: {report.database} {report.version}, {report.rows:,} rows")
    fig.text(
        0.01,
        0.01,
        "same records, same machine, one run; each strategy in its own process",
        fontsize=8,
        color="#666666",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, format="png")


# -- the command --------------------------------------------------------------------------


def bench_command(
    into: Annotated[
        str,
        typer.Option(
            envvar="CHUTE_INTO",
            help="Database URL to measure on: sqlite:///path.db or postgresql://user@host/db.",
        ),
    ],
    rows: Annotated[int, typer.Option(help="Records each strategy loads.")] = DEFAULT_ROWS,
    sample_rows: Annotated[
        int,
        typer.Option(
            help="Rows the INSERT + COMMIT per row strategy writes before its time is "
            f"extrapolated (it also stops after {SAMPLE_SECONDS:.0f} s)."
        ),
    ] = SAMPLE_ROWS,
    out: Annotated[Path, typer.Option(help=f"Folder for {PNG_NAME} and {JSON_NAME}.")] = Path("."),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Measure the ways of loading rows into your database, side by side, in one run."""

    def progress(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    try:
        report = run_bench(into, rows=rows, out=out, sample_rows=sample_rows, progress=progress)
    except ChuteError as exc:
        if debug:
            traceback.print_exc()
        _print_error(str(exc), exc.hint)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _print_error("interrupted", None)
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so, with the traceback only on request
        if debug:
            traceback.print_exc()
        _print_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug and report the traceback",
        )
        raise typer.Exit(1) from None
    console = Console(soft_wrap=False)
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    console.print(render_table(report))
    for note in _notes(report):
        console.print(note, highlight=False)
    console.print(f"wrote {report.json_path} and {report.png_path}", highlight=False)


def _print_error(message: str, hint: str | None) -> None:
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
