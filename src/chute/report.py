"""The result of a load: one object that the summary, the JSON report and the API share."""

from __future__ import annotations

import copy
from array import array
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from chute.sources.base import Reject


@dataclass
class LoadReport:
    """What a load read, wrote and spent.

    The identity ``read == written + skipped + rejected`` holds for every completed load;
    ``written == created + updated``.  After a failure the counts cover exactly what was
    committed, and ``error`` says why the load stopped.
    """

    source: str
    target: str
    table: str
    mode: str
    key: list[str] = field(default_factory=list)
    status: str = "running"  # running | completed | failed
    read: int = 0
    written: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    batches: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    rows_per_second: float = 0.0
    peak_rss_bytes: int = 0
    #: reading and parsing the input (the reader thread)
    read_seconds: float = 0.0
    #: in the database: writing batches and committing them (summed over the writers)
    write_seconds: float = 0.0
    #: the writers waited for the source: the source is the bottleneck
    wait_seconds: float = 0.0
    #: the source waited for the writers (the queue was full): the database is
    backpressure_seconds: float = 0.0
    #: "source" or "database": which one the other waited for more
    bottleneck: str | None = None
    #: "adaptive" or "fixed", and the batch sizes in rows: min, median, max, last
    batch_sizing: str = "adaptive"
    batch_rows: dict[str, int] = field(default_factory=dict)
    #: seconds in the database per batch: p50, p95, max (milliseconds)
    batch_ms: dict[str, float] = field(default_factory=dict)
    #: the last committed batch: rows, bytes, ms, rows/s, the rows of the next batches
    last_batch: dict[str, Any] = field(default_factory=dict)
    #: statements sent to the database (commits and the checkpoints' included)
    statements: int = 0
    #: batches tried again whole after a deadlock or serialization failure
    retries: int = 0
    #: connections writing batches at once
    workers: int = 1
    memory_limit_bytes: int = 0
    #: a queue's consumer: messages delivered, acked, dead-lettered, already stored, ...
    queue: dict[str, Any] | None = None
    #: a graph load: by label and relationship type, created, updated, skipped, placeholders
    graph: dict[str, dict[str, int]] | None = None
    #: an import into a versioned dataset: its name, branch, the commit made (or None)
    #: and what it added, changed and removed
    dataset: dict[str, Any] | None = None
    table_created: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    error: str | None = None
    committed_through: str | None = None
    #: rejects counted by kind of error: parse, decode, shape, conversion, constraint, database
    rejected_by: dict[str, int] = field(default_factory=dict)
    write_attempts: int = 0
    #: where this run went on from, when it resumed an interrupted load
    resumed_at: str | None = None
    #: an earlier run loaded this very file into this table completely: nothing was done
    nothing_to_do: bool = False
    rejects_to: str | None = None
    #: the first rejects (up to 1,000) of the load; all of them are in ``rejects_to``
    rejects: list[Reject] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: every field but the rejects themselves (see ``rejects_to``)."""
        return {
            f.name: copy.copy(getattr(self, f.name)) for f in fields(self) if f.name != "rejects"
        }

    def summary(self) -> str:
        """A few lines for people: what went where, the counts, the speed."""
        lines = []
        verb = {"completed": "Loaded", "failed": "Stopped", "running": "Loading"}[self.status]
        lines.append(
            f"{verb} {self.source} → {self.target} table {self.table} "
            f"({self.mode}{', key ' + ','.join(self.key) if self.key else ''})"
        )
        counts = f"read {self.read:,}  written {self.written:,}"
        if self.mode == "upsert":
            counts += f" (created {self.created:,}, updated {self.updated:,})"
        counts += f"  skipped {self.skipped:,}  rejected {self.rejected:,}"
        if self.rejected:
            counts += f" (to {self.rejects_to})"
        lines.append(counts)
        if self.rejected_by:
            kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(self.rejected_by.items()))
            lines.append(f"rejects: {kinds}")
            if self.rejected_by.get("decode"):
                lines.append(
                    "hint: some records are not valid text in the encoding read; "
                    "if the file is not UTF-8, pass its encoding with --encoding"
                )
        lines.append(
            f"{self.read:,} rows in {self.seconds:.2f} s: {self.rows_per_second:,.0f} rows/s, "
            f"peak memory {self.peak_rss_bytes / 2**20:,.0f} MiB"
        )
        if self.batches:
            sizes = self.batch_rows
            lines.append(
                f"{self.batches:,} batch{'es' if self.batches != 1 else ''} "
                f"({self.batch_sizing}, {sizes.get('min', 0):,}–"
                f"{sizes.get('max', 0):,} rows, last {sizes.get('last', 0):,}); "
                f"database time per batch p50 {self.batch_ms.get('p50', 0):,.0f} ms, "
                f"p95 {self.batch_ms.get('p95', 0):,.0f} ms, max "
                f"{self.batch_ms.get('max', 0):,.0f} ms; {self.statements:,} statements"
                + (
                    f" ({self.write_seconds * 1000 / self.statements:,.2f} ms each)"
                    if self.statements
                    else ""
                )
                + (f", {self.retries} retries" if self.retries else "")
                + (f", {self.workers} writers" if self.workers > 1 else "")
            )
            lines.append(
                f"time: source {self.read_seconds:.2f} s, database {self.write_seconds:.2f} s; "
                f"database idle waiting for the source {self.wait_seconds:.2f} s, source "
                f"held back by the database {self.backpressure_seconds:.2f} s"
                + (f" → the {self.bottleneck} is the bottleneck" if self.bottleneck else "")
            )
        if self.table_created:
            lines.append("created table: " + ", ".join(f"{n} {t}" for n, t in self.columns.items()))
        if self.queue:
            q = self.queue
            lines.append(
                f"messages: {q['messages']:,} delivered, {q['acked']:,} acked, "
                f"{q['dead_lettered']:,} dead-lettered to {q['dead_letter_queue']}, "
                f"{q['already_stored']:,} already stored, {q['reconnects']} reconnects"
            )
        for kind, n in (self.graph or {}).items():
            lines.append(
                f"{kind}: created {n['created']:,}, updated {n['updated']:,}, skipped "
                f"{n['skipped']:,}"
                + (f", {n['placeholders']:,} made as placeholders" if n["placeholders"] else "")
            )
        lines.extend(f"note: {c}" for c in self.changes)
        if self.dataset:
            lines.append(dataset_line(self.dataset))
        if self.error:
            lines.append(f"error: {self.error}")
            if self.committed_through:
                lines.append(f"committed through {self.committed_through}")
        return "\n".join(lines)


def dataset_line(d: dict[str, Any]) -> str:
    """What an import did to its dataset, in one line."""
    where = f"{d['dataset']}/{d['branch']}"
    same = f", {d['unchanged']:,} unchanged" if "unchanged" in d else ""
    if d.get("commit") is None:
        at = f"stays at {d['head'][:12]}" if d.get("head") else "stays empty"
        return f"no changes: {where} {at}{same}; no commit made"
    return (
        f"committed {d['commit'][:12]} to {where}: {d['added']:,} added, "
        f"{d['changed']:,} changed, {d['removed']:,} removed{same}"
    )


class BatchStats:
    """Batch sizes and times of a load, summed up into the report at the end."""

    def __init__(self) -> None:
        self._rows = array("q")
        self._seconds = array("d")

    def add(self, rows: int, seconds: float) -> None:
        self._rows.append(rows)
        self._seconds.append(seconds)

    def fill(self, report: LoadReport) -> None:
        waited = max(report.wait_seconds, report.backpressure_seconds)
        if waited >= 0.01 and waited >= 0.05 * report.seconds:  # else neither held the other
            held = report.backpressure_seconds > report.wait_seconds
            report.bottleneck = "database" if held else "source"
        if not self._rows:
            return
        rows = np.frombuffer(self._rows, dtype=np.int64)
        ms = np.frombuffer(self._seconds, dtype=np.float64) * 1000
        report.batch_rows = {
            "min": int(rows.min()),
            "median": int(np.median(rows)),
            "max": int(rows.max()),
            "last": int(rows[-1]),
        }
        report.batch_ms = {
            "p50": round(float(np.percentile(ms, 50)), 1),
            "p95": round(float(np.percentile(ms, 95)), 1),
            "max": round(float(ms.max()), 1),
        }
