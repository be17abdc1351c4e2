"""URLs in messages, reports, logs and reprs: never with a secret in them.

A URL can carry a secret in two places: the password of its user information
(``postgresql://user:SECRET@host/db``, ``amqp://guest:SECRET@host/``) and query parameters
named like a secret (``?password=SECRET``, ``sslpassword=``, ``token=``, ``api_key=``, ...),
whatever the scheme.  :func:`redact` shows the URL with each of them replaced by ``***``;
:func:`scrub` removes a URL's secrets from any text (a driver's error message, say).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["MASK", "redact", "scrub", "secrets", "with_param"]

MASK = "***"

#: parameter names that hold a secret (matched anywhere in the name, any case)
_SECRET_NAME = re.compile(
    r"pass|pwd|secret|token|api_?key|access_?key|private_?key|credential", re.IGNORECASE
)
#: ``name=value`` in a query string, or in a ``key=value`` connection string
_PARAM = re.compile(r"(?P<lead>^|[?&;\s])(?P<name>[^=&;#?\s]+)=(?P<value>[^&;#\s]*)")


def _userinfo_password(url: str) -> tuple[int, int] | None:
    """Where the password of ``url``'s user information is (start, end), if it has one."""
    scheme_end = url.find("://")
    if scheme_end < 0:
        return None
    start = scheme_end + 3
    rest = url[start:]
    # the user information ends at the last "@" before the query or fragment, so that a
    # password holding an unencoded "@" or "/" is hidden whole
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, cut)
    if at < 0 or rest.startswith("/"):  # no user information (sqlite:///path@x.db)
        return None
    colon = rest.find(":", 0, at)
    if colon < 0:
        return None
    return start + colon + 1, start + at


def _secret_params(text: str) -> list[re.Match[str]]:
    return [m for m in _PARAM.finditer(text) if _SECRET_NAME.search(unquote(m["name"]))]


def redact(url: str) -> str:
    """``url`` with every secret in it replaced by ``***``."""
    where = _userinfo_password(url)
    if where is not None:
        url = url[: where[0]] + MASK + url[where[1] :]
    out = []
    last = 0
    for m in _secret_params(url):
        if m["value"]:
            out.append(url[last : m.start("value")] + MASK)
            last = m.end("value")
    out.append(url[last:])
    return "".join(out)


def secrets(url: str) -> list[str]:
    """The secrets in ``url``, as written and percent-decoded, longest first."""
    found = []
    where = _userinfo_password(url)
    if where is not None:
        password = url[where[0] : where[1]]
        found.append(password)
        # a driver that splits "user:p@ss@host" at the first "@" shows "ss@host" as the host
        found += [password[i + 1 :] + "@" for i, c in enumerate(password) if c == "@"]
    found += [m["value"] for m in _secret_params(url)]
    every = {s for f in found if f for s in (f, unquote(f))}
    return sorted(every, key=len, reverse=True)


def scrub(text: str, *urls: str) -> str:
    """``text`` with each secret of ``urls`` replaced by ``***``."""
    for url in urls:
        for secret in secrets(url):
            text = text.replace(secret, MASK)
    return text


def with_param(url: str, name: str, value: str) -> str:
    """``url`` with the query parameter ``name=value`` added, unless it has one already
    (the URL's own setting wins)."""
    base, hash_, fragment = url.partition("#")
    path, _, query = base.partition("?")
    names = {unquote(p.split("=", 1)[0]) for p in query.split("&") if p}
    if name in names:
        return url
    query = f"{query}&{name}={value}" if query else f"{name}={value}"
    return f"{path}?{query}{hash_}{fragment}"
