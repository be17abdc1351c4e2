"""What the ``chute`` command sets up in its own process before anything is imported for
a load: Arrow's memory pool, and no data-frame libraries it never uses.

Neither is done for ``import chute`` in an application: there the application's choices
stand (its memory pool, its pandas).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

#: data-frame libraries that pyarrow and ADBC import on their own, when installed, to see
#: whether they could hand one out: 55 MB and 0.3 s of every ``chute`` command
#: (benchmarks/RESULTS.md, issue 17)
DATA_FRAMES = ("pandas", "polars")
#: modules whose imports of them are such probes: the command never asks for a data frame
_PROBING = (
    "chute",
    "pyarrow",
    "adbc_driver_manager",
    "adbc_driver_postgresql",
    "adbc_driver_sqlite",
)
#: set to 1 to let them be imported anyway
ALLOW_ENV = "CHUTE_IMPORT_DATA_FRAMES"


def main() -> None:
    """The ``chute`` command: its process set up, then the command line read."""
    set_up()
    from chute.cli import main as command

    command()


def set_up() -> None:
    """Arrow's memory pool, and the data-frame guard (see :class:`_NoProbedDataFrames`),
    once per process."""
    guarded = any(isinstance(f, _NoProbedDataFrames) for f in sys.meta_path)
    loaded = any(m in sys.modules for m in DATA_FRAMES)
    if os.environ.get(ALLOW_ENV) != "1" and not guarded and not loaded:
        sys.meta_path.insert(0, _NoProbedDataFrames())
    _arrow_memory_pool()


class _NoProbedDataFrames(importlib.abc.MetaPathFinder):
    """Refuses pandas and polars to imports made by pyarrow, ADBC and chute (which only
    probe for them); an import by any other module (a plugin's, the Snowflake connector's)
    goes on as usual.  pyarrow then takes pandas as missing for the rest of the process."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in DATA_FRAMES or not _probed():
            return None
        raise ModuleNotFoundError(
            f"{fullname} is not loaded by the chute command ({ALLOW_ENV}=1 allows it)",
            name=fullname,
        )


def _probed() -> bool:
    """Whether the import under way comes from one of :data:`_PROBING`: the nearest frame
    outside the import machinery (pyarrow's own probe runs in compiled code, so its caller
    is the frame seen)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if not (name.startswith(("importlib", "_frozen_importlib")) or name == __name__):
            return name.partition(".")[0] in _PROBING
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _arrow_memory_pool() -> None:
    """The command uses Arrow's jemalloc pool, which hands freed batches back to the system
    sooner than the default (mimalloc): peak memory of the 5M-row orders load into
    PostgreSQL 257 MiB against 278-305 MiB (benchmarks/RESULTS.md); and jemalloc gives
    freed pages back at once rather than after its default decay of 1 s (about 45 MB
    less at the peak of a 1M-row load, issue 17).  A pool chosen in
    ``ARROW_DEFAULT_MEMORY_POOL`` is kept; a pyarrow built without jemalloc keeps its own."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError, pa.ArrowNotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
