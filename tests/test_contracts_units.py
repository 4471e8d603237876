"""The rule engine's semantics without a server: wildcard tag paths against confluent-kafka's
matcher, which rules run for a mode, actions per direction, disabled and enableAt, field walks
that leave the caller's record alone, and registry-side rule-set merging."""

from __future__ import annotations

import itertools
import json

import pytest
from confluent_kafka.schema_registry.schema_registry_client import Metadata, RuleMode, RuleSet, Schema
from confluent_kafka.schema_registry.wildcard_matcher import wildcard_match as ck_wildcard_match
from confluent_kafka.serialization import SerializationError
from fastavro import parse_schema

from registry.contracts import merge_metadata, merge_rule_sets
from serde.rules import FieldRuleExecutor, RuleConditionError, RuleExecutor, RulePhase, RuleRegistry, RuleRunner
from serde.rules.fields import AvroFields
from serde.rules.wildcard import wildcard_match


def test_wildcards_match_as_confluent_kafka() -> None:
    names = ["a.b.c", "acme.Order.card", "acme.Order", "x", "a..b", "a.b", "eve", "alice.bob.eve", ""]
    atoms = ["a", "b", ".", "*", "**", "?", "c", "acme", "Order", "e"]
    patterns = {"".join(p) for n in range(1, 4) for p in itertools.product(atoms, repeat=n)}
    for pattern in sorted(patterns):
        for name in names:
            assert wildcard_match(name, pattern) == ck_wildcard_match(name, pattern), (name, pattern)


def test_wildcards_are_linear_on_hostile_patterns() -> None:
    assert not wildcard_match("a" * 5000, "**a**a**a**a**a**a**a**b")  # would backtrack in a regex


class Recorder(RuleExecutor):
    """Records which rules ran; a CONDITION holds unless the rule's expr is "false"."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def type(self) -> str:
        return "REC"

    def transform(self, ctx, message):
        self.ran.append(f"{ctx.rule.name}:{ctx.rule_mode.value}")
        if ctx.rule.expr == "fail":
            raise ValueError("boom")
        if (ctx.rule.kind or "").upper() == "CONDITION":
            return ctx.rule.expr != "false"
        return {**message, "seen": [*message.get("seen", []), ctx.rule.name]}


def runner_with(executor: RuleExecutor) -> RuleRunner:
    registry = RuleRegistry(builtins=False)
    registry.register_executor(executor)
    return RuleRunner(registry, {}, {})


def schema(rules: dict, metadata: dict | None = None) -> Schema:
    return Schema('"string"', "AVRO", rule_set=RuleSet.from_dict(rules),
                  metadata=Metadata.from_dict(metadata) if metadata else None)


def rule(name: str, mode: str = "WRITEREAD", kind: str = "TRANSFORM", **extra) -> dict:
    return {"name": name, "kind": kind, "mode": mode, "type": "REC", **extra}


def test_modes_order_disabled_and_enable_at() -> None:
    recorder = Recorder()
    runner = runner_with(recorder)
    target = schema({"domainRules": [rule("a", "WRITE"), rule("b", "READ"), rule("c"), rule("d", disabled=True)]})
    out = runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.WRITE, None, target, {})
    assert out == {"seen": ["a", "c"]} and recorder.ran == ["a:WRITE", "c:WRITE"]
    recorder.ran.clear()
    out = runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.READ, None, target, {})
    assert out == {"seen": ["c", "b"]}, "READ rules run in reverse order"
    off = schema({"domainRules": [rule("a")], "enableAt": "CLIENT"})
    assert runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.WRITE, None, off, {}) == {"seen": ["a"]}
    recorder.ran.clear()
    runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.UPGRADE, None, target, {})
    assert recorder.ran == [], "domain rules never run in migration modes"
    assert not RuleRunner.has_rules(schema({"domainRules": [rule("a", "READ")]}), RulePhase.DOMAIN, RuleMode.WRITE)


def test_actions_per_direction() -> None:
    runner = runner_with(Recorder())
    both = schema({"domainRules": [rule("c", kind="CONDITION", expr="false", onFailure="NONE,ERROR")]})
    assert runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.WRITE, None, both, {"x": 1}) == {"x": 1}
    with pytest.raises(SerializationError) as failed:
        runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.READ, None, both, {"x": 1})
    assert isinstance(failed.value.__cause__, RuleConditionError)
    crash = schema({"domainRules": [rule("c", expr="fail")]})
    with pytest.raises(SerializationError) as crashed:
        runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.WRITE, None, crash, {})
    assert isinstance(crashed.value.__cause__, ValueError)
    unknown = schema({"domainRules": [{**rule("u"), "type": "NOPE", "onFailure": "NONE"}]})
    assert runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.WRITE, None, unknown, {"x": 1}) == {"x": 1}


class Upper(FieldRuleExecutor):
    def type(self) -> str:
        return "UPPER"

    def new_transform(self, ctx):
        return lambda ctx, field, value: value.upper() if isinstance(value, str) else value


def test_field_walk_uses_inline_and_metadata_tags_and_copies() -> None:
    avro = {"type": "record", "name": "Order", "namespace": "acme", "fields": [
        {"name": "card", "type": "string", "confluent:tags": ["PII"]},
        {"name": "name", "type": ["null", "string"]},
        {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
            {"name": "sku", "type": "string"}, {"name": "note", "type": "string"}]}}},
        {"name": "plain", "type": "string"},
    ]}
    named: dict = {}
    parsed = parse_schema(avro, named_schemas=named)
    target = Schema(json.dumps(avro), "AVRO", rule_set=RuleSet.from_dict({"domainRules": [
        {"name": "up", "kind": "TRANSFORM", "mode": "WRITE", "type": "UPPER", "tags": ["PII"]}]}),
        metadata=Metadata.from_dict({"tags": {"acme.Order.name": ["PII"], "acme.*.sku": ["PII"]}}))
    fields = AvroFields(parsed, named, target)
    registry = RuleRegistry(builtins=False)
    registry.register_executor(Upper())
    runner = RuleRunner(registry, {}, {})
    record = {"card": "c", "name": "n", "lines": [{"sku": "s", "note": "x"}], "plain": "p"}
    out = runner.execute(None, "s", RulePhase.DOMAIN, RuleMode.WRITE, None, target, record, fields.tags,
                         fields.transformer)
    assert out == {"card": "C", "name": "N", "lines": [{"sku": "S", "note": "x"}], "plain": "p"}
    assert record == {"card": "c", "name": "n", "lines": [{"sku": "s", "note": "x"}], "plain": "p"}


RULE = {"kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "true"}


def test_registry_merges_rule_sets_and_metadata_as_confluent() -> None:
    old = {"domainRules": [{**RULE, "name": "a"}, {**RULE, "name": "b"}], "enableAt": "ALL"}
    new = {"domainRules": [{**RULE, "name": "b", "expr": "false"}], "migrationRules": [{**RULE, "name": "m"}]}
    merged = merge_rule_sets(old, new)
    assert [r["name"] for r in merged["domainRules"]] == ["a", "b"] and merged["domainRules"][1]["expr"] == "false"
    assert merged["migrationRules"] == new["migrationRules"] and merged["enableAt"] == "ALL"
    assert merge_rule_sets(None, new) is new and merge_rule_sets(old, None) is old
    meta = merge_metadata({"properties": {"b": "1", "a": "2"}, "sensitive": ["x"], "tags": {"p": ["T"]}},
                          {"properties": {"b": "3"}, "sensitive": ["y"]})
    assert meta == {"tags": {"p": ["T"]}, "properties": {"a": "2", "b": "3"}, "sensitive": ["x", "y"]}


def test_aws_kms_driver_speaks_kms_as_tink() -> None:
    """The aws-kms driver's requests, checked with botocore's stubs (no AWS account is reachable here)."""
    from botocore.stub import Stubber

    from serde.rules.kms import get_kms_driver

    arn = "arn:aws:kms:eu-west-1:123456789012:key/abcd"
    aead = get_kms_driver(f"aws-kms://{arn}").new_aead({"access.key.id": "AK", "secret.access.key": "SK"},
                                                      f"aws-kms://{arn}")
    stub = Stubber(aead._client)  # type: ignore[attr-defined]
    stub.add_response("encrypt", {"CiphertextBlob": b"wrapped", "KeyId": arn}, {"KeyId": arn, "Plaintext": b"dek"})
    stub.add_response("decrypt", {"Plaintext": b"dek", "KeyId": arn},
                      {"KeyId": arn, "CiphertextBlob": b"wrapped", "EncryptionContext": {"associatedData": "6164"}})
    with stub:
        assert aead.encrypt(b"dek", b"") == b"wrapped"
        assert aead.decrypt(b"wrapped", b"ad") == b"dek"
    stub.assert_no_pending_responses()
