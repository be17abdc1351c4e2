"""The consumer's logic over the in-memory broker: batches, acks, dead letters, reconnects.

The same behaviours are tested against RabbitMQ in
``tests/integration/test_amqp_transport.py``; these run in milliseconds and reach the
corners a real broker makes hard to hit (a loss between two calls, a double ack).
"""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from chute.amqp import (
    DEAD_LETTER_SUFFIX,
    ERROR_HEADER,
    ERROR_KIND_HEADER,
    MESSAGE_ID_HEADER,
    QUEUE_HEADER,
    BrokerError,
    BrokerUnavailableError,
    DeadLetter,
    Delivery,
    QueueConsumer,
    QueueNotFoundError,
    StaleDeliveryError,
    publish_records,
)
from chute.amqp.memory import MemoryBroker, MemoryConsumption

URL = "amqp://memory/"
BIG = 1 << 30


@pytest.fixture
def broker() -> MemoryBroker:
    broker = MemoryBroker()
    broker.declare("q")
    return broker


def fill(broker: MemoryBroker, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        broker.put("q", orjson.dumps({"id": i}), message_id=f"m{i}")


def ids(deliveries: list[Delivery]) -> list[int]:
    return [orjson.loads(d.body)["id"] for d in deliveries]


def consumption(consumer: QueueConsumer) -> MemoryConsumption:
    conn = consumer._conn
    assert isinstance(conn, MemoryConsumption)
    return conn


def test_batches_close_on_rows_then_on_bytes_then_on_the_flush_interval(
    broker: MemoryBroker,
) -> None:
    fill(broker, 25)
    stop = threading.Event()
    with QueueConsumer(URL, "q", prefetch=100, broker=broker) as consumer:
        assert consumer.message_count == 25
        assert ids(consumer.next_batch(10, BIG, 5.0, stop)) == list(range(1, 11))
        by_bytes = consumer.next_batch(100, 30, 5.0, stop)  # {"id":11} is 9 bytes
        assert ids(by_bytes) == [11, 12, 13, 14]  # closed by the one that reached 30
        started = time.monotonic()
        rest = consumer.next_batch(100, BIG, 0.2, stop)
        assert ids(rest) == list(range(15, 26))
        assert 0.2 <= time.monotonic() - started < 2.0


def test_an_idle_queue_returns_an_empty_batch_after_the_idle_timeout(broker: MemoryBroker) -> None:
    stop = threading.Event()
    with QueueConsumer(URL, "q", broker=broker) as consumer:
        assert consumer.next_batch(10, BIG, 1.0, stop, idle_timeout=0.1) == []


def test_a_multiple_ack_acks_through_its_tag_and_never_twice(broker: MemoryBroker) -> None:
    fill(broker, 30)
    stop = threading.Event()
    with QueueConsumer(URL, "q", prefetch=100, broker=broker) as consumer:
        first = consumer.next_batch(10, BIG, 1.0, stop)
        second = consumer.next_batch(10, BIG, 1.0, stop)
        with pytest.raises(ValueError, match="only 20 handed out"):
            consumer.ack_through(21)
        consumer.ack_through(first[-1].delivery_tag)
        consumer.ack_through(first[4].delivery_tag)  # acked already: nothing is sent
        consumer.ack_through(second[-1].delivery_tag)
        conn = consumption(consumer)
        assert conn.acks == [(10, True), (20, True)]
        assert conn.error is None  # the broker saw no unknown tag
        assert len(conn.unacked) == 0


def test_dead_letters_are_acked_alone_then_the_batch_ack_skips_them(broker: MemoryBroker) -> None:
    fill(broker, 5)
    stop = threading.Event()
    with QueueConsumer(URL, "q", prefetch=10, broker=broker) as consumer:
        batch = consumer.next_batch(5, BIG, 1.0, stop)
        consumer.dead_letter([DeadLetter(batch[4], "parse", "invalid JSON")])
        consumer.dead_letter([DeadLetter(batch[3], "constraint", "duplicate key", "23505")])
        with pytest.raises(ValueError, match="already acked"):
            consumer.dead_letter([DeadLetter(batch[3], "parse", "again")])
        consumer.ack_through(batch[-1].delivery_tag)
        conn = consumption(consumer)
        # 5 and 4 alone; the multiple-ack names 3, the highest not acked yet
        assert conn.acks == [(5, False), (4, False), (3, True)]
        assert conn.error is None
    dead = broker.messages("q" + DEAD_LETTER_SUFFIX)
    assert [orjson.loads(m.body)["id"] for m in dead] == [5, 4]
    headers = dead[1].properties["headers"]
    assert headers[ERROR_HEADER] == "duplicate key"
    assert headers[ERROR_KIND_HEADER] == "constraint"
    assert headers[QUEUE_HEADER] == "q"
    assert headers[MESSAGE_ID_HEADER] == "m4"
    assert headers["x-chute-sqlstate"] == "23505"
    assert dead[1].properties["message_id"] == "m4:dead-letter"
    assert dead[1].properties["delivery_mode"] == 2


def test_a_refused_dead_letter_acks_nothing(broker: MemoryBroker) -> None:
    fill(broker, 2)
    stop = threading.Event()
    with QueueConsumer(URL, "q", prefetch=10, broker=broker) as consumer:
        batch = consumer.next_batch(2, BIG, 1.0, stop)
        broker.nack_next = 1
        with pytest.raises(BrokerError, match="refused 1 message"):
            consumer.dead_letter([DeadLetter(batch[0], "parse", "bad")])
        assert consumption(consumer).acks == []
        consumer.dead_letter([DeadLetter(batch[0], "parse", "bad")])  # the next try goes
        assert consumption(consumer).acks == [(1, False)]


def test_a_lost_connection_voids_the_deliveries_in_hand_and_they_come_again(
    broker: MemoryBroker,
) -> None:
    fill(broker, 20)
    stop = threading.Event()
    with QueueConsumer(URL, "q", prefetch=100, broker=broker) as consumer:
        first = consumer.next_batch(10, BIG, 1.0, stop)
        consumer.ack_through(first[4].delivery_tag)  # 1..5 stored
        broker.cut()
        with pytest.raises(StaleDeliveryError):
            consumer.ack_through(first[-1].delivery_tag)
        with pytest.raises(StaleDeliveryError):
            consumer.dead_letter([DeadLetter(first[7], "parse", "void")])
        rest = consumer.next_batch(100, BIG, 0.1, stop)
        assert consumer.reconnects == 1
        assert ids(rest) == list(range(6, 21))
        assert [d.redelivered for d in rest[:5]] == [True] * 5
        assert rest[0].delivery_tag > first[-1].delivery_tag  # tags keep increasing
        consumer.ack_through(rest[-1].delivery_tag)
        assert consumption(consumer).acks == [(15, True)]  # the broker's own tag
    assert broker.messages("q") == []


def test_a_batch_being_filled_when_the_connection_is_lost_is_dropped(broker: MemoryBroker) -> None:
    fill(broker, 3)
    stop = threading.Event()
    with QueueConsumer(URL, "q", prefetch=100, broker=broker) as consumer:

        def cut_then_more() -> None:
            time.sleep(0.2)
            broker.cut()
            fill(broker, 2, start=4)

        cutter = threading.Thread(target=cut_then_more)
        cutter.start()
        batch = consumer.next_batch(100, BIG, 1.0, stop)  # holds 1..3 when the cut comes
        cutter.join()
        # what was in hand went back and came again, with 4 and 5, on one connection
        assert sorted(ids(batch)) == [1, 2, 3, 4, 5]
        assert consumer.reconnects == 1
        consumer.ack_through(batch[-1].delivery_tag)


def test_a_broker_down_for_longer_than_the_reconnect_timeout_gives_up(broker: MemoryBroker) -> None:
    stop = threading.Event()
    with QueueConsumer(URL, "q", broker=broker, reconnect_timeout=0.3) as consumer:
        broker.down = True
        broker.cut()
        with pytest.raises(BrokerUnavailableError, match="gave up reconnecting after"):
            consumer.next_batch(10, BIG, 0.1, stop)


def test_stop_ends_the_wait_for_a_broker_that_is_down(broker: MemoryBroker) -> None:
    stop = threading.Event()
    with QueueConsumer(URL, "q", broker=broker) as consumer:
        broker.down = True
        broker.cut()
        threading.Timer(0.3, stop.set).start()
        assert consumer.next_batch(10, BIG, 0.1, stop) == []


def test_a_deleted_queue_ends_the_consumer_with_one_line(broker: MemoryBroker) -> None:
    stop = threading.Event()
    with QueueConsumer(URL, "q", broker=broker) as consumer:
        broker.delete("q")
        with pytest.raises(QueueNotFoundError, match="queue 'q' does not exist"):
            consumer.next_batch(10, BIG, 0.1, stop)


def test_prefetch_bounds_the_unacked_deliveries(broker: MemoryBroker) -> None:
    fill(broker, 10)
    stop = threading.Event()
    with QueueConsumer(URL, "q", prefetch=4, broker=broker) as consumer:
        first = consumer.next_batch(10, BIG, 0.1, stop)
        assert ids(first) == [1, 2, 3, 4]
        assert consumer.next_batch(10, BIG, 0.1, stop, idle_timeout=0.2) == []
        consumer.ack_through(first[-1].delivery_tag)
        assert ids(consumer.next_batch(10, BIG, 0.1, stop)) == [5, 6, 7, 8]


def test_publish_records_gives_ids_properties_and_exact_numbers(broker: MemoryBroker) -> None:
    records = [{"id": 1, "big": 1 << 70}, b'{"raw": true}']
    assert publish_records(records, URL, "new", source="f.csv", first=7, broker=broker) == 2
    sent = broker.messages("new")  # declared by the publish
    assert [m.body for m in sent] == [b'{"id":1,"big":1180591620717411303424}', b'{"raw": true}']
    assert [m.properties["message_id"] for m in sent] == ["f.csv:7", "f.csv:8"]
    assert {m.properties["content_type"] for m in sent} == {"application/json"}
    assert {m.properties["delivery_mode"] for m in sent} == {2}
    with pytest.raises(BrokerError, match="could not route 1 message"):
        publish_records([{"a": 1}], URL, "missing", declare=False, broker=broker)


def test_close_from_another_thread_ends_next_batch_without_a_reconnect(
    broker: MemoryBroker,
) -> None:
    stop = threading.Event()
    consumer = QueueConsumer(URL, "q", broker=broker)
    consumer.connect()
    got: list[list[Delivery]] = []
    reader = threading.Thread(target=lambda: got.append(consumer.next_batch(10, BIG, 0.1, stop)))
    reader.start()
    time.sleep(0.2)
    consumer.close()
    reader.join(5)
    assert got == [[]]
    assert broker.connections_made == 1  # closed means closed: no new connection
