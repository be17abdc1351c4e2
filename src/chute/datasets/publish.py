"""A commit: a change set written as versions, in one short transaction.

Whatever makes it (an import, a merge, a revert), a commit is a temp table of changes,
``_chute_t_chg``: each changed row's ``_id``, its new digest ``_h`` (NULL: removed), its old
one ``_old_h`` (NULL: added) and its new values.  :class:`Publisher` locks the dataset, lets
the caller fill that table against the branch's head, and then, only if anything changed:
closes the branch's versions of the changed rows, inserts the new versions (and on a branch
with a parent, a tombstone per removed row, so the parent's row does not show through),
records the commit and moves the branch's head by compare-and-swap.  Nothing is written
before the lock, so a killed commit leaves the dataset as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from chute.datasets.revs import History, Position
from chute.datasets.search import Search
from chute.datasets.state import CHANGES, StateSql
from chute.datasets.store import (
    MAIN,
    RESERVED_COLUMNS,
    Commit,
    DatasetError,
    Store,
    index_name,
    now,
    versions_table,
    view_name,
)
from chute.engine.faults import fault
from chute.sinks.sql.sql_sink import SqlSink

__all__ = ["CHANGES", "Counts", "Head", "Publisher", "view_name"]


@dataclass(frozen=True)
class Counts:
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.removed


@dataclass
class Head:
    """What a change set is built against: the branch's head, under the dataset's lock."""

    history: History
    position: Position
    seq: int  # the new commit's number
    branch_id: int
    state: StateSql
    #: the new commit's columns (name, declared type): each new version's digest is over them
    columns: list[tuple[str, str]]


BuildChanges = Callable[[Head], None]
#: a commit's columns (name, declared type), or what gives them from the history read
#: under the dataset's lock (a merge's: the union of both sides' as they are then)
ColumnsOf = list[tuple[str, str]] | Callable[[History], list[tuple[str, str]]]


class Publisher:
    def __init__(self, sink: SqlSink, store: Store, dataset: str) -> None:
        self.sink = sink
        self.store = store
        self.dataset = dataset
        self.table = versions_table(dataset)
        self.state = StateSql(sink, dataset)

    def commit(
        self,
        branch: str,
        columns_of: ColumnsOf,
        build: BuildChanges,
        *,
        message: str,
        merged: Callable[[History], int] | None = None,
    ) -> tuple[Commit | None, Counts]:
        """Make a commit on ``branch`` whose dataset has ``columns_of`` (name, declared
        type) from the changes ``build`` puts in :data:`CHANGES`; a merge commit whose
        second parent ``merged`` gives.  What depends on the history is read under the
        lock.  ``(None, counts)`` when nothing changed (no commit is made)."""
        sink = self.sink
        with sink.transaction(commit=False):
            seq = self.store.take_seq(self.dataset)  # the dataset's lock, to the end
            if self.state.postgres:  # digests of ROW(...)::text: the same text every time
                for setting in _STABLE_TEXT:
                    sink.execute(f"SET LOCAL {setting}")
            history = History(self.store, self.dataset)
            target = history.branch(branch)
            parent = target.head_seq
            columns = columns_of(history) if callable(columns_of) else columns_of
            merge_seq = merged(history) if merged is not None else None
            if merge_seq is not None and merge_seq in history.ancestors(parent):
                sink.rollback()  # merged meanwhile, by another merge
                return None, Counts()
            retyped = self.ensure_columns(columns, history)
            at = history.position(parent, target)
            head = Head(history, at, seq, target.id, self.state, columns)
            build(head)
            counts = self._counts()
            if counts.total == 0 and merge_seq is None:
                sink.rollback()
                return None, counts
            self._write(target.id, seq, tombstones=target.parent_id is not None, columns=columns)
            if branch == MAIN:
                Search(self.state, self.dataset).apply([c for c, _ in columns])
            commit = Commit(
                seq=seq,
                id=_commit_id(self.dataset, seq, history.commit(parent), message),
                branch_id=target.id,
                parent_seq=parent or None,
                merge_seq=merge_seq,
                message=message,
                created_at=now(),
                added=counts.added,
                changed=counts.changed,
                removed=counts.removed,
                columns=tuple(columns),
            )
            self.store.add_commit(self.dataset, commit)
            self.store.move_head(self.dataset, branch, parent, seq)
            before = history.commit(parent)
            if retyped:  # every view was dropped to retype its column: all made again
                for other, b in history.branches.items():
                    if other != branch:
                        self.make_view(other, [c for c, _ in history.columns(b.head_seq)], history)
            if retyped or before is None or list(before.columns) != columns:
                self.make_view(branch, [c for c, _ in columns], history)
            fault("dataset-written")
            sink.commit()
        # the first versions of a branch: the planner must learn the branch is there, or it
        # reads through to the parent by a nested loop over all of them (4.2 s instead of 0.3
        # s for a merge of 10,000 rows, benchmarks/RESULTS.md)
        self._analyze(counts, first_on_branch=before is None or before.branch_id != target.id)
        return commit, counts

    def _analyze(self, counts: Counts, *, first_on_branch: bool) -> None:
        """Fresh statistics after a commit that changed much (the first, an import of a
        new file) or gave a branch its first versions: without them the planner reads a
        branch's head by a nested loop.  The table's size comes from the commits, not from
        counting its rows."""
        if first_on_branch or counts.total * 5 >= self.store.versions_written(self.dataset):
            self.sink.execute(f"ANALYZE {self.sink.q(self.table)}")

    # -- the versions table

    def ensure_columns(self, columns: list[tuple[str, str]], history: History) -> bool:
        """Create the versions table, add columns it lacks and retype (to text) a column
        whose type changed, so that every version of every commit fits; True: a column was
        retyped (PostgreSQL), and the views that read it were dropped to let it."""
        q = self.sink.q
        postgres = self.state.postgres
        for name, _ in columns:
            if name in RESERVED_COLUMNS:
                raise DatasetError(
                    f"column {name!r} is reserved in a dataset "
                    f"({', '.join(RESERVED_COLUMNS)} are chute's own)",
                    hint="rename it in the input",
                )
        have = {c.name: c.declared.lower() for c in self.sink.describe(self.table) or []}
        retyped = False
        t = q(self.table)
        if not have:
            cols = "".join(f", {q(n)} {decl if postgres else ''}" for n, decl in columns)
            self.sink.execute(
                f"CREATE TABLE {t} (_id text NOT NULL, _h text, _b integer NOT NULL, "
                f"_from bigint NOT NULL, _to bigint{cols})"
            )
            where = " WHERE _to IS NULL" if postgres else ""
            for suffix, cols in (("cur", "_b, _id"), ("id", "_id, _b, _from"),
                                 ("f", "_b, _from"), ("t", "_b, _to")):  # fmt: skip
                name = q(index_name(self.dataset, suffix))
                self.sink.execute(
                    f"CREATE INDEX {name} ON {t} ({cols}){where if suffix == 'cur' else ''}"
                )
        else:
            for name, declared in columns:
                if name not in have:
                    self.sink.execute(
                        f"ALTER TABLE {t} ADD COLUMN {q(name)} {declared if postgres else ''}"
                    )
                elif postgres and have[name] != declared.lower() and have[name] != "text":
                    if not retyped:
                        for other in history.branches:
                            view = q(view_name(self.dataset, other))
                            self.sink.execute(f"DROP VIEW IF EXISTS {view}")
                    retyped = True
                    # each value as the digests printed it (its output function), not as
                    # its cast to text: true is 't', an inet has no '/32'
                    c = q(name)
                    self.sink.execute(
                        f"ALTER TABLE {t} ALTER COLUMN {c} TYPE text USING "
                        f"CASE WHEN {c} IS NULL THEN NULL ELSE format('%s', {c}) END"
                    )
        self.sink.forget_table(self.table)
        return retyped

    def _counts(self) -> Counts:
        (added, changed, removed) = self.sink.execute(
            "SELECT "
            "coalesce(sum(CASE WHEN _old_h IS NULL THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(CASE WHEN _old_h IS NOT NULL AND _h IS NOT NULL THEN 1 ELSE 0 END), 0), "
            f"coalesce(sum(CASE WHEN _h IS NULL THEN 1 ELSE 0 END), 0) FROM {CHANGES}"
        )[0]
        return Counts(int(added), int(changed), int(removed))

    def _write(
        self, branch: int, seq: int, *, tombstones: bool, columns: list[tuple[str, str]]
    ) -> None:
        q, t, x = self.sink.q, self.sink.q(self.table), self.sink.execute
        current = f"_b = {int(branch)} AND _to IS NULL"
        if self.state.postgres:
            closing = f"{current} AND _id IN (SELECT _id FROM {CHANGES})"
        else:  # by rowid from a join: see StateSql.rows on SQLite's IN (SELECT ...)
            closing = (
                f"rowid IN (SELECT v.rowid FROM {CHANGES} c JOIN {t} v ON v._id = c._id "
                f"AND v.{current.replace(' AND ', ' AND v.')})"
            )
        x(f"UPDATE {t} SET _to = {int(seq)} WHERE {closing}")
        cols = "".join(f", {q(c)}" for c, _ in columns)
        x(
            f"INSERT INTO {t} (_id, _h, _b, _from{cols}) SELECT _id, _h, {int(branch)}, "
            f"{int(seq)}{cols} FROM {CHANGES} WHERE _h IS NOT NULL"
        )
        if tombstones:
            x(
                f"INSERT INTO {t} (_id, _h, _b, _from) SELECT _id, NULL, {int(branch)}, "
                f"{int(seq)} FROM {CHANGES} WHERE _h IS NULL"
            )

    # -- the head, as a view

    def make_view(self, branch: str, columns: list[str], history: History) -> None:
        """(Re)make the view that shows ``branch``'s head: ``<dataset>`` for main,
        ``<dataset>__<branch>`` for another."""
        target = history.branch(branch)
        pos = history.position(target.head_seq, target)
        pos = Position(pos.levels, pos.seq, head=True)
        name = view_name(self.dataset, branch)
        found = self.sink.execute(self.sink.dialect.relation_of, [name])
        if found and (found[0][0] != "view" or self.table not in str(found[0][1])):
            raise DatasetError(
                f"a table named {name} is in the way of dataset {self.dataset}'s view of {branch}",
                hint="rename or drop that table, or use another dataset name",
            )
        self.sink.execute(f"DROP VIEW IF EXISTS {self.sink.q(name)}")
        if not columns:  # a branch of a dataset with no commit yet: a view once it has one
            return
        cols = ", ".join(self.sink.q(c) for c in columns)
        select = self.state.rows(pos, columns)
        self.sink.execute(f"CREATE VIEW {self.sink.q(name)} AS SELECT {cols} FROM ({select}) s")


#: the settings that decide how PostgreSQL writes values as text (and so their digests)
_STABLE_TEXT = (
    "TimeZone = 'UTC'",
    "DateStyle = 'ISO, YMD'",
    "IntervalStyle = 'postgres'",
    "extra_float_digits = 1",
    "bytea_output = 'hex'",
    # the change set's hash join of a whole file with the head, in memory, not in batches
    # spilled to disk (1M rows: 7.2 s with the default 4MB, 5.2 s; benchmarks/RESULTS.md)
    "work_mem = '256MB'",
)


def _commit_id(dataset: str, seq: int, parent: Commit | None, message: str) -> str:
    text = f"{dataset}\0{seq}\0{parent.id if parent else ''}\0{now()}\0{message}"
    return hashlib.sha1(text.encode()).hexdigest()
