"""The batch-size controller against a simulated database: a batch of n rows costs
``latency + n × per_row`` seconds (with some noise), and the source runs two batches ahead
of the writer, as in the pipeline."""

from __future__ import annotations

import random
from collections import deque

import pytest

from chute.engine.batch_control import (
    MAX_SECONDS,
    MIN_ROWS,
    BatchController,
    byte_budget,
)
from chute.sources.base import BatchSize

BIG = 1 << 40  # no memory pressure in these simulations


def simulate(
    controller: BatchController | None,
    *,
    fixed: int = 0,
    rows: int,
    latency: float,
    per_row: float,
    noise: float = 0.1,
    seed: int = 1,
) -> tuple[float, list[int]]:
    """Seconds to write ``rows`` rows, and the batch sizes used."""
    rng = random.Random(seed)
    ahead: deque[int] = deque()  # sizes already cut by the source, not yet written
    total = 0.0
    sizes = []
    left = rows
    while left > 0:
        while len(ahead) < 2:
            ahead.append(controller.size.rows if controller else fixed)
        n = min(ahead.popleft(), left)
        seconds = (latency + n * per_row) * rng.uniform(1 - noise, 1 + noise)
        total += seconds
        sizes.append(n)
        left -= n
        if controller:
            controller.observe(n, n * 100, seconds)
    return total, sizes


def adaptive() -> BatchController:
    return BatchController(BatchSize(0, 1 << 30), adaptive=True, memory_limit=BIG)


FIXED = [100, 1_000, 10_000, 100_000]


@pytest.mark.parametrize(
    "latency, per_row",
    [
        (0.003, 5e-6),  # a database next door
        (0.3, 5e-6),  # the same across an ocean: round trips dominate small batches
        (0.05, 1e-4),  # a slow database: rows dominate
    ],
)
def test_adaptive_is_within_ten_percent_of_the_best_fixed_size(
    latency: float, per_row: float
) -> None:
    rows = 3_000_000
    best = min(
        simulate(None, fixed=f, rows=rows, latency=latency, per_row=per_row)[0] for f in FIXED
    )
    took, sizes = simulate(adaptive(), rows=rows, latency=latency, per_row=per_row)
    assert took <= best * 1.10, (took, best, sizes[:12])


def test_the_model_fits_latency_and_cost_per_row() -> None:
    controller = adaptive()
    simulate(controller, rows=2_000_000, latency=0.2, per_row=1e-5, noise=0.0)
    assert controller.model is not None
    a, b = controller.model
    assert a == pytest.approx(0.2, rel=0.05)
    assert b == pytest.approx(1e-5, rel=0.05)


def test_batches_stay_under_the_longest_batch_time() -> None:
    _, sizes = simulate(adaptive(), rows=5_000_000, latency=0.001, per_row=1e-4)
    # after the start, a batch is at most MAX_SECONDS of work (with the noise)
    assert max(sizes[5:]) * 1e-4 <= MAX_SECONDS * 1.2


def test_refused_records_halve_the_batch() -> None:
    controller = adaptive()
    simulate(controller, rows=1_000_000, latency=0.01, per_row=5e-6)
    before = controller.size.rows
    controller.observe(before, before * 100, 0.5, refused=True)
    assert controller.size.rows == before // 2
    assert controller.last_reason == "refused"


def test_a_database_that_slows_down_gets_smaller_batches_at_once() -> None:
    controller = adaptive()
    simulate(controller, rows=2_000_000, latency=0.01, per_row=5e-6, noise=0.0)
    before = controller.size.rows
    controller.observe(before, before * 100, 60.0)
    assert controller.size.rows == before // 2
    assert controller.last_reason == "slow"


def test_a_sinks_smallest_efficient_batch_holds_against_slow_batches_not_refusals() -> None:
    # DuckDB: a transaction below a row group (122,880 rows) goes through its log, so a
    # stall there must not shrink the batches further (the slow path would halve them)
    floor = 122_880
    controller = BatchController(
        BatchSize(0, 1 << 40), adaptive=True, memory_limit=BIG, min_rows=floor
    )
    assert controller.size.rows == floor  # starts there, not at START_ROWS
    for _ in range(10):  # cheap batches: the model would go lower, the floor holds
        controller.observe(controller.size.rows, 100, 0.001)
        assert controller.size.rows >= floor
    controller.observe(floor, 100, 60.0)  # a stall: slow, but not below the floor
    assert controller.size.rows >= floor
    for _ in range(30):  # refusals still make batches small (bisection costs)
        controller.observe(controller.size.rows, 100, 0.5, refused=True)
    assert controller.size.rows == MIN_ROWS


def test_memory_near_the_limit_halves_rows_and_bytes() -> None:
    # a limit below what the process already holds: every batch is "near the limit"
    size = BatchSize(50_000, 8 << 20)
    controller = BatchController(size, adaptive=False, memory_limit=1 << 20)
    controller.observe(50_000, 8 << 20, 0.1)
    assert controller.size.rows == 25_000
    assert controller.size.bytes == 4 << 20
    assert controller.last_reason == "memory"


def test_fixed_sizes_stay_fixed() -> None:
    size = BatchSize(7_000, 1 << 30)
    controller = BatchController(size, adaptive=False, memory_limit=BIG)
    _, sizes = simulate(controller, rows=70_000, latency=0.3, per_row=1e-6)
    assert set(sizes) == {7_000}


def test_never_below_the_smallest_batch() -> None:
    controller = adaptive()
    for _ in range(30):
        controller.observe(controller.size.rows, 100, 1.0, refused=True)
    assert controller.size.rows == MIN_ROWS


def test_the_byte_budget_shares_the_memory_among_batches_in_memory() -> None:
    one = byte_budget(1 << 30, writers=1, baseline=100 << 20)
    four = byte_budget(1 << 30, writers=4, baseline=100 << 20)
    assert one > four > 0
    assert one * (1 + 2) * 12 <= (1 << 30) - (100 << 20)
    assert byte_budget(100 << 20, writers=1, baseline=200 << 20) == 256 << 10  # the floor


def test_a_noisy_fit_keeps_what_was_learnt() -> None:
    controller = adaptive()
    controller.observe(20_000, 0, 0.4)  # a = 0.3 s, b = 5 µs per row
    controller.observe(80_000, 0, 0.7)
    grown = controller.size.rows
    assert grown == 320_000  # 4× the last batch, on the way to 2 s of work
    # a big batch that came back faster than the small ones: the slope comes out negative
    controller.observe(grown, 0, 0.2)
    assert controller.model == pytest.approx((0.3, 5e-6))
    assert controller.size.rows >= grown
