"""Report 03's consumer: artist messages (each with its members and releases) from RabbitMQ
into FalkorDB as a graph, ``chute consume`` against the consumer people write by hand.

::

    python benchmarks/graph_consume.py                          # 100,000 messages, 1 round
    python benchmarks/graph_consume.py --rounds 3 --kill        # and the kill -9 check
    python benchmarks/graph_consume.py --messages 10000 --only chute,pika_unwind_500

The messages are seeded (``generate``): artist ``id`` 1..N, a name and a country, 0-4
``members`` (other artists, ids drawn from 1..1.01 N: some come later in the queue, some
never do, so chute makes placeholders) and 1-5 ``releases`` (id, title, year); and one in
``--bad-every`` (1,000) is bad (no ``id``, or ``releases`` not an array, with an id outside
the good ones) and must be dead-lettered.  Before each contender the queue is filled anew
(``chute.amqp.publish_records``, confirms) and the graph is a fresh one; after it the graph
must hold exactly the expected nodes and relationships (counts per label and type, names on
a sample, nothing of a bad message), the queue must be empty and its dead-letter queue hold
exactly the bad messages, once each.  Otherwise the run is WRONG.  Contenders, each in a
process of its own under GNU ``time`` (peak RSS):

- ``chute``: ``chute consume --graph mapping.json --idle-exit 2 --log-json --report r.json``,
  default batches (5,000 messages or 1 s, adaptive); ``chute_rows_N`` with ``--batch-rows N``.
  Its time runs from the spawn to its last ``batch`` log line (written after that batch's
  commit and ack), so the idle wait before it exits is not counted (``idle_wall``, the wall
  less ``--idle-exit``, is kept too: it flatters, the wait overlaps the last writes).  The
  table also gives chute's own report: seconds, rows_per_second, peak_rss_bytes, statements
  and write_seconds (ms/query = write_seconds / statements);
- ``pika_unwind_N``: report 03's "after", done with care: pika ``BlockingConnection``,
  ``basic_qos(prefetch_count=2N)``, indexes on ``Artist(id)`` and ``Release(id)`` first; a
  bad message is published to ``QUEUE.dead-letter`` as it comes (confirmed), the good ones
  go, every N messages or after 1 s without one, to FalkorDB in ONE query (``UNWIND
  $rows MERGE`` the artist, ``FOREACH`` release ``MERGE`` node and RELEASED, ``FOREACH``
  member ``MERGE`` node and MEMBER_OF), then one ``basic_ack(multiple=True)``.  It stops once
  it has handled every message (no idle wait to subtract).

``--kill``: ``chute consume`` with ``CHUTE_FAULT=after-commit:5:kill`` (SIGKILL after the
5th commit, before its ack), then again without; the graph, the queue and the dead letters
must then be what a clean run leaves.  Needs pika and falkordb (``.[benchmarks]``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
import consume_clients as cc  # noqa: E402
from graph_artists import (  # noqa: E402
    BAD_ID_FROM,
    INDEXES,
    MAPPING,
    UNWIND,
    Expected,
    generate,
    is_good,
)

T = TypeVar("T")


def broker(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args)``, tried again for up to a minute while the broker is away (the tests of
    other work on this machine restart it)."""
    import pika.exceptions

    from chute.amqp import BrokerUnavailableError

    for attempt in range(30):
        try:
            return fn(*args, **kwargs)
        except (pika.exceptions.AMQPError, BrokerUnavailableError, ConnectionError):
            if attempt == 29:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def queue_depth(url: str, queue: str) -> int:
    return broker(cc.queue_depth, url, queue)


DEFAULT_URL = cc.DEFAULT_URL

#: chute's exit codes for a finished run: done, done with dead letters (rejects)
DONE = (0, 6)
NAMES = ["chute", "chute_rows_1000", "pika_unwind_500"]


# -- the contenders, in child processes -----------------------------------------------------


def pika_unwind(args: argparse.Namespace, batch: int) -> dict[str, Any]:
    """report 03's "after": pika, prefetch 2 batches, one UNWIND query a batch, one ack."""
    import orjson
    import pika
    from falkordb import FalkorDB

    url, queue, messages = args.url, args.queue, args.messages
    g = FalkorDB(host=args.host, port=args.port).select_graph(args.graph)
    for index in INDEXES:
        g.query(index)
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare(queue + ".dead-letter", durable=True)
    ch.basic_qos(prefetch_count=2 * batch)
    rows: list[dict[str, Any]] = []
    last_tag, handled, queries, query_seconds = 0, 0, 0, 0.0
    for method, props, body in ch.consume(queue, inactivity_timeout=1.0):
        if method is not None:
            last_tag, handled = method.delivery_tag, handled + 1
            rec = orjson.loads(body)
            if is_good(rec) and isinstance(rec.get("members"), list):
                rows.append(rec)
            else:  # before the ack that covers it: the broker has it when the ack goes
                ch.basic_publish("", queue + ".dead-letter", body, props)
        if last_tag and (len(rows) >= batch or method is None or handled == messages):
            if rows:
                t0 = time.perf_counter()
                g.query(UNWIND, {"rows": rows})
                query_seconds += time.perf_counter() - t0
                queries += 1
            ch.basic_ack(last_tag, multiple=True)
            rows, last_tag = [], 0
        if handled == messages:
            break
    ch.cancel()
    conn.close()
    return {"handled": handled, "queries": queries, "query_seconds": query_seconds}


# -- the runner -----------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    #: chute: spawn to its last batch's log line (committed and acked); pika: spawn to exit
    wall: float = 0.0
    #: chute: spawn to exit less the --idle-exit wait (flatters: the wait overlaps the writes)
    idle_wall: float = 0.0
    msg_per_s: float = 0.0
    rss_mb: float = 0.0
    queries: int | None = None
    ms_per_query: float | None = None
    wrong: str | None = None
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bench:
    args: argparse.Namespace
    server: Any  # chute_bench.falkordb_server.FalkorServer
    msgs: list[dict[str, Any]]
    exp: Expected
    mapping: Path

    def fresh(self, name: str) -> tuple[str, str]:
        """A new queue, filled with the messages, and a new graph's name."""
        from chute.amqp import publish_records

        suffix = f"{random.randrange(16**8):08x}"
        queue = f"chute_bench_{name}_{suffix}"

        def fill() -> int:  # whole again after a lost connection
            cc.delete_queue(self.args.url, queue)
            cc.declare_queue(self.args.url, queue)
            publish_records(self.msgs, self.args.url, queue, source="bench")
            return cc.queue_depth(self.args.url, queue)

        if (depth := broker(fill)) != len(self.msgs):
            raise SystemExit(f"filled {queue} with {depth} messages, not {len(self.msgs)}")
        return queue, f"consume_{name}_{suffix}"

    def drop(self, queue: str, graph: str) -> None:
        broker(cc.delete_queue, self.args.url, queue)
        if graph in self.db().list_graphs():
            self.db().select_graph(graph).delete()

    def db(self) -> Any:
        from falkordb import FalkorDB

        return FalkorDB(host=self.server.host, port=self.server.port)

    def chute(self, queue: str, graph: str, report: Path, rows: int | None) -> list[str]:
        cmd = [sys.executable, "-m", "chute", "consume", self.args.url, "--queue", queue]
        cmd += ["--into", self.server.url(graph), "--graph", str(self.mapping), "--log-json"]
        cmd += ["--idle-exit", str(self.args.idle_exit), "--report", str(report)]
        return cmd + (["--batch-rows", str(rows)] if rows else [])

    def check(self, queue: str, graph: str) -> tuple[str | None, int]:
        """What is wrong with the graph, the queue and the dead letters (None: nothing), and
        how many dead letters repeat another (the same message id)."""
        import orjson

        g = self.db().select_graph(graph)

        def one(cypher: str, params: dict[str, Any] | None = None) -> Any:
            return g.ro_query(cypher, params).result_set[0][0]

        got = Expected(
            one("MATCH (a:Artist) RETURN count(a)"),
            one("MATCH (r:Release) RETURN count(r)"),
            one("MATCH ()-[x:RELEASED]->() RETURN count(x)"),
            one("MATCH ()-[x:MEMBER_OF]->() RETURN count(x)"),
            0,
        )
        problems = []
        if stray := one("MATCH (n) WHERE n.id >= $b RETURN count(n)", {"b": BAD_ID_FROM}):
            problems.append(f"{stray} nodes of bad messages")
        named = "MATCH (a:Artist {id: $id}) RETURN [a.name, a.country]"
        sample = [m for m in self.msgs[:: max(1, len(self.msgs) // 50)] if is_good(m)]
        if off := [
            m["id"] for m in sample if one(named, {"id": m["id"]}) != [m["name"], m["country"]]
        ]:
            problems.append(f"{len(off)} of {len(sample)} sampled artists unnamed, e.g. {off[0]}")
        letters = broker(dead_letters, self.args.url, queue)
        ids = Counter(i for i, _ in letters)
        repeats = sum(ids.values()) - len(ids)
        got.bad = len(letters) - repeats
        if got != self.exp:
            problems.append(f"counts {asdict(got)}, expected {asdict(self.exp)}")
        bad = {orjson.dumps(m) for m in self.msgs if not is_good(m)}
        if {orjson.dumps(orjson.loads(b)) for _, b in letters} != bad:
            problems.append("the dead letters are not the bad messages")
        if left := queue_depth(self.args.url, queue):
            problems.append(f"{left:,} messages left in the queue")
        return "; ".join(problems) or None, repeats


def timed(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``cmd`` under GNU time: the process, its wall seconds and its peak RSS in MB."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        t0 = time.perf_counter()
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        kb = [line for line in Path(rss.name).read_text().splitlines() if line.strip().isdigit()]
    return proc, wall, int(kb[-1]) * 1024 / 1e6 if kb else 0.0


def dead_letters(url: str, queue: str) -> list[tuple[str | None, bytes]]:
    """Every message in the dead-letter queue (message id, body), taken off it."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch, out = conn.channel(), []
    while (got := ch.basic_get(queue + ".dead-letter", auto_ack=True))[0] is not None:
        out.append((got[1].message_id, got[2]))
    conn.close()
    return out


def run_one(b: Bench, name: str) -> Run:
    run = Run(name)
    queue, graph = b.fresh(name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if name.startswith("chute"):
                rows = int(name.rsplit("_", 1)[1]) if name.startswith("chute_rows_") else None
                report = Path(tmp) / "report.json"
                t0 = time.time()
                proc, wall, run.rss_mb = timed(b.chute(queue, graph, report, rows))
                run.idle_wall = wall - b.args.idle_exit
                events = [json.loads(e) for e in proc.stderr.splitlines() if e.startswith("{")]
                batches = [e["time"] for e in events if e.get("event") == "batch"]
                run.wall = batches[-1] - t0 if batches else wall
                if proc.returncode in DONE:
                    run.report = json.loads(report.read_text())
                    run.queries = run.report["statements"]
                    run.ms_per_query = run.report["write_seconds"] / max(1, run.queries) * 1000
            else:
                cmd = [sys.executable, str(HERE), "--child", name, "--url", b.args.url]
                cmd += ["--queue", queue, "--host", b.server.host, "--port", str(b.server.port)]
                proc, run.wall, run.rss_mb = timed(
                    [*cmd, "--graph", graph, "--messages", str(len(b.msgs))]
                )
                if proc.returncode == 0:
                    out = json.loads(proc.stdout.strip().splitlines()[-1])
                    run.queries = out["queries"]
                    run.ms_per_query = out["query_seconds"] / max(1, out["queries"]) * 1000
        if proc.returncode not in DONE:
            run.wrong = f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}"
            return run
        run.msg_per_s = len(b.msgs) / run.wall
        time.sleep(0.5)  # a closed consumer's unacked messages go back to the queue
        run.wrong, repeats = b.check(queue, graph)
        if repeats:
            run.wrong = f"{run.wrong or ''}; {repeats} dead letters repeated".strip("; ")
        return run
    finally:
        b.drop(queue, graph)


def kill_check(b: Bench) -> str:
    """``chute consume`` killed (-9) after its 5th commit, then run again: what is wrong."""
    queue, graph = b.fresh("kill")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = b.chute(queue, graph, Path(tmp) / "r.json", 1000)
            env = {**os.environ, "CHUTE_FAULT": "after-commit:5:kill"}
            crashed = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if crashed.returncode != -signal.SIGKILL:
                return f"FAIL: the faulted run ended with {crashed.returncode}"
            g = b.db().select_graph(graph)
            releases = g.ro_query("MATCH (r:Release) RETURN count(r)").result_set[0][0]
            left = queue_depth(b.args.url, queue)
            print(f"killed: {releases:,} of {b.exp.releases:,} releases stored, {left:,} queued")
            rerun = subprocess.run(cmd, capture_output=True, text=True)
            if rerun.returncode not in DONE:
                return f"FAIL: the rerun ended with {rerun.returncode}: {rerun.stderr[-300:]}"
        time.sleep(0.5)
        wrong, repeats = b.check(queue, graph)
        note = f" ({repeats} dead letters published twice, same message_id)" if repeats else ""
        return (f"FAIL: {wrong}" if wrong else "pass") + note
    finally:
        b.drop(queue, graph)


def print_table(runs: dict[str, list[Run]], n: int) -> list[dict[str, Any]]:
    head = "| contender | msg/s | s | peak RSS MB | queries | ms/query | chute's report: s, "
    print(
        head + "rows/s, peak MiB, statements, write s | check |\n|---|--:|--:|--:|--:|--:|---|---|"
    )
    rows = []
    for name, rs in runs.items():
        good = [r for r in rs if not r.wrong]
        if not good:
            print(f"| {name} | | | | | | | WRONG: {rs[0].wrong if rs else 'not run'} |")
            continue
        med = statistics.median(r.wall for r in good)
        mid = min(good, key=lambda r: abs(r.wall - med))
        rep, shown = mid.report, ""
        if rep:
            shown = f"{rep['seconds']:.2f}, {rep['rows_per_second']:,.0f}, "
            shown += f"{rep['peak_rss_bytes'] / 2**20:,.0f}, {rep['statements']:,}, "
            shown += f"{rep['write_seconds']:.2f}"
        state = "ok" if len(good) == len(rs) else f"WRONG in {len(rs) - len(good)} of {len(rs)}"
        rss = max(r.rss_mb for r in good)
        print(f"| {name} | {n / med:,.0f} | {med:.2f} | {rss:.0f} | {mid.queries or ''} | ", end="")
        print(f"{mid.ms_per_query or 0:.2f} | {shown} | {state} |")
        rows.append({"contender": name, "msg_per_s": n / med, "wall": med, "rss_mb": rss})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="the broker (amqp://...)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--bad-every", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", help=f"comma-separated contenders (default {','.join(NAMES)})")
    parser.add_argument("--kill", action="store_true", help="and the kill -9 check")
    parser.add_argument("--idle-exit", type=float, default=2.0, help="chute consume's")
    parser.add_argument("--json", type=Path, help="write what was measured here")
    for hidden in ("--child", "--queue", "--host", "--graph"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # a hand-written contender, in this process
        print(json.dumps(pika_unwind(args, int(args.child.rsplit("_", 1)[1]))))
        return 0
    from chute_bench.falkordb_server import falkordb_server

    names = args.only.split(",") if args.only else list(NAMES)
    if bad := [n for n in names if not n.startswith(("chute", "pika_unwind_"))]:
        parser.error(f"unknown contenders {bad}: chute, chute_rows_N, pika_unwind_N")
    msgs = generate(args.messages, args.bad_every)
    exp = Expected.of(msgs)
    print(f"{len(msgs):,} messages ({exp.bad} bad); expected {asdict(exp)}")
    runs: dict[str, list[Run]] = {n: [] for n in names}
    kill = None
    with tempfile.TemporaryDirectory() as tmp, falkordb_server() as server:
        mapping = Path(tmp) / "mapping.json"
        mapping.write_text(json.dumps(MAPPING))
        bench = Bench(args, server, msgs, exp, mapping)
        for rnd in range(args.rounds):
            for name in names if rnd % 2 == 0 else reversed(names):
                try:
                    run = run_one(bench, name)
                except Exception as exc:  # the broker went away for good, ...: say so, go on
                    run = Run(name, wrong=f"the harness failed: {exc!r}")
                runs[name].append(run)
                state = f"WRONG {run.wrong}" if run.wrong else "ok"
                rate = f"{run.msg_per_s:8,.0f} msg/s {run.wall:7.2f} s {run.rss_mb:5.0f} MB"
                print(f"round {rnd + 1} {name:<16} {rate}  {state}", flush=True)
        if args.kill:
            kill = kill_check(bench)
            print(f"kill -9 after the 5th commit, then a rerun: {kill}")
    print(f"\n{len(msgs):,} messages into FalkorDB, {args.rounds} round(s), medians\n")
    rows = print_table(runs, len(msgs))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "args": vars(args),
        }
        doc |= {"expected": asdict(exp), "summary": rows, "kill": kill}
        doc["runs"] = {n: [asdict(r) for r in rs] for n, rs in runs.items()}
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    failed = any(r.wrong for rs in runs.values() for r in rs) or (kill not in (None, "pass"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
