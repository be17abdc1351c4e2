"""The reader stage: a thread reads the source's batches, converts them to the table's
types, sets aside what cannot be stored, and hands them to the writer through a bounded
queue (at most :data:`~chute.config.QUEUE_DEPTH` batches, so memory stays flat however
long the input)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.config import QUEUE_DEPTH
from chute.engine import columns as ct
from chute.engine.convert import Converter
from chute.engine.dedupe import keep_last, refuse_null_keys
from chute.engine.inflight import Item
from chute.engine.run import LoadRun
from chute.engine.schema_check import check_new_name
from chute.errors import ConfigError
from chute.sinks.contract import Mode
from chute.sinks.names import check_column_names
from chute.sources.base import SourceBatch

_DONE = object()


class Reader:
    """Reads and converts in its own thread; :meth:`get` hands the batches over in order."""

    def __init__(self, run: LoadRun) -> None:
        self.run = run
        self._stop = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._thread: threading.Thread | None = None

    def start(
        self, first: SourceBatch | None, rest: Iterator[SourceBatch], converter: Converter
    ) -> None:
        self._thread = threading.Thread(
            target=self._read,
            name="chute-reader",
            daemon=True,
            args=(first, rest, converter),
        )
        self._thread.start()

    def get(self) -> Item | None:
        """The next converted batch (None at the end); the reader's errors raise here."""
        report = self.run.report
        t0 = time.perf_counter()
        item = self._queue.get()
        report.wait_seconds += time.perf_counter() - t0
        if item is _DONE:
            return None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, Item)
        report.read_seconds += item.read_seconds
        return item

    def stop(self) -> None:
        """Stop reading after the batch in hand."""
        self._stop.set()

    def join(self) -> None:
        """Let go of what is queued; wait (a while) for the thread to end."""
        if self._thread is None:
            return
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        self._thread.join(timeout=10)

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
                self.run.report.backpressure_seconds += time.perf_counter() - t1
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

    def _convert(self, batch: SourceBatch, converter: Converter) -> Item:
        run = self.run
        options = run.options
        added = self._new_columns(batch, converter)
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
        if options.mode in (Mode.UPSERT, Mode.IGNORE):
            batch, data = refuse_null_keys(batch, data, run.key, options.mode, rejects)
        item = Item(batch.released(), data, widenings, added, rejects=rejects)
        if options.mode is Mode.UPSERT:
            deduped, rows = keep_last(data, run.key)
            if rows is not None:
                item.data, item.rows = deduped, rows
                item.superseded = data.num_rows - deduped.num_rows
        return item

    def _new_columns(
        self, batch: SourceBatch, converter: Converter
    ) -> dict[str, tuple[ct.ColumnType, str]]:
        """Columns of the batch the table lacks, with their types and where first seen."""
        run = self.run
        capabilities = run.sink.capabilities
        added: dict[str, tuple[ct.ColumnType, str]] = {}
        for name in batch.data.schema.names:
            target = converter.rename.get(name, name)
            if target in converter.targets:
                continue
            if capabilities.names_ignore_case:
                where = batch.position(0).describe()
                check_new_name(name, converter.targets, table=run.target, where=where)
            if not (converter.may_widen or run.options.add_columns):
                raise ConfigError(
                    f"{batch.position(0).describe()}: table {run.target} has no column {name!r}",
                    hint="pass --add-columns to let chute add it",
                )
            check_column_names([name], capabilities.max_name_bytes, run.database)
            t = ct.infer(
                batch.data.schema.field(name),
                batch.data.column(name),
                numbers_from_text=run.source.numbers_from_text,
                stores=converter.stores,
            )
            column = batch.data.column(name)
            first = int(pc.index(pc.is_valid(column), True).as_py())
            converter.targets[name] = t
            added[name] = (t, batch.position(max(first, 0)).describe())
        return added


def _chain(first: SourceBatch, rest: Iterator[SourceBatch]) -> Iterator[SourceBatch]:
    yield first
    yield from rest
