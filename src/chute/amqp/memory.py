"""A broker in memory, for fast tests of what is built on :mod:`chute.amqp.broker`.

It keeps RabbitMQ's rules that the consumer logic relies on: at most ``prefetch`` deliveries
unacked per consumption; delivery tags from 1 on each connection; a multiple-ack settles
every unacked tag up to its own; an ack of a tag that is not unacked closes the channel
(RabbitMQ's ``406 PRECONDITION_FAILED - unknown delivery tag``), so a double ack is seen; a
lost connection puts its unacked messages back at the head of the queue, redelivered.
Publishing confirms each message, or nacks it when told to; a message to a missing queue
is returned (unroutable).

::

    broker = MemoryBroker()
    broker.declare("orders")
    broker.put("orders", b'{"id": 1}', message_id="m1")
    with QueueConsumer("amqp://memory/", "orders", broker=broker) as consumer: ...
    broker.cut()                      # every connection lost, as in a broker restart
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from chute.amqp._errors import BrokerError, BrokerUnavailableError, QueueNotFoundError
from chute.amqp.broker import Delivery, Outgoing


class Message(NamedTuple):
    body: bytes
    properties: Mapping[str, Any]
    redelivered: bool = False


class MemoryBroker:
    """Queues of messages in memory; thread-safe."""

    display = "memory://"

    def __init__(self) -> None:
        self.queues: dict[str, deque[Message]] = {}
        #: while True, connecting fails as with a broker that is down
        self.down = False
        #: the next this many published messages are nacked
        self.nack_next = 0
        self.connections_made = 0
        self._cv = threading.Condition()
        self._open: list[MemoryConsumption | MemoryPublisher] = []

    def declare(self, queue: str) -> None:
        with self._cv:
            self.queues.setdefault(queue, deque())

    def delete(self, queue: str) -> None:
        """Delete a queue: its consumers are cancelled (their connections stay)."""
        with self._cv:
            self.queues.pop(queue, None)
            for conn in self._open:
                if isinstance(conn, MemoryConsumption) and conn.queue == queue:
                    conn.fail(BrokerUnavailableError("RabbitMQ cancelled the consumer"))
            self._cv.notify_all()

    def put(self, queue: str, body: bytes, **properties: Any) -> None:
        with self._cv:
            self.queues[queue].append(Message(body, properties))
            self._cv.notify_all()

    def messages(self, queue: str) -> list[Message]:
        """The messages ready in ``queue`` (not those delivered and unacked)."""
        with self._cv:
            return list(self.queues[queue])

    def cut(self) -> None:
        """Lose every open connection, as a broker restart does."""
        with self._cv:
            conns, self._open = self._open, []
        for conn in conns:
            conn.fail(BrokerUnavailableError("the connection to RabbitMQ was lost (cut)"))

    def _connect(self, conn: MemoryConsumption | MemoryPublisher) -> None:
        with self._cv:
            if self.down:
                raise BrokerUnavailableError(f"cannot connect to {self.display}: it is down")
            self.connections_made += 1
            self._open.append(conn)

    def consume(
        self,
        queue: str,
        *,
        prefetch: int,
        qos_global: bool,
        dead_letter_queue: str,
        tag_offset: int,
        name: str,
    ) -> MemoryConsumption:
        conn = MemoryConsumption(self, queue, prefetch, tag_offset)
        self._connect(conn)
        with self._cv:
            if queue not in self.queues:
                self._open.remove(conn)
                raise QueueNotFoundError(f"queue {queue!r} does not exist on {self.display}")
            self.queues.setdefault(dead_letter_queue, deque())
            conn.message_count = len(self.queues[queue])
        return conn

    def publisher(self, *, name: str) -> MemoryPublisher:
        publisher = MemoryPublisher(self)
        self._connect(publisher)
        return publisher


class MemoryConsumption:
    """One consumer of a :class:`MemoryBroker` queue (a :class:`~chute.amqp.Consumption`)."""

    def __init__(self, broker: MemoryBroker, queue: str, prefetch: int, tag_offset: int) -> None:
        self.broker = broker
        self.queue = queue
        self.message_count = 0
        self.prefetch = prefetch
        self.offset = tag_offset
        self.unacked: dict[int, Message] = {}  # broker tag -> message, in delivery order
        #: every ack received: (broker tag, multiple)
        self.acks: list[tuple[int, bool]] = []
        self._last = 0
        self._error: BrokerError | None = None

    @property
    def error(self) -> BrokerError | None:
        return self._error

    @property
    def last_tag(self) -> int:
        return self._last

    def take(
        self, max_rows: int, max_bytes: int, timeout: float, min_rows: int = 1
    ) -> tuple[list[Delivery], int]:
        cv = self.broker._cv
        deadline = time.monotonic() + timeout
        out: list[Delivery] = []
        size = 0
        with cv:
            while self._error is None:
                source = self.broker.queues.get(self.queue)
                room = self.prefetch - len(self.unacked)
                if source and room > 0 and len(source) >= min(min_rows, room, max_rows):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return out, size
                cv.wait(left)
            else:
                return out, size
            while source and len(out) < max_rows and size < max_bytes:
                if len(self.unacked) >= self.prefetch:
                    break
                message = source.popleft()
                self._last += 1
                self.unacked[self._last] = message
                props = dict(message.properties)
                out.append(
                    Delivery(
                        message.body,
                        self._last + self.offset,
                        props.get("message_id"),
                        message.redelivered,
                        props,
                    )
                )
                size += len(message.body)
        return out, size

    def ack(self, delivery_tag: int, multiple: bool) -> None:
        tag = delivery_tag - self.offset
        with self.broker._cv:
            if self._error is not None:
                raise self._error
            self.acks.append((tag, multiple))
            if tag not in self.unacked:
                # RabbitMQ closes the channel; its unacked messages go back to the queue
                self._fail_locked(
                    BrokerUnavailableError(
                        "RabbitMQ closed the consuming channel: PRECONDITION_FAILED - unknown "
                        f"delivery tag {tag} (406)"
                    )
                )
                return
            settled = [t for t in self.unacked if t <= tag] if multiple else [tag]
            for t in settled:
                del self.unacked[t]
            self.broker._cv.notify_all()

    def depth(self) -> int | None:
        with self.broker._cv:
            source = self.broker.queues.get(self.queue)
            return None if source is None or self._error else len(source)

    def buffered(self) -> int:
        return 0

    def fail(self, error: BrokerError) -> None:
        with self.broker._cv:
            self._fail_locked(error)

    def _fail_locked(self, error: BrokerError) -> None:
        if self._error is not None:
            return
        self._error = error
        source = self.broker.queues.get(self.queue)
        if source is not None:  # back at the head, in their order, redelivered
            back = [m._replace(redelivered=True) for m in self.unacked.values()]
            source.extendleft(reversed(back))
        self.unacked.clear()
        self.broker._cv.notify_all()

    def close(self) -> None:
        self.fail(BrokerUnavailableError("the connection was closed"))
        with self.broker._cv:
            if self in self.broker._open:
                self.broker._open.remove(self)


class MemoryPublisher:
    """Publishes into a :class:`MemoryBroker`'s queues (a :class:`~chute.amqp.Publisher`)."""

    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker
        self._error: BrokerError | None = None

    @property
    def error(self) -> BrokerError | None:
        return self._error

    def fail(self, error: BrokerError) -> None:
        self._error = error

    def declare(self, queue: str) -> int:
        self.broker.declare(queue)
        return len(self.broker.queues[queue])

    def publish(
        self, queue: str, messages: Iterable[Outgoing], *, window: int, timeout: float
    ) -> int:
        if self._error is not None:
            raise self._error
        count = nacked = returned = 0
        broker = self.broker
        for message in messages:
            count += 1
            with broker._cv:
                if broker.nack_next > 0:
                    broker.nack_next -= 1
                    nacked += 1
                elif queue not in broker.queues:
                    returned += 1
                else:
                    broker.queues[queue].append(Message(message.body, dict(message.properties)))
                    broker._cv.notify_all()
        if nacked:
            raise BrokerError(f"RabbitMQ refused {nacked} message(s) for queue {queue!r} (nack)")
        if returned:
            raise BrokerError(
                f"RabbitMQ could not route {returned} message(s) to queue {queue!r}: NO_ROUTE "
                "(312) (was the queue deleted?)"
            )
        return count

    def close(self) -> None:
        with self.broker._cv:
            if self in self.broker._open:
                self.broker._open.remove(self)
