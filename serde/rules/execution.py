"""Running a schema's rules on one record, with confluent-kafka's semantics.

- Which rules: UPGRADE runs the target's migration rules, DOWNGRADE the
  source's in reverse; WRITE and READ run the target's domain (or encoding)
  rules, READ in reverse. A rule runs when its mode is the one asked for,
  WRITEREAD for WRITE/READ, UPDOWN for UPGRADE/DOWNGRADE; not when
  ``disabled`` (or overridden so), when the rule set's ``enableAt`` is neither
  ``ALL`` nor ``CLIENT``, or when the record came back from a DLQ for this
  rule (header ``__rule.name``).
- A CONDITION that is false raises :class:`RuleConditionError`; a TRANSFORM
  replaces the record. Then the ``onSuccess`` action runs (default NONE), or,
  on any error, the ``onFailure`` action (default ERROR, which raises
  ``SerializationError`` chained to the cause). A WRITEREAD/UPDOWN rule's
  ``"A,B"`` actions are A when writing/upgrading and B when reading/downgrading.

A serde asks :meth:`RuleRunner.has_rules` once per schema and skips all of
this for schemas whose rule set has nothing for the mode: a rule-free record
pays nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from confluent_kafka.schema_registry.schema_registry_client import Rule, RuleKind, RuleMode, RuleSet, Schema
from confluent_kafka.serialization import SerializationError

from .core import FieldTransformer, RuleAction, RuleConditionError, RuleContext, RuleError, rule_kind, rule_mode
from .registry import RuleRegistry

log = logging.getLogger("schemahub.serde.rules")

__all__ = ["RulePhase", "RuleRunner"]

DLQ_RULE_NAME_HEADER = "__rule.name"


class RulePhase(StrEnum):
    MIGRATION = "MIGRATION"
    DOMAIN = "DOMAIN"
    ENCODING = "ENCODING"


def _phase_rules(rule_set: RuleSet | None, phase: RulePhase) -> list[Rule]:
    if rule_set is None:
        return []
    if phase == RulePhase.MIGRATION:
        return rule_set.migration_rules or []
    if phase == RulePhase.ENCODING:
        return rule_set.encoding_rules or []
    return rule_set.domain_rules or []


def _applies(rule: Rule, mode: RuleMode) -> bool:
    own = rule_mode(rule)
    if own == RuleMode.WRITEREAD:
        return mode in (RuleMode.WRITE, RuleMode.READ)
    if own == RuleMode.UPDOWN:
        return mode in (RuleMode.UPGRADE, RuleMode.DOWNGRADE)
    return own == mode


class _ErrorAction(RuleAction):
    def type(self) -> str:
        return "ERROR"

    def run(self, ctx: RuleContext, message: Any, error: Exception | None) -> None:
        if error is None:
            raise SerializationError(f"Rule failed: {ctx.rule.name}")
        raise SerializationError(str(error) or f"Rule failed: {ctx.rule.name}") from error


class _NoneAction(RuleAction):
    def type(self) -> str:
        return "NONE"

    def run(self, ctx: RuleContext, message: Any, error: Exception | None) -> None:
        return None


_ERROR = _ErrorAction()
_NONE = _NoneAction()


class RuleRunner:
    """Runs rules for one serde: its rule registry, registry-client config and ``rule_conf``."""

    def __init__(self, registry: RuleRegistry | None, client_conf: dict | None, rule_conf: dict | None) -> None:
        self.registry = registry if registry is not None else RuleRegistry.get_global_instance()
        if rule_conf is not None and not isinstance(rule_conf, dict):
            raise ValueError("rule_conf must be a dict")
        self.client_conf = dict(client_conf or {})
        self.rule_conf = dict(rule_conf or {})
        self.registry.configure(self.client_conf, self.rule_conf)

    @staticmethod
    def has_rules(schema: Schema | None, phase: RulePhase, mode: RuleMode) -> bool:
        """Whether ``schema`` has any rule the mode could run (checked once per schema)."""
        if schema is None:
            return False
        return any(_applies(rule, mode) for rule in _phase_rules(schema.rule_set, phase))

    def execute(self, ser_ctx: Any, subject: str, phase: RulePhase, mode: RuleMode, source: Schema | None,
                target: Schema | None, message: Any, inline_tags: dict[str, frozenset[str]] | None = None,
                field_transformer: FieldTransformer | None = None, tag_cache: dict | None = None,
                original: Any = None) -> Any:
        """``message`` after the rules of ``phase`` for ``mode`` (see the module docstring)."""
        if message is None or target is None:
            return message
        if mode == RuleMode.UPGRADE:
            rule_set = target.rule_set
            rules = list(_phase_rules(rule_set, RulePhase.MIGRATION))
        elif mode == RuleMode.DOWNGRADE:
            rule_set = source.rule_set if source is not None else None
            rules = list(reversed(_phase_rules(rule_set, RulePhase.MIGRATION)))
        else:
            rule_set = target.rule_set
            rules = list(_phase_rules(rule_set, phase))
            if mode == RuleMode.READ:
                rules.reverse()
        if not rules:
            return message
        enabled_env = rule_set.enable_at if rule_set is not None else None
        original = message if original is None else original
        for index, rule in enumerate(rules):
            if not _applies(rule, mode):
                continue
            ctx = RuleContext(ser_ctx, source, target, subject, mode, rule, index, rules, inline_tags,
                              field_transformer, tag_cache, None, original)
            ctx.client_conf = self.client_conf
            ctx.rule_conf = self.rule_conf
            if self._disabled(rule, enabled_env) or _dlq_replay(ser_ctx, rule):
                continue
            if rule.type is None:
                self._act(ctx, mode, rule, self._on_failure(rule), message,
                          RuleError(f"Rule type is None for rule {rule.name}"), "ERROR")
                return message
            try:
                executor = self.registry.get_executor(rule.type.upper())
                if executor is None:
                    raise RuleError(f"Could not find rule executor of type {rule.type}")
            except RuleError as exc:
                self._act(ctx, mode, rule, self._on_failure(rule), message, exc, "ERROR")
                return message
            try:
                result = executor.transform(ctx, message)
                if rule_kind(rule) == RuleKind.CONDITION:
                    if not result:
                        raise RuleConditionError(rule)
                else:
                    message = result
                if message is None:
                    self._act(ctx, mode, rule, self._on_failure(rule), message, None, "ERROR")
                else:
                    self._act(ctx, mode, rule, self._on_success(rule), message, None, "NONE")
            except SerializationError:
                raise
            except Exception as exc:  # a rule's failure of any kind goes to its onFailure action
                self._act(ctx, mode, rule, self._on_failure(rule), message, exc, "ERROR")
        return message

    def migrate(self, ser_ctx: Any, subject: str, migrations: Sequence[tuple[RuleMode, Schema, Schema]],
                message: Any) -> Any:
        """Apply UPGRADE/DOWNGRADE migrations ``(mode, source, target)`` in order."""
        for mode, source, target in migrations:
            message = self.execute(ser_ctx, subject, RulePhase.MIGRATION, mode, source, target, message)
        return message

    def _disabled(self, rule: Rule, enabled_env: str | None) -> bool:
        if rule.type is not None:
            override = self.registry.get_override(rule.type)
            if override is not None and override.disabled is not None:
                return override.disabled
            if (enabled_env or "ALL") not in ("ALL", "CLIENT"):
                return True
        return bool(rule.disabled)

    def _on_success(self, rule: Rule) -> str | None:
        override = self.registry.get_override(rule.type) if rule.type else None
        return override.on_success if override is not None and override.on_success is not None else rule.on_success

    def _on_failure(self, rule: Rule) -> str | None:
        override = self.registry.get_override(rule.type) if rule.type else None
        return override.on_failure if override is not None and override.on_failure is not None else rule.on_failure

    def _act(self, ctx: RuleContext, mode: RuleMode, rule: Rule, action: str | None, message: Any,
             error: Exception | None, default: str) -> None:
        name = _action_name(rule, mode, action) or default
        if name == "ERROR":
            runner: RuleAction | None = _ERROR
        elif name == "NONE":
            runner = _NONE
        else:
            runner = self.registry.get_action(name)
        if runner is None:
            raise RuleError(f"Could not find rule action of type {name}")
        try:
            runner.run(ctx, message, error)
        except SerializationError:
            raise
        except Exception as exc:
            log.warning("Could not run post-rule action %s: %s", name, exc)


def _action_name(rule: Rule, mode: RuleMode, action: str | None) -> str | None:
    if not action:
        return None
    if rule_mode(rule) in (RuleMode.WRITEREAD, RuleMode.UPDOWN) and "," in action:
        first, _, second = action.partition(",")
        if mode in (RuleMode.WRITE, RuleMode.UPGRADE):
            return first.strip()
        if mode in (RuleMode.READ, RuleMode.DOWNGRADE):
            return second.strip()
    return action


def _dlq_replay(ser_ctx: Any, rule: Rule) -> bool:
    """A record read back from a DLQ skips the rule that sent it there (last ``__rule.name`` wins)."""
    headers = getattr(ser_ctx, "headers", None)
    if not headers or rule.name is None:
        return False
    value: Any = None
    if isinstance(headers, dict):
        value = headers.get(DLQ_RULE_NAME_HEADER)
    else:
        for key, item in headers:
            if key == DLQ_RULE_NAME_HEADER:
                value = item
    if isinstance(value, (bytes, bytearray)):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return value == rule.name
