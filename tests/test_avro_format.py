"""Unit tests of the Avro format: parsing, Java ``toString`` text, normalisation, references."""

from __future__ import annotations

import json

import pytest

from registry.formats import get_format
from registry.formats.avro import AvroFormat, AvroSchema
from registry.formats.avro_model import java_double, java_float
from registry.formats.base import Dependency, InvalidSchemaError

FORMAT = AvroFormat()


def parse(text: str | dict | list, deps: tuple[Dependency, ...] = (), strict: bool = True) -> AvroSchema:
    return FORMAT.parse(text if isinstance(text, str) else json.dumps(text), deps, strict=strict)


def dep(text: str | dict, name: str, deps: tuple[Dependency, ...] = ()) -> Dependency:
    return Dependency(name, parse(text, deps), subject=name, version=1)


# ---------------------------------------------------------------- parse errors

@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"type":"record","name":"ns.R","fields":[{"name":"f1","type":"string","default":null}]}',
         'field "f1" in record "ns.R": default null is not a valid string'),
        ('{"type":"record","name":"R","fields":[{"name":"i","type":"int","default":1.5}]}', "not a valid int"),
        ('{"type":"record","name":"R","fields":[{"name":"i","type":"int","default":4294967296}]}', "not a valid int"),
        ('{"type":"record","name":"R","fields":[{"name":"u","type":["null","int"],"default":"x"}]}', "not a valid union"),
        ('{"type":"strng"}', 'undefined name: "strng"'),
        ('"Missing"', 'undefined name: "Missing"'),
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"type":"double"} trailing', "not valid JSON"),
        ('{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":NaN}]}', "not valid JSON"),
        ("42", "schema not yet supported"),
        ('{"name":"x"}', "no type"),
        ('{"type":"record","fields":[]}', "no name"),
        ('{"type":"record","name":"R"}', "has no fields"),
        ('{"type":"record","name":"R","fields":[{"type":"int"}]}', "no field name"),
        ('{"type":"record","name":"R","fields":[{"name":"a"}]}', "no field type"),
        ('{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"long"}]}',
         "duplicate field a"),
        ('{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"up"}]}', "invalid order"),
        ('{"type":"record","name":"1R","fields":[]}', 'name "1R" is invalid'),
        ('{"type":"record","name":"R","namespace":"a.-b","fields":[]}', 'namespace part "-b" is invalid'),
        ('{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}', 'field name "a-b" is invalid'),
        ('{"type":"record","name":"int","fields":[]}', "may not be named after primitives"),
        ('{"type":"enum","name":"E","symbols":["A","A"]}', "duplicate enum symbol: A"),
        ('{"type":"enum","name":"E","symbols":["A"],"default":"B"}', "not in the enum symbol set"),
        ('{"type":"enum","name":"E","symbols":["1A"]}', 'symbol "1A" is invalid'),
        ('{"type":"enum","name":"E"}', "enum has no symbols"),
        ('{"type":"fixed","name":"F"}', "invalid or no size"),
        ('{"type":"fixed","name":"F","size":-1}', "invalid or no size"),
        ('{"type":"array"}', "array has no items"),
        ('{"type":"map"}', "map has no values"),
        ('["int","int"]', "duplicate in union: int"),
        ('["int",["long"]]', "nested union"),
        ('[{"type":"array","items":"int"},{"type":"array","items":"long"}]', "duplicate in union: array"),
        ('{"type":"record","name":"R","aliases":"x","fields":[]}', "aliases not an array"),
        ('[{"type":"fixed","name":"F","size":1},{"type":"fixed","name":"F","size":2}]', "can't redefine: F"),
    ],
)
def test_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(InvalidSchemaError) as info:
        FORMAT.parse(text)
    assert fragment in str(info.value)
    assert str(info.value).startswith("Invalid schema: ")


def test_lenient_parse_skips_name_and_default_validation() -> None:
    text = '{"type":"record","name":"1R","fields":[{"name":"f-1","type":"string","default":null}]}'
    with pytest.raises(InvalidSchemaError):
        parse(text)
    assert parse(text, strict=False).canonical_string() == text


def test_enum_default_outside_symbols_is_rejected_even_when_lenient() -> None:
    with pytest.raises(InvalidSchemaError):
        parse('{"type":"enum","name":"E","symbols":["A"],"default":"B"}', strict=False)


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"record","name":"R","fields":[{"name":"u","type":["null","string"],"default":"x"}]}',
        '{"type":"record","name":"R","fields":[{"name":"l","type":"long","default":4294967296}]}',
        '{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1}]}',
        '{"type":"record","name":"R","fields":[{"name":"d","type":"float","default":"1.5"}]}',
        '{"type":"record","name":"R","fields":[{"name":"r","type":{"type":"record","name":"S",'
        '"fields":[{"name":"a","type":"int","default":1},{"name":"b","type":"string"}]},"default":{"b":"x"}}]}',
        '{"type":"record","name":"R","fields":[{"name":"a","type":"Later"},'
        '{"name":"b","type":{"type":"fixed","name":"Later","size":2}}]}',
        '/* comment */ {"type": "string" // trailing comment\n}',
    ],
)
def test_valid_schemas_parse(text: str) -> None:
    parse(text)


def test_get_format_returns_avro() -> None:
    assert isinstance(get_format("AVRO"), AvroFormat)


# ---------------------------------------------------------------- canonical string (Java Schema.toString)

@pytest.mark.parametrize(
    ("text", "java"),
    [
        ('{"type": "string"}', '"string"'),
        ('"long"', '"long"'),
        (
            '{"namespace": "com.example", "type": "record", "name": "User", "fields": ['
            '{"name": "name", "type": "string"}, {"name": "favorite_number", "type": ["int", "null"]}]}',
            '{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"name","type":"string"},'
            '{"name":"favorite_number","type":["int","null"]}]}',
        ),
        (
            '{"type":"record","name":"Outer","namespace":"a","fields":['
            '{"name":"same","type":{"type":"record","name":"Same","fields":[]}},'
            '{"name":"other","type":{"type":"record","name":"Inner","namespace":"b","fields":[]}},'
            '{"name":"none","type":{"type":"record","name":"Top","namespace":"","fields":[]}},'
            '{"name":"again","type":"b.Inner"},{"name":"same2","type":"Same"},{"name":"top2","type":"Top"}]}',
            '{"type":"record","name":"Outer","namespace":"a","fields":['
            '{"name":"same","type":{"type":"record","name":"Same","fields":[]}},'
            '{"name":"other","type":{"type":"record","name":"Inner","namespace":"b","fields":[]}},'
            '{"name":"none","type":{"type":"record","name":"Top","namespace":"","fields":[]}},'
            '{"name":"again","type":"b.Inner"},{"name":"same2","type":"Same"},{"name":"top2","type":"Top"}]}',
        ),
        (
            '{"fields":[{"custom":true,"aliases":["g"],"default":1,"doc":"d","order":"ignore","type":"int","name":"f"}],'
            '"name":"R","type":"record","aliases":["Old"],"doc":"rd","p":[1,2]}',
            '{"type":"record","name":"R","doc":"rd","fields":[{"name":"f","type":"int","doc":"d","default":1,'
            '"order":"ignore","aliases":["g"],"custom":true}],"p":[1,2],"aliases":["Old"]}',
        ),
        (
            '{"symbols":["A","B"],"type":"enum","default":"A","name":"E","doc":"x","aliases":["F"],"p":1}',
            '{"type":"enum","name":"E","doc":"x","symbols":["A","B"],"default":"A","p":1,"aliases":["F"]}',
        ),
        ('{"size":16,"type":"fixed","name":"md5","namespace":"h"}', '{"type":"fixed","name":"md5","namespace":"h","size":16}'),
        ('{"type":"bytes","scale":2,"precision":4,"logicalType":"decimal"}',
         '{"type":"bytes","scale":2,"precision":4,"logicalType":"decimal"}'),
        ('{"values":"int","type":"map","x":"y"}', '{"type":"map","values":"int","x":"y"}'),
        ('{"type":"error","name":"Oops","fields":[]}', '{"type":"error","name":"Oops","fields":[]}'),
        (
            '{"type":"record","name":"n.R","aliases":["Old","m.Other"],"fields":[]}',
            '{"type":"record","name":"R","namespace":"n","fields":[],"aliases":["Old","m.Other"]}',
        ),
        (
            '{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":1e10},'
            '{"name":"b","type":"double","default":0.0001},{"name":"c","type":"float","default":"NaN"},'
            '{"name":"d","type":"string","default":"\\u0001é"}]}',
            '{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":1.0E10},'
            '{"name":"b","type":"double","default":1.0E-4},{"name":"c","type":"float","default":"NaN"},'
            '{"name":"d","type":"string","default":"\\u0001é"}]}',
        ),
        (
            '{"type":"record","name":"List","fields":[{"name":"next","type":["null","List"],"default":null}]}',
            '{"type":"record","name":"List","fields":[{"name":"next","type":["null","List"],"default":null}]}',
        ),
        (
            '{"type":"record","name":"ns.R","fields":[{"name":"r","type":{"type":"record","name":"record","fields":[]}},'
            '{"name":"again","type":"ns.record"}]}',
            '{"type":"record","name":"R","namespace":"ns","fields":[{"name":"r","type":{"type":"record",'
            '"name":"record","fields":[]}},{"name":"again","type":"ns.record"}]}',
        ),
    ],
)
def test_canonical_string_is_java_to_string(text: str, java: str) -> None:
    schema = parse(text)
    assert schema.canonical_string() == java
    assert parse(java).canonical_string() == java


@pytest.mark.parametrize(
    ("value", "java"),
    [(1.0, "1.0"), (100.0, "100.0"), (1e7, "1.0E7"), (1234567.5, "1234567.5"), (0.001, "0.001"),
     (0.0001, "1.0E-4"), (-2.5e-10, "-2.5E-10"), (-0.0, "-0.0"), (float("inf"), '"Infinity"')],
)
def test_java_double_format(value: float, java: str) -> None:
    assert java_double(value) == java


def test_java_float_format() -> None:
    assert java_float(0.1) == "0.1"
    assert java_float(3.141592653589793) == "3.1415927"
    assert java_float(1e10) == "1.0E10"


# ---------------------------------------------------------------- normalisation

def test_equivalent_schemas_normalize_to_one_string() -> None:
    variants = [
        '{"type":"record","name":"R","namespace":"ns","fields":[{"name":"a","type":"int"},'
        '{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}}]}',
        '{ "fields" : [ {"type":"int", "name":"a"}, {"name":"e","type":{"symbols":["X","Y"],"name":"ns.E",'
        '"type":"enum"}} ], "name" : "ns.R", "type" : "record" }',
        '{"name":"R","type":"record","namespace":"ns","fields":[{"name":"a","type":{"type":"int"}},'
        '{"name":"e","type":{"type":"enum","name":"E","namespace":"ns","symbols":["X","Y"]}}]}',
    ]
    normalized = {parse(text).normalized().canonical_string() for text in variants}
    assert normalized == {
        '{"type":"record","name":"R","namespace":"ns","fields":[{"name":"a","type":"int"},'
        '{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}}]}'
    }


def test_normalization_sorts_properties_and_aliases_and_keeps_docs() -> None:
    schema = parse(
        '{"type":"record","name":"R","doc":"keep","z":1,"a":{"y":1,"b":2},"aliases":["Z","B"],"fields":['
        '{"name":"f","type":{"type":"bytes","scale":2,"precision":4,"logicalType":"decimal"},'
        '"aliases":["q","c"],"doc":"fd","default":"\\u00ff"},{"name":"d","type":"double","default":1}]}'
    )
    assert schema.normalized().canonical_string() == (
        '{"type":"record","name":"R","doc":"keep","fields":[{"name":"f","type":{"type":"bytes",'
        '"logicalType":"decimal","precision":4,"scale":2},"doc":"fd","default":"ÿ","aliases":["c","q"]},'
        '{"name":"d","type":"double","default":1.0}],"a":{"b":2,"y":1},"z":1,"aliases":["B","Z"]}'
    )


def test_normalized_is_idempotent() -> None:
    schema = parse('{"type":"record","name":"a.R","fields":[{"name":"x","type":["null","a.R"],"default":null}]}')
    once = schema.normalized()
    assert once.normalized().canonical_string() == once.canonical_string()


# ---------------------------------------------------------------- references

def test_named_types_from_references_resolve_and_stay_by_name() -> None:
    address = dep('{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"}]}',
                  "com.acme.Address")
    text = ('{"type":"record","name":"Customer","namespace":"com.acme","fields":['
            '{"name":"home","type":"Address"},{"name":"work","type":"com.acme.Address"}]}')
    customer = parse(text, (address,))
    assert customer.canonical_string() == (
        '{"type":"record","name":"Customer","namespace":"com.acme","fields":[{"name":"home","type":"Address"},'
        '{"name":"work","type":"Address"}]}'
    )
    assert customer.formatted("resolved") == (
        '{"type":"record","name":"Customer","namespace":"com.acme","fields":[{"name":"home","type":'
        '{"type":"record","name":"Address","fields":[{"name":"street","type":"string"}]}},'
        '{"name":"work","type":"Address"}]}'
    )
    assert customer.formatted(None) == customer.canonical_string()
    assert customer.normalized().canonical_string() == customer.canonical_string()
    assert customer.record_name() == "com.acme.Customer"


def test_transitive_references_and_missing_reference() -> None:
    money = dep('{"type":"fixed","name":"Money","size":8}', "Money")
    line = dep('{"type":"record","name":"Line","fields":[{"name":"price","type":"Money"}]}', "Line", (money,))
    order = parse('{"type":"record","name":"Order","fields":[{"name":"lines","type":{"type":"array","items":"Line"}},'
                  '{"name":"total","type":"Money"}]}', (line,))
    assert '"total","type":"Money"' in order.canonical_string()
    with pytest.raises(InvalidSchemaError, match='undefined name: "Line"'):
        parse('{"type":"record","name":"Order","fields":[{"name":"l","type":"Line"}]}')


def test_compatibility_across_referenced_types() -> None:
    old_dep = dep('{"type":"enum","name":"Color","symbols":["RED","GREEN"]}', "Color")
    new_dep = dep('{"type":"enum","name":"Color","symbols":["RED"]}', "Color")
    text = '{"type":"record","name":"Car","fields":[{"name":"c","type":"Color"}]}'
    old, new = parse(text, (old_dep,)), parse(text, (new_dep,))
    [problem] = new.incompatibilities(old)
    assert (problem.error_type, problem.location) == ("MISSING_ENUM_SYMBOLS", "/fields/0/type/symbols")
    assert problem.render("new", "old") == (
        "{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols '[GREEN]' at path "
        "'/fields/0/type/symbols' in the old schema', additionalInfo:'[GREEN]'}"
    )
    assert old.incompatibilities(new) == []


# ---------------------------------------------------------------- compatibility details

def test_record_name_for_other_types() -> None:
    assert parse('"int"').record_name() == "int"
    assert parse('["null","int"]').record_name() is None
    assert parse('{"type":"enum","name":"a.E","symbols":["A"]}').record_name() == "a.E"


def test_enum_default_quirk_and_field_alias_conflict() -> None:
    writer = parse('{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}')
    enum_reader = parse('{"type":"record","name":"R","fields":[{"name":"e","type":'
                        '{"type":"enum","name":"E","symbols":["A"],"default":"A"}}]}')
    [problem] = enum_reader.incompatibilities(writer)
    assert (problem.error_type, problem.location) == ("TYPE_MISMATCH", "/fields/0/type")
    assert "reader type: ENUM not compatible with writer type: RECORD" in problem.template
    conflicting = parse('{"type":"record","name":"R","fields":[{"name":"a","type":"int","aliases":["b"]}]}')
    [problem] = conflicting.incompatibilities(writer)
    assert problem.template.startswith("Unexpected exception during compatibility check: Reader record field a")


def test_repeated_named_type_reports_first_location_twice() -> None:
    writer = parse('{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":4}},'
                   '{"name":"b","type":"F"}]}')
    reader = parse('{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":8}},'
                   '{"name":"b","type":"F"}]}')
    locations = [p.location for p in reader.incompatibilities(writer)]
    assert locations == ["/fields/0/type/size", "/fields/0/type/size"]


def test_aliases_and_namespaces_in_name_matching() -> None:
    writer = parse('{"type":"record","name":"old.Thing","fields":[{"name":"x","type":"int"}]}')
    moved = parse('{"type":"record","name":"new.Thing","fields":[{"name":"x","type":"int"}]}')
    renamed = parse('{"type":"record","name":"n.Other","aliases":["old.Thing"],"fields":[{"name":"y","type":"int",'
                    '"aliases":["x"]}]}')
    assert moved.incompatibilities(writer) == []
    assert renamed.incompatibilities(writer) == []
    [problem] = parse('{"type":"record","name":"Other","fields":[]}').incompatibilities(writer)
    assert (problem.error_type, problem.location) == ("NAME_MISMATCH", "/name")
    assert "additionalInfo:'expected: old.Thing'" in problem.template


def test_logical_types_compare_as_underlying_types() -> None:
    old = parse('{"type":"int","logicalType":"date"}')
    assert parse('"long"').incompatibilities(old) == []
    assert parse('{"type":"long","logicalType":"timestamp-millis"}').incompatibilities(old) == []


# ---------------------------------------------------------------- hostile input

@pytest.mark.parametrize(
    "text",
    [
        "[" * 10000 + "]" * 10000,
        '{"type":"array","items":' * 10000 + '"int"' + "}" * 10000,
        '{"a":' * 100000 + "1" + "}" * 100000,
    ],
)
def test_deep_nesting_is_an_invalid_schema(text: str) -> None:
    with pytest.raises(InvalidSchemaError):
        FORMAT.parse(text)


def test_nesting_within_the_limit_works() -> None:
    text = '"int"'
    for i in range(160):
        text = f'{{"type":"record","name":"R{i}","fields":[{{"name":"f","type":{text}}}]}}'
    schema = parse(text)
    assert schema.canonical_string() == text
    assert schema.incompatibilities(parse(text)) == []
    assert schema.normalized().canonical_string() == text


def test_long_chain_of_forward_references() -> None:
    fields = [{"name": f"f{i}", "type": {"type": "record", "name": f"T{i}", "fields": [
        {"name": "next", "type": ["null", f"T{i + 1}"] if i < 999 else "null"}]}} for i in range(1000)]
    writer = parse({"type": "record", "name": "Chain", "fields": fields})
    fields[-1]["type"]["fields"][0]["type"] = "int"
    reader = parse({"type": "record", "name": "Chain", "fields": fields})
    problems = reader.incompatibilities(writer)
    assert {p.error_type for p in problems} == {"MISSING_UNION_BRANCH", "TYPE_MISMATCH"}
    assert problems[0].location == "/fields/0/type/fields/0/type/1"
