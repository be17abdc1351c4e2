"""One pika connection whose I/O loop runs in a thread of its own.

pika is not thread-safe: everything that touches a connection runs in its loop's thread.
Other threads hand work over with :meth:`Link.call` (and wait for its answer) or
:meth:`Link.post` (and do not wait).  The loop answers heartbeats while the engine is busy,
notices a broker that went silent (no byte for the heartbeat plus 5 s: pika's check), and
keeps the connection's state: :attr:`Link.error` once it is lost, :attr:`Link.blocked`
while the broker blocks its publishing (a memory or disk alarm).

pika's exceptions become chute's one-line errors in :mod:`chute.amqp.pika_errors`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pika
import pika.channel
from pika import exceptions as px

from chute.amqp._errors import BrokerError, BrokerUnavailableError
from chute.amqp._params import AmqpParams
from chute.amqp.pika_errors import broker_error, lost_error

log = logging.getLogger("chute.amqp")
_pika_log = logging.getLogger("pika")
if _pika_log.level == logging.NOTSET:  # pika logs what chute reports itself, in one line
    _pika_log.setLevel(logging.CRITICAL)

#: how long an answer to a declare, a qos or a channel open is waited for
RPC_TIMEOUT = 30.0


class ChannelClosedError(Exception):
    """The broker closed a channel (a 404 for a passive declare of a missing queue, say)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{text} ({code})")
        self.code = code


class Link:
    """A pika ``SelectConnection`` in a thread: open it, hand it work, close it."""

    def __init__(
        self,
        params: AmqpParams,
        name: str,
        *,
        on_lost: Callable[[BrokerError], None] | None = None,
        blocked_timeout: float | None = None,
    ) -> None:
        self.params = params
        self.name = name
        self.where = f"RabbitMQ at {params.display}"
        #: why the connection is gone (set once), or None
        self.error: BrokerError | None = None
        #: the broker's reason while it blocks this connection's publishing, else None
        self.blocked: str | None = None
        self._on_lost = on_lost
        self._blocked_timeout = blocked_timeout
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        self._opened: Future[None] = Future()
        self._conn: pika.SelectConnection | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    # -- opening and closing ------------------------------------------------------------------

    def open(self) -> None:
        """Connect and log in.  Raises one line: refused, unknown host, TLS, login, vhost
        (and :class:`~chute.errors.ConfigError` for TLS files that cannot be used)."""
        parameters = self._connection_parameters()
        self._thread = threading.Thread(
            target=self._run, args=(parameters,), name=f"{self.name}-amqp", daemon=True
        )
        self._thread.start()
        try:
            # pika's stack timeout bounds the whole opening; this only guards against a hang
            self._opened.result(timeout=2 * self.params.connect_timeout + 5)
        except FutureTimeout:
            self.close(timeout=1.0)
            raise BrokerUnavailableError(
                f"cannot connect to {self.where}: no answer in {self.params.connect_timeout:g} s"
            ) from None
        except BrokerError:
            self.close(timeout=1.0)
            raise

    def _run(self, parameters: pika.ConnectionParameters) -> None:
        try:
            conn = pika.SelectConnection(
                parameters,
                on_open_callback=self._on_open,
                on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_close,
            )
        except Exception as exc:
            self._opened.set_exception(broker_error(exc, self.params))
            return
        self._conn = conn
        conn.add_on_connection_blocked_callback(self._on_blocked)
        conn.add_on_connection_unblocked_callback(self._on_unblocked)
        try:
            conn.ioloop.start()
        finally:
            with contextlib.suppress(Exception):
                conn.ioloop.close()
            self._lost(BrokerUnavailableError("the connection was closed"))

    def _connection_parameters(self) -> pika.ConnectionParameters:
        p = self.params
        credentials: pika.credentials.PlainCredentials | pika.credentials.ExternalCredentials
        if p.auth == "EXTERNAL":
            credentials = pika.credentials.ExternalCredentials()
        else:
            credentials = pika.PlainCredentials(p.user, p.password, erase_on_connect=True)
        return pika.ConnectionParameters(
            host=p.host,
            port=p.port,
            virtual_host=p.vhost,
            credentials=credentials,
            ssl_options=pika.SSLOptions(p.ssl_context(), p.host) if p.tls else None,
            heartbeat=p.heartbeat,
            connection_attempts=1,
            socket_timeout=p.connect_timeout,
            stack_timeout=p.connect_timeout + 1,
            blocked_connection_timeout=self._blocked_timeout,
            client_properties={
                "connection_name": self.name,
                "product": "chute",
                "platform": f"Python {sys.version_info.major}.{sys.version_info.minor}",
            },
        )

    def _on_open(self, _conn: Any) -> None:
        self._opened.set_result(None)

    def _on_open_error(self, conn: Any, exc: BaseException) -> None:
        if not self._opened.done():
            self._opened.set_exception(broker_error(exc, self.params))
        conn.ioloop.stop()

    def _on_close(self, conn: Any, reason: BaseException) -> None:
        if not self._opened.done():  # closed while opening: the open error says why
            self._opened.set_exception(broker_error(reason, self.params))
        self._lost(lost_error(reason, self.params))
        conn.ioloop.stop()

    def _on_blocked(self, _conn: Any, frame: Any) -> None:
        self.blocked = getattr(frame.method, "reason", "") or "a resource alarm"
        log.warning("%s blocks publishing on %r: %s", self.where, self.name, self.blocked)

    def _on_unblocked(self, _conn: Any, _frame: Any) -> None:
        self.blocked = None

    def _lost(self, error: BrokerError) -> None:
        with self._lock:
            if self.error is not None:
                return
            self.error = self._closed_error() if self._closing else error
            pending, self._pending = self._pending, set()
        for fut in pending:
            if not fut.done():
                fut.set_exception(self.error)
        if self._on_lost is not None and not self._closing:
            self._on_lost(self.error)

    def _closed_error(self) -> BrokerError:
        return BrokerUnavailableError("the connection was closed")

    def close(self, timeout: float = 5.0) -> None:
        """Close politely (the broker requeues unacked messages), then stop the thread.

        A connection the broker blocks is dropped at once: RabbitMQ stops reading a blocked
        connection, so it would never answer the close.  So is one that does not answer
        the close in ``timeout`` s, or is still opening: its socket is closed, not left
        behind."""
        self._closing = True
        conn, thread = self._conn, self._thread
        if conn is not None and thread is not None and thread.is_alive():
            polite = self.blocked is None
            with contextlib.suppress(Exception):
                conn.ioloop.add_callback_threadsafe(
                    self._close_in_loop if polite else self._drop_in_loop
                )
            thread.join(timeout if polite else 1.0)
            if thread.is_alive():
                with contextlib.suppress(Exception):
                    conn.ioloop.add_callback_threadsafe(self._drop_in_loop)
                thread.join(1.0)
        self._lost(self._closed_error())

    def _close_in_loop(self) -> None:
        conn = self._conn
        if conn is None:
            return
        if conn.is_open:
            conn.close()
        elif conn.is_closed:
            conn.ioloop.stop()
        else:  # still opening, or closing already
            self._drop_in_loop()

    def _drop_in_loop(self) -> None:
        """Close the socket without AMQP's closing handshake, then stop the loop."""
        conn = self._conn
        if conn is None:
            return
        if not conn.is_closed:
            # pika has no public call for this; it drops a connection the same way itself
            # (a blocked connection's timeout): the transport goes down (or the opening is
            # aborted), then the close callback runs, which stops the loop
            with contextlib.suppress(Exception):
                conn._terminate_stream(px.ConnectionClosedByClient(0, "dropped by chute"))
                return
        conn.ioloop.stop()

    # -- handing work over --------------------------------------------------------------------

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the loop's thread, soon; raises the connection's error if it is lost.

        An exception ``fn`` raises is logged and goes no further: pika lets it end the
        loop's thread, which would leave the connection open and its unacked messages held
        until the broker's heartbeat gives it up."""
        conn = self._conn
        if self.error is not None or conn is None:
            raise self.error or self._closed_error()

        def guarded() -> None:
            try:
                fn()
            except Exception as exc:  # a channel or the connection closed meanwhile
                log.warning("%s (%s): %r in the connection's thread", self.where, self.name, exc)

        try:
            conn.ioloop.add_callback_threadsafe(guarded)
        except Exception:  # the loop is closed
            raise self.error or self._closed_error() from None

    def call(self, fn: Callable[[Future[Any]], None], timeout: float = RPC_TIMEOUT) -> Any:
        """Run ``fn(future)`` in the loop's thread and wait for the future's result.  ``fn``
        (or a callback it sets up) completes the future; an exception it raises, a loss of
        the connection or ``timeout`` fails it."""
        fut: Future[Any] = Future()
        with self._lock:
            if self.error is not None:
                raise self.error
            self._pending.add(fut)

        def run() -> None:
            try:
                fn(fut)
            except Exception as exc:  # pika refused the call in this state
                if not fut.done():
                    fut.set_exception(broker_error(exc, self.params))

        try:
            self.post(run)
            return fut.result(timeout)
        except FutureTimeout:
            raise BrokerUnavailableError(
                f"{self.where} did not answer in {timeout:g} s"
                + (f" (it blocks the connection: {self.blocked})" if self.blocked else "")
            ) from None
        finally:
            with self._lock:
                self._pending.discard(fut)

    @property
    def connection(self) -> pika.SelectConnection:
        """The pika connection: for use in the loop's thread only."""
        assert self._conn is not None
        return self._conn

    def channel(self, timeout: float = RPC_TIMEOUT) -> Channel:
        """A new channel (from any thread)."""

        def start(fut: Future[Any]) -> None:
            assert self._conn is not None
            chan = Channel(self)
            self._conn.channel(on_open_callback=lambda ch: chan.opened(ch, fut))

        result: Channel = self.call(start, timeout)
        return result


class Channel:
    """A pika channel and the one request waiting on it; the broker closing the channel
    fails that request with :class:`ChannelClosedError`."""

    def __init__(self, link: Link) -> None:
        self.link = link
        #: called (in the loop's thread) when the broker closes the channel
        self.on_close: Callable[[ChannelClosedError], None] | None = None
        self.ch: pika.channel.Channel | None = None
        self.pending: Future[Any] | None = None
        #: why the broker closed the channel, or None while it is open
        self.closed: ChannelClosedError | None = None

    def opened(self, ch: pika.channel.Channel, fut: Future[Any]) -> None:
        self.ch = ch
        ch.add_on_close_callback(self._on_close)
        fut.set_result(self)

    def _on_close(self, _ch: Any, reason: BaseException) -> None:
        code = getattr(reason, "reply_code", 0) or 0
        text = getattr(reason, "reply_text", "") or str(reason)
        self.closed = ChannelClosedError(code, text)
        if self.on_close is not None and isinstance(reason, px.ChannelClosedByBroker):
            self.on_close(self.closed)  # not with the connection: the link says why
        fut, self.pending = self.pending, None
        if fut is not None and not fut.done():
            fut.set_exception(self.closed)

    def rpc(self, start: Callable[[pika.channel.Channel, Callable[[Any], None]], None]) -> Any:
        """Run ``start(channel, done)`` in the loop; wait for ``done(frame)``, the answer."""

        def run(fut: Future[Any]) -> None:
            if self.closed is not None or self.ch is None:
                fut.set_exception(self.closed or ChannelClosedError(0, "the channel is closed"))
                return
            self.pending = fut

            def done(frame: Any) -> None:
                self.pending = None
                if not fut.done():
                    fut.set_result(frame)

            start(self.ch, done)

        return self.link.call(run)
