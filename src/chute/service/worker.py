"""``chute worker``: import jobs run through procrastinate (PostgreSQL-backed, any number
of worker machines), with chute's own fencing and resume.

procrastinate hands a job to one worker and notices when a worker's heartbeat stops;
every worker looks for such stalled jobs every few seconds and gives them back to the
queue, where another worker takes them.  That worker raises the job's lease (so the
stalled one, if it is only slow, can no longer commit) and runs the same load again: chute's
checkpoints make it go on after the last batch committed, with no duplicate and no gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import procrastinate

from chute.api import load
from chute.errors import ChuteError, Interrupted, LoadRunningError
from chute.report import LoadReport
from chute.service import leases
from chute.service.jobs import LOAD_OPTIONS, JobFence, LeaseLost, finish_job, take_job
from chute.service.state import SCHEMA, ServiceDb
from chute.service.upload_store import expire_uploads
from chute.urls import scrub, with_param

log = logging.getLogger("chute.service")

TASK = "chute_import"
#: a worker says it is alive this often (seconds) ...
HEARTBEAT = 2.0
#: ... and is taken for dead after this long without a word: its jobs go back to the queue
STALLED_AFTER = 10.0
#: seconds a job waits for its previous run to stop (it does at its next commit)
LAST_RUN_WAIT = 120.0
#: expired uploads are looked for this often (seconds)
EXPIRY_SWEEP = 60.0


def queue_app(db: ServiceDb, folder: Path | None = None) -> procrastinate.App:
    """The procrastinate app on the service database (its tables in ``chute_service``);
    with ``folder`` (the data folder), it can run import jobs too."""
    conninfo = with_param(db.url, "options", quote(f"-csearch_path={SCHEMA}", safe=""))
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name=TASK, pass_context=False)
    def chute_import(job: int) -> None:
        assert folder is not None, "a worker runs jobs with a data folder"
        run_job(db, folder, job)

    return app


def ensure_queue_schema(db: ServiceDb, app: procrastinate.App) -> None:
    """procrastinate's tables, made the first time (under the setup lock)."""
    db.setup()
    with db.connect() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('chute_service setup'))")
        found = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'procrastinate_jobs'",
            (SCHEMA,),
        ).fetchone()
        if found is None:
            conn.execute(f"SET LOCAL search_path = {SCHEMA}")
            conn.execute(app.schema_manager.get_schema())


def rejects_path(folder: Path, job: int) -> Path:
    return folder / "rejects" / f"job_{int(job)}.rejects.jsonl"


def run_job(db: ServiceDb, folder: Path, job_id: int) -> None:
    """Run import job ``job_id`` (or go on with it, after another worker stopped)."""
    job = take_job(db, job_id)
    if job is None:
        log.info("job %s: nothing to do (finished or cancelled)", job_id)
        return
    lease = int(job["lease"])
    spec: dict[str, Any] = job["spec"]
    upload = db.one(f"SELECT path FROM {SCHEMA}.uploads WHERE id = %s", (job["upload_id"],))
    if upload is None:
        finish_job(db, job_id, lease, "failed", None, "the upload was deleted before the import")
        return
    cancel = threading.Event()
    fence = JobFence(db, job_id, job["key"], lease, cancel)
    rejects = rejects_path(folder, job_id)
    rejects.parent.mkdir(parents=True, exist_ok=True)
    options = {k: v for k, v in (spec.get("options") or {}).items() if k in LOAD_OPTIONS}
    target: dict[str, Any] = (
        {"dataset": spec["dataset"], "branch": spec.get("branch", "main"),
         "message": spec.get("message", "")}
        if "dataset" in spec
        else {"table": spec["table"]}
    )  # fmt: skip
    log.info("job %s: lease %s, loading %s", job_id, lease, target)

    def run() -> LoadReport:
        leases.claim(spec["into"], job["key"], lease)
        return load(
            upload["path"],
            into=spec["into"],
            mode=spec.get("mode"),
            key=spec.get("key"),
            rename=spec.get("rename"),
            skip=spec.get("skip", ()),
            types=spec.get("types"),
            rejects=str(rejects),
            observers=[fence],
            cancel=cancel,
            **target,
            **options,
        )

    private = (upload["path"], str(folder), spec["into"])
    try:
        report = _after_the_last_run(run, job_id)
    except LeaseLost as exc:
        log.warning("job %s: %s", job_id, exc)
        return
    except Interrupted as exc:
        finish_job(db, job_id, lease, "cancelled", exc.report, "cancelled")
        return
    except ChuteError as exc:
        finish_job(db, job_id, lease, "failed", exc.report, error_text(exc, private))
        return
    except Exception as exc:  # a bug: the job says so instead of staying "running"
        log.exception("job %s failed", job_id)
        finish_job(db, job_id, lease, "failed", None, f"internal error: {type(exc).__name__}")
        return
    finish_job(db, job_id, lease, "done", report)


def _after_the_last_run(run: Callable[[], LoadReport], job_id: int) -> LoadReport:
    """``run()``, once the job's previous run (a worker given up on while still alive)
    has stopped: it holds the load's lock until its next commit finds its lease gone."""
    deadline = time.monotonic() + LAST_RUN_WAIT
    while True:
        try:
            return run()
        except LoadRunningError:
            if time.monotonic() > deadline:
                raise
            log.info("job %s: its previous run is still stopping; waiting", job_id)
            time.sleep(1.0)


def error_text(exc: ChuteError, private: tuple[str, ...] = ()) -> str:
    """The error as the tenant sees it: without the service's paths and database URL."""
    text = f"{exc}" + (f" (hint: {exc.hint})" if exc.hint else "")
    for value in private:
        text = text.replace(value, "the upload" if value.startswith("/") else "the database")
    return scrub(text, *private)


async def _housekeeping(db: ServiceDb, app: procrastinate.App, stop: asyncio.Event) -> None:
    """Give the jobs of dead workers back to the queue, every few seconds; delete expired
    uploads, every minute."""
    swept = 0.0
    while not stop.is_set():
        if time.monotonic() - swept > EXPIRY_SWEEP:
            swept = time.monotonic()
            try:
                for uid in await asyncio.to_thread(expire_uploads, db):
                    log.info("upload %s expired: deleted", uid)
            except Exception:
                log.exception("deleting expired uploads failed")
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=STALLED_AFTER, task_name=TASK
            )
            for job in stalled:
                log.warning("job %s: its worker stopped; back to the queue", job.id)
                await app.job_manager.retry_job(job)
        except Exception:  # the database may be away a moment: try again later
            log.exception("looking for stalled jobs failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT * 2)


async def run_worker(db: ServiceDb, folder: Path, concurrency: int) -> None:
    """Run jobs until cancelled (SIGINT, SIGTERM: procrastinate stops gracefully)."""
    app = queue_app(db, folder)
    ensure_queue_schema(db, app)
    stop = asyncio.Event()
    async with app.open_async():
        sweeper = asyncio.create_task(_housekeeping(db, app, stop))
        try:
            await app.run_worker_async(
                concurrency=concurrency,
                update_heartbeat_interval=HEARTBEAT,
                stalled_worker_timeout=STALLED_AFTER,
                install_signal_handlers=True,
            )
        finally:
            stop.set()
            await sweeper
