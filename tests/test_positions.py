"""Element positions: every engine location of a real incompatibility maps to a line and column."""

from __future__ import annotations

from registry.compatibility import PreviousVersion, check
from registry.formats import parse_schema
from registry.formats.positions import Position, element_positions, parse_location

AVRO_OLD = """{
  "type": "record",
  "name": "Order",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "amount", "type": "double"}
  ]
}"""
AVRO_NEW = """{
  "type": "record",
  "name": "Order",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "amount", "type": "string"},
    {"name": "note", "type": "string"}
  ]
}"""

PROTO_OLD = """syntax = "proto3";
package shop;

message Order {
  int64 id = 1;
  // a comment with { braces }
  oneof payment {
    string card = 5;
    string iban = 6;
  }
  enum Status { NEW = 0; PAID = 1; }
}
"""
PROTO_NEW = """syntax = "proto3";
package shop;

message Order {
  string id = 1;
  oneof payment {
    string card = 5;
  }
  enum Status { NEW = 0; }
}
"""

JSON_OLD = '{"type": "object", "properties": {"id": {"type": "integer"}}, "additionalProperties": false}'
JSON_NEW = """{
  "type": "object",
  "properties": {
    "id": {"type": "string"}
  },
  "additionalProperties": false
}"""


def findings(schema_type: str, old: str, new: str, level: str = "FULL") -> list:
    new_schema = parse_schema(schema_type, new)
    old_schema = parse_schema(schema_type, old)
    result = check(new_schema, [PreviousVersion(1, old_schema, old)], level)
    assert not result.is_compatible
    assert [f.message for f in result.findings] == result.messages
    return [f for f in result.findings if f.incompatibility is not None]


def position_of(schema_type: str, finding, old: str, new: str):
    text = new if finding.reader == "new" else old
    located = element_positions(schema_type, text).find(finding.incompatibility.location)
    assert located is not None
    return located


def test_avro_messages_point_at_the_changed_field_in_the_reader() -> None:
    found = findings("AVRO", AVRO_OLD, AVRO_NEW)
    where = {(f.reader, f.incompatibility.error_type): position_of("AVRO", f, AVRO_OLD, AVRO_NEW) for f in found}
    # FULL: the old schema reading new data (forward), then the new reading old (backward).
    assert all(w.exact for w in where.values())
    assert where[("old", "TYPE_MISMATCH")].position == Position(6, 24)
    assert where[("new", "TYPE_MISMATCH")].position == Position(6, 24)
    assert where[("new", "READER_FIELD_MISSING_DEFAULT_VALUE")].position == Position(7, 5)


def test_protobuf_removals_are_found_in_the_old_text_and_changes_in_the_new() -> None:
    found = findings("PROTOBUF", PROTO_OLD, PROTO_NEW, "BACKWARD")
    by_type = {f.incompatibility.error_type: f.incompatibility.location for f in found}
    new_index, old_index = element_positions("PROTOBUF", PROTO_NEW), element_positions("PROTOBUF", PROTO_OLD)
    assert by_type["FIELD_SCALAR_KIND_CHANGED"] == "#/Order/1"
    assert new_index.find("#/Order/1").position == Position(5, 3)
    removed = by_type["ONEOF_FIELD_REMOVED"]
    assert new_index.find(removed).exact is False
    assert old_index.find(removed).position == Position(9, 5)
    assert old_index.find("#/Order/Status/1").position == Position(11, 26)
    assert old_index.find("#/Order").position == Position(4, 1)


def test_json_schema_locations_and_one_line_documents() -> None:
    found = findings("JSON", JSON_OLD, JSON_NEW, "BACKWARD")
    located = position_of("JSON", found[0], JSON_OLD, JSON_NEW)
    assert located.position.line == 4 and located.exact
    one_line = element_positions("JSON", JSON_OLD).find("#/properties/id")
    assert one_line is not None and one_line.position == Position(1, 35)


def test_locations_through_a_named_type_fall_back_to_the_enclosing_element() -> None:
    index = element_positions("AVRO", AVRO_NEW)
    located = index.find("/fields/1/type/fields/3/type")
    assert located is not None and not located.exact and located.position == Position(6, 24)
    assert parse_location("#/properties/a~1b") == ("properties", "a/b")


def test_malformed_text_is_indexed_as_far_as_it_reads() -> None:
    assert element_positions("AVRO", '{"fields": [{"name": "x", "type": ').find("/fields/0/name").exact
    assert element_positions("JSON", '"unterminated').find("#/") is not None
    broken = element_positions("PROTOBUF", "message A { int32 x = 1; /* never closed")
    assert broken.find("#/A/1").position == Position(1, 13)
    assert len(element_positions("PROTOBUF", "}}};;{")) == 0


def test_comments_oneofs_and_the_package_have_positions():
    avro = '{"type": "record", // a comment: "name": "X"\n /* and { another } */ "name": "R", "fields": []}'
    assert element_positions("AVRO", avro).at(("name",)) == Position(2, 24)
    proto = 'syntax = "proto3";\npackage shop;\nmessage M {\n  oneof pay {\n    string card = 1;\n  }\n}\n'
    positions = element_positions("PROTOBUF", proto)
    assert positions.at(()) == Position(2, 1)  # the package statement: what "#/" (PACKAGE_CHANGED) names
    assert positions.at(("M", "pay")) == Position(4, 3) and positions.at(("M", "pay", "1")) == Position(5, 5)
