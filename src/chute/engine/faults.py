"""Fault points: a crash or a failure at the very instant where one could hurt, for tests.

The engine calls :func:`fault` with a point's name at each window between two steps that
must agree after a crash (the rows and their commit, the commit and the ack, a swap and its
completion mark).  Nothing is armed in normal runs, and then :func:`fault` returns at once
(one comparison).  A test arms one point, runs ``chute load`` or ``chute consume`` as a
subprocess, and checks that running the same command again ends as a clean run does::

    CHUTE_FAULT=before-commit:3:kill chute load orders.csv --into ... --batch-rows 100

``<point>:<nth>:<action>``: at the ``nth`` time the point is reached (counting from 1, in
this process), ``kill`` the process with SIGKILL (a crash: nothing is cleaned up, no
``finally`` runs) or ``raise`` a :class:`~chute.errors.SinkError` there (a database that
fails, e.g. a commit that fails).  The CLI reads ``CHUTE_FAULT`` once at start and calls
:func:`arm`; the engine reads no environment variable.  ``docs/testing.md`` lists the points.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from typing import Literal

from chute.errors import ConfigError, SinkError

#: every fault point, and the window it opens (see docs/testing.md)
POINTS: dict[str, str] = {
    "batch-written": "a batch's (or piece's) rows are written in its transaction; its rejects, "
    "checkpoint and ledger entries are not",
    "before-commit": "all of a batch's transaction is written (rows, checkpoint, ledger) and "
    "its rejects are in the reject file; the commit has not happened",
    "after-commit": "a batch is committed; it is not yet counted, dead-lettered or acked",
    "dead-lettered": "chute consume: a batch's dead letters are published and confirmed, in "
    "its transaction, before the commit (or, for messages refused before any table exists, "
    "before their ack)",
    "stage-published": "--atomic / --mode replace: the stage is swapped in or merged, in the "
    "publish transaction, before the completion mark",
    "completion-mark": "the load's completion mark is about to be written (in the publish "
    "transaction of a staged load; in a transaction of its own after a plain load's last batch)",
    "dataset-written": "a dataset commit's versions, commit row and head move are written in "
    "its transaction; the commit has not happened",
    "dataset-committed": "a dataset import's commit is made; its stage table is not yet dropped "
    "nor its checkpoint cleared",
    "rejects-forgotten": "a resumed load has rewritten the rejects of the earlier run that it "
    "will find again, and not yet put the new reject file in place",
}

#: the environment variable the CLI arms a fault from
ENV_VAR = "CHUTE_FAULT"

Action = Literal["kill", "raise"]
ACTIONS: tuple[Action, ...] = ("kill", "raise")
#: what the ``raise`` action raises carries this SQLSTATE (PostgreSQL's system_error)
INJECTED_SQLSTATE = "58000"


@dataclass
class _Armed:
    point: str
    nth: int
    action: Action
    seen: int = 0


_armed: _Armed | None = None
_lock = threading.Lock()


def parse(spec: str) -> tuple[str, int, Action]:
    """``point:nth:action`` (``nth`` and ``action`` optional: 1, kill)."""
    parts = spec.split(":")
    if not 1 <= len(parts) <= 3 or parts[0] not in POINTS:
        raise ConfigError(
            f"bad fault spec {spec!r}: want <point>:<nth>:<action>",
            hint=f"points: {', '.join(POINTS)}; actions: {', '.join(ACTIONS)}",
        )
    point = parts[0]
    try:
        nth = int(parts[1]) if len(parts) > 1 else 1
    except ValueError:
        nth = 0
    if nth < 1:
        raise ConfigError(f"bad fault spec {spec!r}: nth must be a whole number from 1")
    action = parts[2] if len(parts) > 2 else "kill"
    if action == "kill":
        return point, nth, "kill"
    if action == "raise":
        return point, nth, "raise"
    raise ConfigError(f"bad fault spec {spec!r}: the action is one of {', '.join(ACTIONS)}")


def arm(spec: str | None) -> None:
    """Arm the fault of ``spec`` (see :func:`parse`) for this process; None or "" disarms."""
    global _armed
    if not spec:
        _armed = None
        return
    point, nth, action = parse(spec)
    _armed = _Armed(point, nth, action)


def fault(point: str) -> None:
    """The fault point ``point``: nothing unless a test armed it (see the module's doc)."""
    armed = _armed
    if armed is None or armed.point != point:
        return
    with _lock:
        armed.seen += 1
        hit = armed.seen == armed.nth
    if not hit:
        return
    if armed.action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise SinkError(
        f"fault point {point} (hit {armed.nth}): injected failure", sqlstate=INJECTED_SQLSTATE
    )
