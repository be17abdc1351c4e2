"""AMQP 0-9-1 on a plain socket, with one reader thread per connection.

Why not a client library: receiving is the consumer's bottleneck, and the clients measured
(``benchmarks/consume_clients.py``) spend 13–70 µs of Python per message on objects,
callbacks and tasks.  Here the reader thread parses whole socket reads in one loop: a
delivery (method, header and body frames) becomes one :class:`Delivery` tuple, and the
consumer takes them from a list in bulk.  Everything else (the handshake, declares, closes,
field tables) goes through ``pamqp``'s codec: rare, and not worth writing again.

Threads: the reader thread owns receiving, answers heartbeats and server closes; any thread
may send (one lock keeps frames whole), and waits for replies on a condition variable.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import sys
import threading
import time
from collections import deque
from typing import Any, NamedTuple, TypeVar

from pamqp import base, commands, frame
from pamqp import exceptions as pamqp_exceptions

from chute.amqp._errors import BrokerError, BrokerUnavailableError
from chute.amqp._params import AmqpParams

F = TypeVar("F", bound=base.Frame)

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
HEARTBEAT_FRAME = b"\x08\x00\x00\x00\x00\x00\x00\xce"
FRAME_MAX = 131_072
_RECV = 1 << 18
_HEAD = struct.Struct(">BHI")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_TAG = struct.Struct(">QB")
_ACK = struct.Struct(">BHIIQBB")
_CONTENT = struct.Struct(">BHIHHQ")  # a content header frame's start: class, weight, body size
_CONTENT_IN = struct.Struct(">I4xQ")  # a content header's frame size, then its body size
_DELIVER = 0x003C003C
_RETURN = 0x003C0032
_BASIC_ACK = 0x003C0050
_CLIENT_PROPERTIES: dict[str, Any] = {
    "product": "chute",
    "platform": f"Python {sys.version_info.major}.{sys.version_info.minor}",
    "capabilities": {
        "authentication_failure_close": True,
        "basic.nack": True,
        "connection.blocked": True,
        "consumer_cancel_notify": True,
        "publisher_confirms": True,
    },
}


class Delivery(NamedTuple):
    """One message as received: built once per message, so kept to a tuple."""

    #: the message body, as sent
    body: bytes
    #: the consumer's own delivery number: increasing for the consumer's life, across
    #: reconnects (the broker's tags restart on each connection)
    delivery_tag: int
    #: the ``message_id`` property, or None
    message_id: str | None
    #: the broker delivered this message before (to this or another consumer)
    redelivered: bool
    #: the content header's property flags and values as received (see :meth:`decoded`)
    properties: bytes

    def decoded(self) -> commands.Basic.Properties:
        """All the message's properties (content type, headers, timestamp, ...)."""
        props = commands.Basic.Properties()
        props.unmarshal(_U16.unpack_from(self.properties)[0], self.properties[2:])
        return props

    @property
    def headers(self) -> dict[str, Any]:
        """The message's headers table (empty when it has none)."""
        if not self.properties[0] & 0x20:  # the headers flag: bit 13 of the flags
            return {}
        return dict(self.decoded().headers or {})


_U16 = struct.Struct(">H")


def _message_id(props: bytes) -> str | None:
    """The message_id property from a content header's flags and values."""
    flags = props[0] << 8 | props[1]
    if not flags & 0x0080:
        return None
    p = 2
    if flags & 0x8000:  # content_type
        p += 1 + props[p]
    if flags & 0x4000:  # content_encoding
        p += 1 + props[p]
    if flags & 0x2000:  # headers
        p += 4 + _U32.unpack_from(props, p)[0]
    if flags & 0x1000:  # delivery_mode
        p += 1
    if flags & 0x0800:  # priority
        p += 1
    if flags & 0x0400:  # correlation_id
        p += 1 + props[p]
    if flags & 0x0200:  # reply_to
        p += 1 + props[p]
    if flags & 0x0100:  # expiration
        p += 1 + props[p]
    return props[p + 1 : p + 1 + props[p]].decode("utf-8", "replace")


def shortstr(value: str) -> bytes:
    raw = value.encode()
    if len(raw) > 255:
        raise ValueError(f"longer than 255 bytes: {value[:40]!r}...")
    return bytes((len(raw),)) + raw


class ChannelClosedError(BrokerError):
    """The broker closed a channel (404 no such queue, 406 precondition failed, ...)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{text} ({code})")
        self.code = code
        self.text = text


class _Channel:
    __slots__ = (
        "closed",
        "nacked",
        "number",
        "published",
        "replies",
        "returned",
        "settled",
        "singles",
    )

    def __init__(self, number: int) -> None:
        self.number = number
        self.replies: deque[base.Frame] = deque()
        self.closed: ChannelClosedError | None = None
        # publisher confirms: every sequence number <= settled is acked or nacked
        self.published = 0
        self.settled = 0
        self.singles: set[int] = set()
        self.nacked = 0
        self.returned: list[str] = []

    def settle(self, tag: int, multiple: bool, nack: bool) -> None:
        if multiple:
            if nack:
                self.nacked += max(0, tag - self.settled - len(self.singles))
            self.settled = max(self.settled, tag)
            self.singles = {t for t in self.singles if t > tag}
        elif tag > self.settled:
            self.nacked += nack
            self.singles.add(tag)
        while self.settled + 1 in self.singles:
            self.settled += 1
            self.singles.discard(self.settled)


class Connection:
    """One AMQP connection: handshake, a reader thread, channels, deliveries, confirms.

    Deliveries of every consuming channel are appended to one list; their tags are the
    broker's plus ``tag_offset``.  After any failure :attr:`error` is set, every waiter wakes
    and every later call raises; a connection is never reused.
    """

    def __init__(self, params: AmqpParams, *, name: str = "chute", tag_offset: int = 0) -> None:
        self.params = params
        self.name = name
        self.tag_offset = tag_offset
        #: the highest broker delivery tag received (deliveries are numbered from 1)
        self.last_tag = 0
        self.error: BrokerError | None = None
        self.blocked = False
        #: channels with a consumer (set by the caller after Basic.ConsumeOk)
        self.consuming: set[int] = set()
        self.frame_max = FRAME_MAX
        self.heartbeat = 0
        self._sock: socket.socket | None = None
        self._cv = threading.Condition()
        self._send_lock = threading.Lock()
        self._channels: dict[int, _Channel] = {}
        self._ready: list[Delivery] = []
        self._ready_bytes = 0
        self._reader: threading.Thread | None = None
        self._closing = False
        self._last_send = 0.0
        self._last_recv = 0.0
        # a delivery or return whose content is still arriving
        self._kind = 0  # 0 none, 1 delivery, 2 return
        self._p_tag = 0
        self._p_red = False
        self._p_size = 0
        self._p_props = b""
        self._p_mid: str | None = None
        self._p_parts: list[bytes] = []
        self._p_got = 0
        self._p_return = ""

    # -- opening and closing ----------------------------------------------------------------

    def open(self) -> None:
        """Connect and log in; raises one-line errors (refused, unknown host, login, vhost)."""
        p = self.params
        where = f"RabbitMQ at {p.display}"
        try:
            sock = socket.create_connection((p.host, p.port), timeout=p.connect_timeout)
        except socket.gaierror:
            raise BrokerUnavailableError(
                f"cannot connect to {where}: unknown host {p.host!r}",
                hint="check the host name in the URL",
            ) from None
        except ConnectionRefusedError:
            raise BrokerUnavailableError(
                f"cannot connect to {where}: connection refused",
                hint="is RabbitMQ running and listening on that port?",
            ) from None
        except TimeoutError:
            raise BrokerUnavailableError(
                f"cannot connect to {where}: no answer in {p.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise BrokerUnavailableError(
                f"cannot connect to {where}: {exc.strerror or exc}"
            ) from None
        self._sock = sock
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._handshake(sock, where)
        except BaseException:
            self._sock = None
            sock.close()
            raise
        sock.settimeout(None)
        self._last_recv = self._last_send = time.monotonic()
        self._reader = threading.Thread(target=self._run, name=f"{self.name}-amqp", daemon=True)
        self._reader.start()

    def _handshake(self, sock: socket.socket, where: str) -> None:
        p = self.params
        sock.sendall(PROTOCOL_HEADER)
        start = self._read_method(sock, where, before_login=True)
        if not isinstance(start, commands.Connection.Start):
            raise BrokerError(f"{where} did not start an AMQP 0-9-1 connection")
        props = dict(_CLIENT_PROPERTIES, connection_name=self.name)
        response = f"\0{p.user}\0{p.password}"
        self._write(sock, commands.Connection.StartOk(props, "PLAIN", response, "en_US"))
        tune = self._read_method(sock, where)
        if isinstance(tune, commands.Connection.Close):
            if tune.reply_code == 403:
                raise BrokerError(
                    f"{where} refused the login of user {p.user!r}: wrong user name or password",
                    hint="check the user and password in the URL",
                )
            raise BrokerUnavailableError(
                f"{where} closed the connection at the login: {tune.reply_text} ({tune.reply_code})"
            )
        if not isinstance(tune, commands.Connection.Tune):
            raise BrokerError(f"{where} sent {tune.name} where Connection.Tune was due")
        self.frame_max = min(tune.frame_max or FRAME_MAX, FRAME_MAX)
        wanted = p.heartbeat
        self.heartbeat = min(wanted, tune.heartbeat) if wanted and tune.heartbeat else wanted
        self._write(sock, commands.Connection.TuneOk(8, self.frame_max, self.heartbeat))
        self._write(sock, commands.Connection.Open(p.vhost))
        opened = self._read_method(sock, where)
        if isinstance(opened, commands.Connection.Close):
            if opened.reply_code not in (403, 530):  # not a refusal: a broker still starting
                raise BrokerUnavailableError(
                    f"{where} closed the connection: {opened.reply_text} ({opened.reply_code})"
                )
            raise BrokerError(
                f"{where} refused access to virtual host {p.vhost!r}: {opened.reply_text}",
                hint="check the virtual host (the URL's path; %2F is /) and its permissions",
            )
        if not isinstance(opened, commands.Connection.OpenOk):
            raise BrokerError(f"{where} sent {opened.name} where Connection.OpenOk was due")
        self._channels[0] = _Channel(0)

    def _write(self, sock: socket.socket, method: base.Frame, channel: int = 0) -> None:
        sock.sendall(frame.marshal(method, channel))

    def _read_method(self, sock: socket.socket, where: str, before_login: bool = False) -> Any:
        """One method frame during the handshake (heartbeats skipped)."""
        while True:
            try:
                head = _read_exact(sock, 7)
                if head[:4] == b"AMQP":
                    raise BrokerError(f"{where} speaks another version of AMQP than 0-9-1")
                size = _HEAD.unpack(head)[2]
                if head[0] not in (1, 8) or size > FRAME_MAX:
                    raise BrokerError(f"{where} did not answer in AMQP (is that port RabbitMQ's?)")
                payload = _read_exact(sock, size + 1)
            except TimeoutError:
                raise BrokerUnavailableError(
                    f"{where} did not answer the AMQP handshake in "
                    f"{self.params.connect_timeout:g} s (is that port RabbitMQ's?)"
                ) from None
            except (EOFError, OSError):
                if before_login:
                    raise BrokerUnavailableError(
                        f"{where} closed the connection during the AMQP handshake "
                        "(is that port RabbitMQ's?)"
                    ) from None
                raise BrokerUnavailableError(
                    f"{where} closed the connection during the login"
                ) from None
            if head[0] == 8:
                continue
            try:
                return frame.unmarshal(head + payload)[2]
            except pamqp_exceptions.UnmarshalingException:
                raise BrokerError(f"{where} sent a frame that is not AMQP 0-9-1") from None

    def close(self, timeout: float = 5.0) -> None:
        """Close politely (the broker requeues unacked messages), then the socket."""
        with self._cv:
            if self._closing:
                return
            self._closing = True
        if self.error is None and self._sock is not None:
            try:
                self.send(frame.marshal(commands.Connection.Close(200, "closing", 0, 0), 0))
                with self._cv:
                    self._cv.wait_for(lambda: self.error is not None, timeout)
            except BrokerError:
                pass
        self._fail(BrokerUnavailableError("the connection was closed"))
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout)
        if self._sock is not None:
            self._sock.close()

    def _fail(self, error: BrokerError) -> None:
        with self._cv:
            if self.error is None:
                self.error = error
            self._cv.notify_all()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def lost(self, what: str) -> BrokerUnavailableError:
        """A fresh error saying the connection is gone, for a caller's ``raise``."""
        reason = self.error.message if self.error is not None else "it was closed"
        return BrokerUnavailableError(f"{what}: the connection to RabbitMQ was lost ({reason})")

    # -- sending and waiting ----------------------------------------------------------------

    def send(self, data: bytes) -> None:
        sock = self._sock
        with self._send_lock:
            if self.error is not None or sock is None:
                raise self.lost("cannot send")
            try:
                sock.sendall(data)
            except OSError as exc:
                self._fail(BrokerUnavailableError(f"sending failed: {exc.strerror or exc}"))
                raise self.lost("cannot send") from None
            self._last_send = time.monotonic()

    def send_method(self, channel: int, method: base.Frame) -> None:
        self.send(frame.marshal(method, channel))

    def rpc(self, channel: int, method: base.Frame, expect: type[F], timeout: float = 30.0) -> F:
        """Send a synchronous method and wait for its reply on the channel."""
        self.send_method(channel, method)
        deadline = time.monotonic() + timeout
        with self._cv:
            ch = self._channels[channel]
            while not ch.replies:
                if ch.closed is not None:
                    raise ch.closed
                if self.error is not None:
                    raise self.lost(method.name)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrokerUnavailableError(
                        f"RabbitMQ did not answer {method.name} in {timeout:g} s"
                    )
                self._cv.wait(remaining)
            reply = ch.replies.popleft()
        if not isinstance(reply, expect):
            raise BrokerError(f"RabbitMQ answered {method.name} with {reply.name}")
        return reply

    def open_channel(self, number: int, *, confirm: bool = False) -> None:
        with self._cv:
            self._channels[number] = _Channel(number)
        self.rpc(number, commands.Channel.Open(), commands.Channel.OpenOk)
        if confirm:
            self.rpc(number, commands.Confirm.Select(), commands.Confirm.SelectOk)

    def ack(self, channel: int, broker_tag: int, multiple: bool) -> None:
        self.send(_ACK.pack(1, channel, 13, _BASIC_ACK, broker_tag, multiple, 0xCE))

    def take(self, max_rows: int, max_bytes: int, timeout: float) -> tuple[list[Delivery], int]:
        """Up to ``max_rows`` deliveries and about ``max_bytes`` of bodies (at least one
        delivery whatever its size), waiting up to ``timeout`` for the first."""
        with self._cv:
            if not self._ready and self.error is None and timeout > 0:
                self._cv.wait(timeout)
            ready = self._ready
            if not ready or self.error is not None:
                return [], 0
            if len(ready) <= max_rows and self._ready_bytes <= max_bytes:
                nbytes = self._ready_bytes
                self._ready = []
                self._ready_bytes = 0
                return ready, nbytes
            nbytes = 0
            i = 0
            limit = min(len(ready), max_rows)
            while i < limit:
                nbytes += len(ready[i][0])
                i += 1
                if nbytes >= max_bytes:
                    break
            got = ready[:i]
            del ready[:i]
            self._ready_bytes -= nbytes
            return got, nbytes

    def buffered(self) -> int:
        """Deliveries received and not yet taken."""
        with self._cv:
            return len(self._ready)

    def published(self, channel: int, count: int) -> int:
        """Count ``count`` publishes about to be sent on a confirm channel; the last's
        sequence number."""
        with self._cv:
            ch = self._channels[channel]
            ch.published += count
            return ch.published

    def wait_confirms(self, channel: int, upto: int, timeout: float) -> tuple[int, list[str]]:
        """Wait until every publish up to sequence number ``upto`` is confirmed; the count of
        nacks and the returned messages' reasons since the last call."""
        deadline = time.monotonic() + timeout
        with self._cv:
            ch = self._channels[channel]
            while ch.settled < upto:
                if ch.closed is not None:
                    raise ch.closed
                if self.error is not None:
                    raise self.lost("waiting for publisher confirms")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    blocked = " (the broker blocks publishers: a memory or disk alarm)"
                    raise BrokerUnavailableError(
                        f"RabbitMQ confirmed {ch.settled} of {upto} messages in {timeout:g} s"
                        + (blocked if self.blocked else "")
                    )
                self._cv.wait(min(remaining, 1.0))
            nacked, returned = ch.nacked, ch.returned
            ch.nacked, ch.returned = 0, []
            return nacked, returned

    # -- the reader thread ------------------------------------------------------------------

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        heartbeat = self.heartbeat
        tick = max(0.2, heartbeat / 4) if heartbeat else 1.0
        leftover = b""
        try:
            while True:
                if poller.poll(tick * 1000):
                    chunk = sock.recv(_RECV)
                    if not chunk:
                        raise BrokerUnavailableError("RabbitMQ closed the connection")
                    data = leftover + chunk if leftover else chunk
                    used = self._parse(data)
                    leftover = data[used:]
                    self._last_recv = time.monotonic()
                if heartbeat:
                    now = time.monotonic()
                    if now - self._last_recv > 2 * heartbeat:
                        raise BrokerUnavailableError(
                            f"no data nor heartbeat from RabbitMQ in {2 * heartbeat} s"
                        )
                    if now - self._last_send > heartbeat / 2:
                        with contextlib.suppress(BrokerError):
                            self.send(HEARTBEAT_FRAME)
        except BrokerError as exc:
            self._fail(exc)
        except OSError as exc:
            self._fail(BrokerUnavailableError(f"the connection failed: {exc.strerror or exc}"))
        except Exception as exc:  # a protocol error: say what, stop this connection
            self._fail(BrokerError(f"cannot read RabbitMQ's frames: {exc!r}"))

    def _parse(self, data: bytes) -> int:
        """Handle every whole frame in ``data``; the count of bytes used."""
        head = _HEAD.unpack_from
        u32 = _U32.unpack_from
        tnew = tuple.__new__
        offset = self.tag_offset
        kind, tag, red, size = self._kind, self._p_tag, self._p_red, self._p_size
        props, mid, parts, got = self._p_props, self._p_mid, self._p_parts, self._p_got
        out: list[Delivery] = []
        nbytes = 0
        n = len(data)
        pos = 0
        while pos + 7 < n:
            ftype, channel, fsize = head(data, pos)
            end = pos + 7 + fsize
            if end >= n:
                break
            if data[end] != 0xCE:
                raise BrokerError("RabbitMQ sent a malformed frame (no frame end)")
            if ftype == 3:  # body
                if fsize == size and not parts:
                    body = data[pos + 7 : end]
                else:
                    parts.append(data[pos + 7 : end])
                    got += fsize
                    if got < size:
                        pos = end + 1
                        continue
                    body = b"".join(parts)
                    parts = []
                    got = 0
                if kind == 1:
                    out.append(tnew(Delivery, (body, offset + tag, mid, red, props)))
                    nbytes += size
                elif kind == 2:
                    self._returned(channel)
                kind = 0
            elif ftype == 1:  # method
                index = u32(data, pos + 7)[0]
                if index == _DELIVER:
                    p = pos + 11
                    tag, red_bit = _TAG.unpack_from(data, p + 1 + data[p])
                    red = red_bit & 1 == 1
                    kind = 1
                    # the fast path: the header and a one-frame body are here already
                    h = end + 1
                    if h + 19 <= n and data[h] == 2:
                        hsize, size = _CONTENT_IN.unpack_from(data, h + 3)
                        hend = h + 7 + hsize
                        b = hend + 1
                        if b + 7 <= n and data[hend] == 0xCE and data[b] == 3:
                            bend = b + 7 + head(data, b)[2]
                            if bend - b - 7 == size and bend < n and data[bend] == 0xCE:
                                props = data[h + 19 : hend]
                                mid = _message_id(props) if props[1] & 0x80 else None
                                body = data[b + 7 : bend]
                                out.append(tnew(Delivery, (body, offset + tag, mid, red, props)))
                                nbytes += size
                                kind = 0
                                pos = bend + 1
                                continue
                else:
                    method = frame.unmarshal(data[pos : end + 1])[2]
                    if not isinstance(method, base.Frame):
                        raise BrokerError(f"RabbitMQ sent {method.name} as a method frame")
                    if isinstance(method, commands.Basic.Return):
                        kind = 2
                        self._p_return = f"{method.reply_text} ({method.reply_code})"
                    else:
                        self._method(channel, method)
            elif ftype == 2:  # content header
                size = _U64.unpack_from(data, pos + 11)[0]
                props = data[pos + 19 : end]
                mid = _message_id(props) if props[1] & 0x80 else None
                if size == 0:
                    if kind == 1:
                        out.append(tnew(Delivery, (b"", offset + tag, mid, red, props)))
                    elif kind == 2:
                        self._returned(channel)
                    kind = 0
            pos = end + 1
        self._kind, self._p_tag, self._p_red, self._p_size = kind, tag, red, size
        self._p_props, self._p_mid, self._p_parts, self._p_got = props, mid, parts, got
        if out:
            with self._cv:
                self._ready.extend(out)
                self._ready_bytes += nbytes
                self.last_tag = out[-1][1] - offset
                self._cv.notify_all()
        return pos

    def _returned(self, channel: int) -> None:
        with self._cv:
            ch = self._channels.get(channel)
            if ch is not None:
                ch.returned.append(self._p_return)

    def _method(self, channel: int, method: base.Frame) -> None:
        """A method frame other than a delivery: settle, record or hand to a waiter."""
        if isinstance(method, commands.Basic.Ack | commands.Basic.Nack):
            nack = isinstance(method, commands.Basic.Nack)
            with self._cv:
                ch = self._channels.get(channel)
                if ch is not None:
                    ch.settle(method.delivery_tag, method.multiple, nack)
                    self._cv.notify_all()
        elif isinstance(method, commands.Connection.Close):
            with contextlib.suppress(BrokerError):
                self.send_method(0, commands.Connection.CloseOk())
            raise BrokerUnavailableError(
                f"RabbitMQ closed the connection: {method.reply_text} ({method.reply_code})"
            )
        elif isinstance(method, commands.Connection.CloseOk):
            raise BrokerUnavailableError("the connection was closed")
        elif isinstance(method, commands.Channel.Close):
            with contextlib.suppress(BrokerError):
                self.send_method(channel, commands.Channel.CloseOk())
            with self._cv:
                ch = self._channels.get(channel)
                if ch is not None:
                    ch.closed = ChannelClosedError(method.reply_code or 0, method.reply_text)
                self._cv.notify_all()
            if channel in self.consuming:
                # deliveries stop and the unacked messages go back to the queue (after an
                # ack timeout, say): a new connection mends it
                raise BrokerUnavailableError(
                    f"RabbitMQ closed the consuming channel: {method.reply_text} "
                    f"({method.reply_code})"
                )
        elif isinstance(method, commands.Basic.Cancel):
            raise BrokerUnavailableError("RabbitMQ cancelled the consumer (was the queue deleted?)")
        elif isinstance(method, commands.Connection.Blocked | commands.Connection.Unblocked):
            with self._cv:
                self.blocked = isinstance(method, commands.Connection.Blocked)
        elif isinstance(method, commands.Channel.Flow):
            self.send_method(channel, commands.Channel.FlowOk(method.active))
        else:
            with self._cv:
                ch = self._channels.get(channel)
                if ch is not None:
                    ch.replies.append(method)
                    self._cv.notify_all()


def _read_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def content_header(channel: int, body_size: int, properties: bytes) -> bytes:
    """A content header frame for class Basic; ``properties`` starts with the flags."""
    return _CONTENT.pack(2, channel, 12 + len(properties), 60, 0, body_size) + properties + b"\xce"


def body_frames(channel: int, body: bytes, frame_max: int) -> list[bytes]:
    """The body frames of a message: none for an empty body (AMQP 0-9-1 sends a content
    header of size 0 and no body frame; RabbitMQ closes the connection on an empty one)."""
    limit = frame_max - 8
    if not body:
        return []
    if len(body) <= limit:
        return [_HEAD.pack(3, channel, len(body)), body, b"\xce"]
    out: list[bytes] = []
    for start in range(0, len(body), limit):
        piece = body[start : start + limit]
        out += (_HEAD.pack(3, channel, len(piece)), piece, b"\xce")
    return out


def publish_method(channel: int, exchange: str, routing_key: str, mandatory: bool) -> bytes:
    """A whole Basic.Publish method frame (constant for one exchange and routing key)."""
    return frame.marshal(
        commands.Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=mandatory),
        channel,
    )


__all__ = [
    "HEARTBEAT_FRAME",
    "ChannelClosedError",
    "Connection",
    "Delivery",
    "body_frames",
    "content_header",
    "publish_method",
    "shortstr",
]
