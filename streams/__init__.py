"""schemahub streams: a Kafka Streams–style stream processor in Python.

Build with ``StreamsBuilder``, test with ``TopologyTestDriver``, run with ``KafkaStreams``.
"""

from streams.builder import StreamsBuilder
from streams.driver import TestRecord, TopologyTestDriver
from streams.emit import Suppressed
from streams.grouped import KGroupedStream, SessionWindowedKStream, TimeWindowedKStream
from streams.kstream import BranchedKStream, KStream
from streams.ktable import KTable
from streams.runtime import KafkaStreams
from streams.source_sink import DeserializationError
from streams.topology import Topology, TopologyError
from streams.windowed_serde import (
    SessionWindowedDeserializer,
    SessionWindowedSerializer,
    TimeWindowedDeserializer,
    TimeWindowedSerializer,
)
from streams.windows import JoinWindows, SessionWindows, TimeWindows, Windowed

__all__ = [
    "BranchedKStream",
    "DeserializationError",
    "JoinWindows",
    "KGroupedStream",
    "KStream",
    "KTable",
    "KafkaStreams",
    "SessionWindowedDeserializer",
    "SessionWindowedKStream",
    "SessionWindowedSerializer",
    "SessionWindows",
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
