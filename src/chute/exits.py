"""Exit codes: the one place that says which number a command exits with.

====  ==================================================================================
code  when
====  ==================================================================================
0     done
1     an internal error (a bug): run again with ``--debug`` and report the traceback
2     a wrong option, URL, table or column (:class:`~chute.errors.ConfigError`), a load
      that cannot be resumed (:class:`~chute.errors.ResumeError`)
3     the input cannot be read, or holds no records (:class:`~chute.errors.SourceError`)
4     more records rejected than ``--max-errors``, or every record read rejected
      (:class:`~chute.errors.TooManyRejectsError`, :class:`~chute.errors.NothingStoredError`)
5     the database (or the broker) failed, or cannot be reached
      (:class:`~chute.errors.SinkError`; a batch the database kept refusing for now)
6     done, and some records were rejected
7     another run of the same load is running (:class:`~chute.errors.LoadRunningError`)
128+N stopped by signal N: 130 for Ctrl-C, 143 for SIGTERM
====  ==================================================================================

Each error class says its code (``exit_code``); :func:`exit_code` is what the CLI asks.
"""

from __future__ import annotations

from chute.errors import ChuteError, Interrupted, RecordError, Refusal, SinkError

OK = 0
INTERNAL = 1
#: the run completed, and some records were rejected
COMPLETED_WITH_REJECTS = 6
#: stopped by Ctrl-C (SIGINT)
INTERRUPTED = 130


def exit_code(exc: BaseException, *, signum: int | None = None) -> int:
    """The exit code of a run that ended with ``exc``; ``signum``: the signal that asked
    the run to stop, if one did."""
    if isinstance(exc, (Interrupted, KeyboardInterrupt)) and signum is not None:
        return signal_code(signum)
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(exc, RecordError) and exc.refusal is Refusal.RETRY:
        return SinkError.exit_code  # refused for now (a deadlock): the database failed
    if isinstance(exc, ChuteError):
        return exc.exit_code
    return INTERNAL


def signal_code(signum: int) -> int:
    """The exit code of a run stopped by signal ``signum`` (the shell's 128 + N)."""
    return 128 + signum


def completed_code(rejected: int) -> int:
    """The exit code of a run that completed having rejected ``rejected`` records."""
    return COMPLETED_WITH_REJECTS if rejected else OK
