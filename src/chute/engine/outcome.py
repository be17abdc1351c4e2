"""What a finished load stored, said plainly: a load that read records and stored none of
them says so, and fails when every record was rejected.

The rule (``docs/errors.md``): records read, none written, and

- every one rejected → :class:`~chute.errors.NothingStoredError` (exit 4); the table is left
  as it was (a replace or ``--atomic`` load publishes nothing);
- some rejected, the others already in the table (ignore) → a note; the load completes (the
  CLI exits 6, as for any rejects);
- every one already in the table (ignore) → a note; the load completes (exit 0): asking to
  add only what is new, when nothing is new, is not a failure.
"""

from __future__ import annotations

from chute.errors import NothingStoredError
from chute.report import LoadReport


def nothing_stored(report: LoadReport) -> NothingStoredError | None:
    """The error to end a load that stored nothing because it rejected everything, or None;
    notes on ``report`` the other ways of storing nothing."""
    if not report.read or report.written:
        return None
    if report.skipped:
        rejected = f"{report.rejected:,} rejected, " if report.rejected else ""
        report.changes.append(
            f"nothing new was stored: of {report.read:,} records read, {rejected}"
            f"{report.skipped:,} already in the table"
        )
        return None
    where = f"; see {report.rejects_to}" if report.rejects_to else ""
    every = f"all {report.read:,} records read were" if report.read > 1 else "the record read was"
    return NothingStoredError(
        f"nothing was stored: {every} rejected{where}",
        hint="fix the rejected records (the reject file can be loaded as it is, once "
        "fixed) and load them again",
    )
