"""A broker that goes silent, and one that blocks publishing, against a real RabbitMQ.

- Silent: the consumer talks to RabbitMQ through a TCP relay on loopback that the test
  freezes (it keeps both sockets open and passes nothing on), as a cable pulled or a host
  frozen would.  The heartbeat (1 s here) must find it within its bound: pika gives up a
  connection that received nothing for the heartbeat plus 5 s, checked every as long.
- Blocked: ``rabbitmqctl set_vm_memory_high_watermark`` raises a memory alarm; RabbitMQ then
  blocks every connection that publishes.  The consumer's acks go on a connection that does
  not publish and must still flow; a dead-letter publish must fail within its timeout
  rather than wait for ever.  The alarm is lifted after the test, whatever happens.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from chute.amqp import (
    BrokerUnavailableError,
    DeadLetter,
    QueueConsumer,
    StaleDeliveryError,
    publish_records,
)
from tests.amqp_helpers import AMQP_URL, PARAMS, wait_depth
from tests.conftest import REQUIRE_SERVICES

BIG = 1 << 30


class FreezableRelay:
    """A TCP relay from a port on loopback to the broker; :meth:`freeze` stops it passing
    bytes on in either direction while every socket stays open."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                if not self.frozen.is_set():  # frozen: swallowed, nothing closed
                    dst.sendall(data)

    def freeze(self) -> None:
        self.frozen.set()

    def close(self) -> None:
        self._stopped = True
        self._server.close()
        for s in self._sockets:
            with suppress(OSError):
                s.close()


@pytest.mark.slow
def test_a_broker_gone_silent_is_found_within_the_heartbeat_bound(queue: str) -> None:
    publish_records([{"id": i} for i in range(10)], AMQP_URL, queue)
    relay = FreezableRelay((PARAMS.host, PARAMS.port))
    url = (
        f"amqp://{PARAMS.user}:{PARAMS.password}@127.0.0.1:{relay.port}/%2F"
        "?heartbeat=1&connection_timeout=1"
    )
    stop = threading.Event()
    try:
        with QueueConsumer(url, queue, prefetch=100, reconnect_timeout=2) as consumer:
            batch = consumer.next_batch(10, BIG, 0.2, stop, idle_timeout=5)
            assert len(batch) == 10
            relay.freeze()
            frozen_at = time.monotonic()
            with pytest.raises(BrokerUnavailableError) as info:
                consumer.next_batch(10, BIG, 0.2, stop)  # waits, finds the loss, reconnects
            waited = time.monotonic() - frozen_at
            with pytest.raises(StaleDeliveryError):
                consumer.ack_through(batch[-1].delivery_tag)
    finally:
        relay.close()
    # found by the heartbeat check (1 + 5 s, checked every 6 s: at most 12 s), then 2 s of
    # reconnects that get no answer (1 s each) before giving up
    assert waited < 12 + 2 + 1 + 3, waited
    assert "gave up reconnecting after" in str(info.value)
    assert "\n" not in str(info.value)
    assert wait_depth(queue, 10) == 10  # the broker put the unacked messages back


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def memory_alarm() -> Iterator[None]:
    """RabbitMQ in a memory alarm (its threshold set to 1 byte), then out of it."""
    if shutil.which("rabbitmqctl") is None:
        if REQUIRE_SERVICES:
            pytest.fail("CHUTE_REQUIRE_SERVICES=1 but rabbitmqctl is not on PATH")
        pytest.skip("SKIPPING: rabbitmqctl is not on PATH")
    _rabbitmqctl("set_vm_memory_high_watermark", "absolute", "1")
    try:
        deadline = time.monotonic() + 20
        while "memory" not in _alarms() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "memory" in _alarms(), "RabbitMQ raised no memory alarm"
        yield
    finally:
        _rabbitmqctl("set_vm_memory_high_watermark", "0.4")
        deadline = time.monotonic() + 20
        while "memory" in _alarms() and time.monotonic() < deadline:
            time.sleep(0.2)


def _alarms() -> str:
    return subprocess.run(
        ["rabbitmqctl", "-q", "eval", "rabbit_alarm:get_alarms()."],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip


@pytest.mark.slow
def test_acks_flow_and_a_blocked_dead_letter_publish_fails_in_its_time_during_an_alarm(
    queue: str,
) -> None:
    publish_records([{"id": i} for i in range(20)], AMQP_URL, queue)
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=100) as consumer:
        batch = consumer.next_batch(20, BIG, 0.2, stop, idle_timeout=5)
        assert len(batch) == 20
        with memory_alarm():
            consumer.ack_through(batch[9].delivery_tag)  # during the alarm
            started = time.monotonic()
            with pytest.raises(BrokerUnavailableError) as info:
                consumer.dead_letter([DeadLetter(batch[10], "parse", "bad")], timeout=2)
            took = time.monotonic() - started
    # the close put back the 10 not acked; the 10 acked during the alarm are gone
    assert wait_depth(queue, 10) == 10
    assert "blocks publishing" in str(info.value), info.value
    assert took < 2 * 2 + 5, took  # two tries (a new connection for the second), 2 s each
