"""chute: move records into databases fast and safely.

The names below are imported when first used (PEP 562), so that ``import chute.x`` loads
only what ``x`` needs: the ``chute`` command sets up its process before the engine loads
(see :mod:`chute.cli_process`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chute.api import load
    from chute.datasets.dataset import Dataset, dataset
    from chute.datasets.store import DatasetError
    from chute.engine.observers import CommitGuard, Observer
    from chute.errors import (
        ChuteError,
        ConfigError,
        Interrupted,
        LoadRunningError,
        NothingStoredError,
        RecordError,
        Refusal,
        ResumeError,
        SessionError,
        SinkError,
        SinkUnavailableError,
        SourceError,
        TooManyRejectsError,
    )
    from chute.exits import exit_code
    from chute.preview import Preview, preview
    from chute.queues import consume, publish
    from chute.report import LoadReport
    from chute.session import AsyncSession, Session, WriteResult, connect, connect_async
    from chute.sinks.contract import (
        Capabilities,
        Checkpoint,
        CheckpointStore,
        LoadLocks,
        Mode,
        RejectStore,
        Savepoints,
        Sink,
        Staging,
        TableColumn,
        WriteCounts,
    )
    from chute.sources.base import (
        Acknowledging,
        Halting,
        HasColumns,
        Position,
        ReadsStdin,
        Reject,
        Resumable,
        Source,
        TransactionHooks,
    )

#: public name -> the module it lives in
_HOMES = {
    "load": "chute.api",
    "Dataset": "chute.datasets.dataset",
    "dataset": "chute.datasets.dataset",
    "DatasetError": "chute.datasets.store",
    "CommitGuard": "chute.engine.observers",
    "Observer": "chute.engine.observers",
    "ChuteError": "chute.errors",
    "ConfigError": "chute.errors",
    "Interrupted": "chute.errors",
    "LoadRunningError": "chute.errors",
    "NothingStoredError": "chute.errors",
    "RecordError": "chute.errors",
    "Refusal": "chute.errors",
    "ResumeError": "chute.errors",
    "SessionError": "chute.errors",
    "SinkError": "chute.errors",
    "SinkUnavailableError": "chute.errors",
    "SourceError": "chute.errors",
    "TooManyRejectsError": "chute.errors",
    "exit_code": "chute.exits",
    "Preview": "chute.preview",
    "preview": "chute.preview",
    "consume": "chute.queues",
    "publish": "chute.queues",
    "LoadReport": "chute.report",
    "AsyncSession": "chute.session",
    "Session": "chute.session",
    "WriteResult": "chute.session",
    "connect": "chute.session",
    "connect_async": "chute.session",
    "Capabilities": "chute.sinks.contract",
    "Checkpoint": "chute.sinks.contract",
    "CheckpointStore": "chute.sinks.contract",
    "LoadLocks": "chute.sinks.contract",
    "Mode": "chute.sinks.contract",
    "RejectStore": "chute.sinks.contract",
    "Savepoints": "chute.sinks.contract",
    "Sink": "chute.sinks.contract",
    "Staging": "chute.sinks.contract",
    "TableColumn": "chute.sinks.contract",
    "WriteCounts": "chute.sinks.contract",
    "Acknowledging": "chute.sources.base",
    "Halting": "chute.sources.base",
    "HasColumns": "chute.sources.base",
    "Position": "chute.sources.base",
    "ReadsStdin": "chute.sources.base",
    "Reject": "chute.sources.base",
    "Resumable": "chute.sources.base",
    "Source": "chute.sources.base",
    "TransactionHooks": "chute.sources.base",
}


if not TYPE_CHECKING:  # a type checker sees the imports above, so a typo is an error

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'chute' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "Acknowledging",
    "AsyncSession",
    "Capabilities",
    "Checkpoint",
    "CheckpointStore",
    "ChuteError",
    "CommitGuard",
    "ConfigError",
    "Dataset",
    "DatasetError",
    "Halting",
    "HasColumns",
    "Interrupted",
    "LoadLocks",
    "LoadReport",
    "LoadRunningError",
    "Mode",
    "NothingStoredError",
    "Observer",
    "Position",
    "Preview",
    "ReadsStdin",
    "RecordError",
    "Refusal",
    "Reject",
    "RejectStore",
    "Resumable",
    "ResumeError",
    "Savepoints",
    "Session",
    "SessionError",
    "Sink",
    "SinkError",
    "SinkUnavailableError",
    "Source",
    "SourceError",
    "Staging",
    "TableColumn",
    "TooManyRejectsError",
    "TransactionHooks",
    "WriteCounts",
    "WriteResult",
    "__version__",
    "connect",
    "connect_async",
    "consume",
    "dataset",
    "exit_code",
    "load",
    "preview",
    "publish",
]
