"""What ``chute bench`` measured: one :class:`StrategyResult` per strategy in a
:class:`BenchReport`, whose :meth:`~BenchReport.to_dict` is ``chute-bench.json``."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chute_bench.records import (
    ARROW_BATCH_ROWS,
    CHUTE_BATCH_ROWS,
    SAMPLE_ROWS,
    SAMPLE_SECONDS,
    VALUES_ROWS,
)


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
    #: connections that wrote rows at once (chute's parallel writers; 1 for a plain driver)
    connections: int | None = None
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
    database: str  # SQLite | PostgreSQL | MySQL | MariaDB | DuckDB
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

    def rank(self) -> None:
        """Set each result's ratio to the best of this run."""
        best = self.best
        for r in self.results:
            if best is not None and best.rows_per_second and r.rows_per_second:
                r.ratio_to_best = best.rows_per_second / r.rows_per_second

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
                "arrow_batch_rows": ARROW_BATCH_ROWS,
                "chute_batch_rows": CHUTE_BATCH_ROWS,
            },
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "strategies": [{**asdict(r), "label": r.title} for r in self.results],
        }
