"""RabbitMQ for tests: is it there, make and drop queues, publish and read messages."""

from __future__ import annotations

import os
import threading
from typing import Any

import orjson
from pamqp import commands

from chute.amqp import BrokerError, Delivery, QueueConsumer, parse_url, publish_records
from chute.amqp._wire import Connection

AMQP_URL = os.environ.get("CHUTE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def _channel() -> Connection:
    conn = Connection(parse_url(AMQP_URL), name="chute tests")
    conn.open()
    conn.open_channel(1)
    return conn


def broker_problem() -> str | None:
    """Why RabbitMQ cannot be used, or None."""
    try:
        _channel().close()
    except (BrokerError, OSError) as exc:
        return f"RabbitMQ at {AMQP_URL} is not reachable: {exc}"
    return None


def delete_queues(*names: str) -> None:
    conn = _channel()
    try:
        for name in names:
            conn.rpc(1, commands.Queue.Delete(queue=name), commands.Queue.DeleteOk)
    finally:
        conn.close()


def depth(name: str) -> int:
    """Messages ready in the queue (not counting unacked ones)."""
    conn = _channel()
    try:
        ok = conn.rpc(1, commands.Queue.Declare(queue=name, passive=True), commands.Queue.DeclareOk)
        return int(ok.message_count or 0)
    finally:
        conn.close()


def publish(name: str, messages: list[Any]) -> None:
    """Publish dicts (as JSON) or raw bytes, in order, with confirms."""
    publish_records(messages, AMQP_URL, name, source=f"test-{name}")


def read_all(name: str, idle: float = 1.0) -> list[Delivery]:
    """Every message of the queue, acked."""
    stop = threading.Event()
    got: list[Delivery] = []
    with QueueConsumer(AMQP_URL, name, prefetch=1000) as consumer:
        while batch := consumer.next_batch(1000, 1 << 30, 0.2, stop, idle_timeout=idle):
            got += batch
            consumer.ack_through(batch[-1].delivery_tag)
    return got


def records_of(deliveries: list[Delivery]) -> list[Any]:
    return [orjson.loads(d.body) for d in deliveries]
