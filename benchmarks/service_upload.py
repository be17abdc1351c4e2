"""The import service's uploads and imports at scale: tus upload speed, whether ``chute serve``
holds an upload in memory, resuming a PATCH cut off part way, and the import of the file.

::

    python benchmarks/service_upload.py                          # 1 GiB, PATCHes of 64 MiB
    python benchmarks/service_upload.py --size 200MiB --chunk 8MiB
    python benchmarks/service_upload.py --size 1GiB --keep       # keep the generated file

It makes a throwaway PostgreSQL database (``bench_svc_<random>``, dropped at the end), a
tenant, and runs one ``python -m chute serve`` and one ``python -m chute worker`` on it, with
a temporary data folder.  It writes a CSV file of ``--size`` bytes (at most; whole lines of
``id,name,amount,created_at``) to disk, streamed, and then:

- uploads it over tus with httpx: ``POST /uploads``, then PATCHes of ``--chunk`` bytes, each
  body streamed from the file (never read whole); the upload's wall time gives MB/s
  (10^6 bytes).  The serve process's resident memory is sampled every 0.1 s (psutil if
  installed, else ``VmRSS`` of ``/proc/PID/status``): its RSS before the upload, its peak
  during it, and the kernel's high-water mark (``VmHWM``) after.  The claim checked: the
  server never holds an upload in memory, so its peak does not grow with the upload's size
  or the chunk's;
- uploads it again, cutting the connection in the PATCH that holds the middle of the file
  (the headers say the whole ``Content-Length``; the socket is closed after half the body),
  asks ``HEAD`` for the offset the server kept, and goes on from there (a 409 there, the
  cut PATCH not yet recorded, is counted and answered with another ``HEAD``, as a tus
  client does); the file in ``DATA_DIR/uploads/ID`` must then be byte-identical to the
  source (SHA-256), as must the first upload's;
- imports the first upload into table ``big`` (``POST /imports``) and waits until the job is
  done: the import's wall time, rows/s, and the worker process's peak RSS, sampled alike;
  ``rows_done`` must equal the lines written.

chute runs from a copy of ``src/chute`` at git ``HEAD`` (``--chute-from``, as in ``run.py``).
Prints a Markdown table and writes everything to
``benchmarks/out/service_upload_<size>_<UTC time>.json``; the exit status is 1 when a check
failed (bytes differ, rows missing, the import not done).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from run import chute_snapshot

try:
    import psutil
except ImportError:  # /proc/PID/status instead
    psutil = None

HERE = Path(__file__).resolve().parent
MB = 1_000_000  # speeds are in MB of 10^6 bytes; memory in MiB
MiB = 1 << 20
TUS = {"Tus-Resumable": "1.0.0"}
READ = 1 << 20  # the client reads the file in pieces of this many bytes
UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 1 << 10, "m": 10**6, "mb": 10**6,
         "mib": 1 << 20, "g": 10**9, "gb": 10**9, "gib": 1 << 30}  # fmt: skip
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil")  # fmt: skip
NOTES: list[str] = []


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if m is None or m.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (write it like 1GiB, 200MiB)")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


def mib(n: float | None) -> str:
    return "—" if n is None else f"{n / MiB:,.0f} MiB"


# -- memory of a process ---------------------------------------------------------------------


def _status(pid: int, field: str) -> int | None:
    """A ``kB`` field of ``/proc/PID/status``, in bytes (None: no such process)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def rss(pid: int) -> int | None:
    if psutil is not None:
        try:
            return int(psutil.Process(pid).memory_info().rss)
        except psutil.NoSuchProcess:
            return None
    return _status(pid, "VmRSS")


def hwm(pid: int) -> int | None:
    """The kernel's peak RSS of the process (Linux only)."""
    return _status(pid, "VmHWM")


class Sampler:
    """RSS of process ``pid`` every ``every`` seconds, in a thread, until :meth:`stop`."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every = pid, every
        self.before = rss(pid)
        self.samples: list[tuple[float, int]] = []
        self._t0 = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        got = rss(self.pid)
        if got is not None:
            self.samples.append((time.perf_counter() - self._t0, got))

    def _run(self) -> None:
        self._sample()
        while not self._done.wait(self.every):
            self._sample()

    def stop(self) -> Sampler:
        self._done.set()
        self._thread.join()
        self._sample()
        return self

    @property
    def peak(self) -> int | None:
        return max((r for _, r in self.samples), default=None)

    def summary(self) -> dict[str, Any]:
        series = [(round(t, 2), round(r / MiB, 1)) for t, r in self.samples]
        return {"before": self.before, "peak": self.peak, "samples": len(self.samples),
                "series_mib": series}  # fmt: skip


# -- the input file --------------------------------------------------------------------------


def generate_csv(path: Path, size: int) -> int:
    """Write whole lines of ``id,name,amount,created_at`` to ``path``, at most ``size`` bytes,
    block by block; the number of data lines."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    days = [f"{start + timedelta(days=d):%Y-%m-%d}" for d in range(20_000)]
    clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
    block_rows = 100_000
    written, rows, first = 0, 0, 1
    with open(path, "wb") as f:
        head = b"id,name,amount,created_at\n"
        if len(head) > size:
            raise SystemExit(f"--size {size} is smaller than the header")
        f.write(head)
        written = len(head)
        while True:
            ids = range(first, first + block_rows)
            text = "".join(
                f"{i},{NAMES[i & 15]},{(i * 7919) % 1_000_000 // 100}.{(i * 7919) % 100:02d},"
                f"{days[i // 86_400]}T{clock[i % 86_400]}Z\n"
                for i in ids
            ).encode()
            room = size - written
            if len(text) <= room:
                f.write(text)
                written += len(text)
                rows += block_rows
                first += block_rows
                continue
            cut = text.rfind(b"\n", 0, room) + 1
            f.write(text[:cut])
            return rows + text.count(b"\n", 0, cut)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(8 * MiB):
            h.update(piece)
    return h.hexdigest()


def body(path: Path, offset: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``offset``, in pieces of :data:`READ` bytes."""
    with open(path, "rb") as f:
        f.seek(offset)
        while length > 0:
            piece = f.read(min(READ, length))
            if not piece:
                raise SystemExit(f"{path} ended {length} bytes early")
            length -= len(piece)
            yield piece


# -- the service -----------------------------------------------------------------------------


class Pg:
    """The throwaway database."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.name = f"bench_svc_{secrets.token_hex(4)}"
        with psycopg.connect(server, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {self.name}")  # type: ignore[arg-type]
        self.url = server.rsplit("/", 1)[0] + "/" + self.name

    def drop(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """``chute serve`` and ``chute worker`` processes on ``db``, files in ``data``."""

    def __init__(self, db: str, data: Path, logs: Path, env: dict[str, str]) -> None:
        self.db, self.data, self.logs, self.env = db, data, logs, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def chute(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "chute", *args, "--db", self.db]

    def tenant(self, name: str) -> str:
        done = subprocess.run(self.chute("tenant", "create", name), env=self.env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"chute tenant create failed ({done.returncode}): {done.stderr}")
        return done.stdout.strip()

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:  # the child keeps its copy
            proc = subprocess.Popen(self.chute(*args, "--data-dir", str(self.data)),
                                    env=self.env, stdout=log, stderr=log)  # fmt: skip
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        serve = self.spawn("serve", "serve", "--port", str(self.port))
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if serve.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"chute serve did not start:\n{self.log('serve')}")
            time.sleep(0.2)
        self.spawn("worker", "worker")

    def alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise SystemExit(f"chute {name} exited ({proc.returncode}):\n{self.log(name)}")

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- a tus client ----------------------------------------------------------------------------


class Tus:
    def __init__(self, svc: Service, token: str) -> None:
        self.svc, self.token = svc, token
        self.client = httpx.Client(base_url=svc.url, timeout=httpx.Timeout(600, connect=10),
                                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    def create(self, size: int, filename: str) -> str:
        meta = "filename " + base64.b64encode(filename.encode()).decode()
        r = self.client.post("/uploads", headers={**TUS, "Upload-Length": str(size),
                                                  "Upload-Metadata": meta})  # fmt: skip
        if r.status_code != 201:
            raise SystemExit(f"POST /uploads: {r.status_code} {r.text}")
        return r.headers["location"].rsplit("/", 1)[1]

    def head(self, uid: str) -> int:
        r = self.client.head(f"/uploads/{uid}", headers=TUS)
        if r.status_code != 200:
            raise SystemExit(f"HEAD /uploads/{uid}: {r.status_code}")
        return int(r.headers["upload-offset"])

    def patch(self, uid: str, path: Path, offset: int, length: int) -> httpx.Response:
        """One PATCH of ``length`` bytes of ``path`` from ``offset``, the body streamed."""
        headers = {**TUS, "Upload-Offset": str(offset), "Content-Length": str(length),
                   "Content-Type": "application/offset+octet-stream"}  # fmt: skip
        return self.client.patch(f"/uploads/{uid}", content=body(path, offset, length),
                                 headers=headers)  # fmt: skip

    def cut_patch(self, uid: str, path: Path, offset: int, length: int) -> int:
        """A PATCH whose headers promise ``length`` bytes, the socket closed after half of
        them: the bytes sent."""
        half = length // 2
        head = (f"PATCH /uploads/{uid} HTTP/1.1\r\nHost: 127.0.0.1:{self.svc.port}\r\n"
                f"Authorization: Bearer {self.token}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {length}\r\n\r\n")  # fmt: skip
        with socket.create_connection(("127.0.0.1", self.svc.port), timeout=60) as s:
            s.sendall(head.encode())
            for piece in body(path, offset, half):
                s.sendall(piece)
        return half

    def upload(self, path: Path, size: int, chunk: int, cut: bool = False) -> dict[str, Any]:
        """Upload ``path``; with ``cut``, the PATCH holding the middle byte is cut off and
        the upload resumed from the offset ``HEAD`` gives."""
        t0 = time.perf_counter()
        uid = self.create(size, path.name)
        offset, patches, info = 0, 0, {}
        while offset < size:
            length = min(chunk, size - offset)
            if cut and not info and offset <= size // 2 < offset + length:
                sent = self.cut_patch(uid, path, offset, length)
                seen = self.head(uid)
                info = {"cut_patch_offset": offset, "cut_patch_length": length,
                        "cut_bytes_sent": sent, "first_head_offset": seen, "conflicts": [],
                        "cut_seconds": time.perf_counter() - t0}  # fmt: skip
                offset = seen
                continue
            r = self.patch(uid, path, offset, length)
            patches += 1
            if r.status_code == 409 and info:  # the cut PATCH not recorded yet: ask again
                info["conflicts"].append({"at": offset, "detail": r.text[:200]})
                if len(info["conflicts"]) > 50:
                    raise SystemExit(f"PATCH {uid}: 409 fifty times after the cut: {r.text}")
                time.sleep(0.1)
                offset = self.head(uid)
                continue
            if r.status_code != 204:
                raise SystemExit(f"PATCH {uid} at {offset}: {r.status_code} {r.text}")
            now = int(r.headers["upload-offset"])
            if now != offset + length:
                raise SystemExit(f"PATCH {uid} at {offset} + {length}: the server says {now}")
            if info and "resumed_from" not in info:
                info["resumed_from"] = offset
            offset = now
        seconds = time.perf_counter() - t0
        return {"id": uid, "seconds": seconds, "patches": patches, "mb_per_s": size / seconds / MB,
                **info}  # fmt: skip

    def post(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post(url, json=payload)
        if r.status_code != 201:
            raise SystemExit(f"POST {url}: {r.status_code} {r.text}")
        return dict(r.json())

    def get(self, url: str) -> dict[str, Any]:
        r = self.client.get(url)
        if r.status_code != 200:
            raise SystemExit(f"GET {url}: {r.status_code} {r.text}")
        return dict(r.json())


# -- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace, svc: Service, src: Path, lines: int) -> dict[str, Any]:
    tenant = f"bench{secrets.token_hex(3)}"
    tus = Tus(svc, svc.tenant(tenant))
    out: dict[str, Any] = {}
    size = src.stat().st_size
    source_sha = sha256(src)
    serve, worker = svc.procs["serve"].pid, svc.procs["worker"].pid

    print(f"  uploading {size:,} bytes in PATCHes of {args.chunk:,} ...", flush=True)
    sampler = Sampler(serve)
    up = tus.upload(src, size, args.chunk)
    up["serve_rss"] = sampler.stop().summary()
    up["serve_hwm_after"] = hwm(serve)
    svc.alive("serve")
    stored = svc.data / "uploads" / up["id"]
    up["sha256_match"] = sha256(stored) == source_sha
    out["upload"] = up
    print(f"  {up['seconds']:.1f} s, {up['mb_per_s']:.0f} MB/s; serve RSS "
          f"{mib(sampler.before)} → peak {mib(sampler.peak)} (VmHWM {mib(up['serve_hwm_after'])})",
          flush=True)  # fmt: skip

    print("  uploading again, one PATCH cut off half way ...", flush=True)
    sampler = Sampler(serve)
    cut = tus.upload(src, size, args.chunk, cut=True)
    cut["serve_rss"] = sampler.stop().summary()
    cut["serve_hwm_after"] = hwm(serve)
    svc.alive("serve")
    stored = svc.data / "uploads" / cut["id"]
    cut["stored_bytes"] = stored.stat().st_size
    cut["sha256_match"] = sha256(stored) == source_sha
    out["cut"] = cut
    kept = cut.get("resumed_from", cut["first_head_offset"])
    print(f"  PATCH at {cut['cut_patch_offset']:,} of {cut['cut_patch_length']:,} bytes cut "
          f"after {cut['cut_bytes_sent']:,}: first HEAD {cut['first_head_offset']:,}, resumed "
          f"from {kept:,} ({len(cut['conflicts'])} × 409); bytes match: {cut['sha256_match']}",
          flush=True)  # fmt: skip

    print("  importing into table big ...", flush=True)
    svc.alive("worker")
    sampler = Sampler(worker)
    t0 = time.perf_counter()
    job = tus.post("/imports", {"upload": up["id"], "table": "big"})["id"]
    deadline = time.monotonic() + args.timeout
    while True:
        view = tus.get(f"/imports/{job}")
        if view["state"] in ("done", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            break
        if svc.procs["worker"].poll() is not None:
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    imp = {"job": job, "seconds": seconds, "state": view["state"], "view": view,
           "rows_done": view["rows_done"], "rows_per_s": view["rows_done"] / seconds,
           "worker_rss": sampler.stop().summary(), "worker_hwm_after": hwm(worker),
           "rows_expected": lines, "rows_match": view["rows_done"] == lines}  # fmt: skip
    out["import"] = imp
    print(f"  {view['state']} in {seconds:.1f} s, {view['rows_done']:,} rows (expected "
          f"{lines:,}); worker RSS {mib(imp['worker_rss']['before'])} → peak "
          f"{mib(imp['worker_rss']['peak'])}", flush=True)  # fmt: skip
    if view["state"] != "done":
        NOTES.append(f"the import ended {view['state']}: {view.get('error')!r}; worker log:\n"
                     f"{svc.log('worker')}")  # fmt: skip
    tus.client.close()
    return out


def table(args: argparse.Namespace, size: int, r: dict[str, Any]) -> list[str]:
    up, cut, imp = r["upload"], r["cut"], r["import"]
    kept = cut.get("resumed_from", cut["first_head_offset"])
    match = "yes" if cut["sha256_match"] and up["sha256_match"] else "**no**"
    rows = "" if imp["rows_match"] else f" (**{imp['rows_done']:,} of {imp['rows_expected']:,}**)"
    return [
        "| size | chunk | upload | MB/s | serve RSS before | serve RSS peak (VmHWM) | "
        "cut-off resume offset | bytes match | import | rows/s | worker peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {args.size_text} ({size:,} B) | {args.chunk_text} | {up['seconds']:.1f} s | "
        f"{up['mb_per_s']:,.0f} | {mib(up['serve_rss']['before'])} | "
        f"{mib(up['serve_rss']['peak'])} ({mib(up['serve_hwm_after'])}) | "
        f"{kept:,} (cut PATCH {cut['cut_patch_offset']:,}+{cut['cut_bytes_sent']:,} sent) | "
        f"{match} | {imp['seconds']:.1f} s, {imp['state']} | {imp['rows_per_s']:,.0f}{rows} | "
        f"{mib(imp['worker_rss']['peak'])} |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1GiB", help="of the CSV file (1GiB, 200MiB, ...)")
    parser.add_argument("--chunk", default="64MiB", help="bytes of each PATCH")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds the import may take")
    parser.add_argument("--db-url", default=os.environ.get(
        "CHUTE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (any database on it); a throwaway database is made there",
    )  # fmt: skip
    parser.add_argument("--chute-from", default="HEAD", help="git ref, worktree or installed")
    args = parser.parse_args(argv)
    args.size_text, args.chunk_text = args.size, args.chunk
    try:
        size, args.chunk = parse_size(args.size), parse_size(args.chunk)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.chunk < 1:
        parser.error("--chunk is at least 1 byte")
    started = datetime.now(UTC)
    tmp = Path(tempfile.mkdtemp(prefix="chute_svc_bench_"))
    src = Path(tempfile.gettempdir()) / f"chute_service_upload_{args.size_text}.csv"
    pg = svc = None
    failed = False
    try:
        _, env, code = chute_snapshot(args.chute_from, tmp / "chute")
        print(f"chute: {code}", file=sys.stderr)
        t0 = time.perf_counter()
        lines = generate_csv(src, size)
        size = src.stat().st_size
        print(f"  wrote {src} ({size:,} bytes, {lines:,} rows) in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
        pg = Pg(args.db_url)
        (tmp / "data").mkdir()
        svc = Service(pg.url, tmp / "data", tmp, env)
        svc.start()
        try:
            result = run(args, svc, src, lines)
        except SystemExit:
            for name in svc.procs:
                print(f"--- {name} log ---\n{svc.log(name)}", file=sys.stderr)
            raise
    finally:
        if svc is not None:
            svc.stop()
        if pg is not None:
            pg.drop()
        shutil.rmtree(tmp)
        if not args.keep:
            src.unlink(missing_ok=True)
        else:
            print(f"kept {src}", file=sys.stderr)
    up, cut, imp = result["upload"], result["cut"], result["import"]
    failed = not (up["sha256_match"] and cut["sha256_match"] and imp["rows_match"]
                  and imp["state"] == "done")  # fmt: skip
    if cut["conflicts"]:
        NOTES.append(f"after the cut, the first HEAD said {cut['first_head_offset']:,}; the "
                     f"PATCH from there got {len(cut['conflicts'])} × 409 "
                     f"({cut['conflicts'][0]['detail']}) before the server had recorded the cut "
                     f"PATCH: resumed from {cut['resumed_from']:,}")  # fmt: skip
    lines_md = table(args, size, result)
    print(f"\n{started:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; RSS by "
          f"{'psutil' if psutil else '/proc/PID/status'} every 0.1 s\n")  # fmt: skip
    print("\n".join(lines_md))
    print("".join(f"\n- {n}" for n in NOTES))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    dest = out / f"service_upload_{args.size_text}_{started:%Y%m%dT%H%M%SZ}.json"
    dest.write_text(json.dumps({
        "size": size, "size_arg": args.size_text, "chunk": args.chunk, "rows": lines,
        "chute": code, "python": platform.python_version(), "cpus": os.cpu_count(),
        "rss_by": "psutil" if psutil else "/proc/PID/status VmRSS", "started": started,
        "results": result, "notes": NOTES, "table": lines_md}, indent=1, default=str))  # fmt: skip
    print(f"\nwritten {dest}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
