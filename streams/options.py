"""Kafka Streams' operator parameters that carry serdes: ``Grouped``, ``Repartitioned``, ``Materialized``.

Immutable; build them like Kafka Streams does (``with`` and ``as`` get a trailing underscore):
``Grouped.with_(Serdes.string(), Serdes.json())``, ``Repartitioned.as_("by-id").with_key_serde(...)``,
``Materialized.as_("counts").with_value_serde(Serdes.long())``. A serde left unset is the
application's ``default.key.serde`` / ``default.value.serde``. A serde is a ``Serde``, a
``(serializer, deserializer)`` pair or a built-in name (``"string"``, ``"json"``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from streams.serdes import Deserializer, Serde, Serializer, as_serde

SerdeLike = Serde | tuple[Serializer, Deserializer] | str


def _serde(serde: SerdeLike | None) -> Serde | None:
    return None if serde is None else as_serde(serde)


@dataclass(frozen=True)
class Grouped:
    """How ``group_by``/``group_by_key`` write their repartition topic: name and serdes."""

    name: str | None = None
    key_serde: Serde | None = None
    value_serde: Serde | None = None

    @classmethod
    def with_(cls, key_serde: SerdeLike | None = None, value_serde: SerdeLike | None = None) -> Grouped:
        return cls(None, _serde(key_serde), _serde(value_serde))

    @classmethod
    def as_(cls, name: str) -> Grouped:
        return cls(name)

    def with_name(self, name: str) -> Grouped:
        return replace(self, name=name)

    def with_key_serde(self, serde: SerdeLike) -> Grouped:
        return replace(self, key_serde=as_serde(serde))

    def with_value_serde(self, serde: SerdeLike) -> Grouped:
        return replace(self, value_serde=as_serde(serde))


@dataclass(frozen=True)
class Repartitioned:
    """How ``repartition`` writes its topic: name, number of partitions and serdes.

    The key serde decides the partition (murmur2 of the key bytes): to join with a topic, give the
    key serde that topic's producers use.
    """

    name: str | None = None
    num_partitions: int | None = None
    key_serde: Serde | None = None
    value_serde: Serde | None = None

    @classmethod
    def with_(cls, key_serde: SerdeLike | None = None, value_serde: SerdeLike | None = None) -> Repartitioned:
        return cls(None, None, _serde(key_serde), _serde(value_serde))

    @classmethod
    def as_(cls, name: str) -> Repartitioned:
        return cls(name)

    @classmethod
    def number_of_partitions(cls, partitions: int) -> Repartitioned:
        return cls().with_number_of_partitions(partitions)

    def with_name(self, name: str) -> Repartitioned:
        return replace(self, name=name)

    def with_number_of_partitions(self, partitions: int) -> Repartitioned:
        if not isinstance(partitions, int) or partitions < 1:
            raise ValueError(f"number of partitions must be a positive int, got {partitions!r}")
        return replace(self, num_partitions=partitions)

    def with_key_serde(self, serde: SerdeLike) -> Repartitioned:
        return replace(self, key_serde=as_serde(serde))

    def with_value_serde(self, serde: SerdeLike) -> Repartitioned:
        return replace(self, value_serde=as_serde(serde))


@dataclass(frozen=True)
class Materialized:
    """How a table or aggregation keeps its store: name and the serdes of its changelog and state file."""

    name: str | None = None
    key_serde: Serde | None = None
    value_serde: Serde | None = None

    @classmethod
    def with_(cls, key_serde: SerdeLike | None = None, value_serde: SerdeLike | None = None) -> Materialized:
        return cls(None, _serde(key_serde), _serde(value_serde))

    @classmethod
    def as_(cls, name: str) -> Materialized:
        return cls(name)

    def with_key_serde(self, serde: SerdeLike) -> Materialized:
        return replace(self, key_serde=as_serde(serde))

    def with_value_serde(self, serde: SerdeLike) -> Materialized:
        return replace(self, value_serde=as_serde(serde))
