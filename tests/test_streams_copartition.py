"""The README's orders/payments join on a real broker, 6 partitions per topic (issue #11).

Orders keyed by customer are re-keyed by order id (``select_key``) and joined with payments keyed
by order id. The re-keyed orders go through a repartition topic; with its keys written by the key
serde (not pickled) each order id hashes to the partition its payment is on, so every paid order
joins exactly once, under both guarantees. Joins whose inputs would not place a key on one
partition are refused at start.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.serialization import StringDeserializer

from streams import JoinWindows, KafkaStreams, Repartitioned, Serdes, StreamsBuilder, TopologyError

ORDERS, PARTITIONS = 10_000, 6
D = StringDeserializer()


def murmur2(data: bytes) -> int:
    """Java's ``Utils.murmur2`` (the default partitioner's hash), for checking where keys landed."""
    m, length = 0x5BD1E995, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * m) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[length - length % 4 :]
    for shift in range(len(tail) - 1, -1, -1):
        h ^= tail[shift] << (8 * shift)
    if tail:
        h = (h * m) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_matches_kafkas_own_vectors():
    # Kafka's UtilsTest.testMurmur2.
    assert murmur2(b"21") == -973932308
    assert murmur2(b"foobar") == -790332482
    assert murmur2(b"a-little-bit-long-string") == -985981536
    assert murmur2(b"a-little-bit-longer-string") == -1486304829
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971
    assert murmur2(b"abc") == 479470107


def create_topics(bootstrap: str, partitions: dict[str, int]) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"{role}-{suffix}" for role in partitions}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(names[r], n, 1, config={"retention.ms": "-1"}) for r, n in partitions.items()]
    for future in admin.create_topics(new).values():
        future.result()
    deadline = time.monotonic() + 30
    while not all(t in admin.list_topics(timeout=10).topics for t in names.values()):
        assert time.monotonic() < deadline, "new topics not in the metadata"
        time.sleep(0.1)
    return names


@pytest.fixture(scope="module")
def orders_and_payments(kafka_bootstrap: str) -> tuple[dict[str, str], set[str]]:
    """10 000 JSON orders keyed by customer and a payment (keyed by order id, one second later) for
    two orders in three, produced as a Java producer would place them; returns topics and paid ids."""
    topics = create_topics(kafka_bootstrap, {"orders": PARTITIONS, "payments": PARTITIONS})
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": "murmur2_random", "linger.ms": 20,
                         "enable.idempotence": True})
    paid = set()
    base = 1_700_000_000_000
    for i in range(ORDERS):
        order = {"order_id": f"o{i}", "customer": f"c{i % 97}", "amount": i % 500}
        producer.produce(topics["orders"], json.dumps(order).encode(), order["customer"].encode(), timestamp=base + i)
        if i % 3:
            paid.add(order["order_id"])
            producer.produce(topics["payments"], f"pay-{i}".encode(), order["order_id"].encode(), timestamp=base + i + 1000)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    return topics, paid


def orders_join(orders: str, payments: str, enriched: str, payments_key=D, repartitioned: Repartitioned | None = None):
    """The README's join: orders re-keyed by order id, joined with payments within 5 minutes."""
    builder = StreamsBuilder()
    by_order = builder.stream(orders).select_key(lambda k, v: v["order_id"])  # default serdes: string keys, JSON values
    if repartitioned is not None:
        by_order = by_order.repartition(None, repartitioned)
    by_order.join(builder.stream(payments, payments_key, D), lambda order, paid: {**order, "paid": paid},
                  JoinWindows.of_time_difference_and_grace(300_000, 60_000)).to(enriched)
    return builder.build()


def read_topic(bootstrap: str, topic: str, partitions: int, expected: int) -> list[tuple[int, bytes, bytes]]:
    """``(partition, key, value)`` of every committed record, once ``expected`` arrived and 1 s passed quietly."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    records: list[tuple[int, bytes, bytes]] = []
    deadline, quiet_until = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        msgs = consumer.consume(1000, timeout=0.2)
        records += [(m.partition(), m.key(), m.value()) for m in msgs if m.error() is None]
        if msgs:
            quiet_until = None
        elif len(records) >= expected:
            quiet_until = quiet_until or time.monotonic() + 1.0
            if time.monotonic() > quiet_until:
                break
    consumer.close()
    return records


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once_v2"])
def test_every_paid_order_joins_exactly_once_on_six_partitions(
    kafka_bootstrap: str, orders_and_payments, tmp_path: Path, guarantee: str
) -> None:
    topics, paid = orders_and_payments
    enriched = create_topics(kafka_bootstrap, {"enriched": PARTITIONS})["enriched"]
    app = f"orders-{uuid.uuid4().hex[:8]}"
    streams = KafkaStreams(orders_join(topics["orders"], topics["payments"], enriched),
                           {"application.id": app, "bootstrap.servers": kafka_bootstrap, "state.dir": str(tmp_path),
                            "processing.guarantee": guarantee, "commit.interval.ms": 500})
    thread = threading.Thread(target=streams.run, kwargs={"idle_timeout_s": 3, "install_signal_handlers": False})
    thread.start()
    thread.join(120)
    assert not thread.is_alive()

    joined = read_topic(kafka_bootstrap, enriched, PARTITIONS, len(paid))
    ids = [json.loads(value)["order_id"] for _, _, value in joined]
    assert len(ids) == len(paid) == 6_666
    assert set(ids) == paid  # every paid order, and exactly once (the counts are equal)
    assert all(json.loads(v)["paid"] == f"pay-{k.decode()[1:]}" for _, k, v in joined)
    assert all(p == java_partition(k, PARTITIONS) for p, k, _ in joined)
    assert streams.metrics["late-records"] == 0 and streams.metrics["error-records"] == 0

    repartition = f"{app}-{next(iter(streams.topology.repartition_topics))}"
    rekeyed = read_topic(kafka_bootstrap, repartition, PARTITIONS, 0)
    assert rekeyed, "the repartition topic was purged before it could be checked"
    # Each order id sits where a Java producer (and so its payment) put it: murmur2 of its UTF-8 bytes.
    assert all(p == java_partition(k, PARTITIONS) for p, k, _ in rekeyed)
    assert {k.decode() for _, k, _ in rekeyed} <= {f"o{i}" for i in range(ORDERS)}


def test_join_whose_key_serdes_differ_is_refused_at_start(kafka_bootstrap: str, orders_and_payments, tmp_path: Path):
    topics, _ = orders_and_payments
    topology = orders_join(topics["orders"], topics["payments"], "never", payments_key=Serdes.json().deserializer)
    streams = KafkaStreams(topology, {"application.id": f"refused-{uuid.uuid4().hex[:8]}",
                                      "bootstrap.servers": kafka_bootstrap, "state.dir": str(tmp_path)})
    with pytest.raises(TopologyError, match=r"(?s)different partitions.*keys read with Serdes.json\(\).*"
                                             r"Repartitioned.with_\(key_serde=Serdes.json\(\)\)"):
        streams.run(idle_timeout_s=1, install_signal_handlers=False)


def test_join_whose_partition_counts_differ_is_refused_at_start(kafka_bootstrap: str, orders_and_payments,
                                                                 tmp_path: Path):
    topics, _ = orders_and_payments
    topology = orders_join(topics["orders"], topics["payments"], "never",
                           repartitioned=Repartitioned.number_of_partitions(4))
    streams = KafkaStreams(topology, {"application.id": f"refused-{uuid.uuid4().hex[:8]}",
                                      "bootstrap.servers": kafka_bootstrap, "state.dir": str(tmp_path)})
    with pytest.raises(TopologyError, match=r"not co-partitioned \(partition counts differ\)") as refused:
        streams.run(idle_timeout_s=1, install_signal_handlers=False)
    assert f"'{topics['payments']}': 6" in str(refused.value) and "-repartition': 4" in str(refused.value)
