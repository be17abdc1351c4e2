"""Every ordinary mistake gets one clear line on stderr, a distinct exit code, no traceback."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import uuid
from pathlib import Path

import pytest

from chute import ConfigError, SourceError
from chute import load as load_api
from tests.helpers import assert_error, chute, execute, query


def rejects_in(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n2,Bob\n3,Cy\n")
    return path


def test_missing_file(sqlite_url: str, tmp_path: Path) -> None:
    assert_error(
        chute("load", str(tmp_path / "nope.csv"), "--into", sqlite_url), 3, "nope.csv: no such file"
    )


def test_directory_instead_of_file(sqlite_url: str, tmp_path: Path) -> None:
    d = tmp_path / "dir.csv"
    d.mkdir()
    assert_error(chute("load", str(d), "--into", sqlite_url), 3, "is a directory")


def test_unreadable_file(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "secret.csv"
    path.write_text("a\n1\n")
    path.chmod(0)
    # root reads files whatever their mode; a read that fails (EIO) shows the same path
    target = (
        str(path)
        if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0"
        else "/proc/self/mem"
    )
    assert_error(
        chute("load", target, "--format", "csv", "--table", "t", "--into", sqlite_url),
        3,
        target,
        "cannot",
    )


def test_undecodable_bytes_are_rejected_and_the_exit_code_says_so(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("id,name\n1,ok\n2,caf\xe9\n".encode("latin-1"))
    result = chute("load", str(path), "--into", sqlite_url)
    assert result.returncode == 6, result.stderr
    assert f"rejected 1 (to {tmp_path / 'latin.rejects.jsonl'})" in result.stdout
    assert "rejects: 1 decode" in result.stdout
    assert "pass its encoding with --encoding" in result.stdout
    [reject] = rejects_in(tmp_path / "latin.rejects.jsonl")
    assert (reject["line"], reject["error"]) == (3, "decode")
    ok = chute("load", str(path), "--into", sqlite_url, "--encoding", "latin-1", "--table", "l2")
    assert ok.returncode == 0, ok.stderr
    assert query(sqlite_url, "SELECT name FROM l2 ORDER BY id") == [("ok",), ("café",)]


def test_undecodable_bytes_in_another_encoding(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"id,name\n1,ok\n2,\xff\xfe\n")
    assert_error(
        chute("load", str(path), "--into", sqlite_url, "--encoding", "ascii"),
        3,
        "line 3",
        "not valid ascii",
    )


def test_unknown_encoding(sqlite_url: str, good_csv: Path) -> None:
    assert_error(
        chute("load", str(good_csv), "--into", sqlite_url, "--encoding", "klingon"),
        2,
        "unknown encoding 'klingon'",
    )


def test_row_with_extra_field_is_rejected_and_the_rest_loaded(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,name\n1,a\n2,b\n3,c,EXTRA\n4,d\n")
    report = tmp_path / "r.json"
    result = chute("load", str(path), "--into", sqlite_url, "--report", str(report))
    assert result.returncode == 6, result.stderr
    data = json.loads(report.read_text())
    assert (data["status"], data["read"], data["written"], data["rejected"]) == (
        "completed",
        4,
        3,
        1,
    )
    assert data["rejects_to"] == str(tmp_path / "bad.rejects.jsonl")
    assert query(sqlite_url, "SELECT id FROM bad ORDER BY id") == [(1,), (2,), (4,)]


def test_max_errors_stops_the_load_and_reports_what_was_committed(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,name\n1,a\n2,b\n3,c,EXTRA\n4,d\n5,e,F\n6,f\n7,g,H\n8,h\n")
    report = tmp_path / "r.json"
    result = chute(
        "load",
        str(path),
        "--into",
        sqlite_url,
        "--batch-rows",
        "2",
        "--max-errors",
        "1",
        "--report",
        str(report),
    )
    assert_error(result, 4, "stopped: 2 records rejected, more than --max-errors 1")
    data = json.loads(report.read_text())
    assert (data["status"], data["read"], data["written"], data["rejected"]) == ("failed", 6, 4, 2)
    assert data["committed_through"].endswith("line 7")
    assert "committed through" in result.stdout
    assert query(sqlite_url, "SELECT id FROM bad ORDER BY id") == [(1,), (2,), (4,), (6,)]
    zero = chute("load", str(path), "--into", sqlite_url, "--table", "b0", "--max-errors", "0")
    assert_error(zero, 4, "more than --max-errors 0")


def test_negative_max_errors(sqlite_url: str, good_csv: Path) -> None:
    assert_error(
        chute("load", str(good_csv), "--into", sqlite_url, "--max-errors", "-1"),
        2,
        "max_errors must be 0 or more",
    )


def test_reject_file_that_cannot_be_written(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id\n1\n2,2\n")
    assert_error(
        chute(
            "load",
            str(path),
            "--into",
            sqlite_url,
            "--rejects",
            str(tmp_path / "no" / "dir" / "r.jsonl"),
        ),
        2,
        "cannot write the reject file",
    )


def test_unclosed_quote(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,name\n1,"never closed\n2,b\n')
    assert_error(chute("load", str(path), "--into", sqlite_url), 3, "line 2", "never closed")


def test_empty_file(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert_error(chute("load", str(path), "--into", sqlite_url), 3, "empty")


def test_corrupt_gzip(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(b"id\n1\n2\n")[:-8] + b"garbage!")
    assert_error(chute("load", str(path), "--into", sqlite_url), 3, "x.csv.gz")


@pytest.mark.parametrize(
    ("into", "fragment"),
    [
        ("not a url", "malformed database URL"),
        ("oracle://x/y", "unknown database scheme 'oracle'"),
        ("sqlite://relative.db", "malformed SQLite URL"),
    ],
)
def test_bad_database_urls(good_csv: Path, into: str, fragment: str) -> None:
    assert_error(chute("load", str(good_csv), "--into", into), 2, fragment)


def test_database_that_is_down(good_csv: Path) -> None:
    result = chute("load", str(good_csv), "--into", "postgresql://u:pw@127.0.0.1:1/db")
    assert_error(result, 5, "cannot connect to postgresql://u:***@127.0.0.1:1/db")
    assert "pw@" not in result.stderr


@pytest.mark.postgres
def test_database_that_refuses_the_login(pg_url: str, good_csv: Path) -> None:
    bad = pg_url.replace("postgres@", "no_such_user@")
    assert_error(chute("load", str(good_csv), "--into", bad), 5, "no_such_user")


def test_sqlite_file_in_a_missing_folder(good_csv: Path, tmp_path: Path) -> None:
    assert_error(
        chute("load", str(good_csv), "--into", f"sqlite:///{tmp_path}/no/such/dir/x.db"),
        5,
        "does not exist",
    )


def test_upsert_without_key(sqlite_url: str, good_csv: Path) -> None:
    result = chute("load", str(good_csv), "--into", sqlite_url, "--mode", "upsert")
    assert_error(result, 2, "mode upsert needs key columns")
    assert "hint: pass --key" in result.stderr


def test_key_not_in_the_data(sqlite_url: str, good_csv: Path) -> None:
    assert_error(
        chute("load", str(good_csv), "--into", sqlite_url, "--mode", "upsert", "--key", "email"),
        2,
        "key column(s) not in the input: email",
    )


def test_unknown_mode(sqlite_url: str, good_csv: Path) -> None:
    assert_error(
        chute("load", str(good_csv), "--into", sqlite_url, "--mode", "merge"),
        2,
        "unknown mode 'merge'",
    )


@pytest.mark.parametrize("table", ["1abc", "a-b", "x; DROP TABLE y", "a" * 64])
def test_invalid_table_names(sqlite_url: str, good_csv: Path, table: str) -> None:
    assert_error(
        chute("load", str(good_csv), "--into", sqlite_url, "--table", table),
        2,
        "is not a valid table name",
    )


def test_unknown_extension_and_format(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("a\n1\n")
    assert_error(chute("load", str(path), "--into", sqlite_url), 2, "cannot tell the format")
    assert_error(
        chute("load", str(path), "--into", sqlite_url, "--format", "xml"), 2, "unknown format 'xml'"
    )


def test_stdin_needs_format_and_table(sqlite_url: str) -> None:
    assert_error(
        chute("load", "-", "--into", sqlite_url, "--table", "t", stdin=b"a\n1\n"),
        2,
        "reading stdin needs --format",
    )
    assert_error(
        chute("load", "-", "--into", sqlite_url, "--format", "csv", stdin=b"a\n1\n"),
        2,
        "table name is needed",
    )
    ok = chute(
        "load", "-", "--into", sqlite_url, "--format", "csv", "--table", "t", stdin=b"a\n1\n2\n"
    )
    assert ok.returncode == 0, ok.stderr
    assert query(sqlite_url, "SELECT a FROM t") == [(1,), (2,)]


def test_input_columns_the_table_lacks_are_named(db_url: str, good_csv: Path) -> None:
    execute(db_url, "CREATE TABLE people (id bigint)")
    result = chute("load", str(good_csv), "--into", db_url)
    assert_error(result, 2, "table people has no column(s) name")
    assert "--add-columns" in result.stderr
    ok = chute("load", str(good_csv), "--into", db_url, "--add-columns")
    assert ok.returncode == 0, ok.stderr
    assert query(db_url, "SELECT id, name FROM people ORDER BY id") == [
        (1, "Ann"),
        (2, "Bob"),
        (3, "Cy"),
    ]


def test_value_that_does_not_fit_an_existing_column_names_line_and_column(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE nums (id bigint, n integer)")
    path = tmp_path / "nums.csv"
    path.write_text("id,n\n1,5\n2,abc\n")
    result = chute("load", str(path), "--into", db_url)
    assert result.returncode == 6, result.stderr
    [reject] = rejects_in(tmp_path / "nums.rejects.jsonl")
    assert (reject["line"], reject["column"]) == (3, "n")
    if db_url.startswith("postgresql"):  # the database's own words
        assert (reject["sqlstate"], reject["message"]) == (
            "22P02",
            'invalid input syntax for type integer: "abc"',
        )
    else:
        assert reject["message"] == (
            "cannot store 'abc' in INTEGER column n: SQLite would store it as text"
        )
    assert query(db_url, "SELECT id, n FROM nums") == [(1, 5)]


@pytest.mark.postgres
def test_database_refusing_a_row_names_its_line(pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, "CREATE TABLE codes (id bigint PRIMARY KEY, code varchar(3) NOT NULL)")
    path = tmp_path / "codes.csv"
    path.write_text("id,code\n1,abc\n2,abc\n3,abcd\n4,x\n5,\n")
    result = chute("load", str(path), "--into", pg_url, "--batch-rows", "2")
    assert result.returncode == 6, result.stderr
    rejects = rejects_in(tmp_path / "codes.rejects.jsonl")
    assert [(r["line"], r["sqlstate"]) for r in rejects] == [(4, "22001"), (6, "23502")]
    assert "too long" in rejects[0]["message"]
    assert query(pg_url, "SELECT id FROM codes ORDER BY id") == [(1,), (2,), (4,)]


def test_bad_json_lines_are_rejected_with_their_line(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2,}\n[1, 2]\n')
    result = chute("load", str(path), "--into", sqlite_url)
    assert result.returncode == 6, result.stderr
    rejects = rejects_in(tmp_path / "events.rejects.jsonl")
    assert [(r["line"], r["error"]) for r in rejects] == [(3, "parse"), (4, "shape")]
    assert "invalid JSON" in rejects[0]["message"]
    assert "expected a JSON object" in rejects[1]["message"]


def test_debug_shows_the_traceback(tmp_path: Path, sqlite_url: str) -> None:
    result = chute("load", str(tmp_path / "nope.csv"), "--into", sqlite_url, "--debug")
    assert result.returncode == 3
    assert "Traceback" in result.stderr


def _tables(url: str) -> list[str]:
    if url.startswith("sqlite:"):
        if not Path(url.split(":///", 1)[1]).exists():
            return []
        rows = query(url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = query(url, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
    return [r[0] for r in rows if not r[0].startswith("_chute_")]


_NOT_TEXT = {
    # name: (file bytes, the byte offset chute must name)
    "random.csv": (random.Random(7).randbytes(4096), None),  # offset: the first non-text
    "nul.csv": (b"id,n\x00ame\n1,abcd\n", 4),  # in the header
    "bell.jsonl": (b'{"id": 1, "x": "\x07"}\n{"id": 2}\n', 16),  # in the first record
    "nuls.csv": (b"id,name\n" + b"1,\x00\x00\x00\x00\n" * 20, 10),  # many
    "utf16.csv": ("id,name\n1,café\n".encode("utf-16"), 0),  # BOM 0xff 0xfe: not utf-8
    "header.csv": (b"id,caf\xe9\n1,2\n", 6),
    "random.csv.gz": (gzip.compress(random.Random(8).randbytes(4096)), None),
}


@pytest.mark.parametrize("name", sorted(_NOT_TEXT))
def test_a_file_that_is_not_text_is_refused_in_one_line_naming_the_offset(
    db_url: str, tmp_path: Path, name: str
) -> None:
    raw, offset = _NOT_TEXT[name]
    path = tmp_path / name
    path.write_bytes(raw)
    result = chute("load", str(path), "--into", db_url)
    assert_error(result, 3, name, "byte offset")
    assert "--encoding" in result.stderr
    assert "Exception ignored" not in result.stderr
    assert len(result.stderr.splitlines()) == 2  # the error and its hint
    assert _tables(db_url) == []
    assert not list(tmp_path.glob("*.rejects.jsonl"))
    with pytest.raises(SourceError) as raised:
        load_api(path, into=db_url)
    if offset is not None:
        assert raised.value.offset == offset
        assert f"byte offset {offset}" in result.stderr
    assert raised.value.line is not None


def test_a_latin1_file_read_as_latin1_with_a_control_character_names_the_file_offset(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "names.csv"
    path.write_bytes("id,Zoë\x02\n1,é\n".encode("latin-1"))  # in the header: refused
    with pytest.raises(SourceError) as raised:
        load_api(path, into=sqlite_url, encoding="latin-1")
    assert (raised.value.offset, raised.value.line) == (6, 1)  # in the file, not its UTF-8


@pytest.mark.parametrize("where", ["missing-folder", "a-directory"])
def test_report_to_an_unwritable_path_is_refused_before_loading(
    sqlite_url: str, tmp_path: Path, good_csv: Path, where: str
) -> None:
    report = tmp_path / "no" / "such" / "r.json" if where == "missing-folder" else tmp_path
    result = chute("load", str(good_csv), "--into", sqlite_url, "--report", str(report))
    assert_error(result, 2, "--report", str(report))
    assert result.stdout == ""
    assert _tables(sqlite_url) == []
    assert not (tmp_path / "no").exists()


def test_a_symlink_loop_as_source_is_a_one_line_source_error(
    sqlite_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    result = chute("load", str(tmp_path / "a.csv"), "--into", sqlite_url)
    assert_error(result, 3, "a.csv", "symbolic links")
    assert _tables(sqlite_url) == []


def test_a_named_pipe_is_read_as_a_stream(sqlite_url: str, tmp_path: Path) -> None:
    fifo = tmp_path / "feed.csv"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"printf 'id\\n1\\n2\\n' > '{fifo}'"])
    result = chute("load", str(fifo), "--into", sqlite_url)
    writer.wait(timeout=60)
    assert result.returncode == 0, result.stderr
    assert query(sqlite_url, "SELECT id FROM feed ORDER BY id") == [(1,), (2,)]


# -- what the database finds that is not its own failure: exit 2, a hint that fits, by SQLSTATE


def _generated_table(url: str) -> None:
    if url.startswith("sqlite:"):
        execute(url, "CREATE TABLE g (id BIGINT, twice BIGINT GENERATED ALWAYS AS (id * 2))")
    else:
        execute(url, "CREATE TABLE g (id bigint, twice bigint GENERATED ALWAYS AS (id * 2) STORED)")


def test_a_generated_column_given_in_the_file_is_a_config_error_without_add_columns_hint(
    db_url: str, tmp_path: Path
) -> None:
    _generated_table(db_url)
    source = tmp_path / "g.csv"
    source.write_text("id,twice\n1,2\n2,4\n")
    result = chute("load", str(source), "--into", db_url)
    assert_error(result, 2, "twice")
    assert "--add-columns" not in result.stderr
    assert "GENERATED" in result.stderr  # the hint says why
    assert query(db_url, "SELECT count(*) FROM g") == [(0,)]


@pytest.mark.parametrize("mode", ["append", "upsert"])
def test_an_always_identity_column_given_in_the_file_is_a_config_error(
    pg_url: str, tmp_path: Path, mode: str
) -> None:
    execute(pg_url, "CREATE TABLE ids (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                    "name text)")  # fmt: skip
    source = tmp_path / "ids.csv"
    source.write_text("id,name\n1,a\n")
    result = chute("load", str(source), "--into", pg_url, "--mode", mode, "--key", "id")
    assert_error(result, 2, "id")
    assert "--add-columns" not in result.stderr
    assert query(pg_url, "SELECT count(*) FROM ids") == [(0,)]


def test_column_names_equal_in_their_first_63_bytes_are_a_config_error(
    pg_url: str, tmp_path: Path
) -> None:
    a = "a" * 70
    source = tmp_path / "long.csv"
    source.write_text(f"{a}1,{a}2\n1,2\n")
    result = chute("load", str(source), "--into", pg_url)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert _tables(pg_url) == []


def test_too_many_columns_is_a_config_error(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "wide.csv"
    source.write_text(",".join(f"c{i}" for i in range(1700)) + "\n" + ",".join("1" * 1700) + "\n")
    result = chute("load", str(source), "--into", pg_url)
    assert_error(result, 2, "1600")
    with pytest.raises(ConfigError) as raised:
        load_api(source, into=pg_url)
    assert raised.value.sqlstate == "54011"
    assert _tables(pg_url) == []


def test_a_missing_privilege_is_a_config_error_naming_grant(pg_url: str, tmp_path: Path) -> None:
    role = f"chute_nobody_{uuid.uuid4().hex[:8]}"
    execute(pg_url, f"CREATE ROLE {role} LOGIN", f"GRANT USAGE ON SCHEMA public TO {role}")
    try:
        as_role = pg_url.replace("postgres@", f"{role}@", 1)
        source = tmp_path / "people.csv"
        source.write_text("id\n1\n")
        result = chute("load", str(source), "--into", as_role)
        assert_error(result, 2, "permission denied")
        assert "GRANT" in result.stderr
        with pytest.raises(ConfigError) as raised:
            load_api(source, into=as_role)
        assert raised.value.sqlstate == "42501"
        assert _tables(pg_url) == []
    finally:
        execute(pg_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def test_loading_into_a_view_is_a_config_error(pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, "CREATE TABLE base (id bigint)",
            "CREATE VIEW shown AS SELECT id, 1 AS one FROM base")  # fmt: skip
    source = tmp_path / "shown.csv"
    source.write_text("id,one\n1,1\n")
    result = chute("load", str(source), "--into", pg_url)
    assert_error(result, 2, "view")
    assert query(pg_url, "SELECT count(*) FROM base") == [(0,)]


def test_a_replace_blocked_by_a_dependent_view_is_a_config_error_without_atomic_hint(
    pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TABLE people (id bigint)", "INSERT INTO people VALUES (7)",
            "CREATE VIEW people_view AS SELECT id FROM people")  # fmt: skip
    source = tmp_path / "people.csv"
    source.write_text("id\n1\n2\n")
    result = chute("load", str(source), "--into", pg_url, "--mode", "replace")
    assert_error(result, 2, "people_view")
    assert "--atomic" not in result.stderr
    assert query(pg_url, "SELECT id FROM people") == [(7,)]  # unchanged
