"""The errors of the AMQP transport.

They join the tree of :mod:`chute.errors`::

    ChuteError
    ├── ConfigError
    │   └── QueueNotFoundError        the queue to consume does not exist       (exit 2)
    └── BrokerError                   the broker refused something              (exit 5)
        │                             (a login, a virtual host, a publish)
        └── BrokerUnavailableError    cannot connect, or the connection was lost; transient
            └── StaleDeliveryError    deliveries of a lost connection: they cannot be acked
                                      or dead-lettered; the broker delivers them again

Each line says what failed and where (the broker's URL without user or password).
"""

from __future__ import annotations

from chute.errors import ChuteError, ConfigError


class QueueNotFoundError(ConfigError):
    """The queue to consume from does not exist on the broker."""


class BrokerError(ChuteError):
    """The broker refused a login, a virtual host, a channel operation or a publish."""

    exit_code = 5


class BrokerUnavailableError(BrokerError):
    """The broker cannot be reached, or the connection to it was lost."""

    transient = True


class StaleDeliveryError(BrokerUnavailableError):
    """The connection that delivered these messages is gone.

    Their acks are void: the broker delivers every message that was not acked again, on the
    next connection.  What was committed from them must be recognised on redelivery (a key,
    or the message ledger); nothing needs to be undone.
    """
