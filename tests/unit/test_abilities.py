"""What sources can do besides reading is said by Protocols the engine checks with
isinstance; exit codes come from one function."""

from __future__ import annotations

import signal
from pathlib import Path

from chute.config import LoadOptions
from chute.errors import (
    ConfigError,
    Interrupted,
    NothingStoredError,
    RecordError,
    Refusal,
    SinkUnavailableError,
    SourceError,
)
from chute.exits import completed_code, exit_code
from chute.sources import open_source
from chute.sources.base import (
    Acknowledging,
    BatchSize,
    Halting,
    HasColumns,
    ReadsStdin,
    Resumable,
    TransactionHooks,
)


def test_a_csv_file_is_resumable_knows_its_columns_and_is_not_stdin(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\n1,a\n")
    source = open_source(path, LoadOptions())
    try:
        assert isinstance(source, Resumable) and source.resumable
        assert isinstance(source, HasColumns) and list(source.columns) == ["id", "name"]
        assert isinstance(source, ReadsStdin) and not source.is_stdin
        assert not isinstance(source, (Acknowledging, TransactionHooks, Halting))
    finally:
        source.close()


def test_an_iterable_is_not_resumable() -> None:
    source = open_source(iter([{"a": 1}]), LoadOptions())
    assert not isinstance(source, Resumable)
    assert isinstance(source, HasColumns)


def test_a_source_cuts_each_batch_where_the_sizes_it_is_given_say(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("n\n" + "".join(f"{i}\n" for i in range(10)))
    asked = [BatchSize(2, 1 << 20), BatchSize(3, 1 << 20)]

    def sizes() -> BatchSize:
        return asked.pop(0) if asked else BatchSize(100, 1 << 20)

    source = open_source(path, LoadOptions())
    try:
        rows = [b.num_rows for b in source.batches(sizes)]
    finally:
        source.close()
    assert rows == [2, 3, 5]


def test_each_error_has_one_exit_code() -> None:
    assert exit_code(ConfigError("x")) == 2
    assert exit_code(SourceError("x")) == 3
    assert exit_code(NothingStoredError("x")) == 4
    assert exit_code(RecordError("x")) == 4
    assert exit_code(RecordError("deadlock", refusal=Refusal.RETRY)) == 5
    assert exit_code(SinkUnavailableError("x")) == 5
    assert exit_code(Interrupted("x")) == 130
    assert exit_code(Interrupted("x"), signum=signal.SIGTERM) == 143
    assert exit_code(KeyboardInterrupt()) == 130
    assert exit_code(ValueError("a bug")) == 1
    assert (completed_code(0), completed_code(3)) == (0, 6)
