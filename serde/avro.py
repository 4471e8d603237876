"""Avro serializer and deserializer, Confluent wire format.

Each schema is parsed once with fastavro (references resolved as named types);
the per-record path is a dict lookup, fastavro's schemaless writer/reader and
the 5-byte frame. A top-level ``"bytes"`` schema is written raw (no length), as
Java and confluent-kafka ≥ 2.13 do.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from typing import Any, ClassVar

from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.schema_registry_client import RuleMode
from confluent_kafka.serialization import SerializationError
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from ._base import DESERIALIZER_DEFAULTS, SERIALIZER_DEFAULTS, DeserializerBase, SerializerBase, call_hook
from .context import SerializationContext
from .rules.fields import AvroFields
from .rules.plan import ReadRules, RulePlan

__all__ = ["AvroDeserializer", "AvroSerializer"]

_ID = struct.Struct(">I")


def _probe_write_data() -> Callable[..., None] | None:
    """fastavro's compiled ``write_data(bytearray, datum, schema, named, fname, options)``.

    ``schemaless_writer`` is exactly ``parse_schema`` + this call; calling it directly
    with a schema parsed once skips the per-record re-parse and lets the 5-byte
    header share the output buffer. Used only when it is there and gives the same
    bytes as ``schemaless_writer`` on a probe record; otherwise the public API is used.
    """
    try:
        from fastavro._write import write_data  # type: ignore[attr-defined]  # the compiled writer
    except ImportError:  # pragma: no cover - pure-Python fastavro
        return None
    try:
        named: dict = {}
        schema = parse_schema({"type": "record", "name": "Probe", "fields": [
            {"name": "a", "type": "long"}, {"name": "b", "type": ["null", "string"]}]}, named)
        record = {"a": -3, "b": "x"}
        out = bytearray(b"\x00")
        write_data(out, record, schema, named, "", {"strict": False, "strict_allow_default": False,
                                                     "disable_tuple_notation": False})
        ref = io.BytesIO()
        ref.write(b"\x00")
        schemaless_writer(ref, schema, record)
        return write_data if bytes(out) == ref.getvalue() else None
    except Exception:  # pragma: no cover - internal API changed
        return None


_write_data = _probe_write_data()
_OPTIONS = {"strict": False, "strict_allow_default": False, "disable_tuple_notation": False}


def _schema_loads(schema_str: str) -> Schema:
    """confluent-kafka's rule: strip, and wrap a bare primitive as ``{"type": ...}``."""
    schema_str = schema_str.strip()
    if not schema_str:
        raise ValueError("Empty Avro schema")
    if schema_str[0] not in "{[":
        schema_str = '{"type":' + schema_str + "}"
    return Schema(schema_str, schema_type="AVRO")


class _Parsed:
    """A fastavro-parsed schema, its record name and whether it is a top-level bytes."""

    __slots__ = ("is_bytes", "name", "named", "schema")

    def __init__(self, schema: Any, name: str | None, named: dict | None = None) -> None:
        self.schema = schema
        self.name = name
        self.named = named if named is not None else {}
        self.is_bytes = schema == "bytes" or (isinstance(schema, dict) and schema.get("type") == "bytes")


def _named_refs(client: Any, schema: Schema, named: dict, seen: set) -> None:
    """Parse every referenced schema (depth first) into fastavro's named-schema dict."""
    for ref in schema.references or []:
        key = (ref.subject, ref.version)
        if key in seen:
            continue
        seen.add(key)
        if client is None:
            raise SerializationError("A schema with references needs a SchemaRegistryClient")
        registered = client.get_version(ref.subject, ref.version, True)
        _named_refs(client, registered.schema, named, seen)
        parse_schema(json.loads(registered.schema.schema_str), named_schemas=named)


def parse_avro(client: Any, schema: Schema, cache: dict) -> _Parsed:
    """Parse ``schema`` with its references, once per Schema (cached in ``cache``)."""
    hit = cache.get(schema)
    if hit is not None:
        return hit
    named: dict = {}
    _named_refs(client, schema, named, set())
    raw = json.loads(_schema_loads(schema.schema_str or "").schema_str or "")
    parsed = parse_schema(raw, named_schemas=named)
    if isinstance(parsed, dict):
        name = parsed.get("name", raw.get("type") if isinstance(raw, dict) else None)
    else:
        name = None
    result = _Parsed(parsed, name, named)
    cache[schema] = result
    return result


class AvroSerializer(SerializerBase):
    """``AvroSerializer(schema_registry_client, schema_str, to_dict=None, conf=None)``, as confluent-kafka.

    Config keys: ``auto.register.schemas``, ``normalize.schemas``, ``use.schema.id``,
    ``use.latest.version``, ``use.latest.with.metadata``, ``subject.name.strategy``,
    ``subject.name.strategy.type``, ``subject.name.strategy.conf``, ``schema.id.serializer``,
    ``validate.strict``, ``validate.strict.allow.default``.
    """

    _owner = "AvroSerializer"
    _schema_type = "AVRO"
    _DEFAULTS: ClassVar[dict[str, Any]] = {**SERIALIZER_DEFAULTS, "validate.strict": False, "validate.strict.allow.default": False}

    def __init__(self, schema_registry_client: Any, schema_str: str | Schema | None = None,
                 to_dict: Callable[[Any, SerializationContext], dict] | None = None,
                 conf: dict | None = None, rule_conf: dict | None = None, rule_registry: Any = None) -> None:
        merged = self._configure(schema_registry_client, conf, self._DEFAULTS, rule_conf, rule_registry)
        self._strict = merged["validate.strict"]
        self._strict_default = merged["validate.strict.allow.default"]
        if to_dict is not None and not callable(to_dict):
            raise ValueError("to_dict must be callable with the signature to_dict(object, SerializationContext)->dict")
        self._to_dict = to_dict
        self._parsed_cache: dict = {}
        self._fast_value: dict[str, tuple] = {}
        self._fast_key: dict[str, tuple] = {}
        if isinstance(schema_str, str):
            self._schema: Schema | None = _schema_loads(schema_str)
        elif isinstance(schema_str, Schema):
            self._schema = schema_str
        elif schema_str is None:
            self._schema = None
        else:
            raise TypeError("schema_str must be a str or a Schema")
        if self._schema is None and not (self._use_latest or self._latest_metadata or self._use_schema_id):
            raise ValueError("AvroSerializer: a schema is required unless use.latest.version, "
                             "use.latest.with.metadata or use.schema.id is set")
        self._name = parse_avro(schema_registry_client, self._schema, self._parsed_cache).name \
            if self._schema is not None else None

    def _record_name(self) -> str | None:
        return self._name

    def _parse_writer(self, schema: Schema) -> _Parsed:
        return parse_avro(self._registry, schema, self._parsed_cache)

    def _fields(self, schema: Schema, parsed: Any) -> AvroFields:
        return AvroFields(parsed.schema, parsed.named, schema)

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        # Fast path: V0 prefix, no to_dict, no expiring "latest" schema; cached per topic.
        if ctx is not None:
            fast = (self._fast_value if ctx.field == "value" else self._fast_key).get(ctx.topic)
            if fast is not None:
                prefix, schema, named = fast
                try:
                    if _write_data is not None:
                        out = bytearray(prefix)
                        _write_data(out, obj, schema, named, "", _OPTIONS)
                        return bytes(out)
                    buf = io.BytesIO()
                    buf.write(prefix)
                    schemaless_writer(buf, schema, obj)
                    return buf.getvalue()
                except (TypeError, ValueError, KeyError, AttributeError) as exc:
                    raise SerializationError(f"AvroSerializer: record does not match the schema: {exc}") from exc
        return self._serialize(obj, ctx)

    def _serialize(self, obj: Any, ctx: SerializationContext | None) -> bytes:
        state = self._state(ctx)
        if state.rules is not None:
            return self._serialize_with_rules(obj, ctx, state)
        fast = (self._id_mode == "prefix" and self._to_dict is None and state.expires is None
                and not self._strict and not self._strict_default and not state.parsed.is_bytes)
        if fast and ctx is not None and isinstance(ctx.topic, str):
            (self._fast_value if ctx.field == "value" else self._fast_key)[ctx.topic] = \
                (state.prefix, state.parsed.schema, state.parsed.named)
        if self._to_dict is not None:
            obj = call_hook(self._to_dict, obj, ctx, "to_dict")
        parsed = state.parsed
        try:
            if parsed.is_bytes:
                payload = obj if isinstance(obj, (bytes, bytearray)) else obj.encode()
                if self._id_mode == "prefix":
                    return state.prefix + payload
                return self._frame(state, bytes(payload), ctx)
            buf = io.BytesIO()
            if self._id_mode == "prefix":
                buf.write(state.prefix)
                schemaless_writer(buf, parsed.schema, obj, strict=self._strict,
                                  strict_allow_default=self._strict_default)
                return buf.getvalue()
            schemaless_writer(buf, parsed.schema, obj, strict=self._strict, strict_allow_default=self._strict_default)
        except SerializationError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise SerializationError(f"AvroSerializer: record does not match the schema: {exc}") from exc
        return self._frame(state, buf.getvalue(), ctx)

    def _serialize_with_rules(self, obj: Any, ctx: SerializationContext | None, state: Any) -> bytes:
        """to_dict, the WRITE domain rules, the Avro encoding, then the WRITE encoding rules."""
        rules: RulePlan = state.rules
        if self._to_dict is not None:
            obj = call_hook(self._to_dict, obj, ctx, "to_dict")
        original = obj
        obj = rules.apply_domain(obj, ctx, original)
        parsed = state.parsed
        try:
            if parsed.is_bytes:
                payload = bytes(obj if isinstance(obj, (bytes, bytearray)) else obj.encode())
            elif _write_data is not None and not (self._strict or self._strict_default):
                out = bytearray()
                _write_data(out, obj, parsed.schema, parsed.named, "", _OPTIONS)
                payload = bytes(out)
            else:
                buf = io.BytesIO()
                schemaless_writer(buf, parsed.schema, obj, strict=self._strict,
                                  strict_allow_default=self._strict_default)
                payload = buf.getvalue()
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise SerializationError(f"AvroSerializer: record does not match the schema: {exc}") from exc
        payload = rules.apply_encoding(payload, ctx, original)
        if self._id_mode == "prefix":
            return state.prefix + payload
        return self._frame(state, payload, ctx)


class AvroDeserializer(DeserializerBase):
    """``AvroDeserializer(schema_registry_client, schema_str=None, from_dict=None, return_record_name=False,
    conf=None)``: ``schema_str`` is the reader schema (evolution), default the writer's."""

    _owner = "AvroDeserializer"

    def __init__(self, schema_registry_client: Any, schema_str: str | Schema | None = None,
                 from_dict: Callable[[dict, SerializationContext], Any] | None = None,
                 return_record_name: bool = False, conf: dict | None = None,
                 rule_conf: dict | None = None, rule_registry: Any = None) -> None:
        self._configure(schema_registry_client, conf, DESERIALIZER_DEFAULTS, rule_conf, rule_registry)
        if from_dict is not None and not callable(from_dict):
            raise ValueError("from_dict must be callable with the signature from_dict(dict, SerializationContext)")
        if not isinstance(return_record_name, bool):
            raise ValueError("return_record_name must be a boolean value")
        self._from_dict = from_dict
        self._return_record_name = return_record_name
        self._parsed_cache: dict = {}
        if isinstance(schema_str, str):
            schema_str = _schema_loads(schema_str)
        elif schema_str is not None and not isinstance(schema_str, Schema):
            raise TypeError("You must pass either schema string or schema object")
        self._reader = parse_avro(schema_registry_client, schema_str, self._parsed_cache) if schema_str else None
        self._reader_schema: Schema | None = schema_str
        self._entries: dict[Any, tuple] = {}
        self._latest_entries: dict[Any, tuple] = {}
        self._rule_entries: dict[Any, tuple] = {}
        self._dynamic_reader = self._use_latest or self._latest_metadata is not None

    def _entry(self, ref: Any, ctx: Any) -> tuple:
        writer_schema = self._fetch_writer(ref, ctx)
        writer = parse_avro(self._registry, writer_schema, self._parsed_cache)
        reader = self._reader
        target = self._reader_schema if reader is not None else writer_schema
        latest = self._latest(ctx, writer.name)
        where = (ref.key, ctx.topic, str(ctx.field)) if ctx is not None else (ref.key, None, None)
        if latest is not None:
            hit = self._latest_entries.get((*where, latest.schema_id, latest.version))
            if hit is not None:
                return hit
            reader = parse_avro(self._registry, latest.schema, self._parsed_cache)
            target = latest.schema
        reader_schema = None if reader is None or reader.schema == writer.schema else reader.schema
        rules = self._read_rules(ctx, writer, writer_schema, reader or writer, target, latest)
        entry = (writer.schema, reader_schema, writer.is_bytes, rules)
        if latest is not None:
            self._latest_entries[(*where, latest.schema_id, latest.version)] = entry
        elif writer_schema.rule_set is None:
            self._entries[ref.key] = entry  # no rules whatever the topic: the fast path
        else:
            self._rule_entries[where] = entry  # rules run under the topic's subject
        return entry

    def _read_rules(self, ctx: Any, writer: _Parsed, writer_schema: Schema, reader: _Parsed, target: Any,
                    latest: Any) -> ReadRules | None:
        subject = self._subject(ctx, writer.name)
        if subject is None:
            return None
        migrations = self._migrations(subject, writer_schema, latest) if latest is not None else []
        encoding = RulePlan.build(self._rule_runner, subject, writer_schema, RuleMode.READ)
        domain = RulePlan.build(self._rule_runner, subject, target, RuleMode.READ,
                                lambda: AvroFields(reader.schema, reader.named, target))
        return ReadRules.build(subject, encoding, migrations, domain)

    def _decode_with_rules(self, data: bytes, offset: int, writer: Any, reader: Any, is_bytes: bool,
                           rules: ReadRules, ctx: Any) -> Any:
        """Encoding rules on the payload, then the record (migrated when needed), then READ rules."""
        payload = bytes(data[offset:])
        if rules.encoding is not None:
            payload = rules.encoding.apply_encoding(payload, ctx, data)
        try:
            if is_bytes:
                value: Any = payload
            else:
                value = schemaless_reader(io.BytesIO(payload), writer, None if rules.migrations else reader,
                                          self._return_record_name)
        except (EOFError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError) as exc:
            raise SerializationError(f"AvroDeserializer: cannot decode the record: {exc!r}") from exc
        if rules.migrations:
            value = self._rule_runner.migrate(ctx, rules.subject, rules.migrations, value)
        if rules.domain is not None:
            value = rules.domain.apply_domain(value, ctx, data)
        return value

    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        if data is None:
            return None
        if (ctx is not None and ctx.headers) or not data or data[0] != 0 or len(data) < 5:
            ref, offset = self._frame(data, ctx)
            key = ref.key
        else:
            ref, offset = None, 5
            key = _ID.unpack_from(data, 1)[0]
        entry = self._entries.get(key)
        if entry is None:
            if ref is None:
                ref, offset = self._frame(data, ctx)
            entry = self._rule_entries.get((key, ctx.topic, str(ctx.field)) if ctx is not None else (key, None, None))
            if entry is None:
                entry = self._entry(ref, ctx)
        writer, reader, is_bytes, rules = entry
        value: Any
        if rules is not None:
            value = self._decode_with_rules(data, offset, writer, reader, is_bytes, rules, ctx)
        elif is_bytes:
            value = bytes(data[offset:])
        else:
            buf = io.BytesIO(data)
            buf.seek(offset)
            try:
                value = schemaless_reader(buf, writer, reader, self._return_record_name)
            except (EOFError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError) as exc:
                raise SerializationError(f"AvroDeserializer: cannot decode the record: {exc!r}") from exc
        if self._from_dict is not None:
            value = call_hook(self._from_dict, value, ctx, "from_dict")
        return value
