"""Stateless and key-value operators on the TopologyTestDriver (no broker)."""

from __future__ import annotations

import pytest
from confluent_kafka.serialization import IntegerDeserializer, IntegerSerializer, StringDeserializer, StringSerializer

from streams import Grouped, Repartitioned, Serdes, StreamsBuilder, TopologyError, TopologyTestDriver

S, D = StringSerializer(), StringDeserializer()


def run(build, records, outputs, topic="in"):
    """Build with ``build(stream)``, pipe ``(key, value, ts)`` records, read each output topic."""
    builder = StreamsBuilder()
    build(builder, builder.stream(topic, D, D))
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic(topic, S, S).pipe_records(records)
    return driver, {name: driver.create_output_topic(name, D, D).read_records() for name in outputs}


def kv(records):
    return [(r.key, r.value) for r in records]


def test_filter_filter_not_map_values_to():
    def build(b, s):
        s.filter(lambda k, v: int(v) > 1).map_values(lambda v: v + "!").to("big", S, S)
        s.filter_not(lambda k, v: int(v) > 1).to("small", S, S)

    _, out = run(build, [("a", "1", 10), ("b", "2", 20), ("c", "3", 30)], ["big", "small"])
    assert kv(out["big"]) == [("b", "2!"), ("c", "3!")]
    assert [r.timestamp for r in out["big"]] == [20, 30]
    assert kv(out["small"]) == [("a", "1")]


def test_map_flat_map_flat_map_values_peek():
    seen = []

    def build(b, s):
        s.map(lambda k, v: (v, k)).to("swapped", S, S)
        s.flat_map(lambda k, v: [(k + str(i), v) for i in range(2)]).to("fan", S, S)
        s.flat_map_values(lambda v: v.split(",")).peek(lambda k, v: seen.append((k, v))).to("split", S, S)
        s.select_key(lambda k, v: v.upper()).to("rekeyed", S, S)

    _, out = run(build, [("a", "x,y", 5)], ["swapped", "fan", "split", "rekeyed"])
    assert kv(out["swapped"]) == [("x,y", "a")]
    assert kv(out["fan"]) == [("a0", "x,y"), ("a1", "x,y")]
    assert kv(out["split"]) == [("a", "x"), ("a", "y")] == seen
    assert kv(out["rekeyed"]) == [("X,Y", "x,y")]


def test_split_branches_first_match_and_default():
    def build(b, s):
        branches = (
            s.split()
            .branch(lambda k, v: v == "0", "zero")
            .branch(lambda k, v: int(v) > 100, "high")
            .default_branch("rest")
        )
        for name, stream in branches.items():
            stream.to(name, S, S)

    _, out = run(build, [("a", "0", 1), ("b", "500", 2), ("c", "7", 3), ("d", "200", 4)], ["zero", "high", "rest"])
    assert kv(out["zero"]) == [("a", "0")]
    assert kv(out["high"]) == [("b", "500"), ("d", "200")]
    assert kv(out["rest"]) == [("c", "7")]


def test_merge_interleaves_in_arrival_order():
    builder = StreamsBuilder()
    a, b = builder.stream("a", D, D), builder.stream("b", D, D)
    a.merge(b).to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    ia, ib = driver.create_input_topic("a", S, S), driver.create_input_topic("b", S, S)
    ia.pipe_input("k", "1", 1)
    ib.pipe_input("k", "2", 2)
    ia.pipe_input("k", "3", 3)
    assert driver.create_output_topic("out", D, D).read_values() == ["1", "2", "3"]


def test_count_reduce_aggregate_emit_per_record_with_max_timestamp():
    def build(b, s):
        g = s.group_by_key()
        g.count(name="counts").to_stream().to("counts", S, IntegerSerializer())
        g.reduce(lambda agg, v: agg + v, name="concat").to_stream().to("concat", S, S)
        g.aggregate(lambda: 0, lambda k, v, agg: agg + int(v), name="sums").to_stream().to(
            "sums", S, IntegerSerializer()
        )

    driver, out = run(build, [("a", "1", 30), ("b", "2", 10), ("a", "3", 20)], ["concat"])
    counts = driver.create_output_topic("counts", D, IntegerDeserializer()).read_records()
    assert kv(counts) == [("a", 1), ("b", 1), ("a", 2)]
    # Aggregate result timestamp = max of contributing records (streams.md §1 Timestamps row).
    assert [r.timestamp for r in counts] == [30, 10, 30]
    assert kv(out["concat"]) == [("a", "1"), ("b", "2"), ("a", "13")]
    assert driver.create_output_topic("sums", D, IntegerDeserializer()).read_values() == [1, 2, 4]
    assert driver.table_values("counts") == {"a": 2, "b": 1}


def test_null_keys_and_values_are_skipped_by_aggregations_and_counted():
    def build(b, s):
        s.group_by_key().count(name="c").to_stream().to("out", S, IntegerSerializer())

    driver, _ = run(build, [(None, "x", 1), ("a", None, 2), ("a", "y", 3)], [])
    assert driver.create_output_topic("out", D, IntegerDeserializer()).read_key_values() == [("a", 1)]
    assert driver.metrics["null-key-or-value"] == 2


def test_group_by_repartitions_through_internal_topic():
    def build(b, s):
        s.group_by(lambda k, v: v[0], Grouped.as_("by-initial")).count(name="c").to_stream().to("out", S, IntegerSerializer())

    driver, _ = run(build, [("1", "apple", 1), ("2", "avocado", 2), ("3", "banana", 3)], [])
    assert driver.create_output_topic("out", D, IntegerDeserializer()).read_key_values() == [
        ("a", 1), ("a", 2), ("b", 1)
    ]
    assert len(driver.outputs["test-driver-by-initial-repartition"]) == 3


def test_key_change_then_group_by_key_repartitions_but_map_values_does_not():
    builder = StreamsBuilder()
    s = builder.stream("in", D, D)
    s.map(lambda k, v: (v, k)).group_by_key().count(name="c1")
    s.map_values(str.upper).group_by_key().count(name="c2")
    topology = builder.build()
    assert len(topology.repartition_topics) == 1


def test_explicit_repartition_with_key_selector_and_serde():
    def build(b, s):
        s.repartition(lambda k, v: v, Repartitioned.as_("by-value").with_key_serde((S, D)).with_value_serde((S, D))).to("out", S, S)

    driver, out = run(build, [("a", "x", 1)], ["out"])
    assert kv(out["out"]) == [("x", "x")]
    assert driver.outputs["test-driver-by-value-repartition"][0][0] == b"x"


def test_table_upserts_deletes_and_to_stream():
    builder = StreamsBuilder()
    table = builder.table("users", D, D, name="users")
    table.filter(lambda k, v: v != "hidden").map_values(str.upper).to_stream().to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    users = driver.create_input_topic("users", S, S)
    users.pipe_input("u1", "ann", 1)
    users.pipe_input("u2", "hidden", 2)
    users.pipe_input("u1", None, 3)
    # A named (materialized) table sends old values: u2 never passed the filter, so its row
    # staying filtered out is not forwarded (Kafka Streams' KTableFilter).
    assert driver.create_output_topic("out", D, D).read_key_values() == [("u1", "ANN"), ("u1", None)]
    assert driver.table_values("users") == {"u2": "hidden"}


def test_timestamp_extractor_sets_event_time():
    builder = StreamsBuilder()
    builder.stream("in", D, D, timestamp_extractor=lambda k, v, ts: int(v)).to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic("in", S, S).pipe_input("k", "12345", 1)
    assert driver.create_output_topic("out", D, D).read_records()[0].timestamp == 12345


def test_deserialization_and_processing_errors_go_to_dead_letter_topic():
    builder = StreamsBuilder()
    builder.stream("in", D, IntegerDeserializer()).map_values(lambda v: 100 // v).to("out", S, IntegerSerializer())
    driver = TopologyTestDriver(builder.build(), {"application.id": "app"})
    raw = driver.create_input_topic("in", S, Serdes.bytes().serializer)
    raw.pipe_input("bad", b"xyz", 1)
    raw.pipe_input("zero", IntegerSerializer()(0, None), 2)
    raw.pipe_input("ok", IntegerSerializer()(5, None), 3)
    assert driver.create_output_topic("out", D, IntegerDeserializer()).read_key_values() == [("ok", 20)]
    dlq = driver.create_output_topic("app-dlq", D, Serdes.bytes().deserializer).read_records()
    assert [r.key for r in dlq] == ["bad", "zero"]
    assert dlq[0].value == b"xyz"
    headers = [dict(r.headers) for r in dlq]
    assert headers[0]["__streams.errors.stage"] == b"deserialization"
    assert headers[1]["__streams.errors.stage"] == b"processing"
    assert headers[1]["__streams.errors.exception"] == b"ZeroDivisionError"
    assert headers[1]["__streams.errors.offset"] == b"1"
    assert driver.metrics["error-records"] == 2


def test_fail_handler_raises():
    builder = StreamsBuilder()
    builder.stream("in", D, D).map_values(lambda v: 1 // 0)
    driver = TopologyTestDriver(builder.build(), {"processing.exception.handler": "fail"})
    with pytest.raises(ZeroDivisionError):
        driver.create_input_topic("in", S, S).pipe_input("k", "v", 1)


def test_invalid_topologies_are_refused():
    builder = StreamsBuilder()
    with pytest.raises(TopologyError):
        builder.build()
    s = builder.stream("in", D, D)
    with pytest.raises(TopologyError):
        builder.stream("in", D, D)
    with pytest.raises(TopologyError):
        s.group_by_key().count().suppress(None)
    s.group_by_key().count(name="x")
    with pytest.raises(TopologyError):
        s.group_by_key().count(name="x")
