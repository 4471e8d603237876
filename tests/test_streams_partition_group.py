"""PartitionGroup: a joining task's inputs released in timestamp order, waiting for an input that
is behind unless it is known to be at its end (``max.task.idle.ms``)."""

from __future__ import annotations

from dataclasses import dataclass

from streams.partition_group import STALL_MS, PartitionGroup


@dataclass
class Msg:
    """The parts of a confluent-kafka ``Message`` the group reads."""

    _topic: str
    _offset: int
    _ts: int

    def topic(self) -> str:
        return self._topic

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, self._ts)


def names(msgs: list[Msg]) -> list[str]:
    return [f"{m.topic()}{m.offset()}" for m in msgs]


def test_waits_for_an_input_with_nothing_buffered_until_it_reports_its_end() -> None:
    group = PartitionGroup(0, ["L", "R"], idle_ms=0, now_ms=0)
    for i, ts in enumerate((10, 20, 30)):
        group.add(Msg("L", i, ts))
    assert group.drain(1) == []  # R may still be fetching: L must not run ahead
    group.add(Msg("R", 0, 15))
    assert names(group.drain(2)) == ["L0", "R0"]  # then R is empty again: wait
    assert group.first_offsets() == {"L": 1}
    group.reached_end("R", 3)
    assert names(group.drain(3)) == ["L1", "L2"]
    assert group.first_offsets() == {}


def test_timestamp_order_across_inputs_offset_order_within() -> None:
    group = PartitionGroup(0, ["L", "R"], idle_ms=0, now_ms=0)
    for i, ts in enumerate((5, 40, 41)):
        group.add(Msg("L", i, ts))
    for i, ts in enumerate((7, 30, 3)):  # out of timestamp order within R: kept in offset order
        group.add(Msg("R", i, ts))
    group.reached_end("L", 1)
    group.reached_end("R", 1)
    assert names(group.drain(1)) == ["L0", "R0", "R1", "R2", "L1", "L2"]


def test_max_task_idle_ms_waits_that_long_after_the_end() -> None:
    group = PartitionGroup(0, ["L", "R"], idle_ms=500, now_ms=0)
    group.add(Msg("L", 0, 10))
    group.reached_end("R", 100)
    assert group.drain(599) == []
    assert names(group.drain(600)) == ["L0"]


def test_minus_one_never_waits() -> None:
    group = PartitionGroup(0, ["L", "R"], idle_ms=-1, now_ms=0)
    group.add(Msg("L", 0, 10))
    assert names(group.drain(0)) == ["L0"]


def test_new_records_after_the_end_mean_the_input_is_behind_again() -> None:
    group = PartitionGroup(0, ["L", "R"], idle_ms=0, now_ms=0)
    group.reached_end("R", 0)
    group.add(Msg("R", 0, 1))
    group.add(Msg("L", 0, 2))
    group.add(Msg("L", 1, 3))
    assert names(group.drain(1)) == ["R0"]  # R drained, but its end was reported before R0: wait again
    group.reached_end("R", 2)
    assert names(group.drain(2)) == ["L0", "L1"]


def test_an_input_that_never_reports_stops_holding_back_after_the_stall_limit() -> None:
    group = PartitionGroup(0, ["L", "R"], idle_ms=0, now_ms=0)
    group.add(Msg("L", 0, 10))
    assert group.drain(STALL_MS - 1) == []
    assert names(group.drain(STALL_MS)) == ["L0"]
