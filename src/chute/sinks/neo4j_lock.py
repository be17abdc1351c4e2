"""Two runs of one load into Neo4j exclude each other through a lease on a node.

Neo4j has no lock that ends with its connection (PostgreSQL's advisory locks, a Redis key
naming its client), so a load's lock is a node ``(:_ChuteLock {name})`` naming its holder
(pid, host, a token of its own) and when its lease runs out.  A thread renews the lease every
:data:`RENEW` seconds while the lock is held; release deletes the node.  Another run finds
the lock held unless its lease has run out, or its holder is a process of this host that is
gone (a run killed with -9, then run again, takes its lock over at once).

Taking is one ``MERGE`` on the name, which a unique constraint on ``_ChuteLock.name`` makes
safe against a run taking it at the same instant (a server without constraints, FalkorDB's
Bolt port, runs one write at a time); leases are timed by the server's clock.  A run whose
process stalls past the lease loses the lock to the next; it is told on its log, once, and
goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from chute.errors import ConfigError
from chute.sinks.locks import Holder, Taken

log = logging.getLogger(__name__)

LABEL = "_ChuteLock"
#: seconds a lease lasts, and between two renewals of it
LEASE = 60.0
RENEW = 10.0

# times are the server's (``timestamp()``, milliseconds), never two hosts' clocks compared;
# ``SET l.taking`` takes the node's write lock before its lease is read, so two runs taking
# over a lease that ran out at the same instant go one after the other
_TAKE = f"""
MERGE (l:{LABEL} {{name: $name}})
ON CREATE SET l.token = $token, l.pid = $pid, l.host = $host, l.until = timestamp() + $lease
SET l.taking = $token
FOREACH (_ IN CASE WHEN l.until < timestamp() OR l.token = $gone THEN [1] ELSE [] END |
    SET l.token = $token, l.pid = $pid, l.host = $host, l.until = timestamp() + $lease)
RETURN l.token, l.pid, l.host
"""
_RENEW = f"""
MATCH (l:{LABEL} {{name: $name}}) WHERE l.token = $token SET l.until = timestamp() + $lease
RETURN count(l)
"""
_DROP = f"MATCH (l:{LABEL} {{name: $name}}) WHERE l.token = $token DELETE l"
_CONSTRAINT = (
    f"CREATE CONSTRAINT chute_lock_name IF NOT EXISTS FOR (l:{LABEL}) REQUIRE l.name IS UNIQUE"
)


class LeaseLock:
    """The lock ``name`` held by this process, its lease renewed until :meth:`release`."""

    def __init__(self, driver: Any, database: str | None, name: str, token: str) -> None:
        self._driver = driver
        self._database = database
        self.name = name
        self.token = token
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name="chute-lock", daemon=True)
        self._renewer.start()

    @classmethod
    def take(cls, driver: Any, database: str | None, name: str, holder: Holder) -> LeaseLock:
        token = uuid.uuid4().hex
        gone = None  # the token of a holder found dead, to take over
        for _ in range(2):
            with driver.session(database=database) as session:
                row = session.run(
                    _TAKE,
                    name=name,
                    token=token,
                    pid=holder.pid,
                    host=holder.host,
                    lease=int(LEASE * 1000),
                    gone=gone,
                ).single()
            held, pid, host = row.values() if row is not None else (None, None, None)
            if held == token:
                return cls(driver, database, name, token)
            other = Holder(int(pid), str(host)) if isinstance(pid, int) else None
            if other is None or not _dead_here(other):
                raise Taken(other)
            gone = held
        raise Taken(None)

    def _renew(self) -> None:
        while not self._stop.wait(RENEW):
            try:
                with self._driver.session(database=self._database) as session:
                    kept = session.run(
                        _RENEW, name=self.name, token=self.token, lease=int(LEASE * 1000)
                    ).single()
            except Exception as exc:  # the load finds a lost server itself
                log.debug("could not renew the load lock: %s", exc)
                continue
            if kept is None or not kept.value():
                log.warning(
                    "the load's lock ran out (this process stalled past %.0f s) and another "
                    "run took it",
                    LEASE,
                )
                return

    def release(self) -> None:
        self._stop.set()
        self._renewer.join()
        try:
            with self._driver.session(database=self._database) as session:
                session.run(_DROP, name=self.name, token=self.token).consume()
        except Exception as exc:  # the lease runs out by itself
            log.debug("could not delete the load lock: %s", exc)


def ensure_lock_constraint(session: Any) -> None:
    """Make ``_ChuteLock.name`` unique (a server without constraints runs one write at a
    time: nothing to do there)."""
    from neo4j import exceptions as neo4j_errors

    try:
        session.run(_CONSTRAINT).consume()
    except neo4j_errors.DatabaseError:
        pass  # FalkorDB's Bolt port: no constraints, and one write at a time
    except neo4j_errors.ClientError as exc:
        raise ConfigError(
            f"cannot make {LABEL}.name unique, which keeps two runs of one load apart: "
            f"{exc.message or exc}",
            hint="give the user the right to create constraints, or create it once: " + _CONSTRAINT,
        ) from None


def _dead_here(holder: Holder) -> bool:
    """Whether ``holder`` is a process of this host that no longer runs."""
    if holder.host != socket.gethostname() or holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it runs, as another user
    return False
