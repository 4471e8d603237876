"""The Kafka store on a real broker: Confluent interop, topic checks, replay, fencing.

The whole registry API suite also runs on this store (the ``registry`` and
``client`` fixtures in conftest.py are parametrised over both stores).
"""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from registry.errors import LeaderNotKnown, LeadershipLost, SchemaNotFound, StoreError, StoreTimeout
from registry.service import RegisterRequest, Registry
from registry.stores.kafka import KafkaStore
from registry.stores.kafka_records import schema_key
from tests.kafka_store_support import ConfluentView, fresh_topic, kafka_registry, wait_leader

AVRO_A = '{"type":"record","name":"A","fields":[{"name":"a","type":"string"}]}'
AVRO_B = '{"type":"record","name":"B","fields":[{"name":"b","type":"int"}]}'
AVRO_C = '{"type":"record","name":"C","fields":[]}'
PROTO = 'syntax = "proto3";\n\nmessage P {\n  string p = 1;\n}\n'


def _create(bootstrap: str, topic: str, partitions: int = 1, **config: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, 1, config=config)], operation_timeout=30)
    futures[topic].result(timeout=60)


def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for key, value in messages:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def _read_all(bootstrap: str, topic: str) -> list[tuple[int, bytes, bytes | None]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": fresh_topic("g"), "isolation.level": "read_committed",
         "enable.partition.eof": True, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    found = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF
                    break
                continue
            found.append((msg.offset(), msg.key(), msg.value()))
    finally:
        consumer.close()
    return found


def _s(text: str) -> bytes:
    return text.encode("utf-8")


def _json_string(text: str) -> str:
    import json

    return json.dumps(text)


# Confluent-format messages, written from sr-api.md §4 by hand.
CONFLUENT_LOG: list[tuple[bytes, bytes | None]] = [
    (b'{"keytype":"SCHEMA","subject":"s1","version":1,"magic":1}',
     _s(f'{{"subject":"s1","version":1,"id":1,"schema":{_json_string(AVRO_A)},"deleted":false}}')),
    (b'{"keytype":"SCHEMA","subject":"s2","version":1,"magic":1}',
     _s(f'{{"subject":"s2","version":1,"id":1,"schema":{_json_string(AVRO_A)},"deleted":false}}')),
    (b'{"keytype":"SCHEMA","subject":"s1","version":2,"magic":1}',
     _s(f'{{"subject":"s1","version":2,"id":2,"schemaType":"AVRO","schema":{_json_string(AVRO_B)},"deleted":false}}')),
    (b'{"keytype":"SCHEMA","subject":"p","version":1,"magic":1}',
     _s(f'{{"subject":"p","version":1,"id":3,"schemaType":"PROTOBUF","schema":{_json_string(PROTO)},"deleted":false}}')),
    # soft delete of s1 version 2
    (b'{"keytype":"SCHEMA","subject":"s1","version":2,"magic":1}',
     _s(f'{{"subject":"s1","version":2,"id":2,"schemaType":"AVRO","schema":{_json_string(AVRO_B)},"deleted":true}}')),
    (b'{"keytype":"CONFIG","magic":0}', b'{"compatibilityLevel":"FULL"}'),
    (b'{"keytype":"CONFIG","subject":"s1","magic":0}', b'{"subject":"s1","compatibilityLevel":"NONE"}'),
    (b'{"keytype":"MODE","subject":"p","magic":0}', b'{"subject":"p","mode":"READONLY"}'),
    (b'{"keytype":"DELETE_SUBJECT","subject":"s2","magic":0}', b'{"subject":"s2","version":1}'),
    # s4: registered, soft-deleted, then hard-deleted (tombstone)
    (b'{"keytype":"SCHEMA","subject":"s4","version":1,"magic":1}',
     _s(f'{{"subject":"s4","version":1,"id":4,"schema":{_json_string(AVRO_C)},"deleted":false}}')),
    (b'{"keytype":"DELETE_SUBJECT","subject":"s4","magic":0}', b'{"subject":"s4","version":1}'),
    (b'{"keytype":"SCHEMA","subject":"s4","version":1,"magic":1}', None),
    (b'{"keytype":"CONTEXT","tenant":"default","context":".ctx","magic":0}', b'{"tenant":"default","context":".ctx"}'),
    (b'{"keytype":"SCHEMA","subject":":.ctx:c","version":1,"magic":1}',
     _s(f'{{"subject":":.ctx:c","version":1,"id":1,"schema":{_json_string(AVRO_C)},"deleted":false}}')),
    (b'{"keytype":"CONFIG","subject":":.ctx:","magic":0}', b'{"subject":":.ctx:","compatibilityLevel":"FORWARD"}'),
    (b'{"keytype":"NOOP","magic":0}', None),
    # a split-brain leftover: id 1 bound to another schema — must be rejected on replay
    (b'{"keytype":"SCHEMA","subject":"bad","version":1,"magic":1}',
     _s(f'{{"subject":"bad","version":1,"id":1,"schema":{_json_string(AVRO_B)},"deleted":false}}')),
]


def test_reads_a_confluent_topic_and_writes_identical_keys(kafka_bootstrap: str) -> None:
    topic = fresh_topic("interop")
    _create(kafka_bootstrap, topic, **{"cleanup.policy": "compact"})
    _produce(kafka_bootstrap, topic, CONFLUENT_LOG)
    with kafka_registry(kafka_bootstrap, topic) as reg:
        store = reg.store
        assert isinstance(store, KafkaStore)
        assert store.rejected == 1
        assert reg.list_subjects() == ["p", "s1", ":.ctx:c"]
        assert reg.list_subjects(deleted=True) == ["p", "s1", "s2", ":.ctx:c"]
        assert reg.list_versions("s1") == [1]
        assert reg.list_versions("s1", deleted=True) == [1, 2]
        assert reg.get_version("s1", 1).id == 1 and reg.get_version("s1", 1).schema == AVRO_A
        assert reg.get_version("s2", 1, deleted=True).id == 1
        assert reg.schema_by_id(2).schema == AVRO_B  # soft-deleted: still readable by id
        assert reg.get_version("p", 1).schema_type == "PROTOBUF" and reg.get_version("p", 1).id == 3
        with pytest.raises(SchemaNotFound):
            reg.schema_by_id(4)  # hard-deleted
        assert "s4" not in reg.list_subjects(deleted=True)
        assert reg.get_version(":.ctx:c", 1).id == 1
        assert ".ctx" in reg.contexts()
        assert reg.get_config(None)["compatibilityLevel"] == "FULL"
        assert reg.get_config("s1")["compatibilityLevel"] == "NONE"
        assert reg.get_config(":.ctx:")["compatibilityLevel"] == "FORWARD"
        assert reg.get_mode("p") == "READONLY"
        assert "bad" not in reg.list_subjects(deleted=True)

        # writes: the keys must be byte-identical to Confluent's
        end = len(_read_all(kafka_bootstrap, topic))
        reg.delete_mode("p")
        reg.set_config("s1", {"compatibility": "BACKWARD"})
        reg.set_config(None, {"compatibility": "NONE"})
        new = reg.register("s5", RegisterRequest(AVRO_B))
        assert new.id == 2  # same content as id 2: the id is shared
        reg.register(":.ctx2:x", RegisterRequest(AVRO_A))
        reg.delete_subject("s1")
        reg.delete_subject("s1", permanent=True)
        written = [(k, v) for _, k, v in _read_all(kafka_bootstrap, topic)[end:]]
        keys = [k for k, _ in written if k != b'{"keytype":"NOOP","magic":0}']
        assert keys == [
            b'{"keytype":"MODE","subject":"p","magic":0}',
            b'{"keytype":"CONFIG","subject":"s1","magic":0}',
            b'{"keytype":"CONFIG","magic":0}',
            b'{"keytype":"SCHEMA","subject":"s5","version":1,"magic":1}',
            b'{"keytype":"CONTEXT","tenant":"default","context":".ctx2","magic":0}',
            b'{"keytype":"SCHEMA","subject":":.ctx2:x","version":1,"magic":1}',
            b'{"keytype":"DELETE_SUBJECT","subject":"s1","magic":0}',
            b'{"keytype":"SCHEMA","subject":"s1","version":2,"magic":1}',
            b'{"keytype":"SCHEMA","subject":"s1","version":1,"magic":1}',
            b'{"keytype":"CONFIG","subject":"s1","magic":0}',
        ]
        assert written[0][1] is None  # mode delete: tombstone
        assert written[2][1] == b'{"compatibilityLevel":"NONE"}'
        assert [v for k, v in written if k.startswith(b'{"keytype":"DELETE_SUBJECT"')] == [b'{"subject":"s1","version":1}']
        for key in keys[-3:-1]:
            assert dict(written)[key] is None  # hard deletes: tombstones with the original key bytes
        assert (CONFLUENT_LOG[0][0], None) in written  # s1 v1 tombstone == Confluent's key


def test_refuses_a_topic_with_partitions_or_without_compaction(kafka_bootstrap: str) -> None:
    wide = fresh_topic("wide")
    _create(kafka_bootstrap, wide, partitions=3, **{"cleanup.policy": "compact"})
    with pytest.raises(StoreError, match="3 partitions.*exactly 1"):
        KafkaStore(kafka_bootstrap, wide).open(lambda r: None)
    plain = fresh_topic("plain")
    _create(kafka_bootstrap, plain, **{"cleanup.policy": "delete"})
    with pytest.raises(StoreError, match="cleanup.policy=delete.*compact"):
        KafkaStore(kafka_bootstrap, plain).open(lambda r: None)


def test_creates_the_topic_compacted_with_one_partition(kafka_bootstrap: str) -> None:
    with kafka_registry(kafka_bootstrap) as reg:
        topic = reg.store.topic  # type: ignore[attr-defined]
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
        assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 1
        from confluent_kafka.admin import ConfigResource  # type: ignore[attr-defined]

        resource = ConfigResource("topic", topic)
        assert admin.describe_configs([resource])[resource].result()["cleanup.policy"].value == "compact"


def test_replay_matches_the_sqlite_semantics(kafka_bootstrap: str) -> None:
    topic = fresh_topic()
    with kafka_registry(kafka_bootstrap, topic) as first:
        first.set_config("s", {"compatibility": "NONE"})
        a = first.register("s", RegisterRequest(AVRO_A))
        first.register("s", RegisterRequest(AVRO_B))
        first.delete_subject("s")  # DELETE_SUBJECT up to version 2
        c = first.register("s", RegisterRequest(AVRO_C))  # version 3 stays live
        first.register("h", RegisterRequest(AVRO_C))
        first.delete_subject("h")
        first.delete_subject("h", permanent=True)
        first.set_mode("m", "READONLY")
        before = (first.list_versions("s", deleted=True), first.list_versions("s"), c.version)
    with kafka_registry(kafka_bootstrap, topic) as second:
        assert (second.list_versions("s", deleted=True), second.list_versions("s"), 3) == before
        assert second.get_version("s", 1, deleted=True).id == a.id
        assert second.level_for("s") == "NONE"
        assert second.get_mode("m") == "READONLY"
        assert "h" not in second.list_subjects(deleted=True)
        # ids are never reused: the hard-deleted id still counts
        assert second.register("n", RegisterRequest('{"type":"fixed","name":"F","size":2}')).id == 4


def test_ids_and_versions_in_aborted_records_are_never_given_to_other_content(kafka_bootstrap: str) -> None:
    """A leader killed inside a transaction leaves aborted records, which Confluent's reader does
    not filter: their ids and versions must not name anything else afterwards."""
    topic = fresh_topic()
    _create(kafka_bootstrap, topic, **{"cleanup.policy": "compact"})
    _produce(kafka_bootstrap, topic, [CONFLUENT_LOG[0]])  # s1 v1, id 1 (committed)
    ghost = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": fresh_topic("ghost")})
    ghost.init_transactions(30)
    ghost.begin_transaction()
    for subject, version, schema_id, schema in (("s", 1, 5, AVRO_A), ("s", 2, 6, AVRO_B)):
        value = {"subject": subject, "version": version, "id": schema_id, "schema": schema, "deleted": False}
        ghost.produce(topic, key=schema_key(subject, version), value=json.dumps(value).encode())
    assert ghost.flush(30) == 0
    ghost.abort_transaction(30)
    with kafka_registry(kafka_bootstrap, topic) as reg:
        assert reg.list_subjects() == ["s1"]  # ours filters them: never acknowledged
        other = reg.register("t", RegisterRequest(AVRO_C))
        assert other.id == 7  # not 2: ids up to 6 appear in the topic
        retried = reg.register("s", RegisterRequest(AVRO_B))  # the last unacknowledged write again: it lands
        assert (retried.version, retried.id) == (2, 6)  # on the same version and id...
        reg.set_config("s", {"compatibility": "NONE"})
        different = reg.register("s", RegisterRequest(PROTO, schema_type="PROTOBUF"))
        assert (different.version, different.id) == (3, 8)  # ...while other content goes above them
    view = ConfluentView(kafka_bootstrap, topic)
    assert view.ids_bound_twice() == [] and view.ignored == 0
    assert view.resolve(7)["schema"] == AVRO_C and view.resolve(8)["schemaType"] == "PROTOBUF"


def test_a_fenced_leader_cannot_append(kafka_bootstrap: str) -> None:
    topic = fresh_topic()
    with kafka_registry(kafka_bootstrap, topic) as reg:
        store = reg.store
        assert isinstance(store, KafkaStore)
        reg.register("s", RegisterRequest(AVRO_A))
        # another leader takes the cluster's transactional.id: this one is now a stale leader
        usurper = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": store.transactional_id})
        usurper.init_transactions(30)
        with pytest.raises(LeadershipLost):  # (over HTTP: passed on to the new leader, nothing was written)
            reg.register("t", RegisterRequest(AVRO_B))
        assert not [key for _, key, _ in _read_all(kafka_bootstrap, topic) if b'"subject":"t"' in key]
        assert "t" not in reg.list_subjects()
        # it rejoins the election group; the only member, it is assigned again and leads with a new producer
        wait_leader(store, 20)
        # the retry lands on the version and id the fenced attempt reserved
        again = reg.register("t", RegisterRequest(AVRO_B))
        assert (again.version, again.id) == (1, 2)


class _FatalOnPoll:
    """A leader's producer whose next poll raises the fatal error librdkafka raises there when, after a
    lost broker, the end of a transaction was refused (INVALID_TXN_STATE)."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self.raised = False

    def poll(self, timeout: float = -1) -> int:
        if not self.raised:
            self.raised = True
            raise KafkaException(KafkaError(KafkaError.INVALID_TXN_STATE, "Failed to end transaction", fatal=True))
        return self.producer.poll(timeout)

    def __getattr__(self, name: str) -> object:
        return getattr(self.producer, name)


def test_a_fatal_producer_error_between_writes_takes_leadership_again(kafka_bootstrap: str) -> None:
    """The election loop polls the leader's producer between writes: a fatal error raised there retires
    the producer and the store leads again with a new one (it used to end the election thread: no
    leader ever again)."""
    with kafka_registry(kafka_bootstrap) as reg:
        store = reg.store
        assert isinstance(store, KafkaStore)
        reg.register("s", RegisterRequest(AVRO_A))
        with store._cond:
            failing = _FatalOnPoll(store._producer)  # type: ignore[arg-type]
            store._producer = failing  # type: ignore[assignment]
        deadline = time.monotonic() + 30
        while not (failing.raised and store.is_leader() and store._producer is not failing):
            assert time.monotonic() < deadline, "no leader with a new producer"
            time.sleep(0.01)
        assert reg.register("t", RegisterRequest(AVRO_B)).version == 1


class _SlowAbort:
    """A leader's producer whose transaction was left aborting and whose first call to finish the abort
    times out, as when the abort's markers wait for a lost broker's partitions to move."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self.calls: list[str] = []

    def abort_transaction(self, timeout: float = -1) -> None:
        self.calls.append("abort")
        if self.calls.count("abort") == 1:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "retry call to resume", retriable=True))

    def commit_transaction(self, timeout: float = -1) -> None:
        self.calls.append("commit")
        self.producer.commit_transaction(timeout)

    def __getattr__(self, name: str) -> object:
        return getattr(self.producer, name)


def test_an_abort_that_timed_out_is_resumed_as_an_abort(kafka_bootstrap: str) -> None:
    """librdkafka finishes a timed-out abort_transaction when it is called again; the next write did
    that for a timed-out commit but took a timed-out abort for an unfinished commit, whose call then
    conflicted with the abort in progress (and a lost broker cost ~31 s instead of ~11 s)."""
    with kafka_registry(kafka_bootstrap) as reg:
        store = reg.store
        assert isinstance(store, KafkaStore)
        reg.register("s", RegisterRequest(AVRO_A))
        with store._cond:
            slow = _SlowAbort(store._producer)  # type: ignore[arg-type]
            store._producer = slow  # type: ignore[assignment]
            store._unfinished = "abort"
        with pytest.raises(StoreTimeout):
            reg.register("t", RegisterRequest(AVRO_B))
        assert reg.register("t", RegisterRequest(AVRO_B)).version == 1
        assert slow.calls == ["abort", "abort", "commit"] and store._producer is slow


def test_writes_need_leadership(kafka_bootstrap: str) -> None:
    topic = fresh_topic()
    store = KafkaStore(kafka_bootstrap, topic, group_id=f"group-{topic}", leader_eligible=False)
    reg = Registry(store)
    try:
        assert not store.is_leader() and store.leader_url() is None
        with pytest.raises(LeaderNotKnown):
            reg.register("s", RegisterRequest(AVRO_A))
    finally:
        reg.close()


def test_replay_lag_counts_records_not_yet_applied(kafka_bootstrap: str) -> None:
    """The gauge behind ``schemahub_store_replay_lag``: records written by another party count
    until this instance has applied them."""
    import threading

    topic = fresh_topic()
    gate = threading.Event()
    applied: list[object] = []

    def slow_apply(record: object) -> None:
        gate.wait(60)
        applied.append(record)

    store = KafkaStore(kafka_bootstrap, topic, group_id=f"group-{topic}", leader_eligible=False)
    store.open(slow_apply)  # an empty topic: open returns at once
    try:
        assert store.replay_lag() == 0
        _produce(kafka_bootstrap, topic, CONFLUENT_LOG[:5])
        deadline = time.monotonic() + 30
        while store.replay_lag() != 5:
            assert time.monotonic() < deadline, f"lag stayed {store.replay_lag()}"
            time.sleep(0.05)
        gate.set()
        while store.replay_lag() != 0:
            assert time.monotonic() < deadline, f"lag stayed {store.replay_lag()}"
            time.sleep(0.05)
        assert len(applied) == 5
    finally:
        gate.set()
        store.close()
