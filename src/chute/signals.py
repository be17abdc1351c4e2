"""Ctrl-C and SIGTERM for the command line, in every phase of a run.

The run (a load, a consumer) goes in a thread of its own, and the main thread only waits
for it: so a signal is handled at once even while the run is blocked inside a driver
(connecting to a server that does not answer, waiting for a lock, writing).  The first
signal asks the run to stop after the batch in hand (it commits, with its checkpoint, and
a queue consumer acks it); if the run has not stopped :data:`STOP_GRACE` seconds later, or
on a second signal, it is stopped at once: what was committed stays, the batch in hand is
not (a rerun resumes after the last commit, as after a crash).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: seconds a run may take to stop after the batch in hand, once asked to stop
STOP_GRACE = 5.0
_POLL = 0.1
_NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class StoppedAtOnce(Exception):
    """The run did not stop in time after a signal, or a second signal came."""

    def __init__(self, signum: int, reason: str) -> None:
        name = _NAMES.get(signum, f"signal {signum}")
        super().__init__(f"stopped at once on {name} ({reason})")
        self.signum = signum


class StopOnSignals:
    """Runs a job in a thread and turns Ctrl-C/SIGTERM into a stop request for it.

    ``event`` is the job's stop event (the ``cancel`` of :func:`chute.load`, the ``stop``
    of :func:`chute.consume`); ``received`` lists the signals, in order.  ``announce`` is
    told, once, what the first signal does.
    """

    def __init__(
        self, announce: Callable[[str], None], what: str, *, grace: float = STOP_GRACE
    ) -> None:
        self.event = threading.Event()
        self.received: list[int] = []
        self._announce = announce
        self._what = what
        self._grace = grace
        self._deadline: float | None = None

    def _handler(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            self.event.set()
            self._deadline = time.monotonic() + self._grace
            self._announce(f"{self._what} (again to stop at once)")

    def run(self, job: Callable[[], T]) -> T:
        """``job()``'s result, or its exception raised here; :class:`StoppedAtOnce` when a
        signal had to stop it at once (the job's thread is then left behind: exit soon)."""
        outcome: list[tuple[bool, object]] = []
        done = threading.Event()

        def target() -> None:
            try:
                outcome.append((True, job()))
            except BaseException as exc:  # handed to the main thread
                outcome.append((False, exc))
            finally:
                done.set()

        previous = {s: signal.signal(s, self._handler) for s in _NAMES}
        try:
            thread = threading.Thread(target=target, name="chute-run", daemon=True)
            thread.start()
            while not done.wait(_POLL):
                if len(self.received) > 1:
                    raise StoppedAtOnce(self.received[-1], "a second signal")
                if self._deadline is not None and time.monotonic() > self._deadline:
                    raise StoppedAtOnce(
                        self.received[-1],
                        f"it did not stop within {self._grace:g} s",
                    )
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        ok, value = outcome[0]
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]


def exit_now(code: int) -> None:
    """End the process at once (threads blocked in a driver cannot be joined)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
