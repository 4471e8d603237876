"""The DEK Registry on both stores: what is written is served, survives a restart (replay), and
the Kafka store keeps it in Confluent's ``_dek_registry_keys`` format in a topic of its own."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, TopicPartition
from starlette.testclient import TestClient

from registry.http.app import create_app
from registry.service import Registry
from registry.stores.key_records import decode_message, encode
from registry.stores.records import DekRecord, DekTombstone, KekRecord, KekTombstone
from registry.stores.sqlite import SQLiteStore

KEKS = "/dek-registry/v1/keks"


def populate(http: TestClient) -> None:
    assert http.post(KEKS, json={"name": "k1", "kmsType": "local-kms", "kmsKeyId": "key", "kmsProps": {"z": "1"},
                                 "doc": "first"}).status_code == 200
    assert http.post(KEKS, json={"name": "k2", "kmsType": "local-kms", "kmsKeyId": "key"}).status_code == 200
    for version in (1, 2):
        response = http.post(f"{KEKS}/k1/deks/orders-value",
                             json={"version": version, "algorithm": "AES256_SIV", "encryptedKeyMaterial": "d3JhcA=="})
        assert response.status_code == 200, response.text
    assert http.post(f"{KEKS}/k1/deks/other-value", json={"encryptedKeyMaterial": "eA=="}).status_code == 200
    assert http.delete(f"{KEKS}/k1/deks/other-value").status_code == 204
    assert http.delete(f"{KEKS}/k1/deks/other-value", params={"permanent": "true"}).status_code == 204
    assert http.delete(f"{KEKS}/k2").status_code == 204
    assert http.put(f"{KEKS}/k1", json={"doc": "changed"}).json()["doc"] == "changed"


def check(http: TestClient) -> None:
    assert http.get(KEKS).json() == ["k1"]
    assert http.get(KEKS, params={"deleted": "true"}).json() == ["k1", "k2"]
    kek = http.get(f"{KEKS}/k1").json()
    assert {k: kek[k] for k in ("name", "kmsType", "kmsKeyId", "kmsProps", "doc", "shared", "deleted")} == {
        "name": "k1", "kmsType": "local-kms", "kmsKeyId": "key", "kmsProps": {"z": "1"}, "doc": "changed",
        "shared": False, "deleted": False}
    assert http.get(f"{KEKS}/k1/deks").json() == ["orders-value"]
    assert http.get(f"{KEKS}/k1/deks/orders-value/versions", params={"algorithm": "AES256_SIV"}).json() == [1, 2]
    latest = http.get(f"{KEKS}/k1/deks/orders-value/versions/latest", params={"algorithm": "AES256_SIV"}).json()
    assert (latest["version"], latest["encryptedKeyMaterial"], latest["algorithm"]) == (2, "d3JhcA==", "AES256_SIV")
    assert http.get(KEKS, params={"subjectPrefix": "orders"}).json() == ["k1"]
    assert http.get(f"{KEKS}/k2").json()["error_code"] == 40470
    assert http.get(f"{KEKS}/k1/deks/other-value", params={"deleted": "true"}).json()["error_code"] == 40470


def test_keys_are_stored_and_replayed(registry: Registry, request: pytest.FixtureRequest) -> None:
    with TestClient(create_app(registry)) as http:
        populate(http)
        check(http)
        response = http.post(f"{KEKS}/k2/deks/s", json={"encryptedKeyMaterial": "eA=="})
        assert (response.status_code, response.json()["error_code"]) == (404, 40470)
        response = http.post(f"{KEKS}/k2/undelete")
        assert response.status_code == 204 and http.get(f"{KEKS}/k2").json()["deleted"] is False
        assert http.delete(f"{KEKS}/k2").status_code == 204
    store = registry.store
    if isinstance(store, SQLiteStore):
        reopened = Registry(SQLiteStore(store.path))
    else:
        from registry.stores.kafka import KafkaStore

        assert isinstance(store, KafkaStore)
        settings = request.getfixturevalue("kafka_secured").client_settings()  # the listener the store used
        reopened = Registry(KafkaStore(settings.pop("bootstrap.servers"), store.topic,
                                       group_id=f"reader-{store.topic}", leader_eligible=False, client_config=settings))
    try:
        with TestClient(create_app(reopened)) as http:
            check(http)
    finally:
        reopened.close()


def test_kafka_keys_topic_holds_confluent_records(kafka_bootstrap: str) -> None:
    from tests.kafka_store_support import kafka_registry

    with kafka_registry(kafka_bootstrap) as registry:
        with TestClient(create_app(registry)) as http:
            populate(http)
        store = registry.store
        consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "keys-check",
                             "isolation.level": "read_committed", "enable.partition.eof": True})
        consumer.assign([TopicPartition(store.keys_topic, 0, 0)])  # type: ignore[attr-defined]
        messages = []
        while True:
            msg = consumer.poll(10)
            assert msg is not None, "the keys topic was not read to its end in time"
            if msg.error():
                break
            messages.append((msg.key(), msg.value()))
        consumer.close()
    keys = [json.loads(key) for key, _ in messages]
    assert {"tenant": "default", "name": "k1", "type": "KEK"} in keys
    assert {"tenant": "default", "kekName": "k1", "subject": "orders-value", "algorithm": "AES256_SIV",
            "version": 2, "type": "DEK"} in keys
    tombstones = [json.loads(key) for key, value in messages if value is None]
    assert {"tenant": "__schemahub", "name": "noop", "type": "KEK"} in tombstones  # the leader's catch-up marker
    assert [t for t in tombstones if t["tenant"] == "default"] == [{"tenant": "default", "kekName": "k1", "subject": "other-value",
                           "algorithm": "AES256_GCM", "version": 1, "type": "DEK"}]
    last_k2 = [json.loads(value) for key, value in messages if json.loads(key).get("name") == "k2"][-1]
    assert (last_k2["type"], last_k2["deleted"], last_k2["kmsType"]) == ("KEK", True, "local-kms")


@pytest.mark.parametrize("record", [
    KekRecord("k", "aws-kms", "arn:x", {"b": "2", "a": "1"}, "doc", True, False, 5),
    KekTombstone("k"),
    DekRecord("k", "s\n", "AES128_GCM", 3, "bWF0", True, 9),
    DekTombstone("k", "s", "AES256_SIV", 1),
])
def test_key_records_round_trip(record: object) -> None:
    key, value = encode(record)  # type: ignore[arg-type]
    assert decode_message(key, value) == record or (
        isinstance(record, KekRecord) and decode_message(key, value).__dict__ == record.__dict__)  # type: ignore[union-attr]
    assert decode_message(b'{"tenant":"other","name":"k","type":"KEK"}', None) is None
