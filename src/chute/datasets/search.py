"""A dataset's search table: main's head, searchable by words, kept up to date by each
commit's change set (never rebuilt, never refreshed).

``chute search NAME --enable [--columns a,b]`` builds it once from main's head: one row per
row, its ``_id`` and a document of the chosen columns' values (default: the text columns).
Every later commit on main deletes the entries of the rows it changed or removed and inserts
those of the rows it changed or added, in its own transaction: the cost of the change.
PostgreSQL keeps the document as a ``tsvector`` under a GIN index (words, ``simple``
configuration); SQLite as lower-case text matched with ``LIKE``.
"""

from __future__ import annotations

import json
from typing import Any

from chute.datasets.revs import History
from chute.datasets.state import CHANGES, StateSql
from chute.datasets.store import DATASETS, MAIN, DatasetError, index_name


def search_table(dataset: str) -> str:
    return f"_chute_s_{dataset}"


class Search:
    def __init__(self, state: StateSql, dataset: str) -> None:
        self.state = state
        self.sink = state.sink
        self.dataset = dataset
        self.table = search_table(dataset)

    def columns(self) -> list[str] | None:
        """The columns the search covers; None: the dataset has no search table."""
        rows = self.sink.execute(
            f"SELECT search_columns FROM {DATASETS} WHERE name = ?", [self.dataset]
        )
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def _doc(self, alias: str, columns: list[str]) -> str:
        values = [f"CAST({alias}.{self.sink.q(c)} AS text)" for c in columns]
        if self.state.postgres:
            return f"to_tsvector('simple', concat_ws(' ', {', '.join(values)}))"
        return "lower(" + " || ' ' || ".join(f"coalesce({v}, '')" for v in values) + ")"

    def enable(self, history: History, columns: list[str] | None) -> dict[str, Any]:
        """Build the search table from main's head (once); returns what it covers."""
        head = history.branch(MAIN)
        have = history.columns(head.head_seq)
        if not have:
            raise DatasetError(f"{self.dataset} has no commit on main to search yet")
        names = [c for c, _ in have]
        if columns is None:
            columns = [
                c for c, t in have if t.lower() in ("text", "varchar") or "char" in t.lower()
            ]
            columns = columns or names
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise DatasetError(f"{self.dataset} has no column(s) {', '.join(unknown)} to search")
        q, t = self.sink.q, self.sink.q(self.table)
        doc_type = "tsvector" if self.state.postgres else "text"
        with self.sink.transaction():
            self.sink.execute(f"DROP TABLE IF EXISTS {t}")
            self.sink.execute(f"CREATE TABLE {t} (_id text PRIMARY KEY, _doc {doc_type})")
            pos = history.position(head.head_seq, head)
            self.sink.execute(
                f"INSERT INTO {t} (_id, _doc) SELECT s._id, {self._doc('s', columns)} FROM "
                f"({self.state.rows(pos, columns)}) s"
            )
            if self.state.postgres:
                name = q(index_name(self.dataset, "doc"))
                self.sink.execute(f"CREATE INDEX {name} ON {t} USING gin (_doc)")
            self.sink.execute(
                f"UPDATE {DATASETS} SET search_columns = ? WHERE name = ?",
                [json.dumps(columns), self.dataset],
            )
            (n,) = self.sink.execute(f"SELECT count(*) FROM {t}")[0]
        return {"dataset": self.dataset, "columns": columns, "rows": int(n)}

    def apply(self, present: list[str]) -> None:
        """In a commit on main: bring the search table up to date with :data:`CHANGES`
        (whose columns are ``present``)."""
        columns = self.columns()
        if columns is None:
            return
        t = self.sink.q(self.table)
        self.sink.execute(f"DELETE FROM {t} WHERE _id IN (SELECT _id FROM {CHANGES})")
        kept = [c for c in columns if c in present]
        doc = self._doc("c", kept) if kept else "NULL"
        self.sink.execute(
            f"INSERT INTO {t} (_id, _doc) SELECT c._id, {doc} FROM {CHANGES} c "
            "WHERE c._h IS NOT NULL"
        )

    def find(
        self, history: History, words: str, limit: int
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Main's rows whose document holds every word of ``words``."""
        if self.columns() is None:
            raise DatasetError(
                f"{self.dataset} has no search table",
                hint=f"make one: chute search {self.dataset} --enable",
            )
        head = history.branch(MAIN)
        names = [c for c, _ in history.columns(head.head_seq)]
        q, v = self.sink.q, self.sink.q(self.state.table)
        cols = ", ".join(f"v.{q(c)}" for c in names)
        if self.state.postgres:
            match, params = "s._doc @@ plainto_tsquery('simple', ?)", [words]
        else:
            terms = words.lower().split() or [""]
            match = " AND ".join("s._doc LIKE ? ESCAPE '\\'" for _ in terms)
            params = [f"%{_escape(w)}%" for w in terms]
        rows = self.sink.execute(
            f"SELECT {cols} FROM {q(self.table)} s JOIN {v} v ON v._id = s._id AND v._b = "
            f"{head.id} AND v._to IS NULL AND v._h IS NOT NULL WHERE {match} LIMIT {int(limit)}",
            params,
        )
        return names, rows


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
