"""The Python API of a versioned dataset: ``chute.dataset(url, "orders")``.

Every method answers in plain values (dicts, lists, an Arrow table for a diff) that the CLI
prints as a table or as JSON.  Imports go through :func:`chute.load` with ``dataset=``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from chute.config import DEFAULT_CONNECT_TIMEOUT, DEFAULT_INTO
from chute.datasets.checkout import to_file, to_table
from chute.datasets.diff import Diff, diff
from chute.datasets.importer import dataset_sink
from chute.datasets.merge import build_merge, build_revert
from chute.datasets.prune import delete_branch, delete_tag
from chute.datasets.publish import Head, Publisher, view_name
from chute.datasets.revs import History
from chute.datasets.search import Search
from chute.datasets.state import StateSql
from chute.datasets.store import MAIN, Commit, DatasetError, Store
from chute.sinks import open_sink


class Dataset:
    """Dataset ``name`` in the database at ``into``; use it as a context manager (or call
    :meth:`close`)."""

    def __init__(
        self, into: str, name: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    ) -> None:
        self.name = name
        self.sink = dataset_sink(open_sink(into, connect_timeout=connect_timeout))
        self.sink.connect()
        self.store = Store(self.sink)
        self.store.require(name)  # an unknown dataset says so at once
        self.state = StateSql(self.sink, name)

    def close(self) -> None:
        self.sink.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def history(self) -> History:
        return History(self.store, self.name)

    # -- reading

    def log(self, rev: str = MAIN, limit: int | None = None) -> list[dict[str, Any]]:
        """The commits of ``rev`` back to the first, newest first (first parents)."""
        h = self.history()
        pos = h.resolve(rev)
        return [c.as_dict() for c in h.first_parents(pos.seq)[:limit]]

    def diff(self, a: str, b: str) -> Diff:
        """The rows that differ between revisions ``a`` and ``b``."""
        h = self.history()
        pa_, pb = h.resolve(a), h.resolve(b)
        self.sink.begin()
        try:
            return diff(self.state, h, pa_, pb)
        finally:
            self.sink.rollback()  # the temp tables go with it

    def checkout(self, rev: str, *, table: str | None = None, to: str | None = None) -> int:
        """Write the rows of ``rev`` into a new ``table`` of the same database, or into
        file ``to``; returns how many rows."""
        if (table is None) == (to is None):
            raise DatasetError("check out into a table or into a file: give one of them")
        h = self.history()
        pos = h.resolve(rev)
        columns = h.columns(pos.seq)
        if table is not None:
            return to_table(self.state, pos, columns, table)
        assert to is not None
        return to_file(self.state, pos, columns, to)

    def branches(self) -> list[dict[str, Any]]:
        h = self.history()
        return [
            {"branch": b.name, "head": c.id if (c := h.commit(b.head_seq)) else None,
             "view": view_name(self.name, b.name)}
            for b in sorted(h.branches.values(), key=lambda b: b.id)
        ]  # fmt: skip

    def tags(self) -> list[dict[str, Any]]:
        h = self.history()
        return [
            {"tag": name, "commit": c.id if (c := h.commit(seq)) else None}
            for name, seq in sorted(h.tags.items())
        ]

    # -- the search table

    def enable_search(self, columns: list[str] | None = None) -> dict[str, Any]:
        """Make main's search table over ``columns`` (default: the text columns), kept up
        to date by every later commit on main."""
        return Search(self.state, self.name).enable(self.history(), columns)

    def search(self, words: str, limit: int = 100) -> list[dict[str, Any]]:
        """Main's rows that hold every word of ``words`` (at most ``limit``)."""
        names, rows = Search(self.state, self.name).find(self.history(), words, limit)
        return [dict(zip(names, row, strict=True)) for row in rows]

    # -- refs

    def branch(self, name: str, from_: str = MAIN) -> dict[str, Any]:
        """Make branch ``name`` at revision ``from_``: O(1), whatever the dataset's size;
        its head is readable as view ``<dataset>__<name>``."""
        with self.sink.transaction():
            self.store.lock(self.name)  # one change of the refs at a time
            h = self.history()
            pos = h.resolve(from_)
            parent = next(b for b in h.branches.values() if b.id == pos.levels[0][0])
            self.store.add_ref(self.name, name, "branch", pos.seq, parent)
            h = self.history()
            Publisher(self.sink, self.store, self.name).make_view(
                name, [c for c, _ in h.columns(pos.seq)], h
            )
        commit = h.commit(pos.seq)
        return {"branch": name, "head": commit.id if commit else None,
                "view": view_name(self.name, name)}  # fmt: skip

    def delete_branch(self, name: str) -> dict[str, Any]:
        """Delete branch ``name`` and its view; its commits and versions go with it unless
        another ref reaches them (see :mod:`chute.datasets.prune`)."""
        return delete_branch(self.store, self.name, name)

    def delete_tag(self, name: str) -> dict[str, Any]:
        return delete_tag(self.store, self.name, name)

    def tag(self, name: str, rev: str = MAIN) -> dict[str, Any]:
        with self.sink.transaction():
            self.store.lock(self.name)
            h = self.history()
            pos = h.resolve(rev)
            if not pos.seq:
                raise DatasetError(f"{rev} has no commit to tag")
            self.store.add_ref(self.name, name, "tag", pos.seq)
        return {"tag": name, "commit": h.commits[pos.seq].id}

    # -- commits from other commits

    def merge(
        self, from_: str, into: str = MAIN, *, prefer: str | None = None, message: str = ""
    ) -> dict[str, Any]:
        """Merge revision ``from_`` into branch ``into`` (three-way on keys); conflicts
        refuse the merge unless ``prefer`` is ``"ours"`` or ``"theirs"``."""
        _check_prefer(prefer)
        h = self.history()
        source = h.resolve(from_)
        target = h.branch(into)
        if source.seq in h.ancestors(target.head_seq):
            return self._result(into, None, "already merged: nothing to do")
        key = h.key

        def columns(now: History) -> list[tuple[str, str]]:  # both sides as they are now
            return _union(now.columns(now.branch(into).head_seq), now.columns(merged(now)))

        def merged(now: History) -> int:
            return now.resolve(from_).seq

        def build(head: Head) -> None:
            build_merge(head, head.history.resolve(from_), key, prefer)

        commit, _ = Publisher(self.sink, self.store, self.name).commit(
            into, columns, build, message=message or f"merge {from_} into {into}",
            merged=merged,
        )  # fmt: skip
        return self._result(into, commit, "already merged: nothing to do")

    def revert(
        self, rev: str, branch: str = MAIN, *, prefer: str | None = None, message: str = ""
    ) -> dict[str, Any]:
        """Undo commit ``rev`` on ``branch`` with a new commit."""
        _check_prefer(prefer)
        h = self.history()
        seq = h.resolve(rev).seq
        if not seq:
            raise DatasetError(f"{rev} has no commit to revert")

        def columns(now: History) -> list[tuple[str, str]]:
            return now.columns(now.branch(branch).head_seq)

        commit, _ = Publisher(self.sink, self.store, self.name).commit(
            branch, columns, lambda head: build_revert(head, seq, h.key, prefer),
            message=message or f"revert {h.commits[seq].short}",
        )  # fmt: skip
        return self._result(branch, commit, "nothing to revert: the rows are as before it")

    def _result(self, branch: str, commit: Commit | None, none: str = "") -> dict[str, Any]:
        if commit is None:
            return {"branch": branch, "commit": None, "note": none}
        return {"branch": branch, **commit.as_dict()}


def dataset(
    into: str = DEFAULT_INTO, name: str = "", *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> Dataset:
    """Open dataset ``name`` in the database at ``into``."""
    return Dataset(into, name, connect_timeout=connect_timeout)


def _check_prefer(prefer: str | None) -> None:
    if prefer not in (None, "ours", "theirs"):
        raise DatasetError(f"prefer must be 'ours' or 'theirs', not {prefer!r}")


def _union(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> list[tuple[str, str]]:
    have = {c for c, _ in a}
    return a + [(c, t) for c, t in b if c not in have]
