"""What a serde runs for one schema: its domain and encoding rules for one mode.

A serde builds a :class:`RulePlan` when it resolves a schema, and keeps
``None`` when the schema has no rule for the mode, so rule-free records take
the serde's usual path untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.schema_registry.schema_registry_client import RuleMode, Schema

from .execution import RulePhase, RuleRunner

__all__ = ["ReadRules", "RulePlan"]


class RulePlan:
    __slots__ = ("_fields", "_make_fields", "domain", "encoding", "mode", "runner", "schema", "subject",
                 "tag_cache")

    def __init__(self, runner: RuleRunner, subject: str, schema: Schema, mode: RuleMode,
                 make_fields: Callable[[], Any] | None) -> None:
        self.runner = runner
        self.subject = subject
        self.schema = schema
        self.mode = mode
        self.domain = runner.has_rules(schema, RulePhase.DOMAIN, mode)
        self.encoding = runner.has_rules(schema, RulePhase.ENCODING, mode)
        self._make_fields = make_fields
        self._fields: Any = None
        self.tag_cache: dict = {}

    @classmethod
    def build(cls, runner: RuleRunner | None, subject: str | None, schema: Schema | None, mode: RuleMode,
              make_fields: Callable[[], Any] | None = None) -> RulePlan | None:
        """A plan, or None when ``schema`` has no domain or encoding rule for ``mode``."""
        if runner is None or subject is None or schema is None or schema.rule_set is None:
            return None
        if not (runner.has_rules(schema, RulePhase.DOMAIN, mode) or runner.has_rules(schema, RulePhase.ENCODING, mode)):
            return None
        return cls(runner, subject, schema, mode, make_fields)

    def _walker(self) -> Any:
        if self._fields is None and self._make_fields is not None:
            self._fields = self._make_fields()
        return self._fields

    def apply_domain(self, message: Any, ser_ctx: Any, original: Any = None) -> Any:
        if not self.domain:
            return message
        fields = self._walker()
        return self.runner.execute(ser_ctx, self.subject, RulePhase.DOMAIN, self.mode, None, self.schema, message,
                                   getattr(fields, "tags", None), fields.transformer if fields is not None else None,
                                   self.tag_cache, original)

    def apply_encoding(self, payload: bytes, ser_ctx: Any, original: Any = None) -> bytes:
        if not self.encoding:
            return payload
        return self.runner.execute(ser_ctx, self.subject, RulePhase.ENCODING, self.mode, None, self.schema, payload,
                                   None, None, self.tag_cache, original)


class ReadRules:
    """What a deserializer runs for one writer schema: encoding rules, migrations, READ rules."""

    __slots__ = ("domain", "encoding", "migrations", "subject")

    def __init__(self, subject: str, encoding: RulePlan | None, migrations: list, domain: RulePlan | None) -> None:
        self.subject = subject
        self.encoding = encoding
        self.migrations = migrations
        self.domain = domain

    @classmethod
    def build(cls, subject: str, encoding: RulePlan | None, migrations: list,
              domain: RulePlan | None) -> ReadRules | None:
        """None when nothing would run."""
        if not migrations and (encoding is None or not encoding.encoding) and (domain is None or not domain.domain):
            return None
        return cls(subject, encoding, migrations, domain)
