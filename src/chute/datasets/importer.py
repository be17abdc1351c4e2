"""An import into a versioned dataset: stage the file through the engine, then commit.

Staging is an ordinary load (rejects, resume, adaptive batches, checkpoints) into a stage
table of its own, named after the dataset, the branch and the file, with the key as its
primary key (so a key twice in the file rejects the second record as a duplicate).  The
commit compares the stage with the branch's head in one short transaction
(:mod:`chute.datasets.publish`): published data is touched only there.  A run killed while
staging resumes its stage; killed while committing, it commits again from the stage; either
way the head ends where one clean run would leave it.  Only then is the stage dropped.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence

from chute.config import LoadOptions
from chute.datasets.publish import CHANGES, Head, Publisher
from chute.datasets.store import MAIN, DatasetError, Store, check_dataset_name
from chute.engine.faults import fault
from chute.engine.loader import Pipeline
from chute.engine.lock import exclude_others
from chute.engine.observers import Observer
from chute.engine.rejects import RejectStore
from chute.errors import ConfigError
from chute.report import LoadReport
from chute.sinks.contract import Mode, Sink
from chute.sinks.sql.sql_sink import SqlSink, StreamsRows
from chute.sources.base import Source


def dataset_sink(sink: Sink) -> SqlSink:
    """``sink`` if it can hold versioned datasets (PostgreSQL, SQLite), else a ConfigError."""
    if (
        not isinstance(sink, SqlSink)
        or not isinstance(sink, StreamsRows)
        or sink.dialect.name not in ("postgresql", "sqlite")
    ):
        raise ConfigError(
            f"versioned datasets are kept in PostgreSQL or SQLite, not {sink.display_url}",
            hint="--into postgresql://... or sqlite:///FILE",
        )
    return sink


def import_file(
    source: Source,
    sink: Sink,
    options: LoadOptions,
    rejects: RejectStore,
    *,
    dataset: str,
    branch: str = MAIN,
    message: str = "",
    observers: Sequence[Observer] = (),
    cancel: threading.Event | None = None,
) -> LoadReport:
    """Import ``source`` as the next commit of ``dataset`` on ``branch``."""
    check_dataset_name(dataset)
    if options.mode is not Mode.APPEND:
        raise ConfigError(
            f"--mode {options.mode.value} does not apply to a dataset: each import is the "
            "whole new version of it",
            hint="leave --mode out",
        )
    db = dataset_sink(sink)
    db.connect()
    try:
        store = Store(db)
        store.ensure()
        key = _agree_on_key(store, dataset, list(options.key), branch)
    finally:
        db.close()  # the pipeline connects it again
    lock = exclude_others(db, f"dataset\0{dataset}\0{branch}\0{source.name}", source.name, dataset)
    try:
        stage = _stage_name(dataset, branch, source.name)
        staged = LoadOptions(**{**vars(options), "key": tuple(key), "table": stage})
        pipeline = Pipeline(source, db, staged, stage, rejects, observers, cancel, must_store=True)
        report = pipeline.run()
        report.table = dataset
        columns = [(c.name, c.declared) for c in db.describe(stage) or []]
        if not columns:
            raise DatasetError(f"the stage of {source.name} is gone: run the import again")
        commit, counts = Publisher(db, store, dataset).commit(
            branch,
            columns,
            lambda head: _changes_from_stage(db, head, stage, [c for c, _ in columns], key),
            message=message or f"import {os.path.basename(source.name)}",
        )
        heads = store.branches(dataset)
        head_seq = heads[branch].head_seq
        head = store.commits(dataset).get(head_seq)
        report.dataset = {
            "dataset": dataset,
            "branch": branch,
            "commit": commit.id if commit else None,
            "head": head.id if head else None,
            "added": counts.added,
            "changed": counts.changed,
            "removed": counts.removed,
            # every row staged is added, changed or the same as in the head
            "unchanged": report.written - counts.added - counts.changed,
        }
        fault("dataset-committed")
        db.drop_table(stage)
        checkpoints = pipeline.run_state.checkpoints
        if checkpoints is not None:
            checkpoints.clear()
        return report
    finally:
        if lock is not None:
            lock.release()


def _agree_on_key(store: Store, dataset: str, key: list[str], branch: str) -> list[str]:
    have = store.key_of(dataset)
    if have is None:
        if branch != MAIN:
            raise DatasetError(
                f"no dataset {dataset!r} yet: its first import goes to main, not {branch}"
            )
        with store.sink.transaction():
            if store.key_of(dataset) is None:  # another import may have made it meanwhile
                store.create(dataset, key)
        have = store.key_of(dataset) or []
    if key and key != have:
        raise DatasetError(
            f"dataset {dataset} is keyed on ({', '.join(have) or 'row content'}), not "
            f"({', '.join(key)})",
            hint="leave --key out, or import into another dataset",
        )
    return have


def _stage_name(dataset: str, branch: str, source: str) -> str:
    where = os.path.abspath(source) if source != "-" else source
    digest = hashlib.sha256(f"{dataset}\0{branch}\0{where}".encode()).hexdigest()[:16]
    return f"_chute_dstage_{digest}"


def _changes_from_stage(
    db: SqlSink, head: Head, stage: str, columns: list[str], key: list[str]
) -> None:
    """The changes that make ``head`` into the stage's rows, into :data:`CHANGES`."""
    q = db.q
    postgres = head.state.postgres
    content = _digest(postgres, [f"s.{q(c)}" for c in sorted(columns)])
    cols = "".join(f", s.{q(c)}" for c in columns)
    if key:
        ident = _digest(postgres, [f"s.{q(k)}" for k in key])
        hashed = f"SELECT {ident} AS _id, {content} AS _h{cols} FROM {q(stage)} s"
    else:  # identity by content: the n-th copy of a row is row (content, n)
        n = "s._h || ':' || s._n" if postgres else "s._h, s._n"
        ident = f"md5({n})" if postgres else f"chute_digest({n})"
        inner = "".join(f", s.{q(c)}" for c in columns)
        hashed = (
            f"SELECT {ident} AS _id, s._h{cols} FROM (SELECT s._h, row_number() OVER "
            f"(PARTITION BY s._h) AS _n{inner} FROM (SELECT {content} AS _h{inner} "
            f"FROM {q(stage)} s) s) s"
        )
    news = "".join(f", n.{q(c)}" for c in columns)
    head.state.make_temp(
        CHANGES,
        f"SELECT coalesce(n._id, c._id) AS _id, n._h AS _h, c._h AS old_h{news} "
        f"FROM {head.state.side(hashed, '_chute_ds_new')} n FULL OUTER JOIN "
        f"{head.state.side(head.state.rows(head.position, []), '_chute_ds_old')} c "
        f"ON n._id = c._id WHERE {head.state.differs('n._h', 'c._h')}",
    )


def _digest(postgres: bool, exprs: list[str]) -> str:
    if postgres:
        return f"md5(ROW({', '.join(exprs)})::text)"
    return f"chute_digest({', '.join(exprs)})"
