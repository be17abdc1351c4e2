"""The worked example of docs/extending.md, installed through a real entry point (a
dist-info folder on sys.path, as pip would leave it) and loaded into."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import chute
from chute import registry
from chute.errors import ConfigError

DOC = Path(__file__).parents[2] / "docs" / "extending.md"
MODULE = "chute_jsonl_example"


def example_code() -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- example: {MODULE}\.py -->\n```python\n(.*?)```", text, re.S)
    assert match, "the worked example is missing from docs/extending.md"
    return match.group(1)


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example sink as an installed distribution declaring ``jsonl`` in chute.sinks."""
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{MODULE}.py").write_text(example_code())
    info = site / f"{MODULE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {MODULE}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[chute.sinks]\njsonl = {MODULE}:JsonlSink\n")
    monkeypatch.syspath_prepend(str(site))
    registry.forget()
    yield site
    registry.forget()
    sys.modules.pop(MODULE, None)


def test_a_sink_declared_by_an_entry_point_loads_records(installed: Path, tmp_path: Path) -> None:
    assert registry.sink_class("jsonl").__module__ == MODULE
    people = tmp_path / "people.csv"
    people.write_text("id,name,born\n1,Ada,1815-12-10\n2,Grace,1906-12-09\n")
    out = tmp_path / "out"

    report = chute.load(people, into=f"jsonl://{out}", table="people")

    assert (report.created, report.rejected) == (2, 0)
    rows = [json.loads(line) for line in (out / "people.jsonl").read_text().splitlines()]
    assert rows == [
        {"id": 1, "name": "Ada", "born": "1815-12-10"},
        {"id": 2, "name": "Grace", "born": "1906-12-09"},
    ]


def test_the_example_sink_keeps_rejects_in_its_reject_store(
    installed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = tmp_path / "first.csv"
    first.write_text("id,name\n1,Ada\n")
    chute.load(first, into=f"jsonl://{out}", table="people")
    second = tmp_path / "second.csv"
    second.write_text("id,name\n2,Grace\nthree,Bad\n")  # id is a bigint column now

    report = chute.load(second, into=f"jsonl://{out}", table="people", rejects="table:bad")

    assert (report.created, report.rejected) == (1, 1)
    (reject,) = [json.loads(line) for line in (out / "bad.jsonl").read_text().splitlines()]
    assert (reject["line"], reject["column"]) == (3, "id")


def test_the_cli_finds_the_sink_through_its_entry_point(installed: Path, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("id,name\n1,Ada\n")
    src = Path(chute.__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(src)])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chute",
            "load",
            str(people),
            "--into",
            f"jsonl://{tmp_path}/o",
            "--table",
            "people",
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "o" / "people.jsonl").read_text()) == {"id": 1, "name": "Ada"}


def test_an_unknown_scheme_lists_the_schemes_there_are(installed: Path) -> None:
    with pytest.raises(ConfigError, match="unknown database scheme 'nosuch'") as caught:
        registry.sink_class("nosuch")
    assert "jsonl" in (caught.value.hint or "")
    assert "postgresql" in (caught.value.hint or "")


def test_builtin_sinks_are_found_without_installed_metadata() -> None:
    for scheme in registry.BUILTIN_SINKS:
        assert registry.sink_class(scheme).__name__.endswith("Sink")
