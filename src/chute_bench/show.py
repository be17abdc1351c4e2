"""The bench's results on the terminal: a rich table and the notes under it."""

from __future__ import annotations

from rich.table import Table

from chute_bench.report import BenchReport, StrategyResult


def mib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**20:,.0f} MiB"


def versus(r: StrategyResult, best: StrategyResult | None) -> str:
    """``best``, ``2.5× slower``, or nothing for a strategy that did not run."""
    if r is best:
        return "best"
    if r.ratio_to_best is None:
        return ""
    ratio = r.ratio_to_best
    return f"{ratio:,.{2 if ratio < 10 else 1 if ratio < 100 else 0}f}× slower"


def render_table(report: BenchReport) -> Table:
    """The results as a rich table: strategy, connections, rows, seconds, rows/s, ratio,
    peak memory."""
    best = report.best
    table = Table(
        title=f"chute bench: {report.database} {report.version}, {report.rows:,} rows",
        title_justify="left",
    )
    table.add_column("strategy")
    for name in ("connections", "rows", "seconds", "rows/s", "vs best", "peak memory"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in report.results:
        connections = "" if r.connections is None else str(r.connections)
        if r.status == "ok" and r.seconds is not None:
            table.add_row(
                r.title,
                connections,
                f"{r.rows:,}",
                f"{r.seconds:,.2f}",
                f"{r.rows_per_second or 0:,.0f}",
                versus(r, best),
                mib(r.peak_rss_bytes),
            )
        else:
            peak = mib(r.peak_rss_bytes) if r.peak_rss_bytes else ""
            table.add_row(r.title, connections, "", "", r.status, "", peak)
    return table


def notes(report: BenchReport) -> list[str]:
    """The lines under the table: why a strategy did not run, what peak memory includes."""
    lines = [f"{r.label}: {r.status}, {r.note}" for r in report.results if r.status != "ok"]
    baselines = [r.baseline_rss_bytes for r in report.results if r.baseline_rss_bytes]
    if baselines:
        lines.append(
            "peak memory is each strategy's own process; about "
            f"{mib(min(baselines))} of it is Python, chute and the driver before the first row"
        )
    if any((r.connections or 1) > 1 for r in report.results):
        lines.append("connections: how many wrote rows at once (chute's parallel writers)")
    return lines
