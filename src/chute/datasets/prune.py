"""Deleting branches and tags.

A deleted branch loses its name and its view at once.  Its commits and versions go too,
unless another ref still reaches one of its commits (it was merged, or a tag names one of
them) or a deleted branch made from it is kept: then the branch is kept without a name
(retired), so that history stays readable by commit id and ``NAME~N``.  ``main`` and a
branch other branches were made from are refused.
"""

from __future__ import annotations

from typing import Any

from chute.datasets.revs import History
from chute.datasets.store import MAIN, DatasetError, Store, versions_table, view_name


def delete_branch(store: Store, dataset: str, name: str) -> dict[str, Any]:
    sink = store.sink
    with sink.transaction():
        store.lock(dataset)
        history = History(store, dataset)
        if name == MAIN:
            raise DatasetError(f"main of {dataset} cannot be deleted", hint="delete another branch")
        branch = history.branch(name)
        children = sorted(b.name for b in history.branches.values() if b.parent_id == branch.id)
        if children:
            raise DatasetError(
                f"branch {name} of {dataset} has branches made from it: {', '.join(children)}",
                hint="delete those first",
            )
        reached: set[int] = set()
        for other in history.branches.values():
            if other.id != branch.id:
                reached |= history.ancestors(other.head_seq)
        for seq in history.tags.values():
            reached |= history.ancestors(seq)
        mine = {s for s, c in history.commits.items() if c.branch_id == branch.id}
        under = any(r.parent_id == branch.id for r in history.retired.values())
        sink.execute(f"DROP VIEW IF EXISTS {sink.q(view_name(dataset, name))}")
        if mine & reached or under:
            store.retire(dataset, branch)
            return {"branch": name, "deleted": True, "commits_kept": len(mine), "versions": 0}
        versions = store.purge_branch(dataset, branch, versions_table(dataset))
        return {"branch": name, "deleted": True, "commits_kept": 0, "commits": len(mine),
                "versions": versions}  # fmt: skip


def delete_tag(store: Store, dataset: str, name: str) -> dict[str, Any]:
    with store.sink.transaction():
        store.lock(dataset)
        history = History(store, dataset)
        if name not in history.tags:
            known = ", ".join(sorted(history.tags)) or "none"
            raise DatasetError(f"{dataset} has no tag {name!r} (tags: {known})")
        commit = history.commits[history.tags[name]]
        store.drop_tag(dataset, name)
    return {"tag": name, "deleted": True, "commit": commit.id}
