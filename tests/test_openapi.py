"""``openapi.yaml`` against the server: the same routes, and a bounded schemathesis run.

* ``test_document_lists_every_route`` compares the (method, path template) pairs
  the router serves with the ones the document lists, both ways.
* ``test_api_conforms`` runs schemathesis (positive and negative cases, a small
  fixed number per operation, deterministic) against a live ``schemahub serve``
  and checks that no response is a 5xx and that each response's status code,
  content type and body are the ones the document gives for that operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry.http.api import Api
from registry.http.app import build_router
from registry.service import Registry
from registry.stores.sqlite import SQLiteStore
from tests.server import RegistryServer

OPENAPI = Path(__file__).resolve().parents[1] / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

# Examples per operation and generation mode; with the coverage phase's cases
# this keeps the whole run well under two minutes on two cores.
MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

AVRO_V1 = '{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}'
AVRO_V2 = (
    '{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},'
    '{"name":"note","type":"string","default":""}]}'
)


def _document() -> dict:
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


def test_document_lists_every_route(tmp_path: Path) -> None:
    registry = Registry(SQLiteStore(tmp_path / "routes.db"))
    try:
        router = build_router(Api(registry))
        served = {(route.method.upper(), route.template) for route in router.routes}
    finally:
        registry.close()
    documented = {
        (method.upper(), path)
        for path, item in _document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert sorted(served - documented) == [], "routes the server serves that openapi.yaml does not list"
    assert sorted(documented - served) == [], "operations openapi.yaml lists that the server does not serve"


def test_document_is_openapi_3_1() -> None:
    document = _document()
    assert document["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_path(OPENAPI)
    failures = [str(result) for result in schema.get_all_operations() if not result.ok()]
    assert failures == []


# -- schemathesis against a live server ----------------------------------------

schema = schemathesis.openapi.from_path(OPENAPI)
schema.config.update(request_timeout=10)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A server of its own: the run changes global config and mode."""
    with RegistryServer(tmp_path_factory.mktemp("openapi") / "registry.db") as server:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for body in ({"schema": AVRO_V1}, {"schema": AVRO_V2}):
                http.post("/subjects/orders-value/versions", json=body).raise_for_status()
            http.post("/subjects/:.staging:orders-value/versions", json={"schema": AVRO_V1}).raise_for_status()
        yield server


@pytest.fixture
def reset_global_state(live: RegistryServer) -> Iterator[None]:
    """Undo global mode and config changes an operation's cases made, so the next
    operation does not run against a read-only or import-mode registry."""
    yield
    with httpx.Client(base_url=live.url, timeout=10) as http:
        http.delete("/mode")
        http.delete("/config")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms(case: schemathesis.Case, live: RegistryServer, reset_global_state: None) -> None:
    case.call_and_validate(base_url=live.url, checks=CHECKS)
