"""What a load does with the checkpoint an earlier run of it left.

A checkpoint says "the records before this one are in *that* table".  It holds for the very
table it was written with: each checkpoint records the table's identity (its token, see
:meth:`~chute.sinks.contract.Sink.table_token`), and a table dropped, or dropped and made again,
since has another one (or none).  Then the rows the checkpoint counts are gone: the load
starts over from the beginning and says why.  For a staged load (``--atomic``, replace) the
table is the stage table the batches went to.

==============================================  ==========================================
the checkpoint                                  the run
==============================================  ==========================================
none                                            loads from the start (``new``)
``--restart``                                   forgets it, loads from the start
completed; same file, same table                nothing to do (``done``)
completed; file changed or table made anew      a new load
stopped; its table gone or made anew            loads from the start, says why
stopped; the file changed                       refuses (:class:`ResumeError`)
stopped with more rejects than ``max_errors``   stays stopped (:class:`TooManyRejectsError`)
stopped                                         resumes after the last committed record
==============================================  ==========================================
"""

from __future__ import annotations

from chute.engine.checkpoint import Checkpoint, Checkpoints
from chute.engine.rejects import RejectStore
from chute.errors import ResumeError, TooManyRejectsError
from chute.report import LoadReport
from chute.sinks.contract import Sink
from chute.sources.base import ResumableSource


def open_checkpoint(
    checkpoints: Checkpoints,
    source: ResumableSource,
    *,
    sink: Sink,
    table: str,
    fingerprint: str,
    restart: bool,
    max_errors: int | None,
    report: LoadReport,
    rejects: RejectStore,
) -> str:
    """Go on from where an earlier run of this load got to, writing into ``table``.

    Returns ``"new"`` (load from the start), ``"resume"``, ``"resume-own-table"`` (resuming
    a load that created its table, so its columns may still widen) or ``"done"``."""
    target = checkpoints.table
    found = checkpoints.load()
    if found is None:
        return "new"
    if restart:
        checkpoints.clear()
        report.changes.append(
            f"restarting {source.name} from the beginning (--restart): the "
            f"{found.created + found.updated:,} rows already loaded stay in the table"
        )
        return "new"
    if found.completed:
        if found.fingerprint != fingerprint or not sink.is_table(target, found.table_token):
            checkpoints.clear()  # a new version of the file, or a new table: a new load
            return "new"
    elif found.table_token is not None and not sink.is_table(table, found.table_token):
        checkpoints.clear()
        what = f"its stage table {table}" if table != target else f"table {target}"
        again = ", and made anew," if sink.describe(table) is not None else ""
        report.changes.append(
            f"loading {source.name} from the beginning: {what} was dropped{again} since the "
            f"run that stopped at {found.position.describe()}, so the "
            f"{found.created + found.updated:,} rows it counted are not there"
        )
        return "new"
    if found.fingerprint != fingerprint:
        raise ResumeError(
            f"{source.name} changed since the load into {target} stopped at "
            f"{found.position.describe()}; refusing to resume",
            hint="load it from the beginning with --restart",
        )
    restore_counts(report, found)
    report.rejects_to = rejects.location if found.rejected else None
    if found.completed:
        report.nothing_to_do = True
        report.changes.append(
            f"{source.name} was already loaded completely into {target} by an "
            f"earlier run ({report.written:,} rows); nothing to do (pass --restart "
            "to load it again)"
        )
        return "done"
    if max_errors is not None and found.rejected > max_errors:
        raise TooManyRejectsError(
            f"stopped: {found.rejected} records rejected, more than --max-errors "
            f"{max_errors}, by the run this one would resume; see {rejects.location}",
            hint="fix the records and load again with --restart, or raise --max-errors to go on",
        )
    source.resume(found.position)
    report.resumed_at = found.position.describe()
    rejects.forget_from(found.next_record)
    at = (
        f"line {found.next_line}"
        if found.next_line is not None
        else f"record {found.next_record:,}"
    )
    report.changes.append(f"resuming {source.name} at {at}, {report.written:,} rows already loaded")
    return "resume-own-table" if found.table_created else "resume"


def restore_counts(report: LoadReport, found: Checkpoint) -> None:
    report.read, report.created, report.updated = found.read_count, found.created, found.updated
    report.skipped, report.rejected = found.skipped, found.rejected
    report.batches = found.batches
    report.written = report.created + report.updated
