"""chute publish against the real RabbitMQ: every record read is published or rejected.

Bad records are counted, reported and written to a reject file as ``chute load`` does (the
same format, the same default place, ``--rejects``), and the exit code follows load's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import chute
from tests.amqp_helpers import AMQP_URL, depth, read_all
from tests.helpers import execute, query, write


def _publish(source: Path, queue: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chute", "publish", str(source), AMQP_URL, "--queue", queue,
         *extra],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _bodies(queue: str) -> list[Any]:
    return [json.loads(d.body) for d in read_all(queue)]  # json: integers of any size


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_bad_records_are_counted_and_written_to_the_reject_file_exit_6(
    queue: str, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "people.jsonl",
        '{"id": 1}\n{"id": 2\n"a string"\n{"id": 4}\n\xff\n{"id": 6}\n'.encode("latin-1"),
    )
    done = _publish(source, queue)
    assert done.returncode == 6, done.stderr
    assert "read 6  published 3  rejected 3" in done.stdout
    assert _bodies(queue) == [{"id": 1}, {"id": 4}, {"id": 6}]
    rejects = _lines(tmp_path / "people.rejects.jsonl")  # load's default: beside the source
    assert [r["line"] for r in rejects] == [2, 3, 5]
    assert [r["error"] for r in rejects] == ["parse", "shape", "decode"]
    assert rejects[0]["raw"] == '{"id": 2' and rejects[0]["source"].endswith("people.jsonl")
    assert set(rejects[0]) == {
        "source", "line", "offset", "record_number", "column", "error", "sqlstate",
        "message", "raw", "record",
    }  # fmt: skip


def test_rejects_option_names_the_file_and_a_table_is_refused(queue: str, tmp_path: Path) -> None:
    source = write(tmp_path / "x.jsonl", '{"id": 1}\n[2]\n')
    done = _publish(source, queue, "--rejects", str(tmp_path / "bad.jsonl"))
    assert done.returncode == 6, done.stderr
    assert [r["error"] for r in _lines(tmp_path / "bad.jsonl")] == ["shape"]
    assert not (tmp_path / "x.rejects.jsonl").exists()
    refused = _publish(source, queue, "--rejects", "table:bad")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and "--rejects PATH" in refused.stderr
    assert depth(queue) == 1  # the refused run published nothing


def test_a_file_with_no_record_publishes_nothing_and_says_so(queue: str, tmp_path: Path) -> None:
    source = write(tmp_path / "empty.csv", "id,name\n")
    done = _publish(source, queue)
    assert done.returncode == 3
    assert "nothing was published" in done.stderr
    all_bad = write(tmp_path / "bad.jsonl", "{\n[1]\n")
    done = _publish(all_bad, queue)
    assert done.returncode == 4  # as chute load when every record was rejected
    assert "published 0" in done.stdout and "rejected 2" in done.stdout
    assert "nothing was published" in done.stderr
    assert depth(queue) == 0
    assert len(_lines(tmp_path / "bad.rejects.jsonl")) == 2


def test_values_are_published_as_the_json_they_were(queue: str, tmp_path: Path) -> None:
    """Nested objects stay objects, integers beyond 64 bits stay exact numbers."""
    records = [
        {"id": 1, "payload": {"n": [1, 2]}, "big": 2**70, "price": 1.5},
        {"id": 2, "payload": None, "big": 3, "price": 2.25},
    ]
    source = write(tmp_path / "e.jsonl", "\n".join(json.dumps(r) for r in records))
    done = _publish(source, queue)
    assert done.returncode == 0, done.stderr
    assert _bodies(queue) == records


def test_an_integer_beyond_64_bits_published_and_consumed_is_stored_exactly(
    pg_url: str, queue: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TABLE t (id bigint PRIMARY KEY, v numeric)")
    source = write(tmp_path / "t.jsonl", f'{{"id": 1, "v": {2**70}}}\n{{"id": 2, "v": 5}}\n')
    assert _publish(source, queue).returncode == 0
    report = chute.consume(AMQP_URL, queue=queue, into=pg_url, table="t", idle_timeout=1.0)
    assert report.written == 2 and report.rejected == 0
    assert query(pg_url, "SELECT id, v::text FROM t ORDER BY id") == [(1, str(2**70)), (2, "5")]


def test_the_python_api_returns_the_counts(queue: str, tmp_path: Path) -> None:
    source = write(tmp_path / "p.jsonl", '{"id": 1}\nnope\n')
    report = chute.publish(source, AMQP_URL, queue=queue, rejects=str(tmp_path / "r.jsonl"))
    assert (report.read, report.published, report.rejected) == (2, 1, 1)
    assert report.rejects_to == str(tmp_path / "r.jsonl")
    assert report.rejected_by == {"parse": 1}
