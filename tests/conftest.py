from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry.http.app import create_app
from registry.service import Registry
from registry.stores.sqlite import SQLiteStore
from tests.kafka_fixtures import kafka_bootstrap, kafka_cluster3, kafka_secured  # noqa: F401
from tests.server import RegistryServer

SASL_SSL = "kafka-sasl-ssl"


@pytest.fixture(params=["sqlite", "kafka", SASL_SSL])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """A registry over each store: SQLite, and Kafka (a fresh topic on the session broker); tests
    marked ``sasl_ssl`` also run on Kafka over the broker's SASL_SSL listener."""
    if request.param.startswith("kafka"):
        from tests.kafka_store_support import kafka_registry

        if request.param == SASL_SSL:
            secured = request.getfixturevalue("kafka_secured")
            settings = secured.client_settings()
            with kafka_registry(settings.pop("bootstrap.servers"), client_config=settings) as reg:
                yield reg
            return
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run a test on the SASL_SSL listener only when it is marked ``sasl_ssl`` (a representative subset
    of the Kafka-store suite: running every test twice on Kafka would double its time)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sasl_ssl = callspec is not None and callspec.params.get("registry") == SASL_SSL
        (dropped if on_sasl_ssl and item.get_closest_marker("sasl_ssl") is None else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
