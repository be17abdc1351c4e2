"""A RabbitMQ queue as a source: batches of messages, acked after their batch commits.

Each message is a JSON object or an array of objects; each object is a record.  A batch
closes at the batch size in messages or bytes, or ``flush_interval`` seconds after its first
message.  The engine calls two hooks of this source:

- :meth:`QueueSource.in_transaction`, inside each commit of a batch: the message ledger
  (append mode, messages with a ``message_id``) records the messages stored, in the same
  transaction as their rows;
- :meth:`QueueSource.dead_letter`, inside the same transaction, before the commit:
  messages that could not be stored go to the dead-letter queue (with the reason in their
  headers), confirmed by the broker; the ledger records those refused whole;
- :meth:`QueueSource.committed`, after the batch is committed and counted: one
  multiple-ack acks the whole batch.

A message is acked only after its rows are committed or it is dead-lettered; after a crash
or a lost connection the broker delivers it again.  See ``docs/queues.md`` for what each mode
promises about such redeliveries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import orjson

from chute.amqp import (
    DeadLetter,
    DecodedBodies,
    Delivery,
    QueueConsumer,
    StaleDeliveryError,
    decode_bodies,
)
from chute.engine.faults import fault
from chute.sinks.contract import Sink
from chute.sources._records import records_to_batch
from chute.sources.base import BatchSize, Position, Reject, Sizes, SourceBatch
from chute.sources.queue_tables import MessageLedger, TableFields

#: bytes of a message body kept in a reject's ``raw``
RAW_KEPT = 1000


@dataclass
class _Handed:
    """A batch handed to the engine and not yet committed."""

    first_record: int
    deliveries: list[Delivery]
    #: per record number from ``first_record`` on: the index of its message in deliveries
    owner: np.ndarray
    #: the messages with records in the batch's data (the others were refused when read)
    with_rows: set[int] = field(default_factory=set)
    recorded: set[str] = field(default_factory=set)  # message ids put in the ledger


@dataclass
class QueueCounts:
    messages: int = 0  # delivered to this consumer (redeliveries included)
    acked: int = 0
    dead_lettered: int = 0
    already_stored: int = 0  # skipped: the ledger had them, or a batch in flight has them
    stale_acks: int = 0  # batches committed whose ack was lost with the connection


class QueueSource:
    """Messages of one queue, in batches, until ``stop`` is set (or the queue stays empty
    for ``idle_timeout`` seconds)."""

    numbers_from_text = False
    resumable = False

    def __init__(
        self,
        consumer: QueueConsumer,
        *,
        batch_rows: int,
        batch_bytes: int,
        flush_interval: float,
        stop: threading.Event,
        idle_timeout: float | None = None,
        ledger: MessageLedger | None = None,
        fields: TableFields | None = None,
    ) -> None:
        self.consumer = consumer
        self.name = f"{consumer.params.display} queue {consumer.queue}"
        self.batch_size = BatchSize(batch_rows, batch_bytes)
        self.flush_interval = flush_interval
        self.stop = _Either(stop, threading.Event())  # the caller's stop, or halt()
        self.idle_timeout = idle_timeout
        self.ledger = ledger
        #: the table's columns: a message with another field is dead-lettered (None: any)
        self.fields = fields
        self.columns: list[str] = []
        self.counts = QueueCounts()
        self._known: set[str] = set()
        self._record = 1
        self._handed: dict[int, _Handed] = {}  # by the record number after the batch
        self._in_flight: set[str] = set()  # message ids of the batches handed (ledger on)
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._bytes = 0
        self._reconnects_seen = 0
        self._depth: int | None = None
        self._depth_at = -1.0

    # -- reading -------------------------------------------------------------------------

    def batches(self, sizes: Sizes | None = None) -> Iterator[SourceBatch]:
        if self.ledger is not None:
            self.ledger.open()
        if self.fields is not None:
            self.fields.open()
        while not self.stop.is_set():
            size = self.batch_size if sizes is None else sizes()
            deliveries = self.consumer.next_batch(
                size.rows, size.bytes, self.flush_interval, cast(threading.Event, self.stop),
                idle_timeout=self.idle_timeout,
            )  # fmt: skip
            if not deliveries:
                if self.stop.is_set() or self.idle_timeout is not None:
                    return
                continue
            self.counts.messages += len(deliveries)
            self._bytes += sum(len(d.body) for d in deliveries)
            batch = self._batch(deliveries)
            if batch is not None:
                yield batch

    def _batch(self, deliveries: list[Delivery]) -> SourceBatch | None:
        fresh = list(range(len(deliveries)))
        if self.ledger is not None:
            fresh = self._not_handled(deliveries)
        skipped = len(deliveries) - len(fresh)
        self.counts.already_stored += skipped
        decoded = decode_bodies([deliveries[i].body for i in fresh])
        bad = {fresh[i]: (kind, error) for i, kind, error in decoded.errors}
        if self.fields is not None and self.fields.allowed is not None:
            decoded = self._refuse_unknown_fields(decoded, fresh, bad)
        for record in decoded.records:
            for key in record:
                if key not in self._known:
                    self._known.add(key)
                    self.columns.append(key)
        if not self.columns:  # nothing to store yet, so no table: dead-letter right away
            self._dead_letter_now(deliveries, bad)
            return None
        # record numbers: each record of a good message, and each bad message, gets one
        first = self._record
        owner: list[int] = []
        numbers: list[int] = []
        rejects: list[Reject] = []
        good = iter(zip(decoded.records, decoded.owners, strict=True))
        pending = next(good, None)
        for i in fresh:
            if i in bad:
                kind, error = bad[i]
                raw = deliveries[i].body[:RAW_KEPT].decode("utf-8", "replace")
                rejects.append(
                    Reject(Position(self.name, first + len(owner)), kind, error, raw=raw)
                )
                owner.append(i)
                continue
            while pending is not None and fresh[pending[1]] == i:
                numbers.append(first + len(owner))
                owner.append(i)
                pending = next(good, None)
        self._record = first + len(owner)
        data = records_to_batch(decoded.records, self.columns)
        after = Position(self.name, self._record)
        with self._lock:
            if self.ledger is not None:
                self._in_flight.update(
                    d.message_id for i in fresh if (d := deliveries[i]).message_id is not None
                )
            self._handed[self._record] = _Handed(
                first,
                deliveries,
                np.array(owner, dtype=np.int64),
                {fresh[o] for o in decoded.owners},
            )
        return SourceBatch(
            data=data,
            source=self.name,
            records=np.array(numbers, dtype=np.int64),
            rejects=tuple(rejects),
            after=after,
        )

    def _not_handled(self, deliveries: list[Delivery]) -> list[int]:
        """The deliveries to store: not in the ledger, and not a second copy of a message
        (the same ``message_id``) in this batch or in a batch not yet committed."""
        assert self.ledger is not None
        self._wait_after_reconnect()
        ids = [d.message_id for d in deliveries if d.message_id is not None]
        stored = self.ledger.stored(ids) if ids else set()
        with self._lock:
            clash = not self._in_flight.isdisjoint(ids)
            taken = set(self._in_flight) if clash else set()
        if not stored and not clash and len(set(ids)) == len(ids):  # the usual case
            return list(range(len(deliveries)))
        fresh = []
        for i, d in enumerate(deliveries):
            if d.message_id is None:
                fresh.append(i)
            elif d.message_id not in stored and d.message_id not in taken:
                fresh.append(i)
                taken.add(d.message_id)
        return fresh

    def _refuse_unknown_fields(
        self, decoded: DecodedBodies, fresh: list[int], bad: dict[int, tuple[str, str]]
    ) -> DecodedBodies:
        """Move the messages with a field the table has no column for to ``bad`` (they are
        dead-lettered whole, with the fields named); the others' records stay."""
        assert self.fields is not None
        if not self.fields.unknown(set().union(*decoded.records)):  # the usual case
            return decoded
        unknown: dict[int, list[str]] = {}
        for record, owner in zip(decoded.records, decoded.owners, strict=True):
            names = self.fields.unknown(record)
            if names:
                found = unknown.setdefault(owner, [])
                found += (n for n in names if n not in found)
        if not unknown:
            return decoded
        table = self.fields.table
        for owner, names in unknown.items():
            listed = ", ".join(repr(n) for n in names)
            bad[fresh[owner]] = (
                "column",
                f"table {table} has no column {listed} (chute consume --add-columns adds "
                "columns for new fields)",
            )
        kept = [j for j, owner in enumerate(decoded.owners) if owner not in unknown]
        return decoded._replace(
            records=[decoded.records[j] for j in kept],
            owners=[decoded.owners[j] for j in kept],
        )

    def _wait_after_reconnect(self) -> None:
        """After a reconnect, messages of batches still in flight come again: wait until
        those batches are committed, so that the ledger knows them."""
        if self.consumer.reconnects == self._reconnects_seen:
            return
        self._reconnects_seen = self.consumer.reconnects
        with self._settled:
            self._settled.wait_for(lambda: not self._handed or self.stop.is_set(), timeout=600)

    def _dead_letter_now(self, deliveries: list[Delivery], bad: dict[int, tuple[str, str]]) -> None:
        letters = [DeadLetter(deliveries[i], kind, error) for i, (kind, error) in bad.items()]
        try:
            self.consumer.dead_letter(letters)
            fault("dead-lettered")
            self.consumer.ack_through(deliveries[-1].delivery_tag)
        except StaleDeliveryError:
            self.counts.stale_acks += 1
            return
        self.counts.dead_lettered += len(letters)
        self.counts.acked += len(deliveries)

    # -- the engine's hooks ----------------------------------------------------------------

    def in_transaction(self, sink: Sink, batch: SourceBatch, rows: int) -> None:
        """In the transaction that commits the first ``rows`` rows of ``batch``: record
        their messages in the ledger (a message is recorded once all its rows are in)."""
        if self.ledger is None or batch.after is None:
            return
        with self._lock:
            handed = self._handed.get(batch.after.record)
        if handed is None:
            return
        done = batch.records[:rows] - handed.first_record
        later = batch.records[rows:] - handed.first_record
        waiting = set(handed.owner[later].tolist()) if len(later) else set()
        ids = []
        for i in sorted(set(handed.owner[done].tolist()) - waiting):
            message_id = handed.deliveries[i].message_id
            if message_id is not None and message_id not in handed.recorded:
                ids.append(message_id)
        self.ledger.record(sink, ids)
        handed.recorded.update(ids)

    def dead_letter(self, rejects: list[Reject], sink: Sink) -> None:
        """In the transaction of the batch ``rejects`` belong to, before its commit: publish
        the dead letters of their messages and wait for the broker's confirms, and record in
        the ledger the messages refused whole when read (the others are recorded with their
        rows by :meth:`in_transaction`).

        So a failure after the commit finds every refused message dead-lettered, and with
        the ledger a redelivery neither stores nor dead-letters it again; a failure before
        the commit rolls the batch back, and its messages come again (a dead letter may then
        be published twice, a row is never stored twice).
        """
        if not rejects:
            return
        handed = self._handed_holding(rejects[0].position.record)
        if handed is None:
            return
        by_message: dict[int, list[Reject]] = {}
        for reject in rejects:
            i = int(handed.owner[reject.position.record - handed.first_record])
            by_message.setdefault(i, []).append(reject)
        letters = [self._letter(handed, i, found) for i, found in by_message.items()]
        self.consumer.publish_dead_letters(letters)
        fault("dead-lettered")
        self.counts.dead_lettered += len(letters)
        if self.ledger is not None:
            ids = []
            for i in by_message:
                message_id = handed.deliveries[i].message_id
                if i in handed.with_rows or message_id is None or message_id in handed.recorded:
                    continue
                ids.append(message_id)
            self.ledger.record(sink, ids)
            handed.recorded.update(ids)

    def _handed_holding(self, record: int) -> _Handed | None:
        with self._lock:
            for after, handed in self._handed.items():
                if handed.first_record <= record < after:
                    return handed
        return None

    def committed(self, batch: SourceBatch, rejects: list[Reject]) -> None:
        """The batch is committed (its dead letters were published before): ack all its
        messages with one multiple-ack."""
        if batch.after is None:
            return
        with self._lock:
            handed = self._handed.pop(batch.after.record, None)
            if handed is not None and self.ledger is not None:
                self._in_flight.difference_update(
                    d.message_id for d in handed.deliveries if d.message_id is not None
                )
            self._settled.notify_all()
        if handed is None:
            return
        try:
            self.consumer.ack_through(handed.deliveries[-1].delivery_tag)
        except StaleDeliveryError:
            # committed, but the connection that delivered them is gone: they come again,
            # and the key (or the ledger) makes storing them again harmless
            self.counts.stale_acks += 1
            return
        self.counts.acked += len(handed.deliveries)

    def _letter(self, handed: _Handed, message: int, rejects: list[Reject]) -> DeadLetter:
        """The dead letter of a message: the message itself when none of its records was
        stored, else just its refused records (a JSON array), so that sending it again
        stores nothing twice."""
        delivery = handed.deliveries[message]
        numbers = np.flatnonzero(handed.owner == message) + handed.first_record
        first = rejects[0]
        error = first.message if len(rejects) == 1 else f"{len(rejects)} records: {first.message}"
        if len(rejects) < len(numbers):
            refused = {r.position.record for r in rejects}
            records = [r.record for r in rejects if r.record is not None]
            if len(records) == len(refused):
                delivery = delivery._replace(body=orjson.dumps(records, default=str))
        return DeadLetter(delivery, first.error, error, first.sqlstate)

    def status(self) -> dict[str, object]:
        """For each batch's log line and the status line: the messages waiting in the
        queue (the consumers' lag; asked at most 4 times a second) and in this consumer's
        prefetch buffer."""
        now = time.monotonic()
        if now - self._depth_at >= 0.25:
            self._depth_at, self._depth = now, self.consumer.depth()
        return {"queue_depth": self._depth, "buffered": self.consumer.buffered()}

    def halt(self) -> None:
        """Stop reading now (the engine is failing): the batch being filled is dropped and
        goes back to the queue when the consumer closes."""
        self.stop.other.set()
        with self._settled:  # a reader waiting for batches in flight to settle stops waiting
            self._settled.notify_all()

    # -- the Source protocol ----------------------------------------------------------------

    def total_bytes(self) -> int | None:
        return None

    def bytes_read(self) -> int:
        return self._bytes

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
        self.consumer.close()


class _Either:
    """Set when either event is set (what ``QueueConsumer`` needs of a stop event)."""

    def __init__(self, one: threading.Event, other: threading.Event) -> None:
        self.one = one
        self.other = other

    def is_set(self) -> bool:
        return self.one.is_set() or self.other.is_set()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set() and (left := deadline - time.monotonic()) > 0:
            self.other.wait(min(left, 0.05))
        return self.is_set()
