"""confluent-kafka's own serializers and deserializers against ``schemahub serve``.

Avro, Protobuf (a message class built at runtime, nested so its message
indexes are not ``[0]``) and JSON Schema, each with confluent-kafka 2.16's
default configuration and with ``auto.register.schemas=False,
use.latest.version=True``.
"""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tests.server import RegistryServer

LATEST = {"auto.register.schemas": False, "use.latest.version": True}

AVRO_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Payment",
        "namespace": "shop",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "amount", "type": "double"},
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }
)

JSON_SCHEMA = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Shipment",
        "type": "object",
        "properties": {"id": {"type": "string"}, "weight": {"type": "number"}},
        "required": ["id"],
        "additionalProperties": False,
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with RegistryServer(tmp_path_factory.mktemp("serdes") / "registry.db") as srv:
        yield srv


@pytest.fixture
def client(server: RegistryServer) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": server.url})


@pytest.fixture
def consumer_client(server: RegistryServer) -> SchemaRegistryClient:
    """A second client, as a consumer in another process would have (no shared cache)."""
    return SchemaRegistryClient({"url": server.url})


def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def order_line_class(full_name: str = "shop.Order.Line") -> type:
    """A message class built at runtime from a descriptor (no generated code):
    ``shop.Order.Line`` (path ``[0, 0]``) or ``shop.Refund`` (path ``[1]``)."""
    file = descriptor_pb2.FileDescriptorProto(name=f"shop/order_{uuid.uuid4().hex[:6]}.proto", package="shop", syntax="proto3")
    order = file.message_type.add(name="Order")
    order.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    line = order.nested_type.add(name="Line")
    line.field.add(name="sku", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                   label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    line.field.add(name="qty", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                   label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    refund = file.message_type.add(name="Refund")
    refund.field.add(name="sku", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                     label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    refund.field.add(name="qty", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                     label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))


@pytest.mark.parametrize("conf", [{}, LATEST], ids=["default", "use-latest"])
def test_avro_round_trip(client: SchemaRegistryClient, consumer_client: SchemaRegistryClient, conf: dict) -> None:
    name = topic()
    ctx = SerializationContext(name, MessageField.VALUE)
    if conf:
        client.register_schema(f"{name}-value", Schema(AVRO_SCHEMA, "AVRO"))
    serializer = AvroSerializer(client, AVRO_SCHEMA, conf=conf or None)
    value = {"id": "p-1", "amount": 12.5, "note": "first"}
    data = serializer(value, ctx)
    assert data[0] == 0
    schema_id = int.from_bytes(data[1:5], "big")
    assert client.get_latest_version(f"{name}-value").schema_id == schema_id
    deserializer = AvroDeserializer(consumer_client, conf={"use.latest.version": True} if conf else None)
    assert deserializer(data, ctx) == value


@pytest.mark.parametrize(
    ("conf", "message", "indexes"),
    [
        ({}, "shop.Order.Line", bytes([4, 0, 0])),
        # confluent-kafka 2.16 looks a use.latest.version message up among the
        # top-level messages only, so that case uses the second top-level one.
        (LATEST, "shop.Refund", bytes([2, 2])),
    ],
    ids=["default-nested", "use-latest-second"],
)
def test_protobuf_round_trip_runtime_class(
    server: RegistryServer,
    client: SchemaRegistryClient, consumer_client: SchemaRegistryClient, conf: dict, message: str, indexes: bytes
) -> None:
    cls = order_line_class(message)
    name = topic()
    ctx = SerializationContext(name, MessageField.VALUE)
    base = {"use.deprecated.format": False}
    if conf:
        ProtobufSerializer(cls, client, base)(cls(sku="warmup", qty=0), ctx)
    serializer = ProtobufSerializer(cls, client, {**base, **conf})
    value = cls(sku="abc-1", qty=3)
    data = serializer(value, ctx)
    assert data[0] == 0
    assert data[5 : 5 + len(indexes)] == indexes, "message indexes as zigzag varints, not [0]"
    stored = SchemaRegistryClient({"url": server.url}).get_latest_version(f"{name}-value")
    assert "message Order" in stored.schema.schema_str and "message Refund" in stored.schema.schema_str
    deserializer = ProtobufDeserializer(cls, base, consumer_client)
    assert deserializer(data, ctx) == value


@pytest.mark.parametrize("conf", [{}, LATEST], ids=["default", "use-latest"])
def test_json_round_trip(client: SchemaRegistryClient, consumer_client: SchemaRegistryClient, conf: dict) -> None:
    name = topic()
    ctx = SerializationContext(name, MessageField.VALUE)
    if conf:
        client.register_schema(f"{name}-value", Schema(JSON_SCHEMA, "JSON"))
    serializer = JSONSerializer(JSON_SCHEMA, client, conf=conf or None)
    value = {"id": "s-9", "weight": 2.25}
    data = serializer(value, ctx)
    assert data[0] == 0
    deserializer = JSONDeserializer(None, schema_registry_client=consumer_client)
    assert deserializer(data, ctx) == value
    with pytest.raises(SerializationError):
        serializer({"weight": "heavy"}, ctx)


def test_protobuf_text_and_serialized_forms_are_one_schema(client: SchemaRegistryClient) -> None:
    line_class = order_line_class()
    name = topic()
    ctx = SerializationContext(name, MessageField.VALUE)
    ProtobufSerializer(line_class, client, {"use.deprecated.format": False})(line_class(sku="x", qty=1), ctx)
    stored = client.get_latest_version(f"{name}-value")
    text_id = client.register_schema(f"{name}-copy", Schema(stored.schema.schema_str, "PROTOBUF"))
    assert text_id == stored.schema_id
    serialized = client.get_schema(stored.schema_id, fmt="serialized").schema_str
    assert serialized != stored.schema.schema_str
    assert client.register_schema(f"{name}-copy2", Schema(serialized, "PROTOBUF")) == stored.schema_id


def test_protobuf_serializer_and_deserializer_sharing_one_client(client: SchemaRegistryClient) -> None:
    """The register answer echoes the serialized form the serializer sent, so the
    client's id cache holds something its deserializer can decode."""
    cls = order_line_class("shop.Refund")
    ctx = SerializationContext(topic(), MessageField.VALUE)
    data = ProtobufSerializer(cls, client, {"use.deprecated.format": False})(cls(sku="same", qty=2), ctx)
    assert ProtobufDeserializer(cls, {"use.deprecated.format": False}, client)(data, ctx) == cls(sku="same", qty=2)
