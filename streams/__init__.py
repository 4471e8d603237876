"""schemahub streams: a Kafka Streams–style stream processor in Python.

Build with ``StreamsBuilder``, test with ``TopologyTestDriver``, run with ``KafkaStreams``.
"""

from streams.builder import StreamsBuilder
from streams.cogrouped import CogroupedKStream
from streams.driver import StoreSerdeError, TestRecord, TopologyTestDriver
from streams.emit import Suppressed
from streams.grouped import KGroupedStream, SessionWindowedKStream, SlidingWindowedKStream, TimeWindowedKStream
from streams.grouped_table import KGroupedTable
from streams.kstream import BranchedKStream, KStream
from streams.ktable import KTable
from streams.options import Grouped, Materialized, Repartitioned
from streams.restore import StateRestoreError
from streams.runtime import KafkaStreams
from streams.serdes import Serde, Serdes
from streams.source_sink import DeserializationError
from streams.topology import Topology, TopologyError
from streams.windowed_serde import (
    SessionWindowedDeserializer,
    SessionWindowedSerializer,
    TimeWindowedDeserializer,
    TimeWindowedSerializer,
)
from streams.windows import JoinWindows, SessionWindows, SlidingWindows, TimeWindows, Windowed

__all__ = [
    "BranchedKStream",
    "CogroupedKStream",
    "DeserializationError",
    "Grouped",
    "JoinWindows",
    "KGroupedStream",
    "KGroupedTable",
    "KStream",
    "KTable",
    "KafkaStreams",
    "Materialized",
    "Repartitioned",
    "Serde",
    "Serdes",
    "SessionWindowedDeserializer",
    "SessionWindowedKStream",
    "SessionWindowedSerializer",
    "SessionWindows",
    "SlidingWindowedKStream",
    "SlidingWindows",
    "StateRestoreError",
    "StoreSerdeError",
    "StreamsBuilder",
    "Suppressed",
    "TestRecord",
    "TimeWindowedDeserializer",
    "TimeWindowedKStream",
    "TimeWindowedSerializer",
    "TimeWindows",
    "Topology",
    "TopologyError",
    "TopologyTestDriver",
    "Windowed",
]
