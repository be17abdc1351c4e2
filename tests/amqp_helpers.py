"""RabbitMQ for tests: is it there, drop queues, their depth, publish and read messages."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pika
import pika.exceptions

from chute.amqp import (
    DEAD_LETTER_SUFFIX,
    BrokerError,
    Delivery,
    QueueConsumer,
    parse_url,
    publish_records,
)

AMQP_URL = os.environ.get("CHUTE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PARAMS = parse_url(AMQP_URL)


@contextmanager
def admin() -> Iterator[Any]:
    """A channel of a pika connection of its own, for declares and deletes."""
    conn = pika.BlockingConnection(
        pika.ConnectionParameters(
            PARAMS.host,
            PARAMS.port,
            PARAMS.vhost,
            pika.PlainCredentials(PARAMS.user, PARAMS.password),
            client_properties={"connection_name": "chute tests admin"},
        )
    )
    try:
        yield conn.channel()
    finally:
        if conn.is_open:
            conn.close()


def broker_problem() -> str | None:
    """Why RabbitMQ cannot be used, or None."""
    try:
        with admin():
            pass
    except (BrokerError, OSError, pika.exceptions.AMQPError) as exc:
        return f"RabbitMQ at {PARAMS.display} is not reachable: {exc!r}"
    return None


def delete_queues(*names: str) -> None:
    with admin() as ch:
        for name in names:
            ch.queue_delete(name)


def depth(name: str) -> int:
    """Messages ready in the queue (not counting unacked ones); -1 when it does not exist."""
    try:
        with admin() as ch:
            ok = ch.queue_declare(name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return -1
        raise
    return int(ok.method.message_count or 0)


def wait_depth(name: str, expected: int, timeout: float = 30.0) -> int:
    """The queue's depth once it is ``expected``, or after ``timeout`` (the broker requeues
    a closed consumer's messages asynchronously)."""
    deadline = time.monotonic() + timeout
    found = depth(name)
    while found != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        found = depth(name)
    return found


def publish(name: str, messages: list[Any]) -> None:
    """Publish dicts (as JSON) or raw bytes, in order, with confirms."""
    publish_records(messages, AMQP_URL, name, source=f"test-{name}")


def declare(name: str, arguments: dict[str, Any] | None = None) -> None:
    """Declare a durable queue (with ``arguments``: a length limit, an overflow rule...)."""
    with admin() as ch:
        ch.queue_declare(name, durable=True, arguments=arguments)


def send(name: str, body: bytes, message_id: str | None) -> None:
    """Publish one message with this ``message_id`` (and no other property), confirmed."""
    with admin() as ch:
        ch.confirm_delivery()
        ch.basic_publish(
            "", name, body, pika.BasicProperties(message_id=message_id), mandatory=True
        )


def read_all(name: str, url: str = AMQP_URL, idle: float = 0.5) -> list[Delivery]:
    """Every message of the queue, acked (the dead-letter queue a consumer declares for
    it is deleted after, unless it was there before)."""
    out: list[Delivery] = []
    stop = threading.Event()
    made = depth(name + DEAD_LETTER_SUFFIX) < 0
    try:
        with QueueConsumer(url, name, prefetch=1000) as consumer:
            while batch := consumer.next_batch(1000, 1 << 30, 0.2, stop, idle_timeout=idle):
                out += batch
                consumer.ack_through(batch[-1].delivery_tag)
    finally:
        if made:
            delete_queues(name + DEAD_LETTER_SUFFIX)
    return out


def records_of(deliveries: list[Delivery]) -> list[Any]:
    return [orjson.loads(d.body) for d in deliveries]
