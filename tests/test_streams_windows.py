"""Window assignment, grace, late records, suppression, sessions and idle close (streams.md §2)."""

from __future__ import annotations

import pytest
from confluent_kafka.serialization import IntegerSerializer, StringDeserializer, StringSerializer

from streams import Serdes, SessionWindows, StreamsBuilder, Suppressed, TimeWindows, TopologyTestDriver, Windowed

S, D = StringSerializer(), StringDeserializer()


def windowed(windows, records, *, final=False, idle_close_ms=None, advance_wall=None, op="count"):
    """Windowed count (or sum) of ``(key, value, ts)`` records; returns (outputs, driver)."""
    builder = StreamsBuilder()
    grouped = builder.stream("in", D, D).group_by_key().windowed_by(windows)
    if op == "count":
        table = grouped.count(name="w")
    elif op == "reduce":
        table = grouped.reduce(lambda a, b: a + b, name="w")
    else:
        table = grouped.aggregate(lambda: 0, lambda k, v, agg: agg + int(v), name="w")
    if final:
        table = table.suppress(Suppressed.until_window_closes(idle_close_ms))
    out = []
    table.to_stream().peek(lambda k, v: out.append((k, v)))
    driver = TopologyTestDriver(builder.build())
    topic = driver.create_input_topic("in", S, S)
    for key, value, ts in records:
        topic.pipe_input(key, value, ts)
    if advance_wall:
        for step in advance_wall:
            driver.advance_wall_clock_time(step)
    return out, driver


def W(key, start, end):
    return Windowed(key, start, end)


def test_grace_is_never_implied():
    builder = StreamsBuilder()
    grouped = builder.stream("in", D, D).group_by_key()
    with pytest.raises(ValueError, match="explicit grace"):
        grouped.windowed_by(TimeWindows.of(5000))
    with pytest.raises(ValueError, match="explicit grace"):
        grouped.windowed_by(SessionWindows.with_inactivity_gap(5000))


def test_hopping_window_starts_match_kafka_streams():
    # streams.md §2: size 5000, advance 3000 -> [0,5000), [3000,8000), ...
    w = TimeWindows.of(5000).advance_by(3000).no_grace()
    assert list(w.window_starts(1000)) == [0]
    assert list(w.window_starts(4000)) == [0, 3000]
    assert list(w.window_starts(4999)) == [0, 3000]
    assert list(w.window_starts(5000)) == [3000]
    assert list(w.window_starts(6000)) == [3000, 6000]
    tumbling = TimeWindows.of_size_with_no_grace(5000)
    assert list(tumbling.window_starts(0)) == [0]
    assert list(tumbling.window_starts(4999)) == [0]
    assert list(tumbling.window_starts(5000)) == [5000]


def test_tumbling_count_emits_per_record_with_half_open_bounds():
    out, _ = windowed(TimeWindows.of(5000).no_grace(), [("a", "x", 0), ("a", "x", 4999), ("a", "x", 5000)])
    assert out == [(W("a", 0, 5000), 1), (W("a", 0, 5000), 2), (W("a", 5000, 10000), 1)]


def test_hopping_count_updates_every_containing_window():
    out, _ = windowed(TimeWindows.of(5000).advance_by(3000).with_grace(10_000), [("a", "x", 4000), ("a", "x", 6000)])
    assert out == [
        (W("a", 0, 5000), 1),
        (W("a", 3000, 8000), 1),
        (W("a", 3000, 8000), 2),
        (W("a", 6000, 11000), 1),
    ]


def test_late_records_beyond_grace_are_dropped_and_counted():
    # A record updates [start,end) only if end > streamTime - grace (streams.md §2, Grace and late data).
    w = TimeWindows.of(5000).with_grace(1000)
    out, driver = windowed(w, [("a", "x", 1000), ("a", "x", 5999), ("a", "x", 4000), ("a", "x", 6000), ("a", "x", 4500)])
    # stream time 5999: [0,5000) end 5000 > 5999-1000=4999 -> ts 4000 accepted; at 6000 it closes.
    assert out == [
        (W("a", 0, 5000), 1),
        (W("a", 5000, 10000), 1),
        (W("a", 0, 5000), 2),
        (W("a", 5000, 10000), 2),
    ]
    assert driver.metrics["late-records"] == 1
    assert driver.metrics["dropped-records"] == 1


def test_no_grace_drops_out_of_order_record_of_closed_window():
    out, driver = windowed(TimeWindows.of(5000).no_grace(), [("a", "x", 5000), ("a", "x", 4999)])
    assert out == [(W("a", 5000, 10000), 1)]
    assert driver.metrics["late-records"] == 1


def test_suppress_emits_one_final_record_per_window_when_stream_time_passes_end_plus_grace():
    w = TimeWindows.of(5000).with_grace(1000)
    records = [("a", "x", 100), ("b", "x", 200), ("a", "x", 4900), ("a", "x", 5500), ("a", "x", 5999)]
    out, driver = windowed(w, records, final=True)
    assert out == []  # stream time 5999 < end 5000 + grace 1000
    driver.create_input_topic("in", S, S).pipe_input("c", "x", 6000)
    assert out == [(W("a", 0, 5000), 2), (W("b", 0, 5000), 1)]
    driver.create_input_topic("in", S, S).pipe_input("a", "x", 11_000)
    assert out[2:] == [(W("a", 5000, 10000), 2), (W("c", 5000, 10000), 1)]


def test_final_result_timestamp_is_max_of_window_records():
    builder = StreamsBuilder()
    builder.stream("in", D, D).group_by_key().windowed_by(TimeWindows.of(10).no_grace()).count(name="w").final(
    ).to_stream(lambda wk, v: f"{wk.key}@{wk.start}").to("out", S, IntegerSerializer())
    driver = TopologyTestDriver(builder.build())
    topic = driver.create_input_topic("in", S, S)
    for ts in (7, 3, 9, 10):
        topic.pipe_input("k", "v", ts)
    (record,) = driver.create_output_topic("out", D, Serdes.bytes().deserializer).read_records()
    assert (record.key, record.timestamp) == ("k@0", 9)


def test_windowed_reduce_and_aggregate():
    w = TimeWindows.of(10).no_grace()
    out, _ = windowed(w, [("a", "1", 1), ("a", "2", 2), ("a", "3", 12)], op="reduce")
    assert [v for _, v in out] == ["1", "12", "3"]
    out, _ = windowed(w, [("a", "1", 1), ("a", "2", 2), ("a", "3", 12)], op="aggregate")
    assert [v for _, v in out] == [1, 3, 3]


def test_closed_windows_leave_the_store():
    _, driver = windowed(TimeWindows.of(10).no_grace(), [("a", "x", 1), ("b", "x", 5), ("a", "x", 25)])
    assert set(driver.table_values("w")) == {("a", 20)}


def test_idle_close_emits_last_window_of_a_quiet_partition():
    w = TimeWindows.of(5000).no_grace()
    out, driver = windowed(w, [("a", "x", 1000), ("a", "x", 2000)], final=True, idle_close_ms=2000, advance_wall=[100])
    assert out == []
    driver.advance_wall_clock_time(1500)  # quiet 1.5 s < 2 s
    assert out == []
    driver.advance_wall_clock_time(1500)  # quiet 3 s: stream time 2000 + 3000 >= end 5000
    assert out == [(W("a", 0, 5000), 2)]
    driver.create_input_topic("in", S, S).pipe_input("a", "x", 4000)
    assert driver.metrics["late-records"] == 1


def test_without_idle_close_wall_clock_never_closes_windows():
    out, _driver = windowed(TimeWindows.of(5000).no_grace(), [("a", "x", 1000)], final=True, advance_wall=[10**9])
    assert out == []


def test_session_windows_merge_and_emit_tombstones_for_replaced_sessions():
    # Bounds are [first ts, last ts] of real records; a record merges sessions within gap on either side.
    w = SessionWindows.with_inactivity_gap(100).with_grace(1000)
    out, _ = windowed(w, [("a", "x", 0), ("a", "x", 200), ("a", "x", 100), ("a", "x", 350)])
    assert out == [
        (W("a", 0, 0), 1),
        (W("a", 200, 200), 1),
        (W("a", 0, 0), None),
        (W("a", 200, 200), None),
        (W("a", 0, 200), 3),
        (W("a", 350, 350), 1),  # 150 after the session's end: more than the gap
    ]


def test_session_gap_is_inclusive():
    w = SessionWindows.with_inactivity_gap(100).no_grace()
    out, _ = windowed(w, [("a", "x", 0), ("a", "x", 100), ("a", "x", 201)])
    assert out[-1] == (W("a", 201, 201), 1)
    assert (W("a", 0, 100), 2) in out


def test_session_closed_by_stream_time_cannot_be_extended():
    w = SessionWindows.with_inactivity_gap(10).no_grace()
    out, _driver = windowed(w, [("a", "1", 0), ("a", "2", 20), ("a", "3", 10)], op="reduce")
    # At stream time 20, [0,0] is closed (0 < 20 - 10 - 0): the record at 10 only merges with [20,20].
    assert out[-1] == (W("a", 10, 20), "23")


def test_session_final_and_late_records():
    # Expired when sessionEnd < streamTime - gap - grace (streams.md §2, Session windows).
    w = SessionWindows.with_inactivity_gap(100).with_grace(50)
    out, driver = windowed(w, [("a", "x", 0), ("a", "x", 50), ("b", "x", 199)], final=True)
    assert out == []  # 50 <= 199 - 150 is false
    # suppress emits once sessionEnd <= streamTime - gap - grace (Kafka Streams' suppress duration).
    driver.create_input_topic("in", S, S).pipe_input("b", "x", 200)
    assert out == [(W("a", 0, 50), 2)]
    driver.create_input_topic("in", S, S).pipe_input("b", "x", 201)
    driver.create_input_topic("in", S, S).pipe_input("a", "x", 40)  # would extend a closed session
    assert out == [(W("a", 0, 50), 2)]
    assert driver.metrics["late-records"] == 1


def test_session_reduce_and_aggregate_merge():
    w = SessionWindows.with_inactivity_gap(10).with_grace(100)
    out, _ = windowed(w, [("a", "1", 0), ("a", "2", 20), ("a", "3", 10)], op="reduce")
    assert out[-1] == (W("a", 0, 20), "123")
    builder = StreamsBuilder()
    got = []
    builder.stream("in", D, D).group_by_key().windowed_by(w).aggregate(
        lambda: 0, lambda k, v, agg: agg + int(v), lambda k, a, b: a + b, name="s"
    ).to_stream().peek(lambda k, v: got.append((k, v)))
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic("in", S, S).pipe_records([("a", "1", 0), ("a", "2", 20), ("a", "3", 10)])
    assert got[-1] == (W("a", 0, 20), 6)


def test_per_key_stream_time_keeps_a_slow_key_open():
    builder = StreamsBuilder()
    out = []
    builder.stream("in", D, D).group_by_key().windowed_by(
        TimeWindows.of(1000).no_grace(), stream_time="key"
    ).count(name="w").final().to_stream().peek(lambda k, v: out.append((k, v)))
    driver = TopologyTestDriver(builder.build())
    topic = driver.create_input_topic("in", S, S)
    topic.pipe_records([("slow", "x", 100), ("fast", "x", 200), ("fast", "x", 5000), ("slow", "x", 900)])
    # Per partition, 900 would be late at stream time 5000; per key, slow's window is still open.
    assert out == [(W("fast", 0, 1000), 1)]
    topic.pipe_input("slow", "x", 1000)
    assert out[1:] == [(W("slow", 0, 1000), 2)]
    assert driver.metrics.get("late-records", 0) == 0
    assert set(driver.table_values("w")) == {("fast", 5000), ("slow", 1000)}


def test_per_key_stream_time_with_idle_close():
    builder = StreamsBuilder()
    out = []
    builder.stream("in", D, D).group_by_key().windowed_by(
        TimeWindows.of(1000).no_grace(), stream_time="key"
    ).count(name="w").final(idle_close_ms=500).to_stream().peek(lambda k, v: out.append((k, v)))
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic("in", S, S).pipe_records([("a", "x", 100), ("b", "x", 300)])
    for _ in range(3):
        driver.advance_wall_clock_time(400)
    assert out == [(W("a", 0, 1000), 1), (W("b", 0, 1000), 1)]
