"""Snowflake URLs: what the connector is given, and a clear one-line error for a URL that
cannot work (no service: nothing connects)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chute.errors import ConfigError
from chute.exits import exit_code
from chute.sinks import open_sink
from chute.sinks.snowflake_url import connect_args
from chute.urls import redact
from tests.helpers import chute as run_chute

SECRET = "Zq7-s3cr3t-pw"
BASE = "snowflake://loader@myorg-acct/ANALYTICS/RAW"


def test_the_url_parts_and_query_become_the_connectors_arguments() -> None:
    args = connect_args(
        f"snowflake://loader:{SECRET}@myorg-acct/ANALYTICS/RAW?warehouse=LOAD_WH&role=LOADER"
        "&login_timeout=30&client_session_keep_alive=true&host=127.0.0.1&port=8080"
        "&protocol=http"
    )

    assert args == {
        "user": "loader",
        "password": SECRET,
        "account": "myorg-acct",
        "database": "ANALYTICS",
        "schema": "RAW",
        "warehouse": "LOAD_WH",
        "role": "LOADER",
        "login_timeout": 30,
        "client_session_keep_alive": True,
        "host": "127.0.0.1",
        "port": 8080,
        "protocol": "http",
    }


def test_key_pair_and_authenticator_options_pass_through_without_a_password() -> None:
    args = connect_args(
        f"{BASE}?warehouse=WH&private_key_file=/keys/rsa_key.p8&private_key_file_pwd={SECRET}"
        "&authenticator=SNOWFLAKE_JWT"
    )

    assert "password" not in args
    assert args["private_key_file"] == "/keys/rsa_key.p8"
    assert args["private_key_file_pwd"] == SECRET
    assert args["authenticator"] == "SNOWFLAKE_JWT"


def test_percent_encoded_password_is_decoded() -> None:
    assert connect_args("snowflake://u:p%40ss%2Fw@acct/DB/S?warehouse=W")["password"] == "p@ss/w"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("snowflake:///DB/SCHEMA?warehouse=WH", "names no account"),
        ("snowflake://user@/DB/SCHEMA?warehouse=WH", "names no account"),
        ("snowflake://user@acct/DB/SCHEMA", "names no warehouse"),
        ("snowflake://user@acct/DB/SCHEMA?warehouse=", "names no warehouse"),
        ("snowflake://user@acct/DB?warehouse=WH", "must name a database and a schema"),
        ("snowflake://user@acct?warehouse=WH", "must name a database and a schema"),
        ("snowflake://acct/DB/S?warehouse=WH", "names no user"),
        ("snowflake://user@acct/DB/S?warehouse=WH&password=x", "gives password in its query"),
        ("snowflake://user@acct/DB/S?warehouse=WH&port=eighty", "not a whole number"),
    ],
)
def test_a_url_that_cannot_work_is_a_config_error(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        open_sink(url)

    assert exit_code(caught.value) == 2
    assert "\n" not in str(caught.value)
    assert caught.value.hint and "warehouse=WH" in caught.value.hint


def test_a_password_never_shows_in_the_display_url_repr_or_config_errors() -> None:
    url = f"snowflake://loader:{SECRET}@acct/DB/S?warehouse=WH&token={SECRET}&passcode={SECRET}"
    sink = open_sink(url)
    assert SECRET not in sink.display_url
    assert SECRET not in repr(sink)
    assert sink.display_url == redact(url)
    with pytest.raises(ConfigError) as caught:
        open_sink(f"snowflake://loader:{SECRET}@acct/DB/S")  # no warehouse
    assert SECRET not in str(caught.value)
    keyed = open_sink(f"{BASE}?warehouse=WH&private_key_file_pwd={SECRET}")
    assert SECRET not in keyed.display_url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("snowflake://loader@/DB/S?warehouse=WH", "names no account"),
        (f"snowflake://loader:{SECRET}@acct/DB/S", "names no warehouse"),
    ],
)
def test_the_cli_says_one_line_and_exits_2(tmp_path: Path, url: str, says: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id\n1\n")

    done = run_chute("load", str(source), "--into", url, "--table", "t")

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and says in done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout


def test_without_the_connector_a_snowflake_url_names_the_extra(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id\n1\n")
    program = (
        "import sys; sys.modules['snowflake'] = None; sys.modules['snowflake.connector'] = None\n"
        "from chute.cli import main\n"
        f"sys.argv = ['chute', 'load', {str(source)!r}, '--into', "
        "'snowflake://u@acct/DB/S?warehouse=W', '--table', 't']\n"
        "main()\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2, done.stderr
    assert "chute[snowflake]" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2  # the error, and its hint
