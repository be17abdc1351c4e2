"""Revisions: what ``main``, ``v1``, ``3f2a9c``, ``main~3`` and ``@2026-12-01T10:00`` name.

A revision resolves to a :class:`Position`: a commit and the chain of branches its rows are
read through (its own branch up to the commit, then the parent branch up to the fork, and
so on up to ``main``).  Every name is checked against the commits: a ref that points at a
commit that is not there is a corrupted ref, said in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from chute.datasets.store import MAIN, Branch, Commit, DatasetError, Store


@dataclass(frozen=True)
class Position:
    """A dataset's state at one commit, as the versions table stores it."""

    #: (branch id, sequence number) from the commit's own branch up to the root branch
    levels: tuple[tuple[int, int], ...]
    #: the commit (0: before the first commit: nothing)
    seq: int
    #: the commit is its branch's head, so the rows valid there are those not closed
    head: bool


class History:
    """A dataset's branches, tags and commits, read once, to resolve revisions against."""

    def __init__(self, store: Store, dataset: str) -> None:
        self.dataset = dataset
        self.key = store.require(dataset)
        self.branches = store.branches(dataset)
        self.tags = store.tags(dataset)
        self.commits = store.commits(dataset)
        #: deleted branches that other refs still read through (kept, nameless)
        self.retired = store.retired(dataset)
        self._by_id = {**self.retired, **{b.id: b for b in self.branches.values()}}
        for name, branch in self.branches.items():
            self._check(f"branch {name}", branch.head_seq)
            if branch.parent_id is not None and branch.parent_id not in self._by_id:
                raise DatasetError(
                    f"branch {name} of {dataset} forks from a branch that does not exist "
                    "(corrupted ref)"
                )
        for name, seq in self.tags.items():
            self._check(f"tag {name}", seq)

    def _check(self, what: str, seq: int) -> None:
        if seq and seq not in self.commits:
            raise DatasetError(
                f"{what} of {self.dataset} points at commit #{seq}, which does not exist "
                "(corrupted ref)",
                hint="point it at a commit that exists, or delete it",
            )

    # -- names

    def branch(self, name: str) -> Branch:
        if name not in self.branches:
            known = ", ".join(sorted(self.branches))
            raise DatasetError(f"{self.dataset} has no branch {name!r} (branches: {known})")
        return self.branches[name]

    def commit(self, seq: int) -> Commit | None:
        return self.commits.get(seq)

    def resolve(self, rev: str) -> Position:
        """The position ``rev`` names; an unknown one is a :class:`DatasetError`."""
        rev = rev.strip()
        steps = 0
        if m := re.fullmatch(r"(.+?)~(\d*)", rev):
            rev, steps = m.group(1), int(m.group(2) or 1)
        seq, branch = self._named(rev)
        for _ in range(steps):
            commit = self.commits.get(seq)
            if commit is None or not commit.parent_seq:
                raise DatasetError(f"{rev}~{steps}: {self.dataset} has no commit that far back")
            seq, branch = commit.parent_seq, None
        return self.position(seq, branch)

    def _named(self, rev: str) -> tuple[int, Branch | None]:
        if "@" in rev:
            name, _, when = rev.partition("@")
            return self._at_time(self.branch(name or MAIN), when), None
        if rev in self.branches:
            b = self.branches[rev]
            return b.head_seq, b
        if rev in self.tags:
            return self.tags[rev], None
        if re.fullmatch(r"[0-9a-f]{4,40}", rev):
            found = [c.seq for c in self.commits.values() if c.id.startswith(rev)]
            if len(found) == 1:
                return found[0], None
            if len(found) > 1:
                raise DatasetError(f"commit id {rev!r} of {self.dataset} is ambiguous")
        raise DatasetError(
            f"{self.dataset} has no revision {rev!r}",
            hint="a branch, a tag, a commit id (or its first 4+ characters), NAME~N or @TIME",
        )

    def _at_time(self, branch: Branch, when: str) -> int:
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            raise DatasetError(f"{when!r} is not a time (write it as 2026-12-01T10:00)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        for commit in self.first_parents(branch.head_seq):
            if datetime.fromisoformat(commit.created_at) <= moment:
                return commit.seq
        raise DatasetError(f"{self.dataset}/{branch.name} had no commit at {when}")

    # -- walks

    def first_parents(self, seq: int) -> list[Commit]:
        """The commits from ``seq`` back to the first, along first parents (newest first)."""
        out = []
        while seq:
            commit = self.commits[seq]
            out.append(commit)
            seq = commit.parent_seq or 0
        return out

    def ancestors(self, seq: int) -> set[int]:
        """``seq`` and every commit before it, through both parents of a merge."""
        seen: set[int] = set()
        todo = [seq]
        while todo:
            s = todo.pop()
            if s and s not in seen:
                seen.add(s)
                c = self.commits[s]
                todo += [p for p in (c.parent_seq, c.merge_seq) if p]
        return seen

    def position(self, seq: int, branch: Branch | None = None) -> Position:
        """The position of commit ``seq``, read through ``branch`` (default: the branch
        the commit was made on)."""
        if branch is None:
            commit = self.commits.get(seq)
            branch = self._by_id[commit.branch_id] if commit else self.branches[MAIN]
        levels = [(branch.id, seq)]
        b = branch
        while b.parent_id is not None:
            levels.append((b.parent_id, b.fork_seq))
            b = self._by_id[b.parent_id]
        return Position(tuple(levels), seq, head=seq == branch.head_seq)

    def columns(self, seq: int) -> list[tuple[str, str]]:
        commit = self.commits.get(seq)
        return list(commit.columns) if commit else []
