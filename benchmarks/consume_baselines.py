"""Queue -> PostgreSQL without chute: what people write, measured on this machine; and chute
before and after a change of its own code (``--before REV``), over plain AMQP and over TLS.

Each round fills a durable queue with ``--messages`` persistent JSON messages of ~300 bytes
(chute's publisher, with confirms, over plain AMQP), then one contender consumes it into a
fresh ``events`` table (``id bigint PRIMARY KEY``, 11 columns) of a throwaway database
(``chute_bench_<random>``, dropped at the end), acking only what is committed.

Contenders (``--list``):

- ``naive``: pika, prefetch 1, one INSERT + COMMIT + ack per message.  Sampled: stops after
  ``--naive-sample`` messages (default 5,000); its time for all messages is extrapolated
  and labelled so.
- ``report03``: the settings of field report 03 (aio-pika, ``set_qos(prefetch_count=10,
  global_=True)``, batches of 500 flushed every 2 s, one multi-row INSERT per batch, then
  each message acked).  A batch can never fill: only the timer moves data, ~5 msg/s.  Runs
  for ``--report03-budget`` seconds (default 30), extrapolated.
- ``tuned_aio_pika``: what a careful hand gets from aio-pika: prefetch 2,000, batches of
  1,000 or 1 s, psycopg COPY, one multiple-ack after the commit.
- ``chute_consume`` / ``chute_consume_2``: ``chute consume`` itself (append mode, the message
  ledger on), as one process, and as two processes on the queue at once; each stops after
  2 s without a message, which is taken off its wall time.
- ``amqp_transport_copy``: chute's AMQP transport (``chute.amqp``: next_batch,
  decode_bodies, ack_through; pika underneath) hand-wired to psycopg COPY on one thread,
  without the engine: what the transport leaves for the engine to spend.
- ``chute_consume_tls`` / ``amqp_transport_copy_tls``: the same over ``amqps://``
  (``--tls-url``, verified against ``--tls-ca``).  The queue is the same one, on the same
  broker's TLS listener; it is filled and checked over plain AMQP.
- ``chute_consume_before`` / ``amqp_transport_copy_before``: ``chute_consume`` and
  ``amqp_transport_copy`` running chute as committed in git ``--before REV``; over plain
  AMQP only (up to 11db040 chute spoke AMQP with a wire client of its own, which refuses
  ``amqps://``).  Only with ``--before``.

"After" is chute as it is on disk (``src/``, installed editable: it changes if ``src/`` is
edited during a run; the summary says whether ``src/`` differed from HEAD).  "Before" is a
git worktree of REV in a temporary directory (``git worktree add --detach``, removed at the
end); its child processes run with ``PYTHONPATH=<worktree>/src``, and the runner checks that
each child imported chute from where it should (``--dry-run`` shows that without measuring).

A contender is a function ``(Context) -> Outcome`` in ``CONTENDERS``; it runs in a child
process (``--child NAME``), which reports wall and CPU time (its own and its children's).
The runner checks the table holds exactly the messages acked (the queue's depth after).

::

    python benchmarks/consume_baselines.py                         # all, 200,000 messages
    python benchmarks/consume_baselines.py --before 11db040        # all, and chute at 11db040
    python benchmarks/consume_baselines.py --messages 20000 --before 11db040 \
        --only chute_consume,chute_consume_before,chute_consume_tls
    python benchmarks/consume_baselines.py --before 11db040 --dry-run   # which chute runs where
    python benchmarks/consume_baselines.py --only naive --naive-sample 2000
    python benchmarks/consume_baselines.py --messages 50000 --only naive,amqp_transport_copy

The broker: ``--url`` (plain AMQP, default ``$CHUTE_BENCH_AMQP_URL`` or
``amqp://guest:guest@127.0.0.1:5672/%2F``) and ``--tls-url`` (the same broker and vhost over
TLS, default ``$CHUTE_BENCH_AMQPS_URL`` or ``amqps://guest:guest@127.0.0.1:5671/%2F``),
whose certificate is checked against ``--tls-ca`` (default
``/var/lib/rabbitmq/chute-tls/ca.pem``, the CA of this machine's RabbitMQ TLS listener).
``--before REV`` adds the ``*_before`` contenders; ``--dry-run`` sets everything up, shows
where each contender imports chute from, and measures nothing.

Needs pika and aio-pika (not dependencies of chute), psycopg, pamqp for ``--before`` revisions
with chute's own wire client (installed with aio-pika), and PostgreSQL where the user may
``CREATE DATABASE`` (``--admin-url``, default ``$CHUTE_BENCH_POSTGRES_URL`` or
``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if str(HERE.parent / "src") not in sys.path:
    sys.path.insert(1, str(HERE.parent / "src"))

from consume_clients import (  # noqa: E402
    DEFAULT_URL,
    broker_pid,
    cpu_seconds,
    declare_queue,
    delete_queue,
    fill_queue,
    queue_depth,
)

OUT_DIR = HERE / "out"
REPO = HERE.parent
DEFAULT_ADMIN_URL = os.environ.get(
    "CHUTE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
#: the same broker and vhost as ``--url``, on its TLS listener
DEFAULT_TLS_URL = os.environ.get("CHUTE_BENCH_AMQPS_URL", "amqps://guest:guest@127.0.0.1:5671/%2F")
#: the CA of this machine's RabbitMQ TLS listener (scripts/rabbitmq_tls.sh)
DEFAULT_TLS_CA = "/var/lib/rabbitmq/chute-tls/ca.pem"
TABLE_DDL = """
CREATE TABLE events (
  id bigint PRIMARY KEY, uuid text NOT NULL, customer text, status text, quantity integer,
  price numeric(12,2), ordered_at timestamptz, gift boolean, tags jsonb,
  weight double precision, notes text
)"""
COLUMNS = (
    "id",
    "uuid",
    "customer",
    "status",
    "quantity",
    "price",
    "ordered_at",
    "gift",
    "tags",
    "weight",
    "notes",
)
INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * 10)}, %s)"
COPY = f"COPY events ({', '.join(COLUMNS)}) FROM STDIN"


def row(rec: dict[str, Any]) -> tuple[Any, ...]:
    """A message's record as the table's row (tags as JSON text)."""
    return (
        rec["id"],
        rec["uuid"],
        rec["customer"],
        rec["status"],
        rec["quantity"],
        rec["price"],
        rec["ordered_at"],
        rec["gift"],
        orjson.dumps(rec["tags"]).decode(),
        rec["weight"],
        rec["notes"],
    )


@dataclass
class Context:
    amqp_url: str
    queue: str
    pg_url: str
    #: the same broker over TLS (amqps://), and the CA its certificate is checked against
    tls_url: str
    tls_ca: str
    #: messages in the queue
    messages: int
    #: stop after this many messages (sampled contenders)
    sample: int
    #: stop after this many seconds (time-budgeted contenders)
    budget: float


@dataclass
class Outcome:
    #: messages committed and acked
    stored: int
    #: True when the contender stopped early on purpose (sample or time budget)
    sampled: bool
    #: seconds at the end spent waiting for messages that never came (not counted)
    idle: float = 0.0


# -- contenders ---------------------------------------------------------------------------------


def naive(ctx: Context) -> Outcome:
    """pika, prefetch 1, one INSERT + COMMIT + ack per message (sampled)."""
    import pika

    target = min(ctx.messages, ctx.sample)
    stored = 0
    with psycopg.connect(ctx.pg_url) as db:
        conn = pika.BlockingConnection(pika.URLParameters(ctx.amqp_url))
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1)
        for method, _props, body in ch.consume(ctx.queue, inactivity_timeout=5):
            if method is None:
                break
            db.execute(INSERT, row(json.loads(body)))
            db.commit()
            ch.basic_ack(method.delivery_tag)
            stored += 1
            if stored >= target:
                break
        ch.cancel()
        conn.close()
    return Outcome(stored, stored < ctx.messages)


async def _report03(ctx: Context) -> Outcome:
    import aio_pika

    conn = await aio_pika.connect(ctx.amqp_url)
    ch = await conn.channel()
    await ch.set_qos(prefetch_count=10, global_=True)
    queue = await ch.get_queue(ctx.queue, ensure=False)
    db = await psycopg.AsyncConnection.connect(ctx.pg_url)
    batch: list[aio_pika.abc.AbstractIncomingMessage] = []
    stored = 0
    lock = asyncio.Lock()

    async def flush() -> None:
        nonlocal batch, stored
        async with lock:
            if not batch:
                return
            taken, batch = batch, []
            async with db.cursor() as cur:
                await cur.executemany(INSERT, [row(json.loads(m.body)) for m in taken])
            await db.commit()
            for m in taken:
                await m.ack()
            stored += len(taken)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        batch.append(message)
        if len(batch) >= 500:
            await flush()

    async def timer() -> None:
        while True:
            await asyncio.sleep(2.0)
            await flush()

    tag = await queue.consume(on_message)
    ticker = asyncio.create_task(timer())
    deadline = time.monotonic() + ctx.budget
    while time.monotonic() < deadline and stored < ctx.messages:
        await asyncio.sleep(0.1)
    await queue.cancel(tag)
    ticker.cancel()
    await flush()
    await db.close()
    await conn.close()
    return Outcome(stored, stored < ctx.messages)


def report03(ctx: Context) -> Outcome:
    """aio-pika, prefetch 10 (global), batches of 500 or 2 s, INSERTs, acks (time budget)."""
    return asyncio.run(_report03(ctx))


async def _tuned_aio_pika(ctx: Context) -> Outcome:
    import aio_pika

    conn = await aio_pika.connect(ctx.amqp_url)
    ch = await conn.channel()
    await ch.set_qos(prefetch_count=2_000)
    queue = await ch.get_queue(ctx.queue, ensure=False)
    db = await psycopg.AsyncConnection.connect(ctx.pg_url)
    stored = 0
    batch: list[aio_pika.abc.AbstractIncomingMessage] = []
    async with queue.iterator() as it:
        while stored < ctx.messages:
            try:
                message = await asyncio.wait_for(it.__anext__(), timeout=1.0 if batch else 10.0)
                batch.append(message)
            except TimeoutError:
                if not batch:
                    break
            if len(batch) >= 1_000 or (batch and stored + len(batch) >= ctx.messages):
                async with db.cursor() as cur, cur.copy(COPY) as copy:
                    for m in batch:
                        await copy.write_row(row(orjson.loads(m.body)))
                await db.commit()
                await batch[-1].ack(multiple=True)
                stored += len(batch)
                batch = []
    await db.close()
    await conn.close()
    return Outcome(stored, False)


def tuned_aio_pika(ctx: Context) -> Outcome:
    """aio-pika, prefetch 2,000, batches of 1,000, COPY, one multiple-ack after commit."""
    return asyncio.run(_tuned_aio_pika(ctx))


def _amqp_transport_copy(ctx: Context, url: str) -> Outcome:
    from chute.amqp import QueueConsumer, decode_bodies

    stop = threading.Event()
    stored = 0
    with (
        psycopg.connect(ctx.pg_url) as db,
        QueueConsumer(url, ctx.queue, prefetch=10_000) as consumer,
    ):
        while stored < ctx.messages:
            batch = consumer.next_batch(5_000, 4 << 20, 1.0, stop, idle_timeout=10)
            if not batch:
                break
            decoded = decode_bodies([d.body for d in batch])
            with db.cursor() as cur, cur.copy(COPY) as copy:
                for rec in decoded.records:
                    copy.write_row(row(rec))
            db.commit()
            consumer.ack_through(batch[-1].delivery_tag)
            stored += len(batch)
    return Outcome(stored, False)


def amqp_transport_copy(ctx: Context) -> Outcome:
    """chute.amqp transport + decode_bodies + psycopg COPY, hand-wired, one thread."""
    return _amqp_transport_copy(ctx, ctx.amqp_url)


def amqp_transport_copy_tls(ctx: Context) -> Outcome:
    """amqp_transport_copy over amqps:// (--tls-url, --tls-ca)."""
    from chute.amqp import with_tls_files

    return _amqp_transport_copy(ctx, with_tls_files(ctx.tls_url, tls_ca=ctx.tls_ca))


def amqp_transport_copy_before(ctx: Context) -> Outcome:
    """amqp_transport_copy with chute as committed in --before REV (plain AMQP)."""
    return _amqp_transport_copy(ctx, ctx.amqp_url)


#: chute consume stops after this many idle seconds; they are taken off its wall time
IDLE_EXIT = 2.0


def _chute_consume(ctx: Context, processes: int, *, tls: bool = False) -> Outcome:
    """``processes`` ``chute consume`` commands on the queue at once (append mode, the
    message ledger on), each stopping after ``IDLE_EXIT`` s without a message; over
    ``ctx.tls_url`` with ``--tls-ca ctx.tls_ca`` when ``tls``.

    They inherit this process's environment (``PYTHONPATH`` picks the chute they run) and
    start in an empty directory, so that no ``chute`` package in the current directory is
    imported instead."""
    with tempfile.TemporaryDirectory() as tmp:
        reports = [Path(tmp) / f"r{i}.json" for i in range(processes)]
        url = ctx.tls_url if tls else ctx.amqp_url
        cmd = [
            sys.executable, "-m", "chute", "consume", url, "--queue", ctx.queue,
            "--into", ctx.pg_url, "--table", "events", "--quiet", "--idle-exit", str(IDLE_EXIT),
        ]  # fmt: skip
        if tls:
            cmd += ["--tls-ca", ctx.tls_ca]
        procs = []
        for r in reports:
            with r.with_suffix(".err").open("wb") as err:
                procs.append(subprocess.Popen([*cmd, "--report", str(r)], cwd=tmp, stderr=err))
        codes = [proc.wait() for proc in procs]  # all of them, even when one failed
        for code, r in zip(codes, reports, strict=True):
            if code != 0:
                said = r.with_suffix(".err").read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"chute consume failed: {(said or ['?'])[-1]}")
        stored = sum(json.loads(r.read_text())["written"] for r in reports)
    return Outcome(stored, False, idle=IDLE_EXIT)


def chute_consume(ctx: Context) -> Outcome:
    """chute consume, one process (append, ledger on), its idle wait at the end not counted."""
    return _chute_consume(ctx, 1)


def chute_consume_2(ctx: Context) -> Outcome:
    """chute consume, two processes on the queue at once (competing consumers)."""
    return _chute_consume(ctx, 2)


def chute_consume_tls(ctx: Context) -> Outcome:
    """chute consume over amqps:// (--tls-url, --tls-ca), as chute_consume otherwise."""
    return _chute_consume(ctx, 1, tls=True)


def chute_consume_before(ctx: Context) -> Outcome:
    """chute consume with chute as committed in --before REV (plain AMQP)."""
    return _chute_consume(ctx, 1)


CONTENDERS: dict[str, Callable[[Context], Outcome]] = {
    "naive": naive,
    "report03": report03,
    "tuned_aio_pika": tuned_aio_pika,
    "amqp_transport_copy": amqp_transport_copy,
    "amqp_transport_copy_tls": amqp_transport_copy_tls,
    "amqp_transport_copy_before": amqp_transport_copy_before,
    "chute_consume": chute_consume,
    "chute_consume_2": chute_consume_2,
    "chute_consume_tls": chute_consume_tls,
    "chute_consume_before": chute_consume_before,
}
#: contenders whose child runs chute as committed in ``--before REV``
BEFORE = frozenset({"amqp_transport_copy_before", "chute_consume_before"})


# -- chute before and after ---------------------------------------------------------------------

#: what a child prints to say which chute it imports, itself and in ``python -m chute``
WHICH_CHUTE = "import chute, chute.amqp; print(chute.__file__)"


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def after_state() -> str:
    """Which chute the contenders other than ``*_before`` run: ``src/`` as it is on disk."""
    dirty = _git("status", "--porcelain", "--", "src")
    head = _git("rev-parse", "--short", "HEAD")
    return f"working tree of {head}" + (" + uncommitted changes in src/" if dirty else "")


@contextmanager
def before_tree(rev: str) -> Iterator[Path]:
    """A git worktree of ``rev`` (detached) in a temporary directory, its ``src/`` compiled
    so that the first contender does not pay for it; removed at the end."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="chute_before_"))
    tree = tmp / commit[:12]
    try:
        _git("worktree", "add", "--detach", str(tree), commit)
        compiled = subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "src")],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if compiled.returncode != 0:
            raise SystemExit(f"cannot compile {tree / 'src'}")
        yield tree
    finally:
        if tree.exists():
            removed = subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                capture_output=True,
                text=True,
                check=False,
            )
            if removed.returncode != 0:
                print(
                    f"warning: cannot remove the worktree {tree}: {removed.stderr.strip()} "
                    "(git worktree prune, once it is gone)",
                    file=sys.stderr,
                )
        shutil.rmtree(tmp, ignore_errors=True)


def child_env(src: Path | None) -> dict[str, str]:
    """The environment of a contender's child: with ``src`` first on ``PYTHONPATH``, its
    chute is imported instead of the installed (editable) one."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return env


def chute_imported(env: dict[str, str]) -> str:
    """Where ``python -m chute`` started with ``env`` in an empty directory (as
    ``chute consume`` is) finds chute."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-c", WHICH_CHUTE],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        return "FAILED: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    return done.stdout.strip()


def _is_under(path: str, src: Path) -> bool:
    return Path(path).resolve().is_relative_to(src.resolve())


# -- the runner ---------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _cpu() -> float:
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def child(name: str, ctx: Context) -> None:
    """Run one contender; print its outcome, wall and CPU seconds (its own and its
    children's, after start-up and imports) as JSON."""
    import aio_pika  # noqa: F401  (imports are not the contenders' work)
    import pika  # noqa: F401

    import chute.amqp  # binds chute: its __file__ says which chute this is

    cpu0, wall0 = _cpu(), time.perf_counter()
    outcome = CONTENDERS[name](ctx)
    wall, cpu = time.perf_counter() - wall0 - outcome.idle, _cpu() - cpu0
    print(json.dumps({**asdict(outcome), "wall": wall, "cpu": cpu, "chute": chute.__file__}))


def which_child() -> None:
    """Print (as JSON) where this child imports chute from, and where ``chute consume``
    started by it does: what ``--dry-run`` shows."""
    import chute.amqp

    found = {"child": chute.__file__, "chute_consume": chute_imported(dict(os.environ))}
    print(json.dumps(found))


def _src_of(name: str, before: Path | None) -> Path:
    """The ``src/`` a contender's chute must come from."""
    if name in BEFORE:
        assert before is not None
        return before / "src"
    return REPO / "src"


def dry_run(names: list[str], before: Path | None) -> None:
    """Show where each contender's child, and a ``chute consume`` it starts, import chute."""
    for name in names:
        src = _src_of(name, before)
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, "--dry-run"],
            env=child_env(src if name in BEFORE else None),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"{name:28} FAILED: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        found = json.loads(done.stdout.strip().splitlines()[-1])
        ok = all(_is_under(f, src) for f in found.values())
        print(f"{name:28} {'ok' if ok else 'WRONG'} (expected under {src})")
        print(f"{'':28}   child:         {found['child']}")
        print(f"{'':28}   chute consume: {found['chute_consume']}")


def run_one(
    name: str, args: argparse.Namespace, pg_url: str, before: Path | None
) -> dict[str, Any]:
    queue = f"chute_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS events")
        db.execute(TABLE_DDL)
        db.execute("CHECKPOINT")
    declare_queue(args.url, queue)
    try:
        fill_queue(args.url, queue, args.messages, args.size)
        sample = args.naive_sample if name == "naive" else args.messages
        budget = args.report03_budget if name == "report03" else 1e9
        cmd = [
            sys.executable, __file__, "--child", name, "--url", args.url, "--queue", queue,
            "--pg-url", pg_url, "--messages", str(args.messages), "--sample", str(sample),
            "--budget", str(budget), "--tls-url", args.tls_url, "--tls-ca", args.tls_ca,
        ]  # fmt: skip
        src = _src_of(name, before)
        env = child_env(src if name in BEFORE else None)
        pid = broker_pid()
        b0 = cpu_seconds(pid)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
        broker = cpu_seconds(pid) - b0
        if proc.returncode != 0:
            return {"name": name, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        if not _is_under(out["chute"], src):
            return {"name": name, "error": f"ran chute from {out['chute']}, not from {src}"}
        time.sleep(0.5)  # the broker requeues a closed consumer's unacked messages
        left = queue_depth(args.url, queue)
    finally:
        delete_queue(args.url, queue)
    with psycopg.connect(pg_url) as db:
        rows = db.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    assert rows is not None
    stored = out["stored"]
    rate = stored / out["wall"] if out["wall"] > 0 else 0.0
    return {
        "name": name,
        "messages": args.messages,
        "stored": stored,
        "sampled": out["sampled"],
        "wall_s": out["wall"],
        "msg_per_s": rate,
        "s_for_all": args.messages / rate if rate else float("inf"),
        "client_cpu_us_per_msg": out["cpu"] / max(stored, 1) * 1e6,
        "broker_cpu_us_per_msg": broker / max(stored, 1) * 1e6,
        "table_rows": rows[0],
        "distinct_ids": rows[1],
        "left_in_queue": left,
        "chute": out["chute"],
        # every acked message is in the table once, every other one is still queued
        "check": "ok"
        if rows[0] == rows[1] == stored == args.messages - left
        else f"MISMATCH rows={rows[0]} distinct={rows[1]} stored={stored} left={left}",
    }


def run_all(
    names: list[str], args: argparse.Namespace, before: Path | None
) -> list[dict[str, Any]]:
    """Each contender ``--repeat`` times, in a throwaway database."""
    dbname = f"chute_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    results: list[dict[str, Any]] = []
    try:
        pg_url = _with_database(args.admin_url, dbname)
        for _round in range(args.repeat):
            for name in names:
                r = run_one(name, args, pg_url, before)
                results.append(r)
                print(json.dumps(r), file=sys.stderr)
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| contender | msg/s | s for all | client CPU µs/msg | broker CPU µs/msg | check |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['name']} | FAILED: {r['error']} | | | | |")
            continue
        label = r["name"] + (f" (sample of {r['stored']:,}, extrapolated)" if r["sampled"] else "")
        lines.append(
            f"| {label} | {r['msg_per_s']:,.0f} | {r['s_for_all']:,.0f} | "
            f"{r['client_cpu_us_per_msg']:.0f} | {r['broker_cpu_us_per_msg']:.0f} | {r['check']} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", default=DEFAULT_URL, help="the broker (amqp://...)")
    p.add_argument(
        "--tls-url", default=DEFAULT_TLS_URL, help="the same broker over TLS (amqps://...)"
    )
    p.add_argument(
        "--tls-ca", default=DEFAULT_TLS_CA, help="the CA the TLS listener's certificate is from"
    )
    p.add_argument(
        "--before",
        metavar="REV",
        help="also run chute as committed in git REV (the *_before contenders), from a worktree",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show where each contender imports chute from; measure nothing",
    )
    p.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--size", type=int, default=300)
    p.add_argument("--naive-sample", type=int, default=5_000)
    p.add_argument("--report03-budget", type=float, default=30.0)
    p.add_argument("--only", default="")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--list", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--queue", help=argparse.SUPPRESS)
    p.add_argument("--pg-url", help=argparse.SUPPRESS)
    p.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    p.add_argument("--budget", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.list:
        for name, fn in CONTENDERS.items():
            print(f"{name:28} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return
    if args.child and args.dry_run:
        which_child()
        return
    if args.child:
        ctx = Context(
            args.url,
            args.queue,
            args.pg_url,
            args.tls_url,
            args.tls_ca,
            args.messages,
            args.sample,
            args.budget,
        )
        child(args.child, ctx)
        return
    names = [n for n in args.only.split(",") if n] or [
        n for n in CONTENDERS if args.before or n not in BEFORE
    ]
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown:
        raise SystemExit(f"unknown contenders: {', '.join(unknown)} (see --list)")
    if not args.before and BEFORE.intersection(names):
        raise SystemExit(
            f"--before REV is needed for {', '.join(n for n in names if n in BEFORE)} "
            "(e.g. --before 11db040)"
        )

    with before_tree(args.before) if BEFORE.intersection(names) else nullcontext() as before:
        chute_from = {"after": f"{after_state()}, {REPO / 'src'}"}
        if before is not None:
            found = chute_imported(child_env(before / "src"))
            if not _is_under(found, before / "src"):
                raise SystemExit(
                    f"the worktree of {args.before} is not what Python imports: {found}"
                )
            chute_from["before"] = f"{args.before} = {before.name}, {before / 'src'}"
            print(f"before: chute {args.before} imported from {found}", file=sys.stderr)
        if args.dry_run:
            for what, where in chute_from.items():
                print(f"{what}: {where}")
            dry_run(names, before)
            return
        results = run_all(names, args, before)

    medians = []
    for name in names:
        ok = [r for r in results if r["name"] == name and "error" not in r]
        if not ok:
            medians.append(next(r for r in results if r["name"] == name))
            continue
        m = dict(ok[0])
        for key in ("msg_per_s", "s_for_all", "client_cpu_us_per_msg", "broker_cpu_us_per_msg"):
            m[key] = statistics.median(r[key] for r in ok)
        medians.append(m)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"consume_baselines_{args.messages}_{stamp}.json"
    out.write_text(
        json.dumps({"args": vars(args), "chute": chute_from, "results": results}, indent=1)
    )
    print(f"{args.messages:,} messages of ~{args.size} bytes into PostgreSQL, acks after commit")
    for what, where in chute_from.items():
        print(f"chute {what}: {where}")
    print(table(medians))
    print(f"\n(all figures in {out.relative_to(HERE.parent)})")
    if any("error" in r or r["check"] != "ok" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
