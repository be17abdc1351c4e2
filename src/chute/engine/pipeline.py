"""The load pipeline: a reader thread parses and converts, the caller's thread writes.

::

    source ──► reader thread (parse, convert, dedupe) ──► bounded queue ──► writer ──► sink

The queue holds at most :data:`~chute.config.QUEUE_DEPTH` batches, so memory stays flat
however long the input.  Each batch is written in its own transaction; the report counts
exactly what was committed.  Schema changes (a widened or added column of a table this
load created) travel with the batch that needed them and are applied before it is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import resource
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.config import DEFAULT_WORKERS, QUEUE_DEPTH, LoadOptions
from chute.engine import columns as ct
from chute.engine.batch_control import BatchController, byte_budget, current_rss
from chute.engine.checkpoint import Checkpoint, Checkpoints
from chute.engine.convert import Converter, Widening
from chute.engine.dedupe import keep_last, refuse_null_keys
from chute.engine.faults import fault
from chute.engine.lock import Held, exclude_others
from chute.engine.outcome import nothing_stored
from chute.engine.rejects import RejectStore
from chute.engine.resume import open_checkpoint
from chute.engine.schema_check import check_distinct, check_new_name
from chute.engine.stage import add_stage_columns, staging
from chute.errors import (
    ChuteError,
    ConfigError,
    Interrupted,
    RecordError,
    Refusal,
    SinkError,
    SourceError,
    TooManyRejectsError,
)
from chute.report import BatchStats, LoadReport
from chute.sinks.contract import Mode, Savepoints, Sink, TableColumn, WriteCounts
from chute.sinks.names import check_column_names
from chute.sinks.sqlstate import CONFIG
from chute.sources.base import Position, Reject, ResumableSource, Source, SourceBatch

#: rejects kept in memory on the report; all of them go to the reject store
REJECTS_KEPT = 1000
#: the smallest piece a batch is cut into after the database has refused records
MIN_PIECE_ROWS = 256
#: SQLSTATE of a duplicate key, for the rejects the engine finds itself
UNIQUE_VIOLATION = "23505"
#: a batch refused with Refusal.RETRY (deadlock, serialization failure) is tried again
#: whole, as long as none of it was committed, at most this many times
MAX_RETRIES = 3


class Observer(Protocol):
    """Watches a load: progress bars, logs and metrics are observers."""

    def on_start(self, report: LoadReport, total_bytes: int | None) -> None: ...

    def on_batch(self, report: LoadReport, bytes_read: int) -> None: ...

    def on_finish(self, report: LoadReport) -> None: ...


@dataclass
class _Item:
    source: SourceBatch
    data: pa.RecordBatch
    widenings: list[Widening] = field(default_factory=list)
    added: dict[str, tuple[ct.ColumnType, str]] = field(default_factory=dict)
    superseded: int = 0
    rows: np.ndarray | None = None  # source row of each written row, when deduped
    read_seconds: float = 0.0
    rejects: list[Reject] = field(default_factory=list)
    nbytes: int = 0  # input bytes of the batch
    committed: bool = False  # some of it is committed (so it cannot be tried again whole)
    seq: int = 0  # the batch's place in the input: parallel writers commit in this order

    @property
    def records(self) -> int:
        """Records of the input in this batch (rejected ones included)."""
        return self.source.num_rows + len(self.rejects)


class _Aborted(Exception):
    """An earlier batch failed: a later one, written but not committed, rolls back."""


class _Turns:
    """Parallel writers write at once but commit in input order: a batch commits only
    after every batch before it is committed and counted, so the checkpoint always marks
    a prefix of the input and the counts are exact."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._failed = False

    def wait(self, seq: int) -> None:
        with self._cond:
            while self._next != seq and not self._failed:
                self._cond.wait()
            if self._failed:
                raise _Aborted()

    def done(self, seq: int) -> None:
        with self._cond:
            self._next = seq + 1
            self._cond.notify_all()

    def fail(self) -> None:
        with self._cond:
            self._failed = True
            self._cond.notify_all()


_DONE = object()


class _BatchProgress:
    """What of one batch is committed: counts, and rejects found and written."""

    def __init__(
        self,
        item: _Item,
        found: dict[int, Reject] | None = None,
        sink: Sink | None = None,
        turns: _Turns | None = None,
    ) -> None:
        self.item = item
        self.sink = sink  # the connection writing the batch
        self.turns = turns  # parallel writers: wait for the batch's turn to commit
        self.total = WriteCounts()
        self.attempts = 0  # write statements tried
        self.waited = 0.0  # seconds spent waiting for earlier batches to commit
        self.refused = False  # the database refused records of the batch
        # all found, in any order: while reading, and before writing
        self.rejects: list[Reject] = [*item.rejects, *(found or {}).values()]
        self._skip = np.array(sorted(found or {}), dtype=np.int64)  # rows not to send
        self.flushed: list[Reject] = []  # written to the reject store
        self._flushed_ids: set[int] = set()

    def writable(self, lo: int, hi: int) -> np.ndarray | None:
        """The rows of ``[lo, hi)`` to send, or None when that is all of them."""
        if not len(self._skip):
            return None
        skip = self._skip[(self._skip >= lo) & (self._skip < hi)]
        if not len(skip):
            return None
        return np.setdiff1d(np.arange(lo, hi, dtype=np.int64), skip)

    def add(self, counts: WriteCounts) -> None:
        self.total.created += counts.created
        self.total.updated += counts.updated
        self.total.skipped += counts.skipped

    def source_row(self, rows_done: int) -> int:
        """The source batch row after the first ``rows_done`` written rows."""
        rows = self.item.rows
        if rows_done <= 0:
            return 0
        if rows is None:
            return rows_done
        return int(rows[rows_done - 1]) + 1

    def resume_point(self, rows_done: int) -> Position | None:
        return self.item.source.resume_point(self.source_row(rows_done))

    def superseded_before(self, rows_done: int) -> int:
        """Earlier duplicates of a key (upsert) among the rows committed so far."""
        if self.item.rows is None:
            return 0
        return self.source_row(rows_done) - rows_done

    def pending_rejects(self) -> list[Reject]:
        return [r for r in self.rejects if id(r) not in self._flushed_ids]

    def unflush(self, rejects: list[Reject]) -> None:
        """Those rejects were rolled back with their transaction: write them again."""
        gone = {id(r) for r in rejects}
        self.flushed = [r for r in self.flushed if id(r) not in gone]
        self._flushed_ids -= gone

    def take_rejects(self, before_record: int | None) -> list[Reject]:
        """Rejects not yet written whose records lie before ``before_record`` (all: None)."""
        out = [
            r
            for r in self.pending_rejects()
            if before_record is None or r.position.record < before_record
        ]
        out.sort(key=lambda r: r.position.record)
        self.flushed.extend(out)
        self._flushed_ids.update(id(r) for r in out)
        return out


class Pipeline:
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
        self.source = source
        #: a run that read records and rejected all of them fails (see engine/outcome.py);
        #: a consumer, whose runs are parts of one job, judges the job instead
        self.must_store = must_store
        self.sink = sink
        self.rejects = rejects
        #: set it (from a signal handler, another thread) to stop after the batch in hand
        self.cancel = cancel
        self.options = options
        self.target = table  # the user's table
        self.table = table  # where batches go: the target, or its stage table
        self.observers = list(observers)
        self.key = list(options.key)
        self.report = LoadReport(
            source=source.name,
            target=sink.display_url,
            table=table,
            mode=options.mode.value,
            key=self.key,
        )
        self._refusals = 0  # statements the database refused in this load
        self._sinks = [sink]  # every connection of the load (parallel writers add theirs)
        asked = options.workers
        if sink.capabilities.parallel_writes:
            self._writers = asked or DEFAULT_WORKERS
        else:
            self._writers = 1
        if asked is not None and self._writers < asked:
            self.report.changes.append(
                f"{sink.display_url.split(':', 1)[0]} takes one writer at a time: writing "
                f"over 1 connection, not {asked}"
            )
        self.report.workers = self._writers
        self._controller: BatchController | None = None
        self._stats = BatchStats()
        self._retry_lock = threading.Lock()
        self._probe_key: list[str] | None = None  # see _probe_duplicates
        self._checkpoints: Checkpoints | None = None
        self._fingerprint = ""
        self._table_token: str | None = None  # of the table batches go to, in checkpoints
        self._lock: Held | None = None  # of this load: another run of it waits
        self._table_created = False
        self._stop = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._started = time.perf_counter()

    # -- running -----------------------------------------------------------------------

    def run(self) -> LoadReport:
        report = self.report
        for obs in self.observers:
            obs.on_start(report, self.source.total_bytes())
        reader: threading.Thread | None = None
        converter: Converter | None = None
        try:
            self.sink.connect()
            state = self._open_checkpoints()
            if state == "done":
                report.status = "completed"
                return report
            self.rejects.prepare()  # once the load is ours (a second run stops before)
            if self._staged:
                self._prepare_stage(fresh=state == "new")
            self._controller = self._plan_batches()
            try:
                batches = self.source.batches()
                first = self._first_with_columns(batches)
                converter = self._prepare_table(first, ours=state == "resume-own-table")
                if converter is not None and self._checkpoints is not None:
                    self._table_token = self.sink.mark_table(self.table)
            except BaseException:
                if self._staged and state == "new":
                    self._drop_stage()  # a refused load leaves nothing behind
                raise
            if converter is not None:
                reader = threading.Thread(
                    target=self._read,
                    name="chute-reader",
                    daemon=True,
                    args=(first, batches, converter),
                )
                reader.start()
                self._write()
            refused = nothing_stored(report) if self.must_store else None
            if self._staged:
                self._publish_stage(converter is not None and refused is None)
            if self._checkpoints is not None and (refused is not None or not self._staged):
                self._checkpoints.complete()
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
            self._stop.set()
            halt = getattr(self.source, "halt", None)
            if halt is not None and report.status == "failed":
                halt()  # a source that waits for input (a queue) stops waiting
            if reader is not None:
                self._drain()
                reader.join(timeout=10)
            if converter is not None:
                converter.close()  # the value oracle's connection
            if self._lock is not None:
                self._lock.release()
            self._finish()
        return report

    def _first_with_columns(self, batches: Iterator[SourceBatch]) -> SourceBatch | None:
        """The first batch that has columns to make or match a table with.  Batches before
        it hold only rejects (lines that are no record): they are committed and counted
        here, so that no record read goes uncounted."""
        for batch in batches:
            if batch.data.num_columns or not batch.rejects:
                return batch
            if self.cancel is not None and self.cancel.is_set():
                raise self._interrupted()
            item = _Item(batch.released(), batch.data, rejects=list(batch.rejects))
            progress, seconds = self._write_batch(item, self.sink)
            self._account(item, progress, seconds)
        return None

    def _plan_batches(self) -> BatchController:
        """Batches cut at the fixed rows or adaptively, and never bigger in bytes than the
        memory limit allows for all the batches in memory at once."""
        options = self.options
        size = self.source.batch_size
        size.bytes = options.batch_bytes or byte_budget(
            options.memory_limit, self._writers, current_rss()
        )
        if options.batch_rows is not None:
            size.rows = options.batch_rows
        self.report.batch_sizing = "fixed" if options.batch_rows is not None else "adaptive"
        self.report.memory_limit_bytes = options.memory_limit
        return BatchController(
            size, adaptive=options.batch_rows is None, memory_limit=options.memory_limit
        )

    def _finish(self) -> None:
        report = self.report
        report.seconds = round(time.perf_counter() - self._started, 3)
        report.rows_per_second = round(report.read / report.seconds, 1) if report.seconds else 0
        report.bytes_read = self.source.bytes_read()
        report.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        report.statements = sum(s.statements for s in self._sinks)
        self._stats.fill(report)
        for obs in self.observers:
            obs.on_finish(report)

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    # -- the table ---------------------------------------------------------------------

    def _open_checkpoints(self) -> str:
        """Take the lock of this load (another run of it stops here), then find what an
        earlier run left and go on from there (see :func:`~chute.engine.resume.open_checkpoint`;
        returns its state)."""
        source = self.source
        if self._staged:
            self.table = self._stage_name
        if not getattr(source, "resumable", False) or not self.sink.capabilities.checkpoints:
            if self._staged:  # runs from stdin into one table share its stage table
                self._lock = exclude_others(self.sink, self.table, source.name, self.target)
            if self.source.name == "<stdin>":
                self.report.changes.append(
                    "standard input cannot be resumed: if this load "
                    "stops, loading again starts from the beginning"
                )
            return "new"
        source = cast(ResumableSource, source)
        how = f"{self.options.mode.value}:{','.join(self.key)}"
        self._checkpoints = checkpoints = Checkpoints(self.sink, source.name, self.target, how)
        self._lock = exclude_others(self.sink, checkpoints.key, source.name, self.target)
        self._fingerprint = source.fingerprint()
        return open_checkpoint(
            checkpoints,
            source,
            sink=self.sink,
            table=self.table,
            fingerprint=self._fingerprint,
            restart=self.options.restart,
            max_errors=self.options.max_errors,
            report=self.report,
            rejects=self.rejects,
        )

    # -- staged loads: --atomic and --mode replace --------------------------------------

    @property
    def _staged(self) -> bool:
        return self.options.atomic or self.options.mode is Mode.REPLACE

    @property
    def _write_mode(self) -> Mode:
        """The mode batches are written in (into the stage, for a replace)."""
        return Mode.APPEND if self.options.mode is Mode.REPLACE else self.options.mode

    @property
    def _database(self) -> str:
        """The kind of database, for messages: ``postgresql``, ``sqlite``."""
        return self.sink.display_url.split(":", 1)[0]

    @property
    def _stage_name(self) -> str:
        digest = hashlib.sha256(f"{self.source.name}\0{self.target}".encode()).hexdigest()
        return f"_chute_stage_{digest[:16]}"

    def _prepare_stage(self, *, fresh: bool) -> None:
        """Batches go to a stage table, shaped like the target when there is one; a resumed
        load goes on filling the stage of the run it resumes."""
        if fresh:
            with self.sink.transaction():
                self.sink.drop_table(self.table)
            if self.sink.describe(self.target) is not None:
                staging(self.sink).create_like(self.table, self.target, self.key)

    def _drop_stage(self) -> None:
        with contextlib.suppress(ChuteError), self.sink.transaction():
            self.sink.drop_table(self.table)

    def _publish_stage(self, loaded: bool) -> None:
        """One transaction: the stage replaces the target (replace, or a new table) or is
        merged into it (atomic); the load is marked done; the target changes all at once."""
        sink = self.sink
        report = self.report
        exists = sink.describe(self.target) is not None
        if not loaded:  # no records: nothing to publish
            with sink.transaction():
                sink.drop_table(self.table)
            return
        columns = [c.name for c in sink.describe(self.table) or []]
        merged = None
        try:
            with sink.transaction():
                if self.options.mode is Mode.REPLACE or not exists:
                    staging(sink).swap_in(self.target, self.table)
                else:
                    add_stage_columns(sink, self.target, self.table)
                    merged = staging(sink).merge_from(
                        self.target, self.table, columns, self.options.mode, self.key
                    )
                    sink.drop_table(self.table)
                fault("stage-published")
                if self._checkpoints is not None:
                    self._checkpoints.mark_completed()
        except RecordError as exc:
            raise RecordError(
                f"the load was staged but {self.target} refused it as a whole: {exc.reason}; "
                f"{self.target} is unchanged",
                sqlstate=exc.sqlstate,
                hint="fix the conflicting rows and run again with --restart",
            ) from exc
        except ConfigError as exc:  # e.g. a view depends on the table a replace drops
            raise ConfigError(
                f"cannot put the loaded rows in place of {self.target}: {exc}; "
                f"{self.target} is unchanged and the rows wait in {self.table}",
                sqlstate=exc.sqlstate,
                hint=f"{exc.hint}; then run the same command again",
            ) from exc
        except SinkError as exc:
            if exc.transient:
                raise
            raise SinkError(
                f"cannot put the loaded rows in place of {self.target}: {exc}; "
                f"{self.target} is unchanged and the rows wait in {self.table}",
                sqlstate=exc.sqlstate,
                hint="run the same command again to put them in place",
            ) from exc
        if merged is not None:
            # records of this load with the same key were updated or skipped in the stage
            report.created = merged.created
            report.updated += merged.updated
            report.skipped += merged.skipped
            report.written = report.created + report.updated
        what = "replaced" if self.options.mode is Mode.REPLACE and exists else "published"
        report.changes.append(
            f"{what} {self.target} in one transaction (--"
            f"{'mode replace' if self.options.mode is Mode.REPLACE else 'atomic'})"
        )

    def _prepare_table(self, first: SourceBatch | None, *, ours: bool = False) -> Converter | None:
        columns: list[str] = list(getattr(self.source, "columns", []))
        if first is not None:
            columns = list(first.data.schema.names)
        if not columns:
            if not self.report.read:  # else every record was rejected (see nothing_stored)
                self.report.changes.append("the input holds no records; nothing was written")
            return None
        if first is None and not self.report.read and self.must_store:
            raise SourceError(
                "the input holds a header but no records; nothing was written",
                source=self.source.name,
            )
        check_column_names(columns, self.sink.capabilities.max_name_bytes, self._database)
        missing_key = [k for k in self.key if k not in columns]
        existing = self.sink.describe(self.table)
        check_distinct(
            columns,
            [c.name for c in existing or []],
            table=self.target,
            ignore_case=self.sink.capabilities.names_ignore_case,
        )
        if existing is None:
            return self._create_table(first, columns, missing_key)
        return self._use_table(existing, first, columns, ours=ours)

    def _create_table(
        self, first: SourceBatch | None, columns: list[str], missing_key: list[str]
    ) -> Converter:
        if missing_key:
            raise ConfigError(
                f"key column(s) not in the input: {', '.join(missing_key)}",
                hint=f"the input has: {', '.join(columns)}",
            )
        targets = {}
        for name in columns:
            if first is None:
                targets[name] = ct.TEXT
            else:
                field_ = first.data.schema.field(name)
                targets[name] = ct.infer(
                    field_,
                    first.data.column(name),
                    numbers_from_text=self.source.numbers_from_text,
                    stores=self.sink.capabilities.stores,
                )
        self.sink.create_table(self.table, targets, self.key)
        self.report.table_created = True
        self.report.columns = {n: str(t) for n, t in targets.items()}
        return Converter(
            targets,
            may_widen=True,
            numbers_from_text=self.source.numbers_from_text,
            not_null=set(self.key),
            stores=self.sink.capabilities.stores,
            empty_table=True,
        )

    def _use_table(
        self,
        existing: list[TableColumn],
        first: SourceBatch | None,
        columns: list[str],
        *,
        ours: bool = False,
    ) -> Converter:
        """Load into an existing table: its column types rule, unless this load made it
        (``ours``: a resumed load), which keeps widening its columns."""
        by_name = {c.name: c for c in existing}
        folded: dict[str, list[str]] = {}
        for c in existing:
            folded.setdefault(c.name.lower(), []).append(c.name)
        rename: dict[str, str] = {}
        unknown = []
        for name in columns:
            if name in by_name:
                continue
            matches = folded.get(name.lower(), [])
            if len(matches) == 1:
                rename[name] = matches[0]
            else:
                unknown.append(name)
        targets = {c.name: c.type for c in existing}
        if unknown and not (self.options.add_columns or ours):  # ours: it may grow
            raise ConfigError(
                f"table {self.target} has no column(s) {', '.join(unknown)}",
                hint="add them to the table, or pass --add-columns to let chute add them",
            )
        key = [rename.get(k, k) for k in self.key]
        missing = [
            k
            for k in key
            if (k not in targets and k not in unknown)
            or (k not in columns and k not in rename.values())
        ]
        if missing:
            raise ConfigError(f"key column(s) not in the input: {', '.join(missing)}")
        self.key = key
        if self._write_mode is not Mode.APPEND and not self.sink.has_unique_key(self.table, key):
            raise ConfigError(
                f"table {self.target} has no primary key or unique index on "
                f"({', '.join(key)}), which {self.options.mode.value} needs",
                hint=f"create one: CREATE UNIQUE INDEX ON {self.target} ({', '.join(key)})",
            )
        given = {rename.get(n, n) for n in columns}
        generated = [c.name for c in existing if c.generated and c.name in given]
        if generated:
            raise ConfigError(
                f"column(s) {', '.join(generated)} of table {self.target} are generated by "
                "the database, and the input gives them values",
                hint=CONFIG["428C9"],
            )
        required = [
            c.name for c in existing if not c.nullable and not c.has_default and c.name not in given
        ]
        if required:
            raise ConfigError(
                f"table {self.target} needs column(s) {', '.join(required)} (NOT NULL, no "
                "default), which the input lacks",
                hint=f"the input has: {', '.join(columns)}",
            )
        # every check passed: only now change the table
        for name in unknown:
            t = (
                ct.TEXT
                if first is None
                else ct.infer(
                    first.data.schema.field(name),
                    first.data.column(name),
                    numbers_from_text=self.source.numbers_from_text,
                    stores=self.sink.capabilities.stores,
                )
            )
            self.sink.add_column(self.table, name, t)
            targets[name] = t
            self.report.changes.append(f"added column {name} {t} to table {self.target}")
        if ours:
            self.report.table_created = True
            self.report.columns = {c.name: str(c.type) for c in existing}
            return Converter(
                targets,
                may_widen=True,
                numbers_from_text=self.source.numbers_from_text,
                not_null=set(self.key),
                stores=self.sink.capabilities.stores,
            )
        self.report.columns = {c.name: c.declared for c in existing}
        return Converter(
            targets,
            may_widen=False,
            rename=rename,
            numbers_from_text=self.source.numbers_from_text,
            not_null={c.name for c in existing if not c.nullable},
            max_length={c.name: c.max_length for c in existing if c.max_length is not None},
            declared={c.name: c.declared for c in existing},
            oracle=self.sink.value_oracle(self.table),
        )

    # -- the reader thread -------------------------------------------------------------

    def _read(
        self, first: SourceBatch | None, rest: Iterator[SourceBatch], converter: Converter
    ) -> None:
        try:
            batches = rest if first is None else _chain(first, rest)
            t0 = time.perf_counter()
            for batch in batches:
                if self._stop.is_set():
                    return
                item = self._convert(batch, converter)
                item.read_seconds = time.perf_counter() - t0
                item.nbytes = len(batch.text) if batch.text is not None else batch.data.nbytes
                t1 = time.perf_counter()
                if not self._put(item):
                    return
                self.report.backpressure_seconds += time.perf_counter() - t1
                t0 = time.perf_counter()
            self._put(_DONE)
        except BaseException as exc:  # handed to the writer, which raises it
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _convert(self, batch: SourceBatch, converter: Converter) -> _Item:
        added: dict[str, tuple[ct.ColumnType, str]] = {}
        for name in batch.data.schema.names:
            target = converter.rename.get(name, name)
            if target in converter.targets:
                continue
            if self.sink.capabilities.names_ignore_case:
                where = batch.position(0).describe()
                check_new_name(name, converter.targets, table=self.target, where=where)
            if not (converter.may_widen or self.options.add_columns):
                raise ConfigError(
                    f"{batch.position(0).describe()}: table {self.target} has no column {name!r}",
                    hint="pass --add-columns to let chute add it",
                )
            check_column_names([name], self.sink.capabilities.max_name_bytes, self._database)
            t = ct.infer(
                batch.data.schema.field(name),
                batch.data.column(name),
                numbers_from_text=self.source.numbers_from_text,
                stores=converter.stores,
            )
            column = batch.data.column(name)
            first = int(pc.index(pc.is_valid(column), True).as_py())
            converter.targets[name] = t
            added[name] = (t, batch.position(max(first, 0)).describe())
        data, widenings, refused = converter.convert(batch)
        rejects = list(batch.rejects)
        if refused:
            keep = np.array([i for i in range(batch.num_rows) if i not in refused], dtype=np.int64)
            as_read = batch.data.take(pa.array(sorted(refused))).to_pylist()
            for row, record in zip(sorted(refused), as_read, strict=True):
                why = refused[row]
                rejects.append(
                    batch.reject(
                        row,
                        why.category,
                        why.message,
                        record=record,
                        column=why.column,
                        sqlstate=why.sqlstate,
                    )
                )
            data = data.take(pa.array(keep))
            batch = batch.take(keep)
        if self.options.mode in (Mode.UPSERT, Mode.IGNORE):
            batch, data = refuse_null_keys(batch, data, self.key, self.options.mode, rejects)
        item = _Item(batch.released(), data, widenings, added, rejects=rejects)
        if self.options.mode is Mode.UPSERT:
            deduped, rows = keep_last(data, self.key)
            if rows is not None:
                item.data, item.rows = deduped, rows
                item.superseded = data.num_rows - deduped.num_rows
        return item

    # -- the writer (the caller's thread) ----------------------------------------------

    def _write(self) -> None:
        if self._writers > 1:
            self._write_parallel()
            return
        while (item := self._next_item()) is not None:
            self._apply_schema_changes(item)
            progress, seconds = self._write_batch(item, self.sink)
            self._account(item, progress, seconds)

    def _next_item(self) -> _Item | None:
        """The next converted batch (None at the end); the reader's errors raise here."""
        if self.cancel is not None and self.cancel.is_set():
            raise self._interrupted()
        t0 = time.perf_counter()
        item = self._queue.get()
        self.report.wait_seconds += time.perf_counter() - t0
        if item is _DONE:
            return None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, _Item)
        self.report.read_seconds += item.read_seconds
        return item

    def _write_batch(
        self, item: _Item, sink: Sink, turns: _Turns | None = None
    ) -> tuple[_BatchProgress, float]:
        """Write a batch; returns its progress and the seconds the database took (not
        counting waits for earlier batches to commit, which say nothing of this batch)."""
        t0 = time.perf_counter()
        progress = self._write_isolating(item, sink, turns)
        return progress, time.perf_counter() - t0 - progress.waited

    def _account(self, item: _Item, progress: _BatchProgress, seconds: float) -> None:
        """Count a committed batch, tell the observers, steer the batch size."""
        report = self.report
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
        self._record_rejects(progress.rejects)
        committed = getattr(self.source, "committed", None)
        if committed is not None:  # the source lets go of the batch (a queue acks it)
            committed(item.source, progress.rejects)
        self._stats.add(item.records, seconds)
        assert self._controller is not None
        next_rows = self._controller.observe(
            item.records, item.nbytes, seconds, refused=progress.refused
        )
        report.statements = sum(s.statements for s in self._sinks)
        report.last_batch = {
            "batch": report.batches,
            "rows": item.records,
            "bytes": item.nbytes,
            "ms": round(seconds * 1000, 1),
            "rows_per_second": round(item.records / seconds, 1) if seconds else None,
            "next_batch_rows": next_rows,
        }
        status = getattr(self.source, "status", None)
        if status is not None:  # what a source adds of its own (a queue: its depth)
            report.last_batch.update(status())
        bytes_read = self.source.bytes_read()
        for obs in self.observers:
            obs.on_batch(report, bytes_read)
        limit = self.options.max_errors
        if limit is not None and report.rejected > limit:
            raise TooManyRejectsError(
                f"stopped: {report.rejected} records rejected, more than --max-errors "
                f"{limit}; see {self.rejects.location}",
                hint="the batches before the stop are committed; fix the rejects and load "
                "them again, or raise --max-errors",
            )

    # -- parallel writers --------------------------------------------------------------

    def _write_parallel(self) -> None:
        """Batches written over several connections at once, committed in input order.

        Batches in flight never share a value of a unique key of the table (nor of the
        upsert key): a batch that would waits until the batches it shares values with are
        committed.  So no batch can wait on a row lock of a later one (which waits for its
        turn to commit), and for an upserted key the later record in the input wins.
        """
        turns = _Turns()
        idle: queue.Queue[Sink] = queue.Queue()
        opened: list[Sink] = []
        try:
            for _ in range(self._writers):
                sink = self.sink.another()
                opened.append(sink)
                sink.connect()
                idle.put(sink)
            self._sinks.extend(opened)
            keys = self._unique_keys()
            inflight: list[tuple[Future[None], list[pa.Array | None]]] = []
            with ThreadPoolExecutor(self._writers, thread_name_prefix="chute-writer") as pool:
                try:
                    seq = 0
                    while True:
                        try:
                            item = self._next_item()
                        except ChuteError:  # stopped, or the source failed: the batches
                            _settle(inflight, keep=0)  # before that point commit
                            raise
                        if item is None:
                            break
                        if item.added or item.widenings:  # alone with the table
                            _settle(inflight, keep=0)
                            self._apply_schema_changes(item)
                            for sink in opened:
                                sink.forget_table(self.table)
                        values = _key_values(item.data, keys)
                        _settle(inflight, keep=self._writers - 1, values=values)
                        item.seq, seq = seq, seq + 1
                        inflight.append((pool.submit(self._write_turn, item, idle, turns), values))
                    _settle(inflight, keep=0)
                except BaseException:
                    turns.fail()  # batches waiting for their turn roll back
                    for future, _ in inflight:
                        future.exception()
                    raise
        finally:
            for sink in opened:
                sink.close()

    def _write_turn(self, item: _Item, idle: queue.Queue[Sink], turns: _Turns) -> None:
        sink = idle.get()
        try:
            progress, seconds = self._write_batch(item, sink, turns)
            turns.wait(item.seq)
            self._account(item, progress, seconds)
        except BaseException:
            turns.fail()
            raise
        else:
            turns.done(item.seq)
        finally:
            idle.put(sink)

    def _unique_keys(self) -> list[list[str]]:
        """The column sets no two batches in flight may share a value of."""
        keys = self.sink.unique_keys(self.table)
        if self._write_mode is not Mode.APPEND and sorted(self.key) not in map(sorted, keys):
            keys.append(list(self.key))
        return keys

    def _interrupted(self) -> Interrupted:
        where = self.report.committed_through or "the start"
        if self._checkpoints is not None:
            how = "run the same command again to go on from there"
        else:
            how = f"{self.source.name} cannot be resumed"
        return Interrupted(f"stopped on request; committed through {where}; {how}")

    def _write_isolating(
        self, item: _Item, sink: Sink, turns: _Turns | None = None
    ) -> _BatchProgress:
        """Write the batch; set aside what the database refuses; commit the checkpoint and
        the rejects with it.

        The batch goes as one piece (or, once the database has refused records in this
        load, as smaller pieces), each behind a savepoint in one transaction (or, where the
        sink has no savepoints, each in a transaction of its own).  A refused piece is
        undone and split: at the record the database named, or in halves, until the bad
        records are alone.  b bad records among n cost O(b log n) statements.  A refusal at
        commit (a deferred constraint) undoes the whole batch, which is then written with a
        transaction per piece instead.
        """
        duplicates = self._probe_duplicates(item, sink)
        for attempt in range(MAX_RETRIES + 1):
            try:
                return self._write_isolating_once(item, duplicates, sink, turns)
            except RecordError as exc:
                if exc.refusal is not Refusal.RETRY or item.committed or attempt == MAX_RETRIES:
                    raise
                with self._retry_lock:
                    self.report.retries += 1
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _write_isolating_once(
        self, item: _Item, duplicates: dict[int, Reject], sink: Sink, turns: _Turns | None
    ) -> _BatchProgress:
        progress = _BatchProgress(item, duplicates, sink, turns)
        pieces = self._pieces(item.data.num_rows)
        if not isinstance(sink, Savepoints):
            self._write_pieces(progress, pieces, savepoints=False)
            return progress
        try:
            with sink.transaction(commit=False):
                self._write_pieces(progress, pieces, savepoints=True)
                self._commit_progress(progress, item.data.num_rows)
        except RecordError as exc:  # refused at commit: nothing of the batch is stored
            if exc.refusal is Refusal.RETRY:
                raise
            progress = _BatchProgress(item, duplicates, sink, turns)
            self._write_pieces(progress, pieces, savepoints=False)
        return progress

    def _probe_duplicates(self, item: _Item, sink: Sink) -> dict[int, Reject]:
        """Once the database has refused a duplicate key in this append, look the batch's
        keys up first (one query), so that duplicates are set aside without a failed COPY."""
        key = self._probe_key
        data = item.data
        if not key or data.num_rows == 0 or not all(k in data.schema.names for k in key):
            return {}
        keys = data.select(key)
        rows = pa.Table.from_batches([keys]).append_column(
            "__row", pa.array(np.arange(data.num_rows), pa.int64())
        )
        first = rows.group_by(key, use_threads=False).aggregate([("__row", "min")])
        later = set(range(data.num_rows)) - set(first["__row_min"].to_pylist())
        existing = set(sink.existing_keys(self.table, key, data))
        found = {}
        for row in sorted(later | existing):
            values = ", ".join(str(v) for v in keys.slice(row, 1).to_pylist()[0].values())
            why = "already exists" if row in existing else "appears earlier in the input"
            found[row] = self._database_reject(
                item,
                row,
                RecordError(
                    f"duplicate key value: ({', '.join(key)})=({values}) {why}",
                    sqlstate=UNIQUE_VIOLATION,
                    refusal=Refusal.DUPLICATE_KEY,
                ),
            )
        return found

    def _note_refusal(self, exc: RecordError, sink: Sink) -> None:
        self._refusals += 1
        if (
            self._probe_key is None
            and exc.refusal is Refusal.DUPLICATE_KEY
            and self._write_mode is Mode.APPEND
        ):
            self._probe_key = sink.primary_key(self.table) or []

    def _commit_progress(
        self, progress: _BatchProgress, rows_done: int, pending: WriteCounts | None = None
    ) -> None:
        """In the open transaction: the rejects found so far, the checkpoint after the first
        ``rows_done`` rows of the batch (counting ``pending``, written but not yet counted);
        then commit.  If that fails, rejects kept by a transactional store are taken back
        (a file keeps them, so they are not written twice)."""
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
            self.rejects.write(written, sink)
            if self._checkpoints is not None and resume is not None:
                self._checkpoints.save(
                    self._checkpoint(progress, rows_done, resume, pending or WriteCounts()), sink
                )
            in_transaction = getattr(self.source, "in_transaction", None)
            if in_transaction is not None:  # a source's own bookkeeping (a queue's ledger)
                in_transaction(sink, progress.item.source, progress.source_row(rows_done))
            fault("before-commit")
            sink.commit()
            progress.item.committed = True
        except BaseException:
            if self.rejects.transactional:
                progress.unflush(written)
            raise
        fault("after-commit")

    def _checkpoint(
        self, progress: _BatchProgress, rows_done: int, resume: Position, pending: WriteCounts
    ) -> Checkpoint:
        """The state of the whole load once the first ``rows_done`` rows of this batch are
        committed: counts before it, plus what of the batch is in."""
        assert self._checkpoints is not None
        report = self.report
        done = progress.total
        return Checkpoint(
            source=self._checkpoints.source,
            target_table=self.target,
            fingerprint=self._fingerprint,
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
            table_token=self._table_token,
        )

    def _pieces(self, n: int) -> list[tuple[int, int]]:
        """The whole batch, or pieces sized to the refusal rate seen so far."""
        if n == 0:
            return []
        if not self._refusals or self._probe_key:  # duplicates are looked up first
            return [(0, n)]
        rows_per_refusal = max(self.report.written + self.report.skipped, 1) / self._refusals
        size = int(min(max(rows_per_refusal / 4, MIN_PIECE_ROWS), n))
        return [(lo, min(lo + size, n)) for lo in range(0, n, size)]

    def _write_pieces(
        self, progress: _BatchProgress, pieces: list[tuple[int, int]], *, savepoints: bool
    ) -> None:
        """Write ``pieces`` in order, splitting refused ones; with ``savepoints`` inside the
        open transaction, else each committed with its checkpoint."""
        sink = progress.sink
        assert sink is not None
        item = progress.item
        pending = list(reversed(pieces))
        while pending:
            lo, hi = pending.pop()
            rows = progress.writable(lo, hi)  # None: all of them
            if rows is not None and len(rows) == 0:
                if not savepoints:
                    with sink.transaction(commit=False):
                        self._commit_progress(progress, hi)
                continue
            progress.attempts += 1
            piece = item.data.slice(lo, hi - lo) if rows is None else item.data.take(rows)
            try:
                if savepoints:
                    assert isinstance(sink, Savepoints)
                    sink.savepoint()
                    try:
                        counts = sink.write_rows(self.table, piece, self._write_mode, self.key)
                    except RecordError:
                        sink.rollback_to_savepoint()
                        raise
                    sink.release_savepoint()
                else:
                    with sink.transaction(commit=False):
                        counts = sink.write_rows(self.table, piece, self._write_mode, self.key)
                        self._commit_progress(progress, hi, counts)
                    progress.add(counts)
                    continue
            except RecordError as exc:
                if exc.refusal is Refusal.RETRY:
                    raise  # the whole batch is tried again
                self._note_refusal(exc, sink)
                progress.refused = True
                if len(piece) == 1:
                    only = lo if rows is None else int(rows[0])
                    progress.rejects.append(self._database_reject(item, only, exc))
                    continue
                if exc.row is not None and 0 <= exc.row < len(piece):
                    # the database named the record: try it alone
                    bad = lo + exc.row if rows is None else int(rows[exc.row])
                    parts = [(lo, bad), (bad, bad + 1), (bad + 1, hi)]
                else:
                    mid = (lo + hi) // 2
                    parts = [(lo, mid), (mid, hi)]
                pending.extend(reversed([(a, b) for a, b in parts if b > a]))
                continue
            progress.add(counts)
        if not savepoints and (progress.pending_rejects() or not pieces):
            # what is left: rejects and the checkpoint after the batch
            with sink.transaction(commit=False):
                self._commit_progress(progress, item.data.num_rows)

    def _database_reject(self, item: _Item, row: int, exc: RecordError) -> Reject:
        source_row = int(item.rows[row]) if item.rows is not None else row
        record = item.data.slice(row, 1).to_pylist()[0]
        return item.source.reject(
            source_row,
            "database",
            exc.reason,
            record=record,
            column=exc.column,
            sqlstate=exc.sqlstate,
        )

    def _record_rejects(self, rejects: list[Reject]) -> None:
        """Count a committed batch's rejects (the store got them in its transaction)."""
        if not rejects:
            return
        rejects = sorted(rejects, key=lambda r: r.position.record)
        self.report.rejected += len(rejects)
        for reject in rejects:
            by = self.report.rejected_by
            by[reject.error] = by.get(reject.error, 0) + 1
        self.report.rejects_to = self.rejects.location
        room = REJECTS_KEPT - len(self.report.rejects)
        if room > 0:
            self.report.rejects.extend(rejects[:room])

    def _apply_schema_changes(self, item: _Item) -> None:
        for name, (t, where) in item.added.items():
            self.sink.add_column(self.table, name, t)
            self.report.columns[name] = str(t)
            self.report.changes.append(f"added column {name} {t} (first seen at {where})")
        for w in item.widenings:
            current = self._current_types(w)
            self.sink.alter_column(self.table, w.column, w.new, current, self.key)
            self.report.columns[w.column] = str(w.new)
            self.report.changes.append(
                f"column {w.column} widened from {w.old} to {w.new} at {w.line_or_record} "
                f"(value {w.example!r})"
            )

    def _current_types(self, w: Widening) -> dict[str, ct.ColumnType]:
        described = self.sink.describe(self.table) or []
        return {c.name: (w.old if c.name == w.column else c.type) for c in described}


def _key_values(data: pa.RecordBatch, keys: list[list[str]]) -> list[pa.Array | None]:
    """Per key (a column set), the batch's non-null values of it (None: not in the batch)."""
    names = set(data.schema.names)
    out: list[pa.Array | None] = []
    for key in keys:
        if not key or not names.issuperset(key):
            out.append(None)
        elif len(key) == 1:
            out.append(pc.drop_null(data.column(key[0])))
        else:
            parts = [pc.cast(data.column(k), pa.string()) for k in key]
            out.append(pc.drop_null(pc.binary_join_element_wise(*parts, "\x1f")))
    return out


def _overlap(a: list[pa.Array | None], b: list[pa.Array | None]) -> bool:
    """Whether two batches share a value of any key."""
    for x, y in zip(a, b, strict=True):
        if x is None or y is None or not len(x) or not len(y):
            continue
        try:
            found = pc.is_in(x, value_set=y)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            found = pc.is_in(pc.cast(x, pa.string()), value_set=pc.cast(y, pa.string()))
        if pc.any(found).as_py():
            return True
    return False


def _settle(
    inflight: list[tuple[Future[None], list[pa.Array | None]]],
    *,
    keep: int,
    values: list[pa.Array | None] | None = None,
) -> None:
    """Wait for batches in flight (oldest first, as they commit in order) until at most
    ``keep`` are left and none of them shares a key value with ``values``."""
    last = -1
    if values is not None:
        for i, (_, theirs) in enumerate(inflight):
            if _overlap(values, theirs):
                last = i
    while inflight and (len(inflight) > keep or last >= 0):
        future, _ = inflight.pop(0)
        last -= 1
        future.result()


def _chain(first: SourceBatch, rest: Iterator[SourceBatch]) -> Iterator[SourceBatch]:
    yield first
    yield from rest
