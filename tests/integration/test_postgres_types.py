"""Loading into existing PostgreSQL tables of many column types: the binary path where Arrow
has one (uuid decoded to 16 bytes, jsonb with its version byte, int4/int2, numeric(p,s)), and
text cast by the server for the rest (inet, arrays, intervals, uuids in other spellings)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest

import chute
from tests.helpers import execute, query

pytestmark = pytest.mark.postgres


def test_typed_table_values_round_trip(pg_url: str, tmp_path: Path) -> None:
    execute(
        pg_url,
        "CREATE TABLE typed (id int4 PRIMARY KEY, small int2, u uuid, j jsonb, js json, "
        "price numeric(12,2), code varchar(5), addr inet, tags text[], wait interval, "
        "raw numeric)",
    )
    u1, u2 = uuid.uuid4(), uuid.uuid4()
    path = tmp_path / "typed.csv"
    path.write_text(
        "id,small,u,j,js,price,code,addr,tags,wait,raw\n"
        f'1,7,{u1},"{{""a"": [1, 2]}}","[true]",12.5,ab,10.0.0.1,"{{x,y}}",1 day,'
        "123456789012345678901234567890.123456789\n"
        f"2,,{{{str(u2).upper()}}},,,,,,,,\n"
    )
    report = chute.load(path, into=pg_url, batch_rows=1)
    assert (report.written, report.rejected) == (2, 0)
    rows = query(
        pg_url,
        "SELECT id, small, u, j, js::text, price, code, host(addr), tags, "
        "wait::text, raw::text FROM typed ORDER BY id",
    )
    assert rows[0] == (
        1,
        7,
        u1,
        {"a": [1, 2]},
        "[true]",
        Decimal("12.50"),
        "ab",
        "10.0.0.1",
        ["x", "y"],
        "1 day",
        "123456789012345678901234567890.123456789",
    )
    assert rows[1] == (2, None, u2, None, None, None, None, None, None, None, None)


def test_values_out_of_range_for_small_integers_are_rejected_by_the_server(
    pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TABLE small (id int4, n int2)")
    path = tmp_path / "small.csv"
    path.write_text("id,n\n1,5\n2,40000\n3,-7\n")
    report = chute.load(path, into=pg_url, rejects=str(tmp_path / "r.jsonl"))
    assert (report.written, report.rejected) == (2, 1)
    assert report.rejects[0].position.line == 3
    assert report.rejects[0].sqlstate == "22003"
    assert query(pg_url, "SELECT id, n FROM small ORDER BY id") == [(1, 5), (3, -7)]


def test_a_malformed_uuid_is_rejected_and_the_others_stored(pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, "CREATE TABLE ids (id int4, u uuid)")
    good = uuid.uuid4()
    path = tmp_path / "ids.csv"
    path.write_text(f"id,u\n1,{good}\n2,not-a-uuid\n")
    report = chute.load(path, into=pg_url, rejects=str(tmp_path / "r.jsonl"))
    assert (report.written, report.rejected) == (1, 1)
    assert report.rejects[0].sqlstate == "22P02"
    assert query(pg_url, "SELECT id, u FROM ids") == [(1, good)]


def test_enum_values_go_in_binary_and_the_report_names_the_cast_columns(
    pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    execute(pg_url, "CREATE TABLE moods (id int4 PRIMARY KEY, m mood, addr inet, raw numeric)")
    path = tmp_path / "moods.csv"
    path.write_text("id,m,addr,raw\n1,ok,10.0.0.1,1.50\n2,nope,::1,2\n3,,,\n4,happy,,7\n")

    report = chute.load(path, into=pg_url, rejects=str(tmp_path / "r.jsonl"))

    assert (report.read, report.written, report.rejected) == (4, 3, 1)
    assert [r.position.record for r in report.rejects] == [2]
    assert 'invalid input value for enum mood: "nope"' in report.rejects[0].message
    assert query(pg_url, "SELECT id, m::text, host(addr), raw::text FROM moods ORDER BY id") == [
        (1, "ok", "10.0.0.1", "1.50"),
        (3, None, None, None),
        (4, "happy", None, "7"),
    ]
    # the enum travels in binary: only inet and the unconstrained numeric are staged
    assert (
        "sent as text and cast by the server (no binary form chute sends): "
        "addr (inet), raw (numeric)"
    ) in report.changes
