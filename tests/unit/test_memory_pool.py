"""The command's Arrow memory pool: jemalloc (it returns freed batches to the system sooner,
which keeps the peak of a long load lower), unless the user chose one."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

PROBE = (
    "import pyarrow as pa; from chute.cli_process import set_up as f; f(); "
    "print(pa.default_memory_pool().backend_name)"
)


def _backend(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.skipif(
    not hasattr(pa, "jemalloc_memory_pool"), reason="this pyarrow has no jemalloc pool"
)
def test_the_command_uses_jemalloc() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    assert _backend(env) == "jemalloc"


def test_a_pool_the_user_chose_is_kept() -> None:
    env = dict(os.environ, ARROW_DEFAULT_MEMORY_POOL="system")
    assert _backend(env) == "system"
