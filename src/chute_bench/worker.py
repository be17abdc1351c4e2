"""One contender of ``chute bench``, alone in its own process so that its peak memory is its own.

:mod:`chute_bench.runner` runs ``python -m chute_bench.worker`` once per strategy, writes the
job as JSON on its stdin and reads one JSON result from its stdout.  The worker makes the
strategy's table (through the database's plain driver, before the clock starts), times the
strategy, counts the rows that arrived (after the clock stops), and drops the table again.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from chute_bench.records import peak_rss_bytes
from chute_bench.strategies import plan
from chute_bench.targets import Job, target_for


def run(job: Job) -> dict[str, Any]:
    """Make the table, time the strategy, count what arrived, drop the table."""
    # every contender starts with the same modules loaded: chute's API and what it imports
    # (``import chute`` alone loads them lazily, on first use), and what pyarrow imports on
    # its first conversion of a list (pandas, when installed: about 0.25 s)
    import pyarrow

    from chute import ChuteError, load  # noqa: F401

    pyarrow.array([])

    result: dict[str, Any] = {"strategy": job.strategy}
    target = target_for(job.into)
    if target is None:
        return {**result, "status": "failed", "error": f"chute bench cannot measure {job.into}"}
    table = target.quote(job.table)
    try:
        target.admin([f"DROP TABLE IF EXISTS {table}", target.ddl.format(t=table)])
        # the driver is loaded now too: what is above this is the strategy's own
        result["baseline_rss_bytes"] = peak_rss_bytes()
        strategy = plan(target)[job.strategy]
        if strategy.run is None:
            raise RuntimeError(f"{job.strategy} is skipped on {target.name}: {strategy.skipped}")
        started = time.perf_counter()
        outcome = strategy.run(job, target)
        seconds = time.perf_counter() - started
        ((count,),) = target.admin([f"SELECT count(*) FROM {table}"])
        if count != outcome.rows_written:
            raise RuntimeError(f"{outcome.rows_written:,} rows written but {count:,} in the table")
        if not outcome.sample and count != job.rows:
            raise RuntimeError(f"{count:,} rows of {job.rows:,} in the table")
        if outcome.sample:  # scale the time per row to every row
            per_row = (seconds - outcome.connect_seconds) / max(outcome.rows_written, 1)
            seconds = outcome.connect_seconds + per_row * job.rows
            result["extrapolated_from"] = outcome.rows_written
        result.update(
            status="ok", seconds=seconds, connections=outcome.connections, **outcome.extra
        )
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if not isinstance(exc, ChuteError):
            message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        result.update(status="failed", error=message)
    finally:
        try:
            target.admin([f"DROP TABLE IF EXISTS {table}"])
        except Exception as exc:  # the parent drops what is left, and says so
            result.setdefault("cleanup_error", str(exc))
    result["peak_rss_bytes"] = peak_rss_bytes()
    return result


def main() -> None:
    job = Job(**json.loads(sys.stdin.read()))
    result = run(job)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
