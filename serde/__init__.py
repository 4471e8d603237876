"""schemahub serde: Confluent-wire-compatible serializers, deserializers,
a Schema Registry client, SerializingProducer and DeserializingConsumer.

Names and configuration keys follow confluent-kafka's ``schema_registry`` and
``serialization`` modules, so switching is one import line.
"""

from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import SerializationError

from .avro import AvroDeserializer, AvroSerializer
from .client import SchemaRegistryClient
from .consumer import DeserializingConsumer
from .context import MessageField, SerializationContext
from .dek_client import DekRegistryClient
from .json_schema import JSONDeserializer, JSONSerializer
from .producer import SerializingProducer
from .protobuf import ProtobufDeserializer, ProtobufSerializer, message_to_dict
from .strategies import (
                         record_subject_name_strategy,
                         reference_subject_name_strategy,
                         topic_record_subject_name_strategy,
                         topic_subject_name_strategy,
)
from .wire import (
                         dual_schema_id_deserializer,
                         header_schema_id_serializer,
                         prefix_schema_id_deserializer,
                         prefix_schema_id_serializer,
)

__all__ = [
    "AvroDeserializer", "AvroSerializer", "DekRegistryClient", "DeserializingConsumer", "JSONDeserializer", "JSONSerializer",
    "MessageField", "ProtobufDeserializer", "ProtobufSerializer", "RegisteredSchema", "Schema",
    "SchemaReference", "SchemaRegistryClient", "SchemaRegistryError", "SerializationContext",
    "SerializationError", "SerializingProducer", "dual_schema_id_deserializer", "header_schema_id_serializer",
    "message_to_dict", "prefix_schema_id_deserializer", "prefix_schema_id_serializer",
    "record_subject_name_strategy", "reference_subject_name_strategy", "topic_record_subject_name_strategy",
    "topic_subject_name_strategy",
]
