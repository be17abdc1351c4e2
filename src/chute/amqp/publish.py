"""Publish records to a queue as JSON messages, with publisher confirms."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import orjson

from chute.amqp._params import parse_url
from chute.amqp.broker import Broker, Outgoing
from chute.amqp.consumer import check_queue_name
from chute.amqp.pika_broker import PikaBroker
from chute.errors import ConfigError

_I64, _U64 = -(1 << 63), 1 << 64  # the integers orjson writes itself


def message_id_prefix(source: str) -> str:
    """The start of the message ids of ``source``'s records (``<prefix>:<record number>``):
    the source's name, or a digest of it when the name is too long for an AMQP short string."""
    if len(source.encode()) <= 200:
        return source
    return "sha256-" + hashlib.sha256(source.encode()).hexdigest()[:32]


def publish_records(
    records: Iterable[Mapping[str, Any] | bytes],
    url: str,
    queue: str,
    *,
    source: str = "chute",
    first: int = 1,
    window: int = 2_000,
    declare: bool = True,
    confirm_timeout: float = 60.0,
    broker: Broker | None = None,
) -> int:
    """Publish each record as one persistent JSON message to ``queue``; the count published.

    A record is a mapping (encoded with orjson; integers beyond 64 bits and Decimals as the
    exact numbers they are, other values JSON cannot hold as strings) or bytes (sent as
    they are).  Each message has ``content_type`` ``application/json``,
    ``delivery_mode`` 2 and ``message_id`` ``<source>:<n>``, ``n`` counting from ``first``:
    a second publish of the same file gives the same ids, which a consumer's ledger
    recognises.  The queue is declared (durable) when missing, unless ``declare`` is False.

    Up to ``window`` messages wait for the broker's confirm at once; the function returns
    when every message is confirmed, and raises :class:`BrokerError` when one was refused
    (nacked, or unroutable: the queue was deleted) and :class:`BrokerUnavailableError` when
    the connection is lost (messages before it may have been stored: publish again, their
    ids are the same).  ``broker`` replaces RabbitMQ at ``url`` (tests give a
    :class:`~chute.amqp.memory.MemoryBroker`).
    """
    check_queue_name(queue)
    if window < 1:
        raise ConfigError(f"the confirm window must be at least 1, not {window}")
    if broker is None:
        broker = PikaBroker(parse_url(url))
    publisher = broker.publisher(name="chute publish")
    try:
        if declare:
            publisher.declare(queue)
        messages = _messages(records, message_id_prefix(source), first)
        return publisher.publish(queue, messages, window=window, timeout=confirm_timeout)
    finally:
        publisher.close()


def _messages(
    records: Iterable[Mapping[str, Any] | bytes], prefix: str, first: int
) -> Iterator[Outgoing]:
    dumps = orjson.dumps
    option = orjson.OPT_NON_STR_KEYS
    for n, record in enumerate(records, first):
        if isinstance(record, bytes):
            body = record
        else:
            try:
                body = dumps(record, default=_default, option=option)
            except TypeError:  # an integer beyond 64 bits, which orjson cannot write
                body = dumps(_exact_ints(record), default=_default, option=option)
        yield Outgoing(
            body,
            {"content_type": "application/json", "delivery_mode": 2, "message_id": f"{prefix}:{n}"},
        )


def _default(value: Any) -> Any:
    """What orjson cannot write itself: a finite Decimal as the exact number it is, any
    other value as its text."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value).encode())
    return str(value)


def _exact_ints(value: Any) -> Any:
    """``value`` with every integer beyond 64 bits as a JSON fragment of its digits, so that
    it is sent as the number it is (not a float, not a string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return orjson.Fragment(str(value).encode()) if not _I64 <= value < _U64 else value
    if isinstance(value, Mapping):
        return {k: _exact_ints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact_ints(v) for v in value]
    return value
