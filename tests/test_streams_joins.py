"""Stream–stream joins at the window edges and stream–table joins (streams.md §2)."""

from __future__ import annotations

import pytest
from confluent_kafka.serialization import StringDeserializer, StringSerializer

from streams import JoinWindows, StreamsBuilder, TopologyError, TopologyTestDriver

S, D = StringSerializer(), StringDeserializer()


def joined(kind, windows, events):
    """Pipe ``(side, key, value, ts)`` events through ``left.<kind>(right)``; returns ``(value, ts)``s."""
    builder = StreamsBuilder()
    left, right = builder.stream("left", D, D), builder.stream("right", D, D)
    join = getattr(left, kind)
    join(right, lambda left, right: f"{left}+{right}", windows).to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    topics = {"L": driver.create_input_topic("left", S, S), "R": driver.create_input_topic("right", S, S)}
    out = driver.create_output_topic("out", D, D)
    results = []
    for side, key, value, ts in events:
        topics[side].pipe_input(key, value, ts)
        results.append([(r.value, r.timestamp) for r in out.read_records()])
    return results, driver


def flat(results):
    return [x for step in results for x in step]


def test_join_window_bounds_are_inclusive():
    # other.ts in [ts - before, ts + after], both ends inclusive.
    w = JoinWindows.of_time_difference_and_grace(100, 1000)
    results, _ = joined(
        "join", w, [("L", "k", "a", 1000), ("R", "k", "in-lo", 900), ("R", "k", "in-hi", 1100), ("R", "k", "out", 1101)]
    )
    assert flat(results) == [("a+in-lo", 1000), ("a+in-hi", 1100)]


def test_asymmetric_before_after_and_flip():
    w = JoinWindows.of_time_difference(0).before(50).after(10).with_grace(1000)
    results, _ = joined(
        "join",
        w,
        [("L", "k", "a", 1000), ("R", "k", "r949", 949), ("R", "k", "r950", 950), ("R", "k", "r1010", 1010),
         ("R", "k", "r1011", 1011)],
    )
    assert flat(results) == [("a+r950", 1000), ("a+r1010", 1010)]
    assert w.flipped() == JoinWindows(10, 50, 1000)


def test_output_timestamp_is_the_larger_and_right_triggers_too():
    w = JoinWindows.of_time_difference_with_no_grace(100)
    results, _ = joined("join", w, [("R", "k", "r", 1050), ("L", "k", "l", 1000)])
    assert results == [[], [("l+r", 1050)]]


def test_inner_join_never_emits_unmatched_and_keys_must_match():
    w = JoinWindows.of_time_difference_with_no_grace(100)
    results, _ = joined("join", w, [("L", "a", "l", 0), ("R", "b", "r", 0), ("L", "c", "x", 5000)])
    assert flat(results) == []


def test_left_join_emits_unmatched_only_after_window_plus_grace_closes():
    # Left record at 1000, after=100, grace=50: closes when stream time > 1150.
    w = JoinWindows.of_time_difference_and_grace(100, 50)
    results, _ = joined(
        "left_join", w, [("L", "k", "a", 1000), ("R", "x", "_", 1150), ("R", "x", "_", 1151), ("R", "k", "late", 1100)]
    )
    assert results[0] == results[1] == []
    assert results[2] == [("a+None", 1000)]
    # As in Kafka Streams, a is kept for before + after + grace: a right record inside its window
    # still joins it after its unmatched result went out.
    assert results[3] == [("a+late", 1100)]


def test_left_join_matched_record_is_not_emitted_unmatched():
    w = JoinWindows.of_time_difference_with_no_grace(100)
    results, _driver = joined("left_join", w, [("L", "k", "a", 1000), ("R", "k", "r", 1100), ("R", "z", "_", 5000)])
    assert flat(results) == [("a+r", 1100)]


def test_outer_join_emits_unmatched_from_both_sides():
    w = JoinWindows.of_time_difference_with_no_grace(10)
    results, _ = joined("outer_join", w, [("L", "k", "l", 100), ("R", "j", "r", 105), ("L", "z", "_", 200)])
    assert results[2] == [("l+None", 100), ("None+r", 105)]


def test_records_older_than_the_retention_are_not_seen():
    # Each side keeps before + after + grace (20 ms) behind the largest timestamp it stored.
    w = JoinWindows.of_time_difference_with_no_grace(10)
    events = [("L", "k", "l", 1000), ("R", "k", "r", 980), ("R", "k", "r2", 995), ("R", "k", "old", 900),
              ("L", "k", "l2", 905)]
    results, _ = joined("join", w, events)
    # r at 980 is out of l's window [990, 1010]; old (900) is in l2's window but the right side,
    # which stored 995, no longer shows anything before 976.
    assert flat(results) == [("l+r2", 1000)]


def test_null_keys_never_join():
    w = JoinWindows.of_time_difference_with_no_grace(10)
    results, driver = joined("join", w, [("L", None, "l", 0), ("R", None, "r", 0)])
    assert flat(results) == []
    assert driver.metrics["null-key-or-value"] == 2


def test_join_requires_windows_with_explicit_grace():
    builder = StreamsBuilder()
    left, right = builder.stream("l", D, D), builder.stream("r", D, D)
    with pytest.raises(ValueError, match="explicit grace"):
        left.join(right, lambda a, b: a, JoinWindows.of_time_difference(10))
    with pytest.raises(TopologyError):
        left.join(right, lambda a, b: a)


def stream_table(kind):
    builder = StreamsBuilder()
    table = builder.table("users", D, D, name="users")
    getattr(builder.stream("clicks", D, D), kind)(table, lambda click, user: f"{click}/{user}").to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    return driver, driver.create_input_topic("clicks", S, S), driver.create_input_topic("users", S, S)


def test_stream_table_inner_join_is_triggered_by_stream_side_only():
    driver, clicks, users = stream_table("join")
    out = driver.create_output_topic("out", D, D)
    clicks.pipe_input("u1", "c0", 1)  # no user yet: nothing
    users.pipe_input("u1", "ann", 2)  # table update: nothing
    clicks.pipe_input("u1", "c1", 3)
    users.pipe_input("u1", "bob", 4)
    clicks.pipe_input("u1", "c2", 5)
    users.pipe_input("u1", None, 6)  # tombstone deletes, emits nothing
    clicks.pipe_input("u1", "c3", 7)
    assert [(r.value, r.timestamp) for r in out.read_records()] == [("c1/ann", 3), ("c2/bob", 5)]


def test_stream_table_left_join():
    driver, clicks, users = stream_table("left_join")
    clicks.pipe_input("u1", "c0", 1)
    users.pipe_input("u1", "ann", 2)
    clicks.pipe_input("u1", "c1", 3)
    assert driver.create_output_topic("out", D, D).read_values() == ["c0/None", "c1/ann"]


def test_stream_join_with_aggregated_table():
    builder = StreamsBuilder()
    orders = builder.stream("orders", D, D)
    counts = orders.group_by_key().count(name="n")
    builder.stream("payments", D, D).join(counts, lambda p, n: f"{p}:{n}").to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic("orders", S, S).pipe_records([("a", "o", 1), ("a", "o", 2)])
    driver.create_input_topic("payments", S, S).pipe_input("a", "p", 3)
    assert driver.create_output_topic("out", D, D).read_values() == ["p:2"]


def test_stream_table_join_refuses_windows_and_outer():
    builder = StreamsBuilder()
    table = builder.table("t", D, D)
    stream = builder.stream("s", D, D)
    with pytest.raises(TopologyError):
        stream.join(table, lambda a, b: a, JoinWindows.of_time_difference_with_no_grace(1))
    with pytest.raises(TopologyError):
        stream.outer_join(table, lambda a, b: a, None)
