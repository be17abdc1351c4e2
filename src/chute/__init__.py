"""chute: move records into databases fast and safely."""

from chute.api import load
from chute.engine.pipeline import Observer
from chute.errors import (
    ChuteError,
    ConfigError,
    Interrupted,
    LoadRunningError,
    NothingStoredError,
    RecordError,
    Refusal,
    ResumeError,
    SinkError,
    SinkUnavailableError,
    SourceError,
    TooManyRejectsError,
)
from chute.queues import consume, publish
from chute.report import LoadReport
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
from chute.sources.base import Position, Reject, Source

__version__ = "0.1.0"

__all__ = [
    "Capabilities",
    "Checkpoint",
    "CheckpointStore",
    "ChuteError",
    "ConfigError",
    "Interrupted",
    "LoadLocks",
    "LoadReport",
    "LoadRunningError",
    "Mode",
    "NothingStoredError",
    "Observer",
    "Position",
    "RecordError",
    "Refusal",
    "Reject",
    "RejectStore",
    "ResumeError",
    "Savepoints",
    "Sink",
    "SinkError",
    "SinkUnavailableError",
    "Source",
    "SourceError",
    "Staging",
    "TableColumn",
    "TooManyRejectsError",
    "WriteCounts",
    "__version__",
    "consume",
    "load",
    "publish",
]
