"""A small model of Avro schemas and its JSON writers.

The model mirrors Java Avro's ``Schema`` objects closely enough that the
registry can reproduce Java's ``Schema.toString()`` byte for byte and
Confluent's normalised form. Every occurrence of a primitive or anonymous
type is its own object, while a named type referenced by name is the very
object it names (the compatibility checker relies on that identity).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import struct
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TypeGuard

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
TYPE_NAMES = PRIMITIVES | {"record", "enum", "array", "map", "union", "fixed"}
SCHEMA_RESERVED = frozenset({"doc", "fields", "items", "name", "namespace", "size", "symbols", "values", "type", "aliases"})
ENUM_RESERVED = SCHEMA_RESERVED | {"default"}
FIELD_RESERVED = frozenset({"default", "doc", "name", "order", "type", "aliases"})
ORDERS = ("ascending", "descending", "ignore")


class _NoDefault:
    """Marks a field without a default (``None`` is the JSON null default)."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


class AvroType:
    """Any Avro schema node. ``kind`` is the Java type name in lower case."""

    __slots__ = ("fp", "kind", "props")

    def __init__(self, kind: str, props: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.props: dict[str, Any] = props or {}
        self.fp: bytes | None = None

    @property
    def full_name(self) -> str:
        """Java's ``getFullName()``: the type name for unnamed types."""
        return self.kind


class Primitive(AvroType):
    __slots__ = ()


class Named(AvroType):
    """record, enum or fixed: a name, a namespace, a doc and aliases."""

    __slots__ = ("aliases", "doc", "full", "name", "space")

    def __init__(self, kind: str, name: str, space: str | None, doc: str | None) -> None:
        super().__init__(kind)
        self.name = name
        self.space = space
        self.full = f"{space}.{name}" if space else name
        self.doc = doc
        self.aliases: list[tuple[str, str | None]] = []

    @property
    def full_name(self) -> str:
        return self.full

    def alias_full_names(self) -> list[str]:
        """Java's ``getAliases()``: ``.name`` for a null-namespace alias of a namespaced type."""
        return [f".{n}" if s is None and self.space is not None else (f"{s}.{n}" if s else n) for n, s in self.aliases]


class Field:
    """A record field; ``default`` is ``NO_DEFAULT`` when absent."""

    __slots__ = ("aliases", "default", "doc", "name", "order", "pos", "props", "type")

    def __init__(self, name: str, type_: AvroType, doc: str | None, default: Any, order: str, pos: int) -> None:
        self.name = name
        self.type = type_
        self.doc = doc
        self.default = default
        self.order = order
        self.aliases: list[str] = []
        self.props: dict[str, Any] = {}
        self.pos = pos


class Record(Named):
    __slots__ = ("field_map", "fields", "is_error")

    def __init__(self, name: str, space: str | None, doc: str | None, is_error: bool) -> None:
        super().__init__("record", name, space, doc)
        self.is_error = is_error
        self.fields: list[Field] = []
        self.field_map: dict[str, Field] = {}


class Enum(Named):
    __slots__ = ("default", "symbol_set", "symbols")

    def __init__(self, name: str, space: str | None, doc: str | None, symbols: list[str], default: str | None) -> None:
        super().__init__("enum", name, space, doc)
        self.symbols = symbols
        self.symbol_set = frozenset(symbols)
        self.default = default


class Fixed(Named):
    __slots__ = ("size",)

    def __init__(self, name: str, space: str | None, doc: str | None, size: int) -> None:
        super().__init__("fixed", name, space, doc)
        self.size = size


class Array(AvroType):
    __slots__ = ("items",)

    def __init__(self, items: AvroType) -> None:
        super().__init__("array")
        self.items = items


class Map(AvroType):
    __slots__ = ("values",)

    def __init__(self, values: AvroType) -> None:
        super().__init__("map")
        self.values = values


class Union(AvroType):
    __slots__ = ("types",)

    def __init__(self, types: list[AvroType]) -> None:
        super().__init__("union")
        self.types = types


def children(t: AvroType) -> Iterator[AvroType]:
    """The schemas directly inside ``t``."""
    if isinstance(t, Record):
        yield from (f.type for f in t.fields)
    elif isinstance(t, Array):
        yield t.items
    elif isinstance(t, Map):
        yield t.values
    elif isinstance(t, Union):
        yield from t.types


def named_types(root: AvroType) -> list[Named]:
    """Every named type reachable from ``root``, each once, in document order."""
    seen: dict[int, Named] = {}
    stack = [root]
    found: list[Named] = []
    while stack:
        t = stack.pop()
        if isinstance(t, Named):
            if id(t) in seen:
                continue
            seen[id(t)] = t
            found.append(t)
        stack.extend(reversed(list(children(t))))
    return found


@functools.cache
def _primitive_fingerprint(kind: str) -> bytes:
    """What :func:`assign_fingerprints` gives a primitive of ``kind`` (there are eight kinds)."""
    return hashlib.blake2b(repr([kind]).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def assign_fingerprints(root: AvroType) -> None:
    """Give each non-recursive node ``fp``, a digest of what schema resolution looks at.

    Equal fingerprints mean structurally identical types, which can always read
    each other, so the checker skips them. Nodes on or above a recursive cycle,
    or holding field aliases (which can make Java's checker throw), get None.
    """
    failed: set[int] = set()
    active: set[int] = set()

    def visit(t: AvroType) -> bytes | None:
        if t.fp is not None:
            return t.fp
        if type(t) is Primitive:  # its digest depends on its kind alone
            t.fp = _primitive_fingerprint(t.kind)
            return t.fp
        if id(t) in failed or id(t) in active:
            return None
        active.add(id(t))
        parts: list[Any] = [t.kind]
        if isinstance(t, Named):
            parts += [t.full, t.aliases]
        if isinstance(t, Record):
            for f in t.fields:
                parts += [f.name, f.default is NO_DEFAULT, f.aliases, visit(f.type)]
            ok = all(not f.aliases and f.type.fp is not None for f in t.fields)
        elif isinstance(t, Enum):
            parts += [t.symbols, t.default]
            ok = True
        elif isinstance(t, Fixed):
            parts.append(t.size)
            ok = True
        else:
            kids = [visit(c) for c in children(t)]
            parts += kids
            ok = all(k is not None for k in kids)
        active.discard(id(t))
        if not ok:
            failed.add(id(t))
            return None
        t.fp = hashlib.blake2b(repr(parts).encode("utf-8", "surrogatepass"), digest_size=16).digest()
        return t.fp

    visit(root)


# ---------------------------------------------------------------- logical types

_LONG_LOGICAL = {"time-micros", "timestamp-millis", "timestamp-micros", "timestamp-nanos",
                 "local-timestamp-millis", "local-timestamp-micros", "local-timestamp-nanos"}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31


def logical_type(t: AvroType) -> str | None:
    """The logical type Java would accept for ``t`` (invalid or unknown ones give None)."""
    name = t.props.get("logicalType")
    if not isinstance(name, str):
        return None
    kind = t.kind
    if name == "decimal":
        return name if kind in ("bytes", "fixed") and _valid_decimal(t) else None
    if name == "big-decimal":
        return name if kind == "bytes" else None
    if name == "uuid":
        return name if kind == "string" or (isinstance(t, Fixed) and t.size == 16) else None
    if name in ("date", "time-millis"):
        return name if kind == "int" else None
    if name in _LONG_LOGICAL:
        return name if kind == "long" else None
    if name == "duration":
        return name if isinstance(t, Fixed) and t.size == 12 else None
    return None


def _valid_decimal(t: AvroType) -> bool:
    precision = t.props.get("precision")
    scale = t.props.get("scale", 0)
    if not _is_int(precision) or not _is_int(scale) or precision <= 0 or scale < 0 or scale > precision:
        return False
    if isinstance(t, Fixed):
        max_precision = math.floor(math.log10(2.0 ** (8 * t.size - 1) - 1)) if t.size > 0 else 0
        return precision <= max_precision
    return True


# ---------------------------------------------------------------- JSON values as Jackson writes them

_LOWER_HEX = re.compile(r"\\u00([0-9a-f]{2})")


def dump_string(s: str) -> str:
    """A JSON string literal as Jackson writes it (non-ASCII kept, upper-case hex escapes)."""
    text = json.dumps(s, ensure_ascii=False)
    if "\\u00" in text:
        text = _LOWER_HEX.sub(lambda m: "\\u00" + m.group(1).upper(), text)
    return text


def _java_digits(digits: str, exp10: int, negative: bool) -> str:
    """Format ``0.d1d2.. x 10^exp10``-style digits the way Java's Double/Float.toString do."""
    sci = exp10 - 1
    sign = "-" if negative else ""
    if -3 <= sci < 7:
        if sci >= 0:
            whole = digits[: sci + 1].ljust(sci + 1, "0")
            frac = digits[sci + 1:] or "0"
            return f"{sign}{whole}.{frac}"
        return f"{sign}0.{'0' * (-sci - 1)}{digits}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{sci}"


def _shortest_digits(text: str) -> tuple[str, int, bool]:
    sign, digit_tuple, exponent = Decimal(text).as_tuple()
    digits = "".join(map(str, digit_tuple))
    exp10 = len(digits) + int(exponent)
    return digits.rstrip("0") or "0", exp10, bool(sign)


def java_double(value: float) -> str:
    """``Double.toString`` (with Jackson's quoting of NaN and infinities)."""
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    return _java_digits(*_shortest_digits(repr(value)))


def java_float(value: float) -> str:
    """``Float.toString`` of ``value`` rounded to single precision."""
    try:
        single = struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        single = math.copysign(math.inf, value)
    if math.isnan(single) or math.isinf(single) or single == 0:
        return java_double(single)
    for precision in range(1, 10):
        text = f"{single:.{precision}e}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == single:
            return _java_digits(*_shortest_digits(text))
    return java_double(single)


class Float32(float):
    """A default value that Java holds as a ``float`` (printed by ``Float.toString``)."""


def dump_value(value: Any, out: list[str], sort_keys: bool = False) -> None:
    """Append the compact JSON of a parsed JSON value, as Jackson prints it."""
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(dump_string(value))
    elif isinstance(value, Float32):
        out.append(java_float(value))
    elif isinstance(value, float):
        out.append(java_double(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            dump_value(item, out, sort_keys)
        out.append("]")
    else:
        out.append("{")
        keys = sorted(value) if sort_keys else value
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(dump_string(key))
            out.append(":")
            dump_value(value[key], out, sort_keys)
        out.append("}")


# ---------------------------------------------------------------- Java Schema.toString()


def _qualified(t: Named, space: str | None) -> str:
    """Java ``Name.getQualified``: the short name when the namespace is implied."""
    if t.space is not None and t.space == space and t.name not in TYPE_NAMES:
        return t.name
    return t.full


def _alias_qualified(name: str, space: str | None, own_space: str | None) -> str:
    if space is not None and space == own_space and name not in TYPE_NAMES:
        return name
    return f"{space}.{name}" if space else name


def _props(props: dict[str, Any], out: list[str]) -> None:
    for key, value in props.items():
        out.append(",")
        out.append(dump_string(key))
        out.append(":")
        dump_value(value, out)


def write_java(t: AvroType, known: set[str], space: str | None, out: list[str]) -> None:
    """Append Java's ``toJson`` of ``t``; ``known`` holds the names already written."""
    if isinstance(t, Named):
        if t.full in known:
            out.append(dump_string(_qualified(t, space)))
            return
        known.add(t.full)
        out.append('{"type":')
        out.append('"error"' if isinstance(t, Record) and t.is_error else f'"{t.kind}"')
        out.append(',"name":')
        out.append(dump_string(t.name))
        if t.space is not None:
            if t.space != space:
                out.append(',"namespace":')
                out.append(dump_string(t.space))
        elif space is not None:
            out.append(',"namespace":""')
        if t.doc is not None:
            out.append(',"doc":')
            out.append(dump_string(t.doc))
        if isinstance(t, Record):
            out.append(',"fields":[')
            for i, f in enumerate(t.fields):
                if i:
                    out.append(",")
                _write_field(f, known, t.space, out)
            out.append("]")
        elif isinstance(t, Enum):
            out.append(',"symbols":[')
            out.append(",".join(dump_string(s) for s in t.symbols))
            out.append("]")
            if t.default is not None:
                out.append(',"default":')
                out.append(dump_string(t.default))
        elif isinstance(t, Fixed):
            out.append(f',"size":{t.size}')
        _props(t.props, out)
        if t.aliases:
            out.append(',"aliases":[')
            out.append(",".join(dump_string(_alias_qualified(n, s, t.space)) for n, s in t.aliases))
            out.append("]")
        out.append("}")
    elif isinstance(t, Union):
        out.append("[")
        for i, branch in enumerate(t.types):
            if i:
                out.append(",")
            write_java(branch, known, space, out)
        out.append("]")
    elif isinstance(t, (Array, Map)):
        out.append(f'{{"type":"{t.kind}",')
        out.append('"items":' if isinstance(t, Array) else '"values":')
        write_java(t.items if isinstance(t, Array) else t.values, known, space, out)
        _props(t.props, out)
        out.append("}")
    elif t.props:
        out.append(f'{{"type":"{t.kind}"')
        _props(t.props, out)
        out.append("}")
    else:
        out.append(f'"{t.kind}"')


def _write_field(f: Field, known: set[str], space: str | None, out: list[str]) -> None:
    out.append('{"name":')
    out.append(dump_string(f.name))
    out.append(',"type":')
    write_java(f.type, known, space, out)
    if f.doc is not None:
        out.append(',"doc":')
        out.append(dump_string(f.doc))
    if f.default is not NO_DEFAULT:
        out.append(',"default":')
        dump_value(f.default, out)
    if f.order != "ascending":
        out.append(f',"order":"{f.order}"')
    if f.aliases:
        out.append(',"aliases":[')
        out.append(",".join(dump_string(a) for a in f.aliases))
        out.append("]")
    _props(f.props, out)
    out.append("}")


def to_java_string(t: AvroType, known: set[str] | None = None) -> str:
    """Java's ``Schema.toString()``; names in ``known`` are written as references."""
    out: list[str] = []
    write_java(t, set(known or ()), None, out)
    return "".join(out)


# ---------------------------------------------------------------- Confluent's normalised text

_DROP: Any = object()
_INT64 = (-(2**63), 2**63)


def _default_object(value: Any, t: AvroType | None) -> Any:
    """Java ``JacksonUtils.toObject(node, schema)``: a default as the datum Java holds.

    Gives ``_DROP`` where Java gets ``null`` (the default is then left out).
    Container mismatches, where Java would throw, fall back to schema-less.
    """
    if isinstance(t, Union):
        t = t.types[0] if t.types else None
    kind = t.kind if t is not None else None
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value < _INT64[1]:
            return _DROP
        if kind is None or kind in ("int", "long"):
            return value
        if kind == "float":
            return Float32(value)
        return float(value) if kind == "double" else _DROP
    if isinstance(value, float):
        if kind is None or kind == "double":
            return value
        return Float32(value) if kind == "float" else _DROP
    if isinstance(value, str):
        if kind is None or kind in ("string", "enum"):
            return value
        if kind in ("bytes", "fixed"):
            return "".join(c if ord(c) < 256 else "?" for c in value)
        return _DROP
    if isinstance(value, list):
        items = t.items if isinstance(t, Array) else None
        return [_nullify(_default_object(v, items)) for v in value]
    if isinstance(t, Map):
        return {k: _nullify(_default_object(v, t.values)) for k, v in value.items()}
    if isinstance(t, Record):
        return {
            k: _nullify(_default_object(v, t.field_map[k].type if k in t.field_map else None))
            for k, v in value.items()
        }
    return {k: _nullify(_default_object(v, None)) for k, v in value.items()}


def _nullify(value: Any) -> Any:
    return None if value is _DROP else value


def _sorted_props(props: dict[str, Any], out: list[str]) -> None:
    for key in sorted(props):
        out.append(",")
        out.append(dump_string(key))
        out.append(":")
        dump_value(props[key], out, sort_keys=True)


def _logical_props(t: AvroType, lt: str, out: list[str]) -> None:
    out.append(',"logicalType":')
    out.append(dump_string(lt))
    if lt == "decimal":
        out.append(f',"precision":{t.props["precision"]}')
        scale = t.props.get("scale", 0)
        if scale:
            out.append(f',"scale":{scale}')


def _string_list(values: list[str]) -> str:
    return "[" + ",".join(dump_string(v) for v in values) + "]"


def write_normalized(t: AvroType, env: set[str], out: list[str]) -> None:
    """Append Confluent's normalised text of ``t`` (its Parsing Canonical Form variant).

    ``env`` holds the full names already written or supplied by references;
    those are written as bare full names.
    """
    if isinstance(t, Union):
        out.append("[")
        for i, branch in enumerate(t.types):
            if i:
                out.append(",")
            write_normalized(branch, env, out)
        out.append("]")
    elif isinstance(t, (Array, Map)):
        out.append(f'{{"type":"{t.kind}",')
        out.append('"items":' if isinstance(t, Array) else '"values":')
        write_normalized(t.items if isinstance(t, Array) else t.values, env, out)
        _sorted_props(t.props, out)
        out.append("}")
    elif isinstance(t, Named):
        if t.full in env:
            out.append(dump_string(t.full))
            return
        env.add(t.full)
        out.append('{"name":')
        out.append(dump_string(t.full))
        out.append(f',"type":"{t.kind}"')
        if isinstance(t, Enum):
            out.append(',"symbols":')
            out.append(_string_list(t.symbols))
        elif isinstance(t, Fixed):
            out.append(f',"size":{t.size}')
            lt = logical_type(t)
            if lt is not None:
                _logical_props(t, lt, out)
        else:
            assert isinstance(t, Record)
            out.append(',"fields":[')
            for i, f in enumerate(t.fields):
                if i:
                    out.append(",")
                _normalized_field(f, env, out)
            out.append("]")
        if t.doc:
            out.append(',"doc":')
            out.append(dump_string(t.doc))
        if t.aliases:
            out.append(',"aliases":')
            out.append(_string_list(sorted(set(t.alias_full_names()))))
        if isinstance(t, Enum) and t.default is not None:
            out.append(',"default":')
            out.append(dump_string(t.default))
        _sorted_props(t.props, out)
        out.append("}")
    else:
        lt = logical_type(t)
        if lt is None and not t.props:
            out.append(f'"{t.kind}"')
            return
        out.append(f'{{"type":"{t.kind}"')
        if lt is not None:
            _logical_props(t, lt, out)
        _sorted_props(t.props, out)
        out.append("}")


def _normalized_field(f: Field, env: set[str], out: list[str]) -> None:
    out.append('{"name":')
    out.append(dump_string(f.name))
    out.append(',"type":')
    write_normalized(f.type, env, out)
    out.append(f',"order":"{f.order.upper()}"')
    if f.doc is not None:
        out.append(',"doc":')
        out.append(dump_string(f.doc))
    if f.aliases:
        out.append(',"aliases":')
        out.append(_string_list(sorted(set(f.aliases))))
    if f.default is not NO_DEFAULT:
        value = _default_object(f.default, f.type)
        if value is not _DROP:
            out.append(',"default":')
            dump_value(value, out, sort_keys=True)
    _sorted_props(f.props, out)
    out.append("}")


def to_normalized_text(t: AvroType, env: set[str] | None = None) -> str:
    """Confluent's normalised text of ``t``; re-parse it to get the normalised schema."""
    out: list[str] = []
    write_normalized(t, set(env or ()), out)
    return "".join(out)
