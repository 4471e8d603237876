"""Fuzzing the three schema parsers and compatibility engines with hypothesis.

For random schemas (generated from each format's grammar), for random JSON and
for mutations of valid schemas, ``parse_schema`` must either return a parsed
schema or raise ``InvalidSchemaError``; a parsed schema must give a canonical
string that parses again, must be compatible with itself, and any pair of
parsed schemas of one format must give a verdict (a list of incompatibilities)
in both directions. Anything else (another exception, a hang) is a failure.

The CI budget is small and deterministic (about 30 s in all). A longer run:

    SCHEMAHUB_FUZZ_EXAMPLES=20000 SCHEMAHUB_FUZZ_RANDOM=1 .venv/bin/pytest tests/test_fuzz_formats.py -q \\
        -p no:cacheprovider --timeout=3600
"""

from __future__ import annotations

import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.errors import RegistryError
from registry.formats import Incompatibility, InvalidSchemaError, ParsedSchema, parse_schema
from registry.http.limits import check_schema_size

SCALE = max(1, int(os.environ.get("SCHEMAHUB_FUZZ_EXAMPLES", "0")) // 100) if os.environ.get(
    "SCHEMAHUB_FUZZ_EXAMPLES") else 0


def budget(ci_examples: int) -> settings:
    """``ci_examples`` in CI (derandomized); ``SCHEMAHUB_FUZZ_EXAMPLES`` scales every test up."""
    examples = ci_examples * SCALE if SCALE else ci_examples
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not os.environ.get("SCHEMAHUB_FUZZ_RANDOM"),
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def parse_or_reject(schema_type: str, text: str) -> ParsedSchema | None:
    """The parsed schema, or None for a clean rejection (the HTTP layer's text checks, then
    ``InvalidSchemaError``); checks the parsed form as the registry would store it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a raw lone surrogate cannot arrive: request bodies are strict UTF-8
    try:
        check_schema_size(schema_type, text)
        parsed = parse_schema(schema_type, text)
    except (InvalidSchemaError, RegistryError):
        return None
    canonical = parsed.canonical_string()
    assert isinstance(canonical, str)
    canonical.encode("utf-8")  # what the store and the response need
    again = parse_schema(schema_type, canonical, strict=False)
    assert again.canonical_string() == canonical, "the canonical form is not stable"
    parsed.normalized().canonical_string()
    # compatible with itself, except where Java's engine throws (an Avro field alias naming
    # another field matches twice: Confluent answers that as incompatible too)
    assert all(i.error_type == "UNEXPECTED_EXCEPTION" for i in verdict(parsed, parsed)), \
        "a schema must be compatible with itself"
    return parsed


def verdict(reader: ParsedSchema, writer: ParsedSchema) -> list[Incompatibility]:
    found = reader.incompatibilities(writer)
    assert isinstance(found, list) and all(isinstance(i, Incompatibility) for i in found)
    for item in found:
        item.render("new", "old")
    return found


# -- mutation of text ---------------------------------------------------------------------

PUNCTUATION = [*list('{}[]":,;=<>()/\\*.-0123456789'), "null", "true", "\x00", "�", "😀", " ", "\n", "\\ud800", "\\udc00", "\\u00e9", "\\xff", "\\377", "\\"]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few characters deleted, inserted, replaced or a slice duplicated."""
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate"]))
        if action == "delete":
            end = min(len(text), at + draw(st.integers(1, 8)))
            text = text[:at] + text[end:]
        elif action == "insert":
            text = text[:at] + draw(st.sampled_from(PUNCTUATION)) + text[at:]
        elif action == "replace":
            text = text[:at] + draw(st.sampled_from(PUNCTUATION)) + text[at + 1:]
        elif action == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 40)))
            text = text[:end] + text[at:end] + text[end:]
        else:
            text = text[:at]
    return text


# -- Avro -----------------------------------------------------------------------------------

names = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=6).filter(
    lambda s: s not in ("null", "int", "long", "float", "double", "bytes", "string", "boolean"))
odd_names = st.one_of(names, st.sampled_from(["", "1a", "a.b", "a-b", "é", "int", "record", ".x", "a..b"]))
AVRO_PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
LOGICAL = [{"type": "int", "logicalType": "date"}, {"type": "long", "logicalType": "timestamp-millis"},
           {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
           {"type": "string", "logicalType": "uuid"}, {"type": "int", "logicalType": "bogus"},
           {"type": "bytes", "logicalType": "decimal", "precision": 0, "scale": 9}]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                         st.text(max_size=5))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=8)


def _avro_type(children: st.SearchStrategy) -> st.SearchStrategy:
    field = st.fixed_dictionaries(
        {"name": odd_names, "type": children},
        optional={"default": json_values, "doc": st.text(max_size=5), "aliases": st.lists(names, max_size=2),
                  "order": st.sampled_from(["ascending", "descending", "ignore", "sideways"])},
    )
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("record"), "name": odd_names, "fields": st.lists(field, max_size=4)},
                              optional={"namespace": st.sampled_from(["", "a", "a.b", "1x"]),
                                        "aliases": st.lists(names, max_size=2)}),
        st.fixed_dictionaries({"type": st.just("enum"), "name": odd_names,
                               "symbols": st.lists(odd_names, max_size=4)},
                              optional={"default": odd_names}),
        st.fixed_dictionaries({"type": st.just("array"), "items": children}, optional={"default": json_values}),
        st.fixed_dictionaries({"type": st.just("map"), "values": children}),
        st.fixed_dictionaries({"type": st.just("fixed"), "name": odd_names, "size": st.integers(-1, 20)}),
        st.lists(children, max_size=4),  # a union
    )


avro_schemas = st.recursive(
    st.one_of(st.sampled_from(AVRO_PRIMITIVES), st.sampled_from(LOGICAL), names,
              st.builds(lambda t: {"type": t}, st.sampled_from(AVRO_PRIMITIVES))),
    _avro_type, max_leaves=12,
)
VALID_AVRO = [
    '{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},'
    '{"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","fields":['
    '{"name":"sku","type":"string"},{"name":"qty","type":"int","default":1}]}}},'
    '{"name":"state","type":{"type":"enum","name":"State","symbols":["NEW","PAID"],"default":"NEW"}},'
    '{"name":"note","type":["null","string"],"default":null}]}',
    '{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null},'
    '{"name":"tags","type":{"type":"map","values":{"type":"fixed","name":"F","size":4}}}]}',
]


@budget(400)
@given(avro_schemas, avro_schemas)
def test_fuzz_avro_generated(a: object, b: object) -> None:
    first, second = parse_or_reject("AVRO", json.dumps(a)), parse_or_reject("AVRO", json.dumps(b))
    if first is not None and second is not None:
        verdict(first, second)
        verdict(second, first)


@budget(300)
@given(st.sampled_from(VALID_AVRO).flatmap(mutated))
def test_fuzz_avro_mutated(text: str) -> None:
    parsed = parse_or_reject("AVRO", text)
    if parsed is not None:
        for original in VALID_AVRO:
            base = parse_schema("AVRO", original)
            verdict(parsed, base)
            verdict(base, parsed)


@budget(200)
@given(json_values)
def test_fuzz_avro_any_json(value: object) -> None:
    parse_or_reject("AVRO", json.dumps(value))


# -- JSON Schema ------------------------------------------------------------------------------

JSON_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"]
regexes = st.sampled_from(["^a", "[", "(a|b)*", "\\d+", "(?P<x>a)", "a{2,}", "\\", "[[:alpha:]]", "(?=a)", ""])
refs = st.sampled_from(["#", "#/definitions/a", "#/definitions/missing", "#/$defs/b", "#/properties/x",
                        "other.json", "http://example.com/x.json#/a", "#/definitions/a/properties/n", "#%2F"])


def _json_schema(children: st.SearchStrategy) -> st.SearchStrategy:
    keyword_values = {
        "type": st.one_of(st.sampled_from([*JSON_TYPES, "bogus"]), st.lists(st.sampled_from(JSON_TYPES), max_size=3)),
        "properties": st.dictionaries(st.text(max_size=3), children, max_size=3),
        "patternProperties": st.dictionaries(regexes, children, max_size=2),
        "additionalProperties": st.one_of(st.booleans(), children),
        "required": st.lists(st.text(max_size=3), max_size=3),
        "items": st.one_of(children, st.lists(children, max_size=2)),
        "prefixItems": st.lists(children, max_size=2),
        "additionalItems": st.one_of(st.booleans(), children),
        "enum": st.lists(json_values, max_size=3),
        "const": json_values,
        "minimum": st.one_of(st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False)),
        "maximum": st.integers(-5, 5),
        "exclusiveMinimum": st.one_of(st.booleans(), st.integers(-5, 5)),
        "multipleOf": st.one_of(st.integers(-1, 3), st.floats(0.1, 2)),
        "minLength": st.integers(-1, 5),
        "maxLength": st.integers(0, 5),
        "pattern": regexes,
        "format": st.sampled_from(["date", "email", "uri", "bogus"]),
        "minItems": st.integers(0, 3),
        "maxItems": st.integers(-1, 3),
        "uniqueItems": st.booleans(),
        "minProperties": st.integers(0, 3),
        "maxProperties": st.integers(0, 3),
        "dependencies": st.dictionaries(st.text(max_size=2), st.one_of(children, st.lists(st.text(max_size=2))),
                                        max_size=2),
        "dependentRequired": st.dictionaries(st.text(max_size=2), st.lists(st.text(max_size=2)), max_size=2),
        "allOf": st.lists(children, max_size=3),
        "anyOf": st.lists(children, max_size=3),
        "oneOf": st.lists(children, max_size=3),
        "not": children,
        "if": children, "then": children, "else": children,
        "$ref": refs,
        "definitions": st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=2),
        "$defs": st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=2),
        "$schema": st.sampled_from(["http://json-schema.org/draft-07/schema#",
                                    "https://json-schema.org/draft/2020-12/schema", "bogus"]),
        "$id": st.sampled_from(["x.json", "http://example.com/s.json", ""]),
        "default": json_values,
    }
    return st.one_of(
        st.booleans(),
        st.lists(st.sampled_from(sorted(keyword_values)), max_size=4, unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({k: keyword_values[k] for k in keys})),
    )


json_schemas = st.recursive(
    st.one_of(st.just({}), st.booleans(), st.builds(lambda t: {"type": t}, st.sampled_from(JSON_TYPES))),
    _json_schema, max_leaves=10,
)
VALID_JSON = [
    '{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{'
    '"id":{"type":"integer","minimum":0},"name":{"type":"string","maxLength":20},'
    '"tags":{"type":"array","items":{"type":"string"},"uniqueItems":true},'
    '"kind":{"enum":["a","b"]},"child":{"$ref":"#"}},"required":["id"],"additionalProperties":false}',
    '{"definitions":{"n":{"type":"object","properties":{"next":{"$ref":"#/definitions/n"},'
    '"v":{"oneOf":[{"type":"string"},{"type":"null"}]}}}},"$ref":"#/definitions/n"}',
]


@budget(250)
@given(json_schemas, json_schemas)
def test_fuzz_json_generated(a: object, b: object) -> None:
    first, second = parse_or_reject("JSON", json.dumps(a)), parse_or_reject("JSON", json.dumps(b))
    if first is not None and second is not None:
        verdict(first, second)
        verdict(second, first)


@budget(300)
@given(st.sampled_from(VALID_JSON).flatmap(mutated))
def test_fuzz_json_mutated(text: str) -> None:
    parsed = parse_or_reject("JSON", text)
    if parsed is not None:
        for original in VALID_JSON:
            base = parse_schema("JSON", original)
            verdict(parsed, base)
            verdict(base, parsed)


@budget(200)
@given(json_values)
def test_fuzz_json_any_json(value: object) -> None:
    parse_or_reject("JSON", json.dumps(value))


# -- Protobuf ---------------------------------------------------------------------------------

PROTO_SCALARS = ["int32", "int64", "uint32", "sint64", "fixed32", "bool", "string", "bytes", "double", "float"]
idents = st.text(alphabet=string.ascii_letters, min_size=1, max_size=5)


@st.composite
def proto_files(draw: st.DrawFn) -> str:
    syntax = draw(st.sampled_from(['syntax = "proto3";', 'syntax = "proto2";', "", 'syntax = "proto4";']))
    package = draw(st.sampled_from(["", "package a.b;", "package x;"]))
    imports = draw(st.sampled_from(["", 'import "google/protobuf/timestamp.proto";', 'import "missing.proto";']))
    message_names = draw(st.lists(idents, min_size=1, max_size=3, unique=True))

    def message(name: str, depth: int) -> str:
        body = []
        for number in range(1, draw(st.integers(0, 4)) + 1):
            label = draw(st.sampled_from(["", "repeated ", "optional ", "required "]))
            kind = draw(st.sampled_from(PROTO_SCALARS + message_names + ["google.protobuf.Timestamp", "Nope"]))
            if draw(st.booleans()) and depth == 0:
                kind = f"map<string, {kind}>"
                label = ""
            tag = draw(st.sampled_from([number, 0, 19000, 536870912, number]))
            body.append(f"{label}{kind} {draw(idents)} = {tag};")
        if draw(st.booleans()):
            values = " ".join(f"{draw(idents).upper()} = {i};" for i in range(draw(st.integers(0, 3))))
            body.append(f"enum E{name} {{ {values} }}")
        if depth < 2 and draw(st.booleans()):
            body.append(message(draw(idents), depth + 1))
        if draw(st.booleans()):
            body.append(f"oneof o {{ string {draw(idents)} = {draw(st.integers(20, 25))}; }}")
        if draw(st.booleans()):
            body.append(draw(st.sampled_from([
                "reserved 2, 15 to 20;", 'reserved "x";', "option deprecated = true;",
                'string sj = 30 [json_name = "\\xff"];', 'string sd = 31 [default = "\\u00e9\\377"];',
                'bytes bd = 32 [default = "\\xff\\0"];', 'string su = 33 [json_name = "\\ud800"];'])))
        return f"message {name} {{ {' '.join(body)} }}"

    messages = "\n".join(message(name, 0) for name in message_names)
    return "\n".join(part for part in (syntax, package, imports, messages) if part)


VALID_PROTO = [
    'syntax = "proto3";\npackage shop;\nimport "google/protobuf/timestamp.proto";\n'
    "message Order {\n  int64 id = 1;\n  repeated Item items = 2;\n  map<string, string> tags = 3;\n"
    "  google.protobuf.Timestamp at = 4;\n  oneof pay { string card = 5; string iban = 6; }\n"
    "  enum State { NEW = 0; PAID = 1; }\n  State state = 7;\n  reserved 9, 10 to 12;\n}\n"
    "message Item { string sku = 1; int32 qty = 2; }\n",
]


@budget(150)
@given(proto_files(), proto_files())
def test_fuzz_protobuf_generated(a: str, b: str) -> None:
    first, second = parse_or_reject("PROTOBUF", a), parse_or_reject("PROTOBUF", b)
    if first is not None and second is not None:
        verdict(first, second)
        verdict(second, first)


@budget(150)
@given(st.sampled_from(VALID_PROTO).flatmap(mutated))
def test_fuzz_protobuf_mutated(text: str) -> None:
    parsed = parse_or_reject("PROTOBUF", text)
    if parsed is not None:
        base = parse_schema("PROTOBUF", VALID_PROTO[0])
        verdict(parsed, base)
        verdict(base, parsed)


@pytest.mark.parametrize("schema_type", ["AVRO", "JSON", "PROTOBUF"])
@budget(60)
@given(text=st.text(max_size=60))
def test_fuzz_any_text(schema_type: str, text: str) -> None:
    parse_or_reject(schema_type, text)
