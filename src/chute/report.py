"""The result of a load: one object that the summary, the JSON report and the API share."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

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
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    wait_seconds: float = 0.0
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
            f"{self.batches:,} batches in {self.seconds:.2f} s, "
            f"{self.rows_per_second:,.0f} rows/s, peak memory "
            f"{self.peak_rss_bytes / 2**20:,.0f} MiB "
            f"(source {self.read_seconds:.2f} s, database {self.write_seconds:.2f} s)"
        )
        if self.table_created:
            lines.append("created table: " + ", ".join(f"{n} {t}" for n, t in self.columns.items()))
        lines.extend(f"note: {c}" for c in self.changes)
        if self.error:
            lines.append(f"error: {self.error}")
            if self.committed_through:
                lines.append(f"committed through {self.committed_through}")
        return "\n".join(lines)
