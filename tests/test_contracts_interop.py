"""Data contracts, both ways with confluent-kafka 2.16's rule executors, over a live ``schemahub serve``:
field encryption (its serializer → our deserializer and back, one DEK Registry: ours), CEL conditions
rejecting the same records with the same error type, JSONata UPGRADE/DOWNGRADE migrations giving the
same records, and confluent-kafka's own DekRegistryClient against our DEK Registry routes."""

from __future__ import annotations

import base64
import copy
import json
import uuid

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry import SchemaRegistryClient as CKClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as CKAvroDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as CKAvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer as CKJSONDeserializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer as CKJSONSerializer
from confluent_kafka.schema_registry.rule_registry import RuleRegistry as CKRuleRegistry
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor as CKCel
from confluent_kafka.schema_registry.rules.cel.cel_field_executor import CelFieldExecutor as CKCelField
from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
    DekAlgorithm,
)
from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
    DekRegistryClient as CKDekClient,
)
from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import (
    FieldEncryptionExecutor as CKEncrypt,
)
from confluent_kafka.schema_registry.rules.encryption.localkms.local_driver import LocalKmsDriver
from confluent_kafka.schema_registry.rules.jsonata.jsonata_executor import JsonataExecutor as CKJsonata
from confluent_kafka.schema_registry.schema_registry_client import Metadata, RuleSet
from confluent_kafka.schema_registry.serde import RuleConditionError
from confluent_kafka.serialization import MessageField as CKField
from confluent_kafka.serialization import SerializationContext as CKContext
from confluent_kafka.serialization import SerializationError

import serde
from tests.test_serde_support import pb, sample_order  # noqa: F401

SECRET = "interop-secret"
LATEST = {"auto.register.schemas": False, "use.latest.version": True, "subject.name.strategy.type": "TOPIC"}
READ = {"subject.name.strategy.type": "TOPIC"}


@pytest.fixture(scope="module", autouse=True)
def ck_local_kms() -> None:
    LocalKmsDriver.register()


def ck_rule_registry(url: str) -> CKRuleRegistry:
    """A dedicated confluent-kafka rule registry per serde: its executors bind to one registry URL, and
    registering them globally would break other tests' confluent-kafka serdes on other registries."""
    registry = CKRuleRegistry()
    for executor in (CKCel(), CKCelField(), CKJsonata(), CKEncrypt()):
        registry.register_executor(executor)
    return registry


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


ORDER = {
    "type": "record", "name": "Order", "namespace": "acme",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "card", "type": "string", "confluent:tags": ["PII"]},
        {"name": "ssn", "type": ["null", "bytes"], "default": None},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}


def encrypt_rule(kek: str, algorithm: str = "AES256_GCM", expiry: str | None = None) -> dict:
    params = {"encrypt.kek.name": kek, "encrypt.kms.type": "local-kms", "encrypt.kms.key.id": "interop-key",
              "encrypt.dek.algorithm": algorithm}
    if expiry is not None:
        params["encrypt.dek.expiry.days"] = expiry
    return {"name": "encryptPII", "kind": "TRANSFORM", "mode": "WRITEREAD", "type": "ENCRYPT", "tags": ["PII"],
            "params": params}


def register(url: str, subject: str, schema: dict, rule_set: dict, metadata: dict | None = None,
             schema_type: str = "AVRO") -> int:
    client = CKClient({"url": url})
    return client.register_schema(subject, Schema(
        json.dumps(schema), schema_type, rule_set=RuleSet.from_dict(rule_set),
        metadata=Metadata.from_dict(metadata) if metadata else None))


@pytest.mark.parametrize("algorithm,expiry", [("AES256_GCM", None), ("AES128_GCM", None), ("AES256_SIV", None),
                                              ("AES256_GCM", "30")])
def test_field_encryption_both_ways(live_registry, algorithm: str, expiry: str | None) -> None:
    topic = unique("enc")
    kek = unique("kek").replace("-", "_")
    metadata = {"tags": {"acme.Order.ssn": ["PII"]}}  # a tag from metadata, not inline
    register(live_registry.url, f"{topic}-value", ORDER, {"domainRules": [encrypt_rule(kek, algorithm, expiry)]},
             metadata)
    url = live_registry.url
    ctx, ck_ctx = serde.SerializationContext(topic, serde.MessageField.VALUE), CKContext(topic, CKField.VALUE)
    record = {"id": "o-1", "amount": 12.5, "card": "4111-1111", "ssn": b"123-45-6789", "note": "hi"}

    ck_ser = CKAvroSerializer(CKClient({"url": url}), None, conf=LATEST, rule_conf={"secret": SECRET},
                              rule_registry=ck_rule_registry(url))
    ours_de = serde.AvroDeserializer(serde.SchemaRegistryClient({"url": url}), conf=READ,
                                     rule_conf={"secret": SECRET})
    theirs = ck_ser(copy.deepcopy(record), ck_ctx)
    assert b"4111-1111" not in theirs and b"123-45-6789" not in theirs
    assert ours_de(theirs, ctx) == record

    ours_ser = serde.AvroSerializer(serde.SchemaRegistryClient({"url": url}), None, conf=LATEST,
                                    rule_conf={"secret": SECRET})
    ck_de = CKAvroDeserializer(CKClient({"url": url}), conf=READ, rule_conf={"secret": SECRET},
                               rule_registry=ck_rule_registry(url))
    given = copy.deepcopy(record)
    ours = ours_ser(given, ctx)
    assert given == record, "our serializer leaves the caller's record as it was"
    assert b"4111-1111" not in ours and b"123-45-6789" not in ours
    assert ck_de(ours, ck_ctx) == record
    if algorithm == "AES256_SIV":  # deterministic: both sides give the same bytes for the same DEK
        assert ours == theirs
    # one DEK per subject and algorithm, registered once and shared by both libraries
    dek_client = CKDekClient({"url": url})
    dek = dek_client.get_dek(kek, f"{topic}-value", DekAlgorithm[algorithm], -1)
    assert dek.version == 1 and dek.encrypted_key_material


def test_encryption_without_the_secret_fails_clearly(live_registry) -> None:
    topic = unique("nosecret")
    kek = unique("kek").replace("-", "_")
    register(live_registry.url, f"{topic}-value", ORDER, {"domainRules": [encrypt_rule(kek)]})
    ctx = serde.SerializationContext(topic, serde.MessageField.VALUE)
    client = serde.SchemaRegistryClient({"url": live_registry.url})
    data = serde.AvroSerializer(client, None, conf=LATEST, rule_conf={"secret": SECRET})(
        {"id": "x", "amount": 1.0, "card": "4111"}, ctx)
    with pytest.raises(SerializationError):
        serde.AvroDeserializer(client, conf=READ, rule_conf={"secret": "wrong"})(data, ctx)


CONDITIONS = [
    ("message.amount > 0.0", {"id": "a", "amount": 1.5, "card": "c"}, True),
    ("message.amount > 0.0", {"id": "a", "amount": -1.5, "card": "c"}, False),
    ("message.id.startsWith('o-') && size(message.card) >= 4", {"id": "o-1", "amount": 1.0, "card": "4111"}, True),
    ("message.id.startsWith('o-') && size(message.card) >= 4", {"id": "x-1", "amount": 1.0, "card": "4111"}, False),
    ("message.note == null || message.note != ''", {"id": "a", "amount": 1.0, "card": "c", "note": ""}, False),
    ("message.note == null || message.note != ''", {"id": "a", "amount": 1.0, "card": "c", "note": None}, True),
    ("message.id == 'ok' ; message.amount < 100.0", {"id": "no", "amount": 1000.0, "card": "c"}, True),
    ("message.id == 'ok' ; message.amount < 100.0", {"id": "ok", "amount": 1000.0, "card": "c"}, False),
]


@pytest.mark.parametrize("kind", ["CEL", "CEL_FIELD"])
def test_cel_conditions_reject_the_same_records(live_registry, kind: str) -> None:
    topic = unique("cel")
    rule = {"name": "check", "kind": "CONDITION", "mode": "WRITE", "type": kind}
    if kind == "CEL_FIELD":
        rule["tags"] = ["PII"]
    url = live_registry.url
    cases = CONDITIONS if kind == "CEL" else [
        ("typeName == 'STRING' ; value.startsWith('4')", {"id": "a", "amount": 1.0, "card": "4111"}, True),
        ("typeName == 'STRING' ; value.startsWith('4')", {"id": "a", "amount": 1.0, "card": "5111"}, False),
        ("name == 'card' && value.size() == 4 && 'PII' in tags", {"id": "a", "amount": 1.0, "card": "4111"}, True),
        ("name == 'card' && value.size() == 4 && 'PII' in tags", {"id": "a", "amount": 1.0, "card": "41"}, False),
    ]
    for index, (expr, record, accepted) in enumerate(cases):
        subject_topic = f"{topic}-{index}"
        rule_set = {"domainRules": [dict(rule, expr=expr)]}
        register(url, f"{subject_topic}-value", ORDER, rule_set)
        full = {"ssn": None, "note": None, **record}
        ctx, ck_ctx = (serde.SerializationContext(subject_topic, serde.MessageField.VALUE),
                       CKContext(subject_topic, CKField.VALUE))
        ours = serde.AvroSerializer(serde.SchemaRegistryClient({"url": url}), None, conf=LATEST)
        theirs = CKAvroSerializer(CKClient({"url": url}), None, conf=LATEST, rule_registry=ck_rule_registry(url))
        outcomes = []
        for serializer, context in ((ours, ctx), (theirs, ck_ctx)):
            try:
                serializer(copy.deepcopy(full), context)
                outcomes.append(None)
            except SerializationError as exc:
                outcomes.append(type(exc.__cause__))
        expected = None if accepted else RuleConditionError
        assert outcomes == [expected, expected], (expr, record, outcomes)


def test_cel_transform_gives_the_same_record(live_registry) -> None:
    topic = unique("celx")
    url = live_registry.url
    rules = {"domainRules": [{"name": "mask", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD",
                              "tags": ["PII"], "expr": "typeName == 'STRING' ; 'XXXX-' + value"}]}
    register(url, f"{topic}-value", ORDER, rules)
    ctx, ck_ctx = serde.SerializationContext(topic, serde.MessageField.VALUE), CKContext(topic, CKField.VALUE)
    record = {"id": "a", "amount": 1.0, "card": "4111", "ssn": None, "note": None}
    ours = serde.AvroSerializer(serde.SchemaRegistryClient({"url": url}), None, conf=LATEST)(dict(record), ctx)
    theirs = CKAvroSerializer(CKClient({"url": url}), None, conf=LATEST,
                              rule_registry=ck_rule_registry(url))(dict(record), ck_ctx)
    assert ours == theirs
    assert serde.AvroDeserializer(serde.SchemaRegistryClient({"url": url}))(ours, ctx)["card"] == "XXXX-4111"


V1 = {"type": "record", "name": "Person", "namespace": "acme",
      "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}]}
V2 = {"type": "record", "name": "Person", "namespace": "acme",
      "fields": [{"name": "full_name", "type": "string"}, {"name": "age", "type": "int"}]}
UP = "$merge([$sift($, function($v, $k) {$k != 'name'}), {'full_name': $.name}])"
DOWN = "$merge([$sift($, function($v, $k) {$k != 'full_name'}), {'name': $.full_name}])"


def test_jsonata_upgrade_and_downgrade_migrations(live_registry) -> None:
    url = live_registry.url
    topic = unique("mig")
    subject = f"{topic}-value"
    client = CKClient({"url": url})
    httpx_put_config(url, subject, {"compatibilityGroup": "application.major.version"})
    client.register_schema(subject, Schema(json.dumps(V1), "AVRO",
                                           metadata=Metadata.from_dict({"properties": {"application.major.version": "1"}})))
    client.register_schema(subject, Schema(
        json.dumps(V2), "AVRO", metadata=Metadata.from_dict({"properties": {"application.major.version": "2"}}),
        rule_set=RuleSet.from_dict({"migrationRules": [
            {"name": "up", "kind": "TRANSFORM", "mode": "UPGRADE", "type": "JSONATA", "expr": UP},
            {"name": "down", "kind": "TRANSFORM", "mode": "DOWNGRADE", "type": "JSONATA", "expr": DOWN}]})))
    ctx, ck_ctx = serde.SerializationContext(topic, serde.MessageField.VALUE), CKContext(topic, CKField.VALUE)

    def writer(major: str, ours: bool):
        conf = {"auto.register.schemas": False, "use.latest.with.metadata": {"application.major.version": major},
                "subject.name.strategy.type": "TOPIC"}
        if ours:
            return serde.AvroSerializer(serde.SchemaRegistryClient({"url": url}), None, conf=conf)
        return CKAvroSerializer(CKClient({"url": url}), None, conf=conf, rule_registry=ck_rule_registry(url))

    def reader(major: str, ours: bool):
        conf = {"use.latest.with.metadata": {"application.major.version": major}, "subject.name.strategy.type": "TOPIC"}
        if ours:
            return serde.AvroDeserializer(serde.SchemaRegistryClient({"url": url}), conf=conf)
        return CKAvroDeserializer(CKClient({"url": url}), conf=conf, rule_registry=ck_rule_registry(url))

    old = writer("1", True)({"name": "Ada", "age": 36}, ctx)
    new = writer("2", False)({"full_name": "Alan", "age": 41}, ck_ctx)
    for ours in (True, False):
        context = ctx if ours else ck_ctx
        assert reader("2", ours)(old, context) == {"full_name": "Ada", "age": 36}  # UPGRADE
        assert reader("1", ours)(new, context) == {"name": "Alan", "age": 41}  # DOWNGRADE
        assert reader("2", ours)(new, context) == {"full_name": "Alan", "age": 41}


def httpx_put_config(url: str, subject: str, body: dict) -> None:
    import httpx

    response = httpx.put(f"{url}/config/{subject}", json=body)
    assert response.status_code == 200, response.text


JSON_ORDER = {
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
    "properties": {"id": {"type": "string"}, "amount": {"type": "number"},
                   "card": {"type": "string", "confluent:tags": ["PII"]}},
    "required": ["id", "amount", "card"],
}


def test_json_schema_encryption_both_ways(live_registry) -> None:
    url = live_registry.url
    topic = unique("jenc")
    kek = unique("kek").replace("-", "_")
    register(url, f"{topic}-value", JSON_ORDER,
             {"domainRules": [encrypt_rule(kek), {"name": "positive", "kind": "CONDITION", "mode": "WRITE",
                                                 "type": "CEL", "expr": "message.amount > 0"}]},
             schema_type="JSON")
    ctx, ck_ctx = serde.SerializationContext(topic, serde.MessageField.VALUE), CKContext(topic, CKField.VALUE)
    record = {"id": "j-1", "amount": 3, "card": "4111-2222"}
    ours_ser = serde.JSONSerializer(None, serde.SchemaRegistryClient({"url": url}), conf=LATEST,
                                    rule_conf={"secret": SECRET})
    ck_ser = CKJSONSerializer(None, CKClient({"url": url}), conf=LATEST, rule_conf={"secret": SECRET},
                              rule_registry=ck_rule_registry(url))
    ours = ours_ser(dict(record), ctx)
    theirs = ck_ser(dict(record), ck_ctx)
    assert b"4111-2222" not in ours and b"4111-2222" not in theirs
    ck_de = CKJSONDeserializer(None, schema_registry_client=CKClient({"url": url}), conf=READ,
                               rule_conf={"secret": SECRET}, rule_registry=ck_rule_registry(url))
    ours_de = serde.JSONDeserializer(None, schema_registry_client=serde.SchemaRegistryClient({"url": url}),
                                     conf=READ, rule_conf={"secret": SECRET})
    assert ck_de(ours, ck_ctx) == record
    assert ours_de(theirs, ctx) == record
    with pytest.raises(SerializationError) as ours_error:
        ours_ser({"id": "j-2", "amount": -1, "card": "x"}, ctx)
    with pytest.raises(SerializationError) as ck_error:
        ck_ser({"id": "j-2", "amount": -1, "card": "x"}, ck_ctx)
    assert type(ours_error.value.__cause__) is type(ck_error.value.__cause__) is RuleConditionError


# -- the DEK Registry, driven by confluent-kafka's own client ---------------------------------------


def test_dek_registry_with_confluent_client(live_registry) -> None:
    url = live_registry.url
    client = CKDekClient({"url": url})
    name = unique("k").replace("-", "_")
    kek = client.register_kek(name, "local-kms", "key-1", kms_props={"a": "b"}, doc="test")
    assert (kek.name, kek.kms_type, kek.kms_key_id, kek.shared, kek.doc) == (name, "local-kms", "key-1", False, "test")
    assert kek.kms_props.properties == {"a": "b"}
    assert CKDekClient({"url": url}).get_kek(name).kms_key_id == "key-1"
    material = base64.b64encode(b"wrapped").decode()
    dek = client.register_dek(name, "orders-value", material, DekAlgorithm.AES256_GCM, 1)
    assert (dek.kek_name, dek.subject, dek.version, dek.algorithm) == (name, "orders-value", 1, DekAlgorithm.AES256_GCM)
    client.register_dek(name, "orders-value", material, DekAlgorithm.AES256_GCM, 2)
    fresh = CKDekClient({"url": url})
    assert fresh.get_dek(name, "orders-value", DekAlgorithm.AES256_GCM, -1).version == 2
    assert fresh.get_dek(name, "orders-value", DekAlgorithm.AES256_GCM, 1).encrypted_key_material == material
    with pytest.raises(SchemaRegistryError) as missing:
        fresh.get_dek(name, "orders-value", DekAlgorithm.AES256_SIV, 1)
    assert (missing.value.http_status_code, missing.value.error_code) == (404, 40470)
    with pytest.raises(SchemaRegistryError) as conflict:
        CKDekClient({"url": url}).register_kek(name, "local-kms", "other-key")
    assert (conflict.value.http_status_code, conflict.value.error_code) == (409, 40971)

    ours = serde.DekRegistryClient({"url": url})
    assert name in ours.get_kek_names()
    assert ours.get_dek_subjects(name) == ["orders-value"]
    assert ours.get_dek_versions(name, "orders-value") == [1, 2]
    with pytest.raises(SchemaRegistryError) as referenced:
        ours.delete_kek(name)
    assert (referenced.value.http_status_code, referenced.value.error_code) == (422, 42272)
    with pytest.raises(SchemaRegistryError) as not_soft:
        ours.delete_dek(name, "orders-value", permanent=True)
    assert referenced.value.http_status_code == 422 and not_soft.value.error_code == 40471
    ours.delete_dek(name, "orders-value")
    assert ours.get_dek_subjects(name) == [] and ours.get_dek_subjects(name, deleted=True) == ["orders-value"]
    ours.undelete_dek(name, "orders-value")
    assert ours.get_dek_versions(name, "orders-value") == [1, 2]
    ours.delete_dek(name, "orders-value")
    ours.delete_dek(name, "orders-value", permanent=True)
    ours.delete_kek(name)
    assert name not in ours.get_kek_names() and name in ours.get_kek_names(deleted=True)
    ours.undelete_kek(name)
    assert name in ours.get_kek_names()
    ours.delete_kek(name)
    ours.delete_kek(name, permanent=True)
    with pytest.raises(SchemaRegistryError) as gone:
        CKDekClient({"url": url}).get_kek(name, deleted=True)
    assert gone.value.error_code == 40470


@pytest.mark.parametrize("body,code", [
    ({"name": "9lives", "kmsType": "local-kms", "kmsKeyId": "k"}, 42271),
    ({"name": "ok", "kmsType": "local-kms"}, 42271),
    ({"name": "ok", "kmsKeyId": "k"}, 42271),
    ({"name": "bad name", "kmsType": "local-kms", "kmsKeyId": "k"}, 42271),
])
def test_invalid_keks_are_422(live_registry, body: dict, code: int) -> None:
    import httpx

    response = httpx.post(f"{live_registry.url}/dek-registry/v1/keks", json=body)
    assert (response.status_code, response.json()["error_code"]) == (422, code)


def test_dek_without_key_material_is_422_and_shared_is_50070(live_registry) -> None:
    import httpx

    url = f"{live_registry.url}/dek-registry/v1/keks"
    plain, shared = unique("p").replace("-", "_"), unique("s").replace("-", "_")
    assert httpx.post(url, json={"name": plain, "kmsType": "local-kms", "kmsKeyId": "k"}).status_code == 200
    assert httpx.post(url, json={"name": shared, "kmsType": "aws", "kmsKeyId": "k", "shared": True}).json()[
        "kmsType"] == "aws-kms"
    response = httpx.post(f"{url}/{plain}/deks/s1", json={"algorithm": "AES256_GCM"})
    assert (response.status_code, response.json()["error_code"]) == (422, 42271)
    response = httpx.post(f"{url}/{shared}/deks/s1", json={})
    assert (response.status_code, response.json()["error_code"]) == (500, 50070)
    response = httpx.get(f"{url}/{plain}/deks/s1/versions/x")
    assert (response.status_code, response.json()["error_code"]) == (422, 42202)


def test_protobuf_cel_condition_and_field_rules_fail_closed(live_registry, pb) -> None:
    """Message-level CEL conditions run on Protobuf (the message as a map of its fields); field rules are
    not supported for Protobuf yet and fail (onFailure decides) instead of passing the record."""
    url = live_registry.url
    client = serde.SchemaRegistryClient({"url": url})
    topic = unique("pbrules")
    probe = serde.ProtobufSerializer(pb.order.Order, client)
    probe(sample_order(pb, 1), serde.SerializationContext(topic, serde.MessageField.VALUE))  # registers it
    latest = client.get_latest_version(f"{topic}-value").schema
    for rule, good in (({"name": "c", "kind": "CONDITION", "mode": "WRITEREAD", "type": "CEL",
                         "expr": "message.id != 'bad'"}, True),
                       (encrypt_rule(unique("kek").replace("-", "_")), False)):
        client.register_schema(f"{topic}-value", Schema(latest.schema_str, "PROTOBUF", latest.references,
                                                        rule_set=RuleSet.from_dict({"domainRules": [rule]})))
        ctx = serde.SerializationContext(topic, serde.MessageField.VALUE)
        ours = serde.ProtobufSerializer(pb.order.Order, serde.SchemaRegistryClient({"url": url}), conf=LATEST)
        message = sample_order(pb, 2)
        if good:
            data = ours(message, ctx)
            assert serde.ProtobufDeserializer(pb.order.Order, READ, client)(data, ctx) == message
            bad = sample_order(pb, 3)
            bad.id = "bad"
            with pytest.raises(SerializationError) as rejected:
                ours(bad, ctx)
            assert isinstance(rejected.value.__cause__, RuleConditionError)
        else:
            with pytest.raises(SerializationError):
                ours(message, ctx)
