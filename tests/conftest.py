from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry.http.app import create_app
from registry.service import Registry
from registry.stores.sqlite import SQLiteStore
from tests.kafka_fixtures import kafka_bootstrap, kafka_cluster3, kafka_secured  # noqa: F401
from tests.server import RegistryServer

KAFKA = "kafka-sasl-ssl"


@pytest.fixture(scope="session", autouse=True)
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Servers started by tests keep their caches (``serve --kafka``'s compiled forms) in a
    temporary directory, not the user's home."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))


@pytest.fixture(params=["sqlite", KAFKA])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """A registry over each store: SQLite, and Kafka (a fresh topic on the session broker, reached
    over its SASL_SSL listener with SCRAM-SHA-512 and the session's CA, as a production cluster is;
    the store's own tests in test_kafka_store.py and test_kafka_cluster.py use the plaintext listener)."""
    if request.param == KAFKA:
        from tests.kafka_store_support import kafka_registry

        settings = request.getfixturevalue("kafka_secured").client_settings()
        with kafka_registry(settings.pop("bootstrap.servers"), client_config=settings) as reg:
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

