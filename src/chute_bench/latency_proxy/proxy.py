"""A TCP proxy that delays every byte, standing in for a database far away.

``LatencyProxy(target, delay_ms)`` listens on a local port and forwards each connection to
``target``; every chunk it receives is sent on ``delay_ms`` later, in each direction, so a
round trip costs ``2 × delay_ms`` more.  It is a delay line, not a throttle: chunks received
while others wait are in flight together, so bandwidth is kept and only round trips cost::

    with LatencyProxy(("127.0.0.1", 5432), delay_ms=20) as proxy:
        url = proxy.url_for("postgresql://postgres@127.0.0.1:5432/test")  # the proxy's port
        chute.load("orders.csv", into=url)

The command line runs one until Ctrl-C::

    python -m chute_bench.latency_proxy --to 127.0.0.1:5432 --delay-ms 20

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

import logging
import selectors
import socket
import threading
import time
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

from chute_bench.latency_proxy.link import CONNECT_TIMEOUT, Address, Link, format_address, nodelay

__all__ = ["LatencyProxy"]

log = logging.getLogger("chute_bench.latency_proxy")


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
        self._links: set[Link] = set()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._name = "chute-latency-proxy"

    def __repr__(self) -> str:
        where = format_address(self.address) if self._listener else "not listening"
        target = format_address(self.target)
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
        netloc = f"{userinfo}{at}{format_address((host, port))}"
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
        deadline = time.monotonic() + CONNECT_TIMEOUT + 5
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
                    log.debug("connection from %s", format_address(peer[:2]))
                    client.setblocking(True)
                    nodelay(client)
                    link = Link(self, client)
                    with self._lock:
                        self._links.add(link)
                        self._threads = [t for t in self._threads if t.is_alive()]
                    link.spawn(link.connect, "connect")

    def _start(self, thread: threading.Thread) -> None:
        """Start ``thread`` and track it, at once under the lock: the accept loop prunes
        threads that are not alive, and one tracked before it started was pruned, and never
        joined by :meth:`stop`."""
        with self._lock:
            thread.start()
            self._threads.append(thread)

    def _forget(self, link: Link) -> None:
        with self._lock:
            self._links.discard(link)
