"""Load settings and their defaults, defined once for the Python API and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chute.errors import ConfigError
from chute.sinks.base import Mode
from chute.urls import redact

__all__ = ["LoadOptions", "parse_key", "parse_mode", "redact"]

DEFAULT_INTO = "sqlite:///chute.db"
DEFAULT_MODE = Mode.APPEND
DEFAULT_BATCH_ROWS = 100_000
DEFAULT_BATCH_BYTES = 4 << 20
DEFAULT_ENCODING = "utf-8"
#: batches parsed ahead of the writer; bounds memory at about (this + 2) batches
QUEUE_DEPTH = 1


@dataclass(frozen=True)
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
    batch_rows: int = DEFAULT_BATCH_ROWS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    add_columns: bool = False
    rejects: str | None = None
    max_errors: int | None = None
    restart: bool = False
    atomic: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batch_rows < 1:
            raise ConfigError(f"batch_rows must be at least 1, not {self.batch_rows}")
        if self.batch_bytes < 1:
            raise ConfigError(f"batch_bytes must be at least 1, not {self.batch_bytes}")
        if self.max_errors is not None and self.max_errors < 0:
            raise ConfigError(f"max_errors must be 0 or more, not {self.max_errors}")
        if self.mode in (Mode.UPSERT, Mode.IGNORE) and not self.key:
            raise ConfigError(
                f"mode {self.mode.value} needs key columns", hint="pass --key COLUMN[,COLUMN...]"
            )
        if len(set(self.key)) != len(self.key):
            raise ConfigError(f"key names a column twice: {', '.join(self.key)}")


def parse_mode(value: str | Mode) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise ConfigError(
            f"unknown mode {value!r}", hint=f"use one of {', '.join(m.value for m in Mode)}"
        ) from None


def parse_key(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else list(value)
    key = tuple(p.strip() for p in parts if p.strip())
    return key
