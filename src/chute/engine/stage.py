"""Staged loads (``--atomic``, ``--mode replace``): what the publish step needs besides the
swap or the merge itself."""

from __future__ import annotations

from chute.errors import ConfigError
from chute.sinks.contract import Sink, Staging


def staging(sink: Sink) -> Staging:
    """``sink`` as one that can stage a load, or a ConfigError saying it cannot."""
    if not isinstance(sink, Staging):
        raise ConfigError(
            f"{sink.display_url} cannot stage a load (needed by --atomic and --mode replace)",
            hint="load without --atomic, in append, upsert or ignore mode",
        )
    return sink


def add_stage_columns(sink: Sink, target: str, stage: str) -> list[str]:
    """In the open transaction: add to ``target`` the columns its stage has and it lacks
    (``--add-columns`` added them to the stage), with the stage's declared types, so they
    appear with the rows, in the publish transaction.  Returns their names."""
    return staging(sink).add_missing_columns(target, stage)
