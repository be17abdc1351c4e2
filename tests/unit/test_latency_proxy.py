"""The latency proxy delays every byte each way, keeps bandwidth, and shuts down cleanly.

Real sockets on loopback throughout; the PostgreSQL tests use the server from conftest.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import pytest

from chute_bench.latency_proxy import LatencyProxy

DELAY_MS = 20
DELAY = DELAY_MS / 1000
ROUND_TRIP = 2 * DELAY

Handler = Callable[[socket.socket], None]


@contextmanager
def serve(handle: Handler) -> Iterator[tuple[str, int]]:
    """A threaded TCP server on loopback that runs ``handle`` on each connection."""

    class _Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with suppress(OSError):  # the proxy went away: the tests check what clients saw
                handle(self.request)

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler) as server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
        thread.start()
        try:
            host, port = server.server_address[:2]
            yield str(host), int(port)
        finally:
            server.shutdown()
            thread.join()


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def connect(proxy: LatencyProxy) -> socket.socket:
    sock = socket.create_connection(proxy.address, timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"EOF after {len(data)} of {size} bytes"
        data += chunk
    return data


def recv_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def round_trip(sock: socket.socket, payload: bytes) -> float:
    started = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - started


def proxy_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("chute-latency-proxy")]


@pytest.fixture
def echo_proxy() -> Iterator[LatencyProxy]:
    with serve(echo) as target, LatencyProxy(target, DELAY_MS) as proxy:
        yield proxy
    assert proxy_threads() == []


def test_each_round_trip_costs_twice_the_delay(echo_proxy: LatencyProxy) -> None:
    with connect(echo_proxy) as sock:
        times = [round_trip(sock, f"ping {i}".encode()) for i in range(5)]
    assert all(ROUND_TRIP <= t < 0.2 for t in times), times


def test_a_bulk_stream_keeps_its_bandwidth() -> None:
    """1 MiB one way costs the delay once, not once per chunk."""

    def digest_until_eof(conn: socket.socket) -> None:
        data = recv_all(conn)
        conn.sendall(struct.pack("!Q", len(data)) + hashlib.sha256(data).digest())

    payload = os.urandom(1024 * 1024)
    with (
        serve(digest_until_eof) as target,
        LatencyProxy(target, DELAY_MS) as proxy,
        connect(proxy) as sock,
    ):
        started = time.monotonic()
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        reply = recv_all(sock)
        elapsed = time.monotonic() - started
    assert reply == struct.pack("!Q", len(payload)) + hashlib.sha256(payload).digest()
    # One round trip (40 ms) plus the transfer; a proxy that waited 20 ms per 64 KiB read
    # would need over 16 × 20 ms more.
    assert ROUND_TRIP <= elapsed < 0.3, elapsed


def test_chunks_in_flight_together_each_arrive_one_delay_late() -> None:
    """A delay line, not a throttle: the 50th chunk is as late as the first, not 50× later."""
    size, count = 4096, 50
    arrivals: list[tuple[float, int]] = []

    def record(conn: socket.socket) -> None:
        total = 0
        while chunk := conn.recv(65536):
            total += len(chunk)
            arrivals.append((time.monotonic(), total))

    sent: list[float] = []
    with serve(record) as target, LatencyProxy(target, DELAY_MS) as proxy, connect(proxy) as sock:
        for _ in range(count):
            sent.append(time.monotonic())
            sock.sendall(b"x" * size)
            time.sleep(0.002)
        sock.shutdown(socket.SHUT_WR)
        assert recv_all(sock) == b""
    assert arrivals[-1][1] == size * count
    latencies = [
        next(t for t, total in arrivals if total >= (i + 1) * size) - sent[i] for i in range(count)
    ]
    assert min(latencies) >= DELAY, min(latencies)
    assert max(latencies) < DELAY + 0.06, max(latencies)


def test_concurrent_connections_are_delayed_side_by_side(echo_proxy: LatencyProxy) -> None:
    clients, trips = 8, 3
    start = threading.Barrier(clients)

    def client(n: int) -> list[tuple[float, float]]:
        spans = []
        with connect(echo_proxy) as sock:
            start.wait()
            for i in range(trips):
                began = time.monotonic()
                took = round_trip(sock, f"client {n} trip {i}".encode())
                spans.append((began, began + took))
        return spans

    with ThreadPoolExecutor(clients) as pool:
        spans = [s for ss in pool.map(client, range(clients)) for s in ss]
    assert len(spans) == clients * trips
    assert all(end - began >= ROUND_TRIP for began, end in spans), spans
    # Side by side, not one after the other: count the trips in flight at each trip's start.
    # A proxy that delayed connections in turn would never have two in flight; the count
    # does not depend on how busy the machine is, as a bound on the elapsed time would.
    in_flight = max(sum(b <= began < e for b, e in spans) for began, _ in spans)
    assert in_flight >= clients // 2, in_flight


def test_half_close_is_forwarded_after_the_data_and_the_delay() -> None:
    eof_seen: list[float] = []

    def reverse_at_eof(conn: socket.socket) -> None:
        data = recv_all(conn)
        eof_seen.append(time.monotonic())
        conn.sendall(data[::-1])

    with (
        serve(reverse_at_eof) as target,
        LatencyProxy(target, DELAY_MS) as proxy,
        connect(proxy) as sock,
    ):
        sock.sendall(b"hello, warehouse")
        closed = time.monotonic()
        sock.shutdown(socket.SHUT_WR)
        reply = recv_all(sock)  # the reply still flows back, then the server's EOF
        elapsed = time.monotonic() - closed
    assert reply == b"esuoheraw ,olleh"
    assert eof_seen[0] - closed >= DELAY
    assert ROUND_TRIP <= elapsed < 0.2, elapsed


def test_a_client_gone_before_the_reply_leaves_no_connection_behind() -> None:
    def reply_at_eof(conn: socket.socket) -> None:
        conn.sendall(recv_all(conn) or b"?")

    with serve(reply_at_eof) as target, LatencyProxy(target, DELAY_MS) as proxy:
        with connect(proxy) as sock:
            sock.sendall(b"fire and forget")
        deadline = time.monotonic() + 2
        while len(proxy_threads()) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proxy_threads() == [f"chute-latency-proxy-{proxy.port}"]


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_reset_by_the_client_reaches_the_server_after_the_delay() -> None:
    outcome: queue.Queue[tuple[float, BaseException | bytes]] = queue.Queue()

    def echo_once_then_read(conn: socket.socket) -> None:
        conn.sendall(conn.recv(100))
        try:
            outcome.put((time.monotonic(), conn.recv(100)))
        except ConnectionResetError as exc:
            outcome.put((time.monotonic(), exc))

    with serve(echo_once_then_read) as target, LatencyProxy(target, DELAY_MS) as proxy:
        sock = connect(proxy)
        round_trip(sock, b"x")
        reset_at = time.monotonic()
        reset(sock)
        seen_at, what = outcome.get(timeout=5)  # before stop() ends the connection its own way
    assert isinstance(what, ConnectionResetError), what
    assert seen_at - reset_at >= DELAY


def test_a_reset_by_the_server_reaches_the_client() -> None:
    with (
        serve(lambda conn: reset(conn) if conn.recv(100) else None) as target,
        LatencyProxy(target, DELAY_MS) as proxy,
        connect(proxy) as sock,
    ):
        sock.sendall(b"boom")
        started = time.monotonic()
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
        assert time.monotonic() - started >= ROUND_TRIP


def test_a_refused_target_resets_the_client() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        target = placeholder.getsockname()[:2]
    with (
        LatencyProxy(target, DELAY_MS) as proxy,
        connect(proxy) as sock,
        pytest.raises(ConnectionResetError),
    ):
        sock.recv(100)


def test_stop_closes_open_connections_and_joins_its_threads() -> None:
    def flood_or_echo(conn: socket.socket) -> None:
        first = conn.recv(5)
        conn.sendall(b"y" * (8 * 1024 * 1024) if first == b"flood" else first)
        echo(conn)

    with serve(flood_or_echo) as target, LatencyProxy(target, DELAY_MS) as proxy:
        idle = [connect(proxy) for _ in range(3)]
        for sock in idle:
            round_trip(sock, b"hello")
        flooded = connect(proxy)
        flooded.sendall(b"flood")
        in_flight = connect(proxy)
        time.sleep(0.1)
        assert len(proxy_threads()) == 1 + 4 * 5, proxy_threads()

        port = proxy.port
        in_flight.sendall(b"hello")  # due at the server in 20 ms: dropped by stop()
        started = time.monotonic()
        proxy.stop()
        assert time.monotonic() - started < 1
        assert proxy_threads() == []
        for sock in [*idle, in_flight]:
            with suppress(ConnectionResetError):
                assert sock.recv(100) == b""
            sock.close()
        flooded.close()
        proxy.stop()  # idempotent
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_url_for_points_a_database_url_at_the_proxy(echo_proxy: LatencyProxy) -> None:
    port = echo_proxy.port
    assert (
        echo_proxy.url_for("postgresql://postgres@127.0.0.1:5432/test")
        == f"postgresql://postgres@127.0.0.1:{port}/test"
    )
    assert (
        echo_proxy.url_for("postgresql://u:p%40ss@db.example.com/x?sslmode=disable")
        == f"postgresql://u:p%40ss@127.0.0.1:{port}/x?sslmode=disable"
    )
    with pytest.raises(ValueError, match="no host"):
        echo_proxy.url_for("sqlite:///tmp/x.db")


def test_the_address_is_known_only_while_listening() -> None:
    proxy = LatencyProxy(("127.0.0.1", 1), DELAY_MS)
    with pytest.raises(RuntimeError, match="start"):
        _ = proxy.port
    with pytest.raises(ValueError, match="delay_ms"):
        LatencyProxy(("127.0.0.1", 1), -1)


def test_the_command_line_prints_its_address_and_stops_on_ctrl_c() -> None:
    with serve(echo) as target:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "chute_bench.latency_proxy"),
                *("--to", f"{target[0]}:{target[1]}", "--delay-ms", str(DELAY_MS)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            match = re.fullmatch(r"127\.0\.0\.1:(\d+)", line)
            assert match, line
            with socket.create_connection(("127.0.0.1", int(match[1])), timeout=5) as sock:
                assert round_trip(sock, b"ping") >= ROUND_TRIP
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert f"forwarding to {target[0]}:{target[1]}, 20 ms each way" in err


@pytest.mark.postgres
def test_a_postgres_query_pays_the_round_trip(pg_url: str) -> None:
    import psycopg

    parts = urlsplit(pg_url)
    target = (parts.hostname or "127.0.0.1", parts.port or 5432)
    with (
        LatencyProxy(target, DELAY_MS) as proxy,
        psycopg.connect(proxy.url_for(pg_url), autocommit=True) as conn,
    ):
        times = []
        for _ in range(3):
            started = time.monotonic()
            assert conn.execute("SELECT 1").fetchone() == (1,)
            times.append(time.monotonic() - started)
    assert all(ROUND_TRIP <= t < 0.2 for t in times), times


@pytest.mark.postgres
def test_a_postgres_copy_is_not_slowed_per_row(pg_url: str) -> None:
    import psycopg

    rows = 100_000
    data = "".join(f"{i}\tname {i}\n" for i in range(rows)).encode()
    parts = urlsplit(pg_url)
    target = (parts.hostname or "127.0.0.1", parts.port or 5432)
    with (
        LatencyProxy(target, DELAY_MS) as proxy,
        psycopg.connect(proxy.url_for(pg_url), autocommit=True) as conn,
    ):
        conn.execute("CREATE TEMP TABLE t (id int, name text)")
        started = time.monotonic()
        with conn.cursor() as cur, cur.copy("COPY t FROM STDIN") as copy:
            for start in range(0, len(data), 8192):
                copy.write(data[start : start + 8192])
        elapsed = time.monotonic() - started
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (rows,)
    assert elapsed < 1, elapsed
