"""The dataset commands: ``chute log``, ``diff``, ``checkout``, ``branch``, ``tag``,
``merge`` and ``revert``, a thin layer over :class:`chute.datasets.dataset.Dataset` (an
import is ``chute load FILE --dataset NAME``).  Each prints lines for people, or with
``--json`` one JSON document."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import pyarrow.csv as pacsv
import typer

from chute import config
from chute.cli_common import ConnectTimeout, Debug, Into, app, print_error
from chute.errors import ChuteError
from chute.exits import exit_code

if TYPE_CHECKING:  # imported when a dataset command runs: not for every command's start
    from chute.datasets.dataset import Dataset
    from chute.datasets.diff import Diff

Name = Annotated[str, typer.Argument(help="The dataset.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Ours = Annotated[bool, typer.Option("--ours", help="On a conflict, keep the branch's version.")]
Theirs = Annotated[bool, typer.Option("--theirs", help="On a conflict, take the other version.")]
Message = Annotated[str, typer.Option("--message", "-m", help="The commit's message.")]


def _run(into: str, name: str, timeout: float, debug: bool, act: Callable[[Dataset], Any]) -> None:
    """Open the dataset, act, map an error to one line and its exit code."""
    from chute.datasets.dataset import Dataset

    try:
        with Dataset(into, name, connect_timeout=timeout) as ds:
            act(ds)
    except ChuteError as exc:
        if debug:
            traceback.print_exc()
        print_error(str(exc), exc.hint)
        raise typer.Exit(exit_code(exc)) from None


def _emit(as_json: bool, value: Any, line: str) -> None:
    typer.echo(json.dumps(value, default=str) if as_json else line)


def _prefer(ours: bool, theirs: bool) -> str | None:
    if ours and theirs:
        print_error("--ours and --theirs exclude each other", None)
        raise typer.Exit(2)
    return "ours" if ours else "theirs" if theirs else None


@app.command("log")
def log_command(
    name: Name,
    rev: Annotated[str, typer.Argument(help="Where to start (default: main).")] = "main",
    limit: Annotated[int | None, typer.Option("-n", help="At most this many commits.")] = None,
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """The commits of a dataset, newest first."""

    def act(ds: Dataset) -> None:
        commits = ds.log(rev, limit)
        if as_json:
            typer.echo(json.dumps(commits))
            return
        if not commits:
            typer.echo(f"{name}: no commits yet")
        for c in commits:
            merge = " (merge)" if len(c["parents"]) > 1 else ""
            typer.echo(
                f"{c['id'][:12]}  {c['created_at'][:19]}  +{c['added']:,} ~{c['changed']:,} "
                f"-{c['removed']:,}  {c['message']}{merge}"
            )

    _run(into, name, connect_timeout, debug, act)


@app.command("diff")
def diff_command(
    name: Name,
    a: Annotated[str, typer.Argument(help="The revision before.")],
    b: Annotated[str, typer.Argument(help="The revision after.")] = "main",
    stat: Annotated[
        bool, typer.Option("--stat", help="Only the counts and schema changes.")
    ] = False,
    format: Annotated[str, typer.Option("--format", help="table | jsonl | csv")] = "table",
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """The rows that differ between two revisions (added, removed, changed)."""
    if format not in ("table", "jsonl", "csv"):
        print_error(f"--format must be table, jsonl or csv, not {format!r}", None)
        raise typer.Exit(2)

    def act(ds: Dataset) -> None:
        d = ds.diff(a, b)
        if as_json:
            out = {"stat": d.stat()} if stat else {"stat": d.stat(), "changes": d.records()}
            typer.echo(json.dumps(out, default=str))
        elif stat:
            _print_stat(d)
        elif format == "csv":
            pacsv.write_csv(d.table(), sys.stdout.buffer)
        elif format == "jsonl":
            for rec in d.records():
                typer.echo(json.dumps(rec, default=str))
        else:
            _print_rows(d)

    _run(into, name, connect_timeout, debug, act)


def _print_stat(d: Diff) -> None:
    s = d.stat()
    typer.echo(f"{s['added']:,} added, {s['changed']:,} changed, {s['removed']:,} removed")
    for column, n in sorted(s["changed_by_column"].items()):
        typer.echo(f"  {column}: {n:,} changed")
    for column in s["columns_added"]:
        typer.echo(f"column added: {column}")
    for column in s["columns_removed"]:
        typer.echo(f"column removed: {column}")
    for r in s["columns_retyped"]:
        typer.echo(f"column retyped: {r['column']} {r['from']} → {r['to']}")


def _print_rows(d: Diff) -> None:
    for rec in d.records():
        row = ", ".join(f"{k}={v!r}" for k, v in rec["row"].items())
        sign = {"added": "+", "removed": "-", "changed": "~"}[rec["change"]]
        before = rec.get("before")
        was = f"  (was {', '.join(f'{k}={v!r}' for k, v in before.items())})" if before else ""
        typer.echo(f"{sign} {row}{was}")


@app.command("checkout")
def checkout_command(
    name: Name,
    rev: Annotated[str, typer.Argument(help="The revision.")],
    table: Annotated[str | None, typer.Option(help="A new table of the same database.")] = None,
    to: Annotated[str | None, typer.Option(help="A file: .csv, .jsonl or .parquet.")] = None,
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """Write a revision's rows into a new table or a file."""

    def act(ds: Dataset) -> None:
        n = ds.checkout(rev, table=table, to=to)
        where = f"table {table}" if table else to
        _emit(
            as_json,
            {"rows": n, "rev": rev, "table": table, "to": to},
            f"checked out {n:,} rows of {name} at {rev} into {where}",
        )

    _run(into, name, connect_timeout, debug, act)


@app.command("branch")
def branch_command(
    name: Name,
    branch: Annotated[str | None, typer.Argument(help="The new branch (none: list them).")] = None,
    from_: Annotated[str, typer.Option("--from", help="Where it starts.")] = "main",
    delete: Annotated[bool, typer.Option("--delete", help="Delete the branch instead.")] = False,
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """Make a branch (at no cost, whatever the size), delete one, or list the branches."""

    def act(ds: Dataset) -> None:
        if delete:
            if branch is None:
                from chute.datasets.store import DatasetError

                raise DatasetError("--delete needs the branch to delete")
            gone = ds.delete_branch(branch)
            kept = gone["commits_kept"]
            what = (
                f"its {kept} commit(s) stay, since other refs reach them"
                if kept
                else f"its {gone['commits']} commit(s) and {gone['versions']:,} versions are gone"
            )
            _emit(as_json, gone, f"deleted branch {branch} of {name}: {what}")
            return
        if branch is None:
            found = ds.branches()
            lines = "\n".join(
                f"{b['branch']}  {(b['head'] or '(empty)')[:12]}  view {b['view']}" for b in found
            )
            _emit(as_json, found, lines)
            return
        made = ds.branch(branch, from_)
        _emit(
            as_json,
            made,
            f"made branch {branch} of {name} at "
            f"{(made['head'] or 'the empty start')[:12]}; its head is view {made['view']}",
        )

    _run(into, name, connect_timeout, debug, act)


@app.command("tag")
def tag_command(
    name: Name,
    tag: Annotated[str | None, typer.Argument(help="The new tag (none: list them).")] = None,
    rev: Annotated[str, typer.Argument(help="The revision it names.")] = "main",
    delete: Annotated[bool, typer.Option("--delete", help="Delete the tag instead.")] = False,
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """Name a commit, delete a tag, or list the tags."""

    def act(ds: Dataset) -> None:
        if delete:
            if tag is None:
                from chute.datasets.store import DatasetError

                raise DatasetError("--delete needs the tag to delete")
            gone = ds.delete_tag(tag)
            _emit(as_json, gone, f"deleted tag {tag} of {name} (it named {gone['commit'][:12]})")
            return
        if tag is None:
            found = ds.tags()
            _emit(as_json, found, "\n".join(f"{t['tag']}  {t['commit'][:12]}" for t in found))
            return
        made = ds.tag(tag, rev)
        _emit(as_json, made, f"tagged {made['commit'][:12]} of {name} as {tag}")

    _run(into, name, connect_timeout, debug, act)


def _commit_line(name: str, done: dict[str, Any]) -> str:
    if done.get("id") is None:
        return f"{name}/{done['branch']}: {done.get('note') or 'nothing to do'}"
    return (
        f"committed {done['id'][:12]} to {name}/{done['branch']}: {done['added']:,} added, "
        f"{done['changed']:,} changed, {done['removed']:,} removed"
    )


@app.command("merge")
def merge_command(
    name: Name,
    from_: Annotated[str, typer.Argument(metavar="FROM", help="The revision to merge.")],
    branch: Annotated[str, typer.Option(help="The branch merged into.")] = "main",
    ours: Ours = False,
    theirs: Theirs = False,
    message: Message = "",
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """Merge a revision into a branch, three-way on keys; conflicts refuse it unless
    --ours or --theirs."""
    prefer = _prefer(ours, theirs)

    def act(ds: Dataset) -> None:
        done = ds.merge(from_, branch, prefer=prefer, message=message)
        _emit(as_json, done, _commit_line(name, done))

    _run(into, name, connect_timeout, debug, act)


@app.command("revert")
def revert_command(
    name: Name,
    rev: Annotated[str, typer.Argument(help="The commit to undo.")],
    branch: Annotated[str, typer.Option(help="The branch the undoing commit goes to.")] = "main",
    theirs: Annotated[
        bool, typer.Option("--theirs", help="Undo rows changed again since, too.")
    ] = False,
    message: Message = "",
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """Undo a commit with a new commit."""

    def act(ds: Dataset) -> None:
        done = ds.revert(rev, branch, prefer="theirs" if theirs else None, message=message)
        _emit(as_json, done, _commit_line(name, done))

    _run(into, name, connect_timeout, debug, act)


@app.command("search")
def search_command(
    name: Name,
    words: Annotated[str | None, typer.Argument(help="The words a row must hold.")] = None,
    enable: Annotated[
        bool, typer.Option("--enable", help="Make the search table (from main's head).")
    ] = False,
    columns: Annotated[
        str | None, typer.Option(help="With --enable: the columns searched (default: text ones).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
    into: Into = config.DEFAULT_INTO,
    as_json: Json = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    debug: Debug = False,
) -> None:
    """Search main's head by words (after --enable made its search table)."""

    def act(ds: Dataset) -> None:
        if enable:
            made = ds.enable_search(columns.split(",") if columns else None)
            _emit(
                as_json,
                made,
                f"search table of {name}: {made['rows']:,} rows, columns "
                f"{', '.join(made['columns'])}; kept up to date by every commit on main",
            )
            if words is None:
                return
        if words is None:
            print_error("give the words to search for (or --enable)", None)
            raise typer.Exit(2)
        found = ds.search(words, limit)
        if as_json:
            typer.echo(json.dumps(found, default=str))
            return
        for row in found:
            typer.echo(", ".join(f"{k}={v!r}" for k, v in row.items()))
        typer.echo(f"{len(found):,} row(s)", err=True)

    _run(into, name, connect_timeout, debug, act)
