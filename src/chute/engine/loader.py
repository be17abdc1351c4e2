"""The loader: runs one load through its stages, and does nothing else.

::

    source ──► reader (reader.py: parse, convert, dedupe) ──► bounded queue
           ──► writer (writer.py: serial or parallel; isolate.py: set bad records aside)
           ──► sink, each batch committed with its rejects and checkpoint (accounting.py)

Before the first batch: the load's lock and checkpoint (resume.py), the stage table of a
staged load (staging.py), the batch size (batch_control.py), the table itself (schema.py).
After the last: the stage is published, the load marked done.  Each batch is written in its
own transaction; the report counts exactly what was committed.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator, Sequence

from chute.config import DEFAULT_WORKERS, LoadOptions
from chute.engine.accounting import Accounts
from chute.engine.batch_control import START_ROWS, BatchController, byte_budget, current_rss
from chute.engine.checkpoint import Checkpoints
from chute.engine.convert import Converter
from chute.engine.inflight import Item
from chute.engine.isolate import Isolator
from chute.engine.lock import Held, exclude_others
from chute.engine.observers import Observer
from chute.engine.outcome import nothing_stored
from chute.engine.reader import Reader
from chute.engine.rejects import RejectStore
from chute.engine.resume import open_checkpoint
from chute.engine.run import LoadRun
from chute.engine.schema import TableSchema
from chute.engine.staging import Stage
from chute.engine.writer import Writer
from chute.errors import ChuteError
from chute.report import BatchStats, LoadReport
from chute.sinks.contract import ExplainsWrites, GraphTarget, Sink
from chute.sources.base import (
    BatchSize,
    Halting,
    HasNotes,
    ReadsStdin,
    Resumable,
    Source,
    SourceBatch,
)


class Pipeline:
    """One load of ``source`` into ``table`` of ``sink``: :meth:`run` it once."""

    def __init__(
        self,
        source: Source,
        sink: Sink,
        options: LoadOptions,
        table: str,
        rejects: RejectStore,
        observers: Sequence[Observer] = (),
        cancel: threading.Event | None = None,
        *,
        must_store: bool = False,
    ) -> None:
        #: a run that read records and rejected all of them fails (see engine/outcome.py);
        #: a consumer, whose runs are parts of one job, judges the job instead
        self.must_store = must_store
        report = LoadReport(
            source=source.name,
            target=sink.display_url,
            table=table,
            mode=options.mode.value,
            key=list(options.key),
        )
        self.run_state = run = LoadRun(
            source, sink, options, table, rejects, report, list(observers), cancel
        )
        self.report = report
        asked = options.workers
        self._writers = (asked or DEFAULT_WORKERS) if sink.capabilities.parallel_writes else 1
        if asked is not None and self._writers < asked:
            report.changes.append(
                f"{run.database} takes one writer at a time: writing over 1 connection, not {asked}"
            )
        report.workers = self._writers
        self.schema = TableSchema(run)
        self.stage = Stage(run)
        self._stats = BatchStats()
        self._written: list[str] = []  # the table columns the load writes
        self._lock: Held | None = None  # of this load: another run of it waits
        self._started = time.perf_counter()

    def run(self) -> LoadReport:
        run = self.run_state
        report = self.report
        for obs in run.observers:
            obs.on_start(report, run.source.total_bytes())
        reader: Reader | None = None
        converter: Converter | None = None
        try:
            run.sink.connect()
            state = self._open_checkpoints()
            if state == "done":
                report.status = "completed"
                return report
            run.rejects.prepare()  # once the load is ours (a second run stops before)
            if run.staged:
                self.stage.prepare(fresh=state == "new")
            controller = self._plan_batches()
            accounts = Accounts(run, controller, self._stats)
            writer = Writer(
                run, self.schema, Isolator(run, accounts), accounts, writers=self._writers
            )
            try:
                batches = run.source.batches(controller.next_size)
                if run.columns:
                    batches = run.columns.apply(batches)
                first = self._first_with_columns(batches, writer)
                converter = self.schema.prepare(
                    first, ours=state == "resume-own-table", must_store=self.must_store
                )
                if converter is not None and first is not None:
                    self._written = [converter.rename.get(n, n) for n in first.data.schema.names]
                if converter is not None and run.checkpoints is not None:
                    run.table_token = run.sink.mark_table(run.table)
            except BaseException:
                if run.staged and state == "new":
                    self.stage.drop()  # a refused load leaves nothing behind
                raise
            if converter is not None:
                reader = Reader(run)
                reader.start(first, batches, converter)
                del first  # the reader's now: let it go once written
                writer.write(lambda: self._next_item(reader))
            refused = nothing_stored(report) if self.must_store else None
            if run.staged:
                self.stage.publish(converter is not None and refused is None)
            if run.checkpoints is not None and (refused is not None or not run.staged):
                run.checkpoints.complete()
            if refused is not None:
                raise refused
            report.status = "completed"
        except ChuteError as exc:
            report.status = "failed"
            report.error = str(exc)
            exc.report = report
            raise
        except BaseException:
            report.status = "failed"
            report.error = "interrupted"
            raise
        finally:
            if reader is not None:
                reader.stop()
            if isinstance(run.source, Halting) and report.status == "failed":
                run.source.halt()  # a source that waits for input (a queue) stops waiting
            if reader is not None:
                reader.join()
            if converter is not None:
                converter.close()  # the value oracle's connection
            if self._lock is not None:
                self._lock.release()
            self._finish()
        return report

    def _next_item(self, reader: Reader) -> Item | None:
        """The next converted batch (None at the end), unless the load is to stop."""
        if self.run_state.cancelled():
            raise self.run_state.interrupted()
        return reader.get()

    def _first_with_columns(
        self, batches: Iterator[SourceBatch], writer: Writer
    ) -> SourceBatch | None:
        """The first batch that has columns to make or match a table with.  Batches before
        it hold only rejects (lines that are no record): they are committed and counted
        here, so that no record read goes uncounted."""
        run = self.run_state
        for batch in batches:
            if batch.data.num_columns or not batch.rejects:
                return batch
            if run.cancelled():
                raise run.interrupted()
            writer.write_one(Item(batch.released(), batch.data, rejects=list(batch.rejects)))
        return None

    def _plan_batches(self) -> BatchController:
        """Batches cut at the fixed rows or adaptively, and never bigger in bytes than the
        memory limit allows for all the batches in memory at once."""
        options = self.run_state.options
        budget = options.batch_bytes or byte_budget(
            options.memory_limit, self._writers, current_rss()
        )
        fixed = options.batch_rows is not None
        self.report.batch_sizing = "fixed" if fixed else "adaptive"
        self.report.memory_limit_bytes = options.memory_limit
        capabilities = self.run_state.sink.capabilities
        return BatchController(
            BatchSize(options.batch_rows or 0, budget),
            adaptive=not fixed,
            memory_limit=options.memory_limit,
            min_rows=capabilities.min_batch_rows,
            start_rows=capabilities.start_batch_rows or START_ROWS,
        )

    def _finish(self) -> None:
        run = self.run_state
        report = self.report
        report.seconds = round(time.perf_counter() - self._started, 3)
        report.rows_per_second = round(report.read / report.seconds, 1) if report.seconds else 0
        report.bytes_read = run.source.bytes_read()
        report.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        report.statements = run.statements()
        if isinstance(run.sink, GraphTarget):
            report.graph = run.sink.counts_by_kind()
            report.changes.extend(run.sink.notes)
        if isinstance(run.source, HasNotes):
            report.changes.extend(run.source.notes)
        if isinstance(run.sink, ExplainsWrites) and report.written:
            # the target: a stage table (--atomic, replace) is gone by now, and is like it
            report.changes.extend(run.sink.write_notes(run.target, self._written))
        self._stats.fill(report)
        for obs in run.observers:
            obs.on_finish(report)

    def _open_checkpoints(self) -> str:
        """Take the lock of this load (another run of it stops here), then find what an
        earlier run left and go on from there (see :func:`~chute.engine.resume.open_checkpoint`;
        returns its state)."""
        run = self.run_state
        source = run.source
        if run.staged:
            run.table = self.stage.table
        resumable = isinstance(source, Resumable) and source.resumable
        if not resumable or not run.sink.capabilities.checkpoints:
            if run.staged:  # runs from stdin into one table share its stage table
                self._lock = exclude_others(run.sink, run.table, source.name, run.target)
            if isinstance(source, ReadsStdin) and source.is_stdin:
                run.report.changes.append(
                    "standard input cannot be resumed: if this load "
                    "stops, loading again starts from the beginning"
                )
            return "new"
        assert isinstance(source, Resumable)
        how = f"{run.options.mode.value}:{','.join(run.key)}"
        if run.columns or run.options.types:  # another mapping is another load
            how += f":{sorted(run.columns.rename.items())}:{sorted(run.columns.skip)}"
            how += f":{sorted(run.options.types.items())}"
        if isinstance(run.sink, GraphTarget):  # the mapping too: another one is another load
            how += f":{run.sink.load_identity()}"
        run.checkpoints = checkpoints = Checkpoints(run.sink, source.name, run.target, how)
        self._lock = exclude_others(run.sink, checkpoints.key, source.name, run.target)
        run.fingerprint = source.fingerprint()
        return open_checkpoint(
            checkpoints,
            source,
            sink=run.sink,
            table=run.table,
            fingerprint=run.fingerprint,
            restart=run.options.restart,
            max_errors=run.options.max_errors,
            report=run.report,
            rejects=run.rejects,
        )
