"""Publishing on pika with the broker's confirms (a :class:`~chute.amqp.broker.Publisher`).

The caller's thread builds the messages' properties and hands them to the connection's loop
in chunks; the loop publishes them (mandatory) and counts the broker's confirms, nacks and
returns; the caller waits while more than ``window`` are unconfirmed, and at the end for all.
A connection the broker blocks (a memory or disk alarm) is given up after
:data:`BLOCKED_TIMEOUT` seconds, and a publish waits at most its ``timeout`` for confirms.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pika
import pika.channel
import pika.spec

from chute.amqp._errors import BrokerError, BrokerUnavailableError
from chute.amqp._params import AmqpParams
from chute.amqp.broker import Outgoing
from chute.amqp.pika_link import Channel, ChannelClosedError, Link

#: a publisher's connection the broker blocks (a memory or disk alarm) longer than this is
#: given up, so that no publish waits on it for ever
BLOCKED_TIMEOUT = 60.0
_PUBLISH_STEP = 500  # messages handed to the loop at once
_PUBLISH_BYTES = 1 << 18


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
