"""The Kafka store's topics: created with the replication factor and min.insync.replicas asked for
(fewer replicas than brokers allow is warned about), an existing topic checked and reported in one
line, and a topic no write could succeed on refused (registry/stores/kafka_topics.py)."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # type: ignore[attr-defined]

from registry.errors import StoreError
from registry.stores.kafka_topics import TopicSettings, ensure_topic
from tests.kafka_store_support import fresh_topic


def _min_isr(admin: AdminClient, topic: str) -> str:
    resource = ConfigResource("topic", topic)
    return admin.describe_configs([resource])[resource].result(timeout=30)["min.insync.replicas"].value


def test_created_as_asked_then_checked_and_reported(kafka_bootstrap: str, caplog: pytest.LogCaptureFixture) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topic = fresh_topic("topics")
    caplog.set_level(logging.INFO, "schemahub.kafka")
    ensure_topic(admin, topic, TopicSettings(replication_factor=3, min_insync_replicas=1))
    assert f"creating topic {topic} with replication factor 1, less than the 3 asked for: only 1 brokers are up" \
        in caplog.text
    assert f"created topic {topic}: 1 partition, replication factor 1, min.insync.replicas 1, cleanup.policy compact" \
        in caplog.text
    assert _min_isr(admin, topic) == "1"
    caplog.clear()
    ensure_topic(admin, topic, TopicSettings(replication_factor=2, min_insync_replicas=2))
    assert f"using topic {topic}: 1 partition, replication factor 1, min.insync.replicas 1" in caplog.text
    assert f"the replication factor of topic {topic} is 1, less than the 2 asked for" in caplog.text
    assert f"topic {topic} has min.insync.replicas=1, not the 2 asked for" in caplog.text


def test_a_topic_no_write_could_succeed_on_is_refused(kafka_bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topic = fresh_topic("topics")
    created = admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact",
                                                                  "min.insync.replicas": "2"})])
    created[topic].result(timeout=60)
    with pytest.raises(StoreError, match=f"Topic {topic} has min.insync.replicas=2 but only 1 replicas"):
        ensure_topic(admin, topic, TopicSettings())
    with pytest.raises(StoreError, match="min.insync.replicas 3 is more than the replication factor 2"):
        TopicSettings(replication_factor=2, min_insync_replicas=3)
