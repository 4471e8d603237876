"""Produce sample Avro orders (through the registry) and payments for the orders example.

    .venv/bin/python -m examples.orders.produce --bootstrap HOST:PORT --registry http://127.0.0.1:8081

Creates the example's topics (inputs and outputs, ``--partitions`` each; existing ones are kept),
then produces 30 orders one minute apart over 4 customers, every seventh a zero-amount one, keyed
by customer and Avro-encoded with the schema registered under ``orders-value``; and payments keyed
by order id, some within 5 minutes of their order, some just outside.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Mapping

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from examples.orders.topology import FIVE_MIN, ORDER_SCHEMA, TOPICS

Payment = tuple[str, str, int]  # (order id, payment reference, timestamp ms)


def make_samples(base: int, count: int = 30) -> tuple[list[dict], list[Payment], list[int]]:
    """``count`` orders one minute apart from ``base`` over 4 customers; their timestamps; payments
    for two orders in three, one within 5 minutes of its order (``pay…``), one just outside (``late…``)."""
    orders: list[dict] = []
    stamps: list[int] = []
    payments: list[Payment] = []
    for i in range(count):
        amount = 0.0 if i % 7 == 3 else float((i * 137) % 2000)
        orders.append({"order_id": f"o{i}", "customer": f"cust{i % 4}", "amount": amount})
        stamps.append(base + i * 60_000)
        if i % 3 == 0:
            payments.append((f"o{i}", f"pay{i}", stamps[-1] + 120_000))  # within 5 minutes
        elif i % 3 == 1:
            payments.append((f"o{i}", f"late{i}", stamps[-1] + FIVE_MIN + 1))  # just outside
    return orders, payments, stamps


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 3) -> None:
    """Create ``names`` (kept forever: the samples carry fixed timestamps); existing topics are left alone."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(name, partitions, 1, config={"retention.ms": "-1"}) for name in names]
    for future in admin.create_topics(new).values():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def produce_samples(
    bootstrap: str,
    client: SchemaRegistryClient,
    orders: list[dict],
    payments: list[Payment],
    stamps: list[int],
    topics: Mapping[str, str] = TOPICS,
) -> None:
    """Orders keyed by customer, Avro through the registry; payments keyed by order id, as strings."""
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "enable.idempotence": True})
    avro = AvroSerializer(client, ORDER_SCHEMA)
    ctx = SerializationContext(topics["orders"], MessageField.VALUE)
    for order, ts in zip(orders, stamps, strict=True):
        producer.produce(topics["orders"], avro(order, ctx), order["customer"].encode(), timestamp=ts)
    for order_id, paid, ts in payments:
        producer.produce(topics["payments"], paid.encode(), order_id.encode(), timestamp=ts)
    if producer.flush(30):
        raise RuntimeError("not every sample record was delivered")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.orders.produce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--registry", default="http://127.0.0.1:8081", help="schema registry URL")
    parser.add_argument("--partitions", type=int, default=3, help="partitions of each topic it creates")
    args = parser.parse_args(argv)
    create_topics(args.bootstrap, TOPICS.values(), args.partitions)
    now = int(time.time() * 1000)
    base = now - now % FIVE_MIN - 30 * 60_000  # the last half hour, windows aligned
    orders, payments, stamps = make_samples(base)
    produce_samples(args.bootstrap, SchemaRegistryClient({"url": args.registry}), orders, payments, stamps)
    print(f"produced {len(orders)} orders to {TOPICS['orders']!r} and {len(payments)} payments to "
          f"{TOPICS['payments']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
