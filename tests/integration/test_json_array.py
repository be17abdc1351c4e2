"""A ``.json`` file holding one JSON array of objects: streamed element by element, every
element counted, rejects with their record number, line and byte offset, resumable."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import chute
from chute import Interrupted, LoadReport, SourceError
from tests.helpers import query, write
from tests.integration.readback import check_identity, load_text, rejects_in, table_exists


def pretty(records: list[Any]) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def test_pretty_printed_json_array_is_loaded_record_by_record(db_url: str, tmp_path: Path) -> None:
    records = [
        {"id": 1, "name": "Ann", "tags": ["a", "b"]},
        {"id": 2, "name": 'a "quoted" ] } , [ { text \\', "tags": []},
        {"id": 3, "name": "Émile 🚀", "tags": None},
    ]
    report = load_text(tmp_path, pretty(records), db_url, name="in.json")

    check_identity(report)
    assert (report.read, report.written, report.rejected) == (3, 3, 0)
    rows = query(db_url, "SELECT id, name FROM t ORDER BY id")
    assert rows == [(r["id"], r["name"]) for r in records]


def test_json_array_elements_that_are_not_objects_are_rejected_where_they_are(
    db_url: str, tmp_path: Path
) -> None:
    text = '[\n  {"id": 1},\n  5,\n  [{"id": 9}],\n  {},\n  {"id": 2,},\n  {"id": 3}\n]\n'
    report = load_text(tmp_path, text, db_url, name="in.json", batch_rows=2)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert (report.read, report.written, report.rejected) == (6, 2, 4)
    assert [(r["record_number"], r["line"], r["offset"], r["error"], r["raw"]) for r in found] == [
        (2, 3, text.index("5"), "shape", "5"),
        (3, 4, text.index("[{"), "shape", '[{"id": 9}]'),
        (4, 5, text.index("{}"), "shape", "{}"),
        (5, 6, text.index('{"id": 2,}'), "parse", '{"id": 2,}'),
    ]
    assert query(db_url, "SELECT id FROM t ORDER BY id") == [(1,), (3,)]


def test_json_array_with_a_trailing_comma_rejects_the_missing_element(
    sqlite_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, '[{"id": 1}, {"id": 2},]', sqlite_url, name="in.json")

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert (report.read, report.written) == (3, 2)
    assert (reject["record_number"], reject["error"], reject["raw"]) == (3, "parse", "")
    assert query(sqlite_url, "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_truncated_json_array_rejects_the_cut_element_and_keeps_the_rest(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, '[{"id": 1},\n{"id": 2},\n{"id": 3, "na', db_url, name="in.json")

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert (report.read, report.written) == (3, 2)
    assert (reject["line"], reject["error"], reject["raw"]) == (3, "parse", '{"id": 3, "na')
    assert query(db_url, "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_json_array_across_many_blocks_keeps_every_element_and_position(
    sqlite_url: str, tmp_path: Path
) -> None:
    # elements with brackets, commas, quotes and backslash runs inside strings, cut into
    # blocks of 64 KiB (the smallest) and batches of 7 rows
    records = [
        {"id": i, "s": "\\" * (i % 5) + '"], {x' * (i % 3) + "\\" * (i % 4), "n": [i, {"k": i}]}
        for i in range(5000)
    ]
    text = pretty(records[:2500])[:-3] + ",\n" + json.dumps(records[2500:])[1:] + "\n"
    report = load_text(tmp_path, text, sqlite_url, name="in.json", batch_rows=7, batch_bytes=1)

    check_identity(report)
    assert (report.read, report.written) == (5000, 5000)
    rows = query(sqlite_url, "SELECT id, s FROM t ORDER BY id")
    assert rows == [(r["id"], r["s"]) for r in records]


def test_gzipped_json_array(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "in.json.gz"
    path.write_bytes(gzip.compress(pretty([{"id": 1}, {"id": 2}]).encode()))

    report = chute.load(path, into=sqlite_url, table="t")

    check_identity(report)
    assert query(sqlite_url, "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_dot_json_file_of_one_object_per_line_is_read_as_json_lines(
    sqlite_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, '{"id": 1}\n{"id": 2}\n', sqlite_url, name="in.json")

    check_identity(report)
    assert query(sqlite_url, "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_stdin_with_format_json_is_one_array(db_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chute",
            "load",
            "-",
            "--format",
            "json",
            "--into",
            db_url,
            "--table",
            "t",
            "--rejects",
            str(tmp_path / "r.jsonl"),
        ],
        input=pretty([{"id": 1}, 2, {"id": 3}]),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 6, done.stderr
    assert "read 3  written 2  skipped 0  rejected 1" in done.stdout
    [reject] = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert (reject["source"], reject["record_number"], reject["line"]) == ("<stdin>", 2, 5)
    assert query(db_url, "SELECT id FROM t ORDER BY id") == [(1,), (3,)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": 1}', "expected a JSON array of objects, found '{'"),
        ("[]", "no records: the array is empty"),
        ('[{"id": 1}] [{"id": 2}]', "unexpected text after the array at byte 12"),
    ],
)
def test_json_that_is_not_one_array_of_records_is_a_source_error(
    sqlite_url: str, tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "in.json", text)

    with pytest.raises(SourceError, match=message):
        chute.load(path, into=sqlite_url, table="t", format="json")


def test_json_array_load_stopped_midway_resumes_at_the_next_element(
    db_url: str, tmp_path: Path
) -> None:
    records: list[Any] = [{"id": i, "v": f"v{i}"} for i in range(1, 61)]
    records[10] = "not a record"
    records[45] = {"id": 46, "v": "late", "extra": True}
    path = write(tmp_path / "in.json", pretty(records))
    cancel = threading.Event()

    class StopAfterTwoBatches:
        def on_start(self, report: LoadReport, total_bytes: int | None) -> None: ...

        def on_batch(self, report: LoadReport, bytes_read: int) -> None:
            if report.batches == 2:
                cancel.set()

        def on_finish(self, report: LoadReport) -> None: ...

    with pytest.raises(Interrupted):
        chute.load(
            path,
            into=db_url,
            table="t",
            batch_rows=20,
            workers=1,  # one batch in hand when the stop comes
            observers=[StopAfterTwoBatches()],
            cancel=cancel,
        )
    assert query(db_url, "SELECT count(*) FROM t") == [(39,)]

    report = chute.load(path, into=db_url, table="t", batch_rows=20)

    # "[", then 39 objects of 4 lines and a string of 1: record 41 starts on line 159
    assert report.resumed_at == f"{path}, line 159"
    check_identity(report)
    assert (report.read, report.written, report.rejected) == (60, 59, 1)
    found = [json.loads(line) for line in (tmp_path / "t.rejects.jsonl").read_text().splitlines()]
    assert [(r["record_number"], r["raw"]) for r in found] == [(11, '"not a record"')]
    rows = query(db_url, "SELECT id, v FROM t ORDER BY id")
    assert rows == [(r["id"], r["v"]) for r in records if isinstance(r, dict)]
    assert not table_exists(db_url, "_chute_stage_t")
