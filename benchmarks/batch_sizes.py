"""Fixed batch sizes against adaptive, and 1, 2 or 4 writers, on PostgreSQL near and far.

::

    python benchmarks/batch_sizes.py --rows 1000000 --repeat 3
    python benchmarks/batch_sizes.py --rows 100000 --settings direct      # a quick look
    python benchmarks/batch_sizes.py --only adaptive,fixed_10000 --delay-ms 50

Every contender is the same ``chute load FILE --into URL --table T --quiet --report R.json``
into the typed table (primary key, uuid, jsonb), with ``--batch-rows N`` (fixed) or nothing
(adaptive), and ``--workers W``; ``--log-json`` too, so that the JSON keeps each batch's
rows and milliseconds.  Two settings: **direct** (the server's own address) and **proxy**, a
:class:`chute_bench.latency_proxy.LatencyProxy` in this process adding ``--delay-ms`` (20)
each way, so every round trip costs 40 ms more.

Fixed sizes below ``--sample-below`` (10,000) are slow through the proxy (a few hundred rows/s
at 100 rows a batch), so they load a prefix of the file: max(``--sample-batches`` × size,
``--sample-min-rows``) records, at most ``--rows``, and are labelled ``(sample)``.  Everything
else loads the whole file.

Before each load the runner drops chute's checkpoint table, creates the typed table again,
then ``sync`` and ``CHECKPOINT``; after it, it counts the rows.  Rounds are interleaved (order
reversed in even rounds), and ratios are taken within a round: adaptive ÷ the best fixed size
of its setting (the fixed size with the highest median rows/s), 2 and 4 workers ÷ 1 worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import generate
from run import (
    DEFAULT_ADMIN_URL,
    MB,
    OUT_DIR,
    Database,
    chute_snapshot,
    environment,
    git_state,
    measure,
)

from chute_bench.latency_proxy import LatencyProxy

TABLE = "orders_typed"
FIXED_SIZES = (100, 1_000, 10_000, 100_000)
SETTINGS = ("direct", "proxy")


@dataclass(frozen=True)
class Contender:
    name: str
    batch_rows: int | None  # None: adaptive
    workers: int

    @property
    def label(self) -> str:
        what = "adaptive" if self.batch_rows is None else f"fixed {self.batch_rows:,}"
        return what + (f", {self.workers} workers" if self.workers > 1 else "")

    def args(self) -> list[str]:
        out = [] if self.batch_rows is None else ["--batch-rows", str(self.batch_rows)]
        return [*out, "--workers", str(self.workers)]  # explicit: the default is 2


def _contender(batch_rows: int | None, workers: int = 1) -> Contender:
    name = "adaptive" if batch_rows is None else f"fixed_{batch_rows}"
    return Contender(name + (f"_w{workers}" if workers > 1 else ""), batch_rows, workers)


CONTENDERS = [
    *(_contender(n) for n in FIXED_SIZES),
    _contender(None),
    _contender(None, 2),
    _contender(None, 4),
    _contender(100_000, 2),
    _contender(100_000, 4),
]
BY_NAME = {c.name: c for c in CONTENDERS}


@dataclass
class Run:
    setting: str
    contender: str
    round: int
    rows: int  # records in the file loaded
    full_rows: int
    wall_seconds: float
    peak_rss_bytes: int  # GNU time around the process
    ok: bool
    error: str | None = None
    report: dict[str, Any] = field(default_factory=dict)
    batches: list[list[float]] = field(default_factory=list)  # [rows, ms, next_batch_rows]

    @property
    def sampled(self) -> bool:
        return self.rows < self.full_rows

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall_seconds

    @property
    def load_rows_per_second(self) -> float:
        """rows/s inside the load, from chute's report: without start-up and imports."""
        return float(self.report.get("rows_per_second") or 0.0)


def sample_rows(c: Contender, args: argparse.Namespace) -> int:
    if c.batch_rows is None or c.batch_rows >= args.sample_below:
        return args.rows
    return min(args.rows, max(args.sample_batches * c.batch_rows, args.sample_min_rows))


def _batches(stderr: str) -> list[list[float]]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("{") and '"event":"batch"' in line.replace(" ", ""):
            event = json.loads(line)
            out.append([event["rows"], event["ms"], event["next_batch_rows"]])
    return out


def load(
    db: Database,
    url: str,
    chute: tuple[list[str], dict[str, str]],
    c: Contender,
    path: Path,
    rows: int,
    report: Path,
) -> tuple[Any, dict[str, Any], list[list[float]], str | None]:
    """One load into a fresh typed table; (measured, report, batches, error)."""
    db.execute("DROP TABLE IF EXISTS _chute_checkpoints")
    db.create_typed(TABLE)
    db.settle()
    report.unlink(missing_ok=True)
    command, env = chute
    cmd = [*command, "load", str(path), "--into", url, "--table", TABLE, "--quiet"]
    cmd += ["--report", str(report), "--log-json", *c.args()]
    m = measure(cmd, env)
    if m.returncode != 0:
        tail = m.stderr.strip().splitlines()[-3:] or [f"exit code {m.returncode}"]
        return m, {}, [], " | ".join(tail)
    data = json.loads(report.read_text())
    count = db.execute(f"SELECT count(*) FROM {TABLE}")[0][0]
    error = None if count == rows == data["written"] else f"{count:,} rows, expected {rows:,}"
    return m, data, _batches(m.stderr), error


KEEP = [
    "read", "written", "batches", "seconds", "rows_per_second", "peak_rss_bytes",
    "read_seconds", "write_seconds", "wait_seconds", "backpressure_seconds", "bottleneck",
    "batch_sizing", "batch_rows", "batch_ms", "statements", "retries", "workers",
]  # fmt: skip


# -- the summary -------------------------------------------------------------------------


def _ok(runs: list[Run], setting: str, name: str) -> list[Run]:
    return [r for r in runs if r.setting == setting and r.contender == name and r.ok]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def best_fixed(runs: list[Run], setting: str) -> str | None:
    """The workers-1 fixed size with the highest median rows/s in ``setting``."""
    medians = {
        c.name: _median([r.rows_per_second for r in _ok(runs, setting, c.name)])
        for c in CONTENDERS
        if c.batch_rows is not None and c.workers == 1 and _ok(runs, setting, c.name)
    }
    return max(medians, key=lambda n: medians[n]) if medians else None


def ratios(runs: list[Run], setting: str, name: str, reference: str) -> list[float]:
    """Per round: rows/s of ``name`` ÷ rows/s of ``reference`` in the same round."""
    mine = {r.round: r for r in _ok(runs, setting, name)}
    theirs = {r.round: r for r in _ok(runs, setting, reference)}
    return [mine[k].rows_per_second / theirs[k].rows_per_second for k in mine if k in theirs]


def _ratio_text(values: list[float]) -> str:
    if not values:
        return "—"
    text = f"{statistics.median(values):.3f}"
    return text + (f" ({min(values):.3f}–{max(values):.3f})" if len(values) > 1 else "")


def _sizes(runs: list[Run]) -> str:
    """Batch rows min / median / max over the runs' reports."""
    reports = [r.report["batch_rows"] for r in runs if r.report.get("batch_rows")]
    if not reports:
        return "—"
    low = min(b["min"] for b in reports)
    mid = int(_median([b["median"] for b in reports]))
    high = max(b["max"] for b in reports)
    return f"{low:,} / {mid:,} / {high:,}"


def summary(runs: list[Run], names: list[str], settings: list[str], delay_ms: float) -> str:
    head = (
        "| setting | contender | rows measured | batch rows min / median / max | batches "
        "| batch ms p50 | wall s | rows/s | rows/s in load | × best fixed | × 1 worker "
        "| peak RSS MB |\n"
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    verdicts = []
    for setting in settings:
        label = "direct" if setting == "direct" else f"proxy {delay_ms:g} ms each way"
        best = best_fixed(runs, setting)
        for name in names:
            c = BY_NAME[name]
            mine = [r for r in runs if r.setting == setting and r.contender == name]
            good = [r for r in mine if r.ok]
            if not mine:
                continue
            if not good:
                lines.append(f"| {label} | {c.label} | FAILED: {mine[0].error} |" + " |" * 9)
                continue
            rows = f"{good[0].rows:,}" + (f" of {good[0].full_rows:,}" if good[0].sampled else "")
            sample = f" (sample of {good[0].rows:,} rows)" if good[0].sampled else ""
            vs_best = "—"
            if c.workers == 1 and best is not None:
                vs_best = (
                    "1 (best)" if name == best else _ratio_text(ratios(runs, setting, name, best))
                )
            one = "adaptive" if c.batch_rows is None else f"fixed_{c.batch_rows}"
            vs_one = _ratio_text(ratios(runs, setting, name, one)) if c.workers > 1 else "—"
            lines.append(
                f"| {label} | {c.label} | {rows} | {_sizes(good)} "
                f"| {int(_median([r.report['batches'] for r in good])):,} "
                f"| {_median([r.report['batch_ms']['p50'] for r in good]):,.0f} "
                f"| {_median([r.wall_seconds for r in good]):,.2f} "
                f"| {_median([r.rows_per_second for r in good]):,.0f}{sample} "
                f"| {_median([r.load_rows_per_second for r in good]):,.0f} "
                f"| {vs_best} | {vs_one} "
                f"| {max(r.peak_rss_bytes for r in mine) / MB:,.0f} |"
            )
        if best is not None and _ok(runs, setting, "adaptive"):
            got = ratios(runs, setting, "adaptive", best)
            med = statistics.median(got)
            verdict = "PASS" if med >= 0.9 else "FAIL"
            verdicts.append(
                f"- {label}: adaptive ÷ best fixed ({BY_NAME[best].label}) = "
                f"{_ratio_text(got)}; target ≥ 0.9: **{verdict}**"
            )
    notes = (
        "\n\n`rows/s` = records loaded ÷ wall time of the whole process (median over rounds); "
        "`rows/s in load` = chute's own report, start-up excluded; ratios are medians over "
        "rounds of per-round rows/s ratios (range in brackets); `N of M`, `(sample of N rows)`: "
        "the contender loaded the first N records of the file (start-up weighs more in its "
        "wall time)."
    )
    return "\n".join(lines) + notes + ("\n\n" + "\n".join(verdicts) if verdicts else "")


def table_from_json(path: Path) -> str:
    data = json.loads(path.read_text())
    names = {f.name for f in fields(Run)}
    runs = [Run(**{k: v for k, v in r.items() if k in names}) for r in data["runs"]]
    s = data["settings"]
    return summary(runs, s["contenders"], s["settings"], s["delay_ms"])


def _progress(run: Run, label: str) -> str:
    prefix = f"[round {run.round}] {run.setting} {label}:"
    if not run.ok:
        return f"{prefix} FAILED ({run.error})"
    sampled = f" (sample of {run.full_rows:,})" if run.sampled else ""
    sizes = run.report.get("batch_rows", {})
    return (
        f"{prefix} {run.rows:,} rows{sampled} in {run.wall_seconds:.2f} s = "
        f"{run.rows_per_second:,.0f} rows/s ({run.load_rows_per_second:,.0f} in load), "
        f"{run.report.get('batches')} batches of {sizes.get('min', 0):,}–{sizes.get('max', 0):,} "
        f"rows (median {sizes.get('median', 0):,}), peak RSS {run.peak_rss_bytes / MB:,.0f} MB"
    )


def select(only: list[str] | None) -> list[str]:
    if not only:
        return [c.name for c in CONTENDERS]
    wanted = {t.strip() for item in only for t in item.split(",") if t.strip()}
    unknown = wanted - set(BY_NAME)
    if unknown:
        raise SystemExit(f"unknown contender(s) {sorted(unknown)}; choose from {list(BY_NAME)}")
    return [c.name for c in CONTENDERS if c.name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=generate.DEFAULT_ROWS, help="rows per load")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (order reversed in even)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="proxy delay each way")
    parser.add_argument(
        "--settings", default=",".join(SETTINGS), help="direct, proxy or both (comma-separated)"
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help=f"contenders: {', '.join(BY_NAME)}"
    )
    parser.add_argument(
        "--sample-below", type=int, default=10_000, help="fixed sizes below this load a sample"
    )
    parser.add_argument("--sample-batches", type=int, default=50, help="batches in a sample")
    parser.add_argument("--sample-min-rows", type=int, default=20_000, help="rows in a sample")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="where to CREATE DATABASE")
    parser.add_argument(
        "--chute-from",
        default="HEAD",
        metavar="REF|worktree|installed",
        help="run chute from src/chute as committed in a git ref (default HEAD), as on disk "
        "(worktree), or the installed package",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the table and JSON go")
    parser.add_argument(
        "--table-from", type=Path, metavar="JSON", help="print the table of an earlier run"
    )
    args = parser.parse_args(argv)
    if args.table_from:
        print(table_from_json(args.table_from))
        return 0
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    if not settings or set(settings) - set(SETTINGS):
        parser.error(f"--settings takes {', '.join(SETTINGS)}")
    if args.rows < 2 or args.repeat < 1:
        parser.error("--rows must be at least 2 and --repeat at least 1")
    names = select(args.only)

    files: dict[int, Path] = {}
    for n in sorted({sample_rows(BY_NAME[name], args) for name in names}):
        started = time.perf_counter()
        files[n] = generate.ensure_orders(n)
        print(f"input {n:,} rows: {files[n]} ({time.perf_counter() - started:.1f} s)", flush=True)

    runs: list[Run] = []
    started = time.perf_counter()
    target = urlsplit(args.admin_url)
    with tempfile.TemporaryDirectory(prefix="batch_sizes_", dir=generate.DATA_DIR) as tmp:
        work = Path(tmp)
        command, env, code = chute_snapshot(args.chute_from, work / "chute")
        db = Database(args.admin_url)
        try:
            environ = environment(db)
            environ["chute_code"] = code
            print(f"{environ['date']}: {args.rows:,} rows in {db.name}; chute: {code}", flush=True)
            proxy = LatencyProxy(
                (target.hostname or "127.0.0.1", target.port or 5432), args.delay_ms
            )
            with proxy:
                urls = {"direct": db.url, "proxy": proxy.url_for(db.url)}
                for round_ in range(1, args.repeat + 1):
                    order = [(s, n) for s in settings for n in names]
                    for setting, name in order if round_ % 2 else reversed(order):
                        c = BY_NAME[name]
                        rows = sample_rows(c, args)
                        m, report, batches, error = load(
                            db, urls[setting], (command, env), c, files[rows], rows,
                            work / "report.json",
                        )  # fmt: skip
                        run = Run(
                            setting=setting,
                            contender=name,
                            round=round_,
                            rows=rows,
                            full_rows=args.rows,
                            wall_seconds=m.wall_seconds,
                            peak_rss_bytes=m.peak_rss_bytes,
                            ok=error is None,
                            error=error,
                            report={k: report[k] for k in KEEP if k in report},
                            batches=batches,
                        )
                        runs.append(run)
                        print(_progress(run, c.label), flush=True)
            environ["loadavg_at_end"] = os.getloadavg()
            environ["git_at_end"] = git_state()
        finally:
            db.close()
    elapsed = time.perf_counter() - started

    table = summary(runs, names, settings, args.delay_ms)
    print()
    print(table)
    print(f"\n{len(runs)} loads in {elapsed / 60:.1f} min")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (args.out / "batch_sizes.md").write_text(table + "\n")
    out = args.out / f"batch_sizes_{args.rows}_{stamp}.json"
    result = {
        "environment": environ,
        "settings": {
            "rows": args.rows,
            "repeat": args.repeat,
            "delay_ms": args.delay_ms,
            "settings": settings,
            "contenders": names,
            "sample_rule": f"fixed sizes < {args.sample_below:,}: max({args.sample_batches} × "
            f"size, {args.sample_min_rows:,}) rows, at most --rows",
            "files": {str(k): str(v) for k, v in files.items()},
            "elapsed_seconds": round(elapsed, 1),
        },
        "runs": [
            {**asdict(r), "rows_per_second": r.rows_per_second, "label": BY_NAME[r.contender].label}
            for r in runs
        ],
        "markdown": table,
    }
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {args.out / 'batch_sizes.md'} and {out}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
