"""A TCP proxy that delays every byte, standing in for a database far away.

``LatencyProxy(target, delay_ms)`` listens on a local port and forwards each connection to
``target``; every chunk it receives is sent on ``delay_ms`` later, in each direction, so a
round trip costs ``2 × delay_ms`` more.  It is a delay line, not a throttle: chunks received
while others wait are in flight together, so bandwidth is kept and only round trips cost::

    with LatencyProxy(("127.0.0.1", 5432), delay_ms=20) as proxy:
        url = proxy.url_for("postgresql://postgres@127.0.0.1:5432/test")  # the proxy's port
        chute.load("orders.csv", into=url)

The command line runs one until Ctrl-C::

    python -m chute.testing.latency_proxy --to 127.0.0.1:5432 --delay-ms 20

Each connection is four threads: per direction, a reader stamps each chunk with its due time
and a writer sends it when due; up to 32 MiB wait per direction before the reader stops
reading (1.6 GB/s at 20 ms).  What the proxy passes on, after the delay:

- data, in order, with ``TCP_NODELAY`` on both sockets;
- a half-close (EOF one way, the other way still open);
- a connection reset (the other side gets a reset too).

Not delayed: the TCP handshake (the kernel accepts locally, so connecting costs no round
trip until the first bytes) and a failed connection to the target (the client is reset at
once).  ``stop()`` ends every connection at once (its peers see an EOF or a reset), drops
what is in flight and joins its threads.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

__all__ = ["LatencyProxy", "main"]

log = logging.getLogger(__name__)

Address = tuple[str, int]

_CHUNK = 64 * 1024
# Bytes a direction may hold in flight before its reader waits: 32 MiB in flight over a
# 20 ms delay still passes 1.6 GB/s, more than a database loads.
_IN_FLIGHT_LIMIT = 32 * 1024 * 1024
_CONNECT_TIMEOUT = 5.0
_RESET = None  # the end of a direction that was reset; b"" is the end of one that was closed


class LatencyProxy:
    """Forward TCP connections to ``target``, each byte ``delay_ms`` late in each direction.

    ``listen`` is the local address; port 0 (the default) picks a free one, see :attr:`port`.
    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, target: Address, delay_ms: float, listen: Address = ("127.0.0.1", 0)):
        if delay_ms < 0:
            raise ValueError(f"delay_ms must be >= 0, not {delay_ms}")
        self.target = target
        self.delay_ms = delay_ms
        self.listen = listen
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._acceptor: threading.Thread | None = None
        self._links: set[_Link] = set()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._name = "chute-latency-proxy"

    def __repr__(self) -> str:
        where = _format_address(self.address) if self._listener else "not listening"
        target = _format_address(self.target)
        return f"<LatencyProxy {where} -> {target}, {self.delay_ms:g} ms each way>"

    @property
    def address(self) -> Address:
        """The address the proxy listens on (known once started)."""
        if self._listener is None:
            raise RuntimeError("the proxy is not listening; call start() first")
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's.

        ``postgresql://postgres@127.0.0.1:5432/test`` becomes
        ``postgresql://postgres@127.0.0.1:<port>/test``; user, password, path and query stay.
        """
        parts = urlsplit(url)
        if not parts.hostname:
            raise ValueError(f"{url!r} has no host to point at the proxy")
        userinfo, at, _ = parts.netloc.rpartition("@")
        host, port = self.address
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        netloc = f"{userinfo}{at}{_format_address((host, port))}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def start(self) -> Self:
        """Listen and serve in background threads; returns the proxy."""
        if self._listener is not None or self._stopped:
            raise RuntimeError("a LatencyProxy starts once")
        self._listener = socket.create_server(self.listen, backlog=128)
        self._listener.setblocking(False)
        self._wake = socket.socketpair()
        self._name = f"chute-latency-proxy-{self.port}"
        self._acceptor = threading.Thread(target=self._accept_loop, name=self._name, daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop listening, end every connection at once and join every thread.  Idempotent."""
        if self._listener is None or self._wake is None or self._acceptor is None:
            self._stopped = True
            return
        self._wake[1].send(b"x")
        self._acceptor.join()
        for sock in (self._listener, *self._wake):
            sock.close()
        self._listener = self._wake = self._acceptor = None
        with self._lock:
            self._stopped = True
            links = list(self._links)
        for link in links:
            link.abort(reset=False)
        deadline = time.monotonic() + _CONNECT_TIMEOUT + 5
        while True:  # a link still connecting may start its pumps meanwhile: join those too
            with self._lock:
                threads, self._threads = self._threads, []
            if not threads:
                break
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    raise RuntimeError(f"latency proxy thread {thread.name} did not finish")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake is not None
        listener, wake = self._listener, self._wake[0]
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is wake:
                        return
                    try:
                        client, peer = listener.accept()
                    except (BlockingIOError, ConnectionAbortedError):
                        continue
                    except OSError as exc:  # out of file descriptors, say: let some close
                        log.warning("latency proxy cannot accept: %s", exc)
                        time.sleep(0.1)
                        continue
                    log.debug("connection from %s", _format_address(peer[:2]))
                    client.setblocking(True)
                    _nodelay(client)
                    link = _Link(self, client)
                    with self._lock:
                        self._links.add(link)
                        self._threads = [t for t in self._threads if t.is_alive()]
                    link.spawn(link.connect, "connect")

    def _track(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads.append(thread)

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)


class _DelayLine:
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


class _Link:
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
        self.proxy._track(thread)
        thread.start()

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
            upstream = socket.create_connection(self.proxy.target, timeout=_CONNECT_TIMEOUT)
        except OSError as exc:
            log.warning("cannot connect to %s: %s", _format_address(self.proxy.target), exc)
            self.abort(reset=True)
            return
        upstream.settimeout(None)
        _nodelay(upstream)
        with self._lock:
            if self.closed.is_set():  # stopped while connecting
                upstream.close()
                return
            self.upstream = upstream
        up, down = _DelayLine(), _DelayLine()
        self.spawn(self.read, "up-read", self.client, up)
        self.spawn(self.write, "up-write", up, upstream)
        self.spawn(self.read, "down-read", upstream, down)
        self.spawn(self.write, "down-write", down, self.client)

    def read(self, source: socket.socket, line: _DelayLine) -> None:
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

    def write(self, line: _DelayLine, sink: socket.socket) -> None:
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


def _nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _format_address(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_address(text: str) -> Address:
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m chute.testing.latency_proxy``: print the address, proxy until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m chute.testing.latency_proxy",
        description="Forward TCP connections, delaying every byte in each direction.",
    )
    parser.add_argument("--to", required=True, type=_parse_address, metavar="HOST:PORT")
    parser.add_argument("--delay-ms", required=True, type=float, metavar="MS")
    parser.add_argument(
        "--listen",
        type=_parse_address,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="default: 127.0.0.1 and a free port",
    )
    args = parser.parse_args(argv)
    if args.delay_ms < 0:
        parser.error("--delay-ms must be >= 0")
    proxy = LatencyProxy(args.to, args.delay_ms, listen=args.listen)
    try:
        proxy.start()
    except OSError as exc:
        parser.exit(1, f"error: cannot listen on {_format_address(args.listen)}: {exc}\n")
    try:
        print(_format_address(proxy.address), flush=True)
        print(
            f"forwarding to {_format_address(args.to)}, {args.delay_ms:g} ms each way; "
            "Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
