"""Hostile options and database URLs: each is refused in one line with the README's exit
code before anything is written, or works as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import query
from tests.hostile.harness import Case, check, chute_load, database, params, place

OPTION_CASES = [
    Case(
        "delimiter_of_two_characters",
        "good.csv",
        args=("--delimiter", "||"),
        code=2,
        error=("the delimiter must be one character",),
    ),
    Case(
        "delimiter_newline",
        "good.csv",
        args=("--delimiter", "\n"),
        code=2,
        error=("the delimiter must be one character",),
    ),
    Case(
        "quote_equal_to_delimiter",
        "good.csv",
        args=("--quote", ","),
        code=2,
        error=("the quote must be one character other than the delimiter",),
    ),
    Case(
        "quote_of_two_characters",
        "good.csv",
        args=("--quote", "''"),
        code=2,
        error=("the quote must be one character",),
    ),
    Case(
        "quote_none_keeps_quotes_as_data",
        b'id,name\n1,"a"\n',
        args=("--quote", ""),
        rows=[(1, '"a"')],
    ),
    Case(
        "max_errors_negative",
        "good.csv",
        args=("--max-errors", "-1"),
        code=2,
        error=("max_errors must be 0 or more",),
    ),
    Case(
        "batch_rows_zero",
        "good.csv",
        args=("--batch-rows", "0"),
        code=2,
        error=("batch_rows must be at least 1",),
    ),
    Case(
        "batch_rows_negative",
        "good.csv",
        args=("--batch-rows", "-5"),
        code=2,
        error=("batch_rows must be at least 1",),
    ),
    Case(
        "batch_bytes_zero",
        "good.csv",
        args=("--batch-bytes", "0"),
        code=2,
        error=("batch_bytes must be at least 1",),
    ),
    Case(
        "batch_bytes_one_still_loads_whole_records",
        "good.csv",
        args=("--batch-bytes", "1"),
        rows=[(1, "a"), (2, "b")],
    ),
    Case(
        "workers_1000",
        "good.csv",
        args=("--workers", "1000"),
        code=2,
        error=("workers must be between 1 and 32",),
    ),
    Case(
        "workers_zero",
        "good.csv",
        args=("--workers", "0"),
        code=2,
        error=("workers must be between 1 and 32",),
    ),
    Case(
        "memory_limit_one_byte",
        "good.csv",
        args=("--memory-limit", "1"),
        code=2,
        error=("too small",),
    ),
    Case(
        "memory_limit_negative",
        "good.csv",
        args=("--memory-limit", "-5GiB"),
        code=2,
        error=("too small",),
    ),
    Case(
        "memory_limit_words",
        "good.csv",
        args=("--memory-limit", "lots"),
        code=2,
        error=("cannot read 'lots' as a size",),
    ),
    Case(
        "memory_limit_infinite",
        "good.csv",
        args=("--memory-limit", "infGiB"),
        code=2,
        error=("as a size",),
    ),
    Case(
        "memory_limit_1e400",
        "good.csv",
        args=("--memory-limit", "1e400"),
        code=2,
        error=("as a size",),
    ),
    Case(
        "memory_limit_nan", "good.csv", args=("--memory-limit", "nan"), code=2, error=("as a size",)
    ),
    Case(
        "mode_in_capitals",
        "good.csv",
        args=("--mode", "UPSERT", "--key", "id"),
        code=2,
        error=("unknown mode 'UPSERT'",),
    ),
    Case(
        "rejects_file_is_the_source",
        "one_bad_row.csv",
        args=("--rejects", "{source}"),
        code=2,
        error=("is the source itself",),
    ),
    Case(
        "report_file_is_the_source",
        "good.csv",
        args=("--report", "{source}"),
        code=2,
        error=("is the source",),
    ),
    Case(
        "rejects_file_in_a_missing_folder",
        "one_bad_row.csv",
        args=("--rejects", "{dir}/no/such/folder/r.jsonl"),
        code=2,
        error=("cannot write the reject file",),
        # the good rows of the batch before the reject were not kept either
    ),
]


def _expand(case: Case, workdir: Path) -> Case:
    from dataclasses import replace

    source = workdir / case.name
    args = tuple(
        a.replace("{source}", str(source)).replace("{dir}", str(workdir)) for a in case.args
    )
    return replace(case, args=args)


@pytest.mark.parametrize(("case", "db"), params(OPTION_CASES))
def test_hostile_option(
    case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    check(_expand(case, tmp_path), database(db, request, tmp_path), tmp_path)
    if case.id == "rejects_file_is_the_source":
        assert (tmp_path / case.name).read_bytes() == b"id,name\n1,a\n2,b,c\n3,d\n"
    if case.id == "report_file_is_the_source":
        assert (tmp_path / case.name).read_bytes() == b"id,name\n1,a\n2,b\n"


#: (id, URL, exit code, fragments of the error line)
URL_CASES = [
    ("unknown_scheme_ftp", "ftp://host/db", 2, ("unknown database scheme 'ftp'",)),
    ("scheme_mongodb", "mongodb://root@127.0.0.1/db", 2, ("unknown database scheme 'mongodb'",)),
    # a known scheme with no server behind it: the database cannot be reached (exit 5)
    ("mysql_nobody_listening", "mysql://root@127.0.0.1:1/db", 5, ("cannot connect to mysql://",)),
    ("empty_url", "", 2, ("malformed database URL",)),
    ("scheme_only", "sqlite:", 2, ("malformed database URL",)),
    ("sqlite_without_path", "sqlite:///", 2, ("malformed SQLite URL",)),
    ("ipv6_bracket_never_closed", "postgresql://u@[::1:5432/db", 2, ("malformed",)),
    ("port_out_of_range", "postgresql://u@127.0.0.1:99999/db", 2, ("malformed", "99999")),
    ("port_not_a_number", "postgresql://u@127.0.0.1:abc/db", 2, ("malformed",)),
    (
        "ipv6_loopback_closed_port",
        "postgresql://u@[::1]:1/db",
        5,
        ("cannot connect to postgresql://u@[::1]:1/db",),
    ),
    (
        "host_that_does_not_resolve",
        "postgresql://u@no-such-host.invalid/db",
        5,
        ("cannot connect", "no-such-host.invalid"),
    ),
    (
        "password_with_an_unencoded_at_sign",
        "postgresql://u:p@ss@127.0.0.1:1/db",
        5,
        ("cannot connect",),
    ),
]


@pytest.mark.parametrize(
    ("into", "code", "fragments"),
    [
        pytest.param(
            into,
            code,
            fragments,
            id=case_id,
        )
        for case_id, into, code, fragments in URL_CASES
    ],
)
def test_hostile_url(into: str, code: int, fragments: tuple[str, ...], tmp_path: Path) -> None:
    from tests.hostile.harness import assert_one_line_error

    source = place("good.csv", "data.csv", tmp_path)
    run = chute_load(source, into, workdir=tmp_path)
    assert_one_line_error(run, code, *fragments)
    assert "p@ss" not in run.stderr + run.stdout
    assert "ss@127" not in run.stderr + run.stdout


@pytest.mark.postgres
def test_percent_encoded_password_is_decoded_and_never_shown(pg_url: str, tmp_path: Path) -> None:
    into = pg_url.replace("postgres@", "postgres:p%40ss%2Fw%3A@", 1)
    source = place("good.csv", "data.csv", tmp_path)
    run = chute_load(source, into, workdir=tmp_path)
    assert run.code == 0, run.stderr
    assert "p%40ss" not in run.stdout + run.stderr and "p@ss" not in run.stdout + run.stderr
    assert query(pg_url, "SELECT id, name FROM data ORDER BY id") == [(1, "a"), (2, "b")]


@pytest.mark.parametrize(
    ("case_id", "make", "code", "fragment"),
    [
        ("sqlite_url_of_a_directory", lambda d: d, 5, "cannot open"),
        ("sqlite_file_that_is_not_a_database", lambda d: d / "notdb.db", 5, "not a database"),
    ],
    ids=["sqlite_url_of_a_directory", "sqlite_file_that_is_not_a_database"],
)
def test_sqlite_target_that_is_not_a_database(
    case_id: str, make: object, code: int, fragment: str, tmp_path: Path
) -> None:
    (tmp_path / "notdb.db").write_bytes(b"this is not a SQLite file " * 100)
    target = make(tmp_path)  # type: ignore[operator]
    source = place("good.csv", "data.csv", tmp_path)
    run = chute_load(source, f"sqlite:///{target}", workdir=tmp_path)
    from tests.hostile.harness import assert_one_line_error

    assert_one_line_error(run, code, fragment)
    assert (tmp_path / "notdb.db").read_bytes() == b"this is not a SQLite file " * 100
