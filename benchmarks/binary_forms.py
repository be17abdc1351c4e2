"""Intervals, integer arrays and numerics into PostgreSQL: binary COPY against staging.

One table, ``id bigint PRIMARY KEY, wait interval, tags integer[], amount numeric``, and
the same rows in two files made once, untimed (``data/forms_<rows>.csv`` and ``.parquet``):
``wait`` random durations (ISO 8601 seconds in the CSV, ``PT5025.000417S``, a duration in
microseconds in the Parquet file), ``tags`` 0 to 5 random integers (``{1,-7}`` in the CSV, a
list<int32> in the Parquet file), ``amount`` a decimal of up to 6 places without trailing
zeros (``-1234.5``; its text in the Parquet file too: a Parquet decimal has one scale for
the column, which an unconstrained numeric keeps, so it is staged).  Each round loads the
table afresh once per contender, each in a process of its own, timed from outside (imports
included), the order reversed in even rounds:

- ``psql_copy``: ``psql \\copy`` of the CSV, **the reference**;
- ``chute_csv`` and ``chute_parquet``: ``chute load`` of each file, this tree's code (all
  three columns go in binary: the spellings are the ones chute decodes);
- ``chute_csv_staged``: ``chute load`` of the CSV with a space after each comma of the
  arrays (``{1, -7}``: a spelling chute leaves to the server), this tree's code: every
  batch goes through the staging table, so against ``chute_csv`` it shows what staging
  costs (the values' checks are the same in both);
- ``chute_csv_before``: ``chute load`` of the CSV by chute as committed in ``--before REV``
  (its ``src/`` from ``git archive``, on ``PYTHONPATH``), which staged all three: the
  batch as text into a temporary table, then ``INSERT … SELECT`` with the server's casts.
  (Parquet lists into an array column were refused before: no ``chute_parquet_before``.)

``×`` is rows/s over ``psql_copy``'s in the same round (median, range in brackets).  Each
load is checked: the table's ``count(*)``, ``sum(extract(epoch from wait))``,
``sum(cardinality(tags))``, ``sum(amount)`` and the total length of ``amount::text`` (the
display scales) equal ``psql_copy``'s.

::

    python benchmarks/binary_forms.py --rows 1000000 --repeat 3 --before d4032a1
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
URL = os.environ.get("CHUTE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TABLE = "binary_forms"
DDL = f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, wait interval, tags integer[], amount numeric)"
CHECK = (
    f"SELECT count(*), sum(extract(epoch FROM wait))::numeric(30,6), "
    f"sum(cardinality(tags)), sum(amount), sum(length(amount::text)) FROM {TABLE}"
)


def make_files(rows: int) -> tuple[Path, Path]:
    """The CSV and the Parquet file of ``rows`` rows (made unless there)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_path = HERE / "data" / f"forms_{rows}.csv"
    parquet_path = csv_path.with_suffix(".parquet")
    spaced_path = spaced(csv_path)
    if csv_path.exists() and parquet_path.exists() and spaced_path.exists():
        return csv_path, parquet_path
    csv_path.parent.mkdir(exist_ok=True)
    rng = random.Random(41)
    waits = [rng.randint(-(10**11), 10**11) for _ in range(rows)]
    tags = [[rng.randint(-1000, 10**6) for _ in range(rng.randint(0, 5))] for _ in range(rows)]
    amounts = [_amount(rng) for _ in range(rows)]
    with open(csv_path, "w") as f, open(spaced_path, "w") as g:
        f.write("id,wait,tags,amount\n")
        g.write("id,wait,tags,amount\n")
        for i, (w, t, a) in enumerate(zip(waits, tags, amounts, strict=True)):
            sign, w = ("-", -w) if w < 0 else ("", w)
            seconds = f"{w // 10**6}.{w % 10**6:06d}".rstrip("0").rstrip(".")
            f.write(f'{i},PT{sign}{seconds}S,"{{{",".join(map(str, t))}}}",{a}\n')
            g.write(f'{i},PT{sign}{seconds}S,"{{{", ".join(map(str, t))}}}",{a}\n')
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "wait": pa.array(waits, pa.duration("us")),
            "tags": pa.array(tags, pa.list_(pa.int32())),
            "amount": pa.array(amounts, pa.string()),
        }
    )
    pq.write_table(table, parquet_path, row_group_size=100_000)
    return csv_path, parquet_path


def _amount(rng: random.Random) -> str:
    """A decimal of up to 6 places, without trailing zeros."""
    cents = rng.randint(-(10**12), 10**12)
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    text = f"{cents // 10**6}.{cents % 10**6:06d}".rstrip("0").rstrip(".")
    return sign + text


def spaced(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.stem + "_spaced.csv")


def before_tree(rev: str, into: Path) -> Path:
    """chute's ``src/`` as committed in ``rev``, extracted under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", rev, "src"],
        check=True,
        capture_output=True,
    ).stdout
    tar_path = into / "src.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def load(cmd: list[str], env: dict[str, str] | None = None) -> float:
    with psycopg.connect(URL, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute(DDL)
        db.execute("CHECKPOINT")
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env, cwd=tempfile.gettempdir())
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="a git revision of chute to compare with")
    args = parser.parse_args(argv)
    csv_path, parquet_path = make_files(args.rows)
    chute = [sys.executable, "-m", "chute", "load"]
    into = ["--into", URL, "--table", TABLE, "-q"]
    here_env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    copy = f"\\copy {TABLE} FROM '{csv_path}' WITH (FORMAT csv, HEADER true)"
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "psql_copy": (["psql", "-q", URL, "-c", copy], None),
        "chute_csv": ([*chute, str(csv_path), *into], here_env),
        "chute_parquet": ([*chute, str(parquet_path), *into], here_env),
        "chute_csv_staged": ([*chute, str(spaced(csv_path)), *into], here_env),
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.before:
            src = before_tree(args.before, Path(tmp))
            before_env = {**os.environ, "PYTHONPATH": str(src)}
            commands["chute_csv_before"] = ([*chute, str(csv_path), *into], before_env)
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        expected = None
        for round_ in range(args.repeat):
            names = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in names:
                cmd, env = commands[name]
                seconds[name].append(load(cmd, env))
                with psycopg.connect(URL) as db:
                    found = db.execute(CHECK).fetchone()
                if name == "psql_copy":
                    expected = expected or found
                print(f"[round {round_ + 1}] {name}: {seconds[name][-1]:.2f} s {found}")
                if expected is not None and found != expected:
                    raise SystemExit(f"{name} stored {found}, psql \\copy {expected}")
    with psycopg.connect(URL, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    print(f"\n{args.rows:,} rows, {args.repeat} rounds, {time.strftime('%Y-%m-%d %H:%M UTC')}")
    print("| contender | median s | × psql \\copy |\n|---|---:|---:|")
    for name, times in seconds.items():
        ratios = [r / t for r, t in zip(seconds["psql_copy"], times, strict=True)]
        print(
            f"| {name} | {statistics.median(times):.2f} | {statistics.median(ratios):.3f} "
            f"({min(ratios):.3f}–{max(ratios):.3f}) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
