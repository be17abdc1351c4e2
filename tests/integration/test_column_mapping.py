"""--rename, --skip and --type: the input's columns mapped onto the table's."""

from __future__ import annotations

from pathlib import Path

import pytest

import chute
from chute.errors import ConfigError
from tests.helpers import assert_error, columns, query, write
from tests.helpers import chute as run_chute

CSV = "Id,Zip,junk,amount\n1,00123,x,5\n2,04567,y,abc\n3,10001,z,7\n"


def test_renamed_and_skipped_columns_and_chosen_types(db_url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "m.csv", CSV)
    report = chute.load(
        source, into=db_url, table="places", rename={"Id": "id"}, skip=["junk"],
        types={"Zip": "text", "amount": "bigint"}, key="id", mode="upsert",
    )  # fmt: skip
    assert columns(db_url, "places") == ["id", "Zip", "amount"]
    # Zip would be inferred as a number; chosen as text it keeps its zeros.  amount is a
    # bigint by choice: "abc" is rejected, not a reason to widen the column to text
    assert (report.read, report.written, report.rejected) == (3, 2, 1)
    assert query(db_url, 'SELECT id, "Zip", amount FROM places ORDER BY id') == [
        (1, "00123", 5),
        (3, "10001", 7),
    ]
    assert report.rejects[0].column == "amount"


def test_a_header_only_input_is_checked_against_the_mapping(
    sqlite_url: str, tmp_path: Path
) -> None:
    source = write(tmp_path / "empty.csv", "a,b,c\n")
    with pytest.raises(ConfigError, match="no column 'x' to rename"):
        chute.load(source, into=sqlite_url, table="shape", rename={"x": "y"})


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"rename": {"nope": "x"}}, "no column 'nope' to rename or skip"),
        ({"skip": ["nope"]}, "no column 'nope' to rename or skip"),
        ({"rename": {"Id": "Zip"}}, "two columns the name 'Zip'"),
        ({"skip": ["Id", "Zip", "junk", "amount"]}, "skips every column"),
        ({"rename": {"Id": "id"}, "skip": ["Id"]}, "both renamed and skipped"),
        ({"types": {"Zip": "money"}}, "unknown column type 'money'"),
        ({"types": {"nope": "text"}}, "column(s) the table will not have: nope"),
    ],
)
def test_bad_mappings_are_refused_before_anything_is_written(
    sqlite_url: str, tmp_path: Path, kwargs: dict[str, object], fragment: str
) -> None:
    source = write(tmp_path / "m.csv", CSV)
    with pytest.raises(ConfigError) as caught:
        chute.load(source, into=sqlite_url, table="t", **kwargs)  # type: ignore[arg-type]
    assert fragment in str(caught.value)
    assert query(sqlite_url, "SELECT name FROM sqlite_master WHERE name = 't'") == []


def test_types_for_an_existing_table_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "m.csv", CSV)
    chute.load(source, into=sqlite_url, table="t")
    with pytest.raises(ConfigError, match="exists: its column types rule"):
        chute.load(source, into=sqlite_url, table="t", types={"Zip": "text"}, restart=True)


def test_the_command_line_options(sqlite_url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "m.csv", CSV)
    done = run_chute(
        "load", str(source), "--into", sqlite_url, "--table", "t", "--rename", "Id=id",
        "--skip", "junk", "--type", "Zip=text", "--type", "amount=text",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert query(sqlite_url, 'SELECT id, "Zip", amount FROM t ORDER BY id')[1] == (
        2, "04567", "abc",
    )  # fmt: skip
    bad = run_chute("load", str(source), "--into", sqlite_url, "--table", "u", "--rename", "Id")
    assert_error(bad, 2, "--rename takes NAME=VALUE")
