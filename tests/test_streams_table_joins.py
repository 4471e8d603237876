"""KTable–KTable joins (inner, left, outer) on the topology test driver (streams.md §2 "KTable semantics")."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from confluent_kafka.serialization import StringDeserializer, StringSerializer

from streams import Grouped, StreamsBuilder, TopologyError, TopologyTestDriver
from streams.config import StreamsConfig
from streams.processor import TaskContext
from streams.stream_join import LEFT
from streams.table import TableOptions
from streams.table_join import OUTER, TableTableJoin
from streams.topics import prepare_topics

S, D = StringSerializer(), StringDeserializer()


def joiner(left, right):
    return f"{left}+{right}"


def joined(kind, events):
    """Pipe ``(side, key, value, ts)`` into tables ``left``/``right``; the result records after each event."""
    builder = StreamsBuilder()
    left, right = builder.table("left", D, D, name="l"), builder.table("right", D, D, name="r")
    getattr(left, kind)(right, joiner).to_stream().to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    topics = {"L": driver.create_input_topic("left", S, S), "R": driver.create_input_topic("right", S, S)}
    out = driver.create_output_topic("out", D, D)
    results = []
    for side, key, value, ts in events:
        topics[side].pipe_input(key, value, ts)
        results.append([(r.key, r.value, r.timestamp) for r in out.read_records()])
    return results, driver


def test_inner_join_emits_while_both_sides_have_the_key_and_retracts_once():
    results, _ = joined(
        "join",
        [
            ("L", "k", "a", 1),  # right absent: nothing
            ("R", "k", "x", 5),
            ("L", "k", "b", 3),  # timestamp is the larger one
            ("R", "k", "y", 9),
            ("L", "k", None, 10),  # retracts the joined row
            ("R", "k", None, 12),  # left already gone: no row to retract
            ("R", "k", "z", 13),  # left absent: nothing
            ("L", "j", "c", 2),  # another key: right absent
            ("R", "j", "w", 1),
        ],
    )
    assert results == [
        [],
        [("k", "a+x", 5)],
        [("k", "b+x", 5)],
        [("k", "b+y", 9)],
        [("k", None, 10)],
        [],
        [],
        [],
        [("j", "c+w", 2)],
    ]


def test_inner_join_tombstone_for_a_key_without_a_row():
    # As Kafka Streams' KTableKTableInnerJoin: the other side has a row, so the deletion is forwarded
    # (a harmless repeat); with neither side holding the key nothing is emitted.
    results, _ = joined("join", [("R", "k", "x", 1), ("L", "k", None, 2), ("L", "j", None, 3)])
    assert results == [[], [("k", None, 2)], []]


def test_left_join_keeps_every_left_key():
    results, _ = joined(
        "left_join",
        [
            ("R", "k", "x", 1),  # left absent: nothing
            ("L", "k", "a", 2),
            ("R", "k", None, 3),  # right deletion: joiner(left, None)
            ("R", "k", "y", 7),
            ("L", "k", "b", 4),  # max(4, 7)
            ("L", "k", None, 8),  # left deletion: tombstone
            ("R", "k", None, 10),  # left absent: nothing
            ("L", "k", None, 11),  # left had no row, right absent: nothing
            ("L", "j", "c", 12),  # right absent: joiner(left, None) at the left's timestamp
            ("L", "j", None, 13),
        ],
    )
    assert results == [
        [],
        [("k", "a+x", 2)],
        [("k", "a+None", 3)],
        [("k", "a+y", 7)],
        [("k", "b+y", 7)],
        [("k", None, 8)],
        [],
        [],
        [("j", "c+None", 12)],
        [("j", None, 13)],
    ]


def test_outer_join_keeps_every_key_of_either_side():
    results, _ = joined(
        "outer_join",
        [
            ("R", "k", "x", 1),
            ("L", "k", "a", 3),
            ("L", "k", None, 4),  # right still there: joiner(None, right)
            ("R", "k", None, 2),  # both gone: tombstone at the update's own timestamp
            ("R", "k", None, 5),  # nothing left to delete: nothing
            ("L", "k", None, 5),
            ("L", "k", "b", 6),
            ("R", "k", "y", 5),  # max(5, 6)
            ("R", "k", None, 7),  # joiner(left, None)
        ],
    )
    assert results == [
        [("k", "None+x", 1)],
        [("k", "a+x", 3)],
        [("k", "None+x", 4)],
        [("k", None, 2)],
        [],
        [],
        [("k", "b+None", 6)],
        [("k", "b+y", 6)],
        [("k", "b+None", 7)],
    ]


def test_joiner_gets_left_value_first_for_updates_of_either_side():
    results, _ = joined("join", [("L", "k", "l", 1), ("R", "k", "r", 2), ("L", "k", "l2", 3)])
    assert [step[0][1] for step in results[1:]] == ["l+r", "l2+r"]


def test_input_without_a_store_is_looked_up_through_its_parent():
    builder = StreamsBuilder()
    users = builder.table("users", D, D, name="users")
    orders = builder.table("orders", D, D, name="orders")
    visible = users.filter(lambda k, v: v != "hidden").map_values(str.upper)
    assert visible.store is None
    visible.left_join(orders, joiner).to_stream().to("out", S, S)
    topology = builder.build()
    assert list(topology.stores) == ["users", "orders"]  # as Kafka Streams' value getters: no store of the join's own
    driver = TopologyTestDriver(topology)
    u, o = driver.create_input_topic("users", S, S), driver.create_input_topic("orders", S, S)
    out = driver.create_output_topic("out", D, D)
    u.pipe_input("u1", "ann", 1)
    o.pipe_input("u1", "o1", 2)
    u.pipe_input("u2", "hidden", 3)  # filtered out, no order: no row existed, nothing
    u.pipe_input("u1", "hidden", 4)  # filtered out: the left row is deleted
    o.pipe_input("u1", "o2", 5)  # left absent: nothing
    u.pipe_input("u1", "bob", 6)
    assert [(r.key, r.value, r.timestamp) for r in out.read_records()] == [
        ("u1", "ANN+None", 1),
        ("u1", "ANN+o1", 2),
        ("u1", None, 4),
        ("u1", "BOB+o2", 6),
    ]


def test_join_result_is_a_table_that_can_be_filtered_and_joined_again():
    builder = StreamsBuilder()
    a, b, c = (builder.table(t, D, D, name=t) for t in ("a", "b", "c"))
    ab = a.join(b, joiner)
    ab.filter(lambda k, v: not v.startswith("x")).outer_join(c, joiner).to_stream().to("out", S, S)
    driver = TopologyTestDriver(builder.build())
    inputs = {t: driver.create_input_topic(t, S, S) for t in "abc"}
    out = driver.create_output_topic("out", D, D)
    inputs["a"].pipe_input("k", "1", 1)
    inputs["b"].pipe_input("k", "2", 2)
    inputs["c"].pipe_input("k", "3", 3)
    inputs["a"].pipe_input("k", "x", 4)  # ab row "x+2" is filtered out: the ab side is deleted
    assert [(r.value, r.timestamp) for r in out.read_records()] == [
        ("1+2+None", 2),
        ("1+2+3", 3),
        ("None+3", 4),
    ]


def test_join_with_aggregated_table_uses_its_store():
    builder = StreamsBuilder()
    counts = builder.stream("clicks", D, D).group_by_key().count(name="counts")
    users = builder.table("users", D, D, name="users")
    users.join(counts, lambda user, n: f"{user}:{n}").to_stream().to("out", S, S)
    topology = builder.build()
    assert list(topology.stores) == ["counts", "users"]
    driver = TopologyTestDriver(topology)
    driver.create_input_topic("users", S, S).pipe_input("u", "ann", 5)
    driver.create_input_topic("clicks", S, S).pipe_records([("u", "c", 1), ("u", "c", 7)])
    assert [(r.value, r.timestamp) for r in driver.create_output_topic("out", D, D).read_records()] == [
        ("ann:1", 5),
        ("ann:2", 7),
    ]


def test_null_keys_are_dropped_and_counted():
    results, driver = joined("outer_join", [("L", None, "a", 1), ("R", None, "b", 2), ("L", "k", "c", 3)])
    assert results == [[], [], [("k", "c+None", 3)]]
    assert driver.metrics["null-key-or-value"] == 2


def test_join_processor_drops_null_keys_itself():
    ctx = TaskContext(0, lambda *a: None, lambda: 0)
    join = TableTableJoin(LEFT, OUTER, lambda ctx: {None: ("x", 1)}.get, joiner, TableOptions())
    seen = []
    join.forward = lambda k, v, ts: seen.append((k, v, ts))
    join.init(ctx)
    join.process(None, ("a", None), 1)
    assert seen == []
    assert ctx.metrics["null-key-or-value"] == 1 and ctx.metrics["dropped-records"] == 1


def test_both_inputs_form_one_copartition_group():
    builder = StreamsBuilder()
    left = builder.table("left", D, D)
    right = builder.stream("events", D, D).group_by(lambda k, v: v, Grouped.as_("by-v")).count()
    left.outer_join(right, joiner)
    topology = builder.build()
    assert topology.copartition_groups == [{"left", "by-v-repartition"}]


class FakeAdmin:
    def __init__(self, partitions: dict[str, int]) -> None:
        self.partitions = partitions

    def list_topics(self, timeout: float) -> SimpleNamespace:
        topics = {t: SimpleNamespace(partitions=dict.fromkeys(range(n)), error=None) for t, n in self.partitions.items()}
        return SimpleNamespace(topics=topics)


def test_runtime_refuses_inputs_with_different_partition_counts():
    builder = StreamsBuilder()
    builder.table("left", D, D).join(builder.table("right", D, D), joiner)
    config = StreamsConfig.from_dict({"application.id": "app", "bootstrap.servers": "unused:9092"})
    with pytest.raises(TopologyError, match="not co-partitioned"):
        prepare_topics(builder.build(), config, FakeAdmin({"left": 3, "right": 2}))


def test_tables_of_different_builders_are_refused():
    left = StreamsBuilder().table("left", D, D)
    with pytest.raises(TopologyError):
        left.join(StreamsBuilder().table("right", D, D), joiner)
