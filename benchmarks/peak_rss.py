"""Peak memory and time of ``chute load`` with default settings, old code against new.

The issue-11 budget: loading the 5,000,000-row orders file with default settings stays under
300 MB (10^6 bytes) of peak resident memory, into PostgreSQL and into SQLite, and is no more
than 5 % slower than before.  Each round loads the file once per version into a new table
(the inferred shape), alternating which version goes first, so that a busy machine weighs on
both alike.  Peak RSS is GNU time's (``%M``) of the ``chute load`` process.

    python benchmarks/peak_rss.py --rows 5000000 --repeat 2 --old main --new worktree
    python benchmarks/peak_rss.py --rows 200000 --repeat 1 --into sqlite   # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import generate
from run import DEFAULT_ADMIN_URL, MB, RSS_BUDGET_MB, Database, chute_snapshot, measure

TABLE = "orders_rss"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds (each loads once per version)"
    )
    parser.add_argument("--old", default="HEAD", help="git ref of src/chute, or 'worktree'")
    parser.add_argument("--new", default="worktree", help="git ref of src/chute, or 'worktree'")
    parser.add_argument("--into", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--rss-budget-mb", type=float, default=RSS_BUDGET_MB)
    args = parser.parse_args(argv)

    path = generate.ensure_orders(args.rows)
    targets = ["postgresql", "sqlite"] if args.into == "both" else [args.into]
    db = Database(args.admin_url) if "postgresql" in targets else None
    results: dict[tuple[str, str], list[tuple[float, int]]] = {}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        versions = {}
        for label, ref in (("old", args.old), ("new", args.new)):
            command, env, what = chute_snapshot(ref, Path(tmp) / label)
            versions[label] = (command, env)
            print(f"{label}: {what}")
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.rows:,} rows from {path}")
        try:
            for round_ in range(1, args.repeat + 1):
                for target in targets:
                    order = ("old", "new") if round_ % 2 else ("new", "old")
                    for label in order:
                        command, env = versions[label]
                        sqlite_file = Path(tmp) / f"{TABLE}.db"
                        sqlite_file.unlink(missing_ok=True)
                        if db is not None and target == "postgresql":
                            db.drop(TABLE)
                            db.execute("DROP TABLE IF EXISTS _chute_checkpoints")
                            db.settle()
                        url = (
                            db.url if db and target == "postgresql" else f"sqlite:///{sqlite_file}"
                        )
                        cmd = [*command, "load", str(path), "--into", url]
                        done = measure([*cmd, "--table", TABLE, "--quiet"], env)
                        if done.returncode != 0:
                            raise SystemExit(
                                f"{label} {target}: exit {done.returncode}: {done.stderr}"
                            )
                        results.setdefault((target, label), []).append(
                            (done.wall_seconds, done.peak_rss_bytes)
                        )
                        print(
                            f"[round {round_}] {target:10} {label}: {done.wall_seconds:6.2f} s, "
                            f"peak {done.peak_rss_bytes / MB:4.0f} MB "
                            f"({done.peak_rss_bytes / 2**20:.0f} MiB)"
                        )
        finally:
            if db is not None:
                db.close()
    print("\n| into | version | wall s (median) | peak RSS MB (largest) | budget |")
    print("|---|---|---:|---:|---|")
    for target in targets:
        for label in ("old", "new"):
            runs = results[(target, label)]
            peak = max(r for _, r in runs) / MB
            verdict = "PASS" if peak < args.rss_budget_mb else "FAIL"
            failed |= label == "new" and verdict == "FAIL"
            wall = statistics.median(t for t, _ in runs)
            print(f"| {target} | {label} | {wall:.2f} | {peak:.0f} | {verdict} |")
        ratio = statistics.median(
            new[0] / old[0]
            for old, new in zip(results[(target, "old")], results[(target, "new")], strict=True)
        )
        print(f"| {target} | new ÷ old time (median of rounds) | {ratio:.3f} | | |")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
