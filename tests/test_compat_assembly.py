"""Message assembly and version selection (compat-rules.md §0.2–0.4), on the plain API and the service.

The exact lists follow Confluent's ``SchemaValidatorBuilder`` (BACKWARD and
FORWARD append ``{oldSchemaVersion}``/``{oldSchema}``; FULL appends them only
after its new-reads-old errors) and ``AbstractSchemaRegistry.
isCompatibleWithPrevious`` (reserved-field messages first, the trailer last).
"""

from __future__ import annotations

import json

import pytest

from registry import compatibility
from registry.compatibility import (
    DIFFERENT_SCHEMA_TYPE,
    OLD_SCHEMA_LIMIT,
    PreviousVersion,
    check,
    check_texts,
    fingerprint,
    java_hash_set_order,
    old_schema_message,
    pair_incompatibilities,
    reserved_fields,
)
from registry.errors import IncompatibleSchema
from registry.formats import Dependency, parse_schema
from registry.service import RegisterRequest, Registry

TYPE_MISMATCH_INT_BOOL = (
    "{errorType:'TYPE_MISMATCH', description:'The type (path '/') of a field in the new schema does not match "
    "with the old schema', additionalInfo:'reader type: BOOLEAN not compatible with writer type: INT'}"
)


def avro(text: str):
    return parse_schema("AVRO", text)


def rec(*fields: tuple[str, str] | tuple[str, str, object], name: str = "R") -> str:
    out = []
    for f in fields:
        field: dict = {"name": f[0], "type": f[1]}
        if len(f) == 3:
            field["default"] = f[2]
        out.append(field)
    return json.dumps({"type": "record", "name": name, "fields": out})


def trailer(level: str, validate_fields: bool = False) -> str:
    return f"{{validateFields: '{str(validate_fields).lower()}', compatibility: '{level}'}}"


def old_entries(version: int, text: str) -> list[str]:
    return [f"{{oldSchemaVersion: {version}}}", f"{{oldSchema: '{text}'}}"]


# -- §0.3 message assembly on the plain API -------------------------------------------


def test_backward_example_from_the_spec() -> None:
    result = check_texts("AVRO", '"boolean"', ['"int"'], "BACKWARD")
    assert result.is_compatible is False
    assert result.messages == [TYPE_MISMATCH_INT_BOOL, *old_entries(1, '"int"'), trailer("BACKWARD")]


def test_forward_appends_old_schema_version_and_old_schema() -> None:
    old = rec(("a", "string"))
    new = rec(("a", "string"), ("b", "string"))
    forward = check_texts("AVRO", old, [new], "FORWARD")  # the old schema (now the new one) lacks b
    assert forward.is_compatible is False
    first = forward.messages[0]
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in first and "in the old schema" in first
    assert "missing in the new schema" in first
    canonical_old = avro(new).canonical_string()
    assert forward.messages[1:] == [*old_entries(1, canonical_old), trailer("FORWARD")]


def test_full_lists_old_reads_new_first_then_new_reads_old_with_the_old_schema() -> None:
    old = avro(rec(("a", "int")))
    new = avro(rec(("a", "boolean")))
    result = check(new, [PreviousVersion(3, old, old.canonical_string())], "FULL")
    forward = [i.render("old", "new") for i in old.incompatibilities(new)]
    backward = [i.render("new", "old") for i in new.incompatibilities(old)]
    assert forward and backward
    assert result.messages == [*forward, *backward, *old_entries(3, old.canonical_string()), trailer("FULL")]
    assert "in the old schema does not match with the new schema" in forward[0]


def test_full_with_only_the_old_reads_new_pass_failing_has_no_old_schema_entries() -> None:
    new = avro(rec(("a", "string")))
    old = avro(rec(("a", "string"), ("b", "string")))  # b without a default
    assert not new.incompatibilities(old)  # new reads old: b is ignored
    assert old.incompatibilities(new)  # old reads new: b is missing
    result = check(new, [PreviousVersion(1, old, "o")], "FULL")
    assert result.is_compatible is False
    assert not any(m.startswith("{oldSchema") for m in result.messages)
    assert result.messages[-1] == trailer("FULL")
    assert all("READER_FIELD_MISSING_DEFAULT_VALUE" in m for m in result.messages[:-1])


def test_different_schema_type_is_the_only_message_then_the_trailer() -> None:
    new = avro('"string"')
    other = parse_schema("JSON", '{"type": "string"}')
    result = check(new, [PreviousVersion(1, other, '{"type":"string"}')], "BACKWARD")
    assert result.messages == [DIFFERENT_SCHEMA_TYPE, trailer("BACKWARD")]
    assert check(new, [PreviousVersion(1, other, "x")], "NONE").is_compatible


def test_different_schema_type_of_an_older_version_only_matters_to_transitive_levels() -> None:
    new = avro('"string"')
    same = PreviousVersion(2, avro('"string"'), '"string"')
    other = PreviousVersion(1, parse_schema("JSON", '{"type": "string"}'), "{}")
    assert check(new, [same, other], "FORWARD").is_compatible
    result = check(new, [same, other], "FORWARD_TRANSITIVE")
    assert result.messages == [DIFFERENT_SCHEMA_TYPE, trailer("FORWARD_TRANSITIVE")]


def test_transitive_stops_at_the_newest_failing_version() -> None:
    history = [rec(("a", "int")), rec(("a", "long")), rec(("a", "string"))]
    new = rec(("a", "long"))
    result = check_texts("AVRO", new, history, "BACKWARD_TRANSITIVE")
    assert result.is_compatible is False
    # newest first: v3 (string) fails; v1 (int, promotable to long) would not
    assert "{oldSchemaVersion: 3}" in result.messages
    assert sum(m.startswith("{oldSchemaVersion") for m in result.messages) == 1
    assert check_texts("AVRO", rec(("a", "long")), history[:2], "BACKWARD_TRANSITIVE").is_compatible
    # a non-transitive level looks at the latest only
    assert check_texts("AVRO", new, [history[2], history[1]], "BACKWARD").is_compatible
    older = check_texts("AVRO", new, [history[2], history[1]], "BACKWARD_TRANSITIVE")
    assert older.is_compatible is False and "{oldSchemaVersion: 1}" in older.messages


def test_old_schema_is_truncated_above_10_kib_java_characters() -> None:
    exact = "x" * OLD_SCHEMA_LIMIT
    assert old_schema_message(exact) == f"{{oldSchema: '{exact}'}}"
    longer = "y" * (OLD_SCHEMA_LIMIT + 5)
    assert old_schema_message(longer) == "{oldSchema: <truncated> '" + "y" * OLD_SCHEMA_LIMIT + "...'}"
    # Java counts UTF-16 units: a character outside the BMP is two.
    astral = "\U0001F600" * (OLD_SCHEMA_LIMIT // 2) + "z"
    message = old_schema_message(astral)
    assert message == "{oldSchema: <truncated> '" + "\U0001F600" * (OLD_SCHEMA_LIMIT // 2) + "...'}"
    assert old_schema_message("é" * OLD_SCHEMA_LIMIT).startswith("{oldSchema: 'é")  # bytes do not count


def test_large_old_schema_is_truncated_in_the_assembled_messages() -> None:
    fields = [(f"field_with_a_long_name_{n:04d}", "string") for n in range(400)]
    old = rec(*fields)
    new = rec(*fields, ("extra", "string"))
    result = check_texts("AVRO", new, [old], "BACKWARD")
    canonical = avro(old).canonical_string()
    assert len(canonical) > OLD_SCHEMA_LIMIT
    assert result.messages[-2] == "{oldSchema: <truncated> '" + canonical[:OLD_SCHEMA_LIMIT] + "...'}"
    assert result.messages[-3] == "{oldSchemaVersion: 1}"


def test_check_texts_reports_the_canonical_old_schema() -> None:
    result = check_texts("AVRO", '"boolean"', ['  { "type" : "int" }  '], "BACKWARD")
    assert '{oldSchema: \'"int"\'}' in result.messages


# -- the engine cache -----------------------------------------------------------------


def test_pair_cache_is_content_keyed_and_correct() -> None:
    compatibility.clear_cache()
    new_a, old_a = avro(rec(("a", "boolean"))), avro(rec(("a", "int")))
    new_b, old_b = avro(rec(("a", "boolean"))), avro(json.dumps(json.loads(rec(("a", "int"))), indent=2))
    first = pair_incompatibilities(new_a, old_a)
    assert compatibility.cache_size() == 1
    again = pair_incompatibilities(new_b, old_b)  # other objects, same content: a hit
    assert compatibility.cache_size() == 1
    assert first == again == new_a.incompatibilities(old_a)
    assert pair_incompatibilities(old_a, new_a) == old_a.incompatibilities(new_a)
    assert compatibility.cache_size() == 2
    # policy is part of the key
    pair_incompatibilities(new_a, old_a, "LENIENT")
    assert compatibility.cache_size() == 3


def test_pair_cache_is_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.bounded import BoundedCache

    monkeypatch.setattr(compatibility, "_pair_cache", BoundedCache(5 * 400, max_item_bytes=400))
    new = avro(rec(("a", "string")))
    for n in range(12):
        pair_incompatibilities(new, avro(rec(("a", "string"), (f"f{n}", "int"))))
    assert 0 < compatibility.cache_size() <= 5
    assert compatibility._pair_cache.nbytes <= 5 * 400


def test_fingerprint_covers_references() -> None:
    dep_v1 = Dependency("Inner", avro(rec(("x", "int"), name="Inner")), "inner", 1)
    dep_v2 = Dependency("Inner", avro(rec(("x", "string"), name="Inner")), "inner", 2)
    text = json.dumps({"type": "record", "name": "Outer", "fields": [{"name": "i", "type": "Inner"}]})
    one, two = parse_schema("AVRO", text, [dep_v1]), parse_schema("AVRO", text, [dep_v2])
    assert one.canonical_string() == two.canonical_string()
    assert fingerprint(one) != fingerprint(two)
    compatibility.clear_cache()
    assert pair_incompatibilities(one, one) == []
    assert pair_incompatibilities(two, one) != []  # not served from the one/one entry


# -- §0.4 validateFields and confluent:reserved -----------------------------------------


def test_reserved_fields_parse_like_java() -> None:
    assert reserved_fields(None) == []
    assert reserved_fields({"properties": {"confluent:reserved": " a, ,b ,a"}}) == java_hash_set_order(["a", "b"])
    assert compatibility._java_string_hash("hello") == 99162322
    assert compatibility._java_string_hash("Aa") == compatibility._java_string_hash("BB") == 2112
    # HashSet iteration: by bucket (hash ^ hash>>>16) & 15, insertion order within a bucket
    assert java_hash_set_order(["Aa", "BB"]) == ["Aa", "BB"]
    assert java_hash_set_order(["BB", "Aa"]) == ["BB", "Aa"]
    assert java_hash_set_order(["b", "a", "c"]) == ["a", "b", "c"]


def reserved(fields: str, **extra: str) -> dict:
    return {"properties": {"confluent:reserved": fields, **extra}}


def test_validate_fields_messages_come_first(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD", "validateFields": True})
    registry.register("s", RegisterRequest(schema=rec(("a", "int")), metadata=reserved("cost,status")))
    new = RegisterRequest(schema=rec(("a", "boolean"), ("cost", "int", 0)), metadata=reserved("cost"))
    result = registry.check_compatibility("s", new, verbose=True)
    assert result.is_compatible is False
    assert result.messages[:2] == [
        "The new schema has reserved field status removed from its metadata which is present in the old "
        "schema's metadata.",
        "The new schema has field that conflicts with the reserved field cost.",
    ]
    assert "TYPE_MISMATCH" in result.messages[2]
    assert result.messages[-3:] == [
        "{oldSchemaVersion: 1}",
        f"{{oldSchema: '{avro(rec(('a', 'int'))).canonical_string()}'}}",
        trailer("BACKWARD", True),
    ]
    with pytest.raises(IncompatibleSchema) as raised:
        registry.register("s", new)
    assert raised.value.messages == result.messages


def test_validate_fields_fails_even_under_none_and_is_off_by_default(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "NONE"})
    registry.register("s", RegisterRequest(schema=rec(("a", "int")), metadata=reserved("a")))
    conflicting = RegisterRequest(schema=rec(("a", "string")), metadata=reserved("a"))
    assert registry.check_compatibility("s", conflicting, verbose=True).is_compatible
    registry.set_config("s", {"validateFields": True})
    result = registry.check_compatibility("s", conflicting, verbose=True)
    assert result.messages == [
        "The new schema has field that conflicts with the reserved field a.",
        trailer("NONE", True),
    ]


def test_validate_fields_top_level_fields_per_format(registry: Registry) -> None:
    registry.set_config(None, {"compatibility": "NONE", "validateFields": True})
    proto = 'syntax = "proto3";\nmessage First { string cost = 1; }\nmessage Second { string status = 1; }\n'
    json_schema = '{"type": "object", "properties": {"cost": {"type": "number"}}, "required": ["cost"]}'
    for subject, schema_type, text in (("p", "PROTOBUF", proto), ("j", "JSON", json_schema)):
        request = RegisterRequest(schema=text, schema_type=schema_type, metadata=reserved("cost,status"))
        result = registry.check_compatibility(subject, request, verbose=True)
        # Only the first Protobuf message and top-level JSON properties count.
        assert result.messages == [
            "The new schema has field that conflicts with the reserved field cost.",
            trailer("NONE", True),
        ], subject


def test_validate_fields_checks_the_latest_version_before_the_group_filter(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD", "compatibilityGroup": "major"})
    registry.register("s", RegisterRequest(schema=rec(("a", "int")), metadata=reserved("x", major="1")))
    registry.register("s", RegisterRequest(schema=rec(("b", "int")), metadata=reserved("y", major="2")))
    registry.set_config("s", {"validateFields": True})
    request = RegisterRequest(schema=rec(("a", "int"), ("c", "int", 0)), metadata={"properties": {"major": "1"}})
    result = registry.check_compatibility("s", request, verbose=True)
    # The reserved field of v2 (the latest, another group) is checked; compatibility only against v1.
    assert result.messages == [
        "The new schema has reserved field y removed from its metadata which is present in the old schema's "
        "metadata.",
        trailer("BACKWARD", True),
    ]
    breaking = RegisterRequest(schema=rec(("a", "string")), metadata=reserved("y", major="1"))
    result = registry.check_compatibility("s", breaking, verbose=True)
    assert "TYPE_MISMATCH" in result.messages[0] and result.messages[1] == "{oldSchemaVersion: 1}"


def test_register_without_metadata_inherits_the_reserved_fields(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD", "validateFields": True})
    registry.register("s", RegisterRequest(schema=rec(("a", "int")), metadata=reserved("z")))
    record = registry.register("s", RegisterRequest(schema=rec(("a", "int"), ("b", "int", 0))))
    assert record.version == 2 and record.metadata == reserved("z")


# -- §0.2 version selection on the service ---------------------------------------------------


def test_single_version_check_ignores_transitivity_and_keeps_the_level(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "NONE"})
    registry.register("s", RegisterRequest(schema=rec(("a", "int"))))
    registry.register("s", RegisterRequest(schema=rec(("a", "string"))))
    registry.set_config("s", {"compatibility": "BACKWARD_TRANSITIVE"})
    new = RegisterRequest(schema=rec(("a", "string")))
    assert registry.check_compatibility("s", new, version="2", verbose=True).is_compatible
    assert registry.check_compatibility("s", new, version="latest", verbose=True).is_compatible
    one = registry.check_compatibility("s", new, version="1", verbose=True)
    assert one.is_compatible is False
    assert one.messages[-3:-1] == old_entries(1, avro(rec(("a", "int"))).canonical_string())
    assert one.messages[-1] == trailer("BACKWARD_TRANSITIVE")
    everything = registry.check_compatibility("s", new, verbose=True)
    assert everything.messages == one.messages


def test_latest_check_with_a_group_uses_the_subjects_latest_version(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD", "compatibilityGroup": "major"})
    registry.register("s", RegisterRequest(schema=rec(("a", "int")), metadata={"properties": {"major": "1"}}))
    registry.register("s", RegisterRequest(schema=rec(("z", "int")), metadata={"properties": {"major": "2"}}))
    breaking = RegisterRequest(schema=rec(("a", "string")), metadata={"properties": {"major": "1"}})
    # latest (v2) is in another group: nothing to check against
    assert registry.check_compatibility("s", breaking, version="latest").is_compatible
    # without a version the group's own history (v1) is checked
    result = registry.check_compatibility("s", breaking, verbose=True)
    assert result.is_compatible is False and "{oldSchemaVersion: 1}" in result.messages


def test_normalize_applies_to_the_new_schema_before_the_check(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD"})
    first = registry.register("s", RegisterRequest(schema='{"type":"object","properties":{"a":{"type":"string"},'
                                                          '"b":{"type":"integer"}}}', schema_type="JSON"))
    reordered = RegisterRequest(schema='{"properties":{"b":{"type":"integer"},"a":{"type":"string"}},'
                                       '"type":"object"}', schema_type="JSON")
    assert registry.check_compatibility("s", reordered, normalize=True, verbose=True).is_compatible
    again = registry.register("s", reordered, normalize=True)
    assert again.version in (first.version, 2)
    assert registry.lookup("s", reordered, normalize=True).id == again.id
