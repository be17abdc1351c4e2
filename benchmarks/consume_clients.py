"""What it costs a Python process to receive (and publish) AMQP messages, per client.

No database: each contender consumes ``--messages`` persistent JSON messages of ~``--size``
bytes from a durable queue with a prefetch of ``--prefetch`` and one multiple-ack every
``--ack-every`` messages, then stops.  It reports messages per second and the consumer's CPU
time per message (``time.process_time`` of the consumer process: every thread, user + system),
and the broker's CPU per message (``beam.smp`` utime + stime from ``/proc``, when the broker
runs on this machine).  Publishers publish the same messages with publisher confirms,
``--window`` of them in flight.  ``--prefetch`` and ``--ack-every`` take comma-separated
lists (every pair with ``ack-every < prefetch`` is run); ``--qos-global`` sets the prefetch
for the channel.

Contenders (``--list``): consumers ``pika_blocking_generator``, ``pika_blocking_callback``,
``pika_select``, ``aio_pika_iterator``, ``aio_pika_callback``, ``aio_pika_iterator_uvloop``,
``aiormq``, ``aiormq_uvloop``, ``py_amqp``, ``librabbitmq``, and chute's own transport,
``chute_transport`` (``chute.amqp.QueueConsumer``, pika underneath: a SelectConnection in a
thread of its own; next_batch + ack_through) and ``chute_transport_decode`` (the same, with
``chute.amqp.decode_bodies`` on every batch); publishers ``publish_pika_blocking``,
``publish_aiormq``, ``publish_aio_pika``, ``publish_chute`` (``chute.amqp.publish_records``
of bytes) and ``publish_chute_records`` (of dicts).  Until commit 11db040 chute spoke AMQP
with a wire client of its own, and ``chute_transport`` / ``publish_chute`` were called
``chute_wire`` / ``publish_chute_wire``; to compare with that code, see
``consume_baselines.py --before``.

::

    python benchmarks/consume_clients.py                      # every contender, 200,000 msgs
    python benchmarks/consume_clients.py --only chute_transport,aiormq --repeat 3
    python benchmarks/consume_clients.py --messages 20000 --only chute_transport,pika_select
    python benchmarks/consume_clients.py --list
    python benchmarks/consume_clients.py --decode 1000      # decoding bodies only, no broker

Each consumer runs in a fresh interpreter (``python consume_clients.py --child NAME ...``);
the queue is filled before it starts (by chute's publisher, or by aiormq's when chute's cannot
be imported) and deleted after.  The machine is shared and noisy: compare figures of one run.
Needs pika, aio-pika (with aiormq and pamqp), and for their contenders uvloop, py-amqp
(``amqp``) and librabbitmq; a consumer whose client is missing fails alone (a row
``FAILED``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT_DIR = HERE / "out"
DEFAULT_URL = os.environ.get("CHUTE_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


# ---------------------------------------------------------------------------------------------
# messages


def message_body(i: int, size: int = 300) -> bytes:
    """A deterministic JSON object of about ``size`` bytes (an "order" like the CSV suite's)."""
    rec = {
        "id": i,
        "uuid": f"{(i * 2654435761) % (1 << 32):08x}-5d3b-4c1e-9a7f-{i:012d}",
        "customer": f'Customer {i % 9973}, "Ltd" — ünïcode',
        "status": ("new", "paid", "shipped", "returned", "lost", "held")[i % 6],
        "quantity": i % 17,
        "price": f"{(i % 100000) / 100:.2f}",
        "ordered_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        "gift": i % 3 == 0,
        "tags": ["a", "b"][: i % 3],
        "weight": (i % 1000) / 7,
        "notes": "",
    }
    body = orjson.dumps(rec)
    pad = size - len(body)
    if pad > 0:
        rec["notes"] = ("lorem ipsum dolor sit amet " * (1 + pad // 27))[:pad]
        body = orjson.dumps(rec)
    return body


def message_bodies(n: int, size: int = 300) -> Iterator[bytes]:
    for i in range(1, n + 1):
        yield message_body(i, size)


# ---------------------------------------------------------------------------------------------
# queue set-up with the raw HTTP-free tools we have: pika (simplest blocking API)


def _pika_params(url: str) -> Any:
    import pika

    return pika.URLParameters(url)


def declare_queue(url: str, queue: str) -> None:
    import pika

    conn = pika.BlockingConnection(_pika_params(url))
    try:
        ch = conn.channel()
        ch.queue_declare(queue, durable=True)
    finally:
        conn.close()


def delete_queue(url: str, queue: str) -> None:
    """Delete the queue and the dead-letter queue a chute consumer declared for it."""
    import pika

    conn = pika.BlockingConnection(_pika_params(url))
    try:
        ch = conn.channel()
        ch.queue_delete(queue)
        ch.queue_delete(queue + ".dead-letter")
    finally:
        conn.close()


def queue_depth(url: str, queue: str) -> int:
    import pika

    conn = pika.BlockingConnection(_pika_params(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        conn.close()


def fill_queue(url: str, queue: str, n: int, size: int) -> None:
    try:
        from chute.amqp import publish_records
    except ImportError:
        asyncio.run(_publish_aiormq(url, queue, n, size, window=2000))
    else:
        publish_records(message_bodies(n, size), url, queue, source="bench")
    depth = queue_depth(url, queue)
    if depth != n:
        raise SystemExit(f"filled {queue} with {depth} messages, expected {n}")


# ---------------------------------------------------------------------------------------------
# publishers (each publishes n messages with confirms; returns nothing)


def publish_pika_blocking(url: str, queue: str, n: int, size: int, window: int) -> None:
    """pika BlockingConnection with confirm_delivery: each basic_publish waits for its confirm."""
    import pika

    conn = pika.BlockingConnection(_pika_params(url))
    ch = conn.channel()
    ch.confirm_delivery()
    for i, body in enumerate(message_bodies(n, size), 1):
        props = pika.BasicProperties(delivery_mode=2, message_id=f"bench:{i}")
        ch.basic_publish("", queue, body, props)
    conn.close()


async def _publish_aiormq(url: str, queue: str, n: int, size: int, window: int) -> None:
    import aiormq
    from pamqp.commands import Basic

    conn = await aiormq.connect(url)
    ch = await conn.channel(publisher_confirms=True)
    pending: list[Any] = []
    for i, body in enumerate(message_bodies(n, size), 1):
        props = Basic.Properties(delivery_mode=2, message_id=f"bench:{i}")
        pending.append(ch.basic_publish(body, routing_key=queue, properties=props))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    await conn.close()


def publish_aiormq(url: str, queue: str, n: int, size: int, window: int) -> None:
    """aiormq with confirms, ``window`` publishes in flight, then gathered."""
    asyncio.run(_publish_aiormq(url, queue, n, size, window))


async def _publish_aio_pika(url: str, queue: str, n: int, size: int, window: int) -> None:
    import aio_pika

    conn = await aio_pika.connect(url)
    ch = await conn.channel(publisher_confirms=True)
    ex = ch.default_exchange
    pending: list[Any] = []
    for i, body in enumerate(message_bodies(n, size), 1):
        msg = aio_pika.Message(body, delivery_mode=2, message_id=f"bench:{i}")
        pending.append(ex.publish(msg, routing_key=queue))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    await conn.close()


def publish_aio_pika(url: str, queue: str, n: int, size: int, window: int) -> None:
    """aio-pika with confirms, ``window`` publishes in flight, then gathered."""
    asyncio.run(_publish_aio_pika(url, queue, n, size, window))


def publish_chute(url: str, queue: str, n: int, size: int, window: int) -> None:
    """chute.amqp.publish_records of bytes (pika underneath), ``window`` confirms in flight."""
    from chute.amqp import publish_records

    publish_records(message_bodies(n, size), url, queue, source="bench", window=window)


def publish_chute_records(url: str, queue: str, n: int, size: int, window: int) -> None:
    """chute.amqp.publish_records of dicts: each encoded by orjson, then as publish_chute."""
    from chute.amqp import publish_records

    records = (orjson.loads(message_body(i, size)) for i in range(1, n + 1))
    publish_records(records, url, queue, source="bench", window=window)


# ---------------------------------------------------------------------------------------------
# consumers: each receives n messages, acks with multiple=True every ack_every and at the end


@dataclass
class Spec:
    url: str
    queue: str
    n: int
    prefetch: int
    ack_every: int
    qos_global: bool


def consume_pika_blocking_generator(s: Spec) -> int:
    """pika BlockingConnection, ``channel.consume(inactivity_timeout=1)`` generator."""
    import pika

    conn = pika.BlockingConnection(_pika_params(s.url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=s.prefetch, global_qos=s.qos_global)
    count = 0
    for method, _props, _body in ch.consume(s.queue, inactivity_timeout=1):
        if method is None:
            continue
        count += 1
        if count % s.ack_every == 0 or count == s.n:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if count == s.n:
            break
    ch.cancel()
    conn.close()
    return count


def consume_pika_blocking_callback(s: Spec) -> int:
    """pika BlockingConnection, ``basic_consume`` callback driven by ``process_data_events``."""
    import pika

    conn = pika.BlockingConnection(_pika_params(s.url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=s.prefetch, global_qos=s.qos_global)
    count = 0

    def on_message(ch: Any, method: Any, _props: Any, _body: bytes) -> None:
        nonlocal count
        count += 1
        if count % s.ack_every == 0 or count == s.n:
            ch.basic_ack(method.delivery_tag, multiple=True)

    ch.basic_consume(s.queue, on_message)
    while count < s.n:
        conn.process_data_events(time_limit=1)
    conn.close()
    return count


def consume_pika_select(s: Spec) -> int:
    """pika SelectConnection (its own ioloop), callbacks."""
    import pika

    count = 0

    def on_open(conn: Any) -> None:
        conn.channel(on_open_callback=on_channel)

    def on_channel(ch: Any) -> None:
        ch.basic_qos(
            prefetch_count=s.prefetch,
            global_qos=s.qos_global,
            callback=lambda _f: ch.basic_consume(s.queue, on_message),
        )

    def on_message(ch: Any, method: Any, _props: Any, _body: bytes) -> None:
        nonlocal count
        count += 1
        if count % s.ack_every == 0 or count == s.n:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if count == s.n:
            ch.connection.close()

    conn = pika.SelectConnection(
        _pika_params(s.url),
        on_open_callback=on_open,
        on_close_callback=lambda c, _e: c.ioloop.stop(),
    )
    conn.ioloop.start()
    return count


async def _aio_pika_iterator(s: Spec) -> int:
    """aio-pika, ``async for`` over ``queue.iterator()``."""
    import aio_pika

    conn = await aio_pika.connect(s.url)
    ch = await conn.channel()
    await ch.set_qos(prefetch_count=s.prefetch, global_=s.qos_global)
    queue = await ch.get_queue(s.queue, ensure=False)
    count = 0
    async with queue.iterator() as it:
        async for msg in it:
            count += 1
            if count % s.ack_every == 0 or count == s.n:
                await msg.ack(multiple=True)
            if count == s.n:
                break
    await conn.close()
    return count


async def _aio_pika_callback(s: Spec) -> int:
    """aio-pika, ``queue.consume`` with an async callback."""
    import aio_pika

    conn = await aio_pika.connect(s.url)
    ch = await conn.channel()
    await ch.set_qos(prefetch_count=s.prefetch, global_=s.qos_global)
    queue = await ch.get_queue(s.queue, ensure=False)
    done = asyncio.Event()
    count = 0

    async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal count
        count += 1
        if count % s.ack_every == 0 or count == s.n:
            await msg.ack(multiple=True)
        if count == s.n:
            done.set()

    await queue.consume(on_message)
    await done.wait()
    await conn.close()
    return count


async def _aiormq(s: Spec) -> int:
    """aiormq, ``basic_consume`` with an async callback."""
    import aiormq

    conn = await aiormq.connect(s.url)
    ch = await conn.channel()
    await ch.basic_qos(prefetch_count=s.prefetch, global_=s.qos_global)
    done = asyncio.Event()
    count = 0

    async def on_message(msg: Any) -> None:
        nonlocal count
        count += 1
        if count % s.ack_every == 0 or count == s.n:
            await ch.basic_ack(msg.delivery.delivery_tag, multiple=True)
        if count == s.n:
            done.set()

    await ch.basic_consume(s.queue, on_message, no_ack=False)
    await done.wait()
    await conn.close()
    return count


def _run_async(coro_fn: Callable[[Spec], Any], use_uvloop: bool) -> Callable[[Spec], int]:
    def run(s: Spec) -> int:
        if use_uvloop:
            import uvloop

            return int(uvloop.run(coro_fn(s)))
        return int(asyncio.run(coro_fn(s)))

    run.__doc__ = (coro_fn.__doc__ or "").rstrip(".") + (", on uvloop." if use_uvloop else ".")
    return run


def consume_py_amqp(s: Spec) -> int:
    """py-amqp (celery's ``amqp``): blocking, ``drain_events`` with a callback."""
    import amqp

    parts = urlsplit(s.url)
    conn = amqp.Connection(
        host=f"{parts.hostname}:{parts.port or 5672}",
        userid=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        virtual_host=unquote(parts.path[1:] or "/"),
    )
    conn.connect()
    ch = conn.channel()
    ch.basic_qos(0, s.prefetch, s.qos_global)
    count = 0

    def on_message(msg: Any) -> None:
        nonlocal count
        count += 1
        if count % s.ack_every == 0 or count == s.n:
            ch.basic_ack(msg.delivery_tag, multiple=True)

    ch.basic_consume(s.queue, callback=on_message)
    while count < s.n:
        conn.drain_events(timeout=1)
    conn.close()
    return count


def consume_librabbitmq(s: Spec) -> int:
    """librabbitmq (C, over rabbitmq-c): ``drain_events`` with a callback per message."""
    import librabbitmq

    parts = urlsplit(s.url)
    conn = librabbitmq.Connection(
        host=f"{parts.hostname}:{parts.port or 5672}",
        userid=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        virtual_host=unquote(parts.path[1:] or "/"),
    )
    ch = conn.channel()
    ch.basic_qos(0, s.prefetch, s.qos_global)
    count = 0

    def on_message(msg: Any) -> None:
        nonlocal count
        count += 1
        if count % s.ack_every == 0 or count == s.n:
            ch.basic_ack(msg.delivery_info["delivery_tag"], multiple=True)

    ch.basic_consume(s.queue, callback=on_message)
    while count < s.n:
        conn.drain_events(timeout=1)
    conn.close()
    return count


def consume_chute_transport(s: Spec) -> int:
    """chute.amqp.QueueConsumer (pika underneath), next_batch + ack_through."""
    import threading

    from chute.amqp import QueueConsumer

    stop = threading.Event()
    count = 0
    with QueueConsumer(s.url, s.queue, prefetch=s.prefetch, qos_global=s.qos_global) as c:
        while count < s.n:
            batch = c.next_batch(min(s.ack_every, s.n - count), 1 << 30, 1.0, stop)
            if batch:
                count += len(batch)
                c.ack_through(batch[-1].delivery_tag)
    return count


def consume_chute_transport_decode(s: Spec) -> int:
    """chute_transport, plus decoding every batch's bodies with chute.amqp.decode_bodies."""
    import threading

    from chute.amqp import QueueConsumer, decode_bodies

    stop = threading.Event()
    count = 0
    with QueueConsumer(s.url, s.queue, prefetch=s.prefetch, qos_global=s.qos_global) as c:
        while count < s.n:
            batch = c.next_batch(min(s.ack_every, s.n - count), 1 << 30, 1.0, stop)
            if batch:
                decoded = decode_bodies([d.body for d in batch])
                assert not decoded.errors
                count += len(batch)
                c.ack_through(batch[-1].delivery_tag)
    return count


CONSUMERS: dict[str, Callable[[Spec], int]] = {
    "pika_blocking_generator": consume_pika_blocking_generator,
    "pika_blocking_callback": consume_pika_blocking_callback,
    "pika_select": consume_pika_select,
    "aio_pika_iterator": _run_async(_aio_pika_iterator, False),
    "aio_pika_callback": _run_async(_aio_pika_callback, False),
    "aio_pika_iterator_uvloop": _run_async(_aio_pika_iterator, True),
    "aiormq": _run_async(_aiormq, False),
    "aiormq_uvloop": _run_async(_aiormq, True),
    "py_amqp": consume_py_amqp,
    "librabbitmq": consume_librabbitmq,
    "chute_transport": consume_chute_transport,
    "chute_transport_decode": consume_chute_transport_decode,
}

PUBLISHERS: dict[str, Callable[[str, str, int, int, int], None]] = {
    "publish_pika_blocking": publish_pika_blocking,
    "publish_aiormq": publish_aiormq,
    "publish_aio_pika": publish_aio_pika,
    "publish_chute": publish_chute,
    "publish_chute_records": publish_chute_records,
}
#: publishers this slow publish only a sample (extrapolated, labelled)
SAMPLED_PUBLISHERS = {"publish_pika_blocking": 20_000}


# ---------------------------------------------------------------------------------------------
# decoding bodies (no broker): µs per message, batches of ``batch`` bodies


def _decode_chute(bodies: list[bytes]) -> int:
    from chute.amqp import decode_bodies

    return len(decode_bodies(bodies).records)


def _decode_orjson_loop(bodies: list[bytes]) -> int:
    loads = orjson.loads
    return len([loads(b) for b in bodies])


def _decode_orjson_array(bodies: list[bytes]) -> int:
    return len(orjson.loads(b"[" + b",".join(bodies) + b"]"))


def _decode_pyarrow_jsonl(bodies: list[bytes]) -> int:
    import io

    import pyarrow.json as pj

    return int(pj.read_json(io.BytesIO(b"\n".join(bodies))).num_rows)


def _decode_chute_to_arrow(bodies: list[bytes]) -> int:
    from chute.amqp import decode_bodies
    from chute.sources._records import records_to_batch

    records = decode_bodies(bodies).records
    columns = list(records[0])
    return int(records_to_batch(records, columns).num_rows)


DECODERS: dict[str, tuple[str, Callable[[list[bytes]], int]]] = {
    "chute decode_bodies (orjson per body, checks)": ("records", _decode_chute),
    "orjson per body, bare loop": ("records", _decode_orjson_loop),
    "orjson on the bodies joined as one array": ("records", _decode_orjson_array),
    "pyarrow.json on the bodies joined as JSON Lines": ("Arrow", _decode_pyarrow_jsonl),
    "decode_bodies + records_to_batch (the engine's path)": ("Arrow", _decode_chute_to_arrow),
}


def measure_decoding(n: int, size: int, batch: int, repeat: int) -> str:
    bodies = list(message_bodies(n, size))
    batches = [bodies[i : i + batch] for i in range(0, n, batch)]
    lines = [
        f"| decoding {n:,} bodies of ~{size} bytes, batches of {batch:,} | gives | µs/msg |",
        "|---|---|---:|",
    ]
    for label, (gives, fn) in DECODERS.items():
        best = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            count = sum(fn(b) for b in batches)
            best = min(best, time.process_time() - t0)
            assert count == n, (label, count)
        lines.append(f"| {label} | {gives} | {best / n * 1e6:.2f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# measuring


def broker_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "beam.smp":
                    return int(entry.name)
            except OSError:
                continue
    return None


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(name: str, spec: Spec) -> None:
    """Run one consumer in this process and print what it measured as JSON."""
    fn = CONSUMERS[name]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    count = fn(spec)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(json.dumps({"count": count, "wall": wall, "cpu": cpu}))


def run_consumer(
    name: str, args: argparse.Namespace, prefetch: int, ack_every: int
) -> dict[str, Any]:
    queue = f"chute_bench_{secrets.token_hex(4)}"
    declare_queue(args.url, queue)
    try:
        fill_queue(args.url, queue, args.messages, args.size)
        pid = broker_pid()
        b0 = cpu_seconds(pid)
        cmd = [
            sys.executable, __file__, "--child", name, "--url", args.url, "--queue", queue,
            "--messages", str(args.messages), "--prefetch", str(prefetch),
            "--ack-every", str(ack_every),
        ]  # fmt: skip
        if args.qos_global:
            cmd.append("--qos-global")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        broker = cpu_seconds(pid) - b0
        if proc.returncode != 0:
            return {"name": name, "error": proc.stderr.strip().splitlines()[-1:]}
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        left = queue_depth(args.url, queue)
    finally:
        delete_queue(args.url, queue)
    n = out["count"]
    return {
        "name": name,
        "prefetch": prefetch,
        "ack_every": ack_every,
        "messages": n,
        "left_in_queue": left,
        "wall_s": out["wall"],
        "msg_per_s": n / out["wall"],
        "client_cpu_us_per_msg": out["cpu"] / n * 1e6,
        "broker_cpu_us_per_msg": broker / n * 1e6,
    }


def run_publisher(name: str, args: argparse.Namespace) -> dict[str, Any]:
    queue = f"chute_bench_{secrets.token_hex(4)}"
    n = min(args.messages, SAMPLED_PUBLISHERS.get(name, args.messages))
    declare_queue(args.url, queue)
    try:
        pid = broker_pid()
        b0 = cpu_seconds(pid)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        PUBLISHERS[name](args.url, queue, n, args.size, args.window)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        broker = cpu_seconds(pid) - b0
        depth = queue_depth(args.url, queue)
    finally:
        delete_queue(args.url, queue)
    return {
        "name": name,
        "window": args.window,
        "messages": n,
        "sampled": n < args.messages,
        "in_queue": depth,
        "wall_s": wall,
        "msg_per_s": n / wall,
        "client_cpu_us_per_msg": cpu / n * 1e6,
        "broker_cpu_us_per_msg": broker / n * 1e6,
    }


def _table(rows: list[dict[str, Any]], publish: bool) -> str:
    head = (
        "| publisher | msgs | msg/s | client CPU µs/msg | broker CPU µs/msg | in queue |\n"
        "|---|---:|---:|---:|---:|---:|"
        if publish
        else "| consumer | prefetch | ack every | msg/s | client CPU µs/msg "
        "| broker CPU µs/msg | left |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | FAILED: {r['error']} |")
            continue
        if publish:
            label = f"{r['messages']:,}" + (" (sample)" if r["sampled"] else "")
            lines.append(
                f"| {r['name']} | {label} | {r['msg_per_s']:,.0f} | "
                f"{r['client_cpu_us_per_msg']:.1f} | {r['broker_cpu_us_per_msg']:.1f} | "
                f"{r['in_queue']:,} |"
            )
        else:
            lines.append(
                f"| {r['name']} | {r['prefetch']:,} | {r['ack_every']:,} | "
                f"{r['msg_per_s']:,.0f} | {r['client_cpu_us_per_msg']:.1f} | "
                f"{r['broker_cpu_us_per_msg']:.1f} | {r['left_in_queue']:,} |"
            )
    return "\n".join(lines)


def _median_rows(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    out = []
    for group in groups.values():
        ok = [r for r in group if "error" not in r]
        if not ok:
            out.append(group[0])
            continue
        merged = dict(ok[0])
        for field in ("wall_s", "msg_per_s", "client_cpu_us_per_msg", "broker_cpu_us_per_msg"):
            merged[field] = statistics.median(r[field] for r in ok)
        out.append(merged)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", default=DEFAULT_URL)
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--size", type=int, default=300)
    p.add_argument("--prefetch", default="2000", help="one or more, comma-separated")
    p.add_argument("--ack-every", default="1000", help="one or more, comma-separated")
    p.add_argument("--qos-global", action="store_true")
    p.add_argument("--window", type=int, default=1000, help="publisher confirms in flight")
    p.add_argument("--only", default="", help="contenders, comma-separated (default: all)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--list", action="store_true")
    p.add_argument(
        "--decode", type=int, metavar="BATCH", help="measure decoding bodies in batches of BATCH"
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--queue", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.list:
        for name, fn in {**CONSUMERS, **PUBLISHERS}.items():
            print(f"{name:28} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return
    if args.decode:
        print(measure_decoding(args.messages, args.size, args.decode, max(3, args.repeat)))
        return
    if args.child:
        child(
            args.child,
            Spec(
                args.url,
                args.queue,
                args.messages,
                int(args.prefetch),
                int(args.ack_every),
                args.qos_global,
            ),
        )
        return

    names = [n for n in args.only.split(",") if n] or [*CONSUMERS, *PUBLISHERS]
    unknown = [n for n in names if n not in CONSUMERS and n not in PUBLISHERS]
    if unknown:
        raise SystemExit(f"unknown contenders: {', '.join(unknown)} (see --list)")
    prefetches = [int(x) for x in args.prefetch.split(",")]
    ack_everies = [int(x) for x in args.ack_every.split(",")]
    consumed: list[dict[str, Any]] = []
    published: list[dict[str, Any]] = []
    for _round in range(args.repeat):
        for name in names:
            if name in PUBLISHERS:
                r = run_publisher(name, args)
                published.append(r)
                print(json.dumps(r), file=sys.stderr)
                continue
            for prefetch in prefetches:
                for ack_every in ack_everies:
                    if ack_every >= prefetch:
                        continue  # would stall: the broker stops at prefetch unacked
                    r = run_consumer(name, args, prefetch, ack_every)
                    consumed.append(r)
                    print(json.dumps(r), file=sys.stderr)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"consume_clients_{args.messages}_{stamp}.json"
    out.write_text(
        json.dumps({"args": vars(args), "consumers": consumed, "publishers": published}, indent=1)
    )
    print(f"{args.messages:,} messages of ~{args.size} bytes, medians of {args.repeat} round(s)")
    if consumed:
        print(_table(_median_rows(consumed, ("name", "prefetch", "ack_every")), publish=False))
    if published:
        print(_table(_median_rows(published, ("name",)), publish=True))
    print(f"\n(all figures in {out.relative_to(REPO)})")


if __name__ == "__main__":
    main()
