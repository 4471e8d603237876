"""Small units: windowed key layouts, configuration parsing, the in-memory store."""

from __future__ import annotations

import struct

import pytest
from confluent_kafka.serialization import StringDeserializer, StringSerializer

from streams import (
    SessionWindowedDeserializer,
    SessionWindowedSerializer,
    TimeWindowedDeserializer,
    TimeWindowedSerializer,
    Windowed,
)
from streams.config import StreamsConfig
from streams.store import KeyValueStore


def test_time_windowed_key_layout_is_key_then_start():
    data = TimeWindowedSerializer(StringSerializer())(Windowed("k", 5000, 10000), None)
    assert data == b"k" + struct.pack(">q", 5000)
    assert TimeWindowedDeserializer(StringDeserializer(), 5000)(data, None) == Windowed("k", 5000, 10000)


def test_session_windowed_key_layout_is_key_end_start():
    data = SessionWindowedSerializer(StringSerializer())(Windowed("k", 100, 250), None)
    assert data == b"k" + struct.pack(">qq", 250, 100)
    assert SessionWindowedDeserializer(StringDeserializer())(data, None) == Windowed("k", 100, 250)


def test_config_defaults_and_exactly_once_commit_interval():
    cfg = StreamsConfig.from_dict({"application.id": "a", "bootstrap.servers": "b"})
    assert (cfg.processing_guarantee, cfg.commit_interval_ms, cfg.dlq_topic) == ("at_least_once", 30_000, "a-dlq")
    eos = StreamsConfig.from_dict(
        {"application.id": "a", "bootstrap.servers": "b", "processing.guarantee": "exactly_once_v2",
         "consumer.session.timeout.ms": 6000}
    )
    assert eos.exactly_once and eos.commit_interval_ms == 100 and eos.consumer == {"session.timeout.ms": 6000}


@pytest.mark.parametrize(
    "raw",
    [{"bootstrap.servers": "b"}, {"application.id": "a", "bootstrap.servers": "b", "processing.guarantee": "exactly_once"},
     {"application.id": "a", "bootstrap.servers": "b", "unknown.key": 1}],
)
def test_config_errors(raw):
    with pytest.raises(ValueError):
        StreamsConfig.from_dict(raw)


def test_store_tracks_changes_until_taken():
    store = KeyValueStore("s")
    store.put("a", 1)
    store.put("b", 2)
    store.delete("a")
    store.delete("missing")
    assert sorted(store.take_changes(), key=str) == [("a", None), ("b", 2)]
    assert store.take_changes() == []
    store.load([("c", 3), ("b", None)])
    assert store.data == {"c": 3} and not store.dirty


def test_state_dir_is_locked_per_process(tmp_path):
    from streams.runtime import lock_state_dir, process_id

    first = lock_state_dir(tmp_path / "app")
    with pytest.raises(RuntimeError, match="in use"):
        lock_state_dir(tmp_path / "app")
    first.close()
    lock_state_dir(tmp_path / "app").close()
    assert process_id(tmp_path / "app") == process_id(tmp_path / "app")
