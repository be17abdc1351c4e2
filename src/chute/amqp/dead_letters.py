"""Dead letters: a message that cannot be stored goes to the dead-letter queue as it came,
with why in its headers.

Headers added: ``x-chute-error``, ``x-chute-error-kind``, ``x-chute-queue``,
``x-chute-failed-at`` (ISO 8601, UTC), ``x-chute-sqlstate`` when known and
``x-chute-message-id`` (the message's own id, when it has one).  The message keeps its
body, its other properties and headers (but ``user_id``, which RabbitMQ refuses from another
login, and ``expiration``, which would let it expire), and becomes persistent; its
``message_id`` gets the suffix ``:dead-letter`` (see :func:`dead_letter_id`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from chute.amqp.broker import Delivery, Outgoing

#: properties a dead letter does not keep: RabbitMQ refuses a ``user_id`` other than the
#: publisher's login, and an ``expiration`` would let the dead letter expire from its queue
_NOT_KEPT = frozenset({"user_id", "expiration"})

#: the dead-letter queue's name when none is given: the queue's name plus this
DEAD_LETTER_SUFFIX = ".dead-letter"
#: headers a dead-lettered message gets (beside its own)
ERROR_HEADER = "x-chute-error"
ERROR_KIND_HEADER = "x-chute-error-kind"
QUEUE_HEADER = "x-chute-queue"
FAILED_AT_HEADER = "x-chute-failed-at"
SQLSTATE_HEADER = "x-chute-sqlstate"
MESSAGE_ID_HEADER = "x-chute-message-id"
#: what a dead letter's message_id ends with
DEAD_LETTER_ID_SUFFIX = ":dead-letter"


class DeadLetter(NamedTuple):
    """A message that cannot be stored, and why."""

    delivery: Delivery
    #: what went wrong: parse, decode, shape, conversion, constraint, database, ...
    kind: str
    #: one line, the reason as the user should read it
    error: str
    sqlstate: str | None = None


def dead_letter_id(message_id: str) -> str:
    """The ``message_id`` of a message's dead letter: its own plus ``:dead-letter`` (a
    digest of it when that would not fit an AMQP short string).  A dead letter sent back
    to the queue once fixed is then not mistaken for the message already handled."""
    out = message_id + DEAD_LETTER_ID_SUFFIX
    if len(out.encode()) <= 255:
        return out
    return "sha256-" + hashlib.sha256(message_id.encode()).hexdigest()[:32] + DEAD_LETTER_ID_SUFFIX


def dead_letter_messages(items: Iterable[DeadLetter], queue: str) -> list[Outgoing]:
    """Each message as it goes to the dead-letter queue: its body, its properties and
    headers, and why it could not be stored (``queue`` is where it came from)."""
    failed_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    out = []
    for item in items:
        props = {
            k: v
            for k, v in item.delivery.properties.items()
            if v is not None and k not in _NOT_KEPT
        }
        headers = dict(props.get("headers") or {})
        headers[ERROR_HEADER] = item.error[:4000]
        headers[ERROR_KIND_HEADER] = item.kind
        headers[QUEUE_HEADER] = queue
        headers[FAILED_AT_HEADER] = failed_at
        if item.sqlstate:
            headers[SQLSTATE_HEADER] = item.sqlstate
        message_id = props.get("message_id")
        if message_id:
            headers[MESSAGE_ID_HEADER] = message_id
            props["message_id"] = dead_letter_id(message_id)
        props["headers"] = headers
        props["delivery_mode"] = 2
        out.append(Outgoing(item.delivery.body, props))
    return out
