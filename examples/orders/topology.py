"""The orders topology: branch, filter, count, window and join, over Avro orders from the registry.

Orders are Avro records keyed by customer. Zero-amount orders are branched off to their own
topic; every valid order goes to ``processed-orders`` and the high-value ones also to
``high-value-orders``; valid orders are counted per customer (``order-counts``) and per customer
in 5-minute tumbling windows (``windowed-order-counts``, keyed ``customer@window-start``); and,
re-keyed by order id, joined with ``payments`` (keyed by order id, value a payment reference)
within 5 minutes into ``enriched-orders`` (JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import IntegerSerializer, StringDeserializer, StringSerializer

from streams import JoinWindows, Repartitioned, StreamsBuilder, TimeWindows

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
HIGH_VALUE = 1000.0
# Role -> topic name. Pass another mapping with the same roles to use other names.
TOPICS: dict[str, str] = {
    "orders": "orders",
    "payments": "payments",
    "zero": "zero-amount-orders",
    "processed": "processed-orders",
    "high": "high-value-orders",
    "counts": "order-counts",
    "windowed": "windowed-order-counts",
    "enriched": "enriched-orders",
}


def encode_json(value: object, ctx: object = None) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def build_topology(client: SchemaRegistryClient, topics: Mapping[str, str] = TOPICS):
    """The orders topology, reading and writing Avro through the registry behind ``client``."""
    t = topics
    S, D = StringSerializer(), StringDeserializer()
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
    by_order = valid.repartition(lambda k, v: v["order_id"], Repartitioned.as_("orders-by-id"))
    by_order.join(
        payments,
        lambda order, paid: {**order, "paid": paid},
        # Orders reach the join through a repartition topic, after the payments were read: the
        # grace admits them (batches are timestamp-interleaved, but nothing waits for a lagging input).
        JoinWindows.of_time_difference_and_grace(FIVE_MIN, 60 * 60_000),
        name="orders-payments",
    ).to(t["enriched"], S, encode_json)
    return builder.build()
