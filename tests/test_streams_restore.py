"""Processors rebuild their in-memory indexes from restored stores and carry on exactly.

A restore hands a new task stores decoded from SQLite/changelog bytes; here every entry is sent
through its store's codec and a fresh task continues where the old one stopped.
"""

from __future__ import annotations

from confluent_kafka.serialization import StringDeserializer, StringSerializer

from streams import JoinWindows, SessionWindows, StreamsBuilder, TimeWindows, TopologyTestDriver, Windowed
from streams.task import Task

S, D = StringSerializer(), StringDeserializer()


def restart(driver: TopologyTestDriver) -> None:
    """Replace the driver's task by one built from codec round-tripped copies of its stores."""
    restored = {}
    for name, store in driver.stores.items():
        codec = driver.binding.codecs[name]
        fresh = codec.new_store()
        fresh.load([codec.decode(*codec.encode(k, v)) for k, v in store.data.items()])
        assert fresh.data == store.data
        restored[name] = fresh
    old = driver.task
    driver.stores = restored
    driver.task = Task(driver.topology, 0, driver.binding, driver._send, lambda: driver.wall_clock_ms, restored,
                       old.errors)


def run(build, first, second):
    builder = StreamsBuilder()
    out = []
    build(builder).peek(lambda k, v: out.append((k, v)))
    driver = TopologyTestDriver(builder.build())
    topics = {t: driver.create_input_topic(t, S, S) for t in builder.topology.sources}
    for topic, key, value, ts in first:
        topics[topic].pipe_input(key, value, ts)
    restart(driver)
    topics = {t: driver.create_input_topic(t, S, S) for t in builder.topology.sources}
    for topic, key, value, ts in second:
        topics[topic].pipe_input(key, value, ts)
    return out, driver


def test_windowed_final_count_and_stream_time_survive_restart():
    def build(b):
        return b.stream("in", D, D).group_by_key().windowed_by(TimeWindows.of(10).no_grace()).count(name="w").final(
        ).to_stream()

    out, driver = run(build, [("in", "a", "x", 1), ("in", "a", "x", 12)], [("in", "a", "x", 5), ("in", "a", "x", 25)])
    # After restart the record at 5 is still late (stream time 12 was restored), [10,20) closes at 25.
    assert out == [(Windowed("a", 0, 10), 1), (Windowed("a", 10, 20), 1)]
    assert driver.metrics["late-records"] == 1


def test_sessions_merge_across_restart():
    def build(b):
        return b.stream("in", D, D).group_by_key().windowed_by(
            SessionWindows.with_inactivity_gap(10).with_grace(100)
        ).count(name="s").to_stream()

    out, _ = run(build, [("in", "a", "x", 0), ("in", "a", "x", 20)], [("in", "a", "x", 10)])
    assert out[-1] == (Windowed("a", 0, 20), 3)


def test_left_join_pending_record_is_emitted_after_restart():
    def build(b):
        right = b.stream("r", D, D)
        return b.stream("l", D, D).left_join(right, lambda x, y: f"{x}+{y}", JoinWindows.of_time_difference_with_no_grace(10))

    out, _ = run(build, [("l", "k", "a", 100), ("l", "j", "b", 100)], [("r", "k", "r", 105), ("r", "z", "_", 200)])
    assert out == [("k", "a+r"), ("j", "b+None")]
