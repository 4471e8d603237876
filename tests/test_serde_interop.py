"""Interop with confluent-kafka's serdes against a live ``schemahub serve``, per format:
ours → theirs, theirs → ours, byte equality (Avro, Protobuf, JSON), evolution
(writer v1 / reader v2), references, header (GUID) mode, tombstones."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry import SchemaRegistryClient as CKClient
from confluent_kafka.schema_registry import header_schema_id_serializer as ck_header_serializer
from confluent_kafka.schema_registry.avro import AvroDeserializer as CKAvroDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as CKAvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer as CKJSONDeserializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer as CKJSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer as CKProtobufDeserializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer as CKProtobufSerializer
from confluent_kafka.serialization import MessageField as CKField
from confluent_kafka.serialization import SerializationContext as CKContext

import serde
from serde import (
    AvroDeserializer,
    AvroSerializer,
    JSONDeserializer,
    JSONSerializer,
    MessageField,
    ProtobufDeserializer,
    ProtobufSerializer,
    SerializationContext,
    SerializationError,
)
from tests.test_serde_support import pb, sample_order, topic  # noqa: F401

TOPIC_CONF = {"subject.name.strategy.type": "TOPIC"}

ORDER_V1 = {
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "clock", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "note", "type": ["null", "string", "long"], "default": None},
        {"name": "qty", "type": "int"},
    ],
}
ORDER_V2 = {**ORDER_V1, "fields": ORDER_V1["fields"] + [{"name": "channel", "type": "string", "default": "web"}]}


def order_record(i: int = 1) -> dict:
    return {
        "id": f"o-{i}", "amount": decimal.Decimal("1234.50"), "day": datetime.date(2024, 5, 1),
        "at": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC),
        "clock": datetime.time(12, 30, 1, 500000), "ref": uuid.UUID(int=i), "note": i if i % 2 else "text", "qty": i,
    }


@pytest.fixture
def ours(live_registry):
    return serde.SchemaRegistryClient({"url": live_registry.url})


@pytest.fixture
def theirs(live_registry):
    return CKClient({"url": live_registry.url})


@pytest.fixture
def theirs_reader(live_registry):
    """A second confluent-kafka client for their deserializers, as a consumer process would have."""
    return CKClient({"url": live_registry.url})


def contexts(name: str, headers=None):
    return SerializationContext(name, MessageField.VALUE, headers), CKContext(name, CKField.VALUE, headers)


# ---------------------------------------------------------------- Avro

def test_avro_both_ways_and_byte_equal(ours, theirs) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    schema = json.dumps(ORDER_V1)
    ser, ck_ser = AvroSerializer(ours, schema), CKAvroSerializer(theirs, schema)
    for i in range(1, 4):
        record = order_record(i)
        mine, theirs_bytes = ser(record, ctx), ck_ser(record, ck_ctx)
        assert mine == theirs_bytes
        assert mine[0] == 0
        assert CKAvroDeserializer(theirs)(mine, ck_ctx) == record
        assert AvroDeserializer(ours)(theirs_bytes, ctx) == record
    assert ser(None, ctx) is None and AvroDeserializer(ours)(None, ctx) is None


def test_avro_evolution_writer_v1_reader_v2(ours, theirs) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    data = AvroSerializer(ours, json.dumps(ORDER_V1))(order_record(3), ctx)
    ck_data = CKAvroSerializer(theirs, json.dumps(ORDER_V1))(order_record(3), ck_ctx)
    assert data == ck_data
    expected = {**order_record(3), "channel": "web"}
    assert AvroDeserializer(ours, json.dumps(ORDER_V2))(ck_data, ctx) == expected
    assert CKAvroDeserializer(theirs, json.dumps(ORDER_V2))(data, ck_ctx) == expected
    # reader = latest registered version
    ours.register_schema(f"{name}-value", Schema(json.dumps(ORDER_V2), "AVRO"))
    assert AvroDeserializer(ours, conf={"use.latest.version": True})(data, ctx) == expected


def test_avro_references(ours, theirs) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    address = {"type": "record", "name": "Address", "namespace": "geo",
               "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "string"]}]}
    ref_subject = f"{name}-geo.Address"
    version = ours.register_schema_full_response(ref_subject, Schema(json.dumps(address), "AVRO")).version
    customer = {"type": "record", "name": "Customer", "namespace": "shop",
                "fields": [{"name": "name", "type": "string"}, {"name": "home", "type": "geo.Address"},
                           {"name": "work", "type": ["null", "geo.Address"], "default": None}]}
    schema = Schema(json.dumps(customer), "AVRO", [SchemaReference("geo.Address", ref_subject, version)])
    record = {"name": "Ada", "home": {"city": "Paris", "zip": "75001"}, "work": {"city": "Lyon", "zip": None}}
    mine = AvroSerializer(ours, schema)(record, ctx)
    ck_bytes = CKAvroSerializer(theirs, schema)(record, ck_ctx)
    assert mine == ck_bytes
    assert CKAvroDeserializer(theirs)(mine, ck_ctx) == record
    assert AvroDeserializer(ours)(ck_bytes, ctx) == record


def test_avro_top_level_bytes_raw_and_primitives(ours, theirs) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    mine = AvroSerializer(ours, '"bytes"')(b"\x01\x02raw", ctx)
    assert mine[5:] == b"\x01\x02raw"
    assert mine == CKAvroSerializer(theirs, '"bytes"')(b"\x01\x02raw", ck_ctx)
    assert CKAvroDeserializer(theirs)(mine, ck_ctx) == b"\x01\x02raw"
    assert AvroDeserializer(ours)(mine, ctx) == b"\x01\x02raw"
    key_ctx = SerializationContext(name, MessageField.KEY)
    key = AvroSerializer(ours, '"string"')("k-1", key_ctx)
    assert key == CKAvroSerializer(theirs, '"string"')("k-1", CKContext(name, CKField.KEY))
    assert AvroDeserializer(ours)(key, key_ctx) == "k-1"


def test_avro_union_branch_selection_as_confluent(ours, theirs) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    a = {"type": "record", "name": "A", "fields": [{"name": "x", "type": "int"}]}
    b = {"type": "record", "name": "B", "fields": [{"name": "x", "type": "int"}]}
    wrapper = json.dumps({"type": "record", "name": "W", "fields": [{"name": "u", "type": [a, b]}]})
    for value in ({"u": {"x": 1}}, {"u": ("B", {"x": 2})}):
        mine = AvroSerializer(ours, wrapper)(value, ctx)
        assert mine == CKAvroSerializer(theirs, wrapper)(value, ck_ctx)
        assert AvroDeserializer(ours, return_record_name=True)(mine, ctx) == \
            CKAvroDeserializer(theirs, return_record_name=True)(mine, ck_ctx)


def test_avro_header_guid_mode_both_ways(ours, theirs) -> None:
    name = topic()
    schema = json.dumps(ORDER_V1)
    headers: list = []
    ctx, ck_ctx = contexts(name, headers)
    mine = AvroSerializer(ours, schema, conf={"schema.id.serializer": serde.header_schema_id_serializer})(
        order_record(1), ctx)
    assert headers and headers[0][0] == "__value_schema_id" and headers[0][1][0] == 1 and len(headers[0][1]) == 17
    assert CKAvroDeserializer(theirs)(mine, ck_ctx) == order_record(1)
    assert AvroDeserializer(ours)(mine, ctx) == order_record(1)
    ck_headers: list = []
    ck_bytes = CKAvroSerializer(theirs, schema, conf={"schema.id.serializer": ck_header_serializer})(
        order_record(2), CKContext(name, CKField.VALUE, ck_headers))
    assert AvroDeserializer(ours)(ck_bytes, SerializationContext(name, MessageField.VALUE, ck_headers)) == \
        order_record(2)


def test_unknown_config_key_rejected(ours) -> None:
    with pytest.raises(ValueError, match="unknown configuration key 'auto.register.schema'"):
        AvroSerializer(ours, '"string"', conf={"auto.register.schema": False})
    with pytest.raises(ValueError, match="must be a boolean"):
        JSONSerializer('{"type":"object"}', ours, conf={"validate": "yes"})
    with pytest.raises(ValueError, match="unknown configuration key"):
        serde.SchemaRegistryClient({"url": "http://x", "cache.size": 3})


def test_avro_bad_record_raises_serialization_error(ours) -> None:
    with pytest.raises(SerializationError):
        AvroSerializer(ours, json.dumps(ORDER_V1))({"id": 1}, SerializationContext(topic(), MessageField.VALUE))


# ---------------------------------------------------------------- Protobuf

def test_protobuf_both_ways_byte_equal_with_references(ours, theirs, theirs_reader, pb) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    order = sample_order(pb, 7)
    mine = ProtobufSerializer(pb.order.Order, ours)(order, ctx)
    ck_bytes = CKProtobufSerializer(pb.order.Order, theirs)(order, ck_ctx)
    assert mine == ck_bytes
    assert mine[5] == 0  # message indexes [0]
    # the import was registered as a reference subject, the well-known type skipped
    assert "common/money.proto" in ours.get_subjects()
    latest = ours.get_latest_version(f"{name}-value")
    assert [(r.name, r.subject) for r in latest.schema.references] == [("common/money.proto", "common/money.proto")]
    assert CKProtobufDeserializer(pb.order.Order, {}, theirs_reader)(mine, ck_ctx) == order
    assert ProtobufDeserializer(pb.order.Order, {}, ours)(ck_bytes, ctx) == order
    assert ProtobufDeserializer(pb.order.Order)(ck_bytes, ctx) == order  # no registry needed with a class


def test_protobuf_nested_and_second_message_indexes(ours, theirs, pb) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    line = pb.order.Order.Line(sku="x", qty=3)
    mine = ProtobufSerializer(pb.order.Order.Line, ours, {"subject.name.strategy.type": "TOPIC"})(line, ctx)
    assert mine == CKProtobufSerializer(pb.order.Order.Line, theirs)(line, ck_ctx)
    assert mine[5:8] == bytes([4, 0, 0])
    dynamic = ProtobufDeserializer(None, {"return.dict": True}, ours)(mine, ctx)
    assert dynamic == {"sku": "x", "qty": 3}
    name2 = topic()
    ctx2, ck_ctx2 = contexts(name2)
    refund = pb.order.Refund(order_id="o-1")
    refund.amount.units = 5
    mine2 = ProtobufSerializer(pb.order.Refund, ours)(refund, ctx2)
    assert mine2 == CKProtobufSerializer(pb.order.Refund, theirs)(refund, ck_ctx2)
    assert mine2[5:7] == bytes([2, 2])
    msg = ProtobufDeserializer(None, None, ours)(mine2, ctx2)
    assert msg.DESCRIPTOR.full_name == "shop.Refund" and msg.amount.units == 5


def test_protobuf_dynamic_reads_confluent_bytes_field_for_field(ours, theirs, pb) -> None:
    from google.protobuf import json_format

    name = topic()
    ctx, ck_ctx = contexts(name)
    order = sample_order(pb, 9)
    ck_bytes = CKProtobufSerializer(pb.order.Order, theirs)(order, ck_ctx)
    msg = ProtobufDeserializer(None, None, ours)(ck_bytes, ctx)
    assert type(msg) is not pb.order.Order
    assert msg.SerializeToString(deterministic=True) == order.SerializeToString(deterministic=True)
    assert json_format.MessageToDict(msg) == json_format.MessageToDict(order)
    as_dict = ProtobufDeserializer(None, {"return.dict": True}, ours)(ck_bytes, ctx)
    assert as_dict["id"] == "o-9" and as_dict["big"] == 2**40 + 9 and as_dict["status"] == "PAID"
    assert as_dict["total"] == {"currency": "EUR", "units": 21, "nanos": 500}
    assert as_dict["lines"] == [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 9}]
    assert as_dict["tags"] == {"gift": "yes"} and as_dict["blob"] == b"\x00\xffbin"
    assert as_dict["email"] == "u9@example.com" and "phone" not in as_dict
    assert as_dict["created"] == {"seconds": 1_700_000_009, "nanos": 0}


def test_protobuf_evolution_reader_latest(ours, pb) -> None:
    """Writer v1 (the generated class); reader v2 = the latest version, which adds a field."""
    name = topic()
    ctx, _ = contexts(name)
    data = ProtobufSerializer(pb.order.Refund, ours)(pb.order.Refund(order_id="r-1"), ctx)
    v1 = ours.get_latest_version(f"{name}-value").schema
    assert "string order_id = 1;" in v1.schema_str
    v2 = v1.schema_str.replace("string order_id = 1;", "string order_id = 1;\n  string reason = 3;")
    ours.register_schema(f"{name}-value", Schema(v2, "PROTOBUF", v1.references))
    got = ProtobufDeserializer(None, {"use.latest.version": True, "return.dict": True}, ours)(data, ctx)
    assert got == {"order_id": "r-1", "reason": "", "amount": None}


# ---------------------------------------------------------------- JSON

SHIPMENT = {
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Shipment", "type": "object",
    "properties": {"id": {"type": "string"}, "weight": {"type": "number", "minimum": 0},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["id"], "additionalProperties": False,
}


def test_json_both_ways_byte_equal(ours, theirs) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    schema = json.dumps(SHIPMENT)
    record = {"id": "s-1", "weight": 1.5, "tags": ["fragile", "ünï"]}
    mine = JSONSerializer(schema, ours)(record, ctx)
    ck_bytes = CKJSONSerializer(schema, theirs)(record, ck_ctx)
    assert mine == ck_bytes
    assert CKJSONDeserializer(None, schema_registry_client=theirs)(mine, ck_ctx) == record
    assert JSONDeserializer(None, schema_registry_client=ours)(ck_bytes, ctx) == record
    assert JSONDeserializer(schema)(ck_bytes, ctx) == record


def test_json_validation_errors_are_clear(ours) -> None:
    ctx = SerializationContext(topic(), MessageField.VALUE)
    ser = JSONSerializer(json.dumps(SHIPMENT), ours)
    with pytest.raises(SerializationError, match=r"#/weight .*-1 is less than the minimum of 0"):
        ser({"id": "x", "weight": -1}, ctx)
    with pytest.raises(SerializationError, match="'id' is a required property"):
        ser({"weight": 1}, ctx)
    data = JSONSerializer(json.dumps(SHIPMENT), ours, conf={"validate": False})({"id": 5}, ctx)
    with pytest.raises(SerializationError, match="5 is not of type 'string'"):
        JSONDeserializer(None, schema_registry_client=ours)(data, ctx)


def test_json_evolution_and_references(ours, theirs) -> None:
    name = topic()
    ctx, ck_ctx = contexts(name)
    money = {"type": "object", "properties": {"currency": {"type": "string"}, "units": {"type": "integer"}},
             "required": ["currency"]}
    ref_subject = f"{name}-money"
    version = ours.register_schema_full_response(ref_subject, Schema(json.dumps(money), "JSON")).version
    invoice = {"title": "Invoice", "type": "object",
               "properties": {"no": {"type": "string"}, "total": {"$ref": "money.json"}}, "required": ["no"]}
    schema = Schema(json.dumps(invoice), "JSON", [SchemaReference("money.json", ref_subject, version)])
    record = {"no": "i-1", "total": {"currency": "EUR", "units": 3}}
    mine = JSONSerializer(schema, ours)(record, ctx)
    assert mine == CKJSONSerializer(schema, theirs)(record, ck_ctx)
    assert CKJSONDeserializer(None, schema_registry_client=theirs)(mine, ck_ctx) == record
    assert JSONDeserializer(None, schema_registry_client=ours)(mine, ctx) == record
    with pytest.raises(SerializationError, match="'currency' is a required property"):
        JSONSerializer(schema, ours)({"no": "i-2", "total": {"units": 1}}, ctx)
    # evolution: reader v2 adds an optional field
    v2 = {**invoice, "properties": {**invoice["properties"], "memo": {"type": "string"}}}
    reader = Schema(json.dumps(v2), "JSON", [SchemaReference("money.json", ref_subject, version)])
    assert JSONDeserializer(reader, schema_registry_client=ours)(mine, ctx) == record
    assert CKJSONDeserializer(reader, schema_registry_client=theirs)(mine, ck_ctx) == record
