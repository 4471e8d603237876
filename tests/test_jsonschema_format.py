"""The JSON Schema format: parsing, canonical text, normalisation, references,
drafts, validation and hostile input."""

from __future__ import annotations

import time

import pytest

from registry.formats.base import Dependency, InvalidSchemaError
from registry.formats.json_compat import Difference, template
from registry.formats.jsonschema import JsonSchema, JsonSchemaFormat, JsonValidationError

FORMAT = JsonSchemaFormat()


def parse(text: str, deps: tuple[Dependency, ...] = ()) -> JsonSchema:
    return FORMAT.parse(text, deps)


@pytest.mark.parametrize("text,fragment", [
    ('{"type":', "line 1 column 9"),
    ("[1, 2]", "JSON object or a boolean"),
    ('"string"', "JSON object or a boolean"),
    ('{"type": "strin"}', "#/type"),
    ('{"properties": {"a": {"minLength": -1}}}', "#/properties/a/minLength"),
    ('{"$ref": "#/definitions/missing"}', "#/definitions/missing"),
    ('{"properties": {"$$x": {}}}', "$$ prefix"),
])
def test_invalid_schemas_say_what_and_where(text: str, fragment: str) -> None:
    with pytest.raises(InvalidSchemaError) as info:
        parse(text)
    assert fragment in str(info.value)


def test_boolean_schemas_are_valid() -> None:
    assert parse("true").canonical_string() == "true"
    assert parse("false").canonical_string() == "false"


def test_reserved_field_names_are_allowed_when_not_strict() -> None:
    assert FORMAT.parse('{"properties": {"$$x": {}}}', strict=False).schema_type == "JSON"


@pytest.mark.parametrize("text,canonical", [
    ('{ "b" : 1, "a" : [ 1 , 2 ] }', '{"b":1,"a":[1,2]}'),
    ('{"x": 1.50, "y": 1e5, "z": 1.0E-8, "w": -0.0, "v": -0}', '{"x":1.50,"y":1E+5,"z":1.0E-8,"w":0.0,"v":0}'),
    ('{"n": 123456789012345678901234567890}', '{"n":123456789012345678901234567890}'),
    ('{"d": NaN, "i": Infinity, "j": -Infinity}', '{"d":"NaN","i":"Infinity","j":"-Infinity"}'),
    ('{"s": "é ☃ \\u00e9 \\ud83d\\ude00"}', '{"s":"é ☃ é 😀"}'),
    ('{"s": "\\u0001\\b\\t\\n\\f\\r\\"\\\\/"}', '{"s":"\\u0001\\b\\t\\n\\f\\r\\"\\\\/"}'),
    ('{"a": 1, "a": 2}', '{"a":2}'),
])
def test_canonical_string_matches_jackson(text: str, canonical: str) -> None:
    assert parse(text).canonical_string() == canonical


def test_normalized_sorts_keys_recursively_and_keeps_arrays() -> None:
    schema = parse('{"type": "object", "properties": {"b": {"type": "string"}, "a": {"enum": [3, 1]}}}')
    expected = '{"properties":{"a":{"enum":[3,1]},"b":{"type":"string"}},"type":"object"}'
    assert schema.normalized().canonical_string() == expected


def test_normalized_sorts_keys_in_utf16_order() -> None:
    schema = parse('{"\\ud83d\\ude00": 1, "\\uffff": 2}')
    assert list(schema.normalized().value) == ["\U0001f600", "\uffff"]


def test_normalized_sorts_and_deduplicates_dependencies() -> None:
    dep = parse('{"type": "string"}')
    deps = (Dependency("b.json", dep, "b", 1), Dependency("a.json", dep, "a", 1), Dependency("b.json", dep, "b", 1))
    normalized = parse('{"type": "object"}', deps).normalized()
    assert [d.name for d in normalized.dependencies] == ["a.json", "b.json"]


def test_record_name_is_the_title() -> None:
    assert parse('{"title": "Order", "type": "object"}').record_name() == "Order"
    assert parse('{"type": "object"}').record_name() is None
    assert parse("true").record_name() is None


def test_references_resolve_by_dependency_name() -> None:
    address = parse('{"type": "object", "properties": {"zip": {"type": "string"}}}')
    deps = (Dependency("address.json", address, "address", 1),)
    old = parse('{"type": "object", "properties": {"home": {"$ref": "address.json"}}}', deps)
    changed = parse('{"type": "object", "properties": {"zip": {"type": "integer"}}}')
    new = parse('{"type": "object", "properties": {"home": {"$ref": "address.json"}}}',
                (Dependency("address.json", changed, "address", 2),))
    assert [str(d) for d in new.differences(old)] == ["TYPE_CHANGED #/properties/home/properties/zip"]


def test_references_resolve_against_the_root_id_and_transitively() -> None:
    leaf = parse('{"type": "string"}')
    middle = parse('{"$ref": "leaf.json"}', (Dependency("leaf.json", leaf),))
    root = parse('{"$id": "https://acme.com/root.json", "properties": {"m": {"$ref": "middle.json"}}}',
                 (Dependency("middle.json", middle),))
    root.validate({"m": "text"})
    with pytest.raises(JsonValidationError, match="#/m"):
        root.validate({"m": 5})


def test_a_missing_reference_is_invalid() -> None:
    with pytest.raises(InvalidSchemaError, match="other.json"):
        parse('{"$ref": "other.json"}')


@pytest.mark.parametrize("url,draft", [
    ("http://json-schema.org/draft-04/schema#", "4"),
    ("http://json-schema.org/draft-06/schema#", "6"),
    ("http://json-schema.org/draft-07/schema#", "7"),
    ("https://json-schema.org/draft/2019-09/schema", "2019-09"),
    ("https://json-schema.org/draft/2020-12/schema", "2020-12"),
    ("https://example.com/unknown", "7"),
])
def test_drafts_follow_dollar_schema(url: str, draft: str) -> None:
    assert parse(f'{{"$schema": "{url}", "type": "string"}}').draft == draft


def test_draft_specific_keywords_are_checked_by_their_metaschema() -> None:
    with pytest.raises(InvalidSchemaError, match="exclusiveMinimum"):
        parse('{"$schema": "http://json-schema.org/draft-04/schema#", "exclusiveMinimum": 5}')
    assert parse('{"$schema": "http://json-schema.org/draft-07/schema#", "exclusiveMinimum": 5}')


def test_validate_reports_path_and_reason() -> None:
    schema = parse('{"type": "object", "properties": {"n": {"type": "number", "multipleOf": 0.5}}}')
    schema.validate({"n": 1.5})
    with pytest.raises(JsonValidationError, match="#/n"):
        schema.validate({"n": 1.25})


def test_incompatibilities_carry_type_location_and_template() -> None:
    old = parse('{"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}')
    new = parse('{"type": "object", "properties": {"a": {"type": "number"}}, "additionalProperties": false}')
    [issue] = new.incompatibilities(old)
    assert (issue.error_type, issue.location) == ("TYPE_CHANGED", "#/properties/a")
    assert issue.render("new", "old") == (
        "{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/a' is different "
        "between the new schema and the old schema'}"
    )
    assert new.incompatibilities(new) == []


def test_policy_changes_the_verdict() -> None:
    old = parse('{"properties": {"a": {"type": "string"}}}')
    new = parse('{"properties": {"a": {"type": "string"}, "b": {"type": "string"}}}')
    assert [i.error_type for i in new.incompatibilities(old)] == ["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"]
    assert new.incompatibilities(old, "LENIENT") == []


def test_template_of_an_unlisted_type_has_an_empty_description() -> None:
    assert template(Difference("SCHEMA_ADDED", "#/items")) == "{errorType:\"SCHEMA_ADDED\", description:\"'}"


@pytest.mark.parametrize("text", [
    '{"a":' * 10000 + "1" + "}" * 10000,
    "[" * 10000 + "]" * 10000,
    '{"properties": {"a": ' * 5000 + "{}" + "}}" * 5000,
])
def test_deep_nesting_is_rejected_cleanly(text: str) -> None:
    with pytest.raises(InvalidSchemaError, match="nested deeper"):
        parse(text)


@pytest.mark.parametrize("text", [
    '{"$ref": "#"}',
    '{"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"}',
    '{"definitions": {"n": {"type": "object", "properties": {"next": {"$ref": "#/definitions/n"}}}},'
    ' "$ref": "#/definitions/n"}',
])
def test_self_referencing_chains_terminate(text: str) -> None:
    start = time.perf_counter()
    schema = parse(text)
    assert schema.differences(parse(text)) == []
    print(f"\nself-referencing chain: {time.perf_counter() - start:.3f}s")


def test_a_change_inside_a_cycle_is_found() -> None:
    old = parse('{"definitions": {"n": {"type": "object", "properties": {"v": {"type": "string"},'
                ' "next": {"$ref": "#/definitions/n"}}}}, "$ref": "#/definitions/n"}')
    new = parse('{"definitions": {"n": {"type": "object", "properties": {"v": {"type": "number"},'
                ' "next": {"$ref": "#/definitions/n"}}}}, "$ref": "#/definitions/n"}')
    assert "TYPE_CHANGED #/properties/v" in [str(d) for d in new.differences(old)]
    assert new.incompatibilities(old)


def test_many_properties_against_many_versions() -> None:
    def text(n: int) -> str:
        props = ",".join(f'"f{i}": {{"type": ["string", "null"]}}' for i in range(n))
        return f'{{"type": "object", "properties": {{{props}}}}}'

    olds = [parse(text(200)) for _ in range(20)]
    new = parse(text(201))
    start = time.perf_counter()
    verdicts = [[i.error_type for i in new.incompatibilities(old)] for old in olds]
    assert all(v == verdicts[0] for v in verdicts), "identical versions must give identical verdicts"
    print(f"\n201 vs 200 properties, 20 versions: {time.perf_counter() - start:.3f}s")
