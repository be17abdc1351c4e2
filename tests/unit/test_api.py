from __future__ import annotations

import pytest

import chute
from chute.api import default_table
from chute.config import redact
from chute.errors import ConfigError


def test_public_names_are_exactly_the_curated_ones() -> None:
    assert sorted(chute.__all__) == sorted(
        [
            "Acknowledging",
            "Dataset",
            "DatasetError",
            "dataset",
            "Halting",
            "HasColumns",
            "ReadsStdin",
            "Resumable",
            "TransactionHooks",
            "exit_code",
            "Capabilities",
            "Checkpoint",
            "CheckpointStore",
            "ChuteError",
            "CommitGuard",
            "ConfigError",
            "Interrupted",
            "LoadLocks",
            "LoadReport",
            "LoadRunningError",
            "Mode",
            "NothingStoredError",
            "Observer",
            "Position",
            "Preview",
            "RecordError",
            "Refusal",
            "Reject",
            "RejectStore",
            "ResumeError",
            "Savepoints",
            "Sink",
            "SinkError",
            "SinkUnavailableError",
            "Source",
            "SourceError",
            "Staging",
            "TableColumn",
            "TooManyRejectsError",
            "WriteCounts",
            "__version__",
            "consume",
            "load",
            "preview",
            "publish",
            # writer sessions
            "AsyncSession",
            "Session",
            "SessionError",
            "WriteResult",
            "connect",
            "connect_async",
        ]
    )
    for name in chute.__all__:
        assert hasattr(chute, name)


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("data/orders.csv", "orders"),
        ("Orders 2024.csv.gz", "orders_2024"),
        ("2024-sales.jsonl", "t_2024_sales"),
        ("x.y.tsv", "x_y"),
    ],
)
def test_table_name_comes_from_the_file_stem(path: str, table: str) -> None:
    assert default_table(path) == table


def test_stdin_and_iterables_need_a_table_name() -> None:
    with pytest.raises(ConfigError, match="table name is needed"):
        default_table("-")


def test_passwords_are_redacted() -> None:
    assert redact("postgresql://bob:s3cret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert redact("sqlite:///a.db") == "sqlite:///a.db"


def test_errors_share_one_base_with_exit_codes() -> None:
    codes = {
        cls.__name__: cls.exit_code
        for cls in (
            chute.ConfigError,
            chute.SourceError,
            chute.RecordError,
            chute.SinkError,
            chute.SinkUnavailableError,
        )
    }
    assert codes == {
        "ConfigError": 2,
        "SourceError": 3,
        "RecordError": 4,
        "SinkError": 5,
        "SinkUnavailableError": 5,
    }
    assert all(issubclass(getattr(chute, n), chute.ChuteError) for n in codes)
