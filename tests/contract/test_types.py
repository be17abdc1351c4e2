"""Contract: every kind of value chute types round-trips through every sink, read back with
the database's own driver; where sinks differ, ``expected.py`` says how."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from tests.contract.expected import CSV_CASES, TEXTS, declared_ok, reported, stored
from tests.contract.loading import load, load_text
from tests.contract.targets import SinkTarget


def _csv_of_cases() -> str:
    names = list(CSV_CASES)
    rows = len(CSV_CASES["i"][1])
    lines = ["n," + ",".join(names)]
    for r in range(rows):
        lines.append(f"{r + 1}," + ",".join(CSV_CASES[c][1][r] for c in names))
    lines.append(f"{rows + 1}," + "," * (len(names) - 1))  # every column NULL
    return "\n".join(lines) + "\n"


def test_each_kind_of_csv_value_gets_its_type_and_round_trips(target: SinkTarget) -> None:
    report = load_text(target, _csv_of_cases())

    kinds = {name: case[0] for name, case in CSV_CASES.items()}
    assert report.columns == {"n": "bigint"} | {
        name: reported(target.name, kind) for name, kind in kinds.items()
    }
    declared = target.db.column_types("t")
    wrong = {
        name: found
        for name, found in declared.items()
        if name != "n" and not declared_ok(target.name, kinds[name], found)
    }
    assert not wrong, f"declared types not as expected.DECLARED[{target.name!r}] says: {wrong}"
    rows = target.db.rows("t", "n, " + ", ".join(CSV_CASES))
    values = list(zip(*[case[2] for case in CSV_CASES.values()], strict=True))
    expected = [
        (i + 1, *(stored(target.name, kinds[c], v) for c, v in zip(CSV_CASES, row, strict=True)))
        for i, row in enumerate(values)
    ]
    expected.append((len(values) + 1, *([None] * len(CSV_CASES))))
    for got, want in zip(rows, expected, strict=True):
        for name, g, w in zip(["n", *CSV_CASES], got, want, strict=True):
            assert (g, type(g)) == (w, type(w)), f"column {name} of row {got[0]}"


def test_decimals_keep_their_scale_where_the_sink_has_exact_numerics(target: SinkTarget) -> None:
    load_text(target, "n,x\n1,12.50\n2,0.05\n3,100.00\n")

    stored_as = [r[0] for r in target.db.rows("t", "x, n")]
    if target.spec.exact_decimals:
        assert [str(v) for v in sorted(stored_as)] == ["0.05", "12.50", "100.00"]
    else:
        assert sorted(stored_as) == [0.05, 12.5, 100.0]


def test_text_with_unicode_quotes_newlines_tabs_and_backslashes_is_stored_as_written(
    target: SinkTarget,
) -> None:
    lines = ["id,s"] + [f"{i},{field}" for i, (field, _) in enumerate(TEXTS, 1)]
    report = load_text(target, "\n".join(lines) + "\n", batch_rows=4)

    assert report.columns == {"id": "bigint", "s": "text"}
    assert report.read == len(TEXTS)
    assert target.db.rows("t") == [(i, value) for i, (_, value) in enumerate(TEXTS, 1)]
    assert target.db.query("SELECT count(*) FROM t WHERE s IS NULL") == [(1,)]
    assert target.db.query("SELECT count(*) FROM t WHERE s = ''") == [(1,)]


def test_empty_string_and_null_stay_apart_in_every_typed_column(target: SinkTarget) -> None:
    # an unquoted empty field is NULL; a quoted one is the empty string, which makes a
    # column text; NULLs never stop a column being typed
    report = load_text(target, 'a,b,c\n1,,""\n,2,\n3,"",x\n')

    assert report.columns == {"a": "bigint", "b": "text", "c": "text"}
    assert target.db.rows("t") == [(None, "2", None), (1, None, ""), (3, "", "x")]


def test_json_values_round_trip_as_json(target: SinkTarget) -> None:
    records: list[dict[str, Any]] = [
        {"id": 1, "doc": {"a": [1, 2.5], "b": 'q"uote\\', "c": {"deep": True, "none": None}}},
        {"id": 2, "doc": [{"k": "ü🚀"}, 2, "three", "tab\tnl\n"]},
        {"id": 3, "doc": None},
        {"id": 4, "doc": {}},
    ]
    text = "".join(json.dumps(r) + "\n" for r in records)
    report = load_text(target, text, name="in.jsonl")

    assert report.columns == {"id": "bigint", "doc": reported(target.name, "json")}
    assert declared_ok(target.name, "json", target.db.column_types("t")["doc"])
    got = [(i, _as_json(d)) for i, d in target.db.rows("t")]
    assert got == [(r["id"], r["doc"]) for r in records]


def test_json_lines_scalars_keep_their_json_types(target: SinkTarget) -> None:
    records = [
        {"n": 1, "f": 1.5, "flag": True, "s": 'a "q" \\ \t \n é', "e": "", "z": None},
        {"n": -2, "f": 2.0, "flag": False, "s": "\\N", "e": "", "z": None},
    ]
    report = load_text(target, "".join(json.dumps(r) + "\n" for r in records), name="in.jsonl")

    assert report.columns == {
        "n": "bigint",
        "f": "double",
        "flag": "boolean",
        "s": "text",
        "e": "text",
        "z": "text",
    }
    flag = [stored(target.name, "boolean", v) for v in (False, True)]
    assert target.db.rows("t") == [
        (-2, 2.0, flag[0], "\\N", "", None),
        (1, 1.5, flag[1], 'a "q" \\ \t \n é', "", None),
    ]


def test_python_values_from_an_iterable_round_trip(target: SinkTarget) -> None:
    plus2 = timezone(timedelta(hours=2))
    records: list[dict[str, Any]] = [
        {
            "id": 1,
            "price": Decimal("9.99"),
            "day": date(2024, 2, 29),
            "instant": datetime(2024, 5, 1, 12, tzinfo=plus2),
            "wall": datetime(2024, 5, 1, 12, 30),
            "ok": True,
            "s": "x\ty\nz\\",
        },
        {
            "id": 2,
            "price": Decimal("20.00"),
            "day": None,
            "instant": datetime(2024, 5, 1, 10, tzinfo=UTC),
            "wall": None,
            "ok": False,
            "s": "",
        },
    ]
    report = load(target, records, batch_rows=1)

    assert report.read == report.written == 2
    kinds = {"day": "date", "instant": "timestamptz", "wall": "timestamp", "ok": "boolean"}
    rows = target.db.rows("t", "id, price, day, instant, wall, ok, s")
    for got, record in zip(rows, records, strict=True):
        assert got[0] == record["id"]
        assert Decimal(str(got[1])) == record["price"]
        for i, column in enumerate(kinds, 2):
            assert got[i] == stored(target.name, kinds[column], record[column]), column
        assert got[6] == record["s"]


@pytest.mark.parametrize(
    "kind, texts",
    [("bigint", ["1", "2"]), ("double", ["1.5e0", "2.5e1"]), ("text", ["a", "b"])],
)
def test_a_column_of_every_kind_can_be_an_upsert_key(
    target: SinkTarget, kind: str, texts: list[str]
) -> None:
    text = f"k,v\n{texts[0]},1\n{texts[1]},2\n{texts[0]},3\n"
    report = load_text(target, text, mode="upsert", key="k")

    assert report.columns["k"] == kind
    assert (report.created, report.updated) == (2, 1)
    assert sorted(r[1] for r in target.db.rows("t")) == [2, 3]


def _as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
