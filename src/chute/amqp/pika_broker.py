"""The :class:`~chute.amqp.broker.Broker` on pika: RabbitMQ over AMQP 0-9-1, plain or TLS.

Each consumption and each publisher is a connection of its own (:class:`~chute.amqp.pika_link.Link`,
pika's ``SelectConnection`` in a thread).  Deliveries are kept in a buffer the loop fills
(at most ``prefetch``: the broker sends no more until some are acked) and the engine's reader
thread empties in bulk; acks are handed to the loop, which sends them at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import pika
import pika.channel
import pika.spec

from chute.amqp._errors import BrokerError, BrokerUnavailableError, QueueNotFoundError
from chute.amqp._params import AmqpParams
from chute.amqp.broker import Delivery, Outgoing
from chute.amqp.pika_link import Channel, ChannelClosedError, Link

#: a publisher's connection the broker blocks (a memory or disk alarm) longer than this is
#: given up, so that no publish waits on it for ever
BLOCKED_TIMEOUT = 60.0
_PUBLISH_STEP = 500  # messages handed to the loop at once
_PUBLISH_BYTES = 1 << 18


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
        if self._error is not None:
            raise self._error
        chan = self._chan
        assert chan is not None and chan.ch is not None
        ch, tag = chan.ch, delivery_tag - self._offset

        def send() -> None:
            if ch.is_open:  # else the channel is gone: the broker delivers them again
                ch.basic_ack(tag, multiple)

        self.link.post(send)

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


class PikaPublisher:
    """A connection that publishes with confirms (see :class:`~chute.amqp.broker.Publisher`)."""

    def __init__(self, params: AmqpParams, name: str) -> None:
        self.link = Link(params, name, blocked_timeout=BLOCKED_TIMEOUT)
        self._cv = threading.Condition()
        self._chan: Channel | None = None
        self._published = 0  # messages handed to the loop (their publish tags are 1..this)
        self._settled = 0  # confirmed or nacked
        self._floor = 0  # every tag up to this is settled
        self._above: set[int] = set()  # tags above the floor settled alone
        self._nacked = 0
        self._returned: list[str] = []

    def start(self) -> None:
        self.link.open()
        try:
            chan = self.link.channel()

            def select(ch: pika.channel.Channel, done: Callable[[Any], None]) -> None:
                ch.add_on_return_callback(self._on_return)
                ch.confirm_delivery(self._on_confirm, callback=done)

            chan.rpc(select)
            self._chan = chan
        except BaseException:
            self.link.close(timeout=1.0)
            raise

    @property
    def error(self) -> BrokerError | None:
        chan = self._chan
        if self.link.error is None and chan is not None and chan.closed is not None:
            # a refusal of what was published (403 access refused, 406 a user_id not the
            # login's, a message too large): the same messages would be refused again
            refused = chan.closed.code in (403, 406)
            kind = BrokerError if refused else BrokerUnavailableError
            return kind(f"RabbitMQ closed the publishing channel: {chan.closed}")
        return self.link.error

    def declare(self, queue: str) -> int:
        return declare_if_missing(self.link, queue)

    # -- in the loop's thread -----------------------------------------------------------------

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag, multiple = method.delivery_tag, method.multiple
        with self._cv:
            if multiple and tag > self._floor:
                below = {t for t in self._above if t <= tag}
                newly = tag - self._floor - len(below)
                self._above -= below
                self._floor = tag
            elif not multiple and tag > self._floor and tag not in self._above:
                self._above.add(tag)
                newly = 1
                while self._floor + 1 in self._above:  # settled one by one: move the floor
                    self._floor += 1
                    self._above.discard(self._floor)
            else:
                newly = 0
            self._settled += newly
            if isinstance(method, pika.spec.Basic.Nack):
                self._nacked += newly
            self._cv.notify_all()

    def _on_return(self, _ch: Any, method: Any, _props: Any, _body: bytes) -> None:
        with self._cv:
            self._returned.append(f"{method.reply_text} ({method.reply_code})")

    # -- in the caller's thread ---------------------------------------------------------------

    def publish(
        self, queue: str, messages: Iterable[Outgoing], *, window: int, timeout: float
    ) -> int:
        error = self.error
        if error is not None:
            raise error
        nacked, returned = self._nacked, len(self._returned)
        make = pika.BasicProperties
        chunk: list[tuple[bytes, pika.BasicProperties]] = []
        size = count = 0
        step = max(1, min(window // 2, _PUBLISH_STEP))
        for message in messages:
            chunk.append((message.body, make(**message.properties)))
            size += len(message.body)
            if len(chunk) >= step or size >= _PUBLISH_BYTES:
                count += self._send(queue, chunk, window, timeout)
                chunk, size = [], 0
        if chunk:
            count += self._send(queue, chunk, window, timeout)
        self._wait_settled(self._published, timeout)
        with self._cv:
            refused = self._nacked - nacked
            returns = self._returned[returned:]
        if refused:
            raise BrokerError(f"RabbitMQ refused {refused} message(s) for queue {queue!r} (nack)")
        if returns:
            raise BrokerError(
                f"RabbitMQ could not route {len(returns)} message(s) to queue {queue!r}: "
                f"{returns[0]} (was the queue deleted?)"
            )
        return count

    def _send(
        self, queue: str, chunk: list[tuple[bytes, pika.BasicProperties]], window: int,
        timeout: float,
    ) -> int:  # fmt: skip
        self._wait_settled(self._published + len(chunk) - window, timeout)
        chan = self._chan
        assert chan is not None and chan.ch is not None
        ch = chan.ch

        def send() -> None:
            if not ch.is_open:  # closed by the broker: error says why, and no confirm comes
                return
            publish = ch.basic_publish
            for body, props in chunk:
                publish("", queue, body, props, mandatory=True)

        self.link.post(send)
        with self._cv:
            self._published += len(chunk)
        return len(chunk)

    def _wait_settled(self, upto: int, timeout: float) -> None:
        """Wait until every message up to the ``upto``-th is confirmed (or nacked)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._settled < upto:
                error = self.error
                if error is not None:
                    raise error
                left = deadline - time.monotonic()
                if left <= 0:
                    blocked = self.link.blocked
                    raise BrokerUnavailableError(
                        f"RabbitMQ confirmed {self._settled:,} of {upto:,} messages in "
                        f"{timeout:g} s"
                        + (f": it blocks publishing ({blocked})" if blocked else "")
                    )
                self._cv.wait(min(left, 0.25))

    def close(self) -> None:
        self.link.close()


def declare_if_missing(link: Link, queue: str) -> int:
    """Passive-declare ``queue`` (leaving its arguments alone); declare it durable when
    missing.  The count of messages in it.  Uses channels of its own: a 404 closes one."""
    chan = link.channel()
    try:
        ok = chan.rpc(lambda ch, done: ch.queue_declare(queue, passive=True, callback=done))
    except ChannelClosedError as exc:
        if exc.code != 404:
            raise BrokerError(f"cannot use queue {queue!r}: {exc}") from None
        chan = link.channel()
        try:
            ok = chan.rpc(lambda ch, done: ch.queue_declare(queue, durable=True, callback=done))
        except ChannelClosedError as exc:  # 403: a reserved name (amq.*), no permission
            raise BrokerError(f"cannot declare queue {queue!r}: {exc}") from None
    _close_channel(link, chan)
    return int(ok.method.message_count or 0)


def _close_channel(link: Link, chan: Channel) -> None:
    ch = chan.ch
    if ch is not None and chan.closed is None:
        link.post(lambda: ch.close() if ch.is_open else None)
