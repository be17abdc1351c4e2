"""What chute needs of a message broker, whatever client speaks to it.

:class:`~chute.amqp.consumer.QueueConsumer` and :func:`~chute.amqp.publish.publish_records`
are written against these protocols; :mod:`chute.amqp.pika_broker` implements them on pika
(RabbitMQ, AMQP 0-9-1), :mod:`chute.amqp.memory` in memory for fast tests of the logic
above them.

A :class:`Broker` opens a :class:`Consumption` (one connection consuming one queue; its
deliveries are acked through it and die with it) and a :class:`Publisher` (a connection
that publishes with the broker's confirms).  Errors are chute's
(:mod:`chute.amqp._errors`): :class:`~chute.amqp.BrokerUnavailableError` for a connection
that could not be made or was lost, :class:`~chute.amqp.BrokerError` for a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from chute.amqp._errors import BrokerError


class Delivery(NamedTuple):
    """One message as received: built once per message, so kept to a tuple."""

    #: the message body, as sent
    body: bytes
    #: the consumer's own delivery number: increasing for the consumer's life, across
    #: reconnects (the broker's tags restart on each connection)
    delivery_tag: int
    #: the ``message_id`` property, or None
    message_id: str | None
    #: the broker delivered this message before (to this or another consumer)
    redelivered: bool
    #: the message's properties as received, by their AMQP names (``content_type``,
    #: ``headers``, ``delivery_mode``, ...); those not sent are None or missing
    properties: Mapping[str, Any]

    @property
    def headers(self) -> dict[str, Any]:
        """The message's headers table (empty when it has none)."""
        return dict(self.properties.get("headers") or {})


class Outgoing(NamedTuple):
    """A message to publish: its body and its properties by their AMQP names."""

    body: bytes
    properties: Mapping[str, Any]


class Consumption(Protocol):
    """One connection consuming one queue.  Thread-safe: one thread takes deliveries while
    others ack them and ask for the depth."""

    #: messages ready in the queue when the consumption started
    message_count: int

    def take(
        self, max_rows: int, max_bytes: int, timeout: float, min_rows: int = 1
    ) -> tuple[list[Delivery], int]:
        """Up to ``max_rows`` deliveries and about ``max_bytes`` of bodies (at least one
        delivery when any is there), with their bodies' size.  Waits at most ``timeout`` s
        for ``min_rows`` deliveries or ``max_bytes`` to be there, then takes what is there
        (maybe nothing; also when the connection is lost).  A taker filling a batch asks
        for what the batch lacks: it is then woken once, not for each message."""
        ...

    def ack(self, delivery_tag: int, multiple: bool) -> None:
        """Ack one delivery, or every one up to it.  Raises
        :class:`~chute.amqp.BrokerUnavailableError` when the connection is lost."""
        ...

    @property
    def error(self) -> BrokerError | None:
        """Why the connection is gone (``transient`` when a new one may mend it), or None."""
        ...

    @property
    def last_tag(self) -> int:
        """The highest delivery tag received so far (0 before the first)."""
        ...

    def depth(self) -> int | None:
        """Messages ready in the queue: the broker's latest answer, asked again in the
        background (it never waits), or None when the broker cannot be asked."""
        ...

    def buffered(self) -> int:
        """Deliveries received and not yet taken."""
        ...

    def close(self) -> None:
        """Close the connection: the broker puts the unacked messages back in the queue."""
        ...


class Publisher(Protocol):
    """A connection that publishes to queues (through the default exchange) with confirms."""

    def declare(self, queue: str) -> int:
        """Make sure ``queue`` exists: left as it is when it does (a passive declare),
        declared durable when it does not.  The count of messages in it."""
        ...

    def publish(
        self, queue: str, messages: Iterable[Outgoing], *, window: int, timeout: float
    ) -> int:
        """Publish each message (mandatory) and wait for the broker's confirms, with at most
        ``window`` unconfirmed at once; the count published.  Raises
        :class:`~chute.amqp.BrokerError` when one was nacked or could not be routed, and
        :class:`~chute.amqp.BrokerUnavailableError` when the connection was lost, blocked
        by the broker, or no confirm came in ``timeout`` s (messages before it may have been
        stored)."""
        ...

    @property
    def error(self) -> BrokerError | None:
        """Why the connection is gone, or None while it can publish."""
        ...

    def close(self) -> None: ...


class Broker(Protocol):
    """Where the messages are: opens consumptions and publishers."""

    #: the broker's address without secrets, for messages
    display: str

    def consume(
        self,
        queue: str,
        *,
        prefetch: int,
        qos_global: bool,
        dead_letter_queue: str,
        tag_offset: int,
        name: str,
    ) -> Consumption:
        """Connect and consume ``queue``: it must exist
        (:class:`~chute.amqp.QueueNotFoundError`); ``dead_letter_queue`` is declared durable
        when missing; at most ``prefetch`` deliveries unacked (for the consumer, or the
        channel with ``qos_global``).  Delivery tags are the broker's plus ``tag_offset``,
        and so are the tags given to :meth:`Consumption.ack`.  ``name`` names the
        connection on the broker."""
        ...

    def publisher(self, *, name: str) -> Publisher:
        """Connect a publisher (with confirms); ``name`` names the connection."""
        ...
