"""Table and column names every sink accepts, and the names chute keeps for itself."""

from __future__ import annotations

import re
from collections.abc import Iterable

from chute.errors import ConfigError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_IDENTIFIER_BYTES = 63

#: chute's own tables (checkpoints, message ledger, stage tables) and triggers start with
#: this; no load may write to such a table (SQLite's names ignore case, so neither does this)
RESERVED_PREFIX = "_chute_"


def is_reserved(name: str) -> bool:
    return name.lower().startswith(RESERVED_PREFIX)


def check_table_name(name: str) -> str:
    if not _IDENTIFIER.match(name) or len(name) > MAX_IDENTIFIER_BYTES:
        raise ConfigError(
            f"{name!r} is not a valid table name",
            hint="use letters, digits and underscores, starting with a letter, "
            f"at most {MAX_IDENTIFIER_BYTES} characters",
        )
    if is_reserved(name):
        raise ConfigError(
            f"table name {name!r} is reserved: names starting with {RESERVED_PREFIX} are "
            "chute's own bookkeeping",
            hint="choose another table name",
        )
    return name


def check_column_names(names: Iterable[str], max_bytes: int | None, database: str) -> None:
    """Refuse a column name the database cannot hold as it is (PostgreSQL cuts a name
    longer than 63 bytes of UTF-8 short, which would load into another column)."""
    if max_bytes is None:
        return
    for name in names:
        size = len(name.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise ConfigError(
                f"column name {shown!r} is {size} bytes long; {database} allows at most "
                f"{max_bytes} bytes (UTF-8) in a name",
                hint="shorten it in the input (a CSV header, a JSON key)",
            )
