"""``snowflake://user[:password]@account/database/schema?warehouse=WH[&role=R&...]`` as the
connector's keyword arguments.

The account is the URL's host (``myorg-myaccount``, or a locator such as
``xy12345.eu-west-1``); the database and schema are the path.  ``warehouse`` is required:
a COPY needs one to run.  Every other query parameter is passed to
``snowflake.connector.connect`` as it is, so the connector's own options work unchanged:

- ``authenticator=externalbrowser|oauth|snowflake_jwt|username_password_mfa|...``,
  ``token=`` (OAuth), ``passcode=`` (MFA);
- key pair: ``private_key_file=PATH[&private_key_file_pwd=...]``;
- ``role=``, ``login_timeout=``, ``network_timeout=``, ``client_session_keep_alive=``, ...;
- a server other than Snowflake's cloud (a test stand-in such as fakesnow):
  ``host=``, ``port=``, ``protocol=http``.

Numbers and ``true``/``false`` become ints and booleans.  A password, a token, a passcode
and a key's passphrase are secrets: :func:`chute.urls.redact` hides them in every message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from chute.errors import ConfigError
from chute.urls import redact

EXTRA_HINT = "pip install 'chute[snowflake]'"
_FORM = "snowflake://user[:password]@account/database/schema?warehouse=WH"
#: options whose value is a number
_INTS = frozenset(
    {"port", "login_timeout", "network_timeout", "socket_timeout", "client_prefetch_threads"}
)
#: options the URL's own parts give: the query may not give them again
_FROM_PARTS = frozenset({"user", "password", "account", "database", "schema"})


def connect_args(url: str) -> dict[str, Any]:
    """The keyword arguments of ``snowflake.connector.connect`` for ``url``; a ConfigError
    naming what is missing (the account, the database/schema, the warehouse)."""
    shown = redact(url)
    try:
        parts = urlsplit(url)
        netloc_user = unquote(parts.username or "")
        password = unquote(parts.password) if parts.password is not None else None
        account = parts.hostname or ""
    except ValueError:
        raise ConfigError(f"malformed Snowflake URL {shown!r}", hint=f"use {_FORM}") from None
    if not account:
        raise ConfigError(f"the Snowflake URL {shown!r} names no account", hint=f"use {_FORM}")
    path = [unquote(p) for p in parts.path.strip("/").split("/") if p]
    if len(path) != 2:
        raise ConfigError(
            f"the Snowflake URL {shown!r} must name a database and a schema",
            hint=f"use {_FORM}",
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    given = sorted(_FROM_PARTS & set(query))
    if given:
        raise ConfigError(
            f"the Snowflake URL {shown!r} gives {', '.join(given)} in its query",
            hint=f"give them in the URL itself: {_FORM}",
        )
    if not query.get("warehouse"):
        raise ConfigError(
            f"the Snowflake URL {shown!r} names no warehouse",
            hint=f"add ?warehouse=NAME (the warehouse that runs the COPY): {_FORM}",
        )
    if not netloc_user:
        raise ConfigError(f"the Snowflake URL {shown!r} names no user", hint=f"use {_FORM}")
    args: dict[str, Any] = {
        "user": netloc_user,
        "account": account,
        "database": path[0],
        "schema": path[1],
    }
    if password is not None:
        args["password"] = password
    for name, value in query.items():
        args[name] = _value(name, value, shown)
    return args


def _value(name: str, value: str, shown: str) -> Any:
    if name in _INTS:
        try:
            return int(value)
        except ValueError:
            raise ConfigError(
                f"the Snowflake URL {shown!r} gives {name}={value!r}, not a whole number",
                hint=f"e.g. {name}=30: {_FORM}",
            ) from None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value
