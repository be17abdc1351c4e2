"""Passwords in URLs never come out: not on stdout or stderr, not in --log-json, the --report
file, the reject file, an exception's message or a repr; and they need not be in argv at
all (``CHUTE_INTO``, ``PGPASSWORD``, ``~/.pgpass``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import chute
from chute.config import LoadOptions
from chute.urls import redact
from tests.amqp_helpers import delete_queues, publish
from tests.helpers import chute as run_chute
from tests.helpers import execute, query, write
from tests.servers import PasswordCatcher

SECRET = "Zq7-s3cr3t-pw"  # each URL below carries it, in its user information or its query


def _with_secret(url: str, where: str) -> str:
    """``url`` (postgresql://postgres@host:port/db) with :data:`SECRET` in it."""
    if where == "userinfo":
        return url.replace("postgres@", f"postgres:{SECRET}@", 1)
    return f"{url}?{where}={SECRET}"


def _every_file_under(root: Path) -> dict[str, str]:
    return {
        str(p): p.read_text(errors="replace")
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".json", ".jsonl", ".txt", ".csv", "")
    }


@pytest.fixture
def queue(broker: str) -> Iterator[str]:
    name = f"chute-secret-{uuid.uuid4().hex[:10]}"
    yield name
    delete_queues(name, f"{name}.dead-letter")


@pytest.mark.parametrize("where", ["userinfo", "password", "sslpassword"])
def test_no_output_channel_shows_a_password_from_a_url(
    pg_url: str, tmp_path: Path, where: str
) -> None:
    into = _with_secret(pg_url, where)
    execute(pg_url, "CREATE TABLE typed (id bigint, n integer)")
    source = write(tmp_path / "typed.csv", "id,n\n1,5\n2,not a number\n3,7\n")
    missing_db = _with_secret(pg_url.rsplit("/", 1)[0] + "/no_such_database_here", where)
    outputs: list[str] = []
    runs = [
        # succeeds with a reject: summary, --log-json, report, reject file
        ["load", str(source), "--into", into, "--log-json"],
        # stops at the first reject (exit 4): the error line and the report of a failure
        ["load", str(source), "--into", into, "--max-errors", "0", "--restart"],
        # cannot connect (exit 5)
        ["load", str(source), "--into", missing_db, "--table", "x"],
        # a configuration error about the URL's table (exit 2)
        ["load", str(source), "--into", into, "--table", "no such table!"],
    ]
    codes = []
    for i, args in enumerate(runs):
        report = tmp_path / f"report{i}.json"
        result = run_chute(*args, "--report", str(report))
        codes.append(result.returncode)
        outputs += [result.stdout, result.stderr]
    assert codes == [6, 4, 5, 2]
    assert query(pg_url, "SELECT DISTINCT id FROM typed ORDER BY id") == [(1,), (3,)]
    files = _every_file_under(tmp_path)
    assert any("rejects" in name for name in files)  # the reject file is among them
    outputs += files.values()

    # the Python API: exception messages, the report and the options, as text and repr
    with pytest.raises(chute.ChuteError) as failed:
        chute.load(source, into=missing_db, table="x")
    report = chute.load(source, into=into, table="typed", restart=True)
    outputs += [
        str(failed.value),
        repr(failed.value),
        repr(report),
        str(report.to_dict()),
        report.summary(),
        repr(LoadOptions(into=into)),
    ]
    assert report.target == redact(into) and "***" in report.target
    leaks = [text for text in outputs if SECRET in text]
    assert not leaks, leaks[0]


def test_no_output_channel_shows_the_passwords_of_a_consume(
    pg_url: str, broker: str, queue: str, tmp_path: Path
) -> None:
    into = _with_secret(pg_url, "password")
    publish(queue, [{"id": 1}, {"id": 2}])
    ok = run_chute(
        "consume", broker, "--queue", queue, "--into", into, "--idle-exit", "0.5",
        "--log-json", "--report", str(tmp_path / "ok.json"),
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    refused = run_chute(
        "consume", f"amqp://guest:{SECRET}@127.0.0.1:5672/", "--queue", queue, "--into", into,
        "--report", str(tmp_path / "refused.json"),
    )  # fmt: skip
    assert refused.returncode == 5, refused.stderr
    assert query(pg_url, f'SELECT count(*) FROM "{queue.replace("-", "_")}"') == [(2,)]
    with pytest.raises(chute.ChuteError) as failed:
        chute.consume(f"amqp://guest:{SECRET}@127.0.0.1:5672/", queue=queue, into=into)
    texts = [ok.stdout, ok.stderr, refused.stdout, refused.stderr, str(failed.value)]
    texts += _every_file_under(tmp_path).values()
    leaks = [text for text in texts if SECRET in text]
    assert not leaks, leaks[0]


@pytest.mark.parametrize("how", ["PGPASSWORD", "pgpass"])
def test_the_postgres_password_can_come_from_pgpassword_or_pgpass(tmp_path: Path, how: str) -> None:
    """ADBC's libpq reads the password from the environment or the password file, as psql
    does: the server is sent the password that never was on the command line."""
    source = write(tmp_path / "t.csv", "id\n1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    with PasswordCatcher() as server:
        if how == "PGPASSWORD":
            env["PGPASSWORD"] = SECRET
        else:
            pgpass = tmp_path / "pgpass"
            pgpass.write_text(f"127.0.0.1:{server.port}:*:app:{SECRET}\n")
            pgpass.chmod(0o600)
            env["PGPASSFILE"] = str(pgpass)
        env["CHUTE_INTO"] = f"postgresql://app@127.0.0.1:{server.port}/db?sslmode=disable"
        result = run_chute("load", str(source), env=env)
    assert server.passwords == [SECRET]
    assert result.returncode == 5  # the fake server refuses the login after reading it
    assert SECRET not in result.stdout + result.stderr
