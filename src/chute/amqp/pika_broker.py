"""The :class:`~chute.amqp.broker.Broker` on pika: RabbitMQ over AMQP 0-9-1, plain or TLS.

Each consumption and each publisher is a connection of its own (:class:`~chute.amqp.pika_link.Link`,
pika's ``SelectConnection`` in a thread).  Deliveries are kept in a buffer the loop fills
(at most ``prefetch``: the broker sends no more until some are acked) and the engine's reader
thread empties in bulk; acks are handed to the loop, which sends them at once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pika
import pika.channel
import pika.spec

from chute.amqp._errors import BrokerError, BrokerUnavailableError, QueueNotFoundError
from chute.amqp._params import AmqpParams
from chute.amqp.broker import Delivery
from chute.amqp.pika_link import Channel, ChannelClosedError, Link
from chute.amqp.pika_publisher import PikaPublisher, declare_if_missing


class PikaBroker:
    """RabbitMQ at ``params`` (see :func:`chute.amqp.parse_url`)."""

    def __init__(self, params: AmqpParams) -> None:
        self.params = params
        self.display = params.display

    def __repr__(self) -> str:
        return f"PikaBroker({self.display!r})"

    def consume(
        self,
        queue: str,
        *,
        prefetch: int,
        qos_global: bool,
        dead_letter_queue: str,
        tag_offset: int,
        name: str,
    ) -> PikaConsumption:
        consumption = PikaConsumption(self.params, queue, tag_offset, name)
        consumption.start(prefetch, qos_global, dead_letter_queue)
        return consumption

    def publisher(self, *, name: str) -> PikaPublisher:
        publisher = PikaPublisher(self.params, name)
        publisher.start()
        return publisher


class PikaConsumption:
    """One connection consuming one queue (see :class:`~chute.amqp.broker.Consumption`)."""

    def __init__(self, params: AmqpParams, queue: str, tag_offset: int, name: str) -> None:
        self.queue = queue
        self.message_count = 0
        self.link = Link(params, name, on_lost=self._on_lost)
        self._offset = tag_offset
        self._cv = threading.Condition()
        self._buf: deque[Delivery] = deque()
        self._bytes_in = self._bytes_out = 0  # of the bodies put in the buffer, taken out
        self._waiting = False
        self._want_rows, self._want_bytes = 1, 1  # what wakes a waiting taker
        self._last = 0
        self._error: BrokerError | None = None
        self._chan: Channel | None = None
        self._depth: int | None = None  # the broker's last answer
        self._asking = False  # a question for the depth is on its way
        self._status: pika.channel.Channel | None = None  # the channel it is asked on

    def start(self, prefetch: int, qos_global: bool, dead_letter_queue: str) -> None:
        link = self.link
        link.open()
        try:
            chan = link.channel()
            try:
                ok = chan.rpc(
                    lambda ch, done: ch.queue_declare(self.queue, passive=True, callback=done)
                )
            except ChannelClosedError as exc:
                if exc.code == 404:
                    raise QueueNotFoundError(
                        f"queue {self.queue!r} does not exist on {link.params.display}",
                        hint="check its name; chute publish declares a queue it publishes to",
                    ) from None
                raise BrokerError(f"cannot use queue {self.queue!r}: {exc}") from None
            self.message_count = self._depth = int(ok.method.message_count or 0)
            declare_if_missing(link, dead_letter_queue)

            def consume(ch: pika.channel.Channel, done: Callable[[Any], None]) -> None:
                ch.add_on_cancel_callback(self._on_cancel)
                ch.basic_consume(self.queue, self._on_message, callback=done)

            try:
                chan.rpc(
                    lambda ch, done: ch.basic_qos(
                        prefetch_count=prefetch, global_qos=qos_global, callback=done
                    )
                )
                chan.on_close = self._on_channel_closed
                chan.rpc(consume)
            except ChannelClosedError as exc:  # 403: consumed exclusively by another
                raise BrokerError(f"cannot consume queue {self.queue!r}: {exc}") from None
            self._chan = chan
        except BaseException:
            link.close(timeout=1.0)
            raise

    # -- in the loop's thread -----------------------------------------------------------------

    def _on_message(
        self, _ch: Any, method: pika.spec.Basic.Deliver, props: pika.BasicProperties, body: bytes
    ) -> None:
        tag = method.delivery_tag
        delivery = Delivery(
            body, tag + self._offset, props.message_id, method.redelivered, vars(props)
        )
        # no lock per message: the loop alone appends and counts bytes in, the taker alone
        # pops and counts bytes out; a waiting taker is woken once what it asked for is here
        self._buf.append(delivery)
        self._bytes_in += len(body)
        self._last = tag
        if self._waiting and (
            len(self._buf) >= self._want_rows
            or self._bytes_in - self._bytes_out >= self._want_bytes
        ):
            with self._cv:
                self._cv.notify()

    def _on_cancel(self, _frame: Any) -> None:
        self._fail(
            BrokerUnavailableError("RabbitMQ cancelled the consumer (was the queue deleted?)")
        )

    def _on_channel_closed(self, exc: ChannelClosedError) -> None:
        # deliveries stop and the unacked messages go back to the queue: a new connection
        # mends it (a consumer ack timeout, an ack of an unknown tag)
        self._fail(BrokerUnavailableError(f"RabbitMQ closed the consuming channel: {exc}"))

    def _on_lost(self, error: BrokerError) -> None:
        self._fail(error)

    def _fail(self, error: BrokerError) -> None:
        with self._cv:
            if self._error is None:
                self._error = error
            self._cv.notify_all()

    # -- in any thread ------------------------------------------------------------------------

    @property
    def error(self) -> BrokerError | None:
        return self._error

    @property
    def last_tag(self) -> int:
        return self._last

    def take(
        self, max_rows: int, max_bytes: int, timeout: float, min_rows: int = 1
    ) -> tuple[list[Delivery], int]:
        out: list[Delivery] = []
        size = 0
        with self._cv:
            buf = self._buf
            want = min(min_rows, max_rows)
            self._want_rows, self._want_bytes = want, max_bytes
            self._waiting = True  # before looking: a message after the look wakes the wait
            if (
                timeout > 0
                and self._error is None
                and len(buf) < want
                and self._bytes_in - self._bytes_out < max_bytes
            ):
                self._cv.wait(timeout)
            self._waiting = False
            pop = buf.popleft
            while buf and len(out) < max_rows and size < max_bytes:
                delivery = pop()
                out.append(delivery)
                size += len(delivery.body)
            self._bytes_out += size
        return out, size

    def ack(self, delivery_tag: int, multiple: bool) -> None:
        """Send the ack, and return once it is written to the socket: a process killed
        after ``ack`` returns has acked (as the broker sees it once the bytes arrive)."""
        if self._error is not None:
            raise self._error
        chan = self._chan
        assert chan is not None and chan.ch is not None
        ch, tag = chan.ch, delivery_tag - self._offset

        def send(fut: Future[Any]) -> None:
            if not ch.is_open:  # the broker delivers them again
                raise BrokerUnavailableError("the consuming channel is closed")
            ch.basic_ack(tag, multiple)
            # pika writes the frame when the socket is writable, in the loop's next turn;
            # a callback added now runs after that turn's writing (pika runs callbacks
            # added during a turn in the next one)
            self.link.connection.ioloop.add_callback_threadsafe(lambda: _settle(fut))

        self.link.call(send)

    def depth(self) -> int | None:
        """The broker's last answer, and a new question sent: never waits (the writer
        calls it between commits, several times a second)."""
        if self._error is not None:
            return None
        if not self._asking:
            self._asking = True
            try:
                self.link.post(self._ask_depth)
            except BrokerError:
                return None
        return self._depth

    def _ask_depth(self) -> None:  # in the loop's thread
        def answered(frame: Any) -> None:
            self._depth = int(frame.method.message_count or 0)
            self._asking = False

        def ask(ch: pika.channel.Channel) -> None:
            self._status = ch
            ch.queue_declare(self.queue, passive=True, callback=answered)

        def closed(_ch: Any, _reason: BaseException) -> None:  # a 404: the queue is gone
            self._status, self._depth, self._asking = None, None, False

        def opened(ch: pika.channel.Channel) -> None:
            ch.add_on_close_callback(closed)
            ask(ch)

        ch = self._status
        if ch is not None and ch.is_open:
            ask(ch)
        elif self.link.connection.is_open:  # not closing
            self.link.connection.channel(on_open_callback=opened)
        else:
            self._asking = False

    def buffered(self) -> int:
        return len(self._buf)

    def close(self) -> None:
        self._fail(BrokerUnavailableError("the connection was closed"))  # wakes a taker
        self.link.close()


def _settle(fut: Future[Any]) -> None:
    if not fut.done():
        fut.set_result(None)
