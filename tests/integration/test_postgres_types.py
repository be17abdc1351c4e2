"""Loading into existing PostgreSQL tables of many column types: the binary path where Arrow
has one (uuid decoded to 16 bytes, jsonb with its version byte, int4/int2, numeric(p,s)), and
text cast by the server for the rest (inet, arrays, intervals, uuids in other spellings)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import chute
from chute.sinks.postgres_binary import numeric_array
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
    execute(
        pg_url,
        "CREATE TABLE moods (id int4 PRIMARY KEY, m mood, addr inet, raw numeric, net cidr)",
    )
    path = tmp_path / "moods.csv"
    path.write_text(
        "id,m,addr,raw,net\n1,ok,10.0.0.1,1.50,10.0.0.0/8\n2,nope,::1,2,\n3,,,,\n4,happy,,7,\n"
    )

    report = chute.load(path, into=pg_url, rejects=str(tmp_path / "r.jsonl"))

    assert (report.read, report.written, report.rejected) == (4, 3, 1)
    assert [r.position.record for r in report.rejects] == [2]
    assert 'invalid input value for enum mood: "nope"' in report.rejects[0].message
    assert query(
        pg_url, "SELECT id, m::text, host(addr), raw::text, net::text FROM moods ORDER BY id"
    ) == [
        (1, "ok", "10.0.0.1", "1.50", "10.0.0.0/8"),
        (3, None, None, None, None),
        (4, "happy", None, "7", None),
    ]
    # the enum, IPv4 addresses and plain decimals may travel in binary: only cidr never does
    assert (
        "sent as text and cast by the server (no binary form chute sends): net (cidr)"
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


def test_durations_in_binary_are_what_the_servers_text_input_stores(pg_url: str) -> None:
    """Differential: Python timedeltas (sent as their text) and ISO 8601 seconds (the text
    chute writes for a Parquet duration) go in binary; each must equal the server's own
    reading of its text, kept beside it, under both of its readings of a minus sign.  The
    last batches hold negative days, which the server reads itself."""
    rng = random.Random(29)
    days = [0, 1, 2, 999_999_999]
    deltas = [timedelta(0), timedelta(microseconds=1), timedelta(days=999_999_999)]
    for _ in range(2000):
        deltas.append(
            timedelta(
                days=rng.choice([0, rng.choice(days), rng.randint(1, 40_000)]),
                seconds=rng.randint(0, 86_399),
                microseconds=rng.choice([0, rng.randint(0, 999_999)]),
            )
        )
    isos = ["PT0S", "PT-0.5S", "PT999999999.999999S", "PT-999999999S"]
    for _ in range(2000):
        seconds = Decimal(rng.randint(-(10**9) + 1, 10**9 - 1))
        fraction = Decimal(rng.randint(0, 999_999)).scaleb(-6) if rng.random() < 0.5 else 0
        isos.append(f"PT{(seconds + fraction if seconds >= 0 else seconds - fraction):f}S")
    negative = [timedelta(seconds=-3), timedelta(days=-2, microseconds=7)]  # last batch
    waits: list[timedelta | None] = [*deltas, *negative, None]
    timedeltas = [{"wait": d, "wait_text": None if d is None else str(d)} for d in waits]
    texts = [{"wait": s, "wait_text": s} for s in isos]  # a column of one Python type each
    for i, record in enumerate([*timedeltas, *texts]):
        record["id"] = i
    execute(pg_url, "CREATE TABLE durations (id int4, wait interval, wait_text text)")

    for records in (timedeltas, texts):
        report = chute.load(records, into=pg_url, table="durations", batch_rows=500)
        assert (report.read, report.written, report.rejected) == (len(records),) * 2 + (0,)
    differ = (
        "SELECT count(*) FROM durations WHERE wait::text IS DISTINCT FROM wait_text::interval::text"
    )
    assert query(pg_url, differ) == [(0,)]
    import psycopg

    with psycopg.connect(pg_url) as conn:  # the rows sent in binary: all but the last two
        conn.execute("SET IntervalStyle = sql_standard")
        assert conn.execute(differ + " AND wait_text NOT LIKE '-%'").fetchall() == [(0,)]
        assert conn.execute(differ).fetchall() == [(len(negative),)]
    assert query(pg_url, "SELECT wait::text FROM durations WHERE id < 2 ORDER BY id") == [
        ("00:00:00",),
        ("00:00:00.000001",),
    ]


def _int_list(rng: random.Random, bits: int) -> list[int | None]:
    top = 2 ** (bits - 1)
    edges = [0, -1, 1, top - 1, -top]
    return [
        None if rng.random() < 0.1 else rng.choice([rng.choice(edges), rng.randint(-top, top - 1)])
        for _ in range(rng.randint(0, 6))
    ]


def _pg_array(values: list[Any]) -> str:
    """The server's array text of a list (strings quoted and escaped, dicts as their JSON
    quoted, lists nested)."""

    def one(v: Any) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, list):
            return _pg_array(v)
        if isinstance(v, dict):
            v = json.dumps(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(v).lower() if isinstance(v, bool) else str(v)

    return "{" + ",".join(one(v) for v in values) + "}"


def test_integer_arrays_in_binary_are_what_the_servers_text_input_stores(
    pg_url: str, tmp_path: Path
) -> None:
    """Differential: integer arrays in the server's text (``{1,NULL}``) go in binary as
    Arrow lists of the column's element type; each must equal the server's reading of the
    same text, kept beside it.  Other spellings in the same load (spaces, two dimensions,
    JSON, which a text file's cell is not) are read by the server, which refuses JSON."""
    rng = random.Random(31)
    execute(
        pg_url,
        "CREATE TABLE ints (id int4, a int2[], b int4[], c int8[], "
        "a_text text, b_text text, c_text text)",
    )
    lines = []
    for i in range(3000):
        texts = [_pg_array(_int_list(rng, bits)) for bits in (16, 32, 64)]
        lines.append(",".join([str(i), *(f'"{v}"' for v in texts * 2)]))
    lines.append('3000,"{1, 2}","{{1,2},{3,4}}",,"{1,2}","{{1,2},{3,4}}",')
    lines.append("3001,,,,,,")
    lines.append('3002,"[1,2]",,,,,')
    path = tmp_path / "ints.csv"
    path.write_text("id,a,b,c,a_text,b_text,c_text\n" + "\n".join(lines) + "\n")

    report = chute.load(path, into=pg_url, batch_rows=1000, rejects=str(tmp_path / "r.jsonl"))

    assert (report.read, report.written, report.rejected) == (3003, 3002, 1)
    assert (report.rejects[0].position.line, report.rejects[0].sqlstate) == (3004, "22P02")
    for column, element in (("a", "int2"), ("b", "int4"), ("c", "int8")):
        differ = (
            f"SELECT count(*) FROM ints WHERE {column}::text "
            f"IS DISTINCT FROM {column}_text::{element}[]::text"
        )
        assert query(pg_url, differ) == [(0,)]
    assert query(pg_url, "SELECT a, b FROM ints WHERE id = 3000") == [([1, 2], [[1, 2], [3, 4]])]


def test_lists_of_a_typed_source_are_what_the_servers_text_input_stores(pg_url: str) -> None:
    """Differential: Python lists into array columns (integers and strings in binary,
    floats, booleans and strings with escapes or nulls through the server's text input,
    strings with control characters, nested lists and dicts written by Python) equal the
    server's reading of the same array's text, kept beside each."""
    rng = random.Random(37)
    alphabet = ["a", "Zoë", "李", ",", "{", "}", " ", "x y", '"', "\\", "NULL", "null", "[", "]"]
    controls = ["\n", "\t", "\x01", "\r\n", "é\u2028", '"\n\\', "x"]
    columns = {
        "i2": ("int2[]", lambda: _int_list(rng, 16)),
        "i8": ("int8[]", lambda: _int_list(rng, 64)),
        "t": ("text[]", lambda: ["".join(rng.sample(alphabet, 3)) for _ in range(3)]),
        "tp": ("text[]", lambda: [rng.choice(["a", "b c", "李", ""]) for _ in range(3)]),
        "vc": ("varchar[]", lambda: [rng.choice(["a", None]) for _ in range(2)]),
        "f": ("float8[]", lambda: [rng.choice([1.5, -0.0, 1e300, None, 3])]),
        "b": ("bool[]", lambda: [rng.choice([True, False, None])]),
        # escapes other than the array syntax's, nested lists, dicts: written in Python
        "tc": ("text[]", lambda: ["".join(rng.sample(controls, 2)) for _ in range(2)]),
        "tn": ("text[]", lambda: [[rng.choice(controls), "b"], ["c", rng.choice(alphabet)]]),
        "jb": ("jsonb[]", lambda: [{"k": rng.choice(controls), "n": rng.randint(0, 9)}, None]),
    }
    execute(
        pg_url,
        "CREATE TABLE lists (id int4, "
        + ", ".join(f"{n} {t}, {n}_text text" for n, (t, _) in columns.items())
        + ")",
    )
    records = []
    for i in range(1500):
        record: dict[str, Any] = {"id": i}
        for name, (_, make) in columns.items():
            record[name] = make()
            record[f"{name}_text"] = _pg_array(record[name])
        records.append(record)

    report = chute.load(records, into=pg_url, table="lists", batch_rows=500)

    assert (report.read, report.written, report.rejected) == (1500, 1500, 0)
    for name, (declared, _) in columns.items():
        differ = (
            f"SELECT count(*) FROM lists WHERE {name}::text "
            f"IS DISTINCT FROM {name}_text::{declared}::text"
        )
        assert query(pg_url, differ) == [(0,)], name


def test_a_list_out_of_range_for_its_array_is_rejected_by_the_server(pg_url: str) -> None:
    execute(pg_url, "CREATE TABLE small_lists (id int4, a int2[])")
    records = [{"id": 1, "a": [1, 2]}, {"id": 2, "a": [40000]}, {"id": 3, "a": []}]

    report = chute.load(records, into=pg_url, table="small_lists")

    assert (report.written, report.rejected) == (2, 1)
    assert (report.rejects[0].position.record, report.rejects[0].sqlstate) == (2, "22003")
    assert query(pg_url, "SELECT id, a FROM small_lists ORDER BY id") == [(1, [1, 2]), (3, [])]


def test_a_value_of_a_typed_source_that_is_no_list_is_refused_by_an_array_column(
    pg_url: str,
) -> None:
    """An empty dict's JSON (``{}``) is the server's empty array: it is refused like any
    other value that is no list, not stored as an empty array."""
    execute(pg_url, "CREATE TABLE shapes (id int4, a int4[], t text[])")
    records = [
        {"id": 1, "a": [1], "t": ["x"]},
        {"id": 2, "a": {}, "t": None},
        {"id": 3, "a": None, "t": {}},
        {"id": 4, "a": [], "t": {"k": "v"}},
        {"id": 5, "a": None, "t": []},
    ]

    report = chute.load(records, into=pg_url, table="shapes")

    assert (report.written, report.rejected) == (2, 3)
    refused = [(r.position.record, r.sqlstate) for r in report.rejects]
    assert refused == [(2, "22P02"), (3, "22P02"), (4, "22P02")]
    assert "not a list: {}" in report.rejects[0].message
    assert query(pg_url, "SELECT id, a, t FROM shapes ORDER BY id") == [
        (1, [1], ["x"]),
        (5, None, []),
    ]


@pytest.mark.parametrize("batch_rows", [1, 10])
def test_a_string_among_lists_is_read_as_array_text_whatever_its_batch(
    pg_url: str, batch_rows: int
) -> None:
    """A str into an array column is array syntax, as a text file's cell is, whether or
    not a list shares its batch (which makes the column's values JSON)."""
    execute(pg_url, "CREATE TABLE mixed (id int4, a int4[])")
    records = [{"id": 1, "a": [1]}, {"id": 2, "a": "{2,3}"}, {"id": 3, "a": "x"}]

    report = chute.load(records, into=pg_url, table="mixed", batch_rows=batch_rows)

    assert (report.written, report.rejected) == (2, 1)
    assert (report.rejects[0].position.record, report.rejects[0].sqlstate) == (3, "22P02")
    assert query(pg_url, "SELECT id, a FROM mixed ORDER BY id") == [(1, [1]), (2, [2, 3])]


def test_non_finite_floats_and_bytes_of_a_typed_source_keep_their_values(pg_url: str) -> None:
    """A NaN or an infinity in a list is the number (a JSON library would write null),
    and refuses its record in a JSON column (JSON has no such number); bytes are bytea's
    text, alone or in a list (not the text of their repr)."""
    execute(pg_url, "CREATE TABLE odd (id int4, f float8[], j jsonb, b bytea, bs bytea[])")
    nan, inf = float("nan"), float("inf")
    records = [
        {"id": 1, "f": [1.5, nan, -inf], "j": None, "b": b"abc", "bs": [b"\x00\xff"]},
        {"id": 2, "f": None, "j": {"x": [nan]}, "b": None, "bs": None},
    ]

    report = chute.load(records, into=pg_url, table="odd")

    assert (report.written, report.rejected) == (1, 1)
    assert (report.rejects[0].position.record, report.rejects[0].sqlstate) == (2, "22P02")
    assert query(pg_url, "SELECT f::text, b, bs::text FROM odd") == [
        ("{1.5,NaN,-Infinity}", b"abc", '{"\\\\x00ff"}')
    ]


def test_too_long_strings_in_a_varchar_array_are_refused_not_cut(pg_url: str) -> None:
    """The server's text input refuses ``{abcd}`` for ``varchar(3)[]``; an explicit cast
    would cut it to ``{abc}``.  Both ways in: a list with a null (sent as text) and a
    file's array text."""
    execute(pg_url, "CREATE TABLE codes (id int4, v varchar(3)[])")
    records = [{"id": 1, "v": ["abcd", None]}, {"id": 2, "v": ["abc", None]}]

    report = chute.load(records, into=pg_url, table="codes")

    assert (report.written, report.rejected) == (1, 1)
    assert (report.rejects[0].position.record, report.rejects[0].sqlstate) == (1, "22001")
    assert query(pg_url, "SELECT id, v FROM codes") == [(2, ["abc", None])]


def test_a_duplicate_array_key_from_python_lists_is_rejected_and_the_rest_stored(
    pg_url: str,
) -> None:
    execute(pg_url, "CREATE TABLE keyed (a int4[] PRIMARY KEY, n int4)")
    execute(pg_url, "INSERT INTO keyed VALUES ('{1,2}', 0)")
    records = [{"a": [1, 2], "n": 1}] + [{"a": [i, i], "n": i} for i in range(3, 13)]

    report = chute.load(records, into=pg_url, table="keyed", batch_rows=2)

    assert (report.read, report.written, report.rejected) == (11, 10, 1)
    assert report.rejects[0].sqlstate == "23505"
    assert query(pg_url, "SELECT count(*), sum(n) FROM keyed") == [(11, sum(range(3, 13)))]


def test_an_enum_named_like_an_array_goes_as_its_text(pg_url: str) -> None:
    execute(pg_url, "CREATE TYPE _mood AS ENUM ('happy', 'sad')", "CREATE TABLE m (x _mood)")

    report = chute.load([{"x": "sad"}], into=pg_url, table="m")

    assert report.written == 1 and not report.changes
    assert query(pg_url, "SELECT x::text FROM m") == [("sad",)]


def test_unconstrained_numerics_in_binary_are_what_the_servers_text_input_stores(
    pg_url: str, tmp_path: Path
) -> None:
    """Differential: plain decimals without trailing zeros go as Arrow decimals (ADBC's
    writer drops trailing zeros, so none may be there), at every scale up to 37 and up to
    38 digits; each must equal the server's reading of its text, display scale included.
    Each batch of 1,000 has its own largest scale and fits 38 digits at it, so that every
    batch but the last goes in binary (checked below); the last holds spellings the server
    reads itself (``1.50``, ``1e5``, ``NaN``)."""
    rng = random.Random(43)
    values = ["0", "-0", "7", "-12.5", "10000.5", "100000000.0001", "0.0001", "-10000"]
    for batch in range(4):
        most = rng.randint(4, 29) if batch == 0 else rng.randint(0, 37)  # the batch's scale
        while len(values) < 1000 * (batch + 1):
            scale = rng.randint(0, most)
            whole = str(rng.randint(0, 10 ** rng.randint(1, 38 - most) - 1))
            digits = "".join(rng.choice("0123456789") for _ in range(scale))
            fraction = digits.rstrip("0")
            value = whole + (f".{fraction}" if fraction else "")
            values.append(("-" if rng.random() < 0.3 else "") + value)
        assert numeric_array(pa.array(values[-1000:])) is not None  # this batch: binary
    values += ["", "1.50", "1e5", "NaN", "+3", ".5", "00.1", "1" * 40 + ".5"]
    execute(pg_url, "CREATE TABLE nums (id int4, n numeric, n_text text)")
    path = tmp_path / "nums.csv"
    path.write_text("id,n,n_text\n" + "".join(f"{i},{v},{v}\n" for i, v in enumerate(values)))

    report = chute.load(path, into=pg_url, batch_rows=1000)

    assert (report.read, report.written, report.rejected) == (len(values), len(values), 0)
    differ = (
        "SELECT count(*) FROM nums WHERE n::text IS DISTINCT FROM nullif(n_text, '')::numeric::text"
    )
    assert query(pg_url, differ) == [(0,)]
    kept = query(pg_url, "SELECT n::text FROM nums WHERE n_text IN ('1.50', '-0') ORDER BY 1")
    assert kept == [("0",), ("1.50",)]
