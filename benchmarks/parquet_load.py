"""chute's Parquet source against its CSV source and hand-written Parquet loaders.

::

    python benchmarks/parquet_load.py --rows 1000000 --repeat 3
    python benchmarks/parquet_load.py --rows 20000                     # a quick run
    python benchmarks/parquet_load.py --into postgresql --only chute_parquet,psql_copy

The orders CSV (``generate.py``) is converted once, untimed, to ``data/orders_<rows>.parquet``
(pyarrow, snappy, row groups of 100,000 rows, typed columns: ``uuid`` as Arrow's 16-byte uuid,
``price`` decimal128(12,2), ``ordered_at`` timestamp(us, UTC), ``tags`` list<string>, ...).
Each round loads the same rows once per contender, each in a process of its own, timed from
outside (imports included) with GNU time's peak RSS, the order reversed in even rounds:

- into PostgreSQL's typed table (``generate.typed_table_ddl``): ``psql_copy`` (``psql \\copy``
  of the CSV, **the reference**), ``chute_parquet`` and ``chute_csv`` (``chute load`` of each
  file), ``adbc_parquet`` (a row group at a time, ``tags`` as JSON text in jsonb's binary form
  (version byte 1, then the text), ``adbc_ingest(mode="append")``, one transaction);
- into SQLite: ``sqlite_executemany`` (**the reference**: each row group ``to_pylist()``,
  values converted for ``sqlite3``, ``executemany``, one transaction), ``chute_parquet`` and
  ``chute_csv`` (each into a table chute creates in a new file).

``×`` is rows/s over the reference's rows/s in the same round (median over rounds, range in
brackets).  Checks: every table holds the Parquet file's count, sum(id), count(distinct
uuid), sum(quantity), count(shipped_at) and count(notes); PostgreSQL tables also the same
per-column hashes of normalised values (``run.Database.fingerprint``) as the CSV loaded by
``psql \\copy``.  The JSON goes to ``benchmarks/out/parquet_<rows>_<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Heavy modules (numpy, pyarrow, psycopg) are imported where used: the hand-written
# contenders run this file in processes of their own, measured, and import only what they need.

GROUP_ROWS = 100_000
MB = 1_000_000
CONTENDERS = {  # into -> contenders, the reference first
    "postgresql": ["psql_copy", "chute_parquet", "chute_csv", "adbc_parquet"],
    "sqlite": ["sqlite_executemany", "chute_parquet", "chute_csv"],
}
AGGREGATES = {"rows": "count(*)", "sum_id": "sum(id)", "distinct_uuid": "count(DISTINCT uuid)",
              "sum_quantity": "sum(quantity)", "shipped_at": "count(shipped_at)",
              "notes": "count(notes)"}  # fmt: skip


def ensure_parquet(csv_path: Path) -> Path:
    """``csv_path`` as Parquet beside it (made unless there), row groups of GROUP_ROWS."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    dest = csv_path.with_suffix(".parquet")
    if dest.exists():
        return dest
    schema = pa.schema(
        [("id", pa.int64()), ("uuid", pa.uuid()), ("customer", pa.string()),
         ("status", pa.string()), ("quantity", pa.int32()), ("price", pa.decimal128(12, 2)),
         ("ordered_at", pa.timestamp("us", tz="UTC")), ("shipped_at", pa.timestamp("us")),
         ("notes", pa.string()), ("gift", pa.bool_()), ("tags", pa.list_(pa.string())),
         ("weight", pa.float64())]
    )  # fmt: skip
    as_text = {"uuid", "tags"}  # converted below
    types = {f.name: pa.string() if f.name in as_text else f.type for f in schema}
    convert = pcsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True)
    parse = pcsv.ParseOptions(newlines_in_values=True)
    reader = pcsv.open_csv(csv_path, parse_options=parse, convert_options=convert)
    tmp = dest.with_suffix(".parquet.tmp")
    pending: list[Any] = []
    held = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for batch in itertools.chain(reader, [None]):
            if batch is not None:
                pending.append(_typed(batch, schema))
                held += batch.num_rows
            while held >= GROUP_ROWS or (batch is None and held):
                table = pa.Table.from_batches(pending, schema)
                writer.write_table(table.slice(0, GROUP_ROWS), row_group_size=GROUP_ROWS)
                pending = table.slice(GROUP_ROWS).to_batches()
                held = max(0, held - GROUP_ROWS)
    tmp.replace(dest)
    return dest


def _typed(batch: Any, schema: Any) -> Any:
    """A CSV batch in the Parquet file's types: uuid text as 16 bytes, JSON arrays as lists."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = dict(zip(batch.schema.names, batch.columns, strict=True))
    hexes = pc.replace_substring(columns["uuid"], "-", "")
    if not pc.all(pc.equal(pc.utf8_length(hexes), 32)).as_py():
        raise SystemExit("a uuid that is not 36 characters in the CSV")
    raw = bytes.fromhex(hexes.buffers()[2].to_pybytes()[: 32 * len(hexes)].decode("ascii"))
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(hexes), [None, pa.py_buffer(raw)]
    )
    columns["uuid"] = pa.ExtensionArray.from_storage(pa.uuid(), storage)
    sets = pc.dictionary_encode(columns["tags"])  # a few thousand distinct arrays
    parsed = [json.loads(s) for s in sets.dictionary.to_pylist()]
    columns["tags"] = pa.array(parsed, pa.list_(pa.string())).take(sets.indices)
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def parquet_aggregates(path: Path) -> dict[str, int]:
    """What every table must hold, from the Parquet file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["id", "uuid", "quantity", "shipped_at", "notes"])
    uuids = pa.chunked_array([c.storage for c in t["uuid"].chunks], pa.binary(16))
    return {"rows": t.num_rows, "sum_id": pc.sum(t["id"]).as_py() or 0,
            "distinct_uuid": pc.count_distinct(uuids).as_py(),
            "sum_quantity": pc.sum(t["quantity"]).as_py() or 0,
            "shipped_at": pc.count(t["shipped_at"]).as_py(),
            "notes": pc.count(t["notes"]).as_py()}  # fmt: skip


# -- the hand-written contenders (each runs in a process of its own) ---------------------


def adbc_parquet(path: Path, url: str, table: str) -> int:
    """Row group by row group into the typed table with ADBC's COPY, one transaction."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    version, nothing = pa.scalar(b"\x01", pa.binary()), pa.scalar(b"", pa.binary())
    file = pq.ParquetFile(path)
    rows = 0
    with adbc.connect(url) as conn, conn.cursor() as cur:
        for i in range(file.num_row_groups):
            group = file.read_row_group(i).combine_chunks()
            tags = group.column("tags").chunk(0)
            items = pc.replace_substring(tags.values, "\\", "\\\\")  # JSON escapes
            items = pc.replace_substring(items, '"', '\\"')
            items = pc.binary_join_element_wise('"', items, '"', "")
            lists = pa.ListArray.from_arrays(tags.offsets, items, mask=tags.is_null())
            text = pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")
            jsonb = pc.binary_join_element_wise(version, pc.cast(text, pa.binary()), nothing)
            group = group.set_column(group.schema.get_field_index("tags"), "tags", jsonb)
            cur.adbc_ingest(table, group, mode="append")
            rows += group.num_rows
        conn.commit()
    return rows


def sqlite_executemany(path: Path, url: str, table: str) -> int:
    """Each row group ``to_pylist()``, values converted for sqlite3, one transaction."""
    import pyarrow.parquet as pq
    from contenders import SQLITE_DDL  # the CSV reference's table

    def row(r: dict[str, Any]) -> tuple[Any, ...]:
        def iso(v: Any) -> str | None:
            return None if v is None else v.isoformat(sep=" ")

        tags = r["tags"]
        return (
            r["id"], str(r["uuid"]), r["customer"], r["status"], r["quantity"],
            None if r["price"] is None else str(r["price"]), iso(r["ordered_at"]),
            iso(r["shipped_at"]), r["notes"], r["gift"],
            None if tags is None else json.dumps(tags, ensure_ascii=False), r["weight"],
        )  # fmt: skip

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    file = pq.ParquetFile(path)
    rows = 0
    with conn:  # one transaction
        conn.execute(SQLITE_DDL.format(table=table))
        insert = f"INSERT INTO {table} VALUES ({', '.join('?' * 12)})"
        for i in range(file.num_row_groups):
            records = file.read_row_group(i).to_pylist()
            conn.executemany(insert, [row(r) for r in records])
            rows += len(records)
    conn.close()
    return rows


def contender_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="parquet_load.py contender")
    parser.add_argument("name", choices=["adbc_parquet", "sqlite_executemany"])
    for option in ("--file", "--url", "--table"):
        parser.add_argument(option, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load = adbc_parquet if args.name == "adbc_parquet" else sqlite_executemany
    rows = load(Path(args.file), args.url, args.table)
    print(json.dumps({"rows": rows, "seconds": round(time.perf_counter() - started, 3)}))
    return 0


# -- the runner --------------------------------------------------------------------------


def command(name: str, into: str, files: dict[str, Path], url: str, table: str, work: Path,
            chute: list[str]) -> list[str]:  # fmt: skip
    if name == "psql_copy":
        copy = f"\\copy {table} FROM '{files['csv']}' WITH (FORMAT csv, HEADER true)"
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", copy]
    if name.startswith("chute_"):
        source = files["parquet" if name == "chute_parquet" else "csv"]
        report = work / f"{into}_{table}.json"
        return [*chute, "load", str(source), "--into", url, "--table", table, "--quiet",
                "--report", str(report)]  # fmt: skip
    return [sys.executable, str(Path(__file__).resolve()), "contender", name,
            "--file", str(files["parquet"]), "--url", url, "--table", table]  # fmt: skip


def aggregates(fetch: Any, table: str) -> dict[str, int]:
    row = fetch(f"SELECT {', '.join(AGGREGATES.values())} FROM {table}")
    return {k: int(v or 0) for k, v in zip(AGGREGATES, row, strict=True)}


def load_one(ctx: dict[str, Any], into: str, name: str, round_: int) -> dict[str, Any]:
    """Load once, measured from outside; check the table, then drop it."""
    import run

    db, work, table = ctx["db"], ctx["work"], f"t_{name}"
    sqlite_file = work / f"{table}.db"
    if into == "postgresql":
        db.create_typed(table)
        db.execute("DROP TABLE IF EXISTS _chute_checkpoints")  # no resume from a past load
        db.settle()
    else:
        run.remove_sqlite(sqlite_file)
        os.sync()
    url = db.url if into == "postgresql" else f"sqlite:///{sqlite_file}"
    cmd = command(name, into, ctx["files"], url, table, work, ctx["chute"])
    m = run.measure(cmd, ctx["chute_env"] if name.startswith("chute_") else None)
    r: dict[str, Any] = {
        "into": into, "contender": name, "round": round_, "rows": ctx["rows"],
        "wall_seconds": m.wall_seconds, "peak_rss_bytes": m.peak_rss_bytes,
        "ok": m.returncode == 0, "check": "failed",
    }  # fmt: skip
    if not r["ok"]:
        r["error"] = " | ".join(m.stderr.strip().splitlines()[-3:]) or f"exit {m.returncode}"
    elif into == "postgresql":
        r["aggregates"] = aggregates(lambda q: db.execute(q)[0], table)
        diff = run.differences(db.fingerprint(table), ctx["reference"])
        diff += [f"{k} (aggregate)" for k in run.differences(r["aggregates"], ctx["expected"])]
        r["check"] = "same as psql \\copy" if not diff else f"MISMATCH in {', '.join(diff)}"
    else:
        conn = sqlite3.connect(sqlite_file)
        r["aggregates"] = aggregates(lambda q: conn.execute(q).fetchone(), table)
        conn.close()
        diff = run.differences(r["aggregates"], ctx["expected"])
        r["check"] = "same aggregates" if not diff else f"MISMATCH in {', '.join(diff)}"
    report = work / f"{into}_{table}.json"
    if report.exists():
        r["chute_report"] = json.loads(report.read_text())
        report.unlink()
    if into == "postgresql":
        db.drop(table)
    run.remove_sqlite(sqlite_file)
    return r


def markdown(runs: list[dict[str, Any]], jobs: list[tuple[str, str]], rows: int) -> str:
    lines = [
        "| into | contender | wall s | rows/s | × reference | peak RSS MB | check |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for into, name in jobs:
        mine = [r for r in runs if (r["into"], r["contender"]) == (into, name)]
        ref_name = CONTENDERS[into][0]
        ref = {r["round"]: r for r in runs if (r["into"], r["contender"]) == (into, ref_name)}
        ratios = [ref[r["round"]]["wall_seconds"] / r["wall_seconds"]
                  for r in mine if r["ok"] and ref.get(r["round"], {}).get("ok")]  # fmt: skip
        times = [r["wall_seconds"] for r in mine if r["ok"]]
        wall = statistics.median(times) if times else float("nan")
        ratio = f"{statistics.median(ratios):.3f}" if ratios else "—"
        if len(ratios) > 1:
            ratio += f" ({min(ratios):.3f}–{max(ratios):.3f})"
        ratio = "1 (ref)" if name == ref_name else ratio
        peak = max(r["peak_rss_bytes"] for r in mine) / MB
        checks = "; ".join(sorted({str(r.get("error") or r["check"]) for r in mine}))
        lines.append(f"| {into} | {name} | {wall:.2f} | {rows / wall:,.0f} | {ratio} | "
                     f"{peak:,.0f} | {checks} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["contender"]:
        return contender_main(argv[1:])
    import generate
    import run

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds (order reversed in even)")
    parser.add_argument("--into", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--only", help="contenders, comma-separated (default: all)")
    parser.add_argument("--admin-url", default=run.DEFAULT_ADMIN_URL)
    parser.add_argument("--chute-from", default="HEAD", help="git ref, worktree or installed")
    parser.add_argument("--out", type=Path, default=run.OUT_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    targets = ["postgresql", "sqlite"] if args.into == "both" else [args.into]
    only = set(args.only.split(",")) if args.only else None
    jobs = [(t, n) for t in targets for n in CONTENDERS[t] if only is None or n in only]
    unknown = (only or set()) - {n for names in CONTENDERS.values() for n in names}
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    if not jobs or args.rows < 1 or args.repeat < 1:
        parser.error("no contender selected for --into, or --rows or --repeat below 1")

    files = {"csv": generate.ensure_orders(args.rows)}
    started = time.perf_counter()
    files["parquet"] = ensure_parquet(files["csv"])
    sizes = {k: round(p.stat().st_size / MB, 1) for k, p in files.items()}
    print(f"input: {files['csv']} ({sizes['csv']} MB), {files['parquet'].name} "
          f"({sizes['parquet']} MB; ready in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="parquet_", dir=generate.DATA_DIR))
    ctx: dict[str, Any] = {"files": files, "rows": args.rows, "work": work, "db": None}
    ctx["expected"] = parquet_aggregates(files["parquet"])
    runs: list[dict[str, Any]] = []
    try:
        ctx["chute"], ctx["chute_env"], code = run.chute_snapshot(args.chute_from, work / "c")
        print(f"chute: {code}")
        if "postgresql" in targets:
            db = ctx["db"] = run.Database(args.admin_url)
            db.create_typed("reference")  # the CSV by psql, untimed: what tables must hash to
            ref = run.measure(command("psql_copy", "", files, db.url, "reference", work, []))
            if ref.returncode:
                raise SystemExit(f"psql \\copy failed: {ref.stderr.strip()}")
            ctx["reference"] = db.fingerprint("reference")
            db.drop("reference")
        env = run.environment(ctx["db"]) if ctx["db"] else {"utc": datetime.now(UTC).isoformat()}
        env.update(chute_code=code, files={k: str(p) for k, p in files.items()}, mb=sizes)
        for round_ in range(1, args.repeat + 1):
            for into, name in jobs if round_ % 2 else jobs[::-1]:
                r = load_one(ctx, into, name, round_)
                runs.append(r)
                print(f"[round {round_}] {into} {name}: {r['wall_seconds']:.2f} s, "
                      f"{args.rows / r['wall_seconds']:,.0f} rows/s, peak RSS "
                      f"{r['peak_rss_bytes'] / MB:,.0f} MB, {r.get('error') or r['check']}",
                      flush=True)  # fmt: skip
    finally:
        if ctx["db"] is not None:
            ctx["db"].close()
        shutil.rmtree(work, ignore_errors=True)

    table = markdown(runs, jobs, args.rows)
    print(
        f"\n{args.rows:,} rows; CSV {sizes['csv']} MB, Parquet {sizes['parquet']} MB; "
        f"{args.repeat} round(s), medians; × = rows/s ÷ the reference's in the same round\n"
    )
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"parquet_{args.rows}_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    result = {"environment": env, "expected": ctx["expected"], "runs": runs, "markdown": table}
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    return 1 if any(not r["ok"] or r["check"].startswith("MISMATCH") for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
