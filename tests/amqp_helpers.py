"""RabbitMQ for tests: is it there, drop queues, their depth, publish and read messages."""

from __future__ import annotations

import os
import threading
from typing import Any

import orjson
from pamqp import commands

from chute.amqp import (
    DEAD_LETTER_SUFFIX,
    BrokerError,
    Delivery,
    QueueConsumer,
    parse_url,
    publish_records,
)
from chute.amqp._wire import Connection, body_frames, content_header, publish_method

AMQP_URL = os.environ.get("CHUTE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PARAMS = parse_url(AMQP_URL)


def admin() -> Connection:
    """A connection with channel 1 open, for declares and deletes."""
    conn = Connection(PARAMS, name="chute tests admin")
    conn.open()
    conn.open_channel(1)
    return conn


def broker_problem() -> str | None:
    """Why RabbitMQ cannot be used, or None."""
    try:
        admin().close()
    except (BrokerError, OSError) as exc:
        return f"RabbitMQ at {PARAMS.display} is not reachable: {exc}"
    return None


def delete_queues(*names: str) -> None:
    conn = admin()
    try:
        for name in names:
            conn.rpc(1, commands.Queue.Delete(queue=name), commands.Queue.DeleteOk)
    finally:
        conn.close()


def depth(name: str) -> int:
    """Messages ready in the queue (not counting unacked ones); -1 when it does not exist."""
    conn = admin()
    try:
        ok = conn.rpc(1, commands.Queue.Declare(queue=name, passive=True), commands.Queue.DeclareOk)
    except BrokerError:
        return -1
    finally:
        conn.close()
    return int(ok.message_count or 0)


def publish(name: str, messages: list[Any]) -> None:
    """Publish dicts (as JSON) or raw bytes, in order, with confirms."""
    publish_records(messages, AMQP_URL, name, source=f"test-{name}")


def declare(name: str, arguments: dict[str, Any] | None = None) -> None:
    """Declare a durable queue (with ``arguments``: a length limit, an overflow rule...)."""
    conn = admin()
    try:
        conn.rpc(
            1,
            commands.Queue.Declare(queue=name, durable=True, arguments=arguments),
            commands.Queue.DeclareOk,
        )
    finally:
        conn.close()


def send(name: str, body: bytes, message_id: str | None) -> None:
    """Publish one message with this ``message_id`` (and no other property), confirmed."""
    conn = admin()
    try:
        conn.rpc(1, commands.Confirm.Select(), commands.Confirm.SelectOk)
        props = commands.Basic.Properties(message_id=message_id)
        conn.send(
            publish_method(1, "", name, True)
            + content_header(1, len(body), bytes(props.marshal()))
            + b"".join(body_frames(1, body, conn.frame_max))
        )
        nacked, returned = conn.wait_confirms(1, conn.published(1, 1), 10.0)
        assert not nacked and not returned
    finally:
        conn.close()


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
