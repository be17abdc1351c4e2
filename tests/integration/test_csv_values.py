"""CSV reading end to end: NULL versus empty, headers, line endings, quoting, files, encodings.

Every test reads the table back with an independent driver; those taking ``db_url`` run on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import chute
from chute import ConfigError, SourceError
from tests.helpers import DATA, query, write
from tests.integration.readback import (
    check_identity,
    column_types,
    expect_types,
    is_pg,
    load_text,
    rejects_in,
)


def test_quoted_empty_field_is_empty_string_and_unquoted_is_null(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, 'id,name,note\n1,,""\n2,"",\n3,x,y\n', db_url)

    check_identity(report)
    assert report.read == report.written == 3
    assert query(db_url, "SELECT id, name, note FROM t ORDER BY id") == [
        (1, None, ""),
        (2, "", None),
        (3, "x", "y"),
    ]
    assert query(db_url, "SELECT count(*) FROM t WHERE name IS NULL") == [(1,)]
    assert query(db_url, "SELECT count(*) FROM t WHERE note = ''") == [(1,)]


def test_quoted_empty_field_makes_an_otherwise_integer_column_text(
    db_url: str, tmp_path: Path
) -> None:
    # An unquoted empty field is NULL and does not stop inference; "" is a real value.
    report = load_text(tmp_path, 'a,b\n1,1\n,""\n3,3\n', db_url)

    assert report.columns == {"a": "bigint", "b": "text"}
    assert query(db_url, "SELECT a, b FROM t ORDER BY a NULLS FIRST") == [
        (None, ""),
        (1, "1"),
        (3, "3"),
    ]


def test_header_row_names_columns_and_surrounding_spaces_are_trimmed(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, " first name ,Age,e-mail\nAda,36,ada@example.org\n", db_url)

    assert list(report.columns) == ["first name", "Age", "e-mail"]
    assert list(column_types(db_url, "t")) == ["first name", "Age", "e-mail"]
    assert query(db_url, 'SELECT "first name", "Age", "e-mail" FROM t') == [
        ("Ada", 36, "ada@example.org")
    ]


def test_no_header_names_columns_column_1_column_2_and_keeps_the_first_row(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, "1,alpha\n2,beta\n3,gamma\n", db_url, header=False)

    check_identity(report)
    assert report.read == 3
    assert list(column_types(db_url, "t")) == ["column_1", "column_2"]
    assert query(db_url, "SELECT column_1, column_2 FROM t ORDER BY column_1") == [
        (1, "alpha"),
        (2, "beta"),
        (3, "gamma"),
    ]


def test_no_header_infers_types_from_the_whole_first_batch(db_url: str, tmp_path: Path) -> None:
    # With the default batch size all three rows are in the first batch, so the types are
    # inferred from all of them, exactly as with a header: nothing needs to widen later.
    with_header = load_text(tmp_path, "a,b\n1,x\n2.5,y\n3,z\n", db_url, table="with_header")
    without = load_text(tmp_path, "1,x\n2.5,y\n3,z\n", db_url, table="t", header=False)

    number = "numeric(38,1)" if is_pg(db_url) else "double"  # SQLite: no exact decimal
    assert with_header.columns == {"a": number, "b": "text"}
    assert with_header.changes == []
    assert without.columns == {"column_1": number, "column_2": "text"}
    assert without.changes == []
    assert without.batches == with_header.batches == 1


def test_blank_lines_are_skipped_anywhere_in_the_file(db_url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, "\n\nid,name\n\n1,a\n\n\n2,b\r\n\r\n3,c\n\n", db_url)

    check_identity(report)
    assert report.read == report.written == 3
    assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, "b"), (3, "c")]


def test_blank_line_inside_a_quoted_field_is_kept(db_url: str, tmp_path: Path) -> None:
    load_text(tmp_path, 'id,text\n1,"para one\n\npara two"\n2,x\n', db_url)

    assert query(db_url, "SELECT text FROM t ORDER BY id") == [("para one\n\npara two",), ("x",)]


def test_utf8_bom_is_dropped_from_the_first_column_name(db_url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, b"\xef\xbb\xbfid,name\n1,\xc3\xa9t\xc3\xa9\n", db_url)

    assert list(report.columns) == ["id", "name"]
    assert report.columns["id"] == "bigint"
    assert query(db_url, "SELECT id, name FROM t") == [(1, "été")]


def test_crlf_line_endings_leave_no_carriage_returns_in_values(db_url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, "id,name,flag\r\n1,alpha,true\r\n2,beta,false\r\n", db_url)

    assert report.columns == {"id": "bigint", "name": "text", "flag": "boolean"}
    rows = query(db_url, "SELECT id, name, flag FROM t ORDER BY id")
    assert [(i, n, bool(f)) for i, n, f in rows] == [(1, "alpha", True), (2, "beta", False)]


def test_crlf_file_without_final_line_ending(db_url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "id,name\r\n1,alpha\r\n2,beta", db_url)

    assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [(1, "alpha"), (2, "beta")]


def test_quoted_fields_hold_commas_doubled_quotes_and_newlines(db_url: str, tmp_path: Path) -> None:
    text = (
        "id,text\n"
        '1,"Smith, John"\n'
        '2,"She said ""hi"" twice"\n'
        '3,"line one\nline two\nline three"\n'
        '4,""""\n'
        '5,"a,""b"",\nc"\n'
        "6,plain\n"
    )
    report = load_text(tmp_path, text, db_url)

    check_identity(report)
    assert report.read == 6
    assert query(db_url, "SELECT id, text FROM t ORDER BY id") == [
        (1, "Smith, John"),
        (2, 'She said "hi" twice'),
        (3, "line one\nline two\nline three"),
        (4, '"'),
        (5, 'a,"b",\nc'),
        (6, "plain"),
    ]


def test_quoted_newlines_across_batch_boundaries(db_url: str, tmp_path: Path) -> None:
    rows = [f'{i},"first {i}\nsecond, {i}"' for i in range(1, 8)]
    report = load_text(tmp_path, "id,text\n" + "\n".join(rows) + "\n", db_url, batch_rows=2)

    check_identity(report)
    assert report.batches == 4
    assert query(db_url, "SELECT id, text FROM t ORDER BY id") == [
        (i, f"first {i}\nsecond, {i}") for i in range(1, 8)
    ]


def test_line_numbers_in_rejects_count_the_newlines_inside_quoted_fields(tmp_path: Path) -> None:
    text = 'id,text\n1,"two\nlines"\n2,ok\n3,too,many\n'
    path = write(tmp_path / "in.csv", text)
    url = f"sqlite:///{tmp_path / 'x.db'}"

    report = chute.load(path, into=url, table="t")

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert (report.read, report.written, report.rejected) == (3, 2, 1)
    assert reject["line"] == 5  # record 3 starts on line 5: the quoted newline counts
    assert reject["record_number"] == 3
    assert reject["offset"] == len(b'id,text\n1,"two\nlines"\n2,ok\n')
    assert (reject["error"], reject["message"]) == ("parse", "expected 2 fields, found 3")
    assert (reject["raw"], reject["record"]) == ("3,too,many", None)
    assert report.rejects[0].position.describe() == f"{path}, line 5"
    assert query(url, "SELECT id, text FROM t ORDER BY id") == [(1, "two\nlines"), (2, "ok")]


def test_row_with_too_many_fields_is_rejected_with_its_line(db_url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, "id,name\n1,a\n2,b\n3,c,surplus\n4,d\n", db_url)

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert (report.read, report.written, report.created, report.rejected) == (4, 3, 3, 1)
    assert (reject["line"], reject["record_number"]) == (4, 3)
    assert (reject["error"], reject["message"]) == ("parse", "expected 2 fields, found 3")
    assert (reject["column"], reject["sqlstate"]) == (None, None)
    assert (reject["raw"], reject["record"]) == ("3,c,surplus", None)
    assert reject["source"] == str(tmp_path / "in.csv")
    assert report.rejects[0].position.describe() == f"{tmp_path / 'in.csv'}, line 4"
    # the rows on either side of it, in the same batch, are stored
    assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, "b"), (4, "d")]
    assert report.columns == {"id": "bigint", "name": "text"}


def test_quote_never_closed_is_a_source_error(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="never closed"):
        load_text(tmp_path, 'id,name\n1,a\n2,"unterminated\n3,c\n', db_url)


def test_gzip_file_is_read_and_table_named_after_the_file(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "Orders 2024.csv.gz"
    path.write_bytes(gzip.compress(b"order_id,total\n1,9.99\n2,120.00\n3,0.5\n"))

    report = chute.load(path, into=db_url)

    assert report.table == "orders_2024"
    assert report.read == 3
    rows = query(db_url, "SELECT order_id, total FROM orders_2024 ORDER BY order_id")
    assert [r[0] for r in rows] == [1, 2, 3]
    if is_pg(db_url):  # fixed point (120.00): exact numeric
        assert report.columns == {"order_id": "bigint", "total": "numeric(38,2)"}
        assert [str(r[1]) for r in rows] == ["9.99", "120.00", "0.50"]
    else:  # SQLite has no exact decimal: REALs, each exact
        assert report.columns == {"order_id": "bigint", "total": "double"}
        assert [r[1] for r in rows] == [9.99, 120.0, 0.5]


def test_corrupt_gzip_file_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "in.csv.gz"
    path.write_bytes(gzip.compress(b"id\n1\n2\n")[:-12])

    with pytest.raises(SourceError, match="cannot read"):
        chute.load(path, into=f"sqlite:///{tmp_path / 'x.db'}", table="t")


@pytest.mark.parametrize(
    ("encoding", "raw", "expected"),
    [
        ("latin-1", "id,name\n1,café\n2,Müller\n".encode("latin-1"), ["café", "Müller"]),
        ("cp1252", "id,name\n1,€5 “quoted”\n2,naïve\n".encode("cp1252"), ["€5 “quoted”", "naïve"]),
        ("utf-16", "id,name\n1,東京\n2,😀\n".encode("utf-16"), ["東京", "😀"]),
    ],
)
def test_other_encodings_are_decoded(
    db_url: str, tmp_path: Path, encoding: str, raw: bytes, expected: list[str]
) -> None:
    report = load_text(tmp_path, raw, db_url, encoding=encoding)

    assert list(report.columns) == ["id", "name"]
    assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [
        (i + 1, name) for i, name in enumerate(expected)
    ]


def test_latin1_file_read_as_utf8_rejects_each_undecodable_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    rejects = tmp_path / "latin1.rejects.jsonl"  # not beside the source, in tests/data

    report = chute.load(DATA / "customers_latin1.csv", into=url, table="t", rejects=str(rejects))

    found = rejects_in(report, rejects)
    assert (report.read, report.written, report.rejected) == (3, 1, 2)
    assert [(r["line"], r["record_number"], r["error"]) for r in found] == [
        (3, 2, "decode"),
        (4, 3, "decode"),
    ]
    # the first byte that is not UTF-8: "ë" in "2,Zoë", "é" in "3,José"
    assert [r["message"] for r in found] == [
        "bytes that are not valid utf-8 (at byte 5 of the record)",
        "bytes that are not valid utf-8 (at byte 6 of the record)",
    ]
    head = "id,name,city\n1,Anne,Paris\n".encode("latin-1")
    assert [r["offset"] for r in found] == [len(head), len(head + "2,Zoë,Köln\n".encode("latin-1"))]
    assert [r["raw"] for r in found] == ["2,Zo\ufffd,K\ufffdln", "3,Jos\ufffd,S\ufffdo Paulo"]
    assert all(r["record"] is None and r["column"] is None for r in found)
    assert query(url, "SELECT id, name, city FROM t") == [(1, "Anne", "Paris")]


def test_latin1_file_with_its_encoding_loads(db_url: str) -> None:
    report = chute.load(DATA / "customers_latin1.csv", into=db_url, table="t", encoding="latin-1")

    check_identity(report)
    assert query(db_url, "SELECT name, city FROM t ORDER BY id") == [
        ("Anne", "Paris"),
        ("Zoë", "Köln"),
        ("José", "São Paulo"),
    ]


def test_unknown_encoding_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        load_text(tmp_path, "a\n1\n", f"sqlite:///{tmp_path / 'x.db'}", encoding="klingon")


def test_one_megabyte_field_is_stored_whole(db_url: str, tmp_path: Path) -> None:
    big = ("lorem ipsum, dolor " * 60_000)[:1_000_000]
    report = load_text(tmp_path, f'id,body\n1,"{big}"\n2,short\n', db_url)

    check_identity(report)
    assert query(db_url, "SELECT id, length(body) FROM t ORDER BY id") == [(1, 1_000_000), (2, 5)]
    assert query(db_url, "SELECT body FROM t WHERE id = 1") == [(big,)]


def test_one_megabyte_field_larger_than_batch_bytes(db_url: str, tmp_path: Path) -> None:
    big = "x" * 1_000_000
    report = load_text(tmp_path, f"id,body\n1,{big}\n2,{big}y\n3,z\n", db_url, batch_bytes=4096)

    check_identity(report)
    assert report.read == 3
    assert query(db_url, "SELECT id, length(body) FROM t ORDER BY id") == [
        (1, 1_000_000),
        (2, 1_000_001),
        (3, 1),
    ]


def test_emoji_and_cjk_values_and_column_names_round_trip(db_url: str, tmp_path: Path) -> None:
    text = '名前,emoji,note\n東京タワー,🚀👩‍💻🇯🇵,"混合 text, 한국어"\nZürich,e\u0301,🙂\n'
    report = load_text(tmp_path, text, db_url)

    assert list(report.columns) == ["名前", "emoji", "note"]
    expect_types(db_url, "t", {"名前": "text", "emoji": "text", "note": "text"})
    assert query(db_url, 'SELECT "名前", emoji, note FROM t ORDER BY note') == [
        ("東京タワー", "🚀👩‍💻🇯🇵", "混合 text, 한국어"),
        ("Zürich", "e\u0301", "🙂"),
    ]


def test_semicolon_delimiter(db_url: str, tmp_path: Path) -> None:
    load_text(tmp_path, 'id;label\n1;"a;b"\n2;c, d\n', db_url, delimiter=";")

    assert query(db_url, "SELECT id, label FROM t ORDER BY id") == [(1, "a;b"), (2, "c, d")]


def test_tsv_file_is_tab_separated(db_url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "id\tlabel\n1\ta, b\n2\tc\n", db_url, name="in.tsv")

    assert query(db_url, "SELECT id, label FROM t ORDER BY id") == [(1, "a, b"), (2, "c")]


def test_header_only_file_creates_nothing_and_reports_no_records(
    db_url: str, tmp_path: Path
) -> None:
    with pytest.raises(SourceError, match="no records") as raised:
        load_text(tmp_path, "id,name\n", db_url)

    assert raised.value.exit_code == 3
    report = raised.value.report
    assert report is not None and report.read == report.written == 0
    assert not query(
        db_url,
        "SELECT name FROM sqlite_master WHERE name = 't'"
        if db_url.startswith("sqlite:")
        else "SELECT to_regclass('t')::text WHERE to_regclass('t') IS NOT NULL",
    )
