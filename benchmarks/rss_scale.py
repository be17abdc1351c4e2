"""Peak memory of ``chute load`` of the orders CSV as the file grows: is it flat?

::

    python benchmarks/rss_scale.py                              # 100 MB, 1 GB and 5 GB
    python benchmarks/rss_scale.py --sizes 100MB,1GB --repeat 2
    python benchmarks/rss_scale.py --sizes 5MB,10MB             # a quick look
    python benchmarks/rss_scale.py --dry-run                    # the plan, nothing run

Each size (10^3 multiples: ``KB``, ``MB``, ``GB``; ``MiB``, ``GiB`` for 2^10 ones) becomes a
row count: the size over the generator's bytes per row (measured on a file of its first 100,000
rows: about 252 besides the id, whose width grows with the rows), rounded to 1,000 rows; the
file is ``data/orders_<rows>.csv`` (``generate.ensure_orders``: a smaller file is a prefix of a
bigger one). Each file is loaded with default settings by ``chute load``, each load a process
of its own, timed from outside with GNU time's peak RSS, into PostgreSQL's typed table (a
throwaway database ``chute_bench_<random>``) and into a new table of a new SQLite file; even
rounds go in the reverse order. Every table must hold ``rows`` rows and
``sum(id) = rows (rows + 1) / 2``.

Per target: file MB, rows, wall s (median), rows/s, peak RSS MB (largest over rounds) per
size, and max ÷ min of peak RSS over the sizes: *flat* when at most ``--flat-ratio``.
Files above 1 GB that this run generated are deleted at the end unless ``--keep``.  The JSON
goes to ``benchmarks/out/rss_scale_<UTC time>.json``.  Exit status 1 when a load failed or
stored the wrong rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import generate
from run import (
    DEFAULT_ADMIN_URL,
    MB,
    OUT_DIR,
    Database,
    chute_snapshot,
    environment,
    measure,
    remove_sqlite,
)

TABLE = "orders_scale"
DEFAULT_SIZES = "100MB,1GB,5GB"
DELETE_ABOVE = 1_000_000_000  # generated files of a larger nominal size go at the end
HEADER = len(",".join(generate.COLUMNS)) + 1
UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str) -> int:
    """``100MB`` -> 100,000,000 bytes; ``1GiB`` -> 2^30."""
    found = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?)b?\s*", text.lower())
    if not found:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 100MB, 1GB, 512MiB)")
    number, unit, binary = found.groups()
    scale = 1024 ** " kmgt".index(unit or " ") if binary else UNITS[unit]
    return int(float(number) * scale)


def id_digits(rows: int) -> int:
    """Characters of the ids 1..rows (the one column whose width grows with the file)."""
    total, width, low = 0, 1, 1
    while low <= rows:
        total += (min(rows, low * 10 - 1) - low + 1) * width
        low, width = low * 10, width + 1
    return total


def bytes_per_row() -> float:
    """The generator's bytes per row besides the id, on its first 100,000 rows (in a temp dir)."""
    n = generate.CHUNK_ROWS
    with tempfile.TemporaryDirectory(dir=generate.DATA_DIR) as tmp:
        size = generate.ensure_orders(n, data_dir=Path(tmp)).stat().st_size
    return (size - HEADER - id_digits(n)) / n


def rows_for(nbytes: int, per_row: float) -> int:
    """Rows of a file of about ``nbytes``, rounded to 1,000."""
    rows = nbytes / per_row
    for _ in range(5):  # the ids' width depends on the rows: converges in a few steps
        rows = (nbytes - HEADER - id_digits(int(rows))) / per_row
    return max(1_000, int(round(rows, -3)))


def load(
    ctx: dict[str, Any], size: dict[str, Any], into: str, round_: int
) -> dict[str, Any]:  # fmt: skip
    """One ``chute load``, measured from outside; the table checked, then dropped."""
    db: Database | None = ctx["db"]
    sqlite_file = ctx["work"] / f"{TABLE}.db"
    if into == "postgresql":
        assert db is not None
        db.create_typed(TABLE)
        db.execute("DROP TABLE IF EXISTS _chute_checkpoints")  # no resume from a past load
        db.settle()
        url = db.url
    else:
        remove_sqlite(sqlite_file)
        os.sync()
        url = f"sqlite:///{sqlite_file}"
    report = ctx["work"] / "report.json"
    report.unlink(missing_ok=True)
    cmd = [*ctx["chute"], "load", str(size["path"]), "--into", url, "--table", TABLE,
           "--quiet", "--report", str(report)]  # fmt: skip
    m = measure(cmd, ctx["chute_env"])
    rows = size["rows"]
    r: dict[str, Any] = {
        "size": size["label"], "into": into, "round": round_, "rows": rows,
        "wall_seconds": m.wall_seconds, "peak_rss_bytes": m.peak_rss_bytes,
        "ok": m.returncode == 0, "check": "failed",
    }  # fmt: skip
    if not r["ok"]:
        r["error"] = " | ".join(m.stderr.strip().splitlines()[-3:]) or f"exit {m.returncode}"
    else:
        query = f"SELECT count(*), sum(id) FROM {TABLE}"
        if into == "postgresql":
            assert db is not None
            got = tuple(int(v or 0) for v in db.execute(query)[0])
        else:
            conn = sqlite3.connect(sqlite_file)
            got = tuple(int(v or 0) for v in conn.execute(query).fetchone())
            conn.close()
        want = (rows, rows * (rows + 1) // 2)
        r["check"] = "ok" if got == want else f"WRONG: count, sum(id) = {got}, want {want}"
        data = json.loads(report.read_text()) if report.exists() else {}
        keep = ["read", "written", "batches", "seconds", "peak_rss_bytes", "batch_rows"]
        r["chute_report"] = {k: data[k] for k in keep if k in data}
    if db is not None and into == "postgresql":
        db.drop(TABLE)
    remove_sqlite(sqlite_file)
    return r


def summary(runs: list[dict[str, Any]], sizes: list[dict[str, Any]], into: str,
            flat_ratio: float) -> tuple[list[str], dict[str, Any]]:  # fmt: skip
    lines = []
    peaks = []
    for size in sizes:
        mine = [r for r in runs if r["into"] == into and r["size"] == size["label"]]
        times = [r["wall_seconds"] for r in mine if r["ok"]]
        wall = statistics.median(times) if times else float("nan")
        peak = max(r["peak_rss_bytes"] for r in mine) / MB
        peaks.append(peak)
        checks = "; ".join(sorted({str(r.get("error") or r["check"]) for r in mine}))
        lines.append(
            f"| {into} | {size['label']} | {size['mb']:,.1f} | {size['rows']:,} | {wall:,.2f} "
            f"| {size['rows'] / wall:,.0f} | {peak:,.0f} | {checks} |"
        )
    ratio = max(peaks) / min(peaks) if peaks and min(peaks) > 0 else float("nan")
    flat = ratio <= flat_ratio
    verdict = {"into": into, "peak_rss_mb": peaks, "max_over_min": ratio, "flat": flat}
    return lines, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"file sizes, comma-separated (default {DEFAULT_SIZES})",
    )
    parser.add_argument("--into", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (order reversed in even)")
    parser.add_argument(
        "--bytes-per-row", type=float, help="besides the id; default: measured (about 252)"
    )
    parser.add_argument(
        "--flat-ratio", type=float, default=1.25, help="largest max÷min peak RSS called flat"
    )
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--chute-from", default="HEAD", help="git ref, worktree or installed")
    parser.add_argument("--keep", action="store_true", help="keep generated files above 1 GB")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    try:
        nominal = [(label.strip(), parse_size(label)) for label in args.sizes.split(",")]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    targets = ["postgresql", "sqlite"] if args.into == "both" else [args.into]

    per_row = args.bytes_per_row or bytes_per_row()
    sizes = []
    for label, nbytes in nominal:
        rows = rows_for(nbytes, per_row)
        path = generate.orders_path(rows)
        sizes.append({"label": label, "bytes": nbytes, "rows": rows, "path": path,
                      "existed": path.exists()})  # fmt: skip
    print(f"{per_row:.1f} bytes a row besides the id; into {', '.join(targets)}, "
          f"{args.repeat} round(s)")  # fmt: skip
    for s in sizes:
        state = "exists" if s["existed"] else "to generate"
        if not (s["existed"] or args.keep) and s["bytes"] > DELETE_ABOVE:
            state += ", deleted at the end"
        print(f"  {s['label']:>6}: {s['rows']:>11,} rows -> {s['path']} ({state})")
    new_bytes = sum(s["bytes"] for s in sizes if not s["existed"])
    free = shutil.disk_usage(generate.DATA_DIR.parent).free
    largest = max(s["bytes"] for s in sizes)
    print(f"  disk: {new_bytes / 1e9:,.1f} GB to generate, about {largest / 1e9:,.1f} GB more "
          f"for the largest table; {free / 1e9:,.0f} GB free")  # fmt: skip
    if args.dry_run:
        return 0

    work = Path(tempfile.mkdtemp(prefix="rss_scale_", dir=generate.DATA_DIR))
    ctx: dict[str, Any] = {"work": work, "db": None}
    runs: list[dict[str, Any]] = []
    env: dict[str, Any] = {}
    try:
        for s in sizes:
            started = time.perf_counter()
            generate.ensure_orders(s["rows"])
            if not s["existed"]:
                print(f"generated {s['path'].name} in {time.perf_counter() - started:.1f} s")
            s["mb"] = s["path"].stat().st_size / MB
        ctx["chute"], ctx["chute_env"], code = chute_snapshot(args.chute_from, work / "chute")
        print(f"chute: {code}")
        if "postgresql" in targets:
            ctx["db"] = Database(args.admin_url)
            env = environment(ctx["db"])
        env.update(chute_code=code, bytes_per_row=per_row, utc=datetime.now(UTC).isoformat())
        jobs = [(s, into) for s in sizes for into in targets]
        for round_ in range(1, args.repeat + 1):
            for size, into in jobs if round_ % 2 else jobs[::-1]:
                r = load(ctx, size, into, round_)
                runs.append(r)
                print(f"[round {round_}] {size['label']} {into}: {r['wall_seconds']:.2f} s, "
                      f"peak RSS {r['peak_rss_bytes'] / MB:,.0f} MB, "
                      f"{r.get('error') or r['check']}", flush=True)  # fmt: skip
    finally:
        if ctx["db"] is not None:
            ctx["db"].close()
        shutil.rmtree(work, ignore_errors=True)
        for s in sizes:
            if not (args.keep or s["existed"]) and s["bytes"] > DELETE_ABOVE:
                s["path"].unlink(missing_ok=True)
                print(f"deleted {s['path']}")

    lines = [
        "| into | size | file MB | rows | wall s | rows/s | peak RSS MB | check |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for into in targets:
        rows, verdict = summary(runs, sizes, into, args.flat_ratio)
        lines += rows
        verdicts.append(verdict)
    table = "\n".join(lines)
    print("\n" + table + "\n")
    for v in verdicts:
        word = "flat" if v["flat"] else "NOT flat"
        over = ", ".join(s["label"] for s in sizes)
        print(f"{v['into']}: peak RSS {word}: max ÷ min = {v['max_over_min']:.2f} "
              f"(flat ≤ {args.flat_ratio}) over {over}")  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"rss_scale_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    plan = [{**s, "path": str(s["path"])} for s in sizes]
    result = {"environment": env, "sizes": plan, "runs": runs, "flat": verdicts, "markdown": table}
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    return 1 if any(not r["ok"] or r["check"] != "ok" for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
