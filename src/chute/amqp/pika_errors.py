"""pika's exceptions as chute's one-line errors (:mod:`chute.amqp._errors`).

Connecting fails with a tree of pika's exceptions (the connection workflow's, the connector's,
the socket's or TLS's under them); :func:`broker_error` finds what went wrong and says it in
one line, with the broker's address and a hint.  :func:`lost_error` says why an open
connection was lost.
"""

from __future__ import annotations

import re
import socket
import ssl

from pika import exceptions as px
from pika.adapters.utils import connection_workflow as cw

from chute.amqp._errors import BrokerError, BrokerUnavailableError
from chute.amqp._params import AmqpParams


def broker_error(exc: BaseException, params: AmqpParams) -> BrokerError:
    """The one-line chute error for an exception of pika's while connecting."""
    where = f"RabbitMQ at {params.display}"
    if isinstance(exc, BrokerError):
        return exc
    if isinstance(exc, px.ProbableAuthenticationError | px.AuthenticationError):
        if params.auth == "EXTERNAL":
            return BrokerError(
                f"{where} refused the login with the client certificate (EXTERNAL)",
                hint="the broker needs the rabbitmq_auth_mechanism_ssl plugin and a user named "
                "as the certificate's subject",
            )
        return BrokerError(
            f"{where} refused the login of user {params.user!r}: wrong user name or password",
            hint="check the user and password in the URL",
        )
    if isinstance(exc, px.ProbableAccessDeniedError):
        return BrokerError(
            f"{where} refused access to virtual host {params.vhost!r}: {_closed_text(exc)}",
            hint="check the virtual host (the URL's path; %2F is /) and its permissions",
        )
    if isinstance(exc, px.IncompatibleProtocolError):
        return BrokerUnavailableError(
            f"cannot connect to {where}: it did not answer in AMQP 0-9-1 (is that port RabbitMQ's?)"
        )
    cause = _root(exc)
    if cause is not exc and not isinstance(cause, px.AMQPError | cw.AMQPConnectorException):
        return _socket_error(cause, params, where)
    if isinstance(cause, cw.AMQPConnectorStackTimeout | px.ConnectionOpenAborted):
        # pika gives up an opening that takes longer than its timeouts (and says only so)
        return BrokerUnavailableError(
            f"cannot connect to {where}: no answer in {params.connect_timeout:g} s "
            "(is that port RabbitMQ's?)"
        )
    if cause is not exc:
        return broker_error(cause, params)
    if isinstance(exc, OSError):
        return _socket_error(exc, params, where)
    return BrokerUnavailableError(f"cannot connect to {where}: {exc}")


def _socket_error(exc: BaseException, params: AmqpParams, where: str) -> BrokerError:
    if isinstance(exc, socket.gaierror):
        return BrokerUnavailableError(
            f"cannot connect to {where}: unknown host {params.host!r}",
            hint="check the host name in the URL",
        )
    if isinstance(exc, ConnectionRefusedError):
        return BrokerUnavailableError(
            f"cannot connect to {where}: connection refused",
            hint="is RabbitMQ running and listening on that port?",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return BrokerError(
            f"cannot connect to {where}: its TLS certificate is not trusted "
            f"({exc.verify_message or exc.reason})",
            hint="give the authority that signed it with --tls-ca FILE",
        )
    if isinstance(exc, ssl.SSLError):
        return BrokerError(f"cannot connect to {where}: the TLS handshake failed ({exc.reason})")
    if isinstance(exc, TimeoutError | socket.timeout):
        return BrokerUnavailableError(
            f"cannot connect to {where}: no answer in {params.connect_timeout:g} s"
        )
    if isinstance(exc, OSError):
        return BrokerUnavailableError(f"cannot connect to {where}: {exc.strerror or exc}")
    return BrokerUnavailableError(f"cannot connect to {where}: {exc}")


def _root(exc: BaseException) -> BaseException:
    """The exception under pika's wrappers of the connection workflow."""
    seen = 0
    while seen < 10:
        seen += 1
        if isinstance(exc, cw.AMQPConnectionWorkflowFailed) and exc.exceptions:
            exc = exc.exceptions[-1]
        elif isinstance(exc, cw.AMQPConnectorPhaseErrorBase):
            exc = exc.exception
        elif type(exc) is px.AMQPConnectionError and exc.args:
            inner = exc.args[0]
            if not isinstance(inner, BaseException):
                break
            exc = inner
        else:
            break
    return exc


def lost_error(reason: BaseException, params: AmqpParams) -> BrokerError:
    """The chute error for a connection lost after it was open (transient: a reconnect may
    mend it)."""
    if isinstance(reason, px.ConnectionClosedByClient):
        return BrokerUnavailableError("the connection was closed")
    if isinstance(reason, px.AMQPHeartbeatTimeout):
        return BrokerUnavailableError(
            f"RabbitMQ at {params.display} went silent: no heartbeat for "
            f"{params.heartbeat + 5} s (the connection was given up)"
        )
    if isinstance(reason, px.ConnectionBlockedTimeout):
        return BrokerUnavailableError(
            f"RabbitMQ at {params.display} blocked the connection for too long "
            "(a memory or disk alarm)"
        )
    if isinstance(reason, px.ConnectionClosed):
        return BrokerUnavailableError(f"RabbitMQ closed the connection: {_closed_text(reason)}")
    if isinstance(reason, px.StreamLostError):
        return BrokerUnavailableError(
            f"the connection to RabbitMQ was lost ({_closed_text(reason)})"
        )
    return BrokerUnavailableError(f"the connection to RabbitMQ was lost ({reason})")


def _closed_text(exc: BaseException) -> str:
    """``TEXT (CODE)`` of a close, whether pika gives it as fields or inside a message
    (``ConnectionClosedByBroker: (530) 'NOT_ALLOWED - vhost x not found'``)."""
    if isinstance(exc, px.ConnectionClosed):
        return f"{exc.reply_text} ({exc.reply_code})"
    text = str(exc.args[0]) if exc.args else str(exc)
    found = re.search(r"\((\d+)\) ['\"](.*)['\"]", text)
    if found:
        return f"{found[2]} ({found[1]})"
    return text.strip("()'\",")
