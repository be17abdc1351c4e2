"""The bench's chart: a horizontal bar of rows/s per strategy (matplotlib, the bench extra)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from chute_bench.report import BenchReport, StrategyResult
from chute_bench.show import versus

_COLOURS = {False: "#7fa7d1", True: "#2f855a"}  # the usual routes, chute's


def _tick(r: StrategyResult) -> str:
    """The strategy's label, with any extrapolation under it."""
    if r.extrapolated_from is None:
        return r.label
    return f"{r.label}\n(extrapolated from {r.extrapolated_from:,} rows)"


def _connections(r: StrategyResult) -> str:
    n = r.connections or 1
    return f"{n} connection{'s' if n > 1 else ''}"


def write_chart(report: BenchReport, path: Path) -> None:
    """A horizontal bar chart of rows/s per strategy; an extrapolated bar is hatched, and each
    bar says how many connections wrote its rows."""
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
            text = f" {r.rows_per_second:,.0f} rows/s, {versus(r, best)}, {_connections(r)}"
            if extrapolated:
                text += " (extrapolated)"
        else:
            text = f" {r.status}: {r.note}"
            text = text if len(text) <= 70 else text[:69] + "…"
        color = "#333333" if r.status == "ok" else "#999999"
        ax.text(r.rows_per_second or 0.0, y, text, va="center", fontsize=9, color=color)
    ax.set_yticks(list(range(len(results))), [_tick(r) for r in results])
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.6)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("rows per second (higher is better)")
    ax.set_title(f"chute bench: {report.database} {report.version}, {report.rows:,} rows")
    fig.text(
        0.01,
        0.01,
        "same records, same machine, one run; each strategy in its own process; "
        "connections: how many wrote rows at once",
        fontsize=8,
        color="#666666",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, format="png")
