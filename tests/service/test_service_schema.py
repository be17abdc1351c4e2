"""schemathesis against the running service's own OpenAPI document: requests made from the
schema, with a tenant's token, never make the server fail (5xx) and get answers that
match the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.service.conftest import Service

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_no_request_makes_the_server_fail(service: Service) -> None:
    token = service.tenant("fuzzed")
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    tried = []
    for found in schema.get_all_operations():
        operation = found.ok()
        if operation.path.endswith("/events"):  # a stream: the API tests ask for it
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()
        tried.append(f"{operation.method.upper()} {operation.path}")
    assert {"POST /imports", "GET /imports/{job}", "POST /uploads"} <= set(tried)
