"""The SQLite load lock: flock on a file holding the holder's pid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chute.engine.lock import FileLock, Holder, Taken


def test_a_held_lock_names_its_holder_and_goes_with_release(tmp_path: Path) -> None:
    path = str(tmp_path / "db-chute-x.lock")
    held = FileLock.take(path, Holder(os.getpid(), "here"))
    with pytest.raises(Taken) as info:
        FileLock.take(path, Holder(1, "there"))
    assert info.value.holder == Holder(os.getpid(), "here")
    held.release()
    assert not Path(path).exists()
    FileLock.take(path, Holder(2, "there")).release()


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "db-chute-x.lock"
    code = (
        "import os, sys; from chute.engine.lock import FileLock, Holder; "
        f"FileLock.take({str(path)!r}, Holder(os.getpid(), 'gone')); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert path.read_text().endswith(" gone\n")  # left behind, unlocked
    held = FileLock.take(str(path), Holder(os.getpid(), "here"))
    assert path.read_text() == f"{os.getpid()} here\n"
    held.release()
