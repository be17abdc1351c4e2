"""Loading into existing PostgreSQL tables of many column types: the binary path where Arrow
has one (uuid decoded to 16 bytes, jsonb with its version byte, int4/int2, numeric(p,s)), and
text cast by the server for the rest (inet, arrays, intervals, uuids in other spellings)."""

from __future__ import annotations

import random
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
    # the enum and IPv4 addresses travel in binary: only the unconstrained numeric is staged
    assert (
        "sent as text and cast by the server (no binary form chute sends): raw (numeric)"
    ) in report.changes


def test_inet_values_in_binary_are_what_the_servers_text_input_stores(
    pg_url: str, tmp_path: Path
) -> None:
    """Differential: random IPv4 addresses, with and without a prefix, go in binary; each
    must equal the server's own reading of its text (kept beside it), and other spellings
    (IPv6, a leading zero) in the same load go through the server's text input."""
    rng = random.Random(17)
    values = ["0.0.0.0", "255.255.255.255", "10.0.0.1/0", "1.2.3.4/32", "192.168.1.1/24"]
    for _ in range(3000):
        octets = ".".join(str(rng.randint(0, 255)) for _ in range(4))
        values.append(octets + (f"/{rng.randint(0, 32)}" if rng.random() < 0.3 else ""))
    values += ["", "::1", "2001:db8::1/64", "010.0.0.1"]
    execute(pg_url, "CREATE TABLE hosts (id int4, addr inet, addr_text text)")
    path = tmp_path / "hosts.csv"
    path.write_text("id,addr,addr_text\n" + "".join(f"{i},{v},{v}\n" for i, v in enumerate(values)))

    report = chute.load(path, into=pg_url, batch_rows=1000)

    assert (report.read, report.written, report.rejected) == (len(values), len(values), 0)
    assert query(
        pg_url,
        "SELECT count(*) FROM hosts WHERE addr IS DISTINCT FROM nullif(addr_text, '')::inet",
    ) == [(0,)]
    assert query(pg_url, "SELECT count(addr) FROM hosts") == [(len(values) - 1,)]
