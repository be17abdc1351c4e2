"""The staging stage (``--atomic``, ``--mode replace``): batches go to a stage table, and
at the end one transaction puts the stage in place of the target (replace, or a new
table) or merges it into the target (atomic), and marks the load done.  The target changes
all at once, or not at all."""

from __future__ import annotations

import contextlib
import hashlib

from chute.engine.faults import fault
from chute.engine.observers import guard_commit
from chute.engine.run import LoadRun
from chute.errors import ChuteError, ConfigError, RecordError, Refusal, SinkError
from chute.sinks.contract import Mode, Sink, Staging


def stage_name(source: str, target: str) -> str:
    """The stage table of loading ``source`` into ``target`` (a resumed load finds it)."""
    digest = hashlib.sha256(f"{source}\0{target}".encode()).hexdigest()
    return f"_chute_stage_{digest[:16]}"


class Stage:
    """The stage table of a staged load: made, published or dropped."""

    def __init__(self, run: LoadRun) -> None:
        self.run = run

    @property
    def table(self) -> str:
        return stage_name(self.run.source.name, self.run.target)

    def prepare(self, *, fresh: bool) -> None:
        """Batches go to a stage table, shaped like the target when there is one; a resumed
        load goes on filling the stage of the run it resumes."""
        run = self.run
        sink = run.sink
        if fresh:
            with sink.transaction():
                sink.drop_table(self.table)
            if sink.describe(run.target) is not None:
                staging(sink).create_like(self.table, run.target, run.key)

    def drop(self) -> None:
        with contextlib.suppress(ChuteError), self.run.sink.transaction():
            self.run.sink.drop_table(self.table)

    def publish(self, loaded: bool) -> None:
        """One transaction: the stage replaces the target (replace, or a new table) or is
        merged into it (atomic); the load is marked done; the target changes all at once."""
        run = self.run
        sink = run.sink
        report = run.report
        target, stage, mode = run.target, self.table, run.options.mode
        exists = sink.describe(target) is not None
        if not loaded:  # no records: nothing to publish
            with sink.transaction():
                sink.drop_table(stage)
            return
        columns = [c.name for c in sink.describe(stage) or []]
        merged = None
        try:
            with sink.transaction():
                if mode is Mode.REPLACE or not exists:
                    staging(sink).swap_in(target, stage)
                else:
                    staging(sink).add_missing_columns(target, stage)
                    merged = staging(sink).merge_from(target, stage, columns, mode, run.key)
                    sink.drop_table(stage)
                fault("stage-published")
                if run.checkpoints is not None:
                    run.checkpoints.mark_completed()
                guard_commit(run.observers, sink)
        except RecordError as exc:
            if exc.refusal is Refusal.RETRY:  # not the rows' fault: as any database failure
                failed = SinkError(exc.reason, sqlstate=exc.sqlstate)
                raise _not_in_place(run, stage, failed) from exc
            raise RecordError(
                f"the load was staged but {target} refused it as a whole: {exc.reason}; "
                f"{target} is unchanged",
                sqlstate=exc.sqlstate,
                hint="fix the conflicting rows and run again with --restart",
            ) from exc
        except ConfigError as exc:  # e.g. a view depends on the table a replace drops
            raise ConfigError(
                f"cannot put the loaded rows in place of {target}: {exc}; "
                f"{target} is unchanged and the rows wait in {stage}",
                sqlstate=exc.sqlstate,
                hint=f"{exc.hint}; then run the same command again",
            ) from exc
        except SinkError as exc:
            if exc.transient:
                raise
            raise _not_in_place(run, stage, exc) from exc
        if merged is not None:
            # records of this load with the same key were updated or skipped in the stage
            report.created = merged.created
            report.updated += merged.updated
            report.skipped += merged.skipped
            report.written = report.created + report.updated
        what = "replaced" if mode is Mode.REPLACE and exists else "published"
        swapped = mode is Mode.REPLACE or not exists
        # where DDL commits by itself (MySQL), a swap is one atomic rename after the commit
        how = (
            "in one transaction"
            if sink.capabilities.transactional_ddl or not swapped
            else "by one atomic rename after the rows committed"
        )
        report.changes.append(
            f"{what} {target} {how} (--{'mode replace' if mode is Mode.REPLACE else 'atomic'})"
        )


def _not_in_place(run: LoadRun, stage: str, exc: SinkError) -> SinkError:
    return SinkError(
        f"cannot put the loaded rows in place of {run.target}: {exc}; "
        f"{run.target} is unchanged and the rows wait in {stage}",
        sqlstate=exc.sqlstate,
        hint="run the same command again to put them in place",
    )


def staging(sink: Sink) -> Staging:
    """``sink`` as one that can stage a load, or a ConfigError saying it cannot."""
    if not isinstance(sink, Staging):
        raise ConfigError(
            f"{sink.display_url} cannot stage a load (needed by --atomic and --mode replace)",
            hint="load without --atomic, in append, upsert or ignore mode",
        )
    return sink
