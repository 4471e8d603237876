"""Session fixtures giving tests a real Apache Kafka (KRaft) to talk to.

``kafka_bootstrap`` uses ``$SCHEMAHUB_TEST_KAFKA`` (``host:port,...``) when set,
else starts one local node per session; ``kafka_cluster3`` starts a 3-node
cluster the first time a test asks for it. The session's node also has a
SASL_SSL listener (SCRAM users, certificates made for the session):
``kafka_secured`` is that node (a node of its own under ``$SCHEMAHUB_TEST_KAFKA``).
A cluster is shared by every copy of a fixture, so importing these both in
conftest.py and in a test module starts it once.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from registry.devkafka import KafkaCluster

_clusters: dict[int, KafkaCluster] = {}

# Tests write event times near the epoch (windows at 0, 1 000, 60 000 ms). Under the broker's default
# seven-day retention such records are already expired: the retention check, every five minutes,
# deletes them from whatever topic a test reads back. The session's brokers keep records by age for ever.
_TEST_BROKER = {"log.retention.ms": "-1"}


def _shared_cluster(brokers: int) -> KafkaCluster:
    """The session's running cluster of ``brokers`` nodes, started on first use."""
    if brokers not in _clusters:
        _clusters[brokers] = KafkaCluster(brokers, sasl_ssl=brokers == 1, extra_properties=_TEST_BROKER).start()
    return _clusters[brokers]


def _stop_cluster(brokers: int) -> None:
    # Clients the tests dropped are destroyed now, while their broker still answers:
    # destroyed after it stops, librdkafka logs connection errors past pytest's summary.
    gc.collect()
    cluster = _clusters.pop(brokers, None)
    if cluster is not None:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a running Kafka: ``$SCHEMAHUB_TEST_KAFKA`` or a fresh 1-node cluster."""
    existing = os.environ.get("SCHEMAHUB_TEST_KAFKA")
    if existing:
        yield existing
        return
    yield _shared_cluster(1).bootstrap
    _stop_cluster(1)


@pytest.fixture(scope="session")
def kafka_secured() -> Iterator[KafkaCluster]:
    """A 1-node cluster with a SASL_SSL listener: ``secured_bootstrap``, ``client_settings(user)``."""
    yield _shared_cluster(1)
    _stop_cluster(1)


@pytest.fixture(scope="session")
def kafka_cluster3() -> Iterator[KafkaCluster]:
    """A 3-node cluster (node ids 0, 1, 2); a test that kills a node must start it again."""
    yield _shared_cluster(3)
    _stop_cluster(3)
