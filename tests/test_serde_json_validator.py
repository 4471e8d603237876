"""The JSON hot-path validator (jsonschema_rs) gives jsonschema's verdicts on every
schema of the shared corpus it is used for, over generated instances; the error
reported is always jsonschema's."""

from __future__ import annotations

import itertools
import json

import pytest

from registry.formats import InvalidSchemaError, parse_schema
from serde.json_schema import compile_validator, fast_validator
from tests.shared import SHARED, shared_path

CORPUS = SHARED / "corpus" / "extracted" / "json-cases.jsonl"

SCALARS = [None, True, False, 0, 1, -1, 7, 1.0, 1.5, -2.25, 2**40, 2**70, "", "a", "abc", "x" * 40, "2024-01-01",
           [], [1], ["a", "b"], [1, "a", None], {}, {"a": 1}]


def corpus_schemas() -> list:
    shared_path(*CORPUS.relative_to(SHARED).parts)
    out, seen = [], set()
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        for key in ("reader_or_new", "writer_or_old"):
            texts = case[key] if isinstance(case[key], list) else [case[key]]
            for text in texts:
                text = text if isinstance(text, str) else json.dumps(text)
                if text in seen:
                    continue
                seen.add(text)
                try:
                    out.append(parse_schema("JSON", text, strict=False))
                except InvalidSchemaError:
                    continue
    return out


def sample_for(node, depth: int = 0) -> list:
    """Instances aimed at a schema node: each property with each scalar, type-correct values,
    missing required properties, extra properties, array items."""
    out = list(SCALARS)
    if not isinstance(node, dict) or depth > 2:
        return out
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    if props:
        good = {}
        for name, sub in props.items():
            values = sample_for(sub, depth + 1)
            good[name] = values[-1]
            for value in values[:: 3 if depth else 1]:
                out.append({name: value})
        out.append(good)
        out.append({**good, "zz_extra": 1})
        for name in itertools.islice(props, 5):
            out.append({k: v for k, v in good.items() if k != name})
    for key in ("items", "additionalProperties", "not"):
        sub = node.get(key)
        if isinstance(sub, dict):
            subs = sample_for(sub, depth + 1)
            out += [[v] for v in subs[::4]] + [{"k": v} for v in subs[::4]]
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(key, []) if isinstance(node.get(key), list) else []:
            out += sample_for(sub, depth + 1)[::3]
    for key in ("enum",):
        if isinstance(node.get(key), list):
            out += node[key]
    if "const" in node:
        out.append(node["const"])
    return out


def test_fast_validator_verdicts_equal_reference_on_corpus() -> None:
    schemas = corpus_schemas()
    used = checked = 0
    mismatches = []
    for schema in schemas:
        fast = fast_validator(schema)
        if fast is None:
            continue
        used += 1
        for instance in sample_for(schema.value):
            try:
                schema.validate(instance)
                expected = True
            except ValueError:
                expected = False
            try:
                got = fast(instance)
            except Exception:
                got = None  # the serde then asks jsonschema
            checked += 1
            if got is not None and got != expected:
                mismatches.append((schema.canonical_string()[:200], instance, expected, got))
    assert used >= 100, f"only {used} corpus schemas use the fast validator"
    assert checked > 5000
    assert not mismatches, mismatches[:5]


def test_errors_come_from_reference_validator() -> None:
    from confluent_kafka.serialization import SerializationError

    schema = parse_schema("JSON", json.dumps({"type": "object", "properties": {"n": {"type": "integer",
                                                                                    "maximum": 3}}}))
    assert fast_validator(schema) is not None
    check = compile_validator(schema)
    check({"n": 2})
    with pytest.raises(SerializationError) as fast_err:
        check({"n": 9})
    with pytest.raises(SerializationError) as slow_err:
        compile_validator(schema, fast=False)({"n": 9})
    assert str(fast_err.value) == str(slow_err.value) == "Value at #/n does not match the schema: " \
        "9 is greater than the maximum of 3"


def test_format_keyword_keeps_reference_validator() -> None:
    schema = parse_schema("JSON", json.dumps({"type": "string", "format": "email"}))
    assert fast_validator(schema) is None
