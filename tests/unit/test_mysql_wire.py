"""The bytes the MySQL sink sends, its dialect, and its errors by code (no server)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from chute.errors import ConfigError, RecordError, Refusal, SinkError, SinkUnavailableError
from chute.sinks.mysql_errors import DIALECT, classify, warning_error
from chute.sinks.mysql_wire import insert_rows, load_data_bytes


def test_load_data_lines_escape_specials_and_spell_null_apart_from_empty() -> None:
    batch = pa.record_batch(
        {
            "s": ["", None, "\\N", "a\tb\nc\\d\x00"],
            "i": [1, None, -3, 4],
            "b": [True, False, None, True],
        }
    )
    assert load_data_bytes(batch) == (
        b"\t1\t1\n\\N\t\\N\t0\n\\\\N\t-3\t\\N\na\\tb\\nc\\\\d\\0\t4\t1\n"
    )


def test_values_are_spelled_as_the_server_reads_them() -> None:
    batch = pa.record_batch(
        {
            "d": pa.array([Decimal("0.000000123")], pa.decimal128(38, 9)),
            "ts": pa.array([dt.datetime(2024, 1, 31, 10, 0, 0, 500000)], pa.timestamp("us")),
            "tz": pa.array(
                [dt.datetime(2024, 1, 31, 8, 0, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
            ),
            "day": pa.array([dt.date(2024, 2, 29)], pa.date32()),
        }
    )
    assert load_data_bytes(batch) == (
        b"0.000000123\t2024-01-31 10:00:00.500000\t2024-01-31 08:00:00.000000\t2024-02-29\n"
    )


def test_insert_rows_quote_escape_and_split_under_the_packet_budget() -> None:
    batch = pa.record_batch({"s": ["it's", None, "back\\slash"], "n": [1, 2, 3]})
    assert insert_rows(batch, 10_000) == [(0, b"('it\\'s','1'),(NULL,'2'),('back\\\\slash','3')")]
    chunks = insert_rows(batch, 14)
    assert [first for first, _ in chunks] == [0, 1, 2]
    assert b",".join(blob for _, blob in chunks) == insert_rows(batch, 10_000)[0][1]


def test_the_dialect_writes_mysql_upserts_and_renames() -> None:
    assert DIALECT.upsert("cp", ["k", "a"], ["k"], "VALUES (?, ?)") == (
        "INSERT INTO `cp` (`k`, `a`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `a` = VALUES(`a`)"
    )
    assert DIALECT.insert_ignore("t", ["k"], ["k"], "SELECT 1") == (
        "INSERT INTO `t` (`k`) SELECT 1 ON DUPLICATE KEY UPDATE `k` = `k`"
    )
    assert DIALECT.rename_table("a", "b") == "RENAME TABLE `a` TO `b`"
    assert DIALECT.quote("we`ird") == "`we``ird`"
    assert not DIALECT.transactional_ddl


def test_errors_are_classified_by_code_never_by_words() -> None:
    dup = classify(1062, "Duplicate entry '2' for key 'PRIMARY'")
    assert isinstance(dup, RecordError) and dup.sqlstate == "23000"
    assert dup.refusal is Refusal.DUPLICATE_KEY
    bad = classify(1366, "Incorrect integer value: '12x' for column `d`.`t`.`n` at row 3")
    assert isinstance(bad, RecordError) and bad.row == 2
    deadlock = classify(1213, "anything at all")
    assert isinstance(deadlock, RecordError) and deadlock.refusal is Refusal.RETRY
    assert DIALECT.classify("1062", "Duplicate entry").refusal is Refusal.DUPLICATE_KEY  # type: ignore[attr-defined]
    assert isinstance(classify(2003, "Can't connect"), SinkUnavailableError)
    assert isinstance(classify(1045, "Access denied"), SinkUnavailableError)
    assert isinstance(classify(1142, "INSERT command denied"), ConfigError)
    assert type(classify(1146, "Table 'd.t' doesn't exist")) is SinkError


def test_the_earliest_row_a_warning_names_is_the_refused_record() -> None:
    err = warning_error(
        [
            ("Warning", 1265, "Data truncated for column 's' at row 9"),
            ("Warning", 1366, "Incorrect integer value: '12x' for column 'n' at row 4"),
            ("Warning", 1062, "Duplicate entry 'k1' for key 'PRIMARY'"),
        ]
    )
    assert err.row == 3 and err.sqlstate == "HY000"
    only_duplicate = warning_error([("Warning", 1062, "Duplicate entry 'k1' for key 'PRIMARY'")])
    assert only_duplicate.row is None and only_duplicate.sqlstate == "23000"
