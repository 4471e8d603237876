"""Bytes others can write never run code: a pickle payload in a changelog, a repartition topic and a
state file (issue #11).

The payload creates a file when unpickled. Put where the application reads its own state, it must
be dead-lettered (``processing.exception.handler=continue``) or stop the application with a clear
error (``fail``), and the file must never appear.
"""

from __future__ import annotations

import pickle
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.serialization import StringDeserializer, StringSerializer

from streams import (
    DeserializationError,
    Grouped,
    KafkaStreams,
    Serdes,
    StateRestoreError,
    StreamsBuilder,
)
from streams.state_file import StateFile

S, D = StringSerializer(), StringDeserializer()


class CreatesFile:
    """Unpickling this calls ``open(path, "w")``: the file appearing means pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def payload(marker: Path) -> bytes:
    return pickle.dumps(CreatesFile(marker))


def test_the_payload_does_create_a_file_when_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "proof"
    pickle.loads(payload(marker)).close()
    assert marker.exists()


def counts_topology(source: str, out: str):
    builder = StreamsBuilder()
    builder.stream(source, D, D).group_by(lambda k, v: v, Grouped.as_("by-value")).count(name="counts") \
        .to_stream().to(out, S, Serdes.long().serializer)
    return builder.build()


def prepare(bootstrap: str, tmp_path: Path, places: set[str]) -> tuple[dict[str, str], Path]:
    """Topics (one partition each), the payload in ``places`` (changelog, repartition, state-file),
    and three good records; returns topic names by role and the marker path."""
    app = f"hostile-{uuid.uuid4().hex[:8]}"
    topics = {"app": app, "in": f"{app}-in", "out": f"{app}-out", "changelog": f"{app}-counts-changelog",
              "repartition": f"{app}-by-value-repartition", "dlq": f"{app}-dlq"}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # The records' event time is 1 000 ms: under a time-based retention the broker would delete them.
    configs = {"changelog": {"cleanup.policy": "compact"}}
    new = [NewTopic(topics[r], 1, 1, config=configs.get(r, {"retention.ms": "-1"}))
           for r in ("in", "out", "changelog", "repartition")]
    for future in admin.create_topics(new).values():
        future.result()
    marker = tmp_path / "pwned"
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for place in places & {"changelog", "repartition"}:
        producer.produce(topics[place], payload(marker), payload(marker), partition=0)
    for key, value in (("a", "x"), ("b", "x"), ("c", "y")):
        producer.produce(topics["in"], value.encode(), key.encode(), timestamp=1000)
    assert producer.flush(30) == 0
    if "state-file" in places:
        state = StateFile(tmp_path / "state" / app / "0" / "state.db")
        state.write({"counts": [(payload(marker), payload(marker))]}, {})
        state.close()
    return topics, marker


def run(bootstrap: str, tmp_path: Path, topics: dict[str, str], handler: str) -> KafkaStreams:
    streams = KafkaStreams(counts_topology(topics["in"], topics["out"]), {
        "application.id": topics["app"], "bootstrap.servers": bootstrap, "state.dir": str(tmp_path / "state"),
        "processing.exception.handler": handler, "commit.interval.ms": 200})
    return streams


def read(bootstrap: str, topic: str, expected: int) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    records: list = []
    deadline = time.monotonic() + 30
    while len(records) < expected and time.monotonic() < deadline:
        records += [m for m in consumer.consume(100, timeout=0.2) if m.error() is None]
    time.sleep(0.3)
    records += [m for m in consumer.consume(100, timeout=0.2) if m.error() is None]
    consumer.close()
    return records


def test_payloads_everywhere_are_dead_lettered_and_nothing_runs(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics, marker = prepare(kafka_bootstrap, tmp_path, {"changelog", "repartition", "state-file"})
    streams = run(kafka_bootstrap, tmp_path, topics, "continue")
    thread = threading.Thread(target=streams.run, kwargs={"idle_timeout_s": 10, "install_signal_handlers": False})
    thread.start()
    thread.join(90)
    assert not thread.is_alive()
    assert not marker.exists()

    dead = read(kafka_bootstrap, topics["dlq"], 3)
    assert [m.value() for m in dead] == [payload(marker)] * 3
    stages = Counter((dict(m.headers())["__streams.errors.stage"], dict(m.headers())["__streams.errors.topic"])
                     for m in dead)
    assert stages == {(b"restore", topics["changelog"].encode()): 2,  # the state-file row and the changelog record
                      (b"deserialization", topics["repartition"].encode()): 1}
    messages = b" ".join(dict(m.headers())["__streams.errors.message"] for m in dead)
    assert b"state file" in messages and b"offset 0" in messages
    assert streams.metrics["error-records"] == 3

    counts = [(m.key().decode(), Serdes.long().deserializer(m.value(), None)) for m in read(kafka_bootstrap, topics["out"], 3)]
    assert sorted(counts) == [("x", 1), ("x", 2), ("y", 1)]  # the good records were counted from scratch


@pytest.mark.parametrize(("place", "error", "message"), [
    ("state-file", StateRestoreError, "does not decode.*state file"),
    ("changelog", StateRestoreError, "does not decode.*changelog .* offset 0"),
    ("repartition", DeserializationError, "cannot deserialize a record of '.*-by-value-repartition'"),
])
def test_a_payload_stops_the_application_with_handler_fail(
    kafka_bootstrap: str, tmp_path: Path, place: str, error: type[Exception], message: str
) -> None:
    topics, marker = prepare(kafka_bootstrap, tmp_path, {place})
    streams = run(kafka_bootstrap, tmp_path, topics, "fail")
    with pytest.raises(error, match=message):
        streams.run(idle_timeout_s=10, install_signal_handlers=False)
    assert not marker.exists()
    assert read(kafka_bootstrap, topics["dlq"], 0) == []
