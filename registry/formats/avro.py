"""The Avro schema format: parsing, canonical and normalised text, compatibility.

Parsing follows Java Avro's ``Schema.Parser`` (1.12): the same shapes are
accepted and rejected, forward references to named types are allowed, and in
strict mode names and field defaults are validated. The canonical string is
Java's ``Schema.toString()``; see :mod:`registry.formats.avro_model`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from . import avro_explain
from .avro_compat import check_compatibility
from .avro_model import (
    ENUM_RESERVED,
    FIELD_RESERVED,
    NO_DEFAULT,
    ORDERS,
    PRIMITIVES,
    SCHEMA_RESERVED,
    Array,
    AvroType,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    Primitive,
    Record,
    Union,
    assign_fingerprints,
    dump_value,
    named_types,
    to_java_string,
    to_normalized_text,
)
from .base import (
    Dependency,
    Explanation,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaFormat,
    SchemaText,
    ensure_recursion_headroom,
)
from .positions import ElementPositions, json_positions

MAX_JSON_DEPTH = 500
"""Deeper JSON nesting is rejected before parsing (Java would overflow its stack)."""

_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|/\*.*?\*/|//[^\n]*|[\[\]{}]', re.S)
_JAVA_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?")
_NAME_START = re.compile(r"[^\W\d]|_")


def _invalid(message: str, where: str = "") -> InvalidSchemaError:
    return InvalidSchemaError(f"Invalid schema: {where}: {message}" if where else f"Invalid schema: {message}")


def _brief(node: Any) -> str:
    out: list[str] = []
    dump_value(node, out)
    text = "".join(out)
    return text if len(text) <= 120 else text[:117] + "..."


def load_json(text: str) -> Any:
    """Decode schema JSON as Jackson does for Avro: comments allowed, NaN not, depth bounded."""
    depth = max_depth = 0
    comments: list[tuple[int, int]] = []
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            max_depth = max(max_depth, depth)
        elif token in "]}":
            depth -= 1
        elif token[0] == "/":
            comments.append(match.span())
    if max_depth > MAX_JSON_DEPTH:
        raise _invalid(f"JSON nesting deeper than {MAX_JSON_DEPTH} levels")
    if comments:
        parts, last = [], 0
        for start, end in comments:
            parts.append(text[last:start])
            parts.append(" ")
            last = end
        parts.append(text[last:])
        text = "".join(parts)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise _invalid("JSON nesting too deep") from None
    except (ValueError, TypeError) as exc:
        raise _invalid(f"not valid JSON ({exc})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard number {name}")


def _validate_name(name: Any, what: str, where: str) -> None:
    """Java's UTF name validator: a letter or ``_``, then letters, digits or ``_``."""
    if not isinstance(name, str) or not name:
        raise _invalid(f"{what} {_brief(name)} is invalid: empty or missing name", where)
    if not _NAME_START.match(name[0]) or not all(c.isalnum() or c == "_" for c in name):
        raise _invalid(f"{what} {_brief(name)} is invalid: names start with a letter or _ and hold only letters, digits and _", where)


def _java_parse_double(text: str) -> float | None:
    """``Double.parseDouble`` for the usual decimal forms; None when Java would throw."""
    text = text.strip(" \t\n\r\x0b\x0c\x00")
    if not _JAVA_DOUBLE.fullmatch(text):
        return None
    return float(text[:-1] if text[-1] in "fFdD" else text)


class _Ref(AvroType):
    """A named-type reference not yet resolved (a forward or self reference)."""

    __slots__ = ("full", "where")

    def __init__(self, full: str, where: str) -> None:
        super().__init__("ref")
        self.full = full
        self.where = where


def _structure_key(t: AvroType, seen: set[str]) -> str:
    """What Java's ``Schema.equals`` compares (docs and aliases are ignored)."""
    props = _brief_sorted(t.props)
    if isinstance(t, (Named, _Ref)):
        if t.full in seen or isinstance(t, _Ref):
            return f"@{t.full}"
        seen.add(t.full)
        if isinstance(t, Record):
            fields = ",".join(
                f"{f.name}:{_structure_key(f.type, seen)}:{_brief_sorted(f.default)}:{f.order}:{_brief_sorted(f.props)}"
                for f in t.fields
            )
            return f"record {t.full} {props} [{fields}]"
        if isinstance(t, Enum):
            return f"enum {t.full} {props} {t.symbols}"
        assert isinstance(t, Fixed)
        return f"fixed {t.full} {props} {t.size}"
    if isinstance(t, Union):
        return "[" + ",".join(_structure_key(b, seen) for b in t.types) + "]"
    if isinstance(t, Array):
        return f"array {props} {_structure_key(t.items, seen)}"
    if isinstance(t, Map):
        return f"map {props} {_structure_key(t.values, seen)}"
    return f"{t.kind} {props}"


def _brief_sorted(value: Any) -> str:
    if value is NO_DEFAULT:
        return "-"
    out: list[str] = []
    dump_value(value, out, sort_keys=True)
    return "".join(out)


def _describe(t: AvroType) -> str:
    if isinstance(t, Named):
        return f'{t.kind} "{t.full}"'
    if isinstance(t, Union):
        return "union [" + ", ".join(_describe(b) for b in t.types) + "]"
    return t.kind


def is_valid_default(t: AvroType, value: Any) -> bool:
    """Java's ``Schema.isValidDefault`` on a decoded JSON value (union: any branch)."""
    kind = t.kind
    if kind in ("string", "bytes", "enum", "fixed"):
        return isinstance(value, str)
    if kind in ("int", "long"):
        bound = 2**31 if kind == "int" else 2**63
        return isinstance(value, int) and not isinstance(value, bool) and -bound <= value < bound
    if kind in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(t, Array):
        return isinstance(value, list) and all(is_valid_default(t.items, v) for v in value)
    if isinstance(t, Map):
        return isinstance(value, dict) and all(is_valid_default(t.values, v) for v in value.values())
    if isinstance(t, Union):
        return any(is_valid_default(b, value) for b in t.types)
    if isinstance(t, Record):
        if not isinstance(value, dict):
            return False
        for f in t.fields:
            inner = value[f.name] if f.name in value else f.default
            if inner is NO_DEFAULT or not _is_valid_value(f.type, inner):
                return False
        return True
    return False


def _is_valid_value(t: AvroType, value: Any) -> bool:
    if isinstance(t, Union):
        return any(is_valid_default(b, value) for b in t.types)
    return is_valid_default(t, value)


class _Parser:
    """One parse: a JSON document plus the named types its dependencies define."""

    def __init__(self, strict: bool, known: dict[str, Named]) -> None:
        self.strict = strict
        self.known = known
        self.new: dict[str, Named] = {}
        self.defaults: list[tuple[Record, Field]] = []
        self.unions: list[tuple[Union, str]] = []

    def parse(self, node: Any, space: str | None, where: str) -> AvroType:
        if isinstance(node, str):
            return self._find(node, space, where)
        if isinstance(node, list):
            types = [self.parse(branch, space, where) for branch in node]
            union = Union(types)
            self.unions.append((union, where))
            return union
        if not isinstance(node, dict):
            raise _invalid(f"schema not yet supported: {_brief(node)}", where)
        kind = node.get("type")
        if not isinstance(kind, str):
            raise _invalid(f"no type in {_brief(node)}", where)
        if kind in PRIMITIVES:
            return Primitive(kind, self._props(node, SCHEMA_RESERVED))
        if kind in ("record", "error"):
            return self._record(node, space, where, kind == "error")
        if kind == "enum":
            return self._enum(node, space, where)
        if kind in ("array", "map"):
            key = "items" if kind == "array" else "values"
            if key not in node:
                raise _invalid(f"{kind} has no {key} type: {_brief(node)}", where)
            inner = self.parse(node[key], space, where)
            result: AvroType = Array(inner) if kind == "array" else Map(inner)
            result.props = self._props(node, SCHEMA_RESERVED)
            return result
        if kind == "fixed":
            return self._fixed(node, space, where)
        return self._find(kind, space, where)

    def _find(self, name: str, space: str | None, where: str) -> AvroType:
        if name in PRIMITIVES:
            return Primitive(name)
        full = f"{space}.{name}" if space and "." not in name else name
        found = self._lookup(full) or self._lookup(name)
        return found if found is not None else _Ref(full, where)

    def _lookup(self, full: str) -> Named | None:
        return self.known.get(full) or self.new.get(full)

    @staticmethod
    def _props(node: dict, reserved: frozenset[str]) -> dict[str, Any]:
        return {k: v for k, v in node.items() if k not in reserved}

    def _name(self, node: dict, space: str | None, where: str) -> tuple[str, str | None]:
        name = node.get("name")
        if not isinstance(name, str):
            raise _invalid(f"no name in {_brief(node)}", where)
        namespace = node.get("namespace")
        if not isinstance(namespace, str):
            namespace = space
        if "." in name:
            namespace, name = name.rsplit(".", 1)
        namespace = namespace or None
        if self.strict:
            _validate_name(name, "name", where)
            for part in (namespace.split(".") if namespace else ()):
                _validate_name(part, "namespace part", where)
        full = f"{namespace}.{name}" if namespace else name
        if full in PRIMITIVES:
            raise _invalid(f"schemas may not be named after primitives: {full}", where)
        return name, namespace

    def _aliases(self, node: dict, where: str) -> list[str]:
        if "aliases" not in node:
            return []
        aliases = node["aliases"]
        if not isinstance(aliases, list):
            raise _invalid(f"aliases not an array: {_brief(aliases)}", where)
        out: list[str] = []
        for alias in aliases:
            if not isinstance(alias, str):
                raise _invalid(f"alias not a string: {_brief(alias)}", where)
            if alias not in out:
                out.append(alias)
        return out

    def _named_aliases(self, t: Named, node: dict, where: str) -> None:
        for alias in self._aliases(node, where):
            space = t.space
            if "." in alias:
                space, alias = alias.rsplit(".", 1)
            if self.strict:
                _validate_name(alias, "alias", where)
            entry = (alias, space or None)
            if entry not in t.aliases:
                t.aliases.append(entry)

    def _put(self, t: Named, where: str) -> None:
        previous = self.known.get(t.full) or self.new.get(t.full)
        if previous is not None:
            if _structure_key(previous, set()) != _structure_key(t, set()):
                raise _invalid(f"can't redefine: {t.full}", where)
            return
        self.new[t.full] = t

    @staticmethod
    def _doc(node: dict) -> str | None:
        doc = node.get("doc")
        return doc if isinstance(doc, str) else None

    def _record(self, node: dict, space: str | None, where: str, is_error: bool) -> Record:
        name, namespace = self._name(node, space, where)
        record = Record(name, namespace, self._doc(node), is_error)
        fields = node.get("fields")
        if not isinstance(fields, list):
            raise _invalid(f'record "{record.full}" has no fields', where)
        for pos, field_node in enumerate(fields):
            field = self._field(field_node, record, pos)
            if field.name in record.field_map:
                raise _invalid(f'duplicate field {field.name} in record "{record.full}"', where)
            record.fields.append(field)
            record.field_map[field.name] = field
        record.props = self._props(node, SCHEMA_RESERVED)
        self._named_aliases(record, node, where)
        self._put(record, where)
        return record

    def _field(self, node: Any, record: Record, pos: int) -> Field:
        where = f'record "{record.full}"'
        name = node.get("name") if isinstance(node, dict) else None
        if not isinstance(name, str):
            raise _invalid(f"no field name in {_brief(node)}", where)
        where = f'field "{name}" in record "{record.full}"'
        if self.strict:
            _validate_name(name, "field name", where)
        if "type" not in node:
            raise _invalid("no field type", where)
        field_type = self.parse(node["type"], record.space, where)
        order = node.get("order", "ascending")
        if not isinstance(order, str) or order.lower() not in ORDERS:
            raise _invalid(f"invalid order {_brief(order)}", where)
        default = node.get("default", NO_DEFAULT)
        if isinstance(default, str) and field_type.kind in ("float", "double"):
            number = _java_parse_double(default)
            if number is None:
                raise _invalid(f"default {_brief(default)} is not a number", where)
            default = number
        field = Field(name, field_type, self._doc(node), default, order.lower(), pos)
        field.props = self._props(node, FIELD_RESERVED)
        field.aliases = self._aliases(node, where)
        if default is not NO_DEFAULT:
            self.defaults.append((record, field))
        return field

    def _enum(self, node: dict, space: str | None, where: str) -> Enum:
        name, namespace = self._name(node, space, where)
        full = f"{namespace}.{name}" if namespace else name
        where = f'enum "{full}"'
        symbols = node.get("symbols")
        if not isinstance(symbols, list):
            raise _invalid("enum has no symbols", where)
        seen: set[str] = set()
        for symbol in symbols:
            if not isinstance(symbol, str):
                raise _invalid(f"symbol {_brief(symbol)} is not a string", where)
            if self.strict:
                _validate_name(symbol, "symbol", where)
            if symbol in seen:
                raise _invalid(f"duplicate enum symbol: {symbol}", where)
            seen.add(symbol)
        default = node.get("default")
        default = default if isinstance(default, str) else None
        if default is not None and default not in seen:
            raise _invalid(f"the enum default {default} is not in the enum symbol set: [{', '.join(symbols)}]", where)
        enum = Enum(name, namespace, self._doc(node), list(symbols), default)
        enum.props = self._props(node, ENUM_RESERVED)
        self._named_aliases(enum, node, where)
        self._put(enum, where)
        return enum

    def _fixed(self, node: dict, space: str | None, where: str) -> Fixed:
        name, namespace = self._name(node, space, where)
        size = node.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**31 - 8:
            raise _invalid(f"invalid or no size: {_brief(node)}", where)
        fixed = Fixed(name, namespace, self._doc(node), size)
        fixed.props = self._props(node, SCHEMA_RESERVED)
        self._named_aliases(fixed, node, where)
        self._put(fixed, where)
        return fixed

    def finish(self, root: AvroType, where: str) -> AvroType:
        """Resolve references, then check unions and (strict) field defaults."""
        root = self._resolve(root, where)
        for union, at in self.unions:
            keys: set[str] = set()
            for branch in union.types:
                if isinstance(branch, Union):
                    raise _invalid("nested union", at)
                if branch.full_name in keys:
                    raise _invalid(f"duplicate in union: {branch.full_name}", at)
                keys.add(branch.full_name)
        if self.strict:
            for record, field in self.defaults:
                if not is_valid_default(field.type, field.default):
                    raise _invalid(
                        f"default {_brief(field.default)} is not a valid {_describe(field.type)}",
                        f'field "{field.name}" in record "{record.full}"',
                    )
        return root

    def _resolve(self, root: AvroType, where: str) -> AvroType:
        root = self._target(root)
        seen: set[int] = set()
        stack = [root]
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            if isinstance(t, Record):
                for f in t.fields:
                    f.type = self._target(f.type)
                    stack.append(f.type)
            elif isinstance(t, Array):
                t.items = self._target(t.items)
                stack.append(t.items)
            elif isinstance(t, Map):
                t.values = self._target(t.values)
                stack.append(t.values)
            elif isinstance(t, Union):
                t.types = [self._target(b) for b in t.types]
                stack.extend(t.types)
        return root

    def _target(self, t: AvroType) -> AvroType:
        if isinstance(t, _Ref):
            found = self._lookup(t.full)
            if found is None:
                raise _invalid(f'undefined name: "{t.full}"', t.where)
            return found
        return t


def _dependency_graph(dependencies: Sequence[Dependency]) -> Iterator[AvroSchema]:
    """Every Avro schema among the dependencies, transitively, dependencies first."""
    seen: set[int] = set()

    def visit(deps: Sequence[Dependency]) -> Iterator[AvroSchema]:
        for dep in deps:
            schema = dep.schema
            if id(schema) in seen:
                continue
            seen.add(id(schema))
            if not isinstance(schema, AvroSchema):
                raise _invalid(f"reference {dep.name} is not an Avro schema")
            yield from visit(schema.dependencies)
            yield schema

    return visit(dependencies)


class AvroSchema(ParsedSchema):
    """A parsed Avro schema; ``root`` is its :mod:`avro_model` tree."""

    schema_type = "AVRO"

    def __init__(self, root: AvroType, dependencies: Sequence[Dependency] = (), *, strict: bool = True) -> None:
        super().__init__(dependencies)
        self.root = root
        self.strict = strict
        self._canonical: str | None = None
        self._normalized: AvroSchema | None = None

    def reference_names(self) -> set[str]:
        """Full names of the referenced schemas' top-level types (written by name)."""
        return {schema.root.full_name for schema in _dependency_graph(self.dependencies)}

    def canonical_string(self) -> str:
        if self._canonical is None:
            ensure_recursion_headroom()
            self._canonical = to_java_string(self.root, self.reference_names())
        return self._canonical

    def normalized(self) -> AvroSchema:
        if self._normalized is None:
            ensure_recursion_headroom()
            try:
                text = to_normalized_text(self.root, self.reference_names())
            except RecursionError:
                raise _invalid("schema nesting too deep to normalize") from None
            self._normalized = AvroFormat().parse(text, self.dependencies, strict=self.strict)
            self._normalized._normalized = self._normalized
        return self._normalized

    def formatted(self, fmt: str | None) -> str:
        if fmt is not None and fmt.strip().lower() == "resolved":
            ensure_recursion_headroom()
            return to_java_string(self.root)
        return self.canonical_string()

    def record_name(self) -> str | None:
        return None if isinstance(self.root, Union) else self.root.full_name

    def has_top_level_field(self, name: str) -> bool:
        return isinstance(self.root, Record) and name in self.root.field_map

    def incompatibilities(self, writer: ParsedSchema, policy: str = "STRICT") -> list[Incompatibility]:
        if not isinstance(writer, AvroSchema):
            return [Incompatibility("TYPE_MISMATCH", "/", "Incompatible because of different schema type")]
        ensure_recursion_headroom()
        return check_compatibility(self.root, writer.root)

    def __repr__(self) -> str:
        return f"AvroSchema({self.canonical_string()[:80]!r})"


class AvroFormat(SchemaFormat):
    """The ``AVRO`` schema type."""

    schema_type = "AVRO"

    def parse(self, text: str, dependencies: Sequence[Dependency] = (), *, strict: bool = True) -> AvroSchema:
        if not isinstance(text, str):
            raise _invalid("the schema must be a string")
        ensure_recursion_headroom()
        node = load_json(text)
        known: dict[str, Named] = {}
        for schema in _dependency_graph(dependencies):
            for t in named_types(schema.root):
                previous = known.setdefault(t.full, t)
                if previous is not t and _structure_key(previous, set()) != _structure_key(t, set()):
                    raise _invalid(f"can't redefine: {t.full} (defined differently by two references)")
        parser = _Parser(strict, known)
        try:
            root = parser.finish(parser.parse(node, None, ""), "")
            assign_fingerprints(root)
            schema = AvroSchema(root, dependencies, strict=strict)
            if strict:  # a new schema must render; a stored one did when it was registered
                schema.canonical_string()
        except RecursionError:
            raise _invalid("schema nesting too deep") from None
        return schema

    def read_message(self, message: str) -> tuple[Incompatibility, bool] | None:
        return avro_explain.read_message(message)

    def explain(
        self, issue: Incompatibility, new: SchemaText, old: SchemaText | None, *, new_is_reader: bool
    ) -> Explanation:
        return avro_explain.explain(issue, new, old, new_is_reader=new_is_reader)

    def element_positions(self, text: str) -> ElementPositions:
        return json_positions(text)
