"""The Protobuf diff's structural shortcut: messages with equal fingerprints are
skipped, so a fingerprint must cover everything the diff reads (named types
resolved through references, packages, nesting, labels, oneofs)."""

from __future__ import annotations

from typing import Any

import pytest

from registry.formats import protobuf_compat
from registry.formats.base import Dependency
from registry.formats.protobuf import ProtobufFormat, ProtobufSchema

FORMAT = ProtobufFormat()
P3 = 'syntax = "proto3";\n'
TOP = P3 + 'package app;\nimport "common/dep.proto";\nmessage Top { common.Dep dep = 1; string id = 2; }\n'


def _dep(body: str, version: int, package: str = "common") -> list[Dependency]:
    """``common/dep.proto`` as version ``version`` of subject ``dep``."""
    return [Dependency("common/dep.proto", FORMAT.parse(f"{P3}package {package};\n{body}"), "dep", version)]


def _top(dep_body: str, version: int, package: str = "common") -> ProtobufSchema:
    return FORMAT.parse(TOP.replace("common.Dep", f"{package}.Dep"), _dep(dep_body, version, package))


CASES = {
    "reference changed incompatibly, same main text": (
        _top("message Dep { int32 x = 1; }", 1), _top("message Dep { string x = 1; }", 2),
        ["FIELD_SCALAR_KIND_CHANGED #/Dep/1", "FIELD_NAMED_TYPE_CHANGED #/Top/1"]),
    "reference changed compatibly": (
        _top("message Dep { int32 x = 1; }", 1), _top("message Dep { int32 x = 1; int32 y = 2; }", 2),
        ["FIELD_ADDED #/Dep/2"]),
    "reference changed two levels down": (
        _top("message Dep { Inner i = 1; }\nmessage Inner { double b = 1; }", 1),
        _top("message Dep { Inner i = 1; }\nmessage Inner { bool b = 1; }", 2),
        ["FIELD_SCALAR_KIND_CHANGED #/Inner/1", "FIELD_NAMED_TYPE_CHANGED #/Dep/1", "FIELD_NAMED_TYPE_CHANGED #/Top/1"]),
    "same reference version is not looked into": (
        _top("message Dep { int32 x = 1; }", 1), _top("message Dep { string x = 1; }", 1), []),
    "reference moved to another package": (
        _top("message Dep { int32 x = 1; }", 1), _top("message Dep { int32 x = 1; }", 2, "other"), []),
    "identical messages in different packages": (
        FORMAT.parse(P3 + "package a;\nmessage M { M self = 1; int32 x = 2; E e = 3; }\nenum E { E0 = 0; }\n"),
        FORMAT.parse(P3 + "package b;\nmessage M { M self = 1; int32 x = 2; E e = 3; }\nenum E { E0 = 0; }\n"),
        ["PACKAGE_CHANGED #/"]),
    "a type of the same file changed": (
        FORMAT.parse(P3 + "message M { T t = 1; }\nmessage T { int32 v = 1; }\n"),
        FORMAT.parse(P3 + "message M { T t = 1; }\nmessage T { string v = 1; }\n"),
        ["FIELD_SCALAR_KIND_CHANGED #/T/1"]),
    "a named type changed kind": (
        FORMAT.parse(P3 + "message M { T t = 1; }\nenum T { T0 = 0; }\n"),
        FORMAT.parse(P3 + "message M { T t = 1; }\nmessage T { int32 v = 1; }\n"),
        ["MESSAGE_ADDED #/T", "FIELD_KIND_CHANGED #/M/1", "ENUM_REMOVED #/T"]),
    "identical but for a nested message": (
        FORMAT.parse(P3 + "message M { int32 a = 1; N n = 2; message N { int32 x = 1; } }\n"),
        FORMAT.parse(P3 + "message M { int32 a = 1; N n = 2; message N { string x = 1; } }\n"),
        ["FIELD_SCALAR_KIND_CHANGED #/M/N/1"]),
    "identical but for a nested enum": (
        FORMAT.parse(P3 + "message M { K k = 1; enum K { K0 = 0; K1 = 1; } }\n"),
        FORMAT.parse(P3 + "message M { K k = 1; enum K { K0 = 0; K2 = 2; } }\n"),
        ["ENUM_CONST_REMOVED #/M/K/1", "ENUM_CONST_ADDED #/M/K/2"]),
    "identical but for a map value": (
        FORMAT.parse(P3 + "message M { map<string, int32> m = 1; }\n"),
        FORMAT.parse(P3 + "message M { map<string, string> m = 1; }\n"),
        ["FIELD_SCALAR_KIND_CHANGED #/M/1"]),
    "identical but for the oneof name": (
        FORMAT.parse(P3 + "message M { oneof o { int32 x = 1; string y = 2; } }\n"),
        FORMAT.parse(P3 + "message M { oneof p { int32 x = 1; string y = 2; } }\n"),
        ["ONEOF_REMOVED #/M/o", "ONEOF_ADDED #/M/p"]),
    "identical but for a label": (
        FORMAT.parse('syntax = "proto2";\nmessage M { optional int32 x = 1; }\n'),
        FORMAT.parse('syntax = "proto2";\nmessage M { repeated int32 x = 1; }\n'),
        ["FIELD_NUMERIC_LABEL_CHANGED #/M/1"]),
    "identical messages moved": (
        FORMAT.parse(P3 + "message A { int32 x = 1; }\nmessage B { int32 x = 1; }\n"),
        FORMAT.parse(P3 + "message B { int32 x = 1; }\nmessage A { int32 x = 1; }\n"),
        ["MESSAGE_MOVED #/A", "MESSAGE_MOVED #/B"]),
}


def _without_shortcut(new: ProtobufSchema, old: ProtobufSchema, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The differences with no two fingerprints equal, i.e. every message walked."""
    with monkeypatch.context() as patch:
        patch.setattr(protobuf_compat, "fingerprint", lambda side, name, msg: object())
        return [str(d) for d in new.differences(old)]


@pytest.mark.parametrize("old,new,expected", CASES.values(), ids=list(CASES))
def test_shortcut_keeps_every_difference(old: ProtobufSchema, new: ProtobufSchema, expected: list[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert [str(d) for d in new.differences(old)] == expected
    assert _without_shortcut(new, old, monkeypatch) == expected


def test_fingerprints_ignore_the_package_but_not_the_reference_version() -> None:
    a = FORMAT.parse(P3 + "package a;\nmessage M { M self = 1; }\n")
    b = FORMAT.parse(P3 + "package b;\nmessage M { M self = 1; }\n")
    msg_a, msg_b = a.file_descriptor_proto().message_type[0], b.file_descriptor_proto().message_type[0]
    assert protobuf_compat.fingerprint(a._side(), "a.M", msg_a) == protobuf_compat.fingerprint(b._side(), "b.M", msg_b)
    v1, v2 = _top("message Dep { int32 x = 1; }", 1), _top("message Dep { int32 x = 1; }", 2)
    top = v1.file_descriptor_proto().message_type[0]
    assert protobuf_compat.fingerprint(v1._side(), "app.Top", top) != protobuf_compat.fingerprint(
        v2._side(), "app.Top", top)


def test_unchanged_messages_are_skipped_and_fingerprints_memoised(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "".join(f"message M{i} {{ int32 a = 1; M{i + 1} next = 2; }}\n" for i in range(10)) + "message M10 {}\n"
    old = FORMAT.parse(P3 + "package p;\n" + body)
    new = FORMAT.parse(P3 + "package p;\n" + body.replace("int32 a = 1; M3", "int32 a = 1; int32 b = 3; M3"))
    compared: list[list[str]] = []
    real = protobuf_compat._compare_fields

    def spy(ctx: protobuf_compat.Context, *args: Any) -> None:
        compared.append(list(ctx.names))
        real(ctx, *args)

    monkeypatch.setattr(protobuf_compat, "_compare_fields", spy)
    assert [str(d) for d in new.differences(old)] == ["FIELD_ADDED #/M2/3"]
    assert compared == [["M2"]]
    memo = dict(old._side().fingerprints)
    assert old._side() is old._side() and len(memo) == 11
    new.differences(old)
    assert all(old._side().fingerprints[name] is fp for name, fp in memo.items())
