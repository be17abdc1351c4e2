"""The ``chute`` command's process: pyarrow's and ADBC's probes for pandas and polars are
refused (55 MB and 0.3 s of every command), any other import of them is not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("pandas")  # the test extra installs it: what is refused must be there

PROBE = (
    "import sys, chute.cli_process as c; c.set_up(); "
    "import pyarrow as pa, adbc_driver_postgresql.dbapi; pa.array([1]); "
    "print('pandas' in sys.modules, 'polars' in sys.modules)"
)


def _run(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "CHUTE_IMPORT_DATA_FRAMES"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_pyarrow_and_adbc_do_not_load_data_frames_in_the_command() -> None:
    assert _run(PROBE) == "False False"


def test_the_guard_can_be_turned_off() -> None:
    assert _run(PROBE, CHUTE_IMPORT_DATA_FRAMES="1") == "True True"


def test_a_module_of_its_own_still_imports_pandas() -> None:
    # a plugin, or the Snowflake connector: its own import goes on as usual
    code = "import chute.cli_process as c; c.set_up(); import pandas; print(pandas.__name__)"
    assert _run(code) == "pandas"


def test_a_whole_load_runs_without_them(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "a.csv")
    with open(path, "w") as f:
        f.write("id,when\n1,2024-01-01\n")
    code = (
        "import sys; from chute.cli_process import main; "
        f"sys.argv = ['chute', 'load', {path!r}, '--into', "
        f"'sqlite:///{tmp_path}/a.db', '--quiet']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('pandas' in sys.modules)"
    )
    assert _run(code).splitlines()[-1] == "False"
