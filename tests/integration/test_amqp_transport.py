"""The AMQP transport against a real RabbitMQ: batches, acks, dead letters, errors, reconnects.

RabbitMQ comes from ``CHUTE_TEST_AMQP_URL`` (default: the local broker, guest/guest).  When
it cannot be reached these tests are skipped with the reason, unless
``CHUTE_REQUIRE_SERVICES=1``, which makes them fail.  Each test uses queues of its own
(``chute_test_<random>`` and its dead-letter queue) and deletes them.  The broker-restart
test runs ``rabbitmqctl stop_app`` / ``start_app`` (skipped without ``rabbitmqctl``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from chute.amqp import (
    DEAD_LETTER_SUFFIX,
    ERROR_HEADER,
    ERROR_KIND_HEADER,
    FAILED_AT_HEADER,
    MESSAGE_ID_HEADER,
    QUEUE_HEADER,
    SQLSTATE_HEADER,
    BrokerError,
    BrokerUnavailableError,
    DeadLetter,
    Delivery,
    QueueConsumer,
    QueueNotFoundError,
    StaleDeliveryError,
    parse_url,
    publish_records,
)
from chute.errors import ConfigError
from tests.amqp_helpers import (
    AMQP_URL,
    PARAMS,
    admin,
    declare,
    delete_queues,
    depth,
    read_all,
    wait_depth,
)
from tests.conftest import REQUIRE_SERVICES

BIG = 1 << 30


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def queue(broker: str) -> Iterator[str]:
    """A durable queue made for the test; it and its dead-letter queue are deleted after."""
    name = f"chute_test_{uuid.uuid4().hex[:12]}"
    declare(name)
    yield name
    delete_queues(name, name + DEAD_LETTER_SUFFIX)


def _records(n: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"record {i}", "tags": ["x"] * (i % 3)} for i in range(start, start + n)
    ]


def _take(consumer: QueueConsumer, n: int, timeout: float = 10.0) -> list[Delivery]:
    """``n`` deliveries (one or more batches), failing after ``timeout``."""
    stop = threading.Event()
    got: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        assert time.monotonic() < deadline, f"only {len(got)} of {n} messages came"
        got += consumer.next_batch(n - len(got), BIG, 0.2, stop, idle_timeout=1.0)
    return got


def _ids(deliveries: list[Delivery]) -> list[int]:
    return [orjson.loads(d.body)["id"] for d in deliveries]


def _close_connection_named(name: str) -> None:
    """Make the broker close one connection, found by its connection_name."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    pids = [
        line.split("\t", 1)[0]
        for line in out.splitlines()
        if f'{{"connection_name","{name}"}}' in line
    ]
    assert pids, f"no connection named {name!r} in:\n{out}"
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "closed by a chute test"],
            capture_output=True,
            timeout=60,
            check=True,
        )


def _needs_rabbitmqctl() -> None:
    if shutil.which("rabbitmqctl") is None:
        if REQUIRE_SERVICES:
            pytest.fail("CHUTE_REQUIRE_SERVICES=1 but rabbitmqctl is not on PATH")
        pytest.skip("SKIPPING: rabbitmqctl is not on PATH")


# -- publishing ---------------------------------------------------------------------------------


def test_publish_with_confirms_puts_every_record_on_the_queue(queue: str) -> None:
    records = _records(2_500)
    assert publish_records(records, AMQP_URL, queue, source="orders.csv", window=100) == 2_500
    assert depth(queue) == 2_500

    got = read_all(queue)
    assert [orjson.loads(d.body) for d in got] == records
    assert [d.message_id for d in got] == [f"orders.csv:{i}" for i in range(1, 2_501)]
    props = got[0].properties
    assert (props["content_type"], props["delivery_mode"]) == ("application/json", 2)


def test_publish_declares_a_missing_queue_durable_and_sends_bytes_as_they_are(broker: str) -> None:
    name = f"chute_test_{uuid.uuid4().hex[:12]}"
    try:
        bodies = [b'{"a": 1}', b"not even json", b"x" * 400_000]  # the last: 4 frames
        assert publish_records(bodies, broker, name, source="raw", first=11) == 3
        got = read_all(name, broker)
        assert [d.body for d in got] == bodies
        assert [d.message_id for d in got] == ["raw:11", "raw:12", "raw:13"]
    finally:
        delete_queues(name)


def test_a_long_source_name_gives_short_stable_message_ids(queue: str) -> None:
    source = "/very/long/path/" * 20 + "orders.csv"
    publish_records(_records(2), AMQP_URL, queue, source=source)
    ids = [d.message_id for d in read_all(queue)]
    assert ids[0] is not None and ids[0].startswith("sha256-") and ids[0].endswith(":1")
    assert ids[1] == ids[0][:-1] + "2"


# -- batches ------------------------------------------------------------------------------------


def test_batches_close_on_rows_and_the_last_on_the_flush_interval(queue: str) -> None:
    publish_records(_records(2_500), AMQP_URL, queue)
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=5_000) as consumer:
        sizes = []
        started = time.monotonic()
        for _ in range(2):
            batch = consumer.next_batch(1_000, BIG, 30.0, stop)
            sizes.append(len(batch))
            consumer.ack_through(batch[-1].delivery_tag)
        assert time.monotonic() - started < 10  # full batches do not wait for the timer
        started = time.monotonic()
        last = consumer.next_batch(1_000, BIG, 0.5, stop)
        waited = time.monotonic() - started
        consumer.ack_through(last[-1].delivery_tag)
    assert sizes == [1_000, 1_000]
    assert len(last) == 500
    assert 0.45 <= waited < 5
    assert [d.delivery_tag for d in last] == list(range(2_001, 2_501))
    assert wait_depth(queue, 0) == 0


def test_a_batch_closes_on_the_flush_interval_from_its_first_message(queue: str) -> None:
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=100) as consumer:
        threading.Timer(0.5, publish_records, (_records(3), AMQP_URL, queue)).start()
        started = time.monotonic()
        batch = consumer.next_batch(100, BIG, 0.4, stop)
        waited = time.monotonic() - started
        consumer.ack_through(batch[-1].delivery_tag)
    assert len(batch) == 3
    assert 0.85 <= waited < 5  # ~0.5 s for the first message, then the 0.4 s interval


def test_a_batch_closes_on_bytes(queue: str) -> None:
    publish_records([b"x" * 1000] * 10, AMQP_URL, queue)
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=100) as consumer:
        _wait_buffered(consumer, 10)
        sizes = []
        for _ in range(4):
            batch = consumer.next_batch(100, 2_500, 5.0, stop)
            sizes.append(len(batch))
            consumer.ack_through(batch[-1].delivery_tag)
    assert sizes == [3, 3, 3, 1]  # a batch takes the message that reaches the byte limit


def _wait_buffered(consumer: QueueConsumer, n: int) -> None:
    deadline = time.monotonic() + 10
    while consumer.buffered() < n:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_stop_returns_the_messages_in_hand_at_once(queue: str) -> None:
    publish_records(_records(5), AMQP_URL, queue)
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=100) as consumer:
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        batch = consumer.next_batch(100, BIG, 60.0, stop)
        assert time.monotonic() - started < 2
        assert len(batch) == 5
        assert consumer.next_batch(100, BIG, 60.0, stop) == []
        consumer.ack_through(batch[-1].delivery_tag)
    assert wait_depth(queue, 0) == 0


def test_an_empty_queue_waits_for_the_first_message_or_the_idle_timeout(queue: str) -> None:
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=10) as consumer:
        started = time.monotonic()
        assert consumer.next_batch(10, BIG, 0.1, stop, idle_timeout=0.3) == []
        assert 0.25 <= time.monotonic() - started < 3


# -- acks ---------------------------------------------------------------------------------------


def test_a_multiple_ack_acks_exactly_through_its_tag(queue: str) -> None:
    publish_records(_records(30), AMQP_URL, queue)
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=100) as consumer:
        _wait_buffered(consumer, 30)
        first = consumer.next_batch(10, BIG, 5.0, stop)
        second = consumer.next_batch(10, BIG, 5.0, stop)
        consumer.ack_through(first[-1].delivery_tag)
        consumer.ack_through(first[-1].delivery_tag)  # again: nothing happens
        with pytest.raises(ValueError, match="only 20 handed out"):
            consumer.ack_through(25)  # still in the prefetch buffer: never acked by mistake
        assert len(second) == 10
    # closed without acking the second batch nor the ten never handed out
    assert wait_depth(queue, 20) == 20
    again = read_all(queue)
    assert sorted(_ids(again)) == list(range(11, 31))
    assert all(d.redelivered for d in again)


def test_acks_from_another_thread_while_next_batch_waits(queue: str) -> None:
    publish_records(_records(1_000), AMQP_URL, queue)
    stop = threading.Event()
    acks: list[int] = []
    errors: list[BaseException] = []
    with QueueConsumer(AMQP_URL, queue, prefetch=300) as consumer:
        handed: list[list[Delivery]] = []
        ready = threading.Condition()

        def writer() -> None:
            try:
                done = 0
                while done < 1_000:
                    with ready:
                        ready.wait_for(lambda: handed, timeout=10)
                        batch = handed.pop(0)
                    time.sleep(0.01)  # "commit"
                    consumer.ack_through(batch[-1].delivery_tag)
                    acks.append(batch[-1].delivery_tag)
                    done += len(batch)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=writer)
        thread.start()
        total = 0
        while total < 1_000:  # prefetch 300 < 1,000: only the writer's acks let this finish
            batch = consumer.next_batch(100, BIG, 0.5, stop)
            total += len(batch)
            with ready:
                handed.append(batch)
                ready.notify()
        thread.join(20)
    assert not errors
    assert acks[-1] == 1_000
    assert wait_depth(queue, 0) == 0


# -- dead letters -------------------------------------------------------------------------------


def test_dead_lettering_puts_the_message_with_its_reason_on_the_dlq_and_acks_it_alone(
    queue: str,
) -> None:
    publish_records([{"id": 1}, b"not json", {"id": 3}], AMQP_URL, queue, source="s")
    with QueueConsumer(AMQP_URL, queue, prefetch=100) as consumer:
        assert consumer.dead_letter_queue == queue + DEAD_LETTER_SUFFIX
        assert depth(consumer.dead_letter_queue) == 0  # declared on connect
        batch = _take(consumer, 3)
        consumer.dead_letter(
            [DeadLetter(batch[1], "parse", "invalid JSON (at character 1)", "22P02")]
        )
        # the batch is not committed: its other messages stay unacked
    assert wait_depth(queue, 2) == 2
    assert _ids(read_all(queue)) == [1, 3]
    dead = read_all(queue + DEAD_LETTER_SUFFIX)
    assert [d.body for d in dead] == [b"not json"]
    assert dead[0].message_id == "s:2:dead-letter"  # not taken for the message itself
    assert dead[0].headers[MESSAGE_ID_HEADER] == "s:2"
    headers = dead[0].headers
    assert headers[ERROR_HEADER] == "invalid JSON (at character 1)"
    assert headers[ERROR_KIND_HEADER] == "parse"
    assert headers[QUEUE_HEADER] == queue
    assert headers[SQLSTATE_HEADER] == "22P02"
    assert str(headers[FAILED_AT_HEADER]).endswith("+00:00")
    props = dead[0].properties
    assert (props["content_type"], props["delivery_mode"]) == ("application/json", 2)


def test_an_empty_body_is_sent_without_a_body_frame_and_dead_lettered(queue: str) -> None:
    """AMQP 0-9-1 sends a content header of size 0 and no body frame for an empty body;
    RabbitMQ closes the connection on an empty body frame."""
    assert publish_records([b"", {"id": 2}], AMQP_URL, queue, source="e") == 2
    with QueueConsumer(AMQP_URL, queue, prefetch=100) as consumer:
        empty, second = _take(consumer, 2)
        assert (empty.body, empty.message_id) == (b"", "e:1")
        consumer.dead_letter([DeadLetter(empty, "parse", "an empty message")])
        consumer.publish_dead_letters([DeadLetter(empty, "parse", "again, not acked")])
        consumer.ack_through(second.delivery_tag)
    assert wait_depth(queue, 0) == 0
    dead = read_all(queue + DEAD_LETTER_SUFFIX)
    assert [d.body for d in dead] == [b"", b""]
    assert [d.headers[ERROR_HEADER] for d in dead] == ["an empty message", "again, not acked"]


def test_dead_letters_then_the_batch_ack_leave_nothing_behind(queue: str) -> None:
    publish_records([{"id": 1}, b"[1, 2]", {"id": 3}, b"\xff"], AMQP_URL, queue)
    dlq = f"{queue}.errors"
    try:
        with QueueConsumer(AMQP_URL, queue, prefetch=100, dead_letter_queue=dlq) as consumer:
            batch = _take(consumer, 4)
            consumer.dead_letter(
                [DeadLetter(batch[1], "shape", "not objects"), DeadLetter(batch[3], "decode", "x")]
            )
            consumer.ack_through(batch[-1].delivery_tag)  # over the dead-lettered: harmless
            with pytest.raises(ValueError, match="already acked"):
                consumer.dead_letter([DeadLetter(batch[0], "parse", "too late")])
        assert wait_depth(queue, 0) == 0
        assert [d.body for d in read_all(dlq)] == [b"[1, 2]", b"\xff"]
    finally:
        delete_queues(dlq, dlq + DEAD_LETTER_SUFFIX)


def test_dead_letters_go_on_after_their_publishing_connection_is_lost(queue: str) -> None:
    _needs_rabbitmqctl()
    publish_records([b"bad 1", b"bad 2"], AMQP_URL, queue)
    name = f"chute-test-{uuid.uuid4().hex[:8]}"
    with QueueConsumer(AMQP_URL, queue, name=name) as consumer:
        first, second = _take(consumer, 2)
        consumer.dead_letter([DeadLetter(first, "parse", "one")])
        _close_connection_named(f"{name} (dead letters)")  # the consumer's own stays
        consumer.dead_letter([DeadLetter(second, "parse", "two")])
        assert consumer.reconnects == 0
    assert wait_depth(queue, 0) == 0
    dead = read_all(queue + DEAD_LETTER_SUFFIX)
    assert [d.body for d in dead] == [b"bad 1", b"bad 2"]


def test_an_existing_dead_letter_queue_is_used_as_it_is(queue: str) -> None:
    dlq = f"{queue}.dlq"
    declare(dlq, {"x-max-length": 1000})  # arguments a plain declare would conflict with
    try:
        publish_records([b"{"], AMQP_URL, queue)
        with QueueConsumer(AMQP_URL, queue, dead_letter_queue=dlq) as consumer:
            (delivery,) = _take(consumer, 1)
            consumer.dead_letter([DeadLetter(delivery, "parse", "invalid JSON")])
        assert wait_depth(dlq, 1) == 1
    finally:
        delete_queues(dlq)


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "not an AMQP URL: http://...; expected amqp://"),
        ("amqp://127.0.0.1/?tls_ca=/etc/hostname", "--tls-ca needs an amqps:// URL"),
        ("amqps://127.0.0.1/?tls_ca=/no/such.pem", "--tls-ca /no/such.pem: no such file"),
        ("amqps://127.0.0.1/?auth=external", "auth=external logs in with a client certificate"),
        ("amqp://127.0.0.1:notaport/", "not a valid AMQP URL"),
        ("amqp://user:s3cr/et@host/", "not a valid AMQP URL: the port is not a number"),
        ("amqp:///vhost", "the AMQP URL names no host"),
        ("amqp://127.0.0.1/?heartbeats=3", "unknown option(s) in the AMQP URL: heartbeats"),
    ],
)
def test_a_bad_url_is_one_line(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        QueueConsumer(url, "q")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert "s3cr" not in str(info.value)  # no piece of a password


def test_vhost_and_password_are_read_from_the_url() -> None:
    params = parse_url("amqp://u%40x:p%2Fw@broker:5673/%2F?heartbeat=5")
    assert (params.user, params.password, params.vhost, params.port) == ("u@x", "p/w", "/", 5673)
    assert params.heartbeat == 5
    assert "p/w" not in repr(params)
    assert params.display == "amqp://broker:5673/%2F"
    assert parse_url("amqp://h").vhost == "/"
    assert parse_url("amqp://h/prod").vhost == "prod"


def test_a_refused_port_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BrokerUnavailableError) as info:
        QueueConsumer(f"amqp://guest:guest@127.0.0.1:{port}/", "q").connect()
    assert str(info.value) == (
        f"cannot connect to RabbitMQ at amqp://127.0.0.1:{port}/%2F: connection refused"
    )
    assert info.value.transient


def test_an_unknown_host_is_one_line() -> None:
    with pytest.raises(BrokerUnavailableError, match=r"unknown host 'no-such-host\.invalid'"):
        QueueConsumer("amqp://no-such-host.invalid/", "q").connect()


def test_a_port_that_is_not_rabbitmq_is_one_line() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(100)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer)
        thread.start()
        with pytest.raises(BrokerError) as info:
            QueueConsumer(f"amqp://127.0.0.1:{port}/", "q").connect()
        thread.join(5)
    assert f"RabbitMQ at amqp://127.0.0.1:{port}/%2F" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_wrong_password_is_one_line(broker: str) -> None:
    url = f"amqp://{PARAMS.user}:wrong-{uuid.uuid4().hex[:6]}@{PARAMS.host}:{PARAMS.port}/"
    with pytest.raises(BrokerError) as info:
        QueueConsumer(url, "q").connect()
    assert str(info.value) == (
        f"RabbitMQ at amqp://{PARAMS.host}:{PARAMS.port}/%2F refused the login of user "
        f"{PARAMS.user!r}: wrong user name or password"
    )
    assert not info.value.transient
    assert "wrong-" not in str(info.value)


def test_an_unknown_vhost_is_one_line(broker: str) -> None:
    url = f"amqp://{PARAMS.user}:{PARAMS.password}@{PARAMS.host}:{PARAMS.port}/no-such-vhost"
    with pytest.raises(BrokerError) as info:
        QueueConsumer(url, "q").connect()
    assert str(info.value) == (
        f"RabbitMQ at amqp://{PARAMS.host}:{PARAMS.port}/no-such-vhost refused access to "
        "virtual host 'no-such-vhost': NOT_ALLOWED - vhost no-such-vhost not found (530)"
    )


def test_a_queue_another_consumes_exclusively_is_one_line(queue: str) -> None:
    with admin() as ch:
        ch.basic_consume(queue, lambda *_: None, exclusive=True)
        with pytest.raises(BrokerError) as info:
            QueueConsumer(AMQP_URL, queue).connect()
    assert str(info.value).startswith(f"cannot consume queue {queue!r}: ACCESS_REFUSED")
    assert "(403)" in str(info.value)


def test_a_dead_letter_queue_the_broker_will_not_declare_is_one_line(queue: str) -> None:
    with pytest.raises(BrokerError) as info:
        QueueConsumer(AMQP_URL, queue, dead_letter_queue="amq.chute-test").connect()
    assert str(info.value).startswith("cannot declare queue 'amq.chute-test': ACCESS_REFUSED")


def test_close_from_another_thread_ends_a_waiting_next_batch(queue: str) -> None:
    stop = threading.Event()
    consumer = QueueConsumer(AMQP_URL, queue)
    consumer.connect()
    got: list[list[Delivery]] = []
    reader = threading.Thread(target=lambda: got.append(consumer.next_batch(10, BIG, 0.1, stop)))
    reader.start()
    time.sleep(0.3)
    consumer.close()
    reader.join(5)
    assert not reader.is_alive()
    assert got == [[]]
    assert consumer.reconnects == 0


def test_a_missing_queue_is_one_line(broker: str) -> None:
    name = f"chute_test_missing_{uuid.uuid4().hex[:8]}"
    with pytest.raises(QueueNotFoundError) as info:
        QueueConsumer(broker, name).connect()
    assert str(info.value) == f"queue {name!r} does not exist on {PARAMS.display}"
    assert depth(name) == -1  # not created
    assert depth(name + DEAD_LETTER_SUFFIX) == -1


@pytest.mark.parametrize("prefetch", [0, 65_536])
def test_a_prefetch_out_of_range_is_refused(prefetch: int) -> None:
    with pytest.raises(ConfigError, match="prefetch must be between 1 and 65535"):
        QueueConsumer(AMQP_URL, "q", prefetch=prefetch)


# -- reconnects ---------------------------------------------------------------------------------


def test_a_closed_connection_is_reconnected_and_unacked_messages_come_again(queue: str) -> None:
    _needs_rabbitmqctl()
    publish_records(_records(100), AMQP_URL, queue)
    name = f"chute-test-{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=200, name=name) as consumer:
        first = _take(consumer, 50)
        consumer.ack_through(first[24].delivery_tag)  # 1..25 stored and acked
        _close_connection_named(name)
        with pytest.raises(StaleDeliveryError):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # until the reader thread sees the close
                consumer.ack_through(first[-1].delivery_tag)
                time.sleep(0.05)
        with pytest.raises(StaleDeliveryError):
            consumer.dead_letter([DeadLetter(first[30], "parse", "void")])
        rest: list[Delivery] = []
        while len(rest) < 75:
            batch = consumer.next_batch(100, BIG, 0.3, stop, idle_timeout=10)
            assert batch, "nothing came after the reconnect"
            rest += batch
        consumer.ack_through(rest[-1].delivery_tag)
        assert consumer.reconnects == 1
    assert sorted(_ids(rest)) == list(range(26, 101))
    assert min(d.delivery_tag for d in rest) > first[-1].delivery_tag  # tags keep increasing
    assert wait_depth(queue, 0) == 0
    assert depth(queue + DEAD_LETTER_SUFFIX) == 0


def test_heartbeats_keep_an_idle_consumer_connected(queue: str) -> None:
    stop = threading.Event()
    with QueueConsumer(AMQP_URL + "?heartbeat=1", queue, prefetch=10) as consumer:
        time.sleep(3.5)  # the broker closes a connection silent for two heartbeats
        publish_records(_records(1), AMQP_URL, queue)
        batch = consumer.next_batch(10, BIG, 0.1, stop, idle_timeout=5)
        consumer.ack_through(batch[-1].delivery_tag)
        assert consumer.reconnects == 0
    assert _ids(batch) == [1]


@pytest.mark.slow
def test_a_broker_restart_mid_consume_reconnects_and_redelivers_the_unacked(queue: str) -> None:
    _needs_rabbitmqctl()
    publish_records(_records(300), AMQP_URL, queue)
    stop = threading.Event()
    with QueueConsumer(AMQP_URL, queue, prefetch=500) as consumer:
        first = _take(consumer, 100)
        consumer.ack_through(first[59].delivery_tag)
        stopped = subprocess.run(
            ["rabbitmqctl", "-q", "stop_app"], capture_output=True, text=True, timeout=120
        )
        try:
            assert stopped.returncode == 0, stopped.stderr
            result: list[list[Delivery]] = []
            # next_batch retries while the broker is down and returns after it is back
            reader = threading.Thread(
                target=lambda: result.append(
                    consumer.next_batch(1_000, BIG, 0.5, stop, idle_timeout=30)
                )
            )
            reader.start()
            time.sleep(1.0)
            assert reader.is_alive()
        finally:
            started = subprocess.run(
                ["rabbitmqctl", "-q", "start_app"], capture_output=True, text=True, timeout=120
            )
        assert started.returncode == 0, started.stderr
        reader.join(60)
        rest = result[0]
        while len(rest) < 240:
            batch = consumer.next_batch(1_000, BIG, 0.5, stop, idle_timeout=10)
            assert batch
            rest += batch
        with pytest.raises(StaleDeliveryError):
            consumer.ack_through(first[-1].delivery_tag)
        consumer.ack_through(rest[-1].delivery_tag)
        assert consumer.reconnects >= 1
    assert sorted(_ids(rest)) == list(range(61, 301))  # 1..60 were acked: not again
    assert wait_depth(queue, 0) == 0


# -- scaling ------------------------------------------------------------------------------------


def test_competing_consumers_share_the_queue_and_see_each_message_once(queue: str) -> None:
    publish_records(_records(2_000), AMQP_URL, queue)
    stop = threading.Event()
    seen: dict[str, list[int]] = {"a": [], "b": []}

    def consume(who: str) -> None:
        with QueueConsumer(AMQP_URL, queue, prefetch=100, name=f"chute-test-{who}") as c:
            while True:
                batch = c.next_batch(50, BIG, 0.1, stop, idle_timeout=1.0)
                if not batch:
                    return
                seen[who] += _ids(batch)
                time.sleep(0.005)  # a commit
                c.ack_through(batch[-1].delivery_tag)

    threads = [threading.Thread(target=consume, args=(who,)) for who in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(seen["a"] + seen["b"]) == list(range(1, 2_001))
    assert min(len(seen["a"]), len(seen["b"])) > 200
    assert wait_depth(queue, 0) == 0
