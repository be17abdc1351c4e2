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
import re
import threading
from collections.abc import Sequence

from chute.config import LoadOptions
from chute.datasets.publish import CHANGES, Head, Publisher
from chute.datasets.state import content_digest
from chute.datasets.store import MAIN, DatasetError, Store, check_dataset_name
from chute.engine.faults import fault
from chute.engine.loader import Pipeline
from chute.engine.lock import exclude_others
from chute.engine.observers import Observer, guard_commit
from chute.engine.rejects import RejectStore
from chute.errors import ConfigError
from chute.report import LoadReport
from chute.sinks.contract import Mode, Sink
from chute.sinks.sql.sql_sink import ScratchTables, SqlSink, StreamsRows
from chute.sources.base import Resumable, Source


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
    lock = exclude_others(db, f"dataset\0{dataset}\0{branch}\0{source.name}", source.name, dataset)
    try:
        stage = _fresh_stage(db, dataset, branch, source, restart=options.restart)
        if isinstance(db, ScratchTables):  # no WAL for the stage: 10 % off the staging
            db.make_scratch(stage)
        db.connect()
        try:
            store = Store(db)
            store.ensure()
            key = _agree_on_key(store, dataset, list(options.key), branch)
        finally:
            db.close()  # the pipeline connects it again
        staged = LoadOptions(**{**vars(options), "key": tuple(key), "table": stage})
        pipeline = Pipeline(source, db, staged, stage, rejects, observers, cancel, must_store=True)
        report = pipeline.run()
        report.table = dataset
        columns = [(c.name, c.declared) for c in db.describe(stage) or []]
        if not columns:
            raise DatasetError(f"the stage of {source.name} is gone: run the import again")
        _check_stage(db, stage, source.name, report.written)
        commit, counts = Publisher(db, store, dataset).commit(
            branch,
            columns,
            lambda head: _guarded_changes(db, head, stage, columns, key, observers),
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


def _check_stage(db: SqlSink, stage: str, name: str, written: int) -> None:
    """The stage holds every row the import stored: an unlogged stage comes back empty
    after the database server crashed, while the checkpoints (logged) say otherwise."""
    (held,) = db.execute(f"SELECT count(*) FROM {db.q(stage)}")[0]
    if int(held) != written:
        raise DatasetError(
            f"the stage of {name} holds {int(held):,} rows where the import stored "
            f"{written:,}: the database lost them (did it restart after a crash?); nothing "
            "was committed",
            hint="run the import again with --restart",
        )


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


def _fresh_stage(db: SqlSink, dataset: str, branch: str, source: Source, *, restart: bool) -> str:
    """The stage table of this import: named after the dataset, the branch, the file and
    its fingerprint, so that a changed file never lands on the stage of its earlier version.
    Stages of earlier versions of the file are dropped, and so is this one when the import
    cannot resume (``--restart``, standard input)."""
    where = os.path.abspath(source.name) if source.name != "-" else source.name
    prefix = (
        "_chute_dstage_" + hashlib.sha256(f"{dataset}\0{branch}\0{where}".encode()).hexdigest()[:16]
    )
    mark = "0"
    if isinstance(source, Resumable) and source.resumable:
        mark = hashlib.sha256(source.fingerprint().encode()).hexdigest()[:10]
    resumable = mark != "0"
    stage = f"{prefix}_{mark}"
    db.connect()
    try:
        with db.transaction():  # committed: PostgreSQL's connection is not in autocommit
            for (name,) in db.execute(db.dialect.tables_like, [prefix + "%"]):
                if name.startswith(prefix) and (name != stage or restart or not resumable):
                    db.drop_table(name)
    finally:
        db.close()
    return stage


def _guarded_changes(
    db: SqlSink,
    head: Head,
    stage: str,
    typed: list[tuple[str, str]],
    key: list[str],
    observers: Sequence[Observer],
) -> None:
    """In the commit's transaction: the observers that guard commits agree (a service
    job's lease), then the change set."""
    guard_commit(observers, db)
    _changes_from_stage(db, head, stage, typed, key)


def _changes_from_stage(
    db: SqlSink, head: Head, stage: str, typed: list[tuple[str, str]], key: list[str]
) -> None:
    """The changes that make ``head`` into the stage's rows (``typed``: its columns and
    their declared types), into :data:`CHANGES`."""
    q, state = db.q, head.state
    postgres = state.postgres
    columns = [c for c, _ in typed]
    if key and _same_columns(db, head, typed):
        _changes_by_value(db, head, stage, typed, key)
        return
    content = content_digest(postgres, [f"s.{q(c)}" for c in sorted(columns)], sorted(columns))
    cols = "".join(f", s.{q(c)}" for c in columns)
    news = "".join(f", n.{q(c)}" for c in columns)
    if key:
        ident = _key_identity(postgres, [f"s.{q(k)}" for k in key])
        hashed = f"SELECT {ident} AS _id, {content} AS _h{cols} FROM {q(stage)} s"
        state.change_set(hashed, state.rows(head.position, []), news)
        return
    # identity by content: the rows of one content pair off, copy by copy, with the head's
    # copies of it; a copy left over is added (a new id) or removed (its id)
    hashed = (
        f"SELECT s._h, row_number() OVER (PARTITION BY s._h) AS _n{cols} FROM "
        f"(SELECT {content} AS _h{cols} FROM {q(stage)} s) s"
    )
    old = (
        "SELECT c._id, c._h, row_number() OVER (PARTITION BY c._h ORDER BY c._id) AS _n "
        f"FROM ({state.rows(head.position, [])}) c"
    )
    fresh = f"n._h || ':{int(head.seq)}:' || n._n" if postgres else f"n._h, {int(head.seq)}, n._n"
    ident = f"md5({fresh})" if postgres else f"chute_digest({fresh})"
    state.make_temp(
        CHANGES,
        f"SELECT coalesce(c._id, {ident}) AS _id, n._h AS _h, c._h AS _old_h{news} "
        f"FROM {state.side(hashed, '_chute_t_new', on='_h, _n')} n FULL OUTER JOIN "
        f"{state.side(old, '_chute_t_old', on='_h, _n')} c "
        "ON n._h = c._h AND n._n = c._n WHERE n._h IS NULL OR c._h IS NULL",
    )


#: PostgreSQL types (as format_type() names them) whose equal values always print the same
#: text, so that ``=`` decides what their digests would; other types are compared as text
#: (1.0 = 1.00 as numeric, -0 = 0 as a double, '1 day' = '24 hours' as an interval)
_EQUAL_PRINTS_EQUAL = re.compile(
    r"bigint|integer|smallint|text|boolean|uuid|date|bytea|character varying(\(\d+\))?"
    r"|numeric\(\d+,\d+\)|timestamp(\(\d\))? with(out)? time zone"
    r"|time(\(\d\))? without time zone"
)


#: float types, by the function that gives a value's bits
_FLOAT_SEND = {"double precision": "float8send", "real": "float4send"}


def _same_columns(db: SqlSink, head: Head, typed: list[tuple[str, str]]) -> bool:
    """The stage, the head's commit and the versions table have the same columns of the
    same types: their rows can be compared value by value."""
    at_head = head.history.columns(head.position.seq)
    if not at_head or sorted(map(tuple, at_head)) != sorted(typed):
        return False
    if not head.state.postgres:
        # SQLite's versions table declares no types (its values keep the storage class
        # they had in the stage that brought them): the head commit's columns decide
        return True
    stored = {c.name: c.declared for c in db.describe(head.state.table) or []}
    return all(stored.get(name) == declared for name, declared in typed)


def _changes_by_value(
    db: SqlSink, head: Head, stage: str, typed: list[tuple[str, str]], key: list[str]
) -> None:
    """The change set of a keyed import, by comparing the stage's values with the
    head's, column by column, and taking digests of the changed rows only: the same rows
    and digests as comparing digests, without digesting every staged row (1M rows: 2.5 s
    instead of 4.0 s on PostgreSQL; on SQLite, whose digest is a Python function, 1M calls
    of it took 8.5 s of a 14-15 s publish, benchmarks/RESULTS.md)."""
    q, state = db.q, head.state
    postgres = state.postgres
    names = sorted(c for c, _ in typed)
    column_differs = _differs if postgres else _differs_sqlite
    differs = " OR ".join(
        column_differs(f"n.{q(c)}", f"c.{q(c)}", declared) for c, declared in typed
    )
    ident = _key_identity(postgres, [f"s.{q(k)}" for k in key])
    cols = "".join(f", s.{q(c)}" for c, _ in typed)
    news = "".join(f", n.{q(c)}" for c, _ in typed)
    content = content_digest(postgres, [f"n.{q(c)}" for c in names], names)
    state.change_set(
        f"SELECT {ident} AS _id{cols} FROM {q(stage)} s",
        state.rows(head.position, names),
        news,
        digest=f"CASE WHEN n._id IS NOT NULL THEN {content} END",
        differs=f"n._id IS NULL OR c._id IS NULL OR {differs}",
    )


def _differs(new: str, old: str, declared: str) -> str:
    """SQL: the values ``new`` and ``old`` of a column of type ``declared`` would print
    differently (so their rows' digests differ)."""
    if _EQUAL_PRINTS_EQUAL.fullmatch(declared):
        return f"{new} IS DISTINCT FROM {old}"
    send = _FLOAT_SEND.get(declared)
    if send is not None:
        # equal floats print alike but for 0 and -0 (every NaN is equal and prints NaN):
        # their bits tell those apart without printing 2 × 1M doubles (0.5 s at 1M rows)
        return f"({new} IS DISTINCT FROM {old} OR ({new} = 0 AND {send}({new}) <> {send}({old})))"
    return f"CAST({new} AS text) IS DISTINCT FROM CAST({old} AS text)"


def _differs_sqlite(new: str, old: str, declared: str) -> str:
    """SQL (SQLite): ``new`` and ``old`` would digest differently.  The digest is the
    ``repr`` of the values (:mod:`chute.sinks.sql.digest`): it differs when the storage
    classes do (``1`` and ``1.0`` are equal to ``IS``), when the values do, and for 0.0
    and -0.0, which only the digest itself tells apart (asked of real zeros alone)."""
    return (
        f"({new} IS NOT {old} OR typeof({new}) IS NOT typeof({old}) OR "
        f"(typeof({new}) = 'real' AND {new} = 0 AND chute_digest({new}) IS NOT "
        f"chute_digest({old})))"
    )


def _key_identity(postgres: bool, keys: list[str]) -> str:
    """SQL: a row's identity from its key: the key as text (a number and its digits are
    the same key), no digest to compute; for a key of several columns, a digest of them."""
    if len(keys) == 1:
        return f"CAST({keys[0]} AS text)"
    if postgres:
        return f"md5(ROW({', '.join(keys)})::text)"
    return f"chute_digest({', '.join(f'CAST({k} AS text)' for k in keys)})"
