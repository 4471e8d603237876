"""KafkaStreams against a real broker: counts end to end, restore, exactly-once under kill -9,
and two processes sharing (and taking over) the partitions of one application."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.serialization import IntegerDeserializer, IntegerSerializer, StringDeserializer, StringSerializer

from streams import JoinWindows, KafkaStreams, StreamsBuilder, TimeWindows, TopologyError

S, D = StringSerializer(), StringDeserializer()
INT = IntegerDeserializer()
WINDOW_MS = 1000
ROOT = Path(__file__).resolve().parent.parent


def build_counts(source: str, counts: str, windows: str, delay_s: float = 0.0):
    """Count per key and final counts per 1 s tumbling window (keys ``key@start``)."""
    builder = StreamsBuilder()
    stream = builder.stream(source, D, D)
    # Always the same nodes, whatever the delay: a restarted worker must build the same topology, or
    # its generated store names (the suppression's) differ and it restores nothing into them.
    stream = stream.peek(lambda k, v: delay_s and time.sleep(delay_s))
    grouped = stream.group_by_key()
    grouped.count(name="counts").to_stream().to(counts, S, IntegerSerializer())
    grouped.windowed_by(TimeWindows.of(WINDOW_MS).no_grace()).count(name="window-counts").final().to_stream(
        lambda wk, v: f"{wk.key}@{wk.start}"
    ).to(windows, S, IntegerSerializer())
    return builder.build()


def worker_main(argv: list[str]) -> None:
    """Subprocess entry: ``bootstrap app source counts windows state_dir guarantee delay_s``."""
    import logging

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    bootstrap, app, source, counts, windows, state_dir, guarantee, delay = argv
    config = {
        "application.id": app,
        "bootstrap.servers": bootstrap,
        "processing.guarantee": guarantee,
        "state.dir": state_dir,
        "commit.interval.ms": 100,
        "consumer.session.timeout.ms": 6000,
        "consumer.heartbeat.interval.ms": 500,
    }
    KafkaStreams(build_counts(source, counts, windows, float(delay)), config).run()


def start_worker(bootstrap: str, app: str, topics: dict, state_dir: Path, log: Path, delay: float = 0.0005):
    args = [bootstrap, app, topics["in"], topics["counts"], topics["windows"], str(state_dir), "exactly_once_v2", str(delay)]
    code = "import sys; from tests.test_streams_kafka import worker_main; worker_main(sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("a")
    )


def make_topics(bootstrap: str, partitions: int = 6, names=("in", "counts", "windows")) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    topics = {name: f"streams-{name}-{suffix}" for name in names}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # Event times here are near the epoch: keep retention from deleting them.
    new = [NewTopic(t, partitions, 1, config={"retention.ms": "-1"}) for t in topics.values()]
    for future in admin.create_topics(new).values():
        future.result()
    deadline = time.monotonic() + 30  # the broker's metadata follows the controller shortly after
    while True:
        listed = admin.list_topics(timeout=10).topics
        if all(t in listed and len(listed[t].partitions) == partitions for t in topics.values()):
            return topics
        assert time.monotonic() < deadline, f"topics {topics} not in the metadata"
        time.sleep(0.1)


def produce_input(bootstrap: str, topic: str, keys: int, per_key: int, start: int = 0) -> dict[str, list[int]]:
    """``per_key`` records per key, event time 10 ms apart per key, then one far-future sentinel per
    key so every data window of the key's partition closes. Returns timestamps per key.

    Idempotence keeps each partition in produce order: without it a batch retried after the new
    topic's leader appears can land behind later batches, and windows would see late records."""
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5, "enable.idempotence": True})
    stamps: dict[str, list[int]] = defaultdict(list)
    for i in range(start, start + per_key):
        for k in range(keys):
            key, ts = f"k{k}", 10 * i + k + 5  # librdkafka reads timestamp 0 as "now"
            producer.produce(topic, key=key, value=str(i), timestamp=ts)
            stamps[key].append(ts)
    for k in range(keys):
        producer.produce(topic, key=f"k{k}", value="end", timestamp=10**9)
    producer.flush()
    return stamps


def expected_windows(stamps: dict[str, list[int]]) -> dict[str, int]:
    result: dict[str, int] = defaultdict(int)
    for key, times in stamps.items():
        for ts in times:
            result[f"{key}@{ts // WINDOW_MS * WINDOW_MS}"] += 1
    return dict(result)


class Reader:
    """A read_committed reader of every partition of one topic that keeps every record seen.

    Partitions are assigned explicitly (no consumer group), so what it reads depends only on
    what the application committed, never on a group rebalance of the reader itself."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{uuid.uuid4().hex}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        partitions = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(partitions)])
        self.records: list[tuple[str, int]] = []

    def poll(self, seconds: float = 0.5) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for msg in self.consumer.consume(1000, timeout=0.1):
                if msg.error() is None:
                    self.records.append((msg.key().decode(), INT(msg.value(), None)))

    def by_key(self) -> dict[str, list[int]]:
        grouped: dict[str, list[int]] = defaultdict(list)
        for key, value in self.records:
            grouped[key].append(value)
        return grouped

    def offsets(self) -> dict[int, tuple[int, int]]:
        """Per partition: (position, last stable offset) — where a stuck read stands."""
        positions = self.consumer.position(self.consumer.assignment())
        return {
            tp.partition: (tp.offset, self.consumer.get_watermark_offsets(tp, timeout=5)[1]) for tp in positions
        }

    def wait_for(self, done, timeout: float, procs=(), explain=lambda: "") -> None:
        deadline = time.monotonic() + timeout
        while not done():
            for proc in procs:
                assert proc.poll() is None, f"worker exited with {proc.returncode}"
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out with {len(self.records)} records of {self.topic}; "
                    f"(position, end) per partition {self.offsets()}; {explain()}"
                )
            self.poll()

    def close(self) -> None:
        self.consumer.close()


def missing_windows(windows: Reader, stamps: dict[str, list[int]], log: Path):
    """Explains a windows wait that timed out: which windows never arrived, and the worker log."""

    def explain() -> str:
        missing = sorted(set(expected_windows(stamps)) - {k for k, _ in windows.records})
        return f"missing windows {missing}; worker log tail:\n{log.read_text()[-3000:]}"

    return explain


def counts_complete(reader: Reader, total_per_key: int, keys: int):
    """True once every key ``k0..`` has reached its final count."""

    def done() -> bool:
        got = reader.by_key()
        return all(got.get(f"k{k}", [0])[-1] == total_per_key for k in range(keys))

    return done


def run_in_thread(streams: KafkaStreams, idle_timeout_s: float = 4.0) -> threading.Thread:
    thread = threading.Thread(target=streams.run, kwargs={"idle_timeout_s": idle_timeout_s, "install_signal_handlers": False})
    thread.start()
    return thread


def config(bootstrap: str, app: str, state_dir: Path, **extra) -> dict:
    return {"application.id": app, "bootstrap.servers": bootstrap, "state.dir": str(state_dir),
            "commit.interval.ms": 200, **extra}


def test_count_and_windowed_count_end_to_end(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = make_topics(kafka_bootstrap, partitions=3)
    stamps = produce_input(kafka_bootstrap, topics["in"], keys=5, per_key=200)
    app = f"app-{uuid.uuid4().hex[:8]}"
    streams = KafkaStreams(build_counts(topics["in"], topics["counts"], topics["windows"]), config(kafka_bootstrap, app, tmp_path))
    run_in_thread(streams, 3).join(60)
    counts, windows = Reader(kafka_bootstrap, topics["counts"]), Reader(kafka_bootstrap, topics["windows"])
    counts.wait_for(counts_complete(counts, 201, 5), 30)
    windows.wait_for(lambda: len(windows.records) >= len(expected_windows(stamps)), 30)
    windows.poll(0.5)
    assert {k: v for k, v in counts.by_key().items()} == {f"k{k}": list(range(1, 202)) for k in range(5)}
    assert dict(windows.records) == expected_windows(stamps)
    assert len(windows.records) == len(expected_windows(stamps))
    assert streams.metrics["processed"] == 5 * 201
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    listed = admin.list_topics(timeout=10).topics
    assert len(listed[f"{app}-counts-changelog"].partitions) == 3
    counts.close()
    windows.close()


def test_state_restored_from_changelog_after_deleting_state_dir(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = make_topics(kafka_bootstrap, partitions=2)
    app = f"app-{uuid.uuid4().hex[:8]}"
    topology = build_counts(topics["in"], topics["counts"], topics["windows"])
    produce_input(kafka_bootstrap, topics["in"], keys=4, per_key=50)
    first = KafkaStreams(topology, config(kafka_bootstrap, app, tmp_path / "state"))
    run_in_thread(first, 3).join(60)
    assert first.metrics["restored-records"] == 0
    shutil.rmtree(tmp_path / "state")
    produce_input(kafka_bootstrap, topics["in"], keys=4, per_key=50, start=50)
    second = KafkaStreams(topology, config(kafka_bootstrap, app, tmp_path / "state"))
    run_in_thread(second, 3).join(60)
    assert second.metrics["restored-records"] > 0
    reader = Reader(kafka_bootstrap, topics["counts"])
    reader.wait_for(counts_complete(reader, 102, 4), 30)
    assert reader.by_key() == {f"k{k}": list(range(1, 103)) for k in range(4)}
    reader.close()


def test_join_inputs_with_different_partition_counts_are_refused(kafka_bootstrap: str, tmp_path: Path) -> None:
    left, right = make_topics(kafka_bootstrap, 2, ("left",))["left"], make_topics(kafka_bootstrap, 3, ("right",))["right"]
    builder = StreamsBuilder()
    builder.stream(left, D, D).join(builder.stream(right, D, D), lambda a, b: a, JoinWindows.of_time_difference_with_no_grace(5)).to(
        "never", S, S
    )
    streams = KafkaStreams(builder.build(), config(kafka_bootstrap, f"app-{uuid.uuid4().hex[:8]}", tmp_path))
    with pytest.raises(TopologyError, match="co-partitioned"):
        streams.run(idle_timeout_s=1, install_signal_handlers=False)


def check_exact(counts: Reader, windows: Reader, stamps: dict[str, list[int]], per_key: int) -> None:
    """No loss, no double count: each key's updates are exactly 1..n, each window exactly once."""
    assert counts.by_key() == {key: list(range(1, per_key + 2)) for key in stamps}
    assert sorted(k for k, _ in windows.records) == sorted(expected_windows(stamps))
    assert dict(windows.records) == expected_windows(stamps)


def test_exactly_once_survives_kill_9_mid_windowed_count(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = make_topics(kafka_bootstrap, partitions=6)
    per_key = 600
    stamps = produce_input(kafka_bootstrap, topics["in"], keys=12, per_key=per_key)
    app = f"eos-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    counts, windows = Reader(kafka_bootstrap, topics["counts"]), Reader(kafka_bootstrap, topics["windows"])
    worker = start_worker(kafka_bootstrap, app, topics, tmp_path / "state", log)
    try:
        counts.wait_for(lambda: len(counts.records) > 1500, 60, [worker])
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        seen_before_restart = len(counts.records)
        assert seen_before_restart < 12 * (per_key + 1), "the kill came too late to be mid-stream"
        worker = start_worker(kafka_bootstrap, app, topics, tmp_path / "state", log, delay=0)
        counts.wait_for(counts_complete(counts, per_key + 1, 12), 90, [worker])
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    windows.wait_for(lambda: len(windows.records) >= len(expected_windows(stamps)), 30, (), missing_windows(windows, stamps, log))
    windows.poll(0.5)
    counts.poll(0.5)
    check_exact(counts, windows, stamps, per_key)
    counts.close()
    windows.close()


def test_two_processes_share_partitions_and_one_takes_over_after_kill(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = make_topics(kafka_bootstrap, partitions=6)
    per_key = 500
    app = f"pair-{uuid.uuid4().hex[:8]}"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker(kafka_bootstrap, app, topics, tmp_path / f"state-{i}", logs[i]) for i in range(2)]
    counts, windows = Reader(kafka_bootstrap, topics["counts"]), Reader(kafka_bootstrap, topics["windows"])
    try:
        deadline = time.monotonic() + 30
        while not all("assigned tasks [0, 1, 2]" in log.read_text() or "assigned tasks [3, 4, 5]" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text()[-500:] for log in logs]
            time.sleep(0.2)
        stamps = produce_input(kafka_bootstrap, topics["in"], keys=12, per_key=per_key)
        # Both workers have committed output (so worker 0 has changelogged state to restore), and more.
        counts.wait_for(lambda: len(counts.by_key()) == 12 and len(counts.records) > 1500, 60, workers)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        # Worker 1 may have held all six tasks once already (before worker 0 joined): only what it logs
        # after the kill shows the takeover, whether or not worker 0 had finished its records.
        before_kill = len(logs[1].read_text())
        deadline = time.monotonic() + 60
        while "assigned tasks [0, 1, 2, 3, 4, 5]" not in logs[1].read_text()[before_kill:]:
            assert workers[1].poll() is None and time.monotonic() < deadline, logs[1].read_text()[-2000:]
            time.sleep(0.2)
        assert "restored" in logs[1].read_text()[before_kill:]
        counts.wait_for(counts_complete(counts, per_key + 1, 12), 120, workers[1:])
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(30) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    windows.wait_for(lambda: len(windows.records) >= len(expected_windows(stamps)), 30, (), missing_windows(windows, stamps, logs[1]))
    windows.poll(0.5)
    counts.poll(0.5)
    check_exact(counts, windows, stamps, per_key)
    counts.close()
    windows.close()


def read_strings(bootstrap: str, topic: str, count: int, timeout: float = 60) -> list[tuple[str, str]]:
    """The first ``count`` records of a one-partition topic, as (key, value) strings."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    records: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.2):
                if msg.error() is None:
                    records.append((msg.key().decode(), msg.value().decode()))
    finally:
        consumer.close()
    return records


def test_join_waits_for_the_input_that_is_behind(kafka_bootstrap: str, tmp_path: Path) -> None:
    """The right side's records are large, so it is fetched far more slowly than the left side's
    backlog; without waiting for it, the left stream time would run ahead and the right records
    would be dropped as late (no grace). Every pair must join."""
    topics = make_topics(kafka_bootstrap, partitions=1, names=("left", "right", "joined"))
    n, padding = 3000, "x" * 3000
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for side in ("left", "right"):
        for i in range(n):
            value = f"L{i}" if side == "left" else f"R{i}:{padding}"
            producer.produce(topics[side], key=f"k{i % 8}", value=value, timestamp=1000 + 10 * i)
        producer.flush(60)
    builder = StreamsBuilder()
    builder.stream(topics["left"], D, D).join(
        builder.stream(topics["right"], D, D),
        lambda left, right: f"{left}+{right.split(':')[0]}",
        JoinWindows.of_time_difference_with_no_grace(5),
    ).to(topics["joined"], S, S)
    streams = KafkaStreams(builder.build(), config(kafka_bootstrap, f"lag-{uuid.uuid4().hex[:8]}", tmp_path,
                                                   **{"consumer.max.partition.fetch.bytes": 65536}))
    run_in_thread(streams, 4).join(120)
    joined = read_strings(kafka_bootstrap, topics["joined"], n)
    assert sorted(v for _, v in joined) == sorted(f"L{i}+R{i}" for i in range(n))
    assert streams.metrics["late-records"] == 0


def test_a_missing_source_topic_is_refused_at_start(kafka_bootstrap: str, tmp_path: Path) -> None:
    builder = StreamsBuilder()
    builder.stream(f"absent-{uuid.uuid4().hex[:8]}", D, D).to("never", S, S)
    streams = KafkaStreams(builder.build(), config(kafka_bootstrap, f"app-{uuid.uuid4().hex[:8]}", tmp_path))
    with pytest.raises(TopologyError, match="source topics do not exist"):
        streams.run(idle_timeout_s=1, install_signal_handlers=False)


def test_table_table_left_join_on_the_broker(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = make_topics(kafka_bootstrap, partitions=2, names=("users", "regions", "out"))
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True,
                         "partitioner": "murmur2_random"})
    for topic, key, value, ts in [("users", "u1", "ann", 10), ("regions", "u1", "eu", 20),
                                  ("users", "u2", "bob", 30), ("regions", "u2", "us", 40),
                                  ("regions", "u1", None, 50), ("users", "u2", "bo", 60)]:
        producer.produce(topics[topic], key=key, value=value, timestamp=ts)
        producer.flush(30)
    builder = StreamsBuilder()
    users, regions = builder.table(topics["users"], D, D, name="users"), builder.table(topics["regions"], D, D, name="regions")
    users.left_join(regions, lambda user, region: f"{user}@{region}").to_stream().to(topics["out"], S, S)
    streams = KafkaStreams(builder.build(), config(kafka_bootstrap, f"tt-{uuid.uuid4().hex[:8]}", tmp_path))
    run_in_thread(streams, 3).join(60)
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topics["out"], p, OFFSET_BEGINNING) for p in range(2)])
    got: dict[str, list[str]] = defaultdict(list)
    deadline = time.monotonic() + 30
    while sum(map(len, got.values())) < 6 and time.monotonic() < deadline:
        for msg in consumer.consume(100, timeout=0.2):
            if msg.error() is None:
                got[msg.key().decode()].append(msg.value().decode())
    consumer.close()
    assert dict(got) == {"u1": ["ann@None", "ann@eu", "ann@None"], "u2": ["bob@None", "bob@us", "bo@us"]}
