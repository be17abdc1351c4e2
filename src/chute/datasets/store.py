"""Where a versioned dataset keeps its history, in the database it versions.

Three tables serve every dataset of a database, and one table of versions serves each:

- ``_chute_datasets``: a dataset's name, its key columns (none: rows are identified by their
  content) and the next commit sequence number, handed out under the row's lock;
- ``_chute_ds_refs``: branches and tags.  A branch has an id, its parent branch and the
  sequence number it forked at, and its head; a tag names a commit;
- ``_chute_ds_commits``: one row per commit: its id, branch, parents, message, time, what it
  changed and the columns the dataset had;
- ``_chute_v_<name>``: one row per version of a row.  ``_id`` is the row's identity (a
  digest of its key, or of its content and the occurrence of that content), ``_h`` the
  digest of its content (NULL: deleted on this branch), ``_b`` the branch, ``_from`` and
  ``_to`` the commits it is valid between (``_to`` NULL: still valid), then the dataset's
  columns.  A commit writes a row per row added or changed, and closes a row per row
  changed or removed: the cost of the change, never of the dataset.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from chute.errors import ConfigError
from chute.sinks.names import check_table_name
from chute.sinks.sql.sql_sink import SqlSink

DATASETS = "_chute_datasets"
REFS = "_chute_ds_refs"
COMMITS = "_chute_ds_commits"
MAIN = "main"
#: the dataset's own columns of its versions table
SYSTEM_COLUMNS = ("_id", "_h", "_b", "_from", "_to")
#: names a dataset's columns cannot have: the system columns and the change set's own
RESERVED_COLUMNS = (*SYSTEM_COLUMNS, "_old_h", "_n")


class DatasetError(ConfigError):
    """An unknown dataset, revision or branch; a refused merge; a ref that makes no sense."""


@dataclass(frozen=True)
class Commit:
    seq: int
    id: str
    branch_id: int
    parent_seq: int | None
    merge_seq: int | None
    message: str
    created_at: str
    added: int
    changed: int
    removed: int
    #: the dataset's columns at this commit: (name, declared type)
    columns: tuple[tuple[str, str], ...]

    @property
    def short(self) -> str:
        return self.id[:12]

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "seq": self.seq,
            "parents": [p for p in (self.parent_seq, self.merge_seq) if p],
            "message": self.message,
            "created_at": self.created_at,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "columns": [c for c, _ in self.columns],
        }


@dataclass(frozen=True)
class Branch:
    name: str
    id: int
    parent_id: int | None
    fork_seq: int
    head_seq: int


_COMMIT_COLUMNS = (
    "seq, id, branch_id, parent_seq, merge_seq, message, created_at, added, changed, "
    "removed, columns"
)


def versions_table(dataset: str) -> str:
    return f"_chute_v_{dataset}"


def view_name(dataset: str, branch: str) -> str:
    """The view of ``branch``'s head: ``<dataset>`` for main, ``<dataset>__<branch>``."""
    if branch == MAIN:
        return dataset
    return f"{dataset}__" + "".join(ch if ch.isalnum() else "_" for ch in branch)


def index_name(dataset: str, suffix: str) -> str:
    """A name for one of the dataset's indexes: short, and no other dataset's."""
    return f"_chute_i_{hashlib.sha1(dataset.encode()).hexdigest()[:20]}_{suffix}"


def check_dataset_name(name: str) -> str:
    check_table_name(name)
    if len(versions_table(name)) > 63:
        raise ConfigError(f"dataset name {name!r} is too long", hint="at most 54 characters")
    if "__" in name:
        raise ConfigError(
            f"dataset name {name!r} holds '__', which names the views of branches "
            "(<dataset>__<branch>)",
            hint="choose a name without a double underscore",
        )
    return name


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Store:
    """The bookkeeping tables of the datasets in the database of ``sink``."""

    def __init__(self, sink: SqlSink) -> None:
        self.sink = sink
        self.postgres = sink.dialect.name == "postgresql"

    def ensure(self) -> None:
        x = self.sink.execute
        with self.sink.transaction():
            x(
                f"CREATE TABLE IF NOT EXISTS {DATASETS} (name text PRIMARY KEY, "
                "key_columns text NOT NULL, next_seq bigint NOT NULL, created_at text NOT NULL, "
                "search_columns text)"
            )
            x(
                f"CREATE TABLE IF NOT EXISTS {REFS} (dataset text NOT NULL, name text NOT NULL,"
                " kind text NOT NULL, branch_id integer, parent_id integer, fork_seq bigint, "
                "head_seq bigint NOT NULL, PRIMARY KEY (dataset, name))"
            )
            x(
                f"CREATE TABLE IF NOT EXISTS {COMMITS} (dataset text NOT NULL, seq bigint NOT "
                "NULL, id text NOT NULL, branch_id integer NOT NULL, parent_seq bigint, "
                "merge_seq bigint, message text NOT NULL, created_at text NOT NULL, added "
                "bigint NOT NULL, changed bigint NOT NULL, removed bigint NOT NULL, columns "
                "text NOT NULL, PRIMARY KEY (dataset, seq))"
            )
            x(f"CREATE UNIQUE INDEX IF NOT EXISTS _chute_ds_commit_ids ON {COMMITS} (dataset, id)")

    # -- datasets

    def key_of(self, dataset: str) -> list[str] | None:
        """The dataset's key columns ([] without a key); None: no such dataset."""
        rows = self.sink.execute(f"SELECT key_columns FROM {DATASETS} WHERE name = ?", [dataset])
        return list(json.loads(rows[0][0])) if rows else None

    def require(self, dataset: str) -> list[str]:
        key = self.key_of(dataset) if self.sink.describe(DATASETS) is not None else None
        if key is None:
            raise DatasetError(
                f"no dataset {dataset!r} in {self.sink.display_url}",
                hint=f"import a file first: chute load FILE --dataset {dataset}",
            )
        return key

    def datasets(self) -> list[str]:
        if self.sink.describe(DATASETS) is None:
            return []
        return [r[0] for r in self.sink.execute(f"SELECT name FROM {DATASETS} ORDER BY name")]

    def create(self, dataset: str, key: list[str]) -> None:
        """Make the dataset (no commit yet; ``main`` at the empty commit 0), in the open
        transaction."""
        self.sink.execute(
            f"INSERT INTO {DATASETS} (name, key_columns, next_seq, created_at) VALUES "
            "(?, ?, 1, ?) ON CONFLICT DO NOTHING",  # two first imports at once: one makes it
            [dataset, json.dumps(key), now()],
        )
        self.sink.execute(
            f"INSERT INTO {REFS} (dataset, name, kind, branch_id, parent_id, fork_seq, "
            "head_seq) VALUES (?, ?, 'branch', 1, NULL, 0, 0) ON CONFLICT DO NOTHING",
            [dataset, MAIN],
        )

    def versions_written(self, dataset: str) -> int:
        """At most how many rows the dataset's versions table holds: the versions its
        commits wrote (a removal writes a tombstone on a branch, nothing on main)."""
        rows = self.sink.execute(
            f"SELECT coalesce(sum(added + changed + removed), 0) FROM {COMMITS} WHERE dataset = ?",
            [dataset],
        )
        return int(rows[0][0])

    def lock(self, dataset: str) -> int:
        """Lock the dataset until the transaction ends (changes of its commits and refs are
        made one at a time, of two datasets at once); its next commit sequence number."""
        lock = " FOR UPDATE" if self.postgres else ""
        rows = self.sink.execute(f"SELECT next_seq FROM {DATASETS} WHERE name = ?{lock}", [dataset])
        if not rows:
            raise DatasetError(f"dataset {dataset!r} was dropped meanwhile")
        return int(rows[0][0])

    def take_seq(self, dataset: str) -> int:
        """Lock the dataset and hand out its next commit sequence number."""
        seq = self.lock(dataset)
        self.sink.execute(f"UPDATE {DATASETS} SET next_seq = ? WHERE name = ?", [seq + 1, dataset])
        return seq

    # -- refs

    def branches(self, dataset: str) -> dict[str, Branch]:
        return {b.name: b for b in self._branches(dataset, "branch")}

    def retired(self, dataset: str) -> dict[int, Branch]:
        """Deleted branches whose commits other refs still reach (merged, or under a
        deleted branch made from them), by id: their versions stay readable."""
        return {b.id: b for b in self._branches(dataset, "retired")}

    def _branches(self, dataset: str, kind: str) -> list[Branch]:
        rows = self.sink.execute(
            f"SELECT name, branch_id, parent_id, fork_seq, head_seq FROM {REFS} "
            "WHERE dataset = ? AND kind = ?",
            [dataset, kind],
        )
        return [Branch(r[0], int(r[1]), r[2], int(r[3] or 0), int(r[4])) for r in rows]

    def retire(self, dataset: str, branch: Branch) -> None:
        """Take branch ``branch``'s name away, keep its id, fork and commits (its name
        becomes ``NAME@ID``, which no ref can be named)."""
        self.sink.execute(
            f"UPDATE {REFS} SET kind = 'retired', name = ? WHERE dataset = ? AND name = ? "
            "AND kind = 'branch'",
            [f"{branch.name}@{branch.id}", dataset, branch.name],
        )

    def purge_branch(self, dataset: str, branch: Branch, versions: str) -> int:
        """Delete branch ``branch``, its commits and its versions (in table ``versions``);
        how many versions went."""
        (n,) = self.sink.execute(
            f"SELECT count(*) FROM {self.sink.q(versions)} WHERE _b = ?", [branch.id]
        )[0]
        self.sink.execute(f"DELETE FROM {self.sink.q(versions)} WHERE _b = ?", [branch.id])
        self.sink.execute(
            f"DELETE FROM {COMMITS} WHERE dataset = ? AND branch_id = ?", [dataset, branch.id]
        )
        self.sink.execute(
            f"DELETE FROM {REFS} WHERE dataset = ? AND name = ? AND kind = 'branch'",
            [dataset, branch.name],
        )
        return int(n)

    def drop_tag(self, dataset: str, name: str) -> None:
        self.sink.execute(
            f"DELETE FROM {REFS} WHERE dataset = ? AND name = ? AND kind = 'tag'", [dataset, name]
        )

    def tags(self, dataset: str) -> dict[str, int]:
        rows = self.sink.execute(
            f"SELECT name, head_seq FROM {REFS} WHERE dataset = ? AND kind = 'tag'", [dataset]
        )
        return {r[0]: int(r[1]) for r in rows}

    def add_ref(
        self, dataset: str, name: str, kind: str, seq: int, branch: Branch | None = None
    ) -> None:
        check_ref_name(name)
        taken = self.sink.execute(
            f"SELECT kind FROM {REFS} WHERE dataset = ? AND name = ?", [dataset, name]
        )
        if taken:
            raise DatasetError(f"{dataset} already has a {taken[0][0]} named {name!r}")
        branch_id = parent_id = fork = None
        if kind == "branch":
            view = view_name(dataset, name)
            if len(view.encode()) > 63:
                raise DatasetError(
                    f"branch name {name!r} is too long: its view {view} would pass 63 bytes"
                )
            for other in self.branches(dataset):
                if view_name(dataset, other) == view:
                    raise DatasetError(
                        f"branch {name!r} would share the view {view} with branch {other!r}",
                        hint="choose a name that differs in more than - . / and _",
                    )
            assert branch is not None
            (top,) = self.sink.execute(
                f"SELECT max(branch_id) FROM {REFS} WHERE dataset = ?", [dataset]
            )[0]
            branch_id, parent_id, fork = int(top or 1) + 1, branch.id, seq  # retired too
        self.sink.execute(
            f"INSERT INTO {REFS} (dataset, name, kind, branch_id, parent_id, fork_seq, "
            "head_seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [dataset, name, kind, branch_id, parent_id, fork, seq],
        )

    def move_head(self, dataset: str, branch: str, parent: int, seq: int) -> None:
        """Compare and swap: ``branch`` goes from ``parent`` to ``seq``, or nothing moves."""
        moved = self.sink.execute(
            f"UPDATE {REFS} SET head_seq = ? WHERE dataset = ? AND name = ? AND kind = "
            "'branch' AND head_seq = ? RETURNING name",
            [seq, dataset, branch, parent],
        )
        if len(moved) != 1:
            raise DatasetError(
                f"the head of {dataset}/{branch} moved during this commit",
                hint="run it again: it is made on top of the new head",
            )

    # -- commits

    def commits(self, dataset: str) -> dict[int, Commit]:
        rows = self.sink.execute(
            f"SELECT {_COMMIT_COLUMNS} FROM {COMMITS} WHERE dataset = ?", [dataset]
        )
        return {int(r[0]): _commit(r) for r in rows}

    def add_commit(self, dataset: str, commit: Commit) -> None:
        c = commit
        self.sink.execute(
            f"INSERT INTO {COMMITS} (dataset, {_COMMIT_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                dataset, c.seq, c.id, c.branch_id, c.parent_seq, c.merge_seq, c.message,
                c.created_at, c.added, c.changed, c.removed, json.dumps(c.columns),
            ],
        )  # fmt: skip


def _commit(row: tuple[object, ...]) -> Commit:
    seq, cid, branch, parent, merge, message, at, added, changed, removed, columns = row
    return Commit(
        int(str(seq)), str(cid), int(str(branch)),
        int(str(parent)) if parent is not None else None,
        int(str(merge)) if merge is not None else None,
        str(message), str(at), int(str(added)), int(str(changed)), int(str(removed)),
        tuple((str(n), str(t)) for n, t in json.loads(str(columns))),
    )  # fmt: skip


def check_ref_name(name: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-/]{0,62}", name) or ".." in name:
        raise DatasetError(
            f"{name!r} is not a valid branch or tag name",
            hint="letters, digits, _ . - /, starting with a letter",
        )
    return name
