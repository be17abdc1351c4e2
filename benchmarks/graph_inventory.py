"""Report 05's load: a cloud inventory of 40,000 resources and 100,000 relationships into
FalkorDB, chute against the loaders people write by hand.

::

    python benchmarks/graph_inventory.py                      # scale 1, 3 rounds
    python benchmarks/graph_inventory.py --scale 5 --rounds 3 # 200,000 and 500,000
    python benchmarks/graph_inventory.py --only unwind_1000,chute --json out/graph.json

The file is ``graph_data.py``'s (JSON Lines, one resource a record; ``data/``); the server
is a FalkorDB of our own (``chute_bench.falkordb_server``).  Every contender runs in a
process of its own (wall time from start to exit, imports included; peak RSS from GNU
``time``) into a graph of its own, deleted after the checks.  Contenders:

- ``per_query``: report 05's "before": the index on ``Resource(id)``, then one ``MERGE`` a
  node and one ``MATCH ... MATCH ... MERGE`` a relationship (140,000 queries at scale 1;
  left out above scale 1 unless named in ``--only``);
- ``unwind_N`` (N = 1,000, 5,000, 10,000): the index, then ``UNWIND $rows`` batches of N
  nodes (``MERGE ... SET n += r.props``) and of N relationships of one type.
  ``unwind_1000`` is **the reference**;
- ``chute``: ``chute.load(file, into=falkordb://..., table="inventory", graph=MAPPING,
  mode="upsert")``, adaptive batches with checkpoints and counts; ``chute_fixed_N`` the same
  with ``batch_rows=N``.  A chute without the graph sink says so and the others run.

After each load the graph must hold every resource (per kind, with its name and region on a
sample) and every relationship (per type); a contender that stored something else is WRONG
and not timed.  Rounds alternate the order of contenders; the table gives medians and the
ratio to ``unwind_1000`` in the same round (above 1 = faster).  Queries and ms per query are
the hand-written loaders' own count, or chute's report (statements, write seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from falkordb import FalkorDB, Graph
from graph_data import MAPPING, PROPERTIES, REL_FIELDS, Expected, ensure_inventory

HERE = Path(__file__).resolve()
FIXED = (1_000, 5_000, 10_000)
NAMES = [
    "per_query",
    *(f"unwind_{n}" for n in FIXED),
    "chute",
    *(f"chute_fixed_{n}" for n in FIXED),
]
REFERENCE = "unwind_1000"
UNAVAILABLE = "chute: graph sink not available at this commit"
INDEX = "CREATE INDEX FOR (n:Resource) ON (n.id)"
NODE_MERGE = "MERGE (n:Resource {id: $id}) SET n += $props"
NODES_UNWIND = "UNWIND $rows AS r MERGE (n:Resource {id: r.id}) SET n += r.props"
REL_MERGE = "MATCH (a:Resource {id: $src}) MATCH (b:Resource {id: $dst}) MERGE (a)-[:%s]->(b)"
RELS_UNWIND = (
    "UNWIND $rows AS r MATCH (a:Resource {id: r.src}) MATCH (b:Resource {id: r.dst}) "
    "MERGE (a)-[:%s]->(b)"
)


# -- the contenders, each in a child process: ``graph_inventory.py --child NAME ...`` ----


class Counted:
    """A graph whose queries are counted and timed (the monitor report 05 asks for)."""

    def __init__(self, graph: Graph) -> None:
        self.graph, self.queries, self.seconds = graph, 0, 0.0

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> None:
        t0 = time.perf_counter()
        self.graph.query(cypher, params)
        self.seconds += time.perf_counter() - t0
        self.queries += 1


def read_rows(path: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, str]]]]:
    nodes: list[dict[str, Any]] = []
    rels: dict[str, list[dict[str, str]]] = {t: [] for t in REL_FIELDS}
    with path.open() as f:
        for line in f:
            r = json.loads(line)
            nodes.append({"id": r["id"], "props": {k: r[k] for k in PROPERTIES}})
            for rel_type, name in REL_FIELDS.items():
                rels[rel_type].extend({"src": r["id"], "dst": to} for to in r[name])
    return nodes, rels


def hand_written(path: Path, host: str, port: int, graph: str, batch: int) -> dict[str, Any]:
    """``batch`` 0: a query per node and per relationship; else UNWIND batches of that size."""
    g = Counted(FalkorDB(host=host, port=port).select_graph(graph))
    g.query(INDEX)
    nodes, rels = read_rows(path)
    if batch == 0:
        for node in nodes:
            g.query(NODE_MERGE, node)
        for rel_type, pairs in rels.items():
            for pair in pairs:
                g.query(REL_MERGE % rel_type, pair)
    else:
        for i in range(0, len(nodes), batch):
            g.query(NODES_UNWIND, {"rows": nodes[i : i + batch]})
        for rel_type, pairs in rels.items():
            for i in range(0, len(pairs), batch):
                g.query(RELS_UNWIND % rel_type, {"rows": pairs[i : i + batch]})
    return {"queries": g.queries, "query_seconds": g.seconds}


def chute_load(path: Path, url: str, batch: int | None) -> dict[str, Any]:
    import chute
    from chute.errors import ConfigError

    try:
        report = chute.load(
            path, into=url, table="inventory", graph=MAPPING, mode="upsert", batch_rows=batch
        )
    except (TypeError, ConfigError) as exc:
        if isinstance(exc, TypeError) and "graph" not in str(exc):
            raise
        return {"unavailable": f"{UNAVAILABLE} ({type(exc).__name__}: {exc})"}
    out = report.to_dict()
    statements = out.get("statements")
    return {
        "queries": statements if isinstance(statements, int) else None,
        "query_seconds": out.get("write_seconds"),
        "report": out,
    }


def child(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    name: str = args.child
    path = Path(args.file)
    if name.startswith("chute"):
        url = f"falkordb://{args.host}:{args.port}/{args.graph}"
        batch = int(name.rsplit("_", 1)[1]) if name.startswith("chute_fixed_") else None
        out = chute_load(path, url, batch)
    else:
        batch = 0 if name == "per_query" else int(name.rsplit("_", 1)[1])
        out = hand_written(path, args.host, args.port, args.graph, batch)
    out["inner_seconds"] = time.perf_counter() - t0
    print(json.dumps(out))
    return 0


# -- the runner ---------------------------------------------------------------------------


@dataclass
class Run:
    wall: float = 0.0
    inner: float = 0.0
    rss_mb: float = 0.0
    queries: int | None = None
    query_seconds: float | None = None
    wrong: str | None = None
    extra: str = ""
    unavailable: str | None = None
    report: dict[str, Any] = field(default_factory=dict)


def check(g: Graph, exp: Expected, sample: list[dict[str, Any]]) -> tuple[str | None, str]:
    """What is wrong (None when the graph holds exactly the inventory), and what else is
    there (nodes of other labels, relationships of other types: a loader's bookkeeping)."""
    kinds = dict(g.query("MATCH (n:Resource) RETURN n.kind, count(n)").result_set)
    labels = {str(k): v for k, v in g.query("MATCH (n) RETURN labels(n), count(n)").result_set}
    types = dict(g.query("MATCH ()-[e]->() RETURN type(e), count(e)").result_set)
    nodes = labels.pop(str(["Resource"]), 0)
    rels = {t: types.pop(t, 0) for t in REL_FIELDS}
    problems = []
    if nodes != exp.nodes:
        problems.append(f"{nodes} Resource nodes, not {exp.nodes}")
    if kinds != exp.kinds:
        problems.append(f"kinds {kinds}")
    if rels != exp.rels:
        problems.append(f"relationships {rels}")
    for r in sample:
        got = g.query(
            "MATCH (n:Resource {id: $id}) RETURN n.name, n.region", {"id": r["id"]}
        ).result_set
        if got != [[r["name"], r["region"]]]:
            problems.append(f"{r['id']}: {got}")
    extra = [f"{v} {k} nodes" for k, v in labels.items()]
    extra += [f"{v} {k} relationships" for k, v in types.items()]
    return "; ".join(problems) or None, ", ".join(extra)


def run_one(name: str, path: Path, host: str, port: int, exp: Expected, sample: list[Any]) -> Run:
    db = FalkorDB(host=host, port=port)
    graph = f"inventory_{name}_{random.randrange(16**8):08x}"
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss.name, sys.executable, str(HERE)]
        cmd += ["--child", name, "--file", str(path), "--host", host, "--port", str(port)]
        cmd += ["--graph", graph]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        wall = time.perf_counter() - t0
        rss_kb = Path(rss.name).read_text().strip().splitlines()
    try:
        if proc.returncode != 0:
            return Run(wrong=f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        if "unavailable" in out:
            return Run(unavailable=out["unavailable"])
        wrong, extra = check(db.select_graph(graph), exp, sample)
        return Run(
            wall=wall,
            inner=out["inner_seconds"],
            rss_mb=int(rss_kb[-1]) * 1024 / 1e6 if rss_kb else 0.0,
            queries=out.get("queries"),
            query_seconds=out.get("query_seconds"),
            wrong=wrong,
            extra=extra,
            report=out.get("report", {}),
        )
    finally:
        if graph in db.list_graphs():
            db.select_graph(graph).delete()


def summary(runs: dict[str, list[Run]], rounds: int, exp: Expected) -> list[dict[str, Any]]:
    rows = []
    ref = runs.get(REFERENCE, [])
    for name, rs in runs.items():
        row: dict[str, Any] = {"contender": name}
        good = [r for r in rs if not r.wrong and not r.unavailable]
        if not good:
            wrong = next((r.wrong for r in rs if r.wrong), None)
            row["status"] = f"WRONG: {wrong}" if wrong else rs[0].unavailable if rs else "not run"
            rows.append(row)
            continue
        wall = statistics.median(r.wall for r in good)
        ratios = [
            ref[i].wall / rs[i].wall
            for i in range(min(len(ref), len(rs)))
            if not (rs[i].wrong or rs[i].unavailable or ref[i].wrong or ref[i].unavailable)
        ]
        q = [r.queries for r in good if r.queries]
        qs = [r.query_seconds / r.queries for r in good if r.queries and r.query_seconds]
        row |= {
            "status": "ok" + (f" (also {good[0].extra})" if good[0].extra else ""),
            "wall_seconds": wall,
            "inner_seconds": statistics.median(r.inner for r in good),
            "ratio": statistics.median(ratios) if ratios else None,
            "ratio_range": [min(ratios), max(ratios)] if ratios else None,
            "resources_per_second": exp.nodes / wall,
            "items_per_second": (exp.nodes + sum(exp.rels.values())) / wall,
            "queries": q[0] if q else None,
            "ms_per_query": statistics.median(qs) * 1000 if qs else None,
            "peak_rss_mb": max(r.rss_mb for r in good),
            "walls": [r.wall for r in good],
        }
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"| contender | wall s | inner s | × {REFERENCE} | resources/s | queries | ms/query "
    print(head + "| peak RSS MB | check |\n|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        if "wall_seconds" not in r:
            print(f"| {r['contender']} | | | | | | | | {r['status']} |")
            continue
        ratio = r["ratio"]
        rng = r["ratio_range"]
        shown = f"{ratio:.2f} ({rng[0]:.2f}–{rng[1]:.2f})" if ratio is not None else ""
        mpq = f"{r['ms_per_query']:.3f}" if r["ms_per_query"] else ""
        print(
            f"| {r['contender']} | {r['wall_seconds']:.2f} | {r['inner_seconds']:.2f} | {shown} "
            f"| {r['resources_per_second']:,.0f} | {r['queries'] or ''} | {mpq} "
            f"| {r['peak_rss_mb']:.0f} | {r['status']} |"
        )


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    ok = {r["contender"]: r for r in rows if "wall_seconds" in r}
    out = []
    fixed = [n for n in ok if n.startswith("unwind_")]
    if fixed:
        best = min(fixed, key=lambda n: ok[n]["wall_seconds"])
        out.append(f"best fixed UNWIND batch: {best} ({ok[best]['wall_seconds']:.2f} s)")
    if "chute" in ok and ok["chute"]["ratio"] is not None:
        out.append(f"chute × {REFERENCE}: {ok['chute']['ratio']:.2f} (target ≥ 0.9)")
        cf = [n for n in ok if n.startswith("chute_fixed_")]
        if cf:
            best = min(cf, key=lambda n: ok[n]["wall_seconds"])
            gap = ok["chute"]["wall_seconds"] / ok[best]["wall_seconds"] - 1
            out.append(f"chute adaptive vs best fixed ({best}): {gap:+.1%} (target ≤ +10%)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="comma-separated contenders (default: all)")
    parser.add_argument("--json", type=Path, help="write what was measured here")
    for hidden in ("--child", "--file", "--host", "--graph"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    from chute_bench.falkordb_server import falkordb_server

    names = args.only.split(",") if args.only else list(NAMES)
    if unknown := set(names) - set(NAMES):
        parser.error(f"unknown contenders {sorted(unknown)}; known: {', '.join(NAMES)}")
    if args.scale > 1 and not args.only:
        names.remove("per_query")
        print(f"per_query left out at scale {args.scale} (name it in --only to run it)")
    path, exp = ensure_inventory(args.scale)
    with path.open() as f:
        sample = [json.loads(line) for i, line in enumerate(f) if i % 9_973 == 0]
    runs: dict[str, list[Run]] = {n: [] for n in names}
    print(f"{path.name}: {exp.nodes:,} resources, {sum(exp.rels.values()):,} relationships")
    with falkordb_server() as server:
        version = FalkorDB(host=server.host, port=server.port).connection.execute_command(
            "MODULE", "LIST"
        )
        for rnd in range(args.rounds):
            order = names if rnd % 2 == 0 else list(reversed(names))
            for name in order:
                if rnd and runs[name][0].unavailable:
                    runs[name].append(runs[name][0])
                    continue
                run = run_one(name, path, server.host, server.port, exp, sample)
                runs[name].append(run)
                state = (run.wrong and "WRONG " + run.wrong) or run.unavailable or "ok"
                state += f" (also {run.extra})" if run.extra else ""
                measured = "" if run.unavailable else f"{run.wall:8.2f} s {run.rss_mb:6.0f} MB  "
                print(f"round {rnd + 1} {name:<17} {measured}{state}")
    rows = summary(runs, args.rounds, exp)
    print(
        f"\nFalkorDB, {exp.nodes:,} resources + {sum(exp.rels.values()):,} relationships "
        f"(scale {args.scale}), {args.rounds} rounds, medians\n"
    )
    print_table(rows)
    for line in verdicts(rows):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(
            ["git", "-C", str(HERE.parent), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        doc = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": commit,
            "python": platform.python_version(),
            "server_modules": repr(version),
            "scale": args.scale,
            "rounds": args.rounds,
            "expected": asdict(exp),
            "summary": rows,
            "runs": {n: [asdict(r) for r in rs] for n, rs in runs.items()},
        }
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    wrong = any(r.wrong for rs in runs.values() for r in rs)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
