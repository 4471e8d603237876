"""schemathesis over ``openapi.yaml`` against a server with authentication on.

As ``tests/test_openapi.py``, but the server runs with ``--auth-file``: as an
admin every documented answer must still conform, as a user limited to
``orders-*`` the 403s must be the documented ones, and without credentials
every operation but ``/health`` and ``/ready`` must be the documented 401.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security_support import ADMIN, ORDERS, SecureServer, write_auth_file

OPENAPI = Path(__file__).resolve().parents[1] / "openapi.yaml"
MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
AVRO = '{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}'

schema = schemathesis.openapi.from_path(OPENAPI)
schema.config.update(request_timeout=10)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


def _basic(user: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    directory = tmp_path_factory.mktemp("openapi-auth")
    auth_file = write_auth_file(directory / "users.json")
    with SecureServer(directory / "registry.db", extra_args=("--auth-file", str(auth_file))) as server:
        with httpx.Client(base_url=server.url, timeout=10, headers=_basic(ADMIN)) as http:
            for subject in ("orders-value", "payments-value"):
                http.post(f"/subjects/{subject}/versions", json={"schema": AVRO}).raise_for_status()
        yield server


@pytest.fixture
def reset_global_state(live: SecureServer) -> Iterator[None]:
    yield
    with httpx.Client(base_url=live.url, timeout=10, headers=_basic(ADMIN)) as http:
        http.delete("/mode")
        http.delete("/config")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.generate])
def test_api_conforms_with_auth(case: schemathesis.Case, live: SecureServer, reset_global_state: None) -> None:
    for user in (ADMIN, ORDERS):
        headers = {**(case.headers or {}), **_basic(user)}
        response = case.call_and_validate(base_url=live.url, checks=CHECKS, headers=headers)
        assert response.status_code not in (401,), response.text


@schema.parametrize()
@settings(max_examples=1, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.generate])
def test_without_credentials_everything_is_401(case: schemathesis.Case, live: SecureServer) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call_and_validate(base_url=live.url, checks=CHECKS, headers=headers)
    if case.path in ("/health", "/ready"):
        assert response.status_code in (200, 406)
    else:
        assert response.status_code == 401, (case.method, case.path, response.text)
        assert str(response.headers["www-authenticate"]).find("Basic") >= 0
