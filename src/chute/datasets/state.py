"""The SQL that reads a dataset's rows at a position, and the rows two positions differ in.

A position's rows are those of its own branch valid at its commit, then those of the parent
branch valid at the fork that the branch has no version of (changed or deleted there), and
so on: a branch costs nothing to make and reads through to its parent.  A diff reads only
the rows touched by the commits one position has and the other has not (the
``_from``/``_to`` indexes find them), never the whole dataset.
"""

from __future__ import annotations

from collections.abc import Iterable

from chute.datasets.revs import History, Position
from chute.datasets.store import index_name, versions_table
from chute.sinks.sql.sql_sink import SqlSink

CANDIDATES = "_chute_t_cand"
#: a commit's change set (see chute.datasets.publish)
CHANGES = "_chute_t_chg"


class StateSql:
    """Queries over the versions table ``table`` (its user columns ``columns``)."""

    def __init__(self, sink: SqlSink, dataset: str) -> None:
        self.sink = sink
        self.q = sink.q
        self.dataset = dataset
        self.table = versions_table(dataset)
        self.postgres = sink.dialect.name == "postgresql"

    def _valid(self, alias: str, branch: int, seq: int, current: bool) -> str:
        s, a = int(seq), alias
        at = (
            f"{a}._to IS NULL"
            if current
            else f"{a}._from <= {s} AND ({a}._to IS NULL OR {a}._to > {s})"
        )
        return f"{alias}._b = {int(branch)} AND {at}"

    def rows(
        self,
        pos: Position,
        columns: Iterable[str],
        *,
        only: str | None = None,
        deleted: bool = False,
    ) -> str:
        """SELECT ``_id, _h`` and ``columns`` of the rows at ``pos`` (only those whose
        ``_id`` is in table ``only``; with ``deleted``, a branch's tombstones too, as rows
        whose ``_h`` is NULL)."""
        cols = "".join(f", v.{self.q(c)}" for c in columns)
        t = self.q(self.table)
        parts = []
        for i, (branch, seq) in enumerate(pos.levels):
            where = [self._valid("v", branch, seq, i == 0 and pos.head)]
            for j, (b2, s2) in enumerate(pos.levels[:i]):
                cond = self._valid("w", b2, s2, j == 0 and pos.head)
                where.append(f"NOT EXISTS (SELECT 1 FROM {t} w WHERE w._id = v._id AND {cond})")
            if not deleted:
                where.append("v._h IS NOT NULL")
            # ``only`` joined, never ``v._id IN (SELECT ...)``: SQLite 3.40 answers that with
            # rows outside a range on a later column of the index (tested)
            source = f"{only} o JOIN {t} v ON v._id = o._id" if only is not None else f"{t} v"
            parts.append(f"SELECT v._id, v._h{cols} FROM {source} WHERE {' AND '.join(where)}")
        return " UNION ALL ".join(parts)

    def touched(self, history: History, a: Position, b: Position) -> str | None:
        """Fill temp table :data:`CANDIDATES` with the ids of the rows the commits between
        ``a`` and ``b`` touched; None: no commit lies between them."""
        between = history.ancestors(a.seq) ^ history.ancestors(b.seq)
        if not between:
            return None
        by_branch: dict[int, list[int]] = {}
        for seq in between:
            by_branch.setdefault(history.commits[seq].branch_id, []).append(seq)
        ors = []
        t = self.q(self.table)
        # two reads, one through each index; SQLite is told which (its statistics, taken
        # when every row had _from 1 and no _to, make it scan the table instead: 1.9 s at
        # 10M rows, benchmarks/RESULTS.md)
        by_from, by_to = (
            (t, t)
            if self.postgres
            else tuple(f"{t} INDEXED BY {self.q(index_name(self.dataset, s))}" for s in "ft")
        )
        for branch, seqs in sorted(by_branch.items()):
            listed = ", ".join(str(s) for s in sorted(seqs))
            ors.append(f"SELECT _id FROM {by_from} WHERE _b = {branch} AND _from IN ({listed})")
            ors.append(f"SELECT _id FROM {by_to} WHERE _b = {branch} AND _to IN ({listed})")
        self.make_temp(CANDIDATES, " UNION ".join(ors))
        return CANDIDATES

    def side(self, select: str, name: str, on: str = "_id") -> str:
        """``select`` as one side of a join on ``_id``: inline on PostgreSQL (it hashes),
        a temp table indexed on ``_id`` on SQLite (whose FULL JOIN of two subqueries scans
        one side for each row of the other)."""
        if self.postgres:
            return f"({select})"
        self.make_temp(name, select)
        self.sink.execute(f"CREATE INDEX {name}_on ON {name} ({on})")
        return name

    def change_set(
        self, new: str, old: str, news: str, *, digest: str = "n._h", differs: str = ""
    ) -> None:
        """Fill :data:`CHANGES` from ``new`` (SELECT ``_id``, ``_h`` and the new values)
        and ``old`` (SELECT ``_id``, ``_h``): each row whose digest differs, with its
        ``_id``, new ``_h`` (NULL: removed), ``_old_h`` (NULL: added) and ``news`` (the
        columns of ``n`` to keep, each as ``, n."c"``).  A change set by value gives
        ``differs`` (which rows differ) and ``digest`` (the new ``_h``, of those only)."""
        self.make_temp(
            CHANGES,
            f"SELECT coalesce(n._id, c._id) AS _id, {digest} AS _h, c._h AS _old_h{news} "
            f"FROM {self.side(new, '_chute_t_new')} n FULL OUTER JOIN "
            f"{self.side(old, '_chute_t_old')} c ON n._id = c._id "
            f"WHERE {differs or self.differs('n._h', 'c._h')}",
        )

    def make_temp(self, name: str, select: str) -> None:
        self.sink.execute(f"DROP TABLE IF EXISTS {name}")
        self.sink.execute(f"CREATE TEMP TABLE {name} AS {select}")

    def differs(self, left: str, right: str) -> str:
        """SQL: the digests ``left`` and ``right`` differ (either may be NULL)."""
        return f"{left} IS DISTINCT FROM {right}" if self.postgres else f"{left} IS NOT {right}"

    def diff(self, a: Position, b: Position, columns: list[str], only: str) -> str:
        """SELECT, for each row that differs between ``a`` and ``b`` among ``only``:
        ``_id``, ``_ha``, ``_hb``, then ``columns`` at ``a`` and ``columns`` at ``b``."""
        cols_a = "".join(f", a.{self.q(c)}" for c in columns)
        cols_b = "".join(f", b.{self.q(c)}" for c in columns)
        return (
            f"SELECT coalesce(a._id, b._id) AS _id, a._h AS _ha, b._h AS _hb{cols_a}{cols_b} "
            f"FROM {self.side(self.rows(a, columns, only=only), '_chute_t_a')} a "
            f"FULL OUTER JOIN {self.side(self.rows(b, columns, only=only), '_chute_t_b')} b "
            "ON a._id = b._id "
            f"WHERE {self.differs('a._h', 'b._h')}"
        )


def content_digest(postgres: bool, exprs: list[str], names: list[str]) -> str:
    """SQL: the digest of a row's values and the names of their columns (a renamed column
    is a change)."""
    label = "'" + ",".join(names).replace("'", "''") + "'"
    if postgres:
        return f"md5({label} || ROW({', '.join(exprs)})::text)"
    return f"chute_digest({label}, {', '.join(exprs)})"
