"""``python -m chute_bench.latency_proxy``: run one proxy until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Sequence

from chute_bench.latency_proxy.link import Address, format_address
from chute_bench.latency_proxy.proxy import LatencyProxy

__all__ = ["main"]


def _parse_address(text: str) -> Address:
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m chute_bench.latency_proxy``: print the address, proxy until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m chute_bench.latency_proxy",
        description="Forward TCP connections, delaying every byte in each direction.",
    )
    parser.add_argument("--to", required=True, type=_parse_address, metavar="HOST:PORT")
    parser.add_argument("--delay-ms", required=True, type=float, metavar="MS")
    parser.add_argument(
        "--listen",
        type=_parse_address,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="default: 127.0.0.1 and a free port",
    )
    args = parser.parse_args(argv)
    if args.delay_ms < 0:
        parser.error("--delay-ms must be >= 0")
    proxy = LatencyProxy(args.to, args.delay_ms, listen=args.listen)
    try:
        proxy.start()
    except OSError as exc:
        parser.exit(1, f"error: cannot listen on {format_address(args.listen)}: {exc}\n")
    try:
        print(format_address(proxy.address), flush=True)
        print(
            f"forwarding to {format_address(args.to)}, {args.delay_ms:g} ms each way; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    finally:
        proxy.stop()
    return 0
