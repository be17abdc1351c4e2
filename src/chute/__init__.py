"""chute: move records into databases fast and safely."""

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
