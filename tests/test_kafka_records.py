"""``_schemas`` keys and values against byte strings written from sr-api.md §4."""

from __future__ import annotations

import json

import pytest

from registry.formats.base import Reference
from registry.stores.kafka_records import NOOP_KEY, RecordFormatError, decode, encode
from registry.stores.records import (
    ClearSubjectRecord,
    ConfigRecord,
    ContextRecord,
    DeleteSubjectRecord,
    ModeRecord,
    SchemaRecord,
    SchemaTombstone,
)

AVRO = '{"type":"string"}'


def test_schema_key_and_value_bytes() -> None:
    record = SchemaRecord.of("s", 1, 7, "AVRO", AVRO)
    key, value = encode(record)
    assert key == b'{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}'
    assert value == b'{"subject":"s","version":1,"id":7,"schema":"{\\"type\\":\\"string\\"}","deleted":false}'
    back = decode(key, value)
    assert isinstance(back, SchemaRecord)
    assert (back.subject, back.version, back.id, back.schema_type, back.schema, back.deleted) == (
        "s", 1, 7, "AVRO", AVRO, False,
    )


def test_schema_value_field_order_with_type_references_metadata_rules() -> None:
    record = SchemaRecord.of(
        "p", 2, 3, "PROTOBUF", "syntax = \"proto3\";", (Reference("dep.proto", "dep", 1),),
        metadata={"properties": {"a": "b"}}, rule_set={"domainRules": []}, deleted=True,
    )
    _, value = encode(record)
    assert value is not None
    assert list(json.loads(value)) == [
        "subject", "version", "id", "schemaType", "references", "metadata", "ruleSet", "schema", "deleted",
    ]
    back = decode(*encode(record))
    assert isinstance(back, SchemaRecord)
    assert back.references == (Reference("dep.proto", "dep", 1),) and back.deleted
    assert back.metadata == {"properties": {"a": "b"}} and back.rule_set == {"domainRules": []}


def test_hard_delete_is_a_tombstone_with_the_same_key_bytes() -> None:
    key, value = encode(SchemaTombstone("s", 1))
    assert value is None
    assert key == encode(SchemaRecord.of("s", 1, 7, "AVRO", AVRO))[0]
    assert decode(key, None) == SchemaTombstone("s", 1)


def test_context_qualified_subject_and_unicode_in_keys() -> None:
    key, _ = encode(SchemaRecord.of(":.ctx:sübject", 4, 1, "AVRO", AVRO))
    assert key == '{"keytype":"SCHEMA","subject":":.ctx:sübject","version":4,"magic":1}'.encode()


def test_keys_escape_as_jackson() -> None:
    key, _ = encode(SchemaTombstone('a"b\\c\x01', 1))
    assert key == b'{"keytype":"SCHEMA","subject":"a\\"b\\\\c\\u0001","version":1,"magic":1}'
    assert decode(key, None) == SchemaTombstone('a"b\\c\x01', 1)


@pytest.mark.parametrize(
    "record_key, expected",
    [
        ("s", b'{"keytype":"CONFIG","subject":"s","magic":0}'),
        ("", b'{"keytype":"CONFIG","magic":0}'),
        (":.ctx:", b'{"keytype":"CONFIG","subject":":.ctx:","magic":0}'),
        (":.__GLOBAL:", b'{"keytype":"CONFIG","subject":":.__GLOBAL:","magic":0}'),
    ],
)
def test_config_keys(record_key: str, expected: bytes) -> None:
    key, value = encode(ConfigRecord(record_key, {"compatibilityLevel": "FULL", "normalize": True}))
    assert key == expected
    body = json.loads(value or b"")
    if record_key:
        assert list(body) == ["subject", "normalize", "compatibilityLevel"] and body["subject"] == record_key
    else:
        assert body == {"normalize": True, "compatibilityLevel": "FULL"}
    back = decode(key, value)
    assert isinstance(back, ConfigRecord) and back.key == record_key
    assert back.config == {"compatibilityLevel": "FULL", "normalize": True}
    assert encode(ConfigRecord(record_key, None)) == (expected, None)


def test_config_value_confluent_bytes() -> None:
    _, value = encode(ConfigRecord("s", {"compatibilityLevel": "BACKWARD"}))
    assert value == b'{"subject":"s","compatibilityLevel":"BACKWARD"}'


def test_legacy_and_karapace_config_keys_decode() -> None:
    # Karapace's global config key carries "subject":null; legacy values lack "subject"
    back = decode(b'{"keytype":"CONFIG","subject":null,"magic":0}', b'{"compatibilityLevel":"NONE"}')
    assert isinstance(back, ConfigRecord) and back.key == "" and back.config == {"compatibilityLevel": "NONE"}
    # Karapace legacy key order
    back = decode(b'{"subject":"s","version":2,"magic":1,"keytype":"SCHEMA"}', None)
    assert back == SchemaTombstone("s", 2)


def test_mode_keys_and_values() -> None:
    assert encode(ModeRecord("s", "READONLY")) == (
        b'{"keytype":"MODE","subject":"s","magic":0}',
        b'{"subject":"s","mode":"READONLY"}',
    )
    assert encode(ModeRecord("", "IMPORT")) == (b'{"keytype":"MODE","magic":0}', b'{"mode":"IMPORT"}')
    assert decode(b'{"keytype":"MODE","magic":0}', b'{"mode":"IMPORT"}') == ModeRecord("", "IMPORT")
    assert decode(b'{"keytype":"MODE","subject":"s","magic":0}', None) == ModeRecord("s", None)


def test_delete_and_clear_subject() -> None:
    assert encode(DeleteSubjectRecord("s", 3)) == (
        b'{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}',
        b'{"subject":"s","version":3}',
    )
    assert decode(*encode(DeleteSubjectRecord("s", 3))) == DeleteSubjectRecord("s", 3)
    assert encode(ClearSubjectRecord("s")) == (
        b'{"keytype":"CLEAR_SUBJECT","subject":"s","magic":0}',
        b'{"subject":"s"}',
    )
    assert decode(*encode(ClearSubjectRecord("s"))) == ClearSubjectRecord("s")


def test_noop_and_context() -> None:
    assert NOOP_KEY == b'{"keytype":"NOOP","magic":0}'
    assert decode(NOOP_KEY, None) is None
    assert encode(ContextRecord(".ctx")) == (
        b'{"keytype":"CONTEXT","tenant":"default","context":".ctx","magic":0}',
        b'{"tenant":"default","context":".ctx"}',
    )
    assert decode(*encode(ContextRecord(".ctx"))) == ContextRecord(".ctx")
    assert decode(encode(ContextRecord(".ctx"))[0], None) == ContextRecord(".ctx", deleted=True)


def test_unknown_key_types_are_skipped_and_garbage_is_refused() -> None:
    assert decode(b'{"keytype":"ASSOC","magic":0}', b"{}") is None
    with pytest.raises(RecordFormatError):
        decode(b"not json", b"{}")
    with pytest.raises(RecordFormatError):
        decode(b'{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}', b'{"subject":"s"}')
