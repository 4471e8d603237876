"""The vocabulary of data-contract rules, with confluent-kafka's names.

A rule (confluent-kafka's ``Rule``, as the registry returns it) names an
executor by ``type``; executors are :class:`RuleExecutor` (whole message) or
:class:`FieldRuleExecutor` (each field carrying the rule's tags); an outcome is
handed to a :class:`RuleAction` (``NONE``, ``ERROR``, ``DLQ``). The exception
classes are confluent-kafka's own, so ``except RuleConditionError`` catches
what either library raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from confluent_kafka.schema_registry.common.serde import RuleConditionError, RuleError
from confluent_kafka.schema_registry.schema_registry_client import Rule, RuleKind, RuleMode, Schema

from .wildcard import wildcard_match

__all__ = [
    "FieldContext", "FieldRuleExecutor", "FieldTransform", "FieldTransformer", "FieldType", "RuleAction",
    "RuleBase", "RuleConditionError", "RuleContext", "RuleError", "RuleExecutor", "rule_kind", "rule_mode",
]


class FieldType(StrEnum):
    RECORD = "RECORD"
    ENUM = "ENUM"
    ARRAY = "ARRAY"
    MAP = "MAP"
    COMBINED = "COMBINED"
    FIXED = "FIXED"
    STRING = "STRING"
    BYTES = "BYTES"
    INT = "INT"
    LONG = "LONG"
    FLOAT = "FLOAT"
    DOUBLE = "DOUBLE"
    BOOLEAN = "BOOLEAN"
    NULL = "NULL"


PRIMITIVES = frozenset({FieldType.INT, FieldType.LONG, FieldType.FLOAT, FieldType.DOUBLE, FieldType.BOOLEAN,
                        FieldType.NULL, FieldType.STRING, FieldType.BYTES})


def rule_kind(rule: Rule) -> RuleKind:
    """The rule's kind; a rule stored without one is a TRANSFORM (as Confluent's Java model)."""
    return rule.kind or RuleKind.TRANSFORM


def rule_mode(rule: Rule) -> RuleMode:
    """The rule's mode; a rule stored without one is WRITEREAD (as Confluent's Java model)."""
    return rule.mode or RuleMode.WRITEREAD


class FieldContext:
    """The field a field rule is applied to: its record, names, type and tags."""

    __slots__ = ("containing_message", "field_type", "full_name", "name", "tags")

    def __init__(self, containing_message: Any, full_name: str, name: str, field_type: FieldType,
                 tags: frozenset[str]) -> None:
        self.containing_message = containing_message
        self.full_name = full_name
        self.name = name
        self.field_type = field_type
        self.tags = tags

    def is_primitive(self) -> bool:
        return self.field_type in PRIMITIVES

    def type_name(self) -> str:
        return self.field_type.name


class RuleContext:
    """One rule applied to one record: where, which rule, which schemas."""

    __slots__ = ("_fields", "client_conf", "field_transformer", "index", "inline_tags", "original_key",
                 "original_value", "rule", "rule_conf", "rule_mode", "rules", "ser_ctx", "source", "subject",
                 "tag_cache", "target")

    def __init__(self, ser_ctx: Any, source: Schema | None, target: Schema | None, subject: str,
                 mode: RuleMode, rule: Rule, index: int, rules: list[Rule],
                 inline_tags: dict[str, frozenset[str]] | None, field_transformer: FieldTransformer | None,
                 tag_cache: dict[str, frozenset[str]] | None = None, original_key: Any = None,
                 original_value: Any = None) -> None:
        self.ser_ctx = ser_ctx
        self.source = source
        self.target = target
        self.subject = subject
        self.rule_mode = mode
        self.rule = rule
        self.index = index
        self.rules = rules
        self.inline_tags = inline_tags
        self.field_transformer = field_transformer
        self.tag_cache = tag_cache if tag_cache is not None else {}
        self.original_key = original_key
        self.original_value = original_value
        self._fields: list[FieldContext] = []
        self.client_conf: dict = {}  # the serde's registry-client config (set by the runner)
        self.rule_conf: dict = {}  # the serde's rule_conf

    def get_parameter(self, name: str) -> str | None:
        """A rule parameter, else a metadata property of the target schema."""
        params = self.rule.params
        if params is not None:
            value = params.params.get(name)
            if value is not None:
                return value
        target = self.target
        if target is not None and target.metadata is not None and target.metadata.properties is not None:
            return target.metadata.properties.properties.get(name)
        return None

    def get_tags(self, full_name: str) -> frozenset[str]:
        """Tags given to ``full_name`` by the target's ``metadata.tags`` (wildcard paths)."""
        target = self.target
        if target is None or target.metadata is None or target.metadata.tags is None:
            return frozenset()
        found: set[str] = set()
        for path, tags in target.metadata.tags.tags.items():
            if wildcard_match(full_name, path):
                found.update(tags)
        return frozenset(found)

    def field_tags(self, full_name: str, inline: Iterable[str] | None = None) -> frozenset[str]:
        """Inline tags plus metadata tags of a field (cached per target schema)."""
        key = full_name if inline is None else full_name + "\x00" + ",".join(sorted(inline))
        hit = self.tag_cache.get(key)
        if hit is None:
            own = set(inline) if inline is not None else set((self.inline_tags or {}).get(full_name, ()))
            hit = frozenset(own | self.get_tags(full_name))
            self.tag_cache[key] = hit
        return hit

    def current_field(self) -> FieldContext | None:
        return self._fields[-1] if self._fields else None

    def enter_field(self, containing_message: Any, full_name: str, name: str, field_type: FieldType,
                    tags: frozenset[str]) -> FieldContext:
        field = FieldContext(containing_message, full_name, name, field_type, tags)
        self._fields.append(field)
        return field

    def exit_field(self) -> None:
        if self._fields:
            self._fields.pop()


FieldTransform = Callable[[RuleContext, FieldContext, Any], Any]
FieldTransformer = Callable[[RuleContext, FieldTransform, Any], Any]


class RuleBase:
    """An executor or action, configured once per serde with its client and ``rule_conf``."""

    def configure(self, client_conf: dict, rule_conf: dict) -> None:
        """Take the registry client's config and the serde's ``rule_conf``."""

    def type(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the executor holds (clients, producers)."""


class RuleExecutor(RuleBase):
    def transform(self, ctx: RuleContext, message: Any) -> Any:
        """The new message (TRANSFORM) or a truth value (CONDITION)."""
        raise NotImplementedError


class FieldRuleExecutor(RuleExecutor):
    """Applies :meth:`new_transform` to every field carrying the rule's tags."""

    def new_transform(self, ctx: RuleContext) -> FieldTransform:
        raise NotImplementedError

    def transform(self, ctx: RuleContext, message: Any) -> Any:
        mode = ctx.rule_mode
        if mode in (RuleMode.WRITE, RuleMode.UPGRADE):
            others = ctx.rules[:ctx.index]
        elif mode in (RuleMode.READ, RuleMode.DOWNGRADE):
            others = ctx.rules[ctx.index + 1:]
        else:
            others = []
        if any(_same_tag_transforms(ctx.rule, other) for other in others):
            return message  # an earlier (later, when reading) transform of these tags wins
        if ctx.field_transformer is None:
            raise RuleError(f"Rule {ctx.rule.name}: field rules are not supported for this format")
        return ctx.field_transformer(ctx, self.new_transform(ctx), message)


def _same_tag_transforms(a: Rule, b: Rule) -> bool:
    return (bool(a.tags) and rule_kind(a) == RuleKind.TRANSFORM and rule_kind(b) == RuleKind.TRANSFORM
            and rule_mode(a) == rule_mode(b) and a.type == b.type and a.tags == b.tags)


class RuleAction(RuleBase):
    def run(self, ctx: RuleContext, message: Any, error: Exception | None) -> None:
        raise NotImplementedError


def condition_message(rule: Rule) -> str:
    return RuleConditionError.error_message(rule)


__all__ += ["PRIMITIVES", "condition_message"]
