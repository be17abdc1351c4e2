"""``amqp://`` and ``amqps://`` URLs: parsed once, shown without the password.

TLS (``amqps://``, port 5671 by default) verifies the broker's certificate and host name
against the system's certificate authorities, or the ones in ``tls_ca``.  ``tls_cert`` and
``tls_key`` give a client certificate; with one and no user in the URL the login is
``EXTERNAL`` (the broker takes the user from the certificate), else ``PLAIN`` with the URL's
user and password.  ``auth=plain|external`` says which, whatever the URL holds.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from chute.errors import ConfigError
from chute.urls import with_param

DEFAULT_PORT = 5672
DEFAULT_TLS_PORT = 5671
#: seconds between heartbeats asked of the broker (it may ask for fewer); a broker that
#: stays silent for this plus 5 s is taken for dead
DEFAULT_HEARTBEAT = 30
DEFAULT_CONNECT_TIMEOUT = 10.0
#: the options a URL's query may hold (``chute consume --tls-ca F`` adds ``tls_ca=F``)
OPTIONS = ("heartbeat", "connection_timeout", "tls_ca", "tls_cert", "tls_key", "auth")

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
    #: AMQP over TLS
    tls: bool = False
    #: certificate authorities (a PEM file) to verify the broker with; None: the system's
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    #: ``PLAIN`` (user and password) or ``EXTERNAL`` (the client certificate)
    auth: str = "PLAIN"

    @property
    def display(self) -> str:
        """The URL without user and password, e.g. ``amqp://127.0.0.1:5672/%2F``."""
        scheme = "amqps" if self.tls else "amqp"
        return f"{scheme}://{self.host}:{self.port}/{quote(self.vhost, safe='')}"

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context: the broker's certificate and host name verified (against
        ``tls_ca`` or the system's authorities), the client certificate loaded if given.
        Raises :class:`ConfigError` with one line for a file that cannot be used."""
        try:
            context = ssl.create_default_context(cafile=self.tls_ca)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot use --tls-ca {self.tls_ca}: {_why(exc)}") from None
        if self.tls_cert:
            try:
                context.load_cert_chain(self.tls_cert, self.tls_key)
            except (OSError, ssl.SSLError) as exc:
                shown = self.tls_cert + (f" with --tls-key {self.tls_key}" if self.tls_key else "")
                raise ConfigError(f"cannot use --tls-cert {shown}: {_why(exc)}") from None
        return context


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def parse_url(url: str) -> AmqpParams:
    """Parse ``amqp[s]://user:password@host:port/vhost?option=value&...``.

    The vhost is the path, percent-decoded (``%2F`` is ``/``, the default when the path is
    empty).  Options: ``heartbeat`` and ``connection_timeout`` (seconds), ``tls_ca``,
    ``tls_cert`` and ``tls_key`` (PEM files; they need ``amqps://``) and ``auth``.  Raises
    :class:`~chute.errors.ConfigError` with one line for anything else.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # its message may quote a piece of the password: not shown
        raise ConfigError(
            "not a valid AMQP URL: the port is not a number, or the user or password holds "
            f"a / ? # or @ that is not percent-encoded; expected {_EXAMPLE}"
        ) from None
    if parts.scheme not in ("amqp", "amqps"):
        shown = f"{parts.scheme}://" if parts.scheme else repr(url.split("@")[-1])
        raise ConfigError(f"not an AMQP URL: {shown}...; expected {_EXAMPLE}")
    tls = parts.scheme == "amqps"
    if not parts.hostname:
        raise ConfigError(f"the AMQP URL names no host; expected {_EXAMPLE}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    vhost = unquote(path) if path else "/"
    options = dict(parse_qsl(parts.query))
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) in the AMQP URL: {', '.join(unknown)} (known: {', '.join(OPTIONS)})"
        )
    try:
        heartbeat = int(options.get("heartbeat", DEFAULT_HEARTBEAT))
        timeout = float(options.get("connection_timeout", DEFAULT_CONNECT_TIMEOUT))
    except ValueError:
        raise ConfigError("heartbeat and connection_timeout in an AMQP URL are numbers") from None
    if heartbeat < 0 or timeout <= 0:
        raise ConfigError("heartbeat must be >= 0 and connection_timeout > 0 in an AMQP URL")
    files = {name: options.get(name) or None for name in ("tls_ca", "tls_cert", "tls_key")}
    given = [f"--{name.replace('_', '-')}" for name, value in files.items() if value]
    if given and not tls:
        verb = "needs" if len(given) == 1 else "need"
        raise ConfigError(f"{' and '.join(given)} {verb} an amqps:// URL (AMQP over TLS)")
    if files["tls_key"] and not files["tls_cert"]:
        raise ConfigError("--tls-key needs --tls-cert (the client certificate it belongs to)")
    for name, value in files.items():
        if value and not os.path.isfile(value):
            raise ConfigError(f"--{name.replace('_', '-')} {value}: no such file")
    auth = options.get("auth", "").upper() or (
        "EXTERNAL" if files["tls_cert"] and parts.username is None else "PLAIN"
    )
    if auth not in ("PLAIN", "EXTERNAL"):
        raise ConfigError(f"auth in an AMQP URL is plain or external, not {options['auth']!r}")
    if auth == "EXTERNAL" and not files["tls_cert"]:
        raise ConfigError("auth=external logs in with a client certificate: give --tls-cert")
    return AmqpParams(
        host=parts.hostname,
        port=port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        user=unquote(parts.username) if parts.username is not None else "guest",
        password=unquote(parts.password) if parts.password is not None else "guest",
        vhost=vhost,
        heartbeat=heartbeat,
        connect_timeout=timeout,
        tls=tls,
        tls_ca=_absolute(files["tls_ca"]),
        tls_cert=_absolute(files["tls_cert"]),
        tls_key=_absolute(files["tls_key"]),
        auth=auth,
    )


def with_tls_files(
    url: str,
    tls_ca: str | os.PathLike[str] | None = None,
    tls_cert: str | os.PathLike[str] | None = None,
    tls_key: str | os.PathLike[str] | None = None,
) -> str:
    """``url`` with the TLS files given added to its options (those it names win)."""
    for name, value in (("tls_ca", tls_ca), ("tls_cert", tls_cert), ("tls_key", tls_key)):
        if value:
            url = with_param(url, name, quote(os.fspath(value), safe="/"))
    return url


def _absolute(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None
