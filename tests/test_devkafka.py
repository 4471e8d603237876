"""The dev Kafka harness against real brokers: round trips and a broker failure."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # type: ignore[attr-defined]

from registry.devkafka import KafkaCluster, ensure_jars
from tests.kafka_fixtures import kafka_bootstrap, kafka_cluster3  # noqa: F401

Record = tuple[bytes | None, bytes | None]


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _create_topic(bootstrap: str, name: str, partitions: int, replication: int, **config: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(name, partitions, replication, config=config)], operation_timeout=30
    )
    futures[name].result(timeout=60)


def _produce(bootstrap: str, topic: str, messages: Sequence[Record], **config: str) -> None:
    failures: list[str] = []

    def delivered(err: object, msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **config})
    for key, value in messages:
        producer.produce(topic, value=value, key=key, on_delivery=delivered)
    assert producer.flush(60) == 0, "messages still in flight after 60s"
    assert failures == []


def _consume(bootstrap: str, topic: str, count: int, timeout: float = 60) -> list[Record]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": _topic("group"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while len(received) < count and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            received.append((msg.key(), msg.value()))
    finally:
        consumer.close()
    return received


def test_ensure_jars_is_cached_and_complete() -> None:
    libs = ensure_jars()
    assert ensure_jars() == libs
    assert (libs / ".complete").is_file()
    names = {path.name for path in libs.glob("*.jar")}
    assert any(name.startswith("kafka_2.13-4.") for name in names)
    assert any(name.startswith("log4j-slf4j-impl-") for name in names)


def test_produce_and_consume_on_one_node(kafka_bootstrap: str) -> None:
    topic = _topic("roundtrip")
    _create_topic(kafka_bootstrap, topic, partitions=1, replication=1)
    sent = [(f"k{i}".encode(), f"value {i}".encode()) for i in range(5)]
    _produce(kafka_bootstrap, topic, sent)
    assert _consume(kafka_bootstrap, topic, len(sent)) == sent


def test_the_test_brokers_keep_records_of_any_age(kafka_bootstrap: str, kafka_cluster3: KafkaCluster) -> None:
    """Tests write event times near the epoch; a time-based retention would delete them mid-test."""
    for bootstrap in (kafka_bootstrap, kafka_cluster3.bootstrap):
        topic = _topic("retention")
        _create_topic(bootstrap, topic, partitions=1, replication=1)
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        configs = admin.describe_configs([resource])[resource].result(30)
        assert configs["retention.ms"].value == "-1"


def test_three_nodes_survive_a_killed_broker(kafka_cluster3: KafkaCluster) -> None:
    cluster = kafka_cluster3
    topic = _topic("replicated")
    _create_topic(cluster.bootstrap, topic, partitions=3, replication=3, **{"min.insync.replicas": "2"})
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    metadata = admin.list_topics(topic, timeout=30).topics[topic]
    assert all(len(p.replicas) == 3 for p in metadata.partitions.values())
    leaders = {p.leader for p in metadata.partitions.values()}
    victim = min(leaders)
    before = [(b"before", f"b{i}".encode()) for i in range(3)]
    _produce(cluster.bootstrap, topic, before)

    cluster.kill(victim)
    try:
        assert not cluster.running(victim)
        after = [(b"after", f"a{i}".encode()) for i in range(3)]
        _produce(cluster.bootstrap, topic, after, **{"message.timeout.ms": "60000"})
        received = _consume(cluster.bootstrap, topic, len(before) + len(after))
        assert sorted(received) == sorted(before + after)
    finally:
        cluster.start(victim)
    assert cluster.running(victim)
