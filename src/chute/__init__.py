"""chute: move records into databases fast and safely."""

from chute.api import load
from chute.engine.pipeline import Observer
from chute.errors import (
    ChuteError,
    ConfigError,
    RecordError,
    SinkError,
    SinkUnavailableError,
    SourceError,
)
from chute.report import LoadReport
from chute.sinks.base import Mode

__version__ = "0.1.0"

__all__ = [
    "ChuteError",
    "ConfigError",
    "LoadReport",
    "Mode",
    "Observer",
    "RecordError",
    "SinkError",
    "SinkUnavailableError",
    "SourceError",
    "__version__",
    "load",
]
