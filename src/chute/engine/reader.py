"""The reader stage: a thread reads the source's batches, converts them to the table's
types, sets aside what cannot be stored, and hands them to the writer through a bounded
queue (at most :data:`~chute.config.QUEUE_DEPTH` batches, so memory stays flat however
long the input)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

from chute.config import QUEUE_DEPTH
from chute.engine.convert import Converter
from chute.engine.inflight import Item
from chute.engine.itemize import to_item
from chute.engine.run import LoadRun
from chute.sinks.contract import PreparesBatches
from chute.sources.base import SourceBatch

_DONE = object()


class Reader:
    """Reads and converts in its own thread; :meth:`get` hands the batches over in order."""

    def __init__(self, run: LoadRun) -> None:
        self.run = run
        self._stop = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._thread: threading.Thread | None = None
        #: the sink works on each batch here too, off the writer's thread
        sink = run.sink
        self._prepares = sink if isinstance(sink, PreparesBatches) else None

    def start(
        self, first: SourceBatch | None, rest: Iterator[SourceBatch], converter: Converter
    ) -> None:
        # the first batch is handed over in a list the reader empties, so that nothing
        # holds it (its text and data) once it is written
        self._thread = threading.Thread(
            target=self._read,
            name="chute-reader",
            daemon=True,
            args=([] if first is None else [first], rest, converter),
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
        self, first: list[SourceBatch], rest: Iterator[SourceBatch], converter: Converter
    ) -> None:
        try:
            batches = _chain(first, rest) if first else rest
            t0 = time.perf_counter()
            for batch in batches:
                if self._stop.is_set():
                    return
                item = to_item(self.run, batch, converter)
                if self._prepares is not None and item.data.num_rows:
                    self._prepares.prepare_batch(self.run.table, item.data)
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


def _chain(first: list[SourceBatch], rest: Iterator[SourceBatch]) -> Iterator[SourceBatch]:
    """``first``'s one batch (taken out of the list), then ``rest``."""
    yield first.pop()
    yield from rest
