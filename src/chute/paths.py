"""Files chute writes besides the database (the JSON report): checked before a load."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from chute.errors import ConfigError


def check_writable(path: Path, option: str) -> None:
    """Raise a one-line :class:`ConfigError` unless ``path`` can be written, leaving the
    file system as it was (a file made to find out is removed again)."""
    try:
        if path.is_dir():
            raise OSError(21, "it is a directory")
        if path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))  # opened, not changed
            return
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        with contextlib.suppress(OSError):
            path.unlink()
    except OSError as exc:
        raise ConfigError(
            f"{option} {path}: cannot write there: {exc.strerror or exc}",
            hint="give a path in a folder that exists and that you may write to",
        ) from None
