"""What checkpoints cost: the same 1M-row load with and without them, side by side.

A load of a file writes a checkpoint row in every batch's transaction; a load from standard
input cannot be resumed and writes none.  So the two contenders are the same ``chute load``
of the same bytes into the same typed table, one reading the file (checkpoints) and one
reading it from stdin (none).  Rounds are interleaved; the ratio is per round.

    python benchmarks/checkpoints.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import generate
from run import DEFAULT_ADMIN_URL, Database, chute_snapshot, measure

TABLE = "orders_typed"


def _load(command: list[str], url: str, path: Path, *, stdin: bool) -> list[str]:
    args = [*command, "load", "--into", url, "--table", TABLE, "--quiet"]
    if stdin:  # a shell reads the file into chute's stdin
        quoted = " ".join(f"'{a}'" for a in [*args, "-", "--format", "csv"])
        return ["bash", "-c", f"{quoted} < '{path}'"]
    return [*args, str(path)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chute-from", default="HEAD", help="git ref of src/chute to run")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)

    path = generate.ensure_orders(args.rows)
    db = Database(args.admin_url)
    ratios, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        command, env, what = chute_snapshot(args.chute_from, Path(tmp))
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, chute {what}, {args.rows:,} rows")
        try:
            for round_ in range(1, args.repeat + 1):
                times = {}
                order = ("with", "without") if round_ % 2 else ("without", "with")
                for name in order:
                    db.create_typed(TABLE)
                    db.execute("DROP TABLE IF EXISTS _chute_checkpoints")
                    db.settle()
                    done = measure(_load(command, db.url, path, stdin=name == "without"), env)
                    if done.returncode != 0:
                        raise SystemExit(f"{name}: exit {done.returncode}: {done.stderr}")
                    count = db.execute(f"SELECT count(*) FROM {TABLE}")[0][0]
                    if count != args.rows:
                        raise SystemExit(f"{name}: {count} rows, not {args.rows}")
                    times[name] = done.wall_seconds
                    rows.append((round_, name, done.wall_seconds, done.peak_rss_bytes))
                    print(
                        f"[round {round_}] {name} checkpoints: {done.wall_seconds:.2f} s, "
                        f"{args.rows / done.wall_seconds:,.0f} rows/s, "
                        f"peak {done.peak_rss_bytes / 2**20:.0f} MB"
                    )
                ratios.append(times["without"] / times["with"])
        finally:
            db.close()
    med = statistics.median(ratios)
    print(
        f"throughput with checkpoints / without: median {med:.3f} "
        f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)}); target >= 0.97"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
