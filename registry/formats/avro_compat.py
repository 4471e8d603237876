"""Avro schema resolution checks, as Apache Avro's ``SchemaCompatibility`` does them.

``check_compatibility(reader, writer)`` lists why ``reader`` cannot read data
written with ``writer`` (empty when it can), with Java's error types, JSON
pointer locations and Confluent's verbose message templates.

Java's quirks are kept on purpose: results are memoised per (reader, writer)
object pair, so a pair met twice reports its first location twice; a pair
still being checked counts as compatible; a type mismatch inside a writer
union is reported at the union's own location (Avro before AVRO-3979).
"""

from __future__ import annotations

from typing import Any

from .avro_model import NO_DEFAULT, PRIMITIVES, AvroType, Enum, Field, Fixed, Named, Record, to_java_string
from .base import Incompatibility

_PROMOTIONS = frozenset({
    ("long", "int"), ("float", "int"), ("float", "long"),
    ("double", "int"), ("double", "long"), ("double", "float"),
    ("bytes", "string"), ("string", "bytes"),
})

_DESCRIPTIONS = {
    "FIXED_SIZE_MISMATCH": "The size of FIXED type field at path '{loc}' in the %1 schema does not match with the %2 schema",
    "TYPE_MISMATCH": "The type (path '{loc}') of a field in the %1 schema does not match with the %2 schema",
    "NAME_MISMATCH": "The name of the schema has changed (path '{loc}')",
    "MISSING_ENUM_SYMBOLS": "The %1 schema is missing enum symbols '{msg}' at path '{loc}' in the %2 schema",
    "MISSING_UNION_BRANCH": "The %1 schema is missing a type inside a union field at path '{loc}' in the %2 schema",
    "READER_FIELD_MISSING_DEFAULT_VALUE": (
        "The field '{msg}' at path '{loc}' in the %1 schema has no default value and is missing in the %2 schema"
    ),
}

UNEXPECTED = "UNEXPECTED_EXCEPTION"
"""Error type of the one message Confluent gives when Avro's checker throws."""

_Issue = tuple[str, Any, tuple[str, ...]]
"""An incompatibility not yet rendered: error type, message (or its parts), path tokens."""
_Result = tuple[_Issue, ...]
_NONE: _Result = ()


def incompatibility(error_type: str, message: str, location: str) -> Incompatibility:
    """An Avro incompatibility with Confluent's verbose template."""
    description = _DESCRIPTIONS[error_type].replace("{loc}", location).replace("{msg}", message)
    template = f"{{errorType:'{error_type}', description:'{description}', additionalInfo:'{message}'}}"
    return Incompatibility(error_type, location, template)


class _Unexpected(Exception):
    """Java's checker would throw; Confluent turns that into a single message."""


class _Checker:
    """One reader/writer check; ``path`` holds the JSON pointer tokens below the root."""

    __slots__ = ("memo", "path")

    def __init__(self) -> None:
        self.memo: dict[tuple[int, int], _Result | None] = {}
        self.path: list[str] = []

    def _issue(self, error_type: str, message: Any, token: str | None = None) -> _Result:
        tokens = tuple(self.path) if token is None else (*self.path, token)
        return ((error_type, message, tokens),)

    def at(self, token: str, reader: AvroType, writer: AvroType) -> _Result:
        self.path.append(token)
        result = self.check(reader, writer)
        self.path.pop()
        return result

    def check(self, reader: AvroType, writer: AvroType) -> _Result:
        if reader.fp is not None and reader.fp == writer.fp:
            return _NONE
        key = (id(reader), id(writer))
        memo = self.memo
        if key in memo:
            return memo[key] or _NONE
        memo[key] = None
        result = self._calculate(reader, writer)
        memo[key] = result
        return result

    def _calculate(self, reader: AvroType, writer: AvroType) -> _Result:
        rk, wk = reader.kind, writer.kind
        if rk == wk:
            if rk in PRIMITIVES:
                return _NONE
            if rk == "record":
                return self._names(reader, writer) + self._fields(reader, writer)  # type: ignore[arg-type]
            if rk == "array":
                return self.at("items", reader.items, writer.items)  # type: ignore[attr-defined]
            if rk == "map":
                return self.at("values", reader.values, writer.values)  # type: ignore[attr-defined]
            if rk == "enum":
                return self._names(reader, writer) + self._symbols(reader, writer)  # type: ignore[arg-type]
            if rk == "fixed":
                return self._names(reader, writer) + self._size(reader, writer)  # type: ignore[arg-type]
            return self._writer_branches(reader, writer)
        if wk == "union":
            result = _NONE
            for branch in writer.types:  # type: ignore[attr-defined]
                result += self.check(reader, branch)
            return result
        if rk == "union":
            for branch in reader.types:  # type: ignore[attr-defined]
                if not self.check(branch, writer):
                    return _NONE
            return self._issue("MISSING_UNION_BRANCH", ("union", wk))
        if (rk, wk) in _PROMOTIONS:
            return _NONE
        return self._issue("TYPE_MISMATCH", ("type", rk, wk))

    def _writer_branches(self, reader: AvroType, writer: AvroType) -> _Result:
        result = _NONE
        for i, branch in enumerate(writer.types):  # type: ignore[attr-defined]
            self.path.append(str(i))
            if self.check(reader, branch):
                result += self._issue("MISSING_UNION_BRANCH", ("union", branch.kind))
            self.path.pop()
        return result

    def _names(self, reader: Named, writer: Named) -> _Result:
        if reader.name == writer.name or (reader.aliases and writer.full in reader.alias_full_names()):
            return _NONE
        return self._issue("NAME_MISMATCH", ("name", writer.full), "name")

    def _size(self, reader: Fixed, writer: Fixed) -> _Result:
        if reader.size == writer.size:
            return _NONE
        return self._issue("FIXED_SIZE_MISMATCH", ("size", writer.size, reader.size), "size")

    def _symbols(self, reader: Enum, writer: Enum) -> _Result:
        missing = [s for s in writer.symbols if s not in reader.symbol_set]
        if not missing or (reader.default is not None and reader.default in reader.symbol_set):
            return _NONE
        return self._issue("MISSING_ENUM_SYMBOLS", ("symbols", missing), "symbols")

    def _fields(self, reader: Record, writer: Record) -> _Result:
        result = _NONE
        path = self.path
        path.append("fields")
        for field in reader.fields:
            path.append(str(field.pos))
            writer_field = _writer_field(writer, field)
            if writer_field is not None:
                result += self.at("type", field.type, writer_field.type)
            elif field.default is NO_DEFAULT:
                ftype = field.type
                if isinstance(ftype, Enum) and ftype.default is not None:
                    result += self.at("type", ftype, writer)
                else:
                    result += self._issue("READER_FIELD_MISSING_DEFAULT_VALUE", field.name)
            path.pop()
        path.pop()
        return result


def _writer_field(writer: Record, field: Field) -> Field | None:
    """The writer field matching ``field`` by name or by one of its aliases."""
    direct = writer.field_map.get(field.name)
    if not field.aliases:
        return direct
    found = [direct] if direct is not None else []
    found += [writer.field_map[a] for a in field.aliases if a in writer.field_map]
    if len(found) > 1:
        raise _Unexpected(
            f"Reader record field {field.name} type:{field.type.kind.upper()} pos:{field.pos} "
            f"matches multiple fields in writer record schema {to_java_string(writer)}"
        )
    return found[0] if found else None


def _message(message: Any) -> str:
    if isinstance(message, str):
        return message
    tag = message[0]
    if tag == "union":
        return f"reader union lacking writer type: {message[1].upper()}"
    if tag == "type":
        return f"reader type: {message[1].upper()} not compatible with writer type: {message[2].upper()}"
    if tag == "name":
        return f"expected: {message[1]}"
    if tag == "size":
        return f"expected: {message[1]}, found: {message[2]}"
    return "[" + ", ".join(sorted(set(message[1]))) + "]"


def _render(issue: _Issue) -> Incompatibility:
    error_type, message, tokens = issue
    return incompatibility(error_type, _message(message), "/" + "/".join(tokens))


def check_compatibility(reader: AvroType, writer: AvroType) -> list[Incompatibility]:
    """Why ``reader`` cannot read what ``writer`` wrote; empty when it can."""
    try:
        return [_render(issue) for issue in _Checker().check(reader, writer)]
    except _Unexpected as exc:
        message = f"Unexpected exception during compatibility check: {exc}"
    except RecursionError:
        message = "Unexpected exception during compatibility check: schemas nested too deeply"
    return [Incompatibility(UNEXPECTED, "/", message)]
