"""Three-way merges on keys, and reverts: change sets made from other positions.

A merge of FROM into a branch finds their last common commit (the base), the rows each side
changed since, and takes FROM's version of every row only FROM changed.  A row both sides
changed differently is a conflict: the merge is refused and the conflicts listed, unless
``prefer`` says whose version wins (``ours``: the branch's, ``theirs``: FROM's).

A revert undoes one commit on a branch: the rows it touched go back to their versions
before it, unless a later commit changed them again (a conflict, as for a merge).
"""

from __future__ import annotations

from chute.datasets.publish import Head
from chute.datasets.revs import History, Position
from chute.datasets.state import StateSql, content_digest
from chute.datasets.store import DatasetError

#: how many conflicting keys a refused merge names
SHOWN = 20


def merge_base(history: History, a: int, b: int) -> int:
    """The newest commit both ``a`` and ``b`` descend from (0: none)."""
    common = history.ancestors(a) & history.ancestors(b)
    return max(common, default=0)


def build_merge(head: Head, source: Position, key: list[str], prefer: str | None) -> None:
    """Put the changes of a merge of ``source`` into ``head`` into the changes table."""
    history, state = head.history, head.state
    base = history.position(merge_base(history, source.seq, head.position.seq))
    _changed_since(state, history, base, source, "_chute_t_theirs")
    _changed_since(state, history, base, head.position, "_chute_t_ours")
    conflicts = (
        "SELECT t._id FROM _chute_t_theirs t JOIN _chute_t_ours o ON o._id = t._id "
        f"WHERE {state.differs('t._h', 'o._h')}"
    )
    state.make_temp("_chute_t_conflicts", conflicts)
    _refuse_conflicts(state, source, key, prefer, "merge")
    take = "SELECT _id FROM _chute_t_theirs"
    if prefer == "ours":
        take += " WHERE _id NOT IN (SELECT _id FROM _chute_t_conflicts)"
    state.make_temp("_chute_t_take", take)
    _changes_to(head, source, "_chute_t_take")


def build_revert(head: Head, commit_seq: int, key: list[str], prefer: str | None) -> None:
    """Put the changes that undo commit ``commit_seq`` on ``head``'s branch into the
    changes table."""
    history, state = head.history, head.state
    commit = history.commits[commit_seq]
    if commit_seq not in history.ancestors(head.position.seq):
        raise DatasetError(f"commit {commit.short} is not on this branch: nothing to revert")
    after = history.position(commit_seq)
    before = history.position(commit.parent_seq or 0)
    touched = (
        f"SELECT DISTINCT _id FROM {state.q(state.table)} WHERE _b = {commit.branch_id} "
        f"AND (_from = {commit_seq} OR _to = {commit_seq})"
    )
    state.make_temp("_chute_t_take", touched)
    # a row changed again after the commit: reverting would lose that change
    state.make_temp(
        "_chute_t_conflicts",
        f"SELECT coalesce(x._id, y._id) AS _id FROM "
        f"{state.side(state.rows(after, [], only='_chute_t_take'), '_chute_t_a')} x "
        "FULL OUTER JOIN "
        f"{state.side(state.rows(head.position, [], only='_chute_t_take'), '_chute_t_b')} y "
        "ON x._id = y._id "
        f"WHERE {state.differs('x._h', 'y._h')}",
    )
    _refuse_conflicts(state, head.position, key, prefer, "revert")
    if prefer != "theirs":
        state.make_temp(
            "_chute_t_take2",
            "SELECT _id FROM _chute_t_take WHERE _id NOT IN (SELECT _id FROM _chute_t_conflicts)",
        )
        _changes_to(head, before, "_chute_t_take2")
    else:
        _changes_to(head, before, "_chute_t_take")


def _changed_since(
    state: StateSql, history: History, base: Position, pos: Position, into: str
) -> None:
    """Temp table ``into``: the ids of the rows that differ between ``base`` and ``pos``,
    with their digest at ``pos`` (NULL: removed)."""
    only = state.touched(history, base, pos)
    if only is None:
        state.make_temp(into, f"SELECT _id, _h FROM {state.q(state.table)} WHERE 1 = 0")
        return
    state.make_temp(into, f"SELECT _id, _hb AS _h FROM ({state.diff(base, pos, [], only)}) d")


def _refuse_conflicts(
    state: StateSql, pos: Position, key: list[str], prefer: str | None, what: str
) -> None:
    (n,) = state.sink.execute("SELECT count(*) FROM _chute_t_conflicts")[0]
    if not n or prefer is not None:
        return
    shown = key or []
    rows = (
        state.sink.execute(
            f"SELECT * FROM ({state.rows(pos, shown, only='_chute_t_conflicts', deleted=True)}) "
            f"s LIMIT {SHOWN}"
        )
        if shown
        else []
    )
    names = "; ".join(
        ", ".join(f"{k}={v!r}" for k, v in zip(shown, r[2:], strict=True)) for r in rows
    )
    listed = f": {names}{' …' if n > len(rows) else ''}" if names else ""
    flag = "--ours or --theirs" if what == "merge" else "--theirs (force)"
    raise DatasetError(
        f"{what} refused: {n} row(s) changed on both sides{listed}",
        hint=f"choose whose version wins with {flag}",
    )


def _changes_to(head: Head, source: Position, take: str) -> None:
    """The changes that give the rows ``take`` names their versions at ``source``.  Each
    version taken is digested again over the new commit's columns (the source's may be
    others): a version's digest is always that of its values under its commit's columns,
    as an import of the same rows would make it."""
    state, q = head.state, head.state.q
    cols = [c for c, _ in head.history.columns(source.seq)]
    have = set(cols)
    missing = [(c, t) for c, t in head.columns if c not in have]
    # a column the source has not: NULL, of its type (PostgreSQL makes a bare NULL text)
    nulls = "".join(
        f", CAST(NULL AS {t if state.postgres else 'text'}) AS {q(c)}" for c, t in missing
    )
    names = sorted(c for c, _ in head.columns)
    digest = content_digest(
        state.postgres, [f"r.{q(c)}" if c in have else "NULL" for c in names], names
    )
    kept = "".join(f", r.{q(c)}" for c in cols)
    rows = state.rows(source, cols, only=take)
    new = f"SELECT r._id, {digest} AS _h{kept}{nulls} FROM ({rows}) r"
    news = "".join(f", n.{q(c)}" for c in [*cols, *(c for c, _ in missing)])
    state.change_set(new, state.rows(head.position, [], only=take), news)
