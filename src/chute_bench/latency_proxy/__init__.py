"""A TCP proxy that delays every byte, standing in for a database far away.

See :mod:`chute_bench.latency_proxy.proxy` and ``docs/testing.md``; it needs nothing beyond
the standard library.
"""

from chute_bench.latency_proxy.cli import main
from chute_bench.latency_proxy.proxy import LatencyProxy

__all__ = ["LatencyProxy", "main"]
