"""Stream-processor throughput: ours next to Quix Streams and a bare confluent-kafka loop, one run.

    .venv/bin/python bench/streams.py [--records 1000000] [--bootstrap HOST:PORT]
                                      [--quix-python PATH | --no-quix]

Produces ``--records`` small Avro records (Confluent wire format, fastavro schemaless) into a
6-partition topic, then runs two pipelines over that same topic, each with a fresh consumer group:

  (a) filter(amount > 10) + map_values -> Avro -> topic
  (b) count per key in 10 s tumbling windows, final results -> topic

with schemahub ``streams`` (at_least_once; (a) also under exactly_once_v2), Quix Streams (from
PyPI: its confluent-kafka pin conflicts with ours, so it runs in its own venv: ``--quix-python``
or $QUIX_PYTHON, a Python with ``quixstreams`` installed, else one made once at
``.cache/bench-quix-venv`` with quixstreams ``QUIX_VERSION``; ``--no-quix`` skips it) and, for (a),
a bare consume -> decode -> filter/map -> encode -> produce loop (the ceiling). Ours and the
bare loop run ``--repeat`` times and the best run counts (the machine is shared and noisy); Quix
runs once. Rates count input records from the first to the last one processed. Without
``--bootstrap`` a local 1-node Kafka is started.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from fastavro import parse_schema, schemaless_reader, schemaless_writer

REPO = Path(__file__).resolve().parents[1]
SCHEMA = parse_schema(
    {
        "type": "record",
        "name": "Order",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "customer", "type": "string"},
            {"name": "amount", "type": "double"},
        ],
    }
)
# The Quix Streams release benchmarked; it pins confluent-kafka < 2.13 (ours needs >= 2.16).
QUIX_VERSION = "3.28.1"
QUIX_VENV = REPO / ".cache" / "bench-quix-venv"
HEADER = struct.pack(">bI", 0, 1)
WINDOW_MS = 10_000
PARTITIONS = 6


def avro_encode(obj: dict) -> bytes:
    buf = io.BytesIO()
    buf.write(HEADER)
    schemaless_writer(buf, SCHEMA, obj)
    return buf.getvalue()


def avro_decode(data: bytes) -> dict:
    return schemaless_reader(io.BytesIO(data[5:]), SCHEMA, None)


def is_big(order: dict) -> bool:
    return order["amount"] > 10


def enrich(order: dict) -> dict:
    return {"id": order["id"], "customer": order["customer"].upper(), "amount": order["amount"] * 1.2}


class Timer:
    """First and last processing time of input records, and how many were seen."""

    def __init__(self) -> None:
        self.first = 0.0
        self.last = 0.0
        self.count = 0

    def mark(self, *_: object) -> None:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.last = now
        self.count += 1

    def rate(self) -> float:
        return self.count / (self.last - self.first) if self.count > 1 else 0.0


def produce_input(bootstrap: str, topic: str, records: int) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 20, "enable.idempotence": True,
         "queue.buffering.max.messages": 2_000_000, "batch.num.messages": 10_000}
    )
    base = int(time.time() * 1000) - records
    for i in range(records):
        customer = f"c{i % 1000}"
        value = avro_encode({"id": i, "customer": customer, "amount": float(i % 100)})
        while True:
            try:
                producer.produce(topic, value, customer.encode(), timestamp=base + i)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush()


def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [NewTopic(n, PARTITIONS, 1, config={"retention.ms": "-1"}) for n in names]
    for future in admin.create_topics(topics).values():
        future.result()


def run_bare(bootstrap: str, source: str, sink: str, records: int) -> Timer:
    """The ceiling: consume in batches, decode, filter, map, encode, produce; no state, no framework."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bare-{uuid.uuid4().hex}", "auto.offset.reset": "earliest",
         "enable.auto.commit": False}
    )
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5,
                         "enable.idempotence": True, "queue.buffering.max.messages": 1_000_000})
    consumer.subscribe([source])
    timer = Timer()
    produce = producer.produce
    while timer.count < records:
        for msg in consumer.consume(2000, timeout=0.05):
            if msg.error():
                continue
            timer.mark()
            order = avro_decode(msg.value())
            if is_big(order):
                try:
                    produce(sink, avro_encode(enrich(order)), msg.key(), timestamp=msg.timestamp()[1])
                except BufferError:
                    producer.poll(0.1)
                    produce(sink, avro_encode(enrich(order)), msg.key(), timestamp=msg.timestamp()[1])
        producer.poll(0)
    producer.flush()
    consumer.commit(asynchronous=False)
    consumer.close()
    return timer


def run_ours(bootstrap: str, source: str, sink: str, pipeline: str, records: int, guarantee: str = "at_least_once") -> Timer:
    sys.path.insert(0, str(REPO))
    from confluent_kafka.serialization import IntegerSerializer, StringDeserializer, StringSerializer

    from streams import KafkaStreams, StreamsBuilder, TimeWindows

    timer = Timer()
    builder = StreamsBuilder()
    stream = builder.stream(source, StringDeserializer(), lambda data, ctx: avro_decode(data)).peek(timer.mark)
    if pipeline == "a":
        stream.filter(lambda k, v: is_big(v)).map_values(enrich).to(sink, StringSerializer(), lambda v, ctx: avro_encode(v))
    else:
        stream.group_by_key().windowed_by(TimeWindows.of(WINDOW_MS).no_grace()).count(name="counts").final().to_stream(
            lambda wk, v: f"{wk.key}@{wk.start}"
        ).to(sink, StringSerializer(), IntegerSerializer())
    app = KafkaStreams(
        builder.build(),
        {"application.id": f"bench-{uuid.uuid4().hex[:8]}", "bootstrap.servers": bootstrap,
         "state.dir": tempfile.mkdtemp(prefix="bench-streams-"), "processing.guarantee": guarantee,
         **({"commit.interval.ms": 5000} if guarantee == "at_least_once" else {})},
    )
    thread = threading.Thread(target=app.run, kwargs={"idle_timeout_s": 3, "install_signal_handlers": False})
    thread.start()
    thread.join()
    return timer


def run_quix(bootstrap: str, source: str, sink: str, pipeline: str, records: int) -> Timer:
    """Runs inside the Quix venv (``--role quix``)."""
    from quixstreams import Application
    from quixstreams.models.serializers import Deserializer, Serializer

    class AvroIn(Deserializer):
        def __call__(self, value: bytes, ctx: object) -> dict:
            return avro_decode(value)

    class AvroOut(Serializer):
        def __call__(self, value: dict, ctx: object) -> bytes:
            return avro_encode(value)

    timer = Timer()
    app = Application(
        broker_address=bootstrap,
        consumer_group=f"quix-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        state_dir=tempfile.mkdtemp(prefix="bench-quix-"),
        commit_interval=5.0,
        loglevel="WARNING",
    )
    topic_in = app.topic(source, key_deserializer="str", value_deserializer=AvroIn())
    sdf = app.dataframe(topic_in)
    sdf = sdf.update(timer.mark)
    if pipeline == "a":
        sdf = sdf.filter(is_big).apply(enrich)
        sdf.to_topic(app.topic(sink, key_serializer="str", value_serializer=AvroOut()))
    else:
        sdf = sdf.tumbling_window(WINDOW_MS).count().final()
        sdf.to_topic(app.topic(sink, key_serializer="str", value_serializer="json"))
    app.run(timeout=10.0)
    return timer


def quix_subprocess(python: str, bootstrap: str, source: str, sink: str, pipeline: str, records: int) -> float:
    out = subprocess.run(
        [python, __file__, "--role", "quix", "--bootstrap", bootstrap, "--source", source, "--sink", sink,
         "--pipeline", pipeline, "--records", str(records)],
        capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["count"] != records:
        raise RuntimeError(f"quix saw {result['count']} of {records} records:\n{out.stderr[-2000:]}")
    return result["rate"]


def ensure_quix_venv(venv: Path = QUIX_VENV) -> str:
    """The Python of a venv with quixstreams (and fastavro, which this script imports), made once."""
    python = venv / "bin" / "python"
    stamp = venv / f".quixstreams-{QUIX_VERSION}"
    if stamp.exists():
        return str(python)
    print(f"creating {venv} with quixstreams {QUIX_VERSION} (once)...", flush=True)
    if venv.exists():
        shutil.rmtree(venv)  # a half-made venv from an interrupted run
    subprocess.run([shutil.which("python3") or sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"quixstreams=={QUIX_VERSION}", "fastavro"], check=True)
    stamp.touch()
    return str(python)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--bootstrap")
    parser.add_argument("--quix-python", default=os.environ.get("QUIX_PYTHON"),
                        help="a Python with quixstreams (default $QUIX_PYTHON, else .cache/bench-quix-venv, made once)")
    parser.add_argument("--no-quix", action="store_true", help="skip Quix Streams")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each of ours/bare; the best counts")
    parser.add_argument("--role", default="main", choices=["main", "quix"])
    parser.add_argument("--source")
    parser.add_argument("--sink")
    parser.add_argument("--pipeline")
    args = parser.parse_args()
    if args.role == "quix":
        timer = run_quix(args.bootstrap, args.source, args.sink, args.pipeline, args.records)
        print(json.dumps({"rate": timer.rate(), "count": timer.count}))
        return 0
    if args.no_quix:
        args.quix_python = None
    elif not args.quix_python:
        args.quix_python = ensure_quix_venv()

    cluster = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        sys.path.insert(0, str(REPO))
        from registry.devkafka import KafkaCluster

        cluster = KafkaCluster(1).start()
        bootstrap = cluster.bootstrap
    try:
        run = uuid.uuid4().hex[:6]
        source = f"bench-orders-{run}"
        create_topics(bootstrap, [source, *(f"bench-out-{run}-{i}" for i in range(4 * args.repeat + 2))])
        started = time.perf_counter()
        produce_input(bootstrap, source, args.records)
        print(f"produced {args.records} Avro records into {PARTITIONS} partitions in {time.perf_counter() - started:.1f}s")
        rates: dict[str, float] = {}
        sink_ids = iter(range(10_000))

        def best(run_once) -> float:
            """The machine is shared and noisy: the best of ``--repeat`` runs counts."""
            return max(run_once(f"bench-out-{run}-{next(sink_ids)}") for _ in range(args.repeat))

        def ours(pipeline: str, guarantee: str = "at_least_once"):
            def run_once(sink: str) -> float:
                timer = run_ours(bootstrap, source, sink, pipeline, args.records, guarantee)
                if timer.count != args.records:
                    raise RuntimeError(f"ours saw {timer.count} of {args.records} records")
                return timer.rate()

            return run_once

        rates["bare (a)"] = best(lambda sink: run_bare(bootstrap, source, sink, args.records).rate())
        rates["ours (a)"] = best(ours("a"))
        rates["ours (a) EOS"] = best(ours("a", "exactly_once_v2"))
        rates["ours (b)"] = best(ours("b"))
        if args.quix_python:
            for pipeline in ("a", "b"):
                rates[f"quix ({pipeline})"] = quix_subprocess(
                    args.quix_python, bootstrap, source, f"bench-out-{run}-{next(sink_ids)}", pipeline, args.records
                )
        print(f"\n{'pipeline':<16}{'records/s':>12}")
        for name, rate in sorted(rates.items()):
            print(f"{name:<16}{rate:>12,.0f}")
        print()
        print(f"ours (a) / bare (a): {rates['ours (a)'] / rates['bare (a)']:.2f}x  (target >= 0.7)")
        print(f"ours (a) EOS / ours (a): {rates['ours (a) EOS'] / rates['ours (a)']:.2f}x")
        if args.quix_python:
            for p in ("a", "b"):
                print(f"ours ({p}) / quix ({p}): {rates[f'ours ({p})'] / rates[f'quix ({p})']:.2f}x  (target >= 2)")
        else:
            print("Quix Streams skipped (--no-quix)")
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
