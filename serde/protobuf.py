"""Protobuf serializer and deserializer, Confluent wire format.

The serializer takes a generated message class; it registers the class's file
(a base64 serialized ``FileDescriptorProto``, as confluent-kafka does) with its
imports registered first as references. The deserializer takes a generated
class, or none: it then fetches the writer schema, parses it with
``registry.formats`` and builds the message class from it (cached per schema id
and message-index path), returning messages or, with ``return.dict``, plain dicts.
"""

from __future__ import annotations

import base64
import struct
from typing import Any, ClassVar, cast

from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.schema_registry_client import RuleMode
from confluent_kafka.serialization import SerializationError
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from registry.formats import parse_schema

from ._base import DESERIALIZER_DEFAULTS, SERIALIZER_DEFAULTS, DeserializerBase, SerializerBase, resolve_dependencies
from .context import SerializationContext
from .rules.plan import ReadRules, RulePlan
from .strategies import reference_subject_name_strategy

__all__ = ["ProtobufDeserializer", "ProtobufSerializer", "message_to_dict"]

_ID = struct.Struct(">I")
_KNOWN_PREFIXES = ("confluent/", "google/protobuf/", "google/type/")


def is_known_type(file_name: str) -> bool:
    return file_name.startswith(_KNOWN_PREFIXES)


def _file_schema_str(file_desc: Any) -> str:
    return base64.standard_b64encode(file_desc.serialized_pb).decode("ascii")


def index_path(descriptor: Any) -> list[int]:
    """The message-index path of a message descriptor within its file."""
    fdp = descriptor_pb2.FileDescriptorProto.FromString(descriptor.file.serialized_pb)
    names: list[str] = []
    current = descriptor
    while current is not None:
        names.append(current.name)
        current = current.containing_type
    names.reverse()
    path, messages = [], fdp.message_type
    for name in names:
        for i, msg in enumerate(messages):
            if msg.name == name:
                path.append(i)
                messages = msg.nested_type
                break
        else:
            raise ValueError(f"message {descriptor.full_name} not found in {descriptor.file.name}")
    return path


def name_for_indexes(fdp: descriptor_pb2.FileDescriptorProto, indexes: tuple[int, ...]) -> str:
    """The full message name at a message-index path.

    Indexes count declared messages; synthetic map-entry types are skipped, as
    Java's serializer does (its schema model has none), so the path does not
    depend on where a registry's rendering puts them. A path valid only when
    map entries are counted (confluent-kafka-python counts them) is accepted as
    a fallback.
    """
    for skip_maps in (True, False):
        messages, names = fdp.message_type, []
        for i in indexes:
            candidates = [m for m in messages if not (skip_maps and m.options.map_entry)]
            if not 0 <= i < len(candidates):
                break
            names.append(candidates[i].name)
            messages = candidates[i].nested_type
        else:
            return ".".join(([fdp.package] if fdp.package else []) + names)
    raise SerializationError(f"ProtobufDeserializer: no message at index path {list(indexes)}")


class ProtobufSerializer(SerializerBase):
    """``ProtobufSerializer(msg_type, schema_registry_client, conf=None)``, as confluent-kafka.

    Extra keys over the common ones: ``skip.known.types`` (True),
    ``reference.subject.name.strategy``, ``use.deprecated.format`` (must be False).
    """

    _owner = "ProtobufSerializer"
    _schema_type = "PROTOBUF"
    _fmt = "serialized"
    _DEFAULTS: ClassVar[dict[str, Any]] = {**SERIALIZER_DEFAULTS, "skip.known.types": True,
                 "reference.subject.name.strategy": reference_subject_name_strategy,
                 "use.deprecated.format": False}

    def __init__(self, msg_type: type, schema_registry_client: Any, conf: dict | None = None,
                 rule_conf: dict | None = None, rule_registry: Any = None) -> None:
        merged = self._configure(schema_registry_client, conf, self._DEFAULTS, rule_conf, rule_registry)
        if merged["use.deprecated.format"]:
            raise ValueError("ProtobufSerializer: use.deprecated.format is no longer supported")
        self._skip_known = merged["skip.known.types"]
        self._ref_strategy = merged["reference.subject.name.strategy"]
        if not callable(self._ref_strategy):
            raise ValueError("ProtobufSerializer: reference.subject.name.strategy must be callable")
        if not (isinstance(msg_type, type) and issubclass(msg_type, Message)):
            raise TypeError("ProtobufSerializer: msg_type must be a generated Protobuf message class")
        self._msg_class: Any = msg_type
        self._descriptor = cast(Any, msg_type).DESCRIPTOR
        self._indexes = index_path(self._descriptor)
        self._schema = Schema(_file_schema_str(self._descriptor.file), schema_type="PROTOBUF")
        self._references: list[SchemaReference] | None = None

    def _record_name(self) -> str | None:
        return self._descriptor.full_name

    def _message_indexes(self) -> list[int]:
        return self._indexes

    def _parse_writer(self, schema: Schema) -> None:
        return None

    def _resolve_dependencies(self, ctx: Any, file_desc: Any) -> list[SchemaReference]:
        refs = []
        for dep in file_desc.dependencies:
            if self._skip_known and is_known_type(dep.name):
                continue
            dep_refs = self._resolve_dependencies(ctx, dep)
            subject = self._ref_strategy(ctx, dep)
            schema = Schema(_file_schema_str(dep), schema_type="PROTOBUF", references=dep_refs)
            if self._auto_register:
                self._registry.register_schema(subject, schema, normalize_schemas=self._normalize)
            registered = self._registry.lookup_schema(subject, schema, normalize_schemas=self._normalize)
            refs.append(SchemaReference(dep.name, subject, registered.version))
        return refs

    def _schema_to_register(self, ctx: Any) -> Schema:
        refs = self._resolve_dependencies(ctx, self._descriptor.file)
        assert self._schema is not None  # set from the message class in __init__
        return Schema(self._schema.schema_str, "PROTOBUF", refs)

    def __call__(self, message: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if message is None:
            return None
        if not isinstance(message, self._msg_class):
            raise ValueError(f"message must be of type {self._msg_class} not {type(message)}")
        state = self._states.get((ctx.topic, ctx.field) if ctx is not None else None)
        if state is None or state.expires is not None:
            state = self._state(ctx)
        if state.rules is not None:
            # Message-level rules (CEL sees the message as a dict); field rules are not supported for
            # Protobuf yet and fail as a rule error (onFailure decides), never silently pass.
            message = state.rules.apply_domain(message, ctx, message)
            if not isinstance(message, self._msg_class):
                raise SerializationError("ProtobufSerializer: a rule transformed the message into "
                                         f"{type(message).__name__}; Protobuf transforms are not supported")
            payload = state.rules.apply_encoding(message.SerializeToString(), ctx, message)
            return state.prefix + payload if self._id_mode == "prefix" else self._frame(state, payload, ctx)
        if self._id_mode == "prefix":
            return state.prefix + message.SerializeToString()
        return self._frame(state, message.SerializeToString(), ctx)


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_dict(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    return value


def message_to_dict(message: Any) -> dict[str, Any]:
    """A message as a dict of native Python values, every field present (proto field names;
    enums by name; bytes as bytes; 64-bit ints as ints; unset singular messages as None;
    of a oneof only the set field)."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.containing_oneof is not None and not message.HasField(field.name):
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {k: _value(value_field, v) for k, v in value.items()}
        elif _is_repeated(field):
            out[field.name] = [_value(field, v) for v in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            out[field.name] = message_to_dict(value) if message.HasField(field.name) else None
        else:
            out[field.name] = _value(field, value)
    return out


def _is_repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)
    if flag is not None:
        return flag() if callable(flag) else bool(flag)
    return field.label == FieldDescriptor.LABEL_REPEATED


class ProtobufDeserializer(DeserializerBase):
    """``ProtobufDeserializer(message_type=None, conf=None, schema_registry_client=None)``.

    With ``message_type`` it behaves as confluent-kafka's (no registry needed);
    without, it needs the client and builds the message class from the writer
    schema. ``return.dict`` (False) returns :func:`message_to_dict` dicts.
    """

    _owner = "ProtobufDeserializer"
    _fmt = "serialized"
    _protobuf = True
    _DEFAULTS: ClassVar[dict[str, Any]] = {**DESERIALIZER_DEFAULTS, "use.deprecated.format": False, "return.dict": False}

    def __init__(self, message_type: type | None = None, conf: dict | None = None,
                 schema_registry_client: Any = None, rule_conf: dict | None = None,
                 rule_registry: Any = None) -> None:
        merged = self._configure(schema_registry_client, conf, self._DEFAULTS, rule_conf, rule_registry)
        if merged["use.deprecated.format"]:
            raise ValueError("ProtobufDeserializer: use.deprecated.format is no longer supported")
        if message_type is not None and not (isinstance(message_type, type) and issubclass(message_type, Message)):
            raise TypeError("ProtobufDeserializer: message_type must be a generated Protobuf message class or None")
        if message_type is None and schema_registry_client is None:
            raise ValueError("ProtobufDeserializer: without a message_type a schema_registry_client is required "
                             "(the message class is built from the writer schema)")
        self._msg_class = message_type
        self._as_dict = merged["return.dict"]
        self._classes: dict[Any, Any] = {}
        self._parsed: dict[Any, Any] = {}
        self._deps_cache: dict = {}
        self._read_rules: dict[Any, Any] = {}
        self._dynamic_reader = self._use_latest or self._latest_metadata is not None

    def _rules_for(self, ref: Any, ctx: Any) -> Any:
        """READ rules of the writer schema under the context's subject (message-level; None if none)."""
        where = (ref.key, ctx.topic, str(ctx.field))
        if where not in self._read_rules:
            rules = None
            if self._registry is not None:
                writer = self._fetch_writer(ref, ctx)
                subject = self._subject(ctx, None)
                if subject is not None:
                    rules = ReadRules.build(
                        subject, RulePlan.build(self._rule_runner, subject, writer, RuleMode.READ), [],
                        RulePlan.build(self._rule_runner, subject, writer, RuleMode.READ))
            self._read_rules[where] = rules
        return self._read_rules[where]

    def _parse(self, schema: Schema) -> Any:
        hit = self._parsed.get(schema)
        if hit is None:
            deps = resolve_dependencies(self._registry, schema, "serialized", self._deps_cache)
            hit = parse_schema("PROTOBUF", schema.schema_str or "", deps, strict=False)
            self._parsed[schema] = hit
        return hit

    def _class_for(self, ref: Any, ctx: Any) -> Any:
        """The message class for a writer schema and index path (dynamic mode)."""
        key = (ref.key, ref.indexes)
        cls = self._classes.get(key)
        if cls is not None:
            return cls
        writer = self._parse(self._fetch_writer(ref, ctx))
        name = name_for_indexes(writer.file_descriptor_proto(), ref.indexes or (0,))
        cls = writer.message_class(name)
        if self._dynamic_reader:
            latest = self._latest(ctx, name)
            if latest is not None:
                reader = self._parse(latest.schema)
                try:
                    return reader.message_class(name)
                except KeyError:
                    return reader.message_class()
        self._classes[key] = cls
        return cls

    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        if data is None:
            return None
        if (ctx is not None and ctx.headers) or len(data) < 6 or data[0] != 0 or data[5] != 0:
            ref, offset = self._frame(data, ctx)
            key = (ref.key, ref.indexes)
        else:
            ref, offset = None, 6
            key = (_ID.unpack_from(data, 1)[0], (0,))
        cls: Any = self._msg_class
        if cls is None:
            cls = self._classes.get(key)
            if cls is None:
                if ref is None:
                    ref, offset = self._frame(data, ctx)
                cls = self._class_for(ref, ctx)
        rules = None
        if ctx is not None:
            where = (key[0], ctx.topic, str(ctx.field))
            rules = self._read_rules[where] if where in self._read_rules else \
                self._rules_for(ref if ref is not None else self._frame(data, ctx)[0], ctx)
        payload = data[offset:] if offset else data
        if rules is not None and rules.encoding is not None:
            payload = rules.encoding.apply_encoding(bytes(payload), ctx, data)
        try:
            message = cls.FromString(payload)
        except DecodeError as exc:
            raise SerializationError(f"ProtobufDeserializer: cannot decode the record: {exc}") from exc
        if rules is not None and rules.domain is not None:
            message = rules.domain.apply_domain(message, ctx, data)
        return message_to_dict(message) if self._as_dict else message
