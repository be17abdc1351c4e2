"""chute refuses an ADBC PostgreSQL driver whose binary COPY stores other values than given."""

from __future__ import annotations

import adbc_driver_postgresql
import pytest

from chute.errors import ConfigError
from chute.sinks.postgres import PostgresSink
from chute.sinks.postgres_wire import check_driver


@pytest.mark.parametrize("version", ["1.12.0", "1.11.0", "1.3.0", "0.9.0", "1.12.1.dev4"])
def test_a_driver_before_1_13_is_refused_with_the_reason_and_the_fix(version: str) -> None:
    refused = f"adbc-driver-postgresql {version} writes some values wrongly"
    with pytest.raises(ConfigError, match=refused) as info:
        check_driver(version)
    assert "#4507" in str(info.value)
    assert info.value.hint is not None and "adbc-driver-postgresql>=1.13" in info.value.hint


@pytest.mark.parametrize("version", ["1.13.0", "1.13.2", "1.14.0.dev7", "2.0.0", "1.100.0"])
def test_a_driver_from_1_13_on_is_taken(version: str) -> None:
    check_driver(version)


def test_the_installed_driver_is_taken() -> None:
    check_driver(adbc_driver_postgresql.__version__)
    PostgresSink("postgresql://127.0.0.1/test")  # no connection is made
