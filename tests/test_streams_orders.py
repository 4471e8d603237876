"""The seed's orders scenario end to end on a real broker and a live schemahub registry.

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

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import (
    IntegerDeserializer,
    IntegerSerializer,
    MessageField,
    SerializationContext,
    StringDeserializer,
    StringSerializer,
)

from streams import JoinWindows, KafkaStreams, StreamsBuilder, TimeWindows

ORDER_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [
            {"name": "order_id", "type": "string"},
            {"name": "customer", "type": "string"},
            {"name": "amount", "type": "double"},
        ],
    }
)
FIVE_MIN = 5 * 60 * 1000
BASE = 1_700_000_000_000 - 1_700_000_000_000 % FIVE_MIN
HIGH_VALUE = 1000.0
S, D = StringSerializer(), StringDeserializer()


def orders_topology(t: dict[str, str], client: SchemaRegistryClient):
    avro_in = AvroDeserializer(client)
    avro_out = AvroSerializer(client, ORDER_SCHEMA)
    builder = StreamsBuilder()
    orders = builder.stream(t["orders"], D, avro_in)
    branches = orders.split().branch(lambda k, v: v["amount"] == 0, "zero").default_branch("valid")
    branches["zero"].to(t["zero"], S, avro_out)
    valid = branches["valid"]
    valid.to(t["processed"], S, avro_out)
    valid.filter(lambda k, v: v["amount"] >= HIGH_VALUE).to(t["high"], S, avro_out)
    grouped = valid.group_by_key()
    grouped.count(name="order-counts").to_stream().to(t["counts"], S, IntegerSerializer())
    grouped.windowed_by(TimeWindows.of(FIVE_MIN).no_grace()).count(name="windowed-order-counts").to_stream(
        lambda wk, n: f"{wk.key}@{wk.start}"
    ).to(t["windowed"], S, IntegerSerializer())
    payments = builder.stream(t["payments"], D, D)
    by_order = valid.repartition(lambda k, v: v["order_id"], name="orders-by-id", key_serde=(S, D))
    by_order.join(
        payments,
        lambda order, paid: {**order, "paid": paid},
        # Orders reach the join through a repartition topic, after the payments were read: the
        # grace admits them (batches are timestamp-interleaved, but nothing waits for a lagging input).
        JoinWindows.of_time_difference_and_grace(FIVE_MIN, 60 * 60_000),
        name="orders-payments",
    ).to(t["enriched"], S, lambda v, ctx: json.dumps(v, sort_keys=True).encode())
    return builder.build()


def make_orders() -> tuple[list[dict], list[tuple[str, str, int]], list[int]]:
    """30 orders one minute apart over 4 customers; payments for some orders, in or out of 5 min."""
    orders, stamps, payments = [], [], []
    for i in range(30):
        amount = 0.0 if i % 7 == 3 else float((i * 137) % 2000)
        orders.append({"order_id": f"o{i}", "customer": f"cust{i % 4}", "amount": amount})
        stamps.append(BASE + i * 60_000)
        if i % 3 == 0:
            payments.append((f"o{i}", f"pay{i}", stamps[-1] + 120_000))  # within 5 minutes
        elif i % 3 == 1:
            payments.append((f"o{i}", f"late{i}", stamps[-1] + FIVE_MIN + 1))  # just outside
    return orders, payments, stamps


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
    names = ["orders", "payments", "zero", "processed", "high", "counts", "windowed", "enriched"]
    t = {name: f"{name}-{run}" for name in names}
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    new = [NewTopic(topic, 3, 1, config={"retention.ms": "-1"}) for topic in t.values()]
    for future in admin.create_topics(new).values():
        future.result()
    client = SchemaRegistryClient({"url": live_registry.url})
    orders, payments, stamps = make_orders()

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": "murmur2_random"})
    avro = AvroSerializer(client, ORDER_SCHEMA)
    for order, ts in zip(orders, stamps):
        value = avro(order, SerializationContext(t["orders"], MessageField.VALUE))
        producer.produce(t["orders"], value, order["customer"].encode(), timestamp=ts)
    for order_id, paid, ts in payments:
        producer.produce(t["payments"], paid.encode(), order_id.encode(), timestamp=ts)
    producer.flush()

    app = KafkaStreams(
        orders_topology(t, client),
        {"application.id": f"orders-{run}", "bootstrap.servers": kafka_bootstrap, "state.dir": str(tmp_path),
         "commit.interval.ms": 200},
    )
    thread = threading.Thread(target=app.run, kwargs={"idle_timeout_s": 3, "install_signal_handlers": False})
    thread.start()
    thread.join(90)
    assert not thread.is_alive()

    valid = [(o, ts) for o, ts in zip(orders, stamps) if o["amount"] != 0]
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
