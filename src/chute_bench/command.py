"""The ``chute bench`` command (``chute.cli`` hands it its arguments when the extra is
installed): options, the run, the table on stdout, errors as one line and an exit code."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import chute_bench.chart  # noqa: F401  (matplotlib: without the bench extra this fails here)
from chute import ChuteError, exit_code
from chute_bench.records import SAMPLE_ROWS, SAMPLE_SECONDS
from chute_bench.runner import DEFAULT_ROWS, JSON_NAME, PNG_NAME, run_bench
from chute_bench.show import notes, render_table

__all__ = ["bench_command", "main"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def bench_command(
    into: Annotated[
        str,
        typer.Option(
            envvar="CHUTE_INTO",
            help="Database URL to measure on: sqlite:///path.db, postgresql://user@host/db, "
            "mysql://user@host/db (or mariadb://) or duckdb:///path.duckdb.",
        ),
    ],
    rows: Annotated[int, typer.Option(help="Records each strategy loads.")] = DEFAULT_ROWS,
    sample_rows: Annotated[
        int,
        typer.Option(
            help="Rows the INSERT + COMMIT per row strategy writes before its time is "
            f"extrapolated (it also stops after {SAMPLE_SECONDS:.0f} s)."
        ),
    ] = SAMPLE_ROWS,
    out: Annotated[Path, typer.Option(help=f"Folder for {PNG_NAME} and {JSON_NAME}.")] = Path("."),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Measure the ways of loading rows into your database, side by side, in one run."""

    def progress(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    try:
        report = run_bench(into, rows=rows, out=out, sample_rows=sample_rows, progress=progress)
    except ChuteError as exc:
        if debug:
            traceback.print_exc()
        _print_error(str(exc), exc.hint)
        raise typer.Exit(exit_code(exc)) from None
    except KeyboardInterrupt:
        _print_error("interrupted", None)
        raise typer.Exit(exit_code(KeyboardInterrupt())) from None
    except Exception as exc:  # a bug: say so, with the traceback only on request
        if debug:
            traceback.print_exc()
        _print_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug and report the traceback",
        )
        raise typer.Exit(1) from None
    console = Console(soft_wrap=False)
    if not console.is_terminal:
        console = Console(width=max(console.width, 130))
    console.print(render_table(report))
    for note in notes(report):
        console.print(note, highlight=False)
    console.print(f"wrote {report.json_path} and {report.png_path}", highlight=False)


def main(args: Sequence[str], prog_name: str = "chute bench") -> int:
    """Run the command on ``args``; its exit code (usage errors are 2, as click's)."""
    command = typer.main.get_command(app)
    try:
        command.main(args=list(args), prog_name=prog_name, standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def _print_error(message: str, hint: str | None) -> None:
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
