from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry.http.app import create_app
from registry.service import Registry
from registry.stores.sqlite import SQLiteStore
from tests.kafka_fixtures import kafka_bootstrap, kafka_cluster3  # noqa: F401
from tests.server import RegistryServer


@pytest.fixture(params=["sqlite", "kafka"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """A registry over each store: SQLite, and Kafka (a fresh topic on the session broker)."""
    if request.param == "kafka":
        from tests.kafka_store_support import kafka_registry

        with kafka_registry(request.getfixturevalue("kafka_bootstrap")) as reg:
            yield reg
        return
    reg = Registry(SQLiteStore(tmp_path / "registry.db"))
    yield reg
    reg.close()


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(registry)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """One real ``schemahub serve`` on 127.0.0.1 for the whole session (use unique subjects)."""
    with RegistryServer(tmp_path_factory.mktemp("live") / "registry.db") as server:
        yield server
