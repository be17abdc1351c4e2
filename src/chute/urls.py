"""Database URLs in messages: never with their password."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(://[^/:@]*:)[^@/]*@")


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", url)
