"""The writer stage: batches from the reader are written in input order, on the caller's
thread over the load's connection, or over several connections at once (parallel
writers, where the sink takes them), each batch committed in input order."""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from chute.engine.accounting import Accounts
from chute.engine.inflight import Aborted, Item, Turns
from chute.engine.isolate import Isolator
from chute.engine.run import LoadRun
from chute.engine.schema import TableSchema
from chute.errors import ChuteError
from chute.sinks.contract import Sink

#: the next batch to write (None at the end)
NextItem = Callable[[], Item | None]


class Writer:
    """Writes every batch ``next_item`` hands over, over ``writers`` connections."""

    def __init__(
        self,
        run: LoadRun,
        schema: TableSchema,
        isolator: Isolator,
        accounts: Accounts,
        *,
        writers: int,
    ) -> None:
        self.run = run
        self.schema = schema
        self.isolator = isolator
        self.accounts = accounts
        self.writers = writers

    def write_one(self, item: Item) -> None:
        """Write and count one batch on the load's connection."""
        progress, seconds = self.isolator.write(item, self.run.sink)
        self.accounts.count(item, progress, seconds)

    def write(self, next_item: NextItem) -> None:
        if self.writers > 1:
            self._write_parallel(next_item)
            return
        while (item := next_item()) is not None:
            self.schema.apply(item)
            self.write_one(item)

    def _write_parallel(self, next_item: NextItem) -> None:
        """Batches written over several connections at once, committed in input order.

        Batches in flight never share a value of a unique key of the table (nor of the
        upsert key): a batch that would waits until the batches it shares values with are
        committed.  So no batch can wait on a row lock of a later one (which waits for its
        turn to commit), and for an upserted key the later record in the input wins.
        """
        run = self.run
        turns = Turns()
        idle: queue.Queue[Sink] = queue.Queue()
        opened: list[Sink] = []
        try:
            for _ in range(self.writers):
                sink = run.sink.another()
                opened.append(sink)
                sink.connect()
                idle.put(sink)
            run.sinks.extend(opened)
            keys = self.schema.unique_keys()
            inflight: list[tuple[Future[None], list[pa.Array | None]]] = []
            with ThreadPoolExecutor(self.writers, thread_name_prefix="chute-writer") as pool:
                try:
                    seq = 0
                    while True:
                        # a writer free before the next batch is taken: the loop never
                        # holds a batch besides the queue's and the writers'
                        _settle(inflight, keep=self.writers - 1)
                        try:
                            item = next_item()
                        except ChuteError:  # stopped, or the source failed: the batches
                            _settle(inflight, keep=0)  # before that point commit
                            raise
                        if item is None:
                            break
                        if item.added or item.widenings:  # alone with the table
                            _settle(inflight, keep=0)
                            self.schema.apply(item)
                            for sink in opened:
                                sink.forget_table(run.table)
                        values = _key_values(item.data, keys)
                        _settle(inflight, keep=self.writers - 1, values=values)
                        item.seq, seq = seq, seq + 1
                        inflight.append((pool.submit(self._write_turn, item, idle, turns), values))
                    _settle(inflight, keep=0)
                except BaseException as exc:
                    turns.fail()  # batches waiting for their turn roll back
                    failures = [future.exception() for future, _ in inflight]
                    if isinstance(exc, Aborted):  # a later batch failed first: its error
                        cause = next((e for e in failures if not isinstance(e, Aborted)), None)
                        if cause is not None:
                            raise cause from None
                    raise
        finally:
            for sink in opened:
                sink.close()

    def _write_turn(self, item: Item, idle: queue.Queue[Sink], turns: Turns) -> None:
        sink = idle.get()
        try:
            progress, seconds = self.isolator.write(item, sink, turns)
            turns.wait(item.seq)
            self.accounts.count(item, progress, seconds)
        except BaseException:
            turns.fail()
            raise
        else:
            turns.done(item.seq)
        finally:
            idle.put(sink)


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
