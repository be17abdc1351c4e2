"""RabbitMQ (AMQP 0-9-1, plain or TLS): consume a queue in batches, publish records, decode
bodies.  The protocol is spoken by pika (:mod:`chute.amqp.pika_broker`), behind the
:class:`Broker` protocol (:mod:`chute.amqp.broker`).

::

    from chute.amqp import QueueConsumer, DeadLetter, decode_bodies, publish_records

    with QueueConsumer("amqp://guest:guest@127.0.0.1/%2F", "orders") as consumer:
        batch = consumer.next_batch(5_000, 4 << 20, 1.0, stop)     # reader thread
        decoded = decode_bodies([d.body for d in batch])
        ...                                                         # commit
        consumer.dead_letter(DeadLetter(batch[i], kind, error) for i, kind, error in bad)
        consumer.ack_through(batch[-1].delivery_tag)                # writer thread

See :mod:`chute.amqp.consumer` for what is acked when, and ``docs/queues.md``.
"""

from chute.amqp._errors import (
    BrokerError,
    BrokerUnavailableError,
    QueueNotFoundError,
    StaleDeliveryError,
)
from chute.amqp._params import AmqpParams, parse_url, with_tls_files
from chute.amqp.broker import Broker, Consumption, Delivery, Outgoing, Publisher
from chute.amqp.consumer import QueueConsumer
from chute.amqp.dead_letters import (
    DEAD_LETTER_SUFFIX,
    ERROR_HEADER,
    ERROR_KIND_HEADER,
    FAILED_AT_HEADER,
    MESSAGE_ID_HEADER,
    QUEUE_HEADER,
    SQLSTATE_HEADER,
    DeadLetter,
    dead_letter_id,
)
from chute.amqp.decode import DecodedBodies, decode_bodies
from chute.amqp.prefetch import MAX_PREFETCH, default_prefetch, prefetch_warning
from chute.amqp.publish import message_id_prefix, publish_records

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "ERROR_HEADER",
    "ERROR_KIND_HEADER",
    "FAILED_AT_HEADER",
    "MAX_PREFETCH",
    "MESSAGE_ID_HEADER",
    "QUEUE_HEADER",
    "SQLSTATE_HEADER",
    "AmqpParams",
    "Broker",
    "BrokerError",
    "BrokerUnavailableError",
    "Consumption",
    "DeadLetter",
    "DecodedBodies",
    "Delivery",
    "Outgoing",
    "Publisher",
    "QueueConsumer",
    "QueueNotFoundError",
    "StaleDeliveryError",
    "dead_letter_id",
    "decode_bodies",
    "default_prefetch",
    "message_id_prefix",
    "parse_url",
    "prefetch_warning",
    "publish_records",
    "with_tls_files",
]
