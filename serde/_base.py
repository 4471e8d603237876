"""What the serializers and deserializers of every format share: configuration,
subject resolution, the writer-schema state per topic/field, and resolving
schema references through the registry."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.schema_registry_client import RuleMode
from confluent_kafka.serialization import SerializationError

from registry.formats import DEFAULT_SCHEMA_TYPE, Dependency, parse_schema

from . import config as _config
from . import wire
from .rules.execution import RulePhase, RuleRunner
from .rules.plan import RulePlan
from .strategies import resolve_strategy

SERIALIZER_DEFAULTS: dict[str, Any] = {
    "auto.register.schemas": True,
    "normalize.schemas": False,
    "use.schema.id": None,
    "use.latest.version": False,
    "use.latest.with.metadata": None,
    "subject.name.strategy.type": None,
    "subject.name.strategy.conf": None,
    "subject.name.strategy": None,
    "schema.id.serializer": wire.prefix_schema_id_serializer,
    "validation.rules.execution": None,
    "validation.rules.fail.fast": False,
    "validation.rules.executor": None,
}

DESERIALIZER_DEFAULTS: dict[str, Any] = {
    "use.latest.version": False,
    "use.latest.with.metadata": None,
    "subject.name.strategy.type": None,
    "subject.name.strategy.conf": None,
    "subject.name.strategy": None,
    "schema.id.deserializer": wire.dual_schema_id_deserializer,
}


class WriterState:
    """The schema a serializer writes with for one topic/field."""

    __slots__ = ("expires", "guid", "header", "parsed", "prefix", "rules", "schema", "schema_id")

    def __init__(self, schema_id: int, guid: str | None, schema: Schema, prefix: bytes,
                 header: bytes | None, parsed: Any, expires: float | None, rules: RulePlan | None = None) -> None:
        self.schema_id = schema_id
        self.guid = guid
        self.schema = schema
        self.prefix = prefix
        self.header = header
        self.parsed = parsed
        self.expires = expires
        self.rules = rules  # WRITE rules of a schema taken from the registry, None when it has none


def rule_runner(client: Any, rule_conf: dict | None, rule_registry: Any) -> RuleRunner:
    """The serde's rule runner (its registry client's config reaches the DEK Registry client)."""
    config = getattr(client, "config", None)
    client_conf = config() if callable(config) else {}
    return RuleRunner(rule_registry, client_conf if isinstance(client_conf, dict) else {}, rule_conf)


class SerializerBase:
    """Configuration and registration logic of the three serializers."""

    _owner = "Serializer"
    _schema_type = "AVRO"
    _fmt: str | None = None
    _schema: Schema | None = None

    def _configure(self, client: Any, conf: dict | None, defaults: dict[str, Any], rule_conf: dict | None = None,
                   rule_registry: Any = None) -> dict[str, Any]:
        merged = _config.take(self._owner, defaults, conf, booleans=tuple(
            k for k in ("auto.register.schemas", "normalize.schemas", "use.latest.version", "validate",
                        "skip.known.types", "use.deprecated.format", "validate.strict",
                        "validate.strict.allow.default") if k in defaults))
        _config.check_rules_disabled(self._owner, merged)
        self._registry = client
        self._auto_register = merged["auto.register.schemas"]
        self._normalize = merged["normalize.schemas"]
        self._use_schema_id = merged["use.schema.id"]
        if self._use_schema_id is not None and (isinstance(self._use_schema_id, bool)
                                                or not isinstance(self._use_schema_id, int)):
            raise ValueError(f"{self._owner}: use.schema.id must be an int value")
        self._use_latest = merged["use.latest.version"]
        self._latest_metadata = merged["use.latest.with.metadata"]
        if self._latest_metadata is not None and not isinstance(self._latest_metadata, dict):
            raise ValueError(f"{self._owner}: use.latest.with.metadata must be a dict value")
        if self._use_latest and self._auto_register:
            raise ValueError(f"{self._owner}: cannot enable both use.latest.version and auto.register.schemas")
        self._strategy, _ = resolve_strategy(self._owner, merged)
        self._id_mode = wire.id_serializer_mode(self._owner, merged["schema.id.serializer"])
        self._id_serializer = merged["schema.id.serializer"]
        self._states: dict[Any, WriterState] = {}
        self._lock = threading.Lock()
        self._latest_ttl = getattr(client, "latest_ttl", None) if (self._use_latest or self._latest_metadata) \
            else None
        self._rule_runner = rule_runner(client, rule_conf, rule_registry)
        return merged

    # subclass hooks
    def _parse_writer(self, schema: Schema) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _message_indexes(self) -> list[int] | None:
        return None

    def _fields(self, schema: Schema, parsed: Any) -> Any:
        """The field walker of a writer schema, for field rules (None: the format has none)."""
        return None

    def _record_name(self) -> str | None:
        return None

    def _schema_to_register(self, ctx: Any) -> Schema:
        if self._schema is None:
            raise SerializationError(f"{self._owner}: no schema to register (give schema_str or use.latest.version)")
        return self._schema

    def _state(self, ctx: Any) -> WriterState:
        """The writer state for ``ctx``'s topic and field, resolving it on first use."""
        key = (ctx.topic, ctx.field) if ctx is not None else None
        state = self._states.get(key)
        if state is not None and (state.expires is None or time.monotonic() < state.expires):
            return state
        with self._lock:
            state = self._states.get(key)
            if state is not None and (state.expires is None or time.monotonic() < state.expires):
                return state
            state = self._resolve(ctx)
            self._states[key] = state
            return state

    def _resolve(self, ctx: Any) -> WriterState:
        subject = self._strategy(ctx, self._record_name())
        if subject is None:
            raise SerializationError(f"{self._owner}: no subject name (a SerializationContext is required "
                                     f"with the configured subject name strategy)")
        client = self._registry
        expires = None
        from_registry = True
        if self._use_schema_id is not None:
            schema = client.get_schema(self._use_schema_id, subject, fmt=self._fmt)
            registered = client.lookup_schema(subject, schema, normalize_schemas=False, fmt=self._fmt, deleted=True)
            schema_id, guid = self._use_schema_id, registered.guid
        elif self._latest_metadata is not None:
            registered = client.get_latest_with_metadata(subject, self._latest_metadata, fmt=self._fmt)
            schema, schema_id, guid = registered.schema, registered.schema_id, registered.guid
            expires = time.monotonic() + self._latest_ttl if self._latest_ttl else None
        elif self._use_latest:
            registered = client.get_latest_version(subject, fmt=self._fmt)
            schema, schema_id, guid = registered.schema, registered.schema_id, registered.guid
            expires = time.monotonic() + self._latest_ttl if self._latest_ttl else None
        else:
            from_registry = False
            schema = self._schema_to_register(ctx)
            if self._auto_register:
                registered = client.register_schema_full_response(subject, schema, normalize_schemas=self._normalize)
            else:
                registered = client.lookup_schema(subject, schema, normalize_schemas=self._normalize)
            schema_id, guid = registered.schema_id, registered.guid
        parsed = self._parse_writer(schema)
        # As confluent-kafka: WRITE rules run only for a schema taken from the registry.
        rules = RulePlan.build(self._rule_runner, subject, schema, RuleMode.WRITE,
                               lambda: self._fields(schema, parsed)) if from_registry else None
        indexes = self._message_indexes()
        tail = wire.encode_indexes(indexes) if indexes is not None else b""
        header = None
        if self._id_mode == "header":
            if not guid:
                raise SerializationError(f"{self._owner}: Schema GUID is not set (the registry did not return one)")
            prefix = b""
            header = wire.guid_prefix(guid) + tail
        else:
            prefix = wire.id_prefix(schema_id) + tail
        return WriterState(schema_id, guid, schema, prefix, header, parsed, expires, rules)

    def _frame(self, state: WriterState, payload: bytes, ctx: Any) -> bytes:
        """Frame a payload for the header and custom id modes (the prefix mode is inlined)."""
        if self._id_mode == "header":
            assert state.header is not None  # header mode states are built with their header
            wire.add_header(ctx, state.header)
            return payload
        schema_id = wire.confluent_schema_id(self._schema_type, state.schema_id, state.guid,
                                             self._message_indexes())
        return self._id_serializer(payload, ctx, schema_id)


class DeserializerBase:
    """Configuration, subject resolution and writer/reader schema lookup."""

    _owner = "Deserializer"
    _fmt: str | None = None
    _protobuf = False

    def _configure(self, client: Any, conf: dict | None, defaults: dict[str, Any], rule_conf: dict | None = None,
                   rule_registry: Any = None) -> dict[str, Any]:
        merged = _config.take(self._owner, defaults, conf, booleans=tuple(
            k for k in ("use.latest.version", "validate", "use.deprecated.format", "return.dict") if k in defaults))
        self._registry = client
        self._use_latest = merged["use.latest.version"]
        self._latest_metadata = merged["use.latest.with.metadata"]
        if self._latest_metadata is not None and not isinstance(self._latest_metadata, dict):
            raise ValueError(f"{self._owner}: use.latest.with.metadata must be a dict value")
        self._strategy, self._needs_record_name = resolve_strategy(self._owner, merged)
        self._id_mode = wire.id_deserializer_mode(self._owner, merged["schema.id.deserializer"])
        self._lock = threading.Lock()
        self._rule_runner = rule_runner(client, rule_conf, rule_registry)
        return merged

    def _subject(self, ctx: Any, record_name: str | None) -> str | None:
        """The subject rules run under (None without a context: no rules run)."""
        if ctx is None:
            return None
        try:
            return self._strategy(ctx, record_name)
        except Exception:
            return None

    def _migrations(self, subject: str, writer: Schema, latest: Any) -> list[tuple[RuleMode, Schema, Schema]]:
        """UPGRADE/DOWNGRADE steps from the writer's version to the latest (confluent-kafka's order)."""
        source = self._registry.lookup_schema(subject, writer, normalize_schemas=False, deleted=True)
        if source.version is None or latest.version is None or source.version == latest.version:
            return []
        mode = RuleMode.UPGRADE if source.version < latest.version else RuleMode.DOWNGRADE
        first, last = (source, latest) if mode == RuleMode.UPGRADE else (latest, source)
        versions = [first] + [self._registry.get_version(subject, v, True)
                              for v in range(first.version + 1, last.version)] + [last]
        steps: list[tuple[RuleMode, Schema, Schema]] = []
        for previous, current in itertools.pairwise(versions):
            if RuleRunner.has_rules(current.schema, RulePhase.MIGRATION, mode):
                if mode == RuleMode.UPGRADE:
                    steps.append((mode, previous.schema, current.schema))
                else:
                    steps.append((mode, current.schema, previous.schema))
        if mode == RuleMode.DOWNGRADE:
            steps.reverse()
        return steps

    def _frame(self, data: bytes, ctx: Any) -> tuple[wire.SchemaRef, int]:
        if self._id_mode == "dual" and ctx is not None and ctx.headers:
            header = wire.find_header(ctx)
            if header is not None:
                return wire.read_ref(header, 0, self._protobuf)[0], 0
        return wire.read_ref(data, 0, self._protobuf)

    def _fetch_writer(self, ref: wire.SchemaRef, ctx: Any) -> Schema:
        subject = None if self._needs_record_name else self._strategy(ctx, None)
        if ref.id is not None:
            return self._registry.get_schema(ref.id, subject, fmt=self._fmt)
        return self._registry.get_schema_by_guid(ref.guid, fmt=self._fmt)

    def _latest(self, ctx: Any, record_name: str | None) -> Any | None:
        """The latest registered schema for the subject (reader schema), when configured."""
        if not (self._use_latest or self._latest_metadata is not None):
            return None
        subject = self._strategy(ctx, record_name)
        if subject is None:
            return None
        if self._latest_metadata is not None:
            return self._registry.get_latest_with_metadata(subject, self._latest_metadata, fmt=self._fmt)
        return self._registry.get_latest_version(subject, fmt=self._fmt)


def resolve_dependencies(client: Any, schema: Schema, fmt: str | None = None,
                         _cache: dict | None = None) -> list[Dependency]:
    """The schema's references, fetched and parsed with ``registry.formats`` (recursively)."""
    cache = _cache if _cache is not None else {}
    out = []
    for ref in schema.references or []:
        if ref.subject is None or ref.version is None or ref.name is None:
            raise SerializationError(f"Invalid schema reference {ref!r}")
        key = (ref.subject, ref.version)
        if key not in cache:
            registered = client.get_version(ref.subject, ref.version, True, fmt)
            deps = resolve_dependencies(client, registered.schema, fmt, cache)
            cache[key] = parse_schema(registered.schema.schema_type or DEFAULT_SCHEMA_TYPE, registered.schema.schema_str,
                                      deps, strict=False)
        out.append(Dependency(ref.name, cache[key], ref.subject, ref.version))
    return out


def call_hook(hook: Callable[[Any, Any], Any] | None, value: Any, ctx: Any, what: str) -> Any:
    if hook is None:
        return value
    if ctx is None:
        raise TypeError(f"SerializationContext cannot be None when {what} is set")
    return hook(value, ctx)
