"""Run the orders example: the topology of ``topology.py`` in a ``KafkaStreams`` application.

    .venv/bin/python -m examples.orders.run --bootstrap HOST:PORT --registry http://127.0.0.1:8081 \
        [--idle-timeout 5] [--show]

Runs until Ctrl-C/SIGTERM or, with ``--idle-timeout``, until that many seconds pass without a
record; ``--show`` then prints what each output topic holds. Start a second process with the same
``--application-id`` to split the partitions between them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import IntegerDeserializer, MessageField, SerializationContext

from examples.orders.topology import TOPICS, build_topology
from streams import KafkaStreams

REPO = Path(__file__).resolve().parents[2]


def read_topic(bootstrap: str, topic: str, decode: Callable[[bytes, str], object], quiet_s: float = 2.0):
    """Every record of ``topic`` from the start, as ``(key, value)``, once nothing came for ``quiet_s``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"orders-show-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records = []
    last = time.monotonic()
    while time.monotonic() - last < quiet_s:
        for msg in consumer.consume(500, timeout=0.2):
            key, value = msg.key(), msg.value()
            if msg.error() is None and value is not None:
                records.append((key.decode() if key else None, decode(value, topic)))
                last = time.monotonic()
    consumer.close()
    return records


def show_outputs(bootstrap: str, client: SchemaRegistryClient) -> None:
    avro_in = AvroDeserializer(client)
    integer = IntegerDeserializer()
    decoders: dict[str, Callable[[bytes, str], object]] = {
        "zero": lambda data, topic: avro_in(data, SerializationContext(topic, MessageField.VALUE)),
        "counts": lambda data, topic: integer(data, None),
        "enriched": lambda data, topic: json.loads(data),
    }
    decoders["processed"] = decoders["high"] = decoders["zero"]
    decoders["windowed"] = decoders["counts"]
    for role in ("zero", "processed", "high", "counts", "windowed", "enriched"):
        records = read_topic(bootstrap, TOPICS[role], decoders[role])
        print(f"\n{TOPICS[role]} ({len(records)} records)")
        for key, value in records:
            print(f"  {key}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.orders.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--registry", default="http://127.0.0.1:8081", help="schema registry URL")
    parser.add_argument("--application-id", default="orders-example", help="consumer group and topic prefix")
    parser.add_argument("--state-dir", default=str(REPO / ".cache" / "orders-example-state"), help="local state")
    parser.add_argument("--guarantee", default="at_least_once", choices=["at_least_once", "exactly_once_v2"])
    parser.add_argument("--idle-timeout", type=float, help="stop after this many seconds without records")
    parser.add_argument("--show", action="store_true", help="print the output topics when stopped")
    args = parser.parse_args(argv)
    client = SchemaRegistryClient({"url": args.registry})
    app = KafkaStreams(
        build_topology(client),
        {"application.id": args.application_id, "bootstrap.servers": args.bootstrap, "state.dir": args.state_dir,
         "processing.guarantee": args.guarantee, "commit.interval.ms": 1000},
    )
    print(f"running {args.application_id!r} against {args.bootstrap} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    app.run(idle_timeout_s=args.idle_timeout)
    if args.show:
        show_outputs(args.bootstrap, client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
