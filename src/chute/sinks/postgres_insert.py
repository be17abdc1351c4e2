"""The one statement that moves a staged batch into its table in a load mode, counting
the rows it created and updated as it goes (the load's cursor and a writer session's
pipeline both send it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chute.sinks.contract import Mode, WriteCounts
from chute.sinks.postgres_wire import DIALECT
from chute.sinks.sql.dialect import quote_identifier as q


def insert_counted(
    first_row: Callable[[str], Any],
    table: str,
    names: Sequence[str],
    rows: str,
    mode: Mode,
    key: list[str],
    n: int,
) -> WriteCounts:
    """Insert the ``n`` rows of the SELECT ``rows`` into ``table`` in ``mode``, counting
    created and updated rows in the same statement; ``first_row`` runs one statement and
    returns its first row (the load's cursor and the session's pipeline both do)."""
    columns = list(names)
    if mode is Mode.APPEND:
        first_row(f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) {rows}")
        return WriteCounts(created=n)
    if mode is Mode.IGNORE or not [c for c in columns if c not in key]:
        insert = DIALECT.insert_ignore(table, columns, key, rows)
        created = int(first_row(f"WITH ins AS ({insert} RETURNING 1) SELECT count(*) FROM ins")[0])
        if mode is Mode.IGNORE:
            return WriteCounts(created=created, skipped=n - created)
        return WriteCounts(created=created, updated=n - created)
    found, total = first_row(
        f"WITH ins AS ({DIALECT.upsert(table, columns, key, rows)} "
        "RETURNING (xmax = 0) AS created) "
        "SELECT count(*) FILTER (WHERE created), count(*) FROM ins"
    )
    return WriteCounts(created=int(found), updated=int(total) - int(found))
