"""JSON Lines files and Python iterables of dicts: typed values, nested JSON, late keys."""

from __future__ import annotations

import gzip
import json
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import chute
from chute import ConfigError
from tests.helpers import DATA, query
from tests.integration.readback import (
    check_identity,
    expect_types,
    is_pg,
    load_in_subprocess,
    load_text,
    rejects_in,
    table_exists,
)

ARRAY_ON_A_LINE = (
    "a line is one record, so an array is not split into records; a file that is one JSON "
    "array of objects loads with --format json"
)


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def load_jsonl(tmp_path: Path, text: str | bytes, url: str, **kwargs: Any) -> chute.LoadReport:
    return load_text(tmp_path, text, url, name="in.jsonl", **kwargs)


def as_json(url: str, value: Any) -> Any:
    """A JSON column's value as Python data (PostgreSQL jsonb arrives decoded already)."""
    if is_pg(url) or not isinstance(value, str):  # SQLite stores JSON numbers as numbers
        return value
    return json.loads(value)


# -- JSON Lines -------------------------------------------------------------------------


def test_jsonl_nested_objects_and_arrays_become_json(db_url: str, tmp_path: Path) -> None:
    records = [
        {"id": 1, "meta": {"a": [1, 2], "b": "x", "c": {"deep": True}}, "tags": ["red", "blue"]},
        {"id": 2, "meta": None, "tags": []},
        {"id": 3, "meta": {"emoji": "🚀", "n": None}, "tags": [{"k": 1}, 2, "three"]},
    ]
    report = load_jsonl(tmp_path, jsonl(*records), db_url)

    check_identity(report)
    assert report.columns == {"id": "bigint", "meta": "json", "tags": "json"}
    expect_types(db_url, "t", report.columns)
    rows = query(db_url, "SELECT id, meta, tags FROM t ORDER BY id")
    assert [(i, as_json(db_url, m), as_json(db_url, t)) for i, m, t in rows] == [
        (r["id"], r["meta"], r["tags"]) for r in records
    ]
    if is_pg(db_url):  # real jsonb: its operators work
        assert query(db_url, "SELECT meta->'c'->>'deep' FROM t WHERE id = 1") == [("true",)]


def test_jsonl_scalars_keep_their_json_types(db_url: str, tmp_path: Path) -> None:
    records = [
        {
            "n": 1,
            "f": 1.5,
            "flag": True,
            "tz": "2024-01-01T10:00:00Z",
            "local": "2024-01-01T10:00:00",
            "day": "2024-01-31",
            "zip": "00123",
            "numeric_text": "123",
            "s": "hello",
        },
        {
            "n": -2,
            "f": 2.0,
            "flag": False,
            "tz": "2024-01-01T12:00:00+02:00",
            "local": "2024-01-01 11:30:00.25",
            "day": "2024-02-29",
            "zip": "04567",
            "numeric_text": "456",
            "s": "wörld",
        },
    ]
    report = load_jsonl(tmp_path, jsonl(*records), db_url)

    types = {
        "n": "bigint",
        "f": "double",
        "flag": "boolean",
        "tz": "timestamptz",
        "local": "timestamp",
        "day": "date",
        "zip": "text",
        "numeric_text": "text",  # a JSON string is text, even when it looks like a number
        "s": "text",
    }
    assert report.columns == types
    expect_types(db_url, "t", types)
    rows = query(db_url, f"SELECT {', '.join(types)} FROM t ORDER BY n DESC")
    texts = [("00123", "123", "hello"), ("04567", "456", "wörld")]
    ten = datetime(2024, 1, 1, 10, tzinfo=UTC)
    if is_pg(db_url):
        assert rows == [
            (1, 1.5, True, ten, datetime(2024, 1, 1, 10), date(2024, 1, 31), *texts[0]),
            (
                -2,
                2.0,
                False,
                ten,
                datetime(2024, 1, 1, 11, 30, 0, 250000),
                date(2024, 2, 29),
                *texts[1],
            ),
        ]
    else:
        utc = "2024-01-01 10:00:00+00:00"
        assert rows == [
            (1, 1.5, 1, utc, "2024-01-01 10:00:00", "2024-01-31", *texts[0]),
            (-2, 2.0, 0, utc, "2024-01-01 11:30:00.25", "2024-02-29", *texts[1]),
        ]


def test_jsonl_key_first_seen_in_a_later_batch_adds_a_column(db_url: str, tmp_path: Path) -> None:
    records = [
        {"id": 1, "name": "a"},
        {"id": 2, "name": "b"},
        {"id": 3, "name": "c"},
        {"id": 4, "name": "d", "email": "d@example.org", "prefs": {"tz": "UTC"}},
        {"id": 5, "score": 7},
    ]
    report = load_jsonl(tmp_path, jsonl(*records), db_url, batch_rows=2)

    check_identity(report)
    assert report.read == report.written == 5
    assert report.columns == {
        "id": "bigint",
        "name": "text",
        "email": "text",
        "prefs": "json",
        "score": "bigint",
    }
    expect_types(db_url, "t", report.columns)
    assert any("added column email text" in c for c in report.changes)
    assert any("added column prefs json" in c for c in report.changes)
    assert any("added column score bigint" in c for c in report.changes)
    rows = query(db_url, "SELECT id, name, email, prefs, score FROM t ORDER BY id")
    assert [(r[0], r[1], r[2], as_json(db_url, r[3]), r[4]) for r in rows] == [
        (1, "a", None, None, None),
        (2, "b", None, None, None),
        (3, "c", None, None, None),
        (4, "d", "d@example.org", {"tz": "UTC"}, None),
        (5, None, None, None, 7),
    ]


def test_added_column_note_names_the_line_where_the_key_first_appears(tmp_path: Path) -> None:
    records = [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4, "email": "d@example.org"}]
    report = load_jsonl(tmp_path, jsonl(*records), f"sqlite:///{tmp_path / 'x.db'}", batch_rows=2)

    assert len(report.changes) == 1
    assert "added column email text" in report.changes[0]
    assert "line 4" in report.changes[0]  # "email" is on line 4, not on line 3


def test_jsonl_keys_seen_anywhere_in_the_first_batch_are_in_the_created_table(
    db_url: str, tmp_path: Path
) -> None:
    records = [{"id": 1}, {"id": 2, "late": "x"}, {"id": 3}]
    report = load_jsonl(tmp_path, jsonl(*records), db_url)

    assert report.columns == {"id": "bigint", "late": "text"}
    assert report.changes == []
    assert query(db_url, "SELECT id, late FROM t ORDER BY id") == [(1, None), (2, "x"), (3, None)]


def test_jsonl_integer_column_widens_to_double_when_a_float_arrives_later(
    db_url: str, tmp_path: Path
) -> None:
    text = jsonl({"n": 1}, {"n": 2}, {"n": 2.5}, {"n": 3})
    report = load_jsonl(tmp_path, text, db_url, batch_rows=2)

    check_identity(report)
    assert report.columns == {"n": "double"}
    assert "column n widened from bigint to double" in report.changes[0]
    assert [r[0] for r in query(db_url, "SELECT n FROM t ORDER BY n")] == [1.0, 2.0, 2.5, 3.0]


def test_jsonl_scalar_column_widens_to_json_when_an_object_arrives_later(
    db_url: str, tmp_path: Path
) -> None:
    text = jsonl({"id": 1, "v": 10}, {"id": 2, "v": 20}, {"id": 3, "v": {"a": 1}})
    report = load_jsonl(tmp_path, text, db_url, batch_rows=2)

    check_identity(report)
    assert report.read == report.written == 3
    assert report.columns["v"] == "json"
    assert "column v widened from bigint to json" in report.changes[0]
    rows = query(db_url, "SELECT id, v FROM t ORDER BY id")
    assert [(i, as_json(db_url, v)) for i, v in rows] == [
        (1, 10),
        (2, 20),
        (3, {"a": 1}),
    ]


def test_jsonl_integer_beyond_64_bits_keeps_every_digit(db_url: str, tmp_path: Path) -> None:
    big = 123456789012345678901234567
    load_jsonl(tmp_path, f'{{"id": 1, "big": {big}}}\n', db_url)

    (value,) = query(db_url, "SELECT big FROM t")[0]
    if isinstance(value, str):  # stored as JSON or text: parse it back
        value = json.loads(value)
    assert Decimal(str(value)) == big


def test_jsonl_blank_lines_crlf_and_bom(db_url: str, tmp_path: Path) -> None:
    text = b'\xef\xbb\xbf{"id": 1, "s": "a"}\r\n\r\n\n{"id": 2, "s": "b"}\r\n\n'
    report = load_jsonl(tmp_path, text, db_url)

    check_identity(report)
    assert report.read == 2
    assert query(db_url, "SELECT id, s FROM t ORDER BY id") == [(1, "a"), (2, "b")]


def test_jsonl_gz_file_is_read(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl({"id": 1, "x": [1]}, {"id": 2, "x": [2, 3]}).encode()))

    report = chute.load(path, into=db_url)

    assert report.table == "events"
    rows = query(db_url, "SELECT id, x FROM events ORDER BY id")
    assert [(i, as_json(db_url, x)) for i, x in rows] == [(1, [1]), (2, [2, 3])]


def test_jsonl_unicode_escapes_emoji_cjk_and_a_one_megabyte_value(
    db_url: str, tmp_path: Path
) -> None:
    big = ("東京🚀 " * 250_000)[:1_000_000]
    text = '{"id": 1, "s": "caf\\u00e9 \\ud83d\\ude00"}\n' + jsonl({"id": 2, "s": big})
    report = load_jsonl(tmp_path, text, db_url)

    check_identity(report)
    assert query(db_url, "SELECT id, s FROM t WHERE id = 1") == [(1, "café 😀")]
    assert query(db_url, "SELECT length(s) FROM t WHERE id = 2") == [(1_000_000,)]
    assert query(db_url, "SELECT s FROM t WHERE id = 2") == [(big,)]


@pytest.mark.parametrize("batch_rows", [2, 3])
def test_truncated_last_jsonl_line_is_rejected_and_every_record_before_it_is_stored(
    db_url: str, tmp_path: Path, batch_rows: int
) -> None:
    # batch_rows=2: the truncated line is alone in the last batch; 3: it shares one with line 4
    rejects = tmp_path / "events.rejects.jsonl"  # not beside the source, in tests/data
    source = DATA / "events_truncated.jsonl"

    report = chute.load(source, into=db_url, table="t", batch_rows=batch_rows, rejects=str(rejects))

    [reject] = rejects_in(report, rejects)
    assert (report.read, report.written, report.rejected) == (5, 4, 1)
    assert (reject["line"], reject["record_number"]) == (5, 5)
    assert reject["offset"] == len(b"".join(source.read_bytes().splitlines(keepends=True)[:4]))
    assert reject["error"] == "parse"
    assert reject["message"].startswith("invalid JSON")
    assert reject["raw"] == source.read_text().splitlines()[4]
    assert (reject["column"], reject["sqlstate"], reject["record"]) == (None, None, None)
    assert report.rejects[0].position.describe() == f"{source}, line 5"
    assert report.committed_through == f"{source}, line 4"
    assert query(db_url, "SELECT event_id FROM t ORDER BY event_id") == [(1,), (2,), (3,), (4,)]
    assert query(db_url, "SELECT amount FROM t WHERE event_id = 3") == [(12.5,)]


def test_jsonl_line_that_is_not_an_object_is_rejected_with_its_line(
    db_url: str, tmp_path: Path
) -> None:
    report = load_jsonl(tmp_path, '{"id": 1}\n[1, 2]\n"x"\n{"id": 4}\n', db_url)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert (report.read, report.written, report.rejected) == (4, 2, 2)
    assert [(r["line"], r["record_number"], r["error"], r["message"]) for r in found] == [
        (2, 2, "shape", f"expected a JSON object, found list ({ARRAY_ON_A_LINE})"),
        (3, 3, "shape", "expected a JSON object, found str"),
    ]
    assert [r["raw"] for r in found] == ["[1, 2]", '"x"']
    assert [r["offset"] for r in found] == [len('{"id": 1}\n'), len('{"id": 1}\n[1, 2]\n')]
    assert all(r["record"] is None for r in found)
    assert query(db_url, "SELECT id FROM t ORDER BY id") == [(1,), (4,)]


# -- iterables of dicts -----------------------------------------------------------------


def test_iterable_of_dicts_with_datetime_decimal_and_date_values(db_url: str) -> None:
    plus2 = timezone(timedelta(hours=2))
    records = [
        {
            "id": 1,
            "at": datetime(2024, 1, 1, 10, tzinfo=plus2),
            "local": datetime(2024, 1, 1, 10, 30, 0, 123456),
            "amount": Decimal("12.50"),
            "big": Decimal("12345678901234567890.123456789"),
            "day": date(2024, 1, 31),
            "ratio": 0.25,
            "ok": True,
            "name": "Zoë",
            "nested": {"x": [1, {"y": None}]},
        },
        {
            "id": 2,
            "at": datetime(2024, 1, 1, 8, tzinfo=UTC),
            "local": None,
            "amount": Decimal("3.1"),
            "big": None,
            "day": None,
            "ratio": None,
            "ok": None,
            "name": None,
            "nested": None,
        },
    ]
    report = chute.load(records, into=db_url, table="t")

    check_identity(report)
    assert report.source == "<iterable>"
    assert report.columns == {
        "id": "bigint",
        "at": "timestamptz",
        "local": "timestamp",
        "amount": "numeric(38,2)",
        "big": "numeric(38,9)",
        "day": "date",
        "ratio": "double",
        "ok": "boolean",
        "name": "text",
        "nested": "json",
    }
    expect_types(db_url, "t", report.columns)
    rows = query(
        db_url,
        "SELECT id, at, local, CAST(amount AS TEXT), CAST(big AS TEXT), day, ratio, ok, name, "
        "nested FROM t ORDER BY id",
    )
    first, second = rows
    assert [first[3], second[3]] == ["12.50", "3.10"]
    assert first[4] == "12345678901234567890.123456789"
    assert as_json(db_url, first[9]) == {"x": [1, {"y": None}]}
    assert second[2] is None and second[4:] == (None,) * 6
    if is_pg(db_url):
        eight = datetime(2024, 1, 1, 8, tzinfo=UTC)
        assert (first[1], second[1]) == (eight, eight)
        assert first[2] == datetime(2024, 1, 1, 10, 30, 0, 123456)
        assert first[5:9] == (date(2024, 1, 31), 0.25, True, "Zoë")
    else:
        assert (first[1], second[1]) == ("2024-01-01 08:00:00+00:00",) * 2
        assert first[2] == "2024-01-01 10:30:00.123456"
        assert first[5:9] == ("2024-01-31", 0.25, 1, "Zoë")


def test_iterable_aware_datetimes_in_different_zones_store_the_same_instant(db_url: str) -> None:
    instant = datetime(2024, 7, 1, 12, tzinfo=UTC)
    zones = [timezone(timedelta(hours=h, minutes=m)) for h, m in [(0, 0), (5, 30), (-9, 0)]]
    records = [{"i": i, "at": instant.astimezone(z)} for i, z in enumerate(zones)]

    report = chute.load(records, into=db_url, table="t")

    assert report.columns["at"] == "timestamptz"
    values = [r[0] for r in query(db_url, "SELECT at FROM t ORDER BY i")]
    expected = [instant] * 3 if is_pg(db_url) else ["2024-07-01 12:00:00+00:00"] * 3
    assert values == expected


def test_iterable_decimals_are_kept_to_the_last_digit(db_url: str) -> None:
    values = ["12345678901234567890.123456789", "-99999999999999999999.999999999", "0.5"]
    report = chute.load([{"x": Decimal(v)} for v in values], into=db_url, table="t")

    assert report.columns == {"x": "numeric(38,9)"}
    stored = [r[0] for r in query(db_url, "SELECT CAST(x AS TEXT) FROM t")]
    assert sorted(Decimal(s) for s in stored) == sorted(Decimal(v) for v in values)
    assert "12345678901234567890.123456789" in stored


def test_iterable_decimal_wider_than_38_digits_is_stored_without_hanging(tmp_path: Path) -> None:
    digits = "1234567890123456789012345678901234567890.5"
    url = f"sqlite:///{tmp_path / 'x.db'}"

    report = load_in_subprocess(f'[{{"a": Decimal("{digits}")}}]', url, table="t")

    assert report["status"] == "completed"
    assert report["written"] == 1
    (value,) = query(url, "SELECT CAST(a AS TEXT) FROM t")[0]
    assert Decimal(value) == Decimal(digits)


def test_generator_with_keys_appearing_later_adds_columns(db_url: str) -> None:
    def records() -> Any:
        for i in range(1, 6):
            yield {"i": i, **({"late": f"v{i}"} if i >= 4 else {})}

    report = chute.load(records(), into=db_url, table="t", batch_rows=2)

    check_identity(report)
    assert report.read == report.written == 5
    assert report.columns == {"i": "bigint", "late": "text"}
    assert any(c.startswith("added column late text") for c in report.changes)
    assert query(db_url, "SELECT i, late FROM t ORDER BY i") == [
        (1, None),
        (2, None),
        (3, None),
        (4, "v4"),
        (5, "v5"),
    ]


def test_dataclass_and_namedtuple_records(db_url: str) -> None:
    @dataclass
    class Point:
        x: int
        label: str

    Pair = namedtuple("Pair", ["x", "label"])
    report = chute.load(
        [Point(1, "dc"), Pair(2, "nt"), {"x": 3, "label": "d"}], into=db_url, table="t"
    )

    check_identity(report)
    assert query(db_url, "SELECT x, label FROM t ORDER BY x") == [(1, "dc"), (2, "nt"), (3, "d")]


def test_iterable_without_a_table_name_is_a_config_error(db_url: str) -> None:
    with pytest.raises(ConfigError, match="a table name is needed"):
        chute.load([{"a": 1}], into=db_url)


def test_iterable_record_that_is_not_a_dict_is_rejected_naming_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an iterable's rejects go to the current folder

    report = chute.load([{"a": 1}, {"a": 2}, [3], {"a": 4}], into=db_url, table="t")

    [reject] = rejects_in(report, Path("t.rejects.jsonl"))
    assert (report.read, report.written, report.rejected) == (4, 3, 1)
    assert reject["record_number"] == 3
    assert (reject["line"], reject["offset"]) == (None, None)
    assert (reject["error"], reject["message"]) == ("shape", "expected a dict, found list")
    assert (reject["raw"], reject["record"]) == ("[3]", None)
    assert reject["source"] == "<iterable>"
    assert report.rejects[0].position.describe() == "<iterable>, record 3"
    assert query(db_url, "SELECT a FROM t ORDER BY a") == [(1,), (2,), (4,)]


def test_empty_iterable_writes_nothing_and_says_so(db_url: str) -> None:
    report = chute.load([], into=db_url, table="t")

    assert report.status == "completed"
    assert (report.read, report.written) == (0, 0)
    assert report.changes == ["the input holds no records; nothing was written"]
    assert not table_exists(db_url, "t")
