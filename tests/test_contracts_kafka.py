"""Data-contract rules with onFailure DLQ on a real broker: a record a READ condition rejects goes to
the rule's dead-letter topic with our ``__dlq.errors.*`` headers and confluent-kafka's ``__rule.*``
ones (read back, it skips that rule); a record a WRITE condition rejects is sent there as JSON by the
SerializingProducer, which then raises."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.error import ValueSerializationError
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.schema_registry_client import RuleSet

import serde
from serde import AvroDeserializer, AvroSerializer, DeserializingConsumer, SerializingProducer
from tests.test_serde_kafka import consumer_conf, drain, new_topics

EVENT = json.dumps({"type": "record", "name": "Event", "namespace": "t",
                    "fields": [{"name": "n", "type": "int"}, {"name": "label", "type": "string"}]})
LATEST = {"auto.register.schemas": False, "use.latest.version": True}


@pytest.fixture
def client(live_registry):
    return serde.SchemaRegistryClient({"url": live_registry.url})


def rule(mode: str, dlq: str) -> dict:
    return {"name": "nonNegative", "kind": "CONDITION", "mode": mode, "type": "CEL", "expr": "message.n >= 0",
            "onFailure": "DLQ", "params": {"dlq.topic": dlq}}


def read_all(bootstrap: str, topic: str, want: int) -> list:
    reader = Consumer(consumer_conf(bootstrap))
    reader.subscribe([topic])
    got = drain(reader, want)
    reader.close()
    return got


def test_read_rule_dead_letters_and_the_dlq_record_skips_it(kafka_bootstrap, client) -> None:
    topic, dlq = f"rules-{uuid.uuid4().hex[:8]}", f"rules-dlq-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic, dlq)
    client.register_schema(f"{topic}-value", Schema(EVENT, "AVRO", rule_set=RuleSet.from_dict(
        {"domainRules": [rule("READ", dlq)]})))
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap,
                                    "value.serializer": AvroSerializer(client, None, conf=LATEST)})
    for n in (1, -2, 3):
        producer.produce(topic, key=f"k{n}".encode(), value={"n": n, "label": "x"})
    assert producer.flush(30) == 0

    consumer = DeserializingConsumer(consumer_conf(kafka_bootstrap, **{"value.deserializer": AvroDeserializer(client)}))
    consumer.subscribe([topic])
    got = drain(consumer, 2)
    consumer.close()
    assert [m.value()["n"] for m in got] == [1, 3]

    dead = read_all(kafka_bootstrap, dlq, 1)
    assert len(dead) == 1 and dead[0].key() == b"k-2"
    headers = dict(dead[0].headers())
    assert headers["__dlq.errors.topic"] == topic.encode()
    assert headers["__dlq.errors.offset"] == b"1" and headers["__dlq.errors.field"] == b"value"
    assert headers["__dlq.errors.exception.class.name"].endswith(b"RuleConditionError")
    assert (headers["__rule.name"], headers["__rule.mode"], headers["__rule.subject"]) == (
        b"nonNegative", b"READ", f"{topic}-value".encode())
    replay = serde.SerializationContext(topic, serde.MessageField.VALUE, list(dead[0].headers()))
    assert AvroDeserializer(client)(dead[0].value(), replay) == {"n": -2, "label": "x"}


def test_write_rule_sends_the_record_to_the_dlq_and_raises(kafka_bootstrap, client) -> None:
    topic, dlq = f"rules-w-{uuid.uuid4().hex[:8]}", f"rules-wdlq-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic, dlq)
    client.register_schema(f"{topic}-value", Schema(EVENT, "AVRO", rule_set=RuleSet.from_dict(
        {"domainRules": [rule("WRITE", dlq)]})))
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap,
                                    "value.serializer": AvroSerializer(client, None, conf=LATEST)})
    producer.produce(topic, value={"n": 1, "label": "ok"})
    with pytest.raises(ValueSerializationError):
        producer.produce(topic, value={"n": -1, "label": "bad"})
    assert producer.flush(30) == 0
    dead = read_all(kafka_bootstrap, dlq, 1)
    assert [json.loads(m.value()) for m in dead] == [{"n": -1, "label": "bad"}]
    headers = dict(dead[0].headers())
    assert headers["__rule.name"] == b"nonNegative" and headers["__rule.mode"] == b"WRITE"
    assert headers["__dlq.errors.topic"] == topic.encode()
