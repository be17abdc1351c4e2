"""Publish records to a queue as JSON messages, with publisher confirms."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson
from pamqp import commands

from chute.amqp._errors import BrokerError
from chute.amqp._params import parse_url
from chute.amqp._wire import Connection, publish_method, shortstr
from chute.amqp.consumer import _check_queue_name, _declare_if_missing
from chute.errors import ConfigError

_CH = 1
_FLAGS = struct.pack(">H", 0x8000 | 0x1000 | 0x0080)  # content_type, delivery_mode, message_id
_CONTENT_TYPE = shortstr("application/json")
_HEADER = struct.Struct(">BHIHHQ")
_BODY = struct.Struct(">BBHI")  # the header frame's end, then the body frame's start
_FLUSH_BYTES = 1 << 18
_I64, _U64 = -(1 << 63), 1 << 64  # the integers orjson writes itself


def message_id_prefix(source: str) -> str:
    """The start of the message ids of ``source``'s records (``<prefix>:<record number>``):
    the source's name, or a digest of it when the name is too long for an AMQP short string."""
    if len(source.encode()) <= 200:
        return source
    return "sha256-" + hashlib.sha256(source.encode()).hexdigest()[:32]


def publish_records(
    records: Iterable[Mapping[str, Any] | bytes],
    url: str,
    queue: str,
    *,
    source: str = "chute",
    first: int = 1,
    window: int = 2_000,
    declare: bool = True,
    confirm_timeout: float = 60.0,
) -> int:
    """Publish each record as one persistent JSON message to ``queue``; the count published.

    A record is a mapping (encoded with orjson; integers beyond 64 bits and Decimals as the
    exact numbers they are, other values JSON cannot hold as strings) or bytes (sent as
    they are).  Each message has ``content_type`` ``application/json``,
    ``delivery_mode`` 2 and ``message_id`` ``<source>:<n>``, ``n`` counting from ``first``:
    a second publish of the same file gives the same ids, which a consumer's ledger
    recognises.  The queue is declared (durable) when missing, unless ``declare`` is False.

    Up to ``window`` messages wait for the broker's confirm at once; the function returns
    when every message is confirmed, and raises :class:`BrokerError` when one was refused
    (nacked, or unroutable: the queue was deleted) and :class:`BrokerUnavailableError` when
    the connection is lost (messages before it may have been stored: publish again, their
    ids are the same).
    """
    params = parse_url(url)
    _check_queue_name(queue)
    if window < 1:
        raise ConfigError(f"the confirm window must be at least 1, not {window}")
    prefix = message_id_prefix(source)
    conn = Connection(params, name="chute publish")
    conn.open()
    try:
        if declare:
            _declare_if_missing(conn, _CH, queue)
        else:
            conn.open_channel(_CH)
        conn.rpc(_CH, commands.Confirm.Select(), commands.Confirm.SelectOk)
        method = publish_method(_CH, "", queue, True)
        limit = conn.frame_max - 8
        dumps = orjson.dumps
        option = orjson.OPT_NON_STR_KEYS
        head_pack = _HEADER.pack
        body_pack = _BODY.pack
        parts: list[bytes] = []
        pending = 0
        pending_bytes = 0
        flush_every = max(1, min(window // 2, 1000))
        count = 0
        for n, record in enumerate(records, first):
            if isinstance(record, bytes):
                body = record
            else:
                try:
                    body = dumps(record, default=_default, option=option)
                except TypeError:  # an integer beyond 64 bits, which orjson cannot write
                    body = dumps(_exact_ints(record), default=_default, option=option)
            size = len(body)
            props = _FLAGS + _CONTENT_TYPE + b"\x02" + shortstr(f"{prefix}:{n}")
            parts += (method, head_pack(2, _CH, 12 + len(props), 60, 0, size), props)
            if not size:  # no body frame at all (RabbitMQ refuses an empty one)
                parts.append(b"\xce")
            elif size <= limit:
                parts += (body_pack(0xCE, 3, _CH, size), body, b"\xce")
            else:
                parts.append(b"\xce")
                for start in range(0, size, limit):
                    piece = body[start : start + limit]
                    parts += (struct.pack(">BHI", 3, _CH, len(piece)), piece, b"\xce")
            count += 1
            pending += 1
            pending_bytes += size
            if pending >= flush_every or pending_bytes >= _FLUSH_BYTES:
                _flush(conn, parts, pending, window, confirm_timeout, queue)
                parts = []
                pending = pending_bytes = 0
        if pending:
            _flush(conn, parts, pending, window, confirm_timeout, queue)
        last = conn.published(_CH, 0)
        _check(queue, *conn.wait_confirms(_CH, last, confirm_timeout))
    finally:
        conn.close()
    return count


def _default(value: Any) -> Any:
    """What orjson cannot write itself: a finite Decimal as the exact number it is, any
    other value as its text."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value).encode())
    return str(value)


def _exact_ints(value: Any) -> Any:
    """``value`` with every integer beyond 64 bits as a JSON fragment of its digits, so that
    it is sent as the number it is (not a float, not a string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return orjson.Fragment(str(value).encode()) if not _I64 <= value < _U64 else value
    if isinstance(value, Mapping):
        return {k: _exact_ints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact_ints(v) for v in value]
    return value


def _flush(
    conn: Connection, parts: list[bytes], count: int, window: int, timeout: float, queue: str
) -> None:
    last = conn.published(_CH, count)
    conn.send(b"".join(parts))
    if last > window:
        _check(queue, *conn.wait_confirms(_CH, last - window, timeout))


def _check(queue: str, nacked: int, returned: list[str]) -> None:
    if nacked:
        raise BrokerError(f"RabbitMQ refused {nacked} message(s) for queue {queue!r} (nack)")
    if returned:
        raise BrokerError(
            f"RabbitMQ could not route {len(returned)} message(s) to queue {queue!r}: "
            f"{returned[0]} (was the queue deleted?)"
        )
