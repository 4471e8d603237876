"""SerializingProducer → DeserializingConsumer on a real Kafka broker, per format;
a poison pill goes to the dead-letter topic and later records still arrive; a
consumer SIGKILLed mid-batch and restarted delivers every record, none skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.serialization import StringDeserializer, StringSerializer

import serde
from serde import (
    AvroDeserializer,
    AvroSerializer,
    DeserializingConsumer,
    JSONDeserializer,
    JSONSerializer,
    ProtobufDeserializer,
    ProtobufSerializer,
    SerializingProducer,
)
from tests.test_serde_support import pb, sample_order  # noqa: F401

REPO = Path(__file__).resolve().parents[1]

AVRO = json.dumps({"type": "record", "name": "Event", "namespace": "t",
                   "fields": [{"name": "n", "type": "int"}, {"name": "label", "type": "string"}]})
JSON_SCHEMA = json.dumps({"title": "Event", "type": "object",
                          "properties": {"n": {"type": "integer"}, "label": {"type": "string"}},
                          "required": ["n"]})


def new_topics(bootstrap: str, *names: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        future.result(30)


def consumer_conf(bootstrap: str, **extra) -> dict:
    return {"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest", **extra}


def drain(consumer, want: int, timeout: float = 30.0) -> list:
    out, deadline = [], time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None:
            out.append(msg)
    return out


@pytest.fixture
def client(live_registry):
    return serde.SchemaRegistryClient({"url": live_registry.url})


@pytest.mark.parametrize("fmt", ["avro", "protobuf", "json"])
def test_producer_to_consumer_per_format(kafka_bootstrap, client, pb, fmt) -> None:
    topic = f"serde-{fmt}-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic)
    if fmt == "avro":
        ser, de = AvroSerializer(client, AVRO), AvroDeserializer(client)
        records = [{"n": i, "label": f"e{i}"} for i in range(5)]
    elif fmt == "json":
        ser, de = JSONSerializer(JSON_SCHEMA, client), JSONDeserializer(None, schema_registry_client=client)
        records = [{"n": i, "label": f"e{i}"} for i in range(5)]
    else:
        ser, de = ProtobufSerializer(pb.order.Order, client), ProtobufDeserializer(None, None, client)
        records = [sample_order(pb, i) for i in range(5)]
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "key.serializer": StringSerializer(),
                                    "value.serializer": ser})
    for i, record in enumerate(records):
        producer.produce(topic, key=f"k{i}", value=record)
    producer.produce(topic, key="tomb", value=None)
    assert producer.flush(30) == 0
    consumer = DeserializingConsumer(consumer_conf(kafka_bootstrap, **{"key.deserializer": StringDeserializer(),
                                                                       "value.deserializer": de}))
    consumer.subscribe([topic])
    got = drain(consumer, len(records) + 1)
    consumer.close()
    assert [m.key() for m in got] == [f"k{i}" for i in range(5)] + ["tomb"]
    values = [m.value() for m in got]
    assert values[-1] is None
    if fmt == "protobuf":
        assert [v.SerializeToString(deterministic=True) for v in values[:-1]] == \
            [r.SerializeToString(deterministic=True) for r in records]
    else:
        assert values[:-1] == records


def test_poison_pill_goes_to_dead_letter_topic(kafka_bootstrap, client) -> None:
    topic, dlq = f"serde-pp-{uuid.uuid4().hex[:8]}", f"serde-dlq-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic, dlq)
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "value.serializer": AvroSerializer(client, AVRO)})
    raw = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    for i in range(5):
        producer.produce(topic, key=b"k", value={"n": i, "label": "good"})
    assert producer.flush(30) == 0
    raw.produce(topic, key=b"bad-key", value=b"\x00\x00\x00\xff\xffnot avro", headers=[("origin", b"test")])
    assert raw.flush(30) == 0
    for i in range(5, 10):
        producer.produce(topic, key=b"k", value={"n": i, "label": "good"})
    assert producer.flush(30) == 0

    consumer = DeserializingConsumer(consumer_conf(
        kafka_bootstrap, **{"value.deserializer": AvroDeserializer(client), "dead.letter.topic": dlq}))
    consumer.subscribe([topic])
    got = drain(consumer, 10)
    consumer.close()
    assert [m.value()["n"] for m in got] == list(range(10))

    reader = Consumer(consumer_conf(kafka_bootstrap))
    reader.subscribe([dlq])
    dead = drain(reader, 1)
    reader.close()
    assert len(dead) == 1
    msg = dead[0]
    assert msg.key() == b"bad-key" and msg.value() == b"\x00\x00\x00\xff\xffnot avro"
    headers = dict(msg.headers())
    assert headers["origin"] == b"test"
    assert headers["__dlq.errors.topic"] == topic.encode()
    assert headers["__dlq.errors.partition"] == b"0"
    assert headers["__dlq.errors.offset"] == b"5"
    assert headers["__dlq.errors.field"] == b"value"
    assert headers["__dlq.errors.exception.class.name"]
    assert headers["__dlq.errors.exception.message"]


def test_poison_pill_without_dlq_raises_then_moves_on(kafka_bootstrap, client) -> None:
    topic = f"serde-pp2-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic)
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "value.serializer": AvroSerializer(client, AVRO)})
    producer.produce(topic, value={"n": 0, "label": "a"})
    producer.flush(30)
    raw = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    raw.produce(topic, value=b"junk")
    raw.flush(30)
    producer.produce(topic, value={"n": 1, "label": "b"})
    producer.flush(30)
    consumer = DeserializingConsumer(consumer_conf(kafka_bootstrap, **{"value.deserializer": AvroDeserializer(client)}))
    consumer.subscribe([topic])
    seen, errors, deadline = [], [], time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        try:
            msg = consumer.poll(0.5)
        except serde.SerializationError as exc:  # ValueDeserializationError is one
            errors.append(exc)
            continue
        if msg is not None:
            seen.append(msg.value()["n"])
    consumer.close()
    assert seen == [0, 1] and len(errors) == 1


WORKER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {repo!r})
    import serde
    bootstrap, registry, topic, group, out, delay, idle = sys.argv[1:8]
    client = serde.SchemaRegistryClient({{"url": registry}})
    consumer = serde.DeserializingConsumer({{
        "bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
        "auto.commit.interval.ms": 100, "session.timeout.ms": 6000,
        "value.deserializer": serde.AvroDeserializer(client)}})
    consumer.subscribe([topic])
    last, started = time.monotonic() + 60, False   # up to 60 s for the group to hand us the partition
    with open(out, "a") as fh:
        while time.monotonic() - last < float(idle):
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            last = time.monotonic()
            fh.write(f"{{msg.value()['n']}}\\n")
            fh.flush()
            os.fsync(fh.fileno())
            time.sleep(float(delay))   # "processing"
    consumer.close()
""")


def test_consumer_killed_mid_batch_redelivers_nothing_skipped(kafka_bootstrap, client, live_registry,
                                                              tmp_path) -> None:
    total = 200
    topic, group = f"serde-kill-{uuid.uuid4().hex[:8]}", f"g-kill-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic)
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True,
                                    "value.serializer": AvroSerializer(client, AVRO)})
    for i in range(total):
        producer.produce(topic, value={"n": i, "label": "x"})
    assert producer.flush(30) == 0
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(repo=str(REPO)))
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    args = [kafka_bootstrap, live_registry.url, topic, group]
    proc = subprocess.Popen([sys.executable, str(script), *args, str(first), "0.01", "60"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if first.exists() and len(first.read_text().split()) >= 60:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    seen_first = [int(x) for x in first.read_text().split()]
    assert 60 <= len(seen_first) < total, "the worker must be killed mid-stream"
    subprocess.run([sys.executable, str(script), *args, str(second), "0", "4"], check=True, timeout=120)
    seen_second = [int(x) for x in second.read_text().split()]
    assert seen_first == list(range(len(seen_first)))          # in order, from the start
    assert seen_second, "the restarted consumer must resume"
    assert seen_second[0] <= seen_first[-1] + 1                # nothing skipped across the crash
    assert seen_second == list(range(seen_second[0], total))   # ... and to the end
    assert set(seen_first) | set(seen_second) == set(range(total))


NO_CLASS_CONSUMER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    import serde
    bootstrap, registry, topic, count = sys.argv[1:5]
    assert "shop" not in sys.modules
    client = serde.SchemaRegistryClient({{"url": registry}})
    consumer = serde.DeserializingConsumer({{
        "bootstrap.servers": bootstrap, "group.id": "no-class-" + topic, "auto.offset.reset": "earliest",
        "value.deserializer": serde.ProtobufDeserializer(None, {{"return.dict": True}}, client)}})
    consumer.subscribe([topic])
    got = []
    while len(got) < int(count):
        msg = consumer.poll(1.0)
        if msg is not None:
            got.append(msg.value())
    consumer.close()
    print(repr(got))
""")


def test_generated_class_record_read_without_class_field_for_field(kafka_bootstrap, client, live_registry, pb,
                                                                   tmp_path) -> None:
    """Produced from a protoc-generated class; consumed in a process that has no generated code."""
    import ast

    from serde import message_to_dict

    topic = f"serde-noclass-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic)
    orders = [sample_order(pb, i) for i in range(3)]
    orders[1].ClearField("email")
    orders[1].phone = "+33 1"
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True,
                                    "value.serializer": ProtobufSerializer(pb.order.Order, client)})
    for order in orders:
        producer.produce(topic, value=order)
    assert producer.flush(30) == 0
    script = tmp_path / "consumer.py"
    script.write_text(NO_CLASS_CONSUMER.format(repo=str(REPO)))
    out = subprocess.run([sys.executable, str(script), kafka_bootstrap, live_registry.url, topic, "3"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    got = ast.literal_eval(out.strip().splitlines()[-1])
    assert got == [message_to_dict(o) for o in orders]
    assert got[1]["phone"] == "+33 1" and "email" not in got[1]
    assert got[2]["total"]["units"] == 14 and got[2]["lines"][1] == {"sku": "b", "qty": 2}


def test_batch_consume_dead_letters_and_keeps_order(kafka_bootstrap, client) -> None:
    topic, dlq = f"serde-batch-{uuid.uuid4().hex[:8]}", f"serde-bdlq-{uuid.uuid4().hex[:8]}"
    new_topics(kafka_bootstrap, topic, dlq)
    producer = SerializingProducer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True,
                                    "value.serializer": JSONSerializer(JSON_SCHEMA, client)})
    raw = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    for i in range(6):
        if i == 3:
            producer.flush(30)
            raw.produce(topic, value=b"\x00\x00\x00\x00\x01{not json")
            raw.flush(30)
        producer.produce(topic, value={"n": i, "label": "ok"})
    assert producer.flush(30) == 0
    consumer = DeserializingConsumer(consumer_conf(kafka_bootstrap, **{
        "value.deserializer": JSONDeserializer(None, schema_registry_client=client), "dead.letter.topic": dlq}))
    consumer.subscribe([topic])
    got, deadline = [], time.monotonic() + 30
    while len(got) < 6 and time.monotonic() < deadline:
        got += [m.value()["n"] for m in consumer.consume(10, 0.5)]
    consumer.close()
    assert got == list(range(6))
    reader = Consumer(consumer_conf(kafka_bootstrap))
    reader.subscribe([dlq])
    dead = drain(reader, 1)
    reader.close()
    assert dead[0].value() == b"\x00\x00\x00\x00\x01{not json"
    assert dict(dead[0].headers())["__dlq.errors.offset"] == b"3"
