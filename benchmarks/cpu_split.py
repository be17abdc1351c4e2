"""Where the CPU of one load into PostgreSQL goes: the client's, and the rest of the machine's.

Loads the orders file into a fresh typed table with ``psql \\copy`` and with ``chute load``,
alternating, and for each load prints its wall time, the CPU seconds the whole machine was
busy (``/proc/stat``) and the client's own (its rusage); the difference is the server's
(and whatever else ran: run it on a quiet machine).  Used in RESULTS.md to show that a load
on a 2-core machine is bound by the sum of both sides' CPU.

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


def busy_seconds() -> float:
    """CPU seconds the machine has been busy since boot (every core, from /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def measured(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, machine busy CPU seconds and the command's own CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, started = busy_seconds(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall, busy = time.perf_counter() - started, busy_seconds() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, busy, own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_ADMIN_URL, help="a database to load into")
    args = parser.parse_args(argv)
    path = generate.ensure_orders(args.rows)
    copy = f"\\copy {TABLE} FROM '{path}' WITH (FORMAT csv, HEADER true)"
    chute = Path(sys.executable).with_name("chute")
    commands = {
        "psql \\copy": ["psql", "-q", args.url, "-c", copy],
        "chute load": [str(chute), "load", str(path), "--into", args.url, "--table", TABLE, "-q"],
    }
    print(f"{'load':<12} {'wall s':>7} {'busy CPU s':>11} {'client CPU s':>13} {'rest CPU s':>11}")
    with psycopg.connect(args.url, autocommit=True) as db:
        for round_ in range(args.repeat):
            names = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in names:
                db.execute(f"DROP TABLE IF EXISTS {TABLE}")
                db.execute(generate.typed_table_ddl(TABLE))
                db.execute("CHECKPOINT")
                wall, busy, own = measured(commands[name])
                print(f"{name:<12} {wall:7.2f} {busy:11.2f} {own:13.2f} {busy - own:11.2f}")
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
