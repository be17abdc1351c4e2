"""chute bench: the ways of loading rows side by side on your own database, and the latency
proxy; the ``bench`` extra (``pip install 'chute[bench]'``: matplotlib for the chart).

It sits above chute: it uses chute's public API (:func:`chute.load`, the errors) and reads
URLs with chute's sinks, and nothing in chute imports it but the ``chute bench`` command,
lazily.  The modules, top to bottom:

- :mod:`~chute_bench.command`: the ``chute bench`` options, output and exit codes;
- :mod:`~chute_bench.runner`: :func:`run_bench`, one worker process per strategy;
- :mod:`~chute_bench.show`, :mod:`~chute_bench.chart`: the table and the PNG;
- :mod:`~chute_bench.report`: the figures (``chute-bench.json``);
- :mod:`~chute_bench.worker`: one strategy, timed and counted, in its own process;
- :mod:`~chute_bench.strategies`: the ways of loading and their order for a database;
- :mod:`~chute_bench.targets`: each database by URL scheme, with its plain driver and its
  own bulk paths (COPY, ``LOAD DATA LOCAL``, DuckDB's ``read_csv`` and Arrow scan);
- :mod:`~chute_bench.records`: the synthetic records every strategy loads;
- :mod:`~chute_bench.latency_proxy`: a TCP proxy that delays every byte (a database far away).

Importing this package does not import matplotlib (only :mod:`~chute_bench.chart` does).
"""

from chute_bench.report import BenchReport, StrategyResult
from chute_bench.runner import DEFAULT_ROWS, run_bench

__all__ = ["DEFAULT_ROWS", "BenchReport", "StrategyResult", "run_bench"]
