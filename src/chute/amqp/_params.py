"""``amqp://`` URLs: parsed once, shown without the password."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from chute.errors import ConfigError

DEFAULT_PORT = 5672
#: seconds between heartbeats asked of the broker (it may ask for fewer)
DEFAULT_HEARTBEAT = 30
DEFAULT_CONNECT_TIMEOUT = 10.0

_EXAMPLE = "amqp://user:password@host:5672/vhost"


@dataclass(frozen=True)
class AmqpParams:
    host: str
    port: int = DEFAULT_PORT
    user: str = "guest"
    password: str = field(default="guest", repr=False)
    vhost: str = "/"
    heartbeat: int = DEFAULT_HEARTBEAT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    @property
    def display(self) -> str:
        """The URL without user and password, e.g. ``amqp://127.0.0.1:5672/%2F``."""
        return f"amqp://{self.host}:{self.port}/{quote(self.vhost, safe='')}"


def parse_url(url: str) -> AmqpParams:
    """Parse ``amqp://user:password@host:port/vhost?heartbeat=S&connection_timeout=S``.

    The vhost is the path, percent-decoded (``%2F`` is ``/``, the default when the path is
    empty).  Raises :class:`~chute.errors.ConfigError` with one line for anything else.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"not a valid AMQP URL ({exc}); expected {_EXAMPLE}") from None
    if parts.scheme == "amqps":
        raise ConfigError("amqps:// (AMQP over TLS) is not supported yet; use amqp://")
    if parts.scheme != "amqp":
        shown = f"{parts.scheme}://" if parts.scheme else repr(url.split("@")[-1])
        raise ConfigError(f"not an AMQP URL: {shown}...; expected {_EXAMPLE}")
    if not parts.hostname:
        raise ConfigError(f"the AMQP URL names no host; expected {_EXAMPLE}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    vhost = unquote(path) if path else "/"
    options = dict(parse_qsl(parts.query))
    try:
        heartbeat = int(options.pop("heartbeat", DEFAULT_HEARTBEAT))
        timeout = float(options.pop("connection_timeout", DEFAULT_CONNECT_TIMEOUT))
    except ValueError:
        raise ConfigError("heartbeat and connection_timeout in an AMQP URL are numbers") from None
    if options:
        raise ConfigError(
            f"unknown option(s) in the AMQP URL: {', '.join(sorted(options))} "
            "(known: heartbeat, connection_timeout)"
        )
    if heartbeat < 0 or timeout <= 0:
        raise ConfigError("heartbeat must be >= 0 and connection_timeout > 0 in an AMQP URL")
    return AmqpParams(
        host=parts.hostname,
        port=port or DEFAULT_PORT,
        user=unquote(parts.username) if parts.username is not None else "guest",
        password=unquote(parts.password) if parts.password is not None else "guest",
        vhost=vhost,
        heartbeat=heartbeat,
        connect_timeout=timeout,
    )
