"""``/metrics``: the service in Prometheus's text format (prometheus-client).

The figures are read from the service database when scraped, so every instance of
``chute serve`` answers the same whole-service figures (not only its own requests).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from chute.service.jobs import STATES
from chute.service.state import SCHEMA, ServiceDb


def render_metrics(db: ServiceDb) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    uploads = Gauge("chute_uploads", "Uploads held", registry=registry)
    upload_bytes = Gauge("chute_upload_bytes", "Bytes received in uploads", registry=registry)
    by_state = Gauge("chute_jobs", "Import jobs by state", ["state"], registry=registry)
    rows = Gauge("chute_rows_written", "Rows written by import jobs", registry=registry)
    rejects = Gauge("chute_rows_rejected", "Rows rejected by finished jobs", registry=registry)
    seconds = Gauge(
        "chute_job_seconds", "Duration of finished import jobs", ["stat"], registry=registry
    )
    up = db.one(f"SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM {SCHEMA}.uploads")
    assert up is not None
    uploads.set(up["n"])
    upload_bytes.set(up["b"])
    counts = {r["state"]: r["n"] for r in db.all(
        f"SELECT state, count(*) AS n FROM {SCHEMA}.jobs GROUP BY state"
    )}  # fmt: skip
    for state in STATES:
        by_state.labels(state).set(counts.get(state, 0))
    totals = db.one(
        f"SELECT coalesce(sum(rows_done), 0) AS rows, "
        "coalesce(sum((report->>'rejected')::bigint), 0) AS rejected, "
        "coalesce(sum(extract(epoch FROM finished - started)), 0) AS total, "
        "coalesce(max(extract(epoch FROM finished - started)), 0) AS longest, "
        f"count(finished) AS finished FROM {SCHEMA}.jobs"
    )
    assert totals is not None
    rows.set(totals["rows"])
    rejects.set(totals["rejected"])
    seconds.labels("sum").set(float(totals["total"]))
    seconds.labels("max").set(float(totals["longest"]))
    seconds.labels("count").set(totals["finished"])
    return generate_latest(registry), CONTENT_TYPE_LATEST
