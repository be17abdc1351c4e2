"""chute: move records into databases fast and safely."""

from chute.api import load
from chute.engine.observers import Observer
from chute.errors import (
    ChuteError,
    ConfigError,
    Interrupted,
    LoadRunningError,
    NothingStoredError,
    RecordError,
    ResumeError,
    SinkError,
    SinkUnavailableError,
    SourceError,
    TooManyRejectsError,
)
from chute.queues import consume, publish
from chute.report import LoadReport
from chute.sinks.base import Mode
from chute.sources.base import Position, Reject

__version__ = "0.1.0"

__all__ = [
    "ChuteError",
    "ConfigError",
    "Interrupted",
    "LoadReport",
    "LoadRunningError",
    "Mode",
    "NothingStoredError",
    "Observer",
    "Position",
    "RecordError",
    "Reject",
    "ResumeError",
    "SinkError",
    "SinkUnavailableError",
    "SourceError",
    "TooManyRejectsError",
    "__version__",
    "consume",
    "load",
    "publish",
]
