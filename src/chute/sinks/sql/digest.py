"""``chute_digest(a, b, ...)``: the digest of a tuple of SQL values, for SQLite, which has
no ``md5``.  Versioned datasets identify rows and their contents by it (PostgreSQL uses
``md5(ROW(...)::text)`` instead).  Each value is written with its storage class, so ``1``,
``1.0`` and ``'1'`` differ and NULL differs from the text ``''``."""

from __future__ import annotations

import hashlib

DIGEST_FUNCTION = "chute_digest"


def digest(*values: object) -> str:
    parts = []
    for value in values:
        if value is None:
            parts.append("n")
        elif isinstance(value, bool | int):
            parts.append(f"i{int(value)}")
        elif isinstance(value, float):
            parts.append(f"f{value!r}")
        elif isinstance(value, bytes):
            parts.append("b" + value.hex())
        else:
            parts.append("s" + str(value).replace("\\", "\\\\").replace("\x1f", "\\u"))
    return hashlib.md5("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
