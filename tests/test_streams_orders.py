"""The seed's orders scenario (``examples/orders/``) end to end on a real broker and a live registry.

The example's own topology and producer run here, on topics suffixed per run.

Avro orders (keyed by customer) are produced through the registry; zero-amount orders are
branched off, valid ones go to ``processed-orders``, high-value ones to ``high-value-orders``;
per-customer counts go to ``order-counts`` and 5-minute tumbling counts to
``windowed-order-counts``; orders re-keyed by order id and joined with ``payments`` within 5
minutes go to ``enriched-orders``. Every output is checked record by record.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import IntegerDeserializer, MessageField, SerializationContext

from examples.orders.produce import create_topics, make_samples, produce_samples
from examples.orders.topology import FIVE_MIN, HIGH_VALUE, TOPICS, build_topology
from streams import KafkaStreams

BASE = 1_700_000_000_000 - 1_700_000_000_000 % FIVE_MIN


def read_all(bootstrap: str, topic: str, decode_value, expected: int, timeout: float = 45) -> list[tuple[str, object]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "auto.offset.reset": "earliest",
         "enable.auto.commit": False}
    )
    consumer.subscribe([topic])
    records: list[tuple[str, object]] = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    while time.monotonic() < deadline:
        msgs = consumer.consume(500, timeout=0.3)
        records += [(m.key().decode(), decode_value(m.value(), m.topic())) for m in msgs if m.error() is None]
        if len(records) >= expected:
            quiet_until = quiet_until or time.monotonic() + 1.0
            if time.monotonic() > quiet_until:
                break
    consumer.close()
    return records


def per_key(records):
    grouped = defaultdict(list)
    for key, value in records:
        grouped[key].append(value)
    return dict(grouped)


def test_orders_scenario_end_to_end(kafka_bootstrap: str, live_registry, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    t = {role: f"{name}-{run}" for role, name in TOPICS.items()}
    create_topics(kafka_bootstrap, t.values(), partitions=3)
    client = SchemaRegistryClient({"url": live_registry.url})
    orders, payments, stamps = make_samples(BASE)
    produce_samples(kafka_bootstrap, client, orders, payments, stamps, t)

    app = KafkaStreams(
        build_topology(client, t),
        {"application.id": f"orders-{run}", "bootstrap.servers": kafka_bootstrap, "state.dir": str(tmp_path),
         "commit.interval.ms": 200},
    )
    thread = threading.Thread(target=app.run, kwargs={"idle_timeout_s": 3, "install_signal_handlers": False})
    thread.start()
    thread.join(90)
    assert not thread.is_alive()

    valid = [(o, ts) for o, ts in zip(orders, stamps, strict=False) if o["amount"] != 0]
    avro_in = AvroDeserializer(client)

    def order_value(data, topic):
        return avro_in(data, SerializationContext(topic, MessageField.VALUE))

    def int_value(data, topic):
        return IntegerDeserializer()(data, None)

    zero = read_all(kafka_bootstrap, t["zero"], order_value, 4)
    assert per_key(zero) == per_key([(o["customer"], o) for o in orders if o["amount"] == 0])

    processed = read_all(kafka_bootstrap, t["processed"], order_value, len(valid))
    assert per_key(processed) == per_key([(o["customer"], o) for o, _ in valid])

    high = read_all(kafka_bootstrap, t["high"], order_value, 1)
    assert per_key(high) == per_key([(o["customer"], o) for o, _ in valid if o["amount"] >= HIGH_VALUE])

    counts = read_all(kafka_bootstrap, t["counts"], int_value, len(valid))
    expected_counts = defaultdict(list)
    for o, _ in valid:
        expected_counts[o["customer"]].append(len(expected_counts[o["customer"]]) + 1)
    assert per_key(counts) == dict(expected_counts)

    windowed = read_all(kafka_bootstrap, t["windowed"], int_value, len(valid))
    expected_windowed: dict[str, list[int]] = defaultdict(list)
    for o, ts in valid:
        key = f"{o['customer']}@{ts - ts % FIVE_MIN}"
        expected_windowed[key].append(len(expected_windowed[key]) + 1)
    assert per_key(windowed) == dict(expected_windowed)

    paid = {order_id: value for order_id, value, _ in payments if value.startswith("pay")}
    expected_enriched = {
        o["order_id"]: {**o, "paid": paid[o["order_id"]]} for o, _ in valid if o["order_id"] in paid
    }
    enriched = read_all(kafka_bootstrap, t["enriched"], lambda data, topic: json.loads(data), len(expected_enriched))
    assert dict(enriched) == expected_enriched
    assert len(enriched) == len(expected_enriched)
