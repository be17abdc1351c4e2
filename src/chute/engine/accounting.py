"""Accounting: every record read is counted once, as written, skipped or rejected.

:meth:`Accounts.commit` commits (part of) a batch with its bookkeeping in the same
transaction: the rejects found so far, the checkpoint (counts and where to go on), and the
source's own bookkeeping (a queue's ledger).  :meth:`Accounts.count` adds a committed batch
to the report, lets the source go of it (a queue acks it), tells the observers and steers
the batch size.
"""

from __future__ import annotations

import time

from chute.engine.batch_control import BatchController
from chute.engine.checkpoint import Checkpoint
from chute.engine.faults import fault
from chute.engine.inflight import BatchProgress, Item
from chute.engine.observers import guard_commit
from chute.engine.run import LoadRun
from chute.errors import TooManyRejectsError
from chute.report import BatchStats
from chute.sinks.contract import WriteCounts
from chute.sources.base import Acknowledging, Position, Reject, TransactionHooks

#: rejects kept in memory on the report; all of them go to the reject store
REJECTS_KEPT = 1000


class Accounts:
    """The books of one load: what is committed, counted and reported."""

    def __init__(self, run: LoadRun, controller: BatchController, stats: BatchStats) -> None:
        self.run = run
        self.controller = controller
        self.stats = stats
        source = run.source
        #: the source's bookkeeping in each commit (a queue's ledger)
        self._hooks = source if isinstance(source, TransactionHooks) else None
        #: the source lets go of committed batches (a queue acks them)
        self._acks = source if isinstance(source, Acknowledging) else None

    def commit(
        self, progress: BatchProgress, rows_done: int, pending: WriteCounts | None = None
    ) -> None:
        """In the open transaction: the rejects found so far, the checkpoint after the first
        ``rows_done`` rows of the batch (counting ``pending``, written but not yet counted);
        then commit.  If that fails, rejects kept by a transactional store are taken back
        (a file keeps them, so they are not written twice)."""
        run = self.run
        sink = progress.sink
        assert sink is not None
        if progress.turns is not None:
            t0 = time.perf_counter()
            progress.turns.wait(progress.item.seq)
            progress.waited += time.perf_counter() - t0
        resume = progress.resume_point(rows_done)
        written = progress.take_rejects(resume.record if resume is not None else None)
        try:
            fault("batch-written")
            run.rejects.write(written, sink)
            if run.checkpoints is not None and resume is not None:
                checkpoint = self._checkpoint(progress, rows_done, resume, pending or WriteCounts())
                run.checkpoints.save(checkpoint, sink)
            if self._hooks is not None:
                self._hooks.in_transaction(
                    sink, progress.item.source, progress.source_row(rows_done)
                )
            guard_commit(run.observers, sink)
            fault("before-commit")
            run.scope.commit(sink)
            progress.item.committed = True
        except BaseException:
            if run.rejects.transactional:
                progress.unflush(written)
            raise
        fault("after-commit")

    def _checkpoint(
        self, progress: BatchProgress, rows_done: int, resume: Position, pending: WriteCounts
    ) -> Checkpoint:
        """The state of the whole load once the first ``rows_done`` rows of this batch are
        committed: counts before it, plus what of the batch is in."""
        run = self.run
        assert run.checkpoints is not None
        report = run.report
        done = progress.total
        return Checkpoint(
            source=run.checkpoints.source,
            target_table=run.target,
            fingerprint=run.fingerprint,
            table_created=int(report.table_created),
            next_record=resume.record,
            next_line=resume.line,
            next_offset=resume.offset or 0,
            read_count=resume.record - 1,
            created=report.created + done.created + pending.created,
            updated=report.updated
            + done.updated
            + pending.updated
            + progress.superseded_before(rows_done),
            skipped=report.skipped + done.skipped + pending.skipped,
            rejected=report.rejected + len(progress.flushed),
            batches=report.batches + (1 if rows_done >= progress.item.data.num_rows else 0),
            table_token=run.table_token,
        )

    def count(self, item: Item, progress: BatchProgress, seconds: float) -> None:
        """Count a committed batch, tell the observers, steer the batch size."""
        run = self.run
        report = run.report
        counts = progress.total
        report.write_seconds += seconds
        batch = item.source
        report.read += item.records
        report.created += counts.created
        report.updated += counts.updated + item.superseded
        report.skipped += counts.skipped
        report.written = report.created + report.updated
        report.batches += 1
        report.write_attempts += progress.attempts
        if batch.num_rows:
            report.committed_through = batch.position(batch.num_rows - 1).describe()
        self._count_rejects(progress.rejects)
        if self._acks is not None:  # the source lets go of the batch (a queue acks it)
            self._acks.committed(item.source, progress.rejects)
        self.stats.add(item.records, seconds)
        next_rows = self.controller.observe(
            item.records, item.nbytes, seconds, refused=progress.refused
        )
        report.statements = run.statements()
        report.last_batch = {
            "batch": report.batches,
            "rows": item.records,
            "bytes": item.nbytes,
            "ms": round(seconds * 1000, 1),
            "rows_per_second": round(item.records / seconds, 1) if seconds else None,
            "next_batch_rows": next_rows,
        }
        if self._acks is not None:  # what a source adds of its own (a queue: its depth)
            report.last_batch.update(self._acks.status())
        bytes_read = run.source.bytes_read()
        for obs in run.observers:
            obs.on_batch(report, bytes_read)
        limit = run.options.max_errors
        if limit is not None and report.rejected > limit:
            raise TooManyRejectsError(
                f"stopped: {report.rejected} records rejected, more than --max-errors "
                f"{limit}; see {run.rejects.location}",
                hint="the batches before the stop are committed; fix the rejects and load "
                "them again, or raise --max-errors",
            )

    def _count_rejects(self, rejects: list[Reject]) -> None:
        """Count a committed batch's rejects (the store got them in its transaction)."""
        if not rejects:
            return
        report = self.run.report
        rejects = sorted(rejects, key=lambda r: r.position.record)
        report.rejected += len(rejects)
        for reject in rejects:
            by = report.rejected_by
            by[reject.error] = by.get(reject.error, 0) + 1
        report.rejects_to = self.run.rejects.location
        room = REJECTS_KEPT - len(report.rejects)
        if room > 0:
            report.rejects.extend(rejects[:room])
