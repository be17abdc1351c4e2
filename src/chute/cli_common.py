"""What the ``chute`` commands share: the Typer app, the options several commands take, and
how a run's errors, summary and report reach the terminal (one line on stderr, ``error:
...`` and maybe ``hint: ...``, and the exit code :func:`chute.exits.exit_code` gives;
``--debug`` shows the traceback)."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from chute.engine import faults
from chute.engine.observers import Observer
from chute.errors import ChuteError, ConfigError
from chute.exits import OK, completed_code, exit_code, signal_code
from chute.paths import check_writable
from chute.progress import JsonLog
from chute.report import LoadReport
from chute.signals import StopOnSignals, StoppedAtOnce, exit_now

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="chute moves records into databases fast and safely.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """chute moves records into databases fast and safely."""
    _arm_fault(os.environ.get(faults.ENV_VAR))


def _arm_fault(spec: str | None) -> None:
    """Tests crash chute at a chosen instant: ``CHUTE_FAULT`` (see docs/testing.md)."""
    try:
        faults.arm(spec)
    except ChuteError as exc:
        print_error(str(exc), exc.hint)
        raise typer.Exit(exit_code(exc)) from None


# Options shared by the commands, defined once.
Into = Annotated[
    str,
    typer.Option(
        envvar="CHUTE_INTO",
        help="Database URL: sqlite:///path.db or postgresql://user@host/db.",
    ),
]
Key = Annotated[str | None, typer.Option(help="Key column(s), comma-separated.")]
Workers = Annotated[
    int | None,
    typer.Option(
        envvar="CHUTE_WORKERS",
        help="Connections writing batches at once (default: 2 on PostgreSQL, 1 on SQLite); "
        "row order is then not kept.",
    ),
]
ReportPath = Annotated[Path | None, typer.Option(help="Write the JSON report to this file.")]
LogJson = Annotated[
    bool,
    typer.Option("--log-json", help="One JSON line per batch on stderr (and no progress bar)."),
]
ConnectTimeout = Annotated[
    float,
    typer.Option(
        envvar="CHUTE_CONNECT_TIMEOUT",
        help="Seconds to wait for the database (and the broker) to answer while connecting.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or status line.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
Graph = Annotated[
    str | None,
    typer.Option(
        "--graph",
        help="A mapping (YAML or JSON) of records to nodes and relationships, for a graph "
        "database (falkordb://, neo4j://, bolt://); see docs/graphs.md.",
    ),
]
RequireNodes = Annotated[
    bool,
    typer.Option(
        "--require-nodes",
        help="With --graph: reject a record whose relationship ends at a node that is not "
        "there (default: make the node with just its key).",
    ),
]


def observers_for(log_json: bool, quiet: bool, display: Callable[[], Observer]) -> list[Observer]:
    """JSON lines on stderr; or ``display`` (a progress bar, a status line) when stderr is a
    terminal and not ``quiet``; or nothing."""
    if log_json:
        return [JsonLog()]
    if not quiet and sys.stderr.isatty():
        return [display()]
    return []


def run_job(
    run: Callable[[], LoadReport], stopper: StopOnSignals, report: Path | None, debug: bool
) -> int:
    """Run a load or a consumer (stopped by Ctrl-C/SIGTERM in any phase); print the summary
    or a one-line error; write the JSON report; return the exit code."""
    result: LoadReport | None = None
    code = OK
    try:
        if report is not None:
            check_writable(report, "--report")  # before loading: nothing written if not
        result = stopper.run(run)
        code = completed_code(0 if result.nothing_to_do else result.rejected)
    except StoppedAtOnce as exc:  # the run is stuck in a driver: leave it behind
        print_error(
            str(exc),
            "batches committed before stay, a batch in hand does not; "
            "run the same command again to go on",
        )
        exit_now(signal_code(exc.signum))
    except ChuteError as exc:
        result = exc.report
        code = exit_code(exc, signum=stopper.received[-1] if stopper.received else None)
        if debug:
            traceback.print_exc()
        print_error(str(exc), exc.hint)
    except KeyboardInterrupt as exc:
        code = exit_code(exc)
        print_error("interrupted", None)
    except Exception as exc:  # a bug: say so, with the traceback only on request
        code = exit_code(exc)
        if debug:
            traceback.print_exc()
        print_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug and report the traceback",
        )
    if result is not None:
        if result.status == "completed" or result.batches:
            typer.echo(result.summary())
        if report is not None:
            try:
                report.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
            except OSError as exc:
                print_error(f"cannot write the report to {report}: {exc.strerror}", None)
                code = code or exit_code(ConfigError(str(exc)))
    return code


def stop_on_signals(what: str = "stopping after the batch in hand") -> StopOnSignals:
    """Ctrl-C or SIGTERM asks the load to stop after the batch in hand (it commits, with
    its checkpoint); a second one, or a run that does not stop soon, stops at once."""
    return StopOnSignals(lambda line: typer.echo(line, err=True), what)


def print_error(message: str, hint: str | None) -> None:
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
