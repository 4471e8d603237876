"""JSON Schema serializer and deserializer, Confluent wire format.

Schemas are parsed with ``registry.formats`` (``$ref`` to references resolved
there). Each schema's validator is compiled once. ``jsonschema`` is the
reference validator; where a schema is eligible (no references, no ``format``
keyword, no remote ``$ref``) a compiled ``jsonschema_rs`` validator answers
first, and any record it rejects is re-checked by ``jsonschema``, whose verdict
and error message are the ones reported. tests/test_serde_json.py checks that
both give the same verdicts over the shared JSON corpus.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, ClassVar

import jsonschema_rs
import orjson
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.schema_registry_client import RuleMode
from confluent_kafka.serialization import SerializationError

from registry.formats import parse_schema
from registry.formats.jsonschema import JsonSchema, JsonValidationError

from ._base import (
    DESERIALIZER_DEFAULTS,
    SERIALIZER_DEFAULTS,
    DeserializerBase,
    SerializerBase,
    call_hook,
    resolve_dependencies,
)
from .context import SerializationContext
from .rules.fields import JsonFields
from .rules.plan import ReadRules, RulePlan

__all__ = ["JSONDeserializer", "JSONSerializer", "compile_validator"]

_ID = struct.Struct(">I")
_UNKNOWN: Any = object()

_RS_DRAFTS = {"4": "Draft4Validator", "6": "Draft6Validator", "7": "Draft7Validator",
              "2019-09": "Draft201909Validator", "2020-12": "Draft202012Validator"}


def _fast_eligible(value: Any) -> bool:
    """No ``format`` keyword and no ``$ref`` leaving the document."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "format" in node:
                return False
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return False
            if "$dynamicRef" in node or "$recursiveRef" in node:
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def fast_validator(schema: JsonSchema) -> Callable[[Any], bool] | None:
    """A compiled jsonschema_rs ``is_valid`` for an eligible schema, else None."""
    if schema.dependencies or not _fast_eligible(schema.value):
        return None
    try:
        cls = getattr(jsonschema_rs, _RS_DRAFTS[schema.draft])
        return cls(schema.plain_value(), validate_formats=False, offline=True).is_valid
    except Exception:
        return None


def compile_validator(schema: JsonSchema, fast: bool = True) -> Callable[[Any], None]:
    """``check(instance)``: raises SerializationError naming where and why the value is invalid."""
    reference = schema.validate
    quick = fast_validator(schema) if fast else None

    def slow(instance: Any) -> None:
        try:
            reference(instance)
        except JsonValidationError as exc:
            raise SerializationError(str(exc)) from exc

    if quick is None:
        return slow

    def check(instance: Any) -> None:
        try:
            if quick(instance):
                return
        except Exception:  # noqa: S110 - the reference validator decides and reports
            pass
        slow(instance)

    return check


def json_fields(parsed: JsonSchema, schema: Schema) -> JsonFields:
    """The field walker of a JSON schema; subschema choices (oneOf, anyOf, type lists) by jsonschema."""
    import jsonschema

    root = parsed.value
    base = jsonschema.validators.validator_for(root if isinstance(root, dict) else {},
                                              default=jsonschema.Draft7Validator)(root if isinstance(root, dict) else {})

    def is_valid(subschema: Any, instance: Any) -> bool:
        try:
            return bool(base.evolve(schema=subschema).is_valid(instance))
        except Exception:
            return False

    return JsonFields(root, schema, is_valid)


def _parse_json(client: Any, schema: Schema, cache: dict) -> JsonSchema:
    hit = cache.get(schema)
    if hit is None:
        deps = resolve_dependencies(client, schema) if schema.references else []
        parsed = parse_schema("JSON", schema.schema_str or "", deps, strict=False)
        assert isinstance(parsed, JsonSchema)
        cache[schema] = hit = parsed
    return hit


class _Writer:
    __slots__ = ("check", "schema")

    def __init__(self, schema: JsonSchema, check: Callable[[Any], None]) -> None:
        self.schema = schema
        self.check = check


class JSONSerializer(SerializerBase):
    """``JSONSerializer(schema_str, schema_registry_client, to_dict=None, conf=None, json_encode=None)``.

    ``validate`` (True) checks every record before it is written.
    """

    _owner = "JSONSerializer"
    _schema_type = "JSON"
    _DEFAULTS: ClassVar[dict[str, Any]] = {**SERIALIZER_DEFAULTS, "validate": True}

    def __init__(self, schema_str: str | Schema | None, schema_registry_client: Any,
                 to_dict: Callable[[Any, SerializationContext], dict] | None = None,
                 conf: dict | None = None, rule_conf: dict | None = None, rule_registry: Any = None,
                 json_encode: Callable[[Any], Any] | None = None) -> None:
        merged = self._configure(schema_registry_client, conf, self._DEFAULTS, rule_conf, rule_registry)
        self._validate = merged["validate"]
        if to_dict is not None and not callable(to_dict):
            raise ValueError("to_dict must be callable with the signature to_dict(object, SerializationContext)->dict")
        self._to_dict = to_dict
        self._encode = json_encode or orjson.dumps
        self._cache: dict = {}
        if isinstance(schema_str, str):
            self._schema: Schema | None = Schema(schema_str, schema_type="JSON")
        elif isinstance(schema_str, Schema) or schema_str is None:
            self._schema = schema_str
        else:
            raise TypeError("schema_str must be a str or a Schema")
        if self._schema is None and not (self._use_latest or self._latest_metadata or self._use_schema_id):
            raise ValueError("JSONSerializer: a schema is required unless use.latest.version, "
                             "use.latest.with.metadata or use.schema.id is set")
        self._name = _parse_json(schema_registry_client, self._schema, self._cache).record_name() \
            if self._schema is not None else None

    def _record_name(self) -> str | None:
        return self._name

    def _parse_writer(self, schema: Schema) -> _Writer:
        parsed = _parse_json(self._registry, schema, self._cache)
        return _Writer(parsed, compile_validator(parsed))

    def _fields(self, schema: Schema, parsed: Any) -> JsonFields:
        return json_fields(parsed.schema, schema)

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        state = self._states.get((ctx.topic, ctx.field) if ctx is not None else None)
        if state is None or state.expires is not None:
            state = self._state(ctx)
        if self._to_dict is not None:
            obj = call_hook(self._to_dict, obj, ctx, "to_dict")
        rules = state.rules
        original = obj
        if rules is not None:
            obj = rules.apply_domain(obj, ctx, original)
        if self._validate:
            state.parsed.check(obj)
        try:
            payload = self._encode(obj)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"JSONSerializer: cannot encode the record: {exc}") from exc
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if rules is not None:
            payload = rules.apply_encoding(payload, ctx, original)
        if self._id_mode == "prefix":
            return state.prefix + payload
        return self._frame(state, payload, ctx)


class JSONDeserializer(DeserializerBase):
    """``JSONDeserializer(schema_str, from_dict=None, schema_registry_client=None, conf=None, json_decode=None)``.

    ``schema_str`` None means the writer schema from the registry. ``validate``
    (True) checks every record read, against ``schema_str`` when given, else the
    writer schema.
    """

    _owner = "JSONDeserializer"
    _DEFAULTS: ClassVar[dict[str, Any]] = {**DESERIALIZER_DEFAULTS, "validate": True}

    def __init__(self, schema_str: str | Schema | None, from_dict: Callable | None = None,
                 schema_registry_client: Any = None, conf: dict | None = None, rule_conf: dict | None = None,
                 rule_registry: Any = None, json_decode: Callable[[Any], Any] | None = None) -> None:
        merged = self._configure(schema_registry_client, conf, self._DEFAULTS, rule_conf, rule_registry)
        self._validate = merged["validate"]
        if from_dict is not None and not callable(from_dict):
            raise ValueError("from_dict must be callable with the signature from_dict(dict, SerializationContext)")
        self._from_dict = from_dict
        self._decode = json_decode or orjson.loads
        self._cache: dict = {}
        if isinstance(schema_str, str):
            schema_str = Schema(schema_str, schema_type="JSON")
        elif schema_str is not None and not isinstance(schema_str, Schema):
            raise TypeError("schema_str must be a str, a Schema or None")
        if schema_str is None and schema_registry_client is None:
            raise ValueError("JSONDeserializer: without schema_str a schema_registry_client is required")
        self._reader: Callable[[Any], None] | None = None
        self._reader_schema: Schema | None = schema_str
        self._read_rules: dict[Any, ReadRules | None] = {}
        if schema_str is not None:
            self._reader = compile_validator(_parse_json(schema_registry_client, schema_str, self._cache))
        self._checks: dict[Any, Callable[[Any], None]] = {}
        self._dynamic_reader = self._use_latest or self._latest_metadata is not None

    def _check_for(self, ref: Any, ctx: Any) -> Callable[[Any], None]:
        check = self._checks.get(ref.key)
        if check is None:
            writer = _parse_json(self._registry, self._fetch_writer(ref, ctx), self._cache)
            latest = self._latest(ctx, writer.record_name())
            if latest is not None:
                return compile_validator(_parse_json(self._registry, latest.schema, self._cache))
            check = compile_validator(writer)
            self._checks[ref.key] = check
        return check

    def _rules_for(self, ref: Any, ctx: Any) -> ReadRules | None:
        """Encoding rules, migrations and READ rules for a writer schema under the context's subject."""
        if ctx is None or self._registry is None:
            return None
        where = (ref.key, ctx.topic, str(ctx.field))
        if where in self._read_rules and not self._dynamic_reader:
            return self._read_rules[where]
        writer_schema = self._fetch_writer(ref, ctx)
        writer = _parse_json(self._registry, writer_schema, self._cache)
        subject = self._subject(ctx, writer.record_name())
        rules = None
        if subject is not None:
            latest = self._latest(ctx, writer.record_name())
            target = latest.schema if latest is not None else (self._reader_schema or writer_schema)
            migrations = self._migrations(subject, writer_schema, latest) if latest is not None else []
            parsed_target = _parse_json(self._registry, target, self._cache)
            rules = ReadRules.build(
                subject, RulePlan.build(self._rule_runner, subject, writer_schema, RuleMode.READ), migrations,
                RulePlan.build(self._rule_runner, subject, target, RuleMode.READ,
                               lambda: json_fields(parsed_target, target)))
        self._read_rules[where] = rules
        return rules

    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        if data is None:
            return None
        if (ctx is not None and ctx.headers) or len(data) < 5 or data[0] != 0:
            ref, offset = self._frame(data, ctx)
        else:
            ref, offset = None, 5
        rules = None
        if ctx is not None:
            where = (ref.key if ref is not None else _ID.unpack_from(data, 1)[0], ctx.topic, str(ctx.field))
            rules = self._read_rules.get(where, _UNKNOWN)
            if rules is _UNKNOWN or self._dynamic_reader:
                if ref is None:
                    ref, _ = self._frame(data, ctx)
                rules = self._rules_for(ref, ctx)
        payload = data[offset:] if offset else data
        if rules is not None and rules.encoding is not None:
            payload = rules.encoding.apply_encoding(bytes(payload), ctx, data)
        try:
            value = self._decode(payload)
        except (ValueError, TypeError) as exc:
            raise SerializationError(f"JSONDeserializer: the payload is not valid JSON: {exc}") from exc
        if rules is not None:
            if rules.migrations:
                value = self._rule_runner.migrate(ctx, rules.subject, rules.migrations, value)
            if rules.domain is not None:
                value = rules.domain.apply_domain(value, ctx, data)
        if self._validate:
            check = self._reader
            if check is None or self._dynamic_reader:
                if ref is None:
                    check = self._checks.get(_ID.unpack_from(data, 1)[0])
                    if check is None:
                        ref, _ = self._frame(data, ctx)
                if ref is not None:
                    check = self._check_for(ref, ctx)
            assert check is not None  # a framed record always resolves to a schema
            check(value)
        if self._from_dict is not None:
            value = call_hook(self._from_dict, value, ctx, "from_dict")
        return value
