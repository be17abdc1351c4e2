"""Batch sizes: fixed, or steered by a controller from what each batch cost.

The controller models the time the database takes for a batch of ``n`` rows as

    t(n) = a + b·n

``a`` is what every batch costs however small (round trips, the commit, the checkpoint: a
few milliseconds next door, hundreds of milliseconds across an ocean), ``b`` what each row
costs.  It fits ``a`` and ``b`` to the recent batches by least squares, then picks the size
at which the fixed cost is a small share (:data:`OVERHEAD_SHARE`) of a batch, and at least
:data:`MIN_SECONDS` of work, but no more than :data:`MAX_SECONDS` of work (latency, progress
and the work redone after a crash grow with the batch) and no more than the memory budget
allows.  It starts small, grows by at most :data:`GROWTH` per batch, and backs off (halves)
when a batch is refused records, when a batch takes much longer than the model expects, or
when the process nears its memory limit.
"""

from __future__ import annotations

import os
import resource
import threading
from collections import deque
from dataclasses import replace

from chute.sources.base import BatchSize

#: the fixed cost per batch is held to at most this share of a batch's time
OVERHEAD_SHARE = 0.03
#: a batch is at least this much work (when the memory budget allows) ...
MIN_SECONDS = 0.25
#: ... and at most this much
MAX_SECONDS = 2.0
#: the first batch of an adaptive load, in rows (also capped by bytes); the source cuts two
#: batches ahead, so the first three batches are this size whatever the controller learns
START_ROWS = 20_000
#: the smallest batch the controller sets
MIN_ROWS = 100
#: growth per batch at most ×GROWTH; back-off halves
GROWTH = 4.0
#: batches of the recent past the model is fitted to
WINDOW = 8
#: bytes of memory a batch takes per byte of input while it is parsed, converted and sent
#: (measured: see docs/performance.md), and batches that can be in memory at once besides
#: the writers' (the one being read, the one waiting in the queue, and one for what the
#: allocators keep of freed batches: glibc kept 35-45 MB of them in the 1M-row load).  The
#: writing loop takes a batch only once a writer is free, so it holds none of its own.
EXPANSION = 12
BATCHES_BESIDES_WRITERS = 3
#: never plan a batch smaller than this many bytes for the budget's sake
MIN_BATCH_BYTES = 256 << 10


def current_rss() -> int:
    """The resident memory of this process now, in bytes (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def byte_budget(memory_limit: int, writers: int, baseline: int) -> int:
    """The most input bytes one batch may hold so that all batches in memory at once fit
    in what ``memory_limit`` leaves above ``baseline`` (the process before the load)."""
    room = max(memory_limit - baseline, 0)
    per_batch = room // ((writers + BATCHES_BESIDES_WRITERS) * EXPANSION)
    return max(per_batch, MIN_BATCH_BYTES)


class BatchController:
    """Steers :attr:`size` from the batches' costs (adaptive), or keeps it (fixed).

    :meth:`observe` is called after each committed batch with its rows, input bytes and the
    seconds the database took; it returns the rows of the batches to come.  The source asks
    :meth:`next_size` before it cuts each batch.  Thread-safe: parallel writers call it
    from their own threads.
    """

    def __init__(
        self,
        size: BatchSize,
        *,
        adaptive: bool,
        memory_limit: int,
        min_seconds: float = MIN_SECONDS,
        max_seconds: float = MAX_SECONDS,
        start_rows: int = START_ROWS,
        min_rows: int = 0,
    ) -> None:
        """Start from ``size``: its rows when not ``adaptive`` (else ``start_rows``, or
        ``min_rows`` if more); its bytes are the budget's cap either way.  ``min_rows``: the
        sink's smallest efficient batch (``Capabilities.min_batch_rows``); growth, the model
        and a slow batch never take the rows below it, refusals and memory may."""
        self.adaptive = adaptive
        self.memory_limit = memory_limit
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self.min_rows = max(min_rows, MIN_ROWS)
        self.size = replace(size, rows=max(start_rows, self.min_rows)) if adaptive else size
        self._recent: deque[tuple[int, float]] = deque(maxlen=WINDOW)
        self._lock = threading.Lock()
        #: (a, b) of the last fit, for the report and the docs' examples
        self.model: tuple[float, float] | None = None
        #: why the size last changed: "grow", "model", "refused", "slow", "memory"
        self.last_reason = "start"

    def next_size(self) -> BatchSize:
        """The size of the next batch (what a source asks before cutting one)."""
        return self.size

    def observe(self, rows: int, nbytes: int, seconds: float, *, refused: bool = False) -> int:
        """Learn from a committed batch; returns the rows for the batches to come."""
        with self._lock:
            if rows <= 0:
                return self.size.rows
            if self.adaptive:
                self._steer(rows, nbytes, seconds, refused)
            self._watch_memory(rows, nbytes)
            return self.size.rows

    def _steer(self, rows: int, nbytes: int, seconds: float, refused: bool) -> None:
        size = self.size
        if refused:  # bisection costs grow with the batch: smaller batches while refusals last
            self._set(size.rows // 2, "refused")
            return
        expected = self._predict(rows)
        self._recent.append((rows, seconds))
        if expected is not None and seconds > 3 * expected and seconds > self.max_seconds:
            self._set(size.rows // 2, "slow")  # the database slowed down: back off at once
            self._recent.clear()
            return
        model = self._fit()
        if model is None:  # too few distinct sizes yet: grow as fast as allowed
            self._set(int(rows * GROWTH), "grow")
            return
        a, b = model
        want = max(a * (1 - OVERHEAD_SHARE) / (OVERHEAD_SHARE * b), self.min_seconds / b)
        want = min(want, self.max_seconds / b)
        # a batch cut short by the byte budget does not let the rows run away
        self._set(int(min(want, rows * GROWTH)), "model")

    def _watch_memory(self, rows: int, nbytes: int) -> None:
        """Cap the bytes of a batch, and halve the rows when memory nears the limit."""
        if current_rss() > 0.9 * self.memory_limit and rows > MIN_ROWS:
            self.size = replace(
                self.size, bytes=max(min(self.size.bytes, nbytes) // 2, MIN_BATCH_BYTES)
            )
            self._set(rows // 2, "memory")

    def _set(self, rows: int, reason: str) -> None:
        floor = MIN_ROWS if reason in ("refused", "memory") else self.min_rows
        rows = max(rows, floor)
        if rows != self.size.rows:
            self.last_reason = reason
        self.size = replace(self.size, rows=rows)

    def _predict(self, rows: int) -> float | None:
        if self.model is None:
            return None
        a, b = self.model
        return a + b * rows

    def _fit(self) -> tuple[float, float] | None:
        """Least squares of ``seconds = a + b·rows`` over the recent batches."""
        points = list(self._recent)
        xs = [float(r) for r, _ in points]
        n = len(points)
        mx = sum(xs) / n
        my = sum(t for _, t in points) / n
        if n < 2 or max(xs) < 1.5 * min(xs):
            if self.model is None:
                return None
            # sizes too alike to separate a from b: keep a, follow the cost per row
            a = min(self.model[0], my)
            self.model = (a, max((my - a) / mx, 1e-9))
            return self.model
        sxx = sum((x - mx) ** 2 for x in xs)
        sxy = sum((x - mx) * (t - my) for x, (_, t) in zip(xs, points, strict=True))
        b = sxy / sxx
        if b <= 0:  # noise swamps the per-row cost (a slow first batch, a busy server)
            if self.model is not None:
                return self.model  # keep what was learnt
            b = max(my / mx, 1e-9)  # nothing yet: the mean cost per row
            a = 0.0
        else:
            a = max(my - b * mx, 0.0)
        self.model = (a, b)
        return self.model
