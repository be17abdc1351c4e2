"""Standard input copied to a temporary file, for formats read from their end (a workbook's
zip directory, a Parquet footer)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile


def spool_stdin(suffix: str) -> str:
    """The path of a temporary file holding all of standard input (the caller deletes it)."""
    fd, path = tempfile.mkstemp(prefix="chute-stdin-", suffix=suffix)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return path
