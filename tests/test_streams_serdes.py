"""Serdes, store layouts and co-partitioning checks, without a broker.

Store entries are encoded in Java's layouts where Kafka Streams defines them, canonically, and
never with pickle; bytes that do not fit a layout raise instead of running anything.
"""

from __future__ import annotations

import struct

import pytest
from confluent_kafka.serialization import IntegerDeserializer, StringDeserializer, StringSerializer

from streams import (
    Grouped,
    JoinWindows,
    Materialized,
    Repartitioned,
    Serdes,
    SessionWindows,
    StoreSerdeError,
    StreamsBuilder,
    TimeWindows,
    TopologyError,
    TopologyTestDriver,
    Windowed,
)
from streams.clock import STREAM_TIME
from streams.codec import JoinCodec, SessionCodec, StoreCodec, StoreDecodeError, WindowCodec
from streams.config import StreamsConfig
from streams.window_aggregate import KEY_TIME

S, D = StringSerializer(), StringDeserializer()
LONG = struct.Struct(">q")


def codec(kind, value_serde=None):
    return kind("s", "app-s-changelog", Serdes.string(), value_serde or Serdes.json())


def test_key_value_layout_is_timestamp_then_value_bytes():
    kv = codec(StoreCodec, Serdes.long())
    assert kv.encode("a", (3, 17)) == (b"a", LONG.pack(17) + LONG.pack(3))
    assert kv.decode(b"a", LONG.pack(17) + LONG.pack(3)) == ("a", (3, 17))
    assert kv.encode("a", None) == (b"a", None)


def test_window_layout_is_javas_window_key_schema():
    window = codec(WindowCodec, Serdes.long())
    key, value = window.encode(("a", 1000), (2, 1500))
    assert key == b"a" + LONG.pack(1000) + struct.pack(">i", 0)  # key | start | seqnum 0
    assert value == LONG.pack(1500) + LONG.pack(2)
    assert window.decode(key, value) == (("a", 1000), (2, 1500))
    for meta, time in ((STREAM_TIME, 99), ((KEY_TIME, "a"), 42)):
        assert window.decode(*window.encode(meta, time)) == (meta, time)
    assert len(window.encode(STREAM_TIME, 99)[0]) < 12  # shorter than any data key: compaction keeps both


def test_session_layout_is_javas_session_key_schema_and_a_moved_end_leaves_a_tombstone():
    session = codec(SessionCodec, Serdes.long())
    store = session.new_store()
    store.put(("a", 10), (20, 2, 20))
    assert session.changes(store) == [(b"a" + LONG.pack(20) + LONG.pack(10), LONG.pack(20) + LONG.pack(2))]
    store.delete(("a", 10))
    store.put(("a", 10), (35, 3, 35))
    assert session.changes(store) == [
        (b"a" + LONG.pack(20) + LONG.pack(10), None),  # the old session's key, deleted
        (b"a" + LONG.pack(35) + LONG.pack(10), LONG.pack(35) + LONG.pack(3)),
    ]
    assert session.decode(b"a" + LONG.pack(35) + LONG.pack(10), LONG.pack(35) + LONG.pack(3)) == (("a", 10), (35, 3, 35))


def test_join_layout_round_trips_buffered_records():
    join = codec(JoinCodec)
    records = [[5, {"x": 1}, False], [7, "y", True]]
    assert join.decode(*join.encode("k", records)) == ("k", records)
    assert join.decode(*join.encode(STREAM_TIME, 7)) == (STREAM_TIME, 7)


def test_equal_keys_give_equal_bytes():
    kv = StoreCodec("s", "c", Serdes.json(), Serdes.json())
    assert kv.encode({"b": 1, "a": [1, 2]}, (0, 0)) == kv.encode({"a": [1, 2], "b": 1}, (0, 0))


@pytest.mark.parametrize("kind", [StoreCodec, WindowCodec, SessionCodec, JoinCodec])
def test_foreign_bytes_raise_store_decode_error(kind):
    import pickle

    payload = pickle.dumps(("not", "ours"))
    with pytest.raises(StoreDecodeError, match="does not decode"):
        codec(kind).decode(payload + b"\x00" * 16, payload)


def test_built_in_serdes_refuse_what_they_cannot_write():
    with pytest.raises(Exception, match="writes str, not int"):
        Serdes.string().serializer(5, None)
    with pytest.raises(Exception, match="cannot write set"):
        Serdes.json().serializer({1, 2}, None)
    with pytest.raises(Exception, match="not JSON"):
        Serdes.json().deserializer(b"\x80\x05", None)


def test_config_names_default_serdes_and_refuses_other_partitioners():
    base = {"application.id": "a", "bootstrap.servers": "b:9092"}
    config = StreamsConfig.from_dict(base)
    assert (config.default_key_serde, config.default_value_serde) == (Serdes.string(), Serdes.json())
    config = StreamsConfig.from_dict({**base, "default.key.serde": "long", "default.value.serde": Serdes.bytes()})
    assert (config.default_key_serde, config.default_value_serde) == (Serdes.long(), Serdes.bytes())
    with pytest.raises(ValueError, match="unknown serde 'pickle'"):
        StreamsConfig.from_dict({**base, "default.value.serde": "pickle"})
    with pytest.raises(ValueError, match="Java's default partitioner"):
        StreamsConfig.from_dict({**base, "producer.partitioner": "consistent_random"})


def test_default_serdes_read_and_write_topics_without_explicit_serdes():
    builder = StreamsBuilder()
    builder.stream("in").map_values(lambda v: {**v, "seen": True}).to("out")
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic("in").pipe_input("k", {"n": 1}, 5)
    assert driver.outputs["out"][0][:3] == (b"k", b'{"n":1,"seen":true}', 5)
    assert driver.create_output_topic("out").read_key_values() == [("k", {"n": 1, "seen": True})]


def test_repartition_topics_are_written_with_known_or_default_serdes_not_pickle():
    builder = StreamsBuilder()
    source = builder.stream("in", D, D)
    source.group_by(lambda k, v: v, Grouped.as_("same")).count(name="c")  # values still read by a StringDeserializer
    source.map_values(lambda v: {"v": v}).group_by(lambda k, v: v["v"], Grouped.as_("mapped")).count(name="d")
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic("in", S, S).pipe_input("k", "v", 1)
    assert driver.outputs[driver.internal_topic("same-repartition")][0][:2] == (b"v", b"v")
    assert driver.outputs[driver.internal_topic("mapped-repartition")][0][:2] == (b"v", b'{"v":"v"}')  # JSON default


def test_driver_refuses_a_store_value_that_would_not_survive_a_restore():
    builder = StreamsBuilder()
    builder.stream("in", D, D).group_by_key().aggregate(lambda: (0, 0), lambda k, v, agg: (agg[0] + 1, agg[1]), name="a")
    driver = TopologyTestDriver(builder.build())
    with pytest.raises(StoreSerdeError, match=r"restored from its changelog as 'k' -> \(\[1, 0\], 1\), but the store holds \(\(1, 0\), 1\)"):
        driver.create_input_topic("in", S, S).pipe_input("k", "v", 1)


def test_materialized_serdes_write_the_store():
    builder = StreamsBuilder()
    counts = builder.stream("in", D, D).group_by_key(Grouped.with_(key_serde="string")).aggregate(
        lambda: "", lambda k, v, agg: agg + v, materialized=Materialized.as_("joined").with_value_serde("string")
    )
    topology = builder.build()
    assert counts.store == "joined"
    driver = TopologyTestDriver(topology)
    driver.create_input_topic("in", S, S).pipe_input("k", "ab", 1)
    key, value = driver.binding.codecs["joined"].encode("k", driver.stores["joined"].data["k"])
    assert (key, value) == (b"k", LONG.pack(1) + b"ab")


def test_join_of_a_repartitioned_stream_with_another_key_serde_is_refused_naming_the_serde():
    builder = StreamsBuilder()
    payments = builder.stream("payments", IntegerDeserializer(), D)
    orders = builder.stream("orders", D, D).select_key(lambda k, v: int(v))
    orders.join(payments, lambda o, p: o, JoinWindows.of_time_difference_with_no_grace(10)).to("out", S, S)
    with pytest.raises(TopologyError, match=r"place one key on different partitions(.|\n)*Serdes.integer\(\)"):
        TopologyTestDriver(builder.build())


def test_join_with_the_matching_repartition_key_serde_is_accepted():
    builder = StreamsBuilder()
    payments = builder.stream("payments", IntegerDeserializer(), D)
    orders = builder.stream("orders", D, D).repartition(lambda k, v: int(v), Repartitioned.with_(key_serde="integer"))
    orders.join(payments, lambda o, p: f"{o}+{p}", JoinWindows.of_time_difference_with_no_grace(10)).to(
        "out", Serdes.integer().serializer, S
    )
    driver = TopologyTestDriver(builder.build())
    driver.create_input_topic("payments", Serdes.integer().serializer, S).pipe_input(7, "paid", 1)
    driver.create_input_topic("orders", S, S).pipe_input("o", "7", 2)
    assert driver.outputs["out"][0][:2] == (b"\x00\x00\x00\x07", b"7+paid")


def test_join_of_topics_read_with_different_key_deserializers_is_refused():
    builder = StreamsBuilder()
    left, right = builder.stream("l", D, D), builder.stream("r", Serdes.json().deserializer, D)
    left.join(right, lambda a, b: a, JoinWindows.of_time_difference_with_no_grace(1)).to("out", S, S)
    with pytest.raises(TopologyError, match="'r': keys read with Serdes.json\\(\\)"):
        TopologyTestDriver(builder.build())


def test_windowed_and_session_aggregates_round_trip_through_their_layouts():
    builder = StreamsBuilder()
    grouped = builder.stream("in", D, D).group_by_key()
    grouped.windowed_by(TimeWindows.of(10).no_grace(), stream_time="key").count(name="w")
    grouped.windowed_by(SessionWindows.with_inactivity_gap(5).no_grace()).reduce(lambda a, b: a + b, name="s")
    driver = TopologyTestDriver(builder.build())
    topic = driver.create_input_topic("in", S, S)
    for key, value, ts in [("a", "x", 1), ("a", "y", 3), ("b", "z", 12), ("a", "w", 30)]:
        topic.pipe_input(key, value, ts)  # every record is checked against its changelog round trip
    assert driver.stores["w"].data[("a", 30)] == (1, 30)
    assert driver.stores["s"].data[("a", 30)] == (30, "w", 30)
    assert Windowed("a", 0, 10) == ("a", 0, 10)
