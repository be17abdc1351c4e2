"""One proxied connection: per direction, a reader that stamps each chunk with its due
time and a writer that sends it when due (see :mod:`chute_bench.latency_proxy.proxy`)."""

from __future__ import annotations

import collections
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chute_bench.latency_proxy.proxy import LatencyProxy

log = logging.getLogger("chute_bench.latency_proxy")

Address = tuple[str, int]

_CHUNK = 64 * 1024
# Bytes a direction may hold in flight before its reader waits: 32 MiB in flight over a
# 20 ms delay still passes 1.6 GB/s, more than a database loads.
_IN_FLIGHT_LIMIT = 32 * 1024 * 1024
CONNECT_TIMEOUT = 5.0
_RESET = None  # the end of a direction that was reset; b"" is the end of one that was closed


class DelayLine:
    """A FIFO of ``(due, chunk)`` holding at most ``_IN_FLIGHT_LIMIT`` bytes; put waits."""

    def __init__(self) -> None:
        self._items: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self._bytes = 0
        self._changed = threading.Condition()

    def put(self, due: float, chunk: bytes | None) -> None:
        with self._changed:
            while self._bytes >= _IN_FLIGHT_LIMIT:
                self._changed.wait()
            self._items.append((due, chunk))
            self._bytes += len(chunk or b"")
            self._changed.notify_all()

    def get(self) -> tuple[float, bytes | None]:
        with self._changed:
            while not self._items:
                self._changed.wait()
            due, chunk = self._items.popleft()
            self._bytes -= len(chunk or b"")
            self._changed.notify_all()
            return due, chunk


class Link:
    """One client connection and its connection to the target.

    The last of its threads to finish closes both sockets.  ``closed`` is set by
    :meth:`abort`: writers then stop waiting and drop what is in flight, readers stop reading.
    """

    def __init__(self, proxy: LatencyProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: socket.socket | None = None
        self.closed = threading.Event()
        self._delay = proxy.delay_ms / 1000
        self._lock = threading.Lock()
        self._running = 0

    def spawn(self, work: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(
            target=self._run,
            args=(work, *args),
            name=f"{self.proxy._name}-{name}",
            daemon=True,
        )
        with self._lock:
            self._running += 1
        self.proxy._start(thread)

    def _run(self, work: Callable[..., None], *args: object) -> None:
        try:
            work(*args)
        except Exception:  # a bug, not a network event: end the connection, say why
            log.exception("latency proxy thread failed")
            self.abort(reset=True)
        finally:
            self._finished()

    def _finished(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running:
                return
            self.closed.set()
            self.client.close()
            if self.upstream is not None:
                self.upstream.close()
        self.proxy._forget(self)

    def connect(self) -> None:
        try:
            upstream = socket.create_connection(self.proxy.target, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            log.warning("cannot connect to %s: %s", format_address(self.proxy.target), exc)
            self.abort(reset=True)
            return
        upstream.settimeout(None)
        nodelay(upstream)
        with self._lock:
            if self.closed.is_set():  # stopped while connecting
                upstream.close()
                return
            self.upstream = upstream
        up, down = DelayLine(), DelayLine()
        self.spawn(self.read, "up-read", self.client, up)
        self.spawn(self.write, "up-write", up, upstream)
        self.spawn(self.read, "down-read", upstream, down)
        self.spawn(self.write, "down-write", down, self.client)

    def read(self, source: socket.socket, line: DelayLine) -> None:
        """Stamp each chunk from ``source`` with its due time; end with b"" or a reset."""
        try:
            while chunk := source.recv(_CHUNK):
                if self.closed.is_set():
                    break
                line.put(time.monotonic() + self._delay, chunk)
        except OSError:
            line.put(time.monotonic() + self._delay, _RESET)
        else:
            line.put(time.monotonic() + self._delay, b"")

    def write(self, line: DelayLine, sink: socket.socket) -> None:
        """Send each chunk to ``sink`` when due, until the end of the line."""
        while True:
            due, chunk = line.get()
            while not self.closed.is_set() and (wait := due - time.monotonic()) > 0:
                self.closed.wait(wait)
            if not chunk:  # the end of the line: pass it on, unless the link was aborted
                if not self.closed.is_set():
                    self._end(sink, reset=chunk is _RESET)
                return
            if self.closed.is_set():
                continue  # aborted: drop it, but drain so the reader never waits
            try:
                sink.sendall(chunk)
            except OSError:
                self.abort(reset=True)

    def _end(self, sink: socket.socket, *, reset: bool) -> None:
        if reset:
            self.abort(reset=True)
            return
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:  # the peer is already gone
            self.abort(reset=True)

    def abort(self, *, reset: bool) -> None:
        """End the connection: with a reset (RST to both peers) or, on stop, at once.

        Only wakes the threads (``shutdown``); the last of them closes the sockets.
        """
        with self._lock:
            self.closed.set()
            for sock in (self.client, self.upstream):
                if sock is None or sock.fileno() < 0:
                    continue
                try:
                    # close() then resets rather than ends politely
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    # SHUT_RD wakes the reader without sending a FIN first; stop() also
                    # wakes a writer stuck on a peer that does not read
                    sock.shutdown(socket.SHUT_RD if reset else socket.SHUT_RDWR)
                except OSError:
                    pass


def nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def format_address(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
