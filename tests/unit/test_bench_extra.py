"""The bench is an extra above chute: a core install does not pull matplotlib, importing chute
does not import the bench, and ``chute bench`` without the extra is one line and exit 2."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
NO_EXTRA = "error: chute bench needs the bench extra: pip install 'chute[bench]'"


def requirements() -> dict[str | None, set[str]]:
    """The installed distribution's requirements by extra (None: the core install)."""
    found: dict[str | None, set[str]] = {}
    for line in importlib.metadata.requires("chute") or []:
        spec, _, marker = line.partition(";")
        name = re.split(r"[\s\[<>=!~;(]", spec.strip(), maxsplit=1)[0].lower()
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        found.setdefault(extra[1] if extra else None, set()).add(name)
    return found


def test_a_core_install_does_not_require_matplotlib_and_the_bench_extra_does() -> None:
    by_extra = requirements()

    assert "matplotlib" not in by_extra[None]
    assert "pyarrow" in by_extra[None]  # the core requirements are read, and are these
    assert "matplotlib" in by_extra["bench"]
    assert "matplotlib" in by_extra["test"]  # CI installs .[test] and runs the bench tests


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_importing_chute_and_its_cli_imports_neither_matplotlib_nor_the_bench() -> None:
    proc = run_python(
        "import chute, chute.cli; import sys; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib'; "
        "assert not [m for m in sys.modules if m.startswith('chute_bench')], 'chute_bench'"
    )

    assert proc.returncode == 0, proc.stderr


def test_importing_the_bench_package_and_its_worker_does_not_import_matplotlib() -> None:
    # each strategy's process starts from chute_bench.worker: its memory floor has no charts
    proc = run_python(
        "import chute_bench, chute_bench.worker, chute_bench.latency_proxy; import sys; "
        "assert 'matplotlib' not in sys.modules"
    )

    assert proc.returncode == 0, proc.stderr


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, inside a function) for each import in the file at ``path``."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.append((child.module, in_function))
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return found


def test_chute_imports_the_bench_only_in_the_bench_command_and_lazily() -> None:
    users = {
        (str(path.relative_to(SRC)), lazy)
        for path in (SRC / "chute").rglob("*.py")
        for module, lazy in imports(path)
        if module.split(".")[0] in ("chute_bench", "matplotlib")
    }

    assert users == {("chute/cli.py", True)}


def test_the_bench_uses_chute_only_through_its_public_api_and_sinks_by_url() -> None:
    used = {
        module
        for path in (SRC / "chute_bench").rglob("*.py")
        for module, _ in imports(path)
        if module.split(".")[0] == "chute"
    }

    assert used <= {"chute", "chute.sinks"}, used


def test_chute_bench_without_the_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # None in sys.modules: importing matplotlib fails as if it were not installed
    proc = run_python(
        "import sys; sys.modules['matplotlib'] = None; from chute.cli import main; "
        f"sys.argv = ['chute', 'bench', '--into', 'sqlite:///{tmp_path}/x.db']; main()"
    )

    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [NO_EXTRA]
    assert proc.stdout == ""
    assert not (tmp_path / "x.db").exists()


def test_chute_bench_help_is_the_bench_commands_own() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "chute", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    for option in ("--into", "--rows", "--sample-rows", "--out", "--quiet", "--debug"):
        assert option in proc.stdout
    assert "chute bench" in proc.stdout
