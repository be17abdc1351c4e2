"""Hostile CSV files (and gzip wrappers): each is stored exactly, rejected with its reason,
or refused in one line, and the table is what it should be."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.harness import Case, Reject, check, database, params

CLASS_C_NOTHING = "issue 10 class C: a run that stored nothing says so and exits non-zero"

CASES = [
    Case(
        "ragged_short_rows",
        "ragged_short_rows.csv",
        code=6,
        rejects=(
            Reject(2, "parse", message="expected 3 fields, found 2"),
            Reject(3, "parse", message="expected 3 fields, found 1"),
        ),
        rows=[(3, "c", "d")],
    ),
    Case(
        "ragged_long_row",
        "ragged_long_row.csv",
        code=6,
        rejects=(Reject(2, "parse", message="expected 2 fields, found 5"),),
        rows=[(2, "b")],
    ),
    Case(
        "quote_opened_on_last_line",
        "quote_opened_on_last_line.csv",
        code=3,
        error=("line 3", "a quoted value is never closed"),
    ),
    Case(
        "stray_quote_in_unquoted_field",
        "stray_quote_in_unquoted_field.csv",
        code=3,
        error=("line 2", "never closed"),
    ),
    Case(
        "header_only",
        "header_only.csv",
        code=3,
        error=("no records",),
    ),
    Case("header_empty_name", "header_empty_name.csv", code=3, error=("header field 2 is empty",)),
    Case("header_blank_name", "header_blank_name.csv", code=3, error=("header field 2 is empty",)),
    Case(
        "header_names_differ_by_trailing_space",
        "header_names_differ_by_trailing_space.csv",
        code=2,
        error=("the header repeats column names: name",),
    ),
    Case(
        "header_names_differ_by_case_sqlite",
        "header_names_differ_by_case.csv",
        code=2,
        error=("name",),
        dbs=("sqlite",),
    ),
    Case(
        "header_names_differ_by_case_postgres",
        "header_names_differ_by_case.csv",
        rows=[(1, 2, 3)],
        sql='SELECT id, "Name", name FROM data',
        dbs=("postgres",),
    ),
    Case(
        "nul_in_quoted_field_sqlite",
        "nul_in_quoted_field.csv",
        rows=[(1, "a\x00b"), (2, "c")],
        dbs=("sqlite",),
    ),
    Case(
        "nul_in_quoted_field_postgres",
        "nul_in_quoted_field.csv",
        code=6,
        rejects=(Reject(2, "database", column="name", sqlstate="22021"),),
        rows=[(2, "c")],
        dbs=("postgres",),
    ),
    Case(
        "nul_in_unquoted_field_sqlite",
        "nul_in_unquoted_field.csv",
        rows=[(1, "a\x00b"), (2, "c")],
        dbs=("sqlite",),
    ),
    Case(
        "nul_in_unquoted_field_postgres",
        "nul_in_unquoted_field.csv",
        code=6,
        rejects=(Reject(2, "database", column="name", sqlstate="22021"),),
        rows=[(2, "c")],
        dbs=("postgres",),
    ),
    Case(
        "cr_only_line_endings",
        "cr_only_line_endings.csv",
        code=3,
        error=("line 1", "carriage return"),
    ),
    Case(
        "bare_cr_inside_a_record",
        "bare_cr_inside_a_record.csv",
        code=6,
        rejects=(Reject(2, "parse", message="carriage return"),),
        rows=[(3, "c")],
    ),
    Case(
        "bare_cr_in_a_batch_of_one_record",  # the parser's two records for one crashed
        b"id,name\n1,a\n2,b\rc\n3,d\n",
        args=("--batch-rows", "1"),
        code=6,
        rejects=(Reject(3, "parse", message="carriage return"),),
        rows=[(1, "a"), (3, "d")],
    ),
    Case(
        "bare_cr_in_the_only_record",
        b"id,name,more\n3,5\r,y\n",
        setup=("CREATE TABLE data (id text, name text, more text)",),
        code=(3, 4, 5),
        error=("nothing was stored",),
        rejects=(Reject(2, "parse", message="carriage return"),),
    ),
    Case(
        "bare_cr_and_ragged_row_in_one_batch",
        "bare_cr_and_ragged_row.csv",
        code=6,
        rejects=(
            Reject(3, "parse", message="expected 2 fields, found 3"),
            Reject(4, "parse", message="carriage return"),
        ),
        rows=[(1, "a"), (5, "e"), (6, "q\rq")],
    ),
    Case("cr_inside_quotes", "cr_inside_quotes.csv", rows=[(1, "a\rb"), (2, "c")]),
    Case("mixed_crlf_and_lf", "mixed_crlf_and_lf.csv", rows=[(1, "a"), (2, "b"), (3, "c")]),
    Case("bom_at_start", "bom_at_start.csv", rows=[(1, "a")], sql="SELECT id, name FROM data"),
    Case("bom_in_the_middle_is_data", "bom_in_the_middle.csv", rows=[(1, "\ufeffa"), (2, "b")]),
    Case(
        "raw_surrogate_and_overlong_utf8",
        "raw_surrogate_and_overlong_utf8.csv",
        code=6,
        rejects=(Reject(2, "decode"), Reject(3, "decode")),
        rows=[(3, "ok")],
    ),
    Case(
        "utf16_with_bom_without_encoding",
        "utf16_with_bom.csv",
        code=3,
        error=("not utf-8", "byte offset 0"),
    ),
    Case(
        "utf16_with_bom_and_encoding",
        "utf16_with_bom.csv",
        args=("--encoding", "utf-16"),
        rows=[(1, "é")],
    ),
    Case(
        "utf8_read_as_utf16",
        "utf8_without_bom.csv",
        args=("--encoding", "utf-16"),
        code=3,
        error=("utf-16",),
    ),
    Case(
        "cp1252_euro_and_curly_quotes",
        "cp1252_euro.csv",
        args=("--encoding", "cp1252"),
        rows=[(1, "€5"), (2, "“quoted”")],
    ),
    Case(
        "trailing_line_without_newline",
        "trailing_line_without_newline.csv",
        rows=[(1, "a"), (2, "b")],
    ),
    Case(
        "blank_lines_between_records",
        "blank_lines_between_records.csv",
        rows=[(1, "a"), (2, "b")],
    ),
    Case(
        "quoted_newline_shifts_line_numbers",
        "quoted_newline_shifts_lines.csv",
        code=6,
        rejects=(Reject(5, "parse", message="expected 2 fields, found 3"),),
        rows=[(1, "two\nlines"), (2, "x"), (4, "w")],
    ),
    Case(
        "doubled_quotes",
        "doubled_quotes.csv",
        rows=[(1, 'she said "hi"'), (2, '"')],
    ),
    Case(
        "empty_vs_quoted_empty",
        "empty_vs_quoted_empty.csv",
        rows=[(1, None), (2, ""), (3, "a")],
    ),
    Case(
        "null_words_are_text",
        "null_words_are_text.csv",
        rows=[(1, "NULL"), (2, "\\N"), (3, "null"), (4, None)],
    ),
    Case(
        "padded_and_signed_numbers_are_text",
        "padded_and_signed_numbers_are_text.csv",
        rows=[(1, " 42"), (2, "+5"), (3, "00123")],
    ),
    Case(
        "semicolon_delimiter_keeps_commas",
        "semicolon_delimiter.csv",
        args=("--delimiter", ";"),
        rows=[(1, "a,b"), (2, "c")],
    ),
    Case(
        "csv_given_as_jsonl",
        "csv_given_as_jsonl.csv",
        args=("--format", "jsonl"),
        code=4,
        error=("rejected",),
        rejects=(Reject(1, "parse"), Reject(2, "parse")),
    ),
    # gzip
    Case(
        "gzip_that_is_not_gzip",
        "not_gzip.csv.gz",
        name="data.csv.gz",
        code=3,
        error=("data.csv.gz", "Not a gzipped file"),
    ),
    Case("gzip_empty_file", "empty.csv.gz", name="data.csv.gz", code=3, error=("empty",)),
    Case("gzip_of_nothing", "gzip_of_nothing.csv.gz", name="data.csv.gz", code=3, error=("empty",)),
    Case(
        "gzip_truncated",
        "truncated.csv.gz",
        name="data.csv.gz",
        code=3,
        error=("data.csv.gz", "cannot read"),
    ),
    Case(
        "gzip_of_two_members",
        "two_gzip_members.csv.gz",
        name="data.csv.gz",
        rows=[(1, "a"), (2, "b")],
    ),
]


@pytest.mark.parametrize(("case", "db"), params(CASES))
def test_csv_file(case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    check(case, database(db, request, tmp_path), tmp_path)


# -- big inputs, made at test time ------------------------------------------------------


def _ten_thousand_columns(path: Path) -> None:
    n = 10_000
    path.write_text(
        ",".join(f"c{i}" for i in range(n)) + "\n" + ",".join(str(i) for i in range(n)) + "\n"
    )


def _fifty_mib_field(path: Path) -> None:
    with path.open("wb") as f:
        f.write(b'id,blob\n1,"' + b"x" * (50 << 20) + b'"\n2,y\n')


def _long_lines(path: Path) -> None:
    # 300 records of 100 KiB each, one with a missing field: line numbers stay right
    with path.open("wb") as f:
        f.write(b"id,a,b\n")
        for i in range(1, 301):
            f.write(b"%d,%s,%s\n" % (i, b"y" * 100_000, b"z") if i != 150 else b"150,only\n")


BIG = [
    Case(
        "ten_thousand_columns",
        _ten_thousand_columns,
        code=(2, 3),
        error=("columns",),
        xfail={
            "sqlite": "SQLite says only 'too many columns' with its generic error code: "
            "nothing to classify by (exit 5)"
        },
    ),
    Case(
        "fifty_mib_single_field",
        _fifty_mib_field,
        rows=[(1, 50 << 20), (2, 1)],
        sql="SELECT id, length(blob) FROM data ORDER BY id",
    ),
    Case(
        "long_lines_with_one_short",
        _long_lines,
        args=("--batch-rows", "64"),
        code=6,
        rejects=(Reject(151, "parse", message="expected 3 fields, found 2"),),
        rows=[(299, 100_000 * 299)],
        sql="SELECT count(*), sum(length(a)) FROM data",
    ),
]


@pytest.mark.parametrize(("case", "db"), params(BIG))
def test_big_csv_input(case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    check(case, database(db, request, tmp_path), tmp_path)
