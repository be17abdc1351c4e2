"""The Snowflake sink beyond the contract suite: round trips that do not grow with the rows,
key-pair authentication passed to the connector, errors without secrets, and no stage
table left behind.  Against fakesnow's server (or ``CHUTE_TEST_SNOWFLAKE_URL``)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import chute
from chute.sinks.snowflake_url import connect_args
from tests.helpers import chute as run_chute
from tests.snowflake_server import REAL_URL

#: one batch of 3,000 records whatever the test process holds by now (batches are sized by
#: what the memory limit leaves above the process's memory)
ROOMY = "64GiB"

pytestmark = pytest.mark.snowflake

SECRET = "Zq7-s3cr3t-pw"


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import snowflake.connector

    conn = snowflake.connector.connect(**connect_args(url))
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()


def _issues(path: Path, n: int) -> Path:
    """``n`` Jira-like issues as JSON Lines: nested fields, lists, NULLs."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            issue = {
                "id": 10_000 + i,
                "key": f"CHUTE-{i}",
                "fields": {
                    "summary": f'Issue {i}: load "quoted" text\nover lines',
                    "status": {"name": ["To Do", "In Progress", "Done"][i % 3]},
                    "labels": [f"l{i % 5}", "etl"],
                    "assignee": None if i % 4 else {"name": f"user{i % 7}"},
                },
                "updated": f"2024-05-{1 + i % 28:02d}T10:{i % 60:02d}:00+02:00",
                "story_points": (i % 8) * 0.5,
            }
            out.write(json.dumps(issue) + "\n")
    return path


def test_round_trips_do_not_grow_with_the_records(snowflake_url: str, tmp_path: Path) -> None:
    small = chute.load(_issues(tmp_path / "30.jsonl", 30), into=snowflake_url, table="issues")
    large = chute.load(
        _issues(tmp_path / "3000.jsonl", 3_000),
        into=snowflake_url,
        table="issues_3k",
        batch_rows=10_000,
        memory_limit=ROOMY,
    )

    assert (small.read, small.written, large.read, large.written) == (30, 30, 3_000, 3_000)
    # a batch is BEGIN, PUT, COPY, INSERT, DELETE, the checkpoint, COMMIT; the rest is
    # looking at the table and creating it, once per load
    assert small.statements <= 30, small.statements
    assert large.statements == small.statements
    assert _query(snowflake_url, "SELECT count(*), count(DISTINCT key) FROM issues_3k") == [
        (3_000, 3_000)
    ]
    (doc,) = _query(snowflake_url, "SELECT fields FROM issues WHERE id = 10000")[0]
    assert json.loads(doc)["status"] == {"name": "To Do"}


def test_a_large_batch_goes_as_several_files_in_one_put(
    snowflake_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chute.sinks import snowflake_stage

    monkeypatch.setattr(snowflake_stage, "ROWS_PER_FILE", 700)  # 3,000 rows: 5 files
    one_file = chute.load(_issues(tmp_path / "a.jsonl", 30), into=snowflake_url, table="a")
    report = chute.load(
        _issues(tmp_path / "b.jsonl", 3_000),
        into=snowflake_url,
        table="b",
        batch_rows=10_000,
        memory_limit=ROOMY,
    )

    assert (report.read, report.written, report.batches) == (3_000, 3_000, 1)
    assert report.statements == one_file.statements  # still one PUT and one COPY
    assert _query(snowflake_url, "SELECT count(*), min(id), max(id) FROM b") == [
        (3_000, 10_000, 12_999)
    ]


def test_a_second_table_in_an_open_transaction_commits_or_rolls_back_with_the_first(
    snowflake_url: str,
) -> None:
    """A stage table's DDL would commit the open transaction: a write into a table that has
    none yet goes as bound VALUES instead, and stays in the transaction."""
    from chute.coltypes import ColumnType, Kind
    from chute.sinks import Mode, open_sink

    kinds = {
        "id": Kind.BIGINT,
        "price": ColumnType(Kind.NUMERIC, 2),
        "at": Kind.TIMESTAMPTZ,
        "wall": Kind.TIMESTAMP,
        "day": Kind.DATE,
        "ok": Kind.BOOLEAN,
        "f": Kind.DOUBLE,
        "doc": Kind.JSON,
        "s": Kind.TEXT,
    }
    types = {n: k if isinstance(k, ColumnType) else ColumnType(k) for n, k in kinds.items()}
    rows = [
        {
            "id": 1,
            "price": Decimal("12.50"),
            "at": datetime(2024, 1, 31, 8, 0, 0, 250000, tzinfo=UTC),
            "wall": datetime(2024, 1, 31, 10, 30),
            "day": date(2024, 2, 29),
            "ok": True,
            "f": 0.1,
            "doc": '{"a": [1, 2.5], "b": null}',
            "s": 'it\'s \\ "q" \t\n é',
        },
        {k: None for k in kinds} | {"id": 2},
    ]
    schema = pa.schema([pa.field(n, t.arrow) for n, t in types.items()])
    batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    sink = open_sink(snowflake_url)
    sink.connect()
    try:
        for table in ("first", "second"):
            sink.create_table(table, types, ["id"])
        sink.begin()
        sink.write_rows("first", batch, Mode.APPEND, [])  # its stage is made before BEGIN
        counts = sink.write_rows("second", batch, Mode.UPSERT, ["id"])  # bound VALUES
        sink.rollback()
        assert counts.created == 2
        assert _query(snowflake_url, "SELECT count(*) FROM first") == [(0,)]
        assert _query(snowflake_url, "SELECT count(*) FROM second") == [(0,)]
        with sink.transaction():
            sink.write_rows("first", batch, Mode.APPEND, [])
            sink.write_rows("second", batch, Mode.APPEND, [])
        with sink.transaction():
            again = sink.write_rows("second", batch.slice(0, 1), Mode.UPSERT, ["id"])
        assert (again.created, again.updated) == (0, 1)
    finally:
        sink.close()
    first = _query(snowflake_url, "SELECT * FROM first WHERE id = 1")
    second = _query(snowflake_url, "SELECT * FROM second WHERE id = 1")
    assert second == first
    assert second[0][:7] == (
        1,
        Decimal("12.50"),
        datetime(2024, 1, 31, 8, 0, 0, 250000, tzinfo=UTC),
        datetime(2024, 1, 31, 10, 30),
        date(2024, 2, 29),
        True,
        0.1,
    )
    assert json.loads(second[0][7]) == {"a": [1, 2.5], "b": None}
    assert second[0][8] == rows[0]["s"]
    assert _query(snowflake_url, "SELECT price, day, ok, f, doc, s FROM second WHERE id = 2") == [
        (None,) * 6
    ]


def test_upsert_reports_snowflakes_own_counts(snowflake_url: str, tmp_path: Path) -> None:
    first = chute.load(_issues(tmp_path / "a.jsonl", 30), into=snowflake_url, table="i", key="id")
    again = chute.load(
        _issues(tmp_path / "b.jsonl", 45), into=snowflake_url, table="i", mode="upsert", key="id"
    )

    assert (first.created, first.updated) == (30, 0)
    assert (again.read, again.created, again.updated) == (45, 15, 30)
    assert _query(snowflake_url, "SELECT count(*) FROM i") == [(45,)]


def test_no_stage_table_is_left_after_a_load(snowflake_url: str, tmp_path: Path) -> None:
    chute.load(_issues(tmp_path / "a.jsonl", 30), into=snowflake_url, table="i", batch_rows=7)

    tables = {
        r[0]
        for r in _query(
            snowflake_url,
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = CURRENT_SCHEMA()",
        )
    }
    assert tables == {"I", "_CHUTE_CHECKPOINTS"}


@pytest.mark.skipif(bool(REAL_URL), reason="a real account checks the key; this one is made here")
def test_a_key_pair_goes_to_the_connector_and_its_passphrase_is_never_shown(
    snowflake_url: str, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(SECRET.encode()),
    )
    (tmp_path / "rsa_key.p8").write_bytes(pem)
    base, _, query = snowflake_url.partition("?")
    user = base.replace("fake:snow@", "loader@")
    keyed = f"{user}?{query}&private_key_file={tmp_path / 'rsa_key.p8'}"
    source = _issues(tmp_path / "in.jsonl", 3)

    done = run_chute(
        "load", str(source), "--into", f"{keyed}&private_key_file_pwd={SECRET}",
        "--table", "i", "--report", str(tmp_path / "report.json"),
    )  # fmt: skip
    wrong = run_chute(
        "load", str(source), "--into", f"{keyed}&private_key_file_pwd=not-{SECRET}",
        "--table", "i",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert _query(snowflake_url, "SELECT count(*) FROM i") == [(3,)]
    assert wrong.returncode in (2, 5), wrong.stderr
    assert wrong.stderr.startswith("error: ") and "Traceback" not in wrong.stderr
    shown = done.stdout + done.stderr + wrong.stdout + wrong.stderr
    assert SECRET not in shown + (tmp_path / "report.json").read_text()


def test_an_account_that_does_not_answer_is_exit_5_without_the_password(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = (
        f"snowflake://loader:{SECRET}@acct/DB/S?warehouse=WH&host=127.0.0.1&port={port}"
        "&protocol=http&login_timeout=3&network_timeout=3"
    )
    source = tmp_path / "in.csv"
    source.write_text("id\n1\n")

    done = run_chute("load", str(source), "--into", url, "--table", "t")

    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith("error: cannot connect to snowflake://loader:***@acct")
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout
