"""Where the CPU of one load into PostgreSQL goes, and how fast any client could be here.

Loads the orders file into a fresh typed table, each way in turn (the order reversed in
even rounds), and for each load prints its wall time, the CPU seconds the whole machine was
busy (``/proc/stat``) and the clients' own (their rusage); the difference is the server's
(and whatever else ran: run it on a quiet machine).  The ways:

- ``psql``: ``psql \\copy`` of the CSV, the reference of ``run.py``;
- ``psql x2``: two ``psql \\copy`` at once, each of half the records (two files made once,
  untimed): the server parsing the CSV on two connections, with no client work at all;
- ``binary`` and ``binary x2``: ``psql \\copy`` of the same rows in PostgreSQL's binary COPY
  format (made once by ``COPY … TO``, untimed), on one and on two connections: the server's
  floor, what a client that parses, checks and encodes at no cost would get;
- ``adbc raw``: ``contenders.py adbc_ingest_raw``, Arrow's CSV reader with the table's types
  and ADBC's binary COPY on one connection, with no checks: the bare pipeline chute is
  built on;
- ``chute``: ``chute load`` (the ``chute`` beside this Python).

On a 2-core machine a load is bound by the sum of both sides' CPU; RESULTS.md (issue 17)
uses these figures to say what ratio to ``psql \\copy`` is within reach.

    python benchmarks/cpu_split.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import generate
import psycopg
from run import DEFAULT_ADMIN_URL

HERE = Path(__file__).resolve().parent
TABLE = "cpu_split"
WAYS = ("psql", "psql x2", "binary", "binary x2", "adbc raw", "chute")


def busy_seconds() -> float:
    """CPU seconds the machine has been busy since boot (every core, from /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def measured(cmds: list[list[str]]) -> tuple[float, float, float]:
    """Wall seconds, machine busy CPU seconds and the commands' own CPU seconds, the
    commands run at once."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, started = busy_seconds(), time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for cmd in cmds]
    codes = [p.wait() for p in procs]
    wall, busy = time.perf_counter() - started, busy_seconds() - busy
    if any(codes):
        raise SystemExit(f"a load failed: {cmds}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, busy, own


def _psql(url: str, path: Path, options: str) -> list[str]:
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
            f"\\copy {TABLE} FROM '{path}' WITH ({options})"]  # fmt: skip


def prepare(db: psycopg.Connection, url: str, csv: Path, rows: int) -> dict[str, Path]:
    """The halves of the CSV (no header) and the binary files, made once, untimed."""
    stem = csv.with_suffix("")
    files = {name: Path(f"{stem}.{name}") for name in ("half1", "half2", "bin", "bin1", "bin2")}
    if all(p.exists() for p in files.values()):
        return files
    with open(csv, "rb") as f, open(files["half1"], "wb") as a, open(files["half2"], "wb") as b:
        f.readline()
        for i, line in enumerate(f):  # the generated file has no newline inside a value
            (a if i < rows // 2 else b).write(line)
    db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    db.execute(generate.typed_table_ddl(TABLE))
    subprocess.run(_psql(url, csv, "FORMAT csv, HEADER true"), check=True)
    half = rows // 2
    for name, where in (("bin", "true"), ("bin1", f"id <= {half}"), ("bin2", f"id > {half}")):
        select = f"(SELECT * FROM {TABLE} WHERE {where} ORDER BY id)"
        copy = f"\\copy {select} TO '{files[name]}' WITH (FORMAT binary)"
        subprocess.run(["psql", "-X", "-q", url, "-c", copy], check=True)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_ADMIN_URL, help="a database to load into")
    parser.add_argument("--only", default=",".join(WAYS), help="ways, comma-separated")
    args = parser.parse_args(argv)
    path = generate.ensure_orders(args.rows)
    chute = Path(sys.executable).with_name("chute")
    contenders = [sys.executable, str(HERE / "contenders.py"), "adbc_ingest_raw"]
    with psycopg.connect(args.url, autocommit=True) as db:
        f = prepare(db, args.url, path, args.rows)
        csv, binary = "FORMAT csv", "FORMAT binary"
        commands = {
            "psql": [_psql(args.url, path, "FORMAT csv, HEADER true")],
            "psql x2": [_psql(args.url, f["half1"], csv), _psql(args.url, f["half2"], csv)],
            "binary": [_psql(args.url, f["bin"], binary)],
            "binary x2": [_psql(args.url, f["bin1"], binary), _psql(args.url, f["bin2"], binary)],
            "adbc raw": [[*contenders, "--file", str(path), "--url", args.url, "--table", TABLE]],
            "chute": [[str(chute), "load", str(path), "--into", args.url, "--table", TABLE, "-q"]],
        }
        ways = [w for w in args.only.split(",") if w]
        unknown = set(ways) - set(commands)
        if unknown:
            raise SystemExit(f"unknown ways: {', '.join(sorted(unknown))} (know: {WAYS})")
        print(f"{'load':<10} {'wall s':>7} {'busy CPU s':>11} {'client CPU s':>13} {'rest':>6}")
        for round_ in range(args.repeat):
            for name in ways if round_ % 2 == 0 else list(reversed(ways)):
                db.execute(f"DROP TABLE IF EXISTS {TABLE}")
                db.execute(generate.typed_table_ddl(TABLE))
                db.execute("CHECKPOINT")
                wall, busy, own = measured(commands[name])
                count = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
                assert count is not None and count[0] == args.rows, (name, count)
                print(f"{name:<10} {wall:7.2f} {busy:11.2f} {own:13.2f} {busy - own:6.2f}")
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
