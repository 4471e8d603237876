"""The conformance scenarios: each is the Python twin of the Java method of the same name in
``java/Conformance.java``, with the input it is fed.

Keys and values are strings (values are decimal numbers); every output is rendered as text with
``render`` (windowed keys as ``key@start/end``), as the Java side's ``Render`` serializer does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka.serialization import SerializationContext, StringDeserializer

from streams import JoinWindows, SessionWindows, SlidingWindows, StreamsBuilder, Suppressed, TimeWindows, Windowed
from tests.conformance.inputs import InputSpec


def s(obj: Any) -> str:
    """Null-safe text, as Java's ``s``: ``None`` is ``"null"``."""
    return "null" if obj is None else str(obj)


def n(value: str | None) -> int:
    """A value's number (``None`` counts as 0), as Java's ``n``."""
    return 0 if value is None else int(value)


def render(obj: Any, ctx: SerializationContext | None = None) -> bytes:
    """The output serializer of every scenario (the Java side's ``Render``)."""
    if isinstance(obj, Windowed):
        return f"{s(obj.key)}@{obj.start}/{obj.end}".encode()
    return str(obj).encode()


# The built-in string deserializer: a join's repartition topic must write keys the way the other
# input's are read, which is only known for built-in serdes (a function's is not).
R, D = render, StringDeserializer()


@dataclass(frozen=True)
class Scenario:
    name: str
    build: Callable[[StreamsBuilder], None]
    inputs: InputSpec
    outputs: tuple[str, ...] = ("out",)


SCENARIOS: list[Scenario] = []


def scenario(inputs: InputSpec, outputs: tuple[str, ...] = ("out",)) -> Callable[[Callable[[StreamsBuilder], None]], None]:
    def register(build: Callable[[StreamsBuilder], None]) -> None:
        SCENARIOS.append(Scenario(build.__name__, build, inputs, outputs))

    return register


def stream(b: StreamsBuilder, topic: str = "in") -> Any:
    return b.stream(topic, D, D)


def table(b: StreamsBuilder, topic: str, name: str | None = None) -> Any:
    return b.table(topic, D, D, name=name)


ONE = InputSpec()
TWO = InputSpec(topics=("left", "right"), unit=5, grace=2)


# ---- stateless ----------------------------------------------------------------------------------


@scenario(ONE)
def filter_map_values(b: StreamsBuilder) -> None:
    stream(b).filter(lambda k, v: v is not None and n(v) % 3 != 0).map_values(lambda v: "m" + v).to("out", R, R)


@scenario(ONE)
def filter_not_peek(b: StreamsBuilder) -> None:
    stream(b).filter_not(lambda k, v: k is None).peek(lambda k, v: None).map_values(lambda v: s(v) + "!").to("out", R, R)


@scenario(ONE)
def map_swap(b: StreamsBuilder) -> None:
    stream(b).map(lambda k, v: (v, k)).to("out", R, R)


@scenario(ONE)
def flat_map(b: StreamsBuilder) -> None:
    def pairs(k: str | None, v: str | None) -> list[tuple[Any, Any]]:
        if v is None:
            return []
        return [(k, v), (s(k) + "2", v)] if n(v) % 2 == 0 else [(v, k)]

    stream(b).flat_map(pairs).to("out", R, R)


@scenario(ONE)
def flat_map_values(b: StreamsBuilder) -> None:
    stream(b).flat_map_values(lambda v: [] if v is None else [v, v + "b"]).to("out", R, R)


@scenario(TWO)
def merge_select_key(b: StreamsBuilder) -> None:
    stream(b, "left").merge(stream(b, "right")).select_key(lambda k, v: None if v is None else v[0]).to("out", R, R)


@scenario(ONE, ("out-low", "out-mid", "out-rest"))
def branch(b: StreamsBuilder) -> None:
    branches = (
        stream(b).split()
        .branch(lambda k, v: v is not None and n(v) < 30, "low")
        .branch(lambda k, v: v is not None and n(v) < 60, "mid")
        .default_branch("rest")
    )
    branches["low"].to("out-low", R, R)
    branches["mid"].map_values(lambda v: v + "m").to("out-mid", R, R)
    branches["rest"].to("out-rest", R, R)


@scenario(ONE)
def repartition_explicit(b: StreamsBuilder) -> None:
    stream(b).select_key(lambda k, v: None if v is None else f"k{n(v) % 3}").repartition().map_values(s).to("out", R, R)


# ---- aggregations -------------------------------------------------------------------------------


@scenario(ONE)
def count(b: StreamsBuilder) -> None:
    stream(b).group_by_key().count().to_stream().to("out", R, R)


@scenario(ONE)
def reduce(b: StreamsBuilder) -> None:
    stream(b).group_by_key().reduce(lambda a, c: f"{a},{c}").to_stream().to("out", R, R)


@scenario(ONE)
def aggregate(b: StreamsBuilder) -> None:
    stream(b).group_by_key().aggregate(lambda: 0, lambda k, v, agg: agg + n(v)).to_stream().to("out", R, R)


@scenario(ONE)
def select_key_count(b: StreamsBuilder) -> None:
    stream(b).select_key(lambda k, v: None if v is None else f"k{n(v) % 4}").group_by_key().count().to_stream().to("out", R, R)


@scenario(ONE)
def group_by_reduce(b: StreamsBuilder) -> None:
    stream(b).group_by(lambda k, v: "none" if v is None else f"g{n(v) % 3}").reduce(lambda a, c: f"{a}|{c}") \
        .to_stream().to("out", R, R)


# ---- windows ------------------------------------------------------------------------------------


@scenario(InputSpec(unit=10, grace=3))
def tumbling_count(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(TimeWindows.of_size_and_grace(10, 3)).count().to_stream().to("out", R, R)


@scenario(InputSpec(unit=10))
def tumbling_reduce_no_grace(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(TimeWindows.of_size_with_no_grace(10)).reduce(lambda a, c: f"{a},{s(c)}") \
        .to_stream().to("out", R, R)


@scenario(InputSpec(unit=10, grace=2))
def hopping_aggregate(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(TimeWindows.of_size_and_grace(10, 2).advance_by(4)) \
        .aggregate(lambda: "", lambda k, v, agg: agg + s(v)).to_stream().to("out", R, R)


@scenario(InputSpec(unit=10, grace=3))
def tumbling_suppress(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(TimeWindows.of_size_and_grace(10, 3)).count() \
        .suppress(Suppressed.until_window_closes()).to_stream().to("out", R, R)


@scenario(InputSpec(unit=8, grace=2), ("out-updates", "out-final"))
def hopping_suppress_and_updates(b: StreamsBuilder) -> None:
    counts = stream(b).group_by_key().windowed_by(TimeWindows.of_size_and_grace(8, 2).advance_by(4)).count()
    counts.to_stream().to("out-updates", R, R)
    counts.suppress(Suppressed.until_window_closes()).to_stream().to("out-final", R, R)


@scenario(InputSpec(unit=5, grace=2))
def session_count(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(SessionWindows.of_inactivity_gap_and_grace(5, 2)).count() \
        .to_stream().to("out", R, R)


@scenario(InputSpec(unit=4))
def session_reduce_no_grace(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(SessionWindows.of_inactivity_gap_with_no_grace(4)) \
        .reduce(lambda a, c: f"{a},{s(c)}").to_stream().to("out", R, R)


@scenario(InputSpec(unit=6, grace=3))
def session_aggregate(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(SessionWindows.of_inactivity_gap_and_grace(6, 3)) \
        .aggregate(lambda: "", lambda k, v, agg: agg + s(v), lambda k, a1, a2: f"{a1}/{a2}").to_stream().to("out", R, R)


@scenario(InputSpec(unit=5, grace=3))
def session_suppress(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(SessionWindows.of_inactivity_gap_and_grace(5, 3)).count() \
        .suppress(Suppressed.until_window_closes()).to_stream().to("out", R, R)


@scenario(InputSpec(unit=5, grace=2))
def sliding_count(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(SlidingWindows.of_time_difference_and_grace(5, 2)).count() \
        .to_stream().to("out", R, R)


@scenario(InputSpec(unit=6))
def sliding_aggregate_no_grace(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(SlidingWindows.of_time_difference_without_grace(6)) \
        .aggregate(lambda: "", lambda k, v, agg: s(agg) + v).to_stream().to("out", R, R)


@scenario(InputSpec(unit=4, grace=1))
def sliding_reduce_suppress(b: StreamsBuilder) -> None:
    stream(b).group_by_key().windowed_by(SlidingWindows.of_time_difference_and_grace(4, 1)) \
        .reduce(lambda a, c: f"{a},{c}").suppress(Suppressed.until_window_closes()).to_stream().to("out", R, R)


# ---- joins --------------------------------------------------------------------------------------


@scenario(TWO)
def stream_stream_inner(b: StreamsBuilder) -> None:
    stream(b, "left").join(stream(b, "right"), lambda l, r: f"{l}+{r}", JoinWindows.of_time_difference_and_grace(5, 2)) \
        .to("out", R, R)


@scenario(InputSpec(topics=("left", "right"), unit=4))
def stream_stream_left(b: StreamsBuilder) -> None:
    stream(b, "left").left_join(stream(b, "right"), lambda l, r: f"{s(l)}+{s(r)}",
                                JoinWindows.of_time_difference_with_no_grace(4)).to("out", R, R)


@scenario(InputSpec(topics=("left", "right"), unit=3, grace=3))
def stream_stream_outer(b: StreamsBuilder) -> None:
    stream(b, "left").outer_join(stream(b, "right"), lambda l, r: f"{s(l)}+{s(r)}",
                                 JoinWindows.of_time_difference_and_grace(3, 3)).to("out", R, R)


@scenario(InputSpec(topics=("left", "right"), unit=6, grace=1))
def stream_stream_left_asymmetric(b: StreamsBuilder) -> None:
    stream(b, "left").left_join(stream(b, "right"), lambda l, r: f"{s(l)}+{s(r)}",
                                JoinWindows.of_time_difference_and_grace(2, 1).after(6)).to("out", R, R)


@scenario(InputSpec(topics=("left", "right"), unit=5))
def stream_stream_outer_asymmetric(b: StreamsBuilder) -> None:
    stream(b, "left").outer_join(stream(b, "right"), lambda l, r: f"{s(l)}+{s(r)}",
                                 JoinWindows.of_time_difference_with_no_grace(5).before(1)).to("out", R, R)


STREAM_TABLE = InputSpec(topics=("in", "table"))
TABLES = InputSpec(topics=("left", "right"))


@scenario(STREAM_TABLE)
def stream_table_inner(b: StreamsBuilder) -> None:
    stream(b).join(table(b, "table"), lambda l, r: f"{l}+{r}").to("out", R, R)


@scenario(STREAM_TABLE)
def stream_table_left(b: StreamsBuilder) -> None:
    stream(b).left_join(table(b, "table"), lambda l, r: f"{l}+{s(r)}").to("out", R, R)


@scenario(TABLES)
def table_table_inner(b: StreamsBuilder) -> None:
    table(b, "left").join(table(b, "right"), lambda l, r: f"{l}+{r}").to_stream().to("out", R, R)


@scenario(TABLES)
def table_table_left(b: StreamsBuilder) -> None:
    table(b, "left").left_join(table(b, "right"), lambda l, r: f"{l}+{s(r)}").to_stream().to("out", R, R)


@scenario(TABLES)
def table_table_outer(b: StreamsBuilder) -> None:
    table(b, "left").outer_join(table(b, "right"), lambda l, r: f"{s(l)}+{s(r)}").to_stream().to("out", R, R)


@scenario(ONE)
def table_filter_to_stream(b: StreamsBuilder) -> None:
    table(b, "in").filter(lambda k, v: n(v) % 2 == 0).to_stream().to("out", R, R)


@scenario(ONE)
def table_named_filter(b: StreamsBuilder) -> None:
    table(b, "in", name="src").filter(lambda k, v: n(v) % 2 == 0).to_stream().to("out", R, R)


@scenario(ONE)
def table_map_values_filter_not(b: StreamsBuilder) -> None:
    table(b, "in").map_values(lambda v: "x" + v).filter_not(lambda k, v: v.endswith("7")).to_stream().to("out", R, R)


@scenario(TABLES)
def table_filter_inner_join(b: StreamsBuilder) -> None:
    table(b, "left").join(table(b, "right").filter(lambda k, v: n(v) % 2 == 0), lambda l, r: f"{l}+{r}") \
        .to_stream().to("out", R, R)


@scenario(TABLES)
def table_filter_left_join(b: StreamsBuilder) -> None:
    table(b, "left").filter(lambda k, v: n(v) % 2 == 0).left_join(table(b, "right"), lambda l, r: f"{l}+{s(r)}") \
        .to_stream().to("out", R, R)


@scenario(TABLES)
def table_filter_outer_join(b: StreamsBuilder) -> None:
    table(b, "left").outer_join(table(b, "right").filter(lambda k, v: n(v) % 3 != 0), lambda l, r: f"{s(l)}+{s(r)}") \
        .to_stream().to("out", R, R)


@scenario(InputSpec(topics=("left", "right"), unit=5, grace=1))
def select_key_stream_join(b: StreamsBuilder) -> None:
    def rekey(k: str | None, v: str | None) -> str | None:
        return None if v is None else f"k{n(v) % 3}"

    left, right = stream(b, "left").select_key(rekey), stream(b, "right").select_key(rekey)
    left.join(right, lambda l, r: f"{l}+{r}", JoinWindows.of_time_difference_and_grace(5, 1)).to("out", R, R)


@scenario(STREAM_TABLE)
def select_key_table_left_join(b: StreamsBuilder) -> None:
    stream(b).select_key(lambda k, v: None if v is None else "abcd"[n(v) % 4]) \
        .left_join(table(b, "table"), lambda l, r: f"{l}+{s(r)}").to("out", R, R)


@scenario(STREAM_TABLE)
def count_table_join(b: StreamsBuilder) -> None:
    stream(b).group_by_key().count().join(table(b, "table"), lambda c, t: f"{c}:{t}").to_stream().to("out", R, R)


# ---- table aggregations -------------------------------------------------------------------------


@scenario(InputSpec(keys=("a", "b", "c", "d", "e", "f")))
def table_group_by_count(b: StreamsBuilder) -> None:
    table(b, "in").group_by(lambda k, v: (f"c{n(v) % 3}", v)).count().to_stream().to("out", R, R)


@scenario(InputSpec(keys=("a", "b", "c", "d", "e", "f")))
def table_group_by_reduce(b: StreamsBuilder) -> None:
    table(b, "in").group_by(lambda k, v: ("even" if n(v) % 2 == 0 else "odd", v)) \
        .reduce(lambda a, c: str(n(a) + n(c)), lambda a, c: str(n(a) - n(c))).to_stream().to("out", R, R)


@scenario(InputSpec(keys=("a", "b", "c", "d", "e", "f")))
def table_group_by_aggregate(b: StreamsBuilder) -> None:
    table(b, "in", name="src").group_by(lambda k, v: (k if n(v) < 50 else "big", v)) \
        .aggregate(lambda: 0, lambda k, v, agg: agg + n(v), lambda k, v, agg: agg - n(v)).to_stream().to("out", R, R)


@scenario(InputSpec(topics=("left", "right")))
def cogroup(b: StreamsBuilder) -> None:
    clicks = stream(b, "left").group_by_key()
    views = stream(b, "right").group_by(lambda k, v: "none" if v is None else "abcd"[n(v) % 4])
    clicks.cogroup(lambda k, v, agg: agg + "c" + s(v)).cogroup(views, lambda k, v, agg: agg + "v" + s(v)) \
        .aggregate(lambda: "").to_stream().to("out", R, R)
