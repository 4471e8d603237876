"""KTable.group_by aggregations and the change layout of their repartition topic."""

from __future__ import annotations

import pytest
from confluent_kafka.serialization import MessageField, SerializationContext, StringDeserializer, StringSerializer

from streams import StreamsBuilder, TopologyTestDriver
from streams.change_serde import change_deserializer, change_serializer

S, D = StringSerializer(), StringDeserializer()
CTX = SerializationContext("t", MessageField.VALUE)


def text(value, ctx):
    return str(value).encode()


def test_change_layout_is_kafka_streams_changed_serializer():
    write, read = change_serializer(S), change_deserializer(D)
    assert write(("new", None), CTX) == b"new\x01"
    assert write((None, "old"), CTX) == b"old\x00"
    assert write(("n", "old"), CTX) == b"\x02nold\x02"  # zig-zag varint of len("n") == 1 is 2
    for change in [("new", None), (None, "old"), ("n", "old"), ("", "")]:
        assert read(write(change, CTX), CTX) == change
    with pytest.raises(ValueError):
        write((None, None), CTX)
    with pytest.raises(ValueError, match="flag"):
        read(b"x\x07", CTX)
    with pytest.raises(ValueError, match="past"):
        read(b"\x7e" + b"ab\x02", CTX)


def test_counts_per_category_follow_rows_that_change_category():
    builder = StreamsBuilder()
    builder.table("products", D, D).group_by(lambda k, v: (v, k)).count(name="per-category") \
        .to_stream().to("out", S, text)
    driver = TopologyTestDriver(builder.build())
    products = driver.create_input_topic("products", S, S)
    out = driver.create_output_topic("out", D, D)
    products.pipe_input("p1", "fruit", 1)
    products.pipe_input("p2", "fruit", 2)
    products.pipe_input("p1", "veg", 3)  # subtracted from fruit, then added to veg
    products.pipe_input("p2", None, 4)  # deleted: subtracted only
    assert [(r.key, r.value, r.timestamp) for r in out.read_records()] == [
        ("fruit", "1", 1), ("fruit", "2", 2), ("fruit", "1", 3), ("veg", "1", 3), ("fruit", "0", 4),
    ]
    assert driver.table_values("per-category") == {"fruit": 0, "veg": 1}
