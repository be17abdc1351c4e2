"""Staged loads (``--atomic``, ``--mode replace``): what the publish step needs besides the
swap or the merge itself."""

from __future__ import annotations

from chute.sinks.base import Sink
from chute.sinks.base import quote_identifier as q


def add_stage_columns(sink: Sink, target: str, stage: str) -> list[str]:
    """In the open transaction: add to ``target`` the columns its stage has and it lacks
    (``--add-columns`` added them to the stage), with the stage's declared types, so they
    appear with the rows, in the publish transaction.  Returns their names."""
    have = {c.name for c in sink.describe(target) or []}
    added = []
    for column in sink.describe(stage) or []:
        if column.name not in have:
            sink.execute(f"ALTER TABLE {q(target)} ADD COLUMN {q(column.name)} {column.declared}")
            added.append(column.name)
    if added:
        sink.forget_table(target)
    return added
