"""Load settings and their defaults, defined once for the Python API and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from chute.errors import ConfigError
from chute.sinks.contract import Mode
from chute.urls import redact

__all__ = ["LoadOptions", "parse_key", "parse_mode", "parse_size", "redact"]

DEFAULT_INTO = "sqlite:///chute.db"
DEFAULT_MODE = Mode.APPEND
#: rows and bytes a source's first batch is cut at, before the engine sets the batch size
DEFAULT_BATCH_ROWS = 10_000
#: messages per batch of a queue consumer when none is given, and its flush interval (s)
DEFAULT_BATCH_MESSAGES = 5_000
DEFAULT_FLUSH_INTERVAL = 1.0
DEFAULT_BATCH_BYTES = 4 << 20
#: the process's memory limit (bytes of resident memory) the batch sizes are planned for
DEFAULT_MEMORY_LIMIT = 512 << 20
DEFAULT_MEMORY_LIMIT_TEXT = "512MiB"
#: connections writing batches at once where the database gains from it (PostgreSQL); see
#: docs/performance.md and benchmarks/RESULTS.md for the measurements behind it
DEFAULT_WORKERS = 2
MAX_WORKERS = 32
DEFAULT_ENCODING = "utf-8"
#: seconds to wait for a database or broker to answer while connecting
DEFAULT_CONNECT_TIMEOUT = 10.0
#: batches parsed ahead of the writer; bounds memory at about (this + 2) batches
QUEUE_DEPTH = 1


@dataclass(frozen=True, repr=False)
class LoadOptions:
    """Everything a load needs besides its source; validated on construction."""

    into: str = DEFAULT_INTO
    table: str | None = None
    mode: Mode = DEFAULT_MODE
    key: tuple[str, ...] = ()
    format: str | None = None
    delimiter: str | None = None
    quote: str | None = None
    encoding: str = DEFAULT_ENCODING
    header: bool = True
    #: the sheet of an Excel workbook: its name, or its number counted from 1 (None: the first)
    sheet: str | None = None
    #: rows per batch; None: adaptive (the controller picks, see batch_control)
    batch_rows: int | None = None
    #: input bytes per batch at most; None: from the memory limit
    batch_bytes: int | None = None
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    #: None: DEFAULT_WORKERS where the database gains from parallel writers, else 1
    workers: int | None = None
    add_columns: bool = False
    #: input column -> table column (--rename); input columns left out (--skip)
    rename: dict[str, str] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    #: the types a new table is made with, instead of inferred ones (--type)
    types: dict[str, str] = field(default_factory=dict)
    rejects: str | None = None
    max_errors: int | None = None
    restart: bool = False
    atomic: bool = False
    #: seconds to wait for the database (and broker) while connecting
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    #: records go to a graph through a mapping, whose node keys stand for --key
    graph: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # the URL without its secrets
        shown = (
            f"{f.name}={redact(self.into) if f.name == 'into' else getattr(self, f.name)!r}"
            for f in fields(self)
        )
        return f"LoadOptions({', '.join(shown)})"

    def __post_init__(self) -> None:
        if self.batch_rows is not None and self.batch_rows < 1:
            raise ConfigError(f"batch_rows must be at least 1, not {self.batch_rows}")
        if self.batch_bytes is not None and self.batch_bytes < 1:
            raise ConfigError(f"batch_bytes must be at least 1, not {self.batch_bytes}")
        if self.memory_limit < 64 << 20:
            raise ConfigError(
                f"memory limit {self.memory_limit:,} bytes is too small",
                hint="give at least 64 MiB, e.g. --memory-limit 512MiB",
            )
        if self.workers is not None and not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"workers must be between 1 and {MAX_WORKERS}, not {self.workers}")
        check_connect_timeout(self.connect_timeout)
        if self.max_errors is not None and self.max_errors < 0:
            raise ConfigError(f"max_errors must be 0 or more, not {self.max_errors}")
        if self.mode in (Mode.UPSERT, Mode.IGNORE) and not self.key and not self.graph:
            raise ConfigError(
                f"mode {self.mode.value} needs key columns", hint="pass --key COLUMN[,COLUMN...]"
            )
        if len(set(self.key)) != len(self.key):
            raise ConfigError(f"key names a column twice: {', '.join(self.key)}")


def check_connect_timeout(seconds: float) -> float:
    if not seconds > 0:  # also refuses NaN
        raise ConfigError(
            f"connect timeout must be more than 0 seconds, not {seconds:g}",
            hint="e.g. --connect-timeout 10",
        )
    return seconds


def parse_mode(value: str | Mode) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise ConfigError(
            f"unknown mode {value!r}", hint=f"use one of {', '.join(m.value for m in Mode)}"
        ) from None


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1000,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1000**2,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1000**3,
    "gib": 1 << 30,
}


def parse_size(value: str | int) -> int:
    """A size in bytes from ``512MiB``, ``2G``, ``1500000`` and the like."""
    if isinstance(value, int):
        return value
    text = value.strip().lower().replace(" ", "")
    number = text.rstrip("kmgib")
    unit = text[len(number) :]
    try:
        return int(float(number) * _UNITS[unit])
    except (ValueError, KeyError, OverflowError):  # OverflowError: inf, 1e400
        raise ConfigError(
            f"cannot read {value!r} as a size", hint="write it like 512MiB, 2GiB or 800MB"
        ) from None


def parse_key(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else list(value)
    key = tuple(p.strip() for p in parts if p.strip())
    return key
