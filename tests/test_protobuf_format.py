"""The Protobuf format: parsing, canonical and normalized text, references,
built-in imports, serialized descriptors, helpers and hostile input."""

from __future__ import annotations

import base64
import time

import pytest
from google.protobuf import descriptor_pb2

from registry.formats.base import Dependency, InvalidSchemaError
from registry.formats.protobuf import ProtobufFormat, ProtobufSchema

FORMAT = ProtobufFormat()

ORDER = """syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

option java_package = "com.shop";
option java_multiple_files = true;

message Order {
  reserved 9, 12 to 15;
  reserved "legacy";
  string id = 1;
  map<string, Line> lines = 2;
  google.protobuf.Timestamp at = 3;
  optional int64 total = 4 [deprecated = true];
  repeated Status history = 5;
  oneof payment {
    string card = 6;
    bytes token = 7;
  }
  message Line { int32 qty = 1; }
  enum Status { NEW = 0; PAID = 1; }
}

service Orders {
  rpc Get (Order) returns (stream Order);
}
"""

ORDER_CANONICAL = """syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

option java_package = "com.shop";
option java_multiple_files = true;

message Order {
  reserved 9;
  reserved 12 to 15;
  reserved "legacy";

  string id = 1;
  map<string, .shop.v1.Order.Line> lines = 2;
  .google.protobuf.Timestamp at = 3;
  optional int64 total = 4 [deprecated = true];
  repeated .shop.v1.Order.Status history = 5;

  oneof payment {
    string card = 6;
    bytes token = 7;
  }

  message Line {
    int32 qty = 1;
  }
  enum Status {
    NEW = 0;
    PAID = 1;
  }
}

service Orders {
  rpc Get (.shop.v1.Order) returns (stream .shop.v1.Order);
}
"""


def test_canonical_text() -> None:
    assert FORMAT.parse(ORDER).canonical_string() == ORDER_CANONICAL


def test_canonical_text_is_a_fixed_point() -> None:
    schema = FORMAT.parse(ORDER)
    assert FORMAT.parse(schema.canonical_string()).canonical_string() == ORDER_CANONICAL


def test_proto2_labels_defaults_and_groups() -> None:
    text = """syntax = "proto2";
message A {
  required int32 a = 1 [default = 7];
  optional string b = 2 [default = "x\\"y", json_name = "bee"];
  optional group G = 3 { optional int32 c = 4; }
  extensions 100 to max;
}
"""
    canonical = FORMAT.parse(text).canonical_string()
    assert canonical == """
message A {
  required int32 a = 1 [default = 7];
  optional string b = 2 [
    default = "x\\"y",
    json_name = "bee"
  ];
  optional group G = 3 {
    optional int32 c = 4;
  }

  extensions 100 to max;
}
"""
    assert FORMAT.parse(canonical).canonical_string() == canonical


def test_normalized_sorts_but_keeps_type_order() -> None:
    text = """syntax = "proto3";
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
option java_package = "p";
option go_package = "g";
enum E { A = 0; C = 2; B = 1; }
message Z { int32 b = 2; int32 a = 1; }
message Y {}
"""
    normalized = FORMAT.parse(text).normalized()
    assert normalized.canonical_string() == """syntax = "proto3";

import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";

option go_package = "g";
option java_package = "p";

message Z {
  int32 a = 1;
  int32 b = 2;
}
message Y {}
enum E {
  A = 0;
  B = 1;
  C = 2;
}
"""
    assert normalized.normalized() is normalized
    assert FORMAT.parse(text).canonical_string() != normalized.canonical_string()


def test_parse_error_carries_protoc_message() -> None:
    with pytest.raises(InvalidSchemaError, match=r"schema\.proto:2:\d+: .*Foo.* is not defined"):
        FORMAT.parse('syntax = "proto3";\nmessage M { Foo f = 1; }\n')
    with pytest.raises(InvalidSchemaError, match=r"schema\.proto:1:\d+: Expected"):
        FORMAT.parse("message {")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_schema(text: str) -> None:
    with pytest.raises(InvalidSchemaError):
        FORMAT.parse(text)


def test_serialized_descriptor_gives_same_canonical_string() -> None:
    schema = FORMAT.parse(ORDER)
    serialized = schema.formatted("serialized")
    again = FORMAT.parse(serialized)
    assert again.canonical_string() == ORDER_CANONICAL
    assert again.formatted("serialized") == serialized
    assert schema.formatted(None) == ORDER_CANONICAL


def test_descriptor_from_a_dynamic_pool_as_the_python_serializer_sends_it() -> None:
    schema = FORMAT.parse(ORDER)
    file = schema.message_descriptor("shop.v1.Order").file
    sent = base64.b64encode(file.serialized_pb).decode("ascii")
    assert FORMAT.parse(sent).canonical_string() == ORDER_CANONICAL


def test_generated_module_descriptor_matches_text() -> None:
    from confluent_kafka.schema_registry.confluent.type import decimal_pb2

    sent = base64.b64encode(decimal_pb2.DESCRIPTOR.serialized_pb).decode("ascii")
    text = 'syntax = "proto3";\npackage confluent.type;\nmessage Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }'
    assert FORMAT.parse(sent).canonical_string() == FORMAT.parse(text).canonical_string()


def test_serialized_descriptor_with_unknown_type_is_invalid() -> None:
    fdp = FORMAT.parse('syntax = "proto3";\nmessage M { int32 a = 1; }').file_descriptor_proto()
    fdp.message_type[0].field[0].type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
    fdp.message_type[0].field[0].type_name = ".nope.Missing"
    with pytest.raises(InvalidSchemaError):
        FORMAT.parse(base64.b64encode(fdp.SerializeToString()).decode())


def _dep(name: str, text: str, deps: list[Dependency] = ()) -> Dependency:
    return Dependency(name, FORMAT.parse(text, list(deps)), subject=name, version=1)


def test_imports_resolve_through_dependencies() -> None:
    base = _dep("common/base.proto", 'syntax = "proto3";\npackage common;\nmessage Id { string v = 1; }')
    mid = _dep("common/mid.proto",
               'syntax = "proto3";\npackage common;\nimport "common/base.proto";\nmessage Ref { Id id = 1; }', [base])
    text = 'syntax = "proto3";\nimport "common/mid.proto";\nmessage Top { common.Ref ref = 1; }'
    schema = FORMAT.parse(text, [mid])
    assert "  .common.Ref ref = 1;\n" in schema.canonical_string()
    assert FORMAT.parse(schema.formatted("serialized"), [mid]).canonical_string() == schema.canonical_string()
    assert schema.message_class("Top").DESCRIPTOR.fields[0].message_type.full_name == "common.Ref"
    with pytest.raises(InvalidSchemaError, match="common/mid.proto"):
        FORMAT.parse(text)


def test_well_known_and_google_type_imports() -> None:
    text = 'syntax = "proto3";\nimport "google/protobuf/any.proto";\nimport "google/protobuf/wrappers.proto";\n' \
           "message M { google.protobuf.Any a = 1; google.protobuf.StringValue s = 2; }"
    assert ".google.protobuf.StringValue s = 2;" in FORMAT.parse(text).canonical_string()
    text = 'syntax = "proto3";\nimport "google/type/money.proto";\nmessage P { google.type.Money m = 1; }'
    assert ".google.type.Money m = 1;" in FORMAT.parse(text).canonical_string()


def test_confluent_meta_and_decimal() -> None:
    text = """syntax = "proto3";
import "confluent/meta.proto";
import "confluent/type/decimal.proto";
message Price {
  option (confluent.message_meta).doc = "a price";
  confluent.type.Decimal amount = 1 [(confluent.field_meta) = { params: [{ key: "precision", value: "8" }] }];
}
"""
    canonical = FORMAT.parse(text).canonical_string()
    assert 'option (confluent.message_meta) = {\n    doc: "a price"\n  };' in canonical
    assert '(confluent.field_meta) = {\n    params: [\n      {\n        value: "8",\n        key: "precision"' in canonical
    assert FORMAT.parse(canonical).canonical_string() == canonical


def test_record_name_and_message_indexes() -> None:
    schema = FORMAT.parse(ORDER)
    assert schema.record_name() == "shop.v1.Order"
    assert schema.name_for_indexes([]) == "shop.v1.Order"
    assert schema.indexes_for_name("shop.v1.Order.Line") == [0, 1]
    assert schema.name_for_indexes([0, 1]) == "shop.v1.Order.Line"
    with pytest.raises(KeyError):
        schema.name_for_indexes([3])
    assert FORMAT.parse('syntax = "proto3";\nenum E { A = 0; }').record_name() is None


def test_message_class_round_trips_data() -> None:
    cls = FORMAT.parse(ORDER).message_class()
    msg = cls(id="o-1", total=5, card="4111")
    msg.lines["a"].qty = 2
    assert cls.FromString(msg.SerializeToString()) == msg


def test_incompatibility_template() -> None:
    old = FORMAT.parse('syntax = "proto3";\npackage a;\nmessage M { string f = 1; }')
    new = FORMAT.parse('syntax = "proto3";\npackage a;\nmessage M { int32 f = 1; }')
    [problem] = new.incompatibilities(old)
    assert problem.error_type == "FIELD_SCALAR_KIND_CHANGED"
    assert problem.location == "#/M/1"
    assert problem.render("new", "old") == (
        '{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '
        "'#/M/1' in the new schema does not match its kind in the old schema\"}"
    )
    assert new.incompatibilities(new) == []


@pytest.mark.parametrize("text", [
    'syntax = "proto3";\n' + "message A { " * 5000 + "}" * 5000,
    'syntax = "proto3";\nimport "google/protobuf/descriptor.proto";\nmessage R { R r = 1; }\n'
    "extend google.protobuf.MessageOptions { R ro = 5000; }\n"
    "message M { option (ro) = " + "{r: " * 20000 + "{}" + "}" * 20000 + "; }",
    'syntax = "proto3";\n//' + "x" * (5 * 1024 * 1024),
    "\x00\xff" * 1000,
    "AAAA" * 1000,
    "message \ud800 {}",
])
def test_hostile_input_is_invalid_not_a_crash(text: str) -> None:
    with pytest.raises(InvalidSchemaError):
        FORMAT.parse(text)


def test_parse_is_fast_and_cached() -> None:
    text = ORDER.replace("Order", "Bill")
    start = time.perf_counter()
    first = FORMAT.parse(text)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    second = FORMAT.parse(text)
    warm = time.perf_counter() - start
    assert cold < 0.5 and warm < cold
    assert isinstance(second, ProtobufSchema)
    assert second.canonical_string() == first.canonical_string()


@pytest.mark.parametrize("text", [";", 'syntax = "proto2";', " ;\n;"])
def test_a_file_that_declares_nothing_is_an_empty_schema(text: str) -> None:
    """Found by fuzzing: it would render as "", which no registry can read back."""
    with pytest.raises(InvalidSchemaError, match="Empty schema"):
        FORMAT.parse(text)
