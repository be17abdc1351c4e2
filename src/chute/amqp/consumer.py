"""Consume a queue in batches; ack a batch after its commit; dead-letter what cannot be stored.

The engine's reader thread calls :meth:`QueueConsumer.next_batch`; its writer thread, after
the commit, calls :meth:`QueueConsumer.ack_through` (and :meth:`QueueConsumer.dead_letter`
for messages that cannot be stored).  What is acked:

- ``ack_through(tag)`` sends ONE ``basic.ack(multiple=True)``: it acks every message handed
  out with a tag <= ``tag`` that is not acked yet.  The caller promises that each of them is
  committed or dead-lettered, so batches must be acked in the order they were taken (one
  writer does that naturally).  A tag that was not handed out yet is refused (ValueError):
  the broker may have sent more messages, sitting in the prefetch buffer.
- ``dead_letter(items)`` publishes each message to the dead-letter queue with its error in
  the headers, waits for the broker's publisher confirms, then acks each of them ALONE
  (``multiple=False``): the messages before them in the batch stay unacked until the batch
  commits.  A later ``ack_through`` over them is harmless.
- ``publish_dead_letters(items)`` publishes and waits for the confirms, and acks nothing:
  ``chute consume`` calls it inside a batch's transaction, before the commit, and acks the
  batch (dead letters included) with its multiple-ack after the commit.

Reconnects: when the connection is lost, the broker puts every unacked message back in the
queue.  ``next_batch`` reconnects (backoff from 0.1 s doubling to 5 s, with jitter) and drops
the batch it was filling; it never returns deliveries of two connections in one batch.
Deliveries already handed out are void: ``ack_through`` or ``dead_letter`` on them raises
:class:`StaleDeliveryError` (they will be delivered again; their rows are recognised by the
key or the message ledger).  Tags stay increasing across reconnects: the consumer adds an
offset to the broker's tags, which restart at 1 on each connection.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable
from types import TracebackType

from chute.amqp._errors import BrokerError, BrokerUnavailableError, StaleDeliveryError
from chute.amqp._params import parse_url
from chute.amqp.broker import Broker, Consumption, Delivery, Outgoing, Publisher
from chute.amqp.dead_letters import DEAD_LETTER_SUFFIX, DeadLetter, dead_letter_messages
from chute.amqp.pika_broker import PikaBroker
from chute.amqp.prefetch import MAX_PREFETCH
from chute.errors import ConfigError

log = logging.getLogger("chute.amqp")

_POLL = 0.05  # how often a waiting next_batch looks at ``stop``


class QueueConsumer:
    """Batches of deliveries from one queue, acked after their commit.

    ``prefetch`` messages may be unacked at once (``basic.qos``; per consumer, or for the
    channel with ``qos_global``).  Several consumers on one queue share its messages.
    ``reconnect_timeout`` bounds how long a lost broker is waited for (None: until stopped).
    ``broker`` is where the messages are: by default RabbitMQ at ``url``, through pika
    (:mod:`chute.amqp.pika_broker`); tests give a :class:`~chute.amqp.memory.MemoryBroker`.
    """

    def __init__(
        self,
        url: str,
        queue: str,
        *,
        prefetch: int = 10_000,
        dead_letter_queue: str | None = None,
        qos_global: bool = False,
        reconnect_timeout: float | None = None,
        name: str = "chute consume",
        broker: Broker | None = None,
    ) -> None:
        self.params = parse_url(url)
        self.broker: Broker = broker if broker is not None else PikaBroker(self.params)
        check_queue_name(queue)
        if not 1 <= prefetch <= MAX_PREFETCH:
            raise ConfigError(f"prefetch must be between 1 and {MAX_PREFETCH}, not {prefetch}")
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue or queue + DEAD_LETTER_SUFFIX
        check_queue_name(self.dead_letter_queue)
        if self.dead_letter_queue == queue:
            raise ConfigError("the dead-letter queue cannot be the queue consumed")
        self.prefetch = prefetch
        self.qos_global = qos_global
        self.reconnect_timeout = reconnect_timeout
        self.name = name
        #: how often the connection was lost and made again
        self.reconnects = 0
        #: messages in the queue when the consumer (re)connected
        self.message_count = 0
        self._conn: Consumption | None = None
        self._lock = threading.Lock()  # guards the fields below and the acks sent
        self._offset = 0  # added to the broker's tags of the current connection
        self._handed_out = 0  # the highest tag next_batch returned
        self._acked = 0  # the highest tag acked by a multiple-ack
        self._acked_alone: set[int] = set()  # dead-lettered tags above _acked
        self._dl_lock = threading.Lock()
        self._publisher: Publisher | None = None  # dead letters, opened on first use
        self._closed = False

    def __repr__(self) -> str:
        return f"QueueConsumer({self.broker.display!r}, {self.queue!r})"

    def __enter__(self) -> QueueConsumer:
        self.connect()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- connecting ---------------------------------------------------------------------------

    def connect(self) -> None:
        """Connect, check the queue exists, declare the dead-letter queue if missing, consume.

        Raises one line for a refused connection or login, an unknown host or virtual host
        (:class:`BrokerError`) and a missing queue (:class:`QueueNotFoundError`).
        """
        if self._conn is None:
            self._open()

    def _open(self) -> None:
        with self._lock:
            old = self._conn
            offset = self._offset + (old.last_tag if old is not None else 0)
        conn = self.broker.consume(
            self.queue,
            prefetch=self.prefetch,
            qos_global=self.qos_global,
            dead_letter_queue=self.dead_letter_queue,
            tag_offset=offset,
            name=self.name,
        )
        self.message_count = conn.message_count
        with self._lock:
            self._conn = conn
            self._offset = offset  # tags <= offset and > _acked are void
            self._acked_alone.clear()
        if old is not None:
            old.close()

    def _reconnect(self, stop: threading.Event) -> bool:
        """Connect again after a loss, with backoff; False when ``stop`` was set first."""
        conn = self._conn
        reason = conn.error.message if conn is not None and conn.error else "lost"
        log.warning("lost the connection to %s (%s); reconnecting", self.broker.display, reason)
        delay = 0.1
        started = time.monotonic()
        while not stop.is_set() and not self._closed:
            try:
                self._open()
            except BrokerUnavailableError as exc:
                waited = time.monotonic() - started
                if self.reconnect_timeout is not None and waited > self.reconnect_timeout:
                    raise BrokerUnavailableError(
                        f"{exc.message}; gave up reconnecting after {waited:.0f} s"
                    ) from None
                log.info("reconnect to %s failed (%s)", self.broker.display, exc.message)
                stop.wait(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 5.0)
                continue
            self.reconnects += 1
            log.warning("reconnected to %s", self.broker.display)
            return True
        return False

    # -- batches ------------------------------------------------------------------------------

    def next_batch(
        self,
        max_rows: int,
        max_bytes: int,
        flush_interval: float,
        stop: threading.Event,
        *,
        idle_timeout: float | None = None,
    ) -> list[Delivery]:
        """The next batch: blocks until ``max_rows`` messages or ``max_bytes`` of bodies are
        in hand, or ``flush_interval`` seconds passed since its first message came, or
        ``stop`` is set (then returns what is in hand, maybe nothing).  With
        ``idle_timeout``, returns an empty batch when no message came in that many seconds.

        Reconnects when the connection is lost, dropping the part-filled batch (the broker
        delivers those messages again).  Raises :class:`BrokerError` for what a reconnect
        cannot mend (the queue deleted, a login refused).
        """
        if max_rows < 1 or max_bytes < 1:
            raise ValueError("a batch needs max_rows >= 1 and max_bytes >= 1")
        if self._conn is None or self._closed:
            raise RuntimeError("QueueConsumer.next_batch needs a connected consumer, not closed")
        idle_until = None if idle_timeout is None else time.monotonic() + idle_timeout
        while True:
            batch, conn = self._fill(max_rows, max_bytes, flush_interval, stop, idle_until)
            if not batch:
                return batch
            with self._lock:
                if self._conn is conn and conn.error is None:
                    self._handed_out = batch[-1][1]
                    return batch
            # lost just after the take: the broker delivers these again; fill a new batch

    def _fill(
        self,
        max_rows: int,
        max_bytes: int,
        flush_interval: float,
        stop: threading.Event,
        idle_until: float | None,
    ) -> tuple[list[Delivery], Consumption]:
        batch: list[Delivery] = []
        nbytes = 0
        deadline = 0.0
        conn = self._conn
        assert conn is not None
        while not stop.is_set() and not self._closed:
            conn = self._conn
            assert conn is not None
            if conn.error is not None:
                if not conn.error.transient:
                    raise BrokerError(conn.error.message, hint=conn.error.hint)
                batch, nbytes = [], 0
                if not self._reconnect(stop):
                    break
                continue
            if batch:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                lack = max_rows - len(batch)
                got, size = conn.take(lack, max_bytes - nbytes, min(wait, _POLL), min_rows=lack)
                batch += got
            else:
                batch, size = conn.take(max_rows, max_bytes, _POLL)
                if batch:
                    deadline = time.monotonic() + flush_interval
                elif idle_until is not None and time.monotonic() >= idle_until:
                    break
            nbytes += size
            if len(batch) >= max_rows or nbytes >= max_bytes:
                break
        return batch, conn

    def ack_through(self, delivery_tag: int) -> None:
        """Ack every message handed out up to ``delivery_tag``: one multiple-ack.

        Thread-safe.  Acking a tag already acked does nothing.  Raises
        :class:`StaleDeliveryError` when the tag belongs to a lost connection and was not
        acked before the loss (the broker delivers those messages again), and ValueError for
        a tag not handed out yet.
        """
        with self._lock:
            if delivery_tag <= self._acked:
                return
            if delivery_tag <= self._offset:
                raise self._stale()
            if delivery_tag > self._handed_out:
                raise ValueError(
                    f"cannot ack delivery {delivery_tag}: only {self._handed_out} handed out"
                )
            conn = self._conn
            if conn is None or conn.error is not None:
                raise self._stale()
            # the broker refuses a multiple-ack naming a tag already acked alone (dead
            # letters): name the highest tag not acked yet, if any
            through = delivery_tag
            while through > self._acked and through in self._acked_alone:
                through -= 1
            try:
                if through > self._acked and through > self._offset:
                    conn.ack(through, True)
            except BrokerUnavailableError:
                raise self._stale() from None
            self._acked = delivery_tag
            self._acked_alone = {t for t in self._acked_alone if t > delivery_tag}

    def _stale(self) -> StaleDeliveryError:
        return StaleDeliveryError(
            "the connection that delivered these messages was lost; RabbitMQ delivers them again"
        )

    def dead_letter(self, items: Iterable[DeadLetter], *, timeout: float = 30.0) -> None:
        """Publish each message to the dead-letter queue (see :meth:`publish_dead_letters`),
        then ack each message alone.

        Raises :class:`StaleDeliveryError` (nothing published) when the deliveries belong to
        a lost connection, :class:`BrokerError` when the broker refused a publish, and
        :class:`BrokerUnavailableError` when publishing failed twice; then nothing is acked.
        """
        items = list(items)
        if not items:
            return
        with self._dl_lock:
            with self._lock:
                conn, offset = self._conn, self._offset
                for item in items:
                    tag = item.delivery[1]
                    if tag > self._handed_out:
                        raise ValueError(f"cannot dead-letter delivery {tag}: not handed out")
                    if tag <= self._acked or tag in self._acked_alone:
                        raise ValueError(f"delivery {tag} is already acked")
                    if tag <= offset:
                        raise self._stale()
            if conn is None or conn.error is not None:
                raise self._stale()
            try:
                self._publish_confirmed(items, timeout)
            except BrokerUnavailableError:
                if conn.error is not None:  # the broker is gone: the deliveries are void
                    raise self._stale() from None
                raise
            with self._lock:
                if self._conn is not conn:
                    raise self._stale()
                try:
                    for item in items:
                        tag = item.delivery[1]
                        if tag > self._acked and tag not in self._acked_alone:
                            conn.ack(tag, False)
                            self._acked_alone.add(tag)
                except BrokerUnavailableError:
                    raise self._stale() from None

    def publish_dead_letters(self, items: Iterable[DeadLetter], *, timeout: float = 30.0) -> None:
        """Publish each message to the dead-letter queue (as
        :func:`~chute.amqp.dead_letters.dead_letter_messages` makes it) and wait for the
        broker's confirms; ack nothing (the caller acks them with their batch, after its
        commit).  They go through a publisher of their own, opened on first use, which does
        not depend on the consumer's connection: dead letters can be published for
        deliveries whose connection is lost.

        Raises :class:`BrokerError` when the broker refused a publish and
        :class:`BrokerUnavailableError` when publishing failed twice.
        """
        items = list(items)
        if items:
            with self._dl_lock:
                self._publish_confirmed(items, timeout)

    def _publish_confirmed(self, items: list[DeadLetter], timeout: float) -> None:
        messages = dead_letter_messages(items, self.queue)
        try:
            self._publish_dead_letters(messages, timeout)
        except BrokerUnavailableError as exc:  # once more, on a new connection
            log.warning("publishing dead letters failed (%s); trying again", exc.message)
            self._publish_dead_letters(messages, timeout)

    def _publish_dead_letters(self, messages: list[Outgoing], timeout: float) -> None:
        """Publish on the publishing connection (opened on first use) and wait for confirms.

        Dead letters go through a connection of their own: RabbitMQ blocks a connection that
        publishes during a memory or disk alarm, and the consumer's acks must still flow.
        """
        publisher = self._publisher
        if publisher is None or publisher.error is not None:
            if publisher is not None:
                publisher.close()
            self._publisher = None
            publisher = self.broker.publisher(name=f"{self.name} (dead letters)")
            self._publisher = publisher
        try:
            publisher.publish(
                self.dead_letter_queue, messages, window=max(1, len(messages)), timeout=timeout
            )
        except BrokerError:  # a try after this one starts on a new connection: a late
            publisher.close()  # confirm, nack or return of this one cannot count there
            self._publisher = None
            raise

    def depth(self) -> int | None:
        """Messages ready in the queue (the broker's latest answer to a passive declare on
        a channel of its own, asked again in the background), or None when the broker
        cannot be asked.  Thread-safe and never waits; for status lines."""
        conn = self._conn
        if conn is None or conn.error is not None:
            return None
        return conn.depth()

    def buffered(self) -> int:
        """Messages received from the broker and not yet handed out."""
        conn = self._conn
        return conn.buffered() if conn is not None else 0

    def close(self) -> None:
        """Close the connection; the broker puts unacked messages back in the queue."""
        self._closed = True
        for conn in (self._publisher, self._conn):
            if conn is not None:
                conn.close()


def check_queue_name(name: str) -> None:
    if not name or len(name.encode()) > 255:
        raise ConfigError(f"a queue name has 1 to 255 bytes: {name[:60]!r}")
