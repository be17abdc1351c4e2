"""How many messages the broker may send ahead of acks (``basic.qos``), and a warning when
that starves batches.

AMQP lets at most 65,535 deliveries wait for their ack per consumer.  A batch fills while the
one before it is committed, so two batches' worth is the default.
"""

from __future__ import annotations

MAX_PREFETCH = 65_535


def default_prefetch(batch_rows: int) -> int:
    """Two batches' worth (a batch fills while the one before is committed), at most 65,535."""
    return max(1, min(MAX_PREFETCH, 2 * batch_rows))


def prefetch_warning(prefetch: int, batch_rows: int, flush_interval: float) -> str | None:
    """One line of warning when ``prefetch`` starves batches of ``batch_rows``, else None."""
    if batch_rows > MAX_PREFETCH // 2 and prefetch < batch_rows:
        return (
            f"--batch-rows {batch_rows} cannot fill: AMQP lets at most {MAX_PREFETCH:,} "
            "messages wait for their ack, so batches close only on --batch-bytes or the "
            f"--flush-interval ({flush_interval:g} s); use --batch-rows {MAX_PREFETCH // 2} "
            "or less"
        )
    if prefetch < batch_rows:
        return (
            f"--prefetch {prefetch} is below --batch-rows {batch_rows}: a batch can never "
            f"fill and only the --flush-interval ({flush_interval:g} s) closes it, so at most "
            f"{prefetch} messages are stored every {flush_interval:g} s; "
            f"use --prefetch {default_prefetch(batch_rows)} or more"
        )
    if prefetch < 2 * batch_rows and prefetch < MAX_PREFETCH:
        return (
            f"--prefetch {prefetch} is below twice --batch-rows {batch_rows}: the broker "
            "stops sending while a batch is committed; "
            f"use --prefetch {default_prefetch(batch_rows)}"
        )
    return None
