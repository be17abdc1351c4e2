"""The docs stay true: every CLI option is documented, the README quickstart runs as shown."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import typer.main

from chute.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _load_options() -> list[str]:
    command = typer.main.get_command(app)
    load = command.commands["load"]  # type: ignore[attr-defined]
    return [opt for p in load.params for opt in p.opts if opt.startswith("--")]


def test_every_load_option_is_in_the_cli_reference_and_the_readme() -> None:
    cli_doc = (ROOT / "docs" / "cli.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for option in _load_options():
        assert f"`{option}" in cli_doc, f"{option} missing from docs/cli.md"
        assert option in readme, f"{option} missing from README usage"


def test_every_python_keyword_matches_a_cli_option() -> None:
    import inspect

    import chute

    keywords = set(inspect.signature(chute.load).parameters) - {"source", "observers", "cancel"}
    options = {o.removeprefix("--").replace("-", "_") for o in _load_options()}
    options = {"header" if o == "no_header" else o for o in options}
    options = {"types" if o == "type" else o for o in options}
    assert keywords <= options, keywords - options


def test_readme_quickstart_output_is_what_the_command_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```console\n\$ chute load examples/orders.csv\n(.*?)```", readme, re.S)
    assert block, "README quickstart block not found"
    shown = block.group(1).strip().splitlines()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    proc = subprocess.run(
        [sys.executable, "-m", "chute", "load", "examples/orders.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.strip().splitlines()
    assert len(printed) == len(shown)
    timing = re.compile(r"^(\d+ rows in |\d+ batch|time: )")
    for want, got in zip(shown, printed, strict=True):
        if timing.match(want):  # times and memory vary: the same words, any numbers
            # which side is the bottleneck, if either, depends on the machine's load
            words, bottleneck = re.compile(r"[\d.,]+"), re.compile(r" → the \w+ is the bottleneck")
            assert words.sub("#", bottleneck.sub("", got)) == words.sub(
                "#", bottleneck.sub("", want)
            )
        else:
            assert got == want
    assert (tmp_path / "chute.db").exists()


def test_the_session_examples_run_and_print_what_their_comments_say(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "python-api.md").read_text()
    section = doc[doc.index("## Writing from your service") :]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3
    for block in blocks:
        expected = re.findall(r"print\(.*\)\s+# (.*)", block)
        proc = subprocess.run(
            [sys.executable, "-c", block],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        if expected:
            assert proc.stdout.strip().splitlines() == expected
