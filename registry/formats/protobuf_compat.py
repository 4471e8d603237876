"""Confluent's Protobuf schema difference algorithm (compat-rules §2).

:func:`schema_differences` lists every difference between an original (old)
and an update (new) file, in Confluent's emission order; the update can read
data written with the original when each difference is in
:data:`COMPATIBLE_CHANGES`. Messages whose :func:`fingerprint` is equal on
both sides have no difference and are skipped; fingerprints and scope indexes
are memoised on the :class:`Side`, which a parsed schema builds once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from google.protobuf import descriptor_pb2

from .protobuf_render import scalar_name

FDP = descriptor_pb2.FieldDescriptorProto
Files = Mapping[str, descriptor_pb2.FileDescriptorProto]

COMPATIBLE_CHANGES = frozenset({
    "MESSAGE_ADDED", "MESSAGE_MOVED", "ENUM_ADDED", "ENUM_REMOVED", "ENUM_CONST_ADDED",
    "ENUM_CONST_CHANGED", "ENUM_CONST_REMOVED", "FIELD_ADDED", "FIELD_REMOVED", "FIELD_NAME_CHANGED",
    "FIELD_STRING_OR_BYTES_LABEL_CHANGED", "ONEOF_ADDED", "ONEOF_REMOVED", "ONEOF_FIELD_ADDED",
    "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
})

DESCRIPTIONS = {
    "PACKAGE_CHANGED": "The package at '{p}' in the %1 schema does not match the package in the %2 schema",
    "MESSAGE_REMOVED": "The %1 schema is missing a MESSAGE type at path '{p}' in the %2 schema",
    "FIELD_KIND_CHANGED": "The type of a field at path '{p}' in the %1 schema does not match the %2 schema",
    "FIELD_SCALAR_KIND_CHANGED":
        "The kind of a SCALAR field at path '{p}' in the %1 schema does not match its kind in the %2 schema",
    "FIELD_NAMED_TYPE_CHANGED":
        "The type of a MESSAGE field at path '{p}' in the %1 schema does not match its type in the %2 schema",
    "FIELD_NUMERIC_LABEL_CHANGED":
        "The label for a NUMERIC field at path '{p}' in the %1 schema does not match its label in the %2 schema",
    "REQUIRED_FIELD_ADDED": "A required field  at path '{p}' in the %1 schema is missing in the %2 schema",
    "REQUIRED_FIELD_REMOVED": "The %1 schema is missing a required field at path: '{p}' in the %2 schema",
    "ONEOF_FIELD_REMOVED": "The %1 schema is missing a oneof field at path '{p}' in the %2 schema",
    "MULTIPLE_FIELDS_MOVED_TO_ONEOF":
        "Multiple fields in the oneof at path '{p}' in the %1 schema are outside a oneof in the %2 schema",
    "FIELD_MOVED_TO_EXISTING_ONEOF":
        "A field in the oneof at path '{p}' in the %1 schema is outside an existing oneof in the %2 schema",
}

_SCALAR_GROUPS = {
    "int32": "NUMBER", "int64": "NUMBER", "uint32": "NUMBER", "uint64": "NUMBER", "bool": "NUMBER",
    "sint32": "SIGNED", "sint64": "SIGNED", "string": "STRING_OR_BYTES", "bytes": "STRING_OR_BYTES",
    "fixed32": "FIXED32", "sfixed32": "FIXED32", "fixed64": "FIXED64", "sfixed64": "FIXED64",
    "float": "FLOAT", "double": "DOUBLE",
}


@dataclass(frozen=True)
class Difference:
    """One difference: its type and its ``#/`` path."""

    type: str
    path: str

    def __str__(self) -> str:
        return f"{self.type} {self.path}"

    @property
    def compatible(self) -> bool:
        return self.type in COMPATIBLE_CHANGES

    def description(self) -> str:
        """Confluent's description, with %1/%2 for the reader/writer labels."""
        return DESCRIPTIONS.get(self.type, "").format(p=self.path)


class TypeInfo(NamedTuple):
    """A named type of one side: its element, package and origin."""

    element: descriptor_pb2.DescriptorProto | descriptor_pb2.EnumDescriptorProto
    package: str
    origin: tuple[str, int] | None
    proto3: bool

    @property
    def is_enum(self) -> bool:
        return isinstance(self.element, descriptor_pb2.EnumDescriptorProto)

    @property
    def is_map(self) -> bool:
        return not self.is_enum and self.element.options.map_entry


TopLevel = tuple[Sequence[str], Sequence[str]]
"""The names of the messages and of the enums a file declares at its top level, in order."""


@dataclass(frozen=True)
class Scope:
    """The messages (map entries left out) and enums declared in a file or a message, by name:
    each message's index among them (``messages``) and in ``all_messages`` (``at``: map entries
    count there), each enum's index in ``all_enums``. Elements are read from there only when asked
    for (a check reads few of them: making a Python object for each costs more than the rest of it)."""

    messages: dict[str, int]
    at: dict[str, int]
    enums: dict[str, int]
    message_names: tuple[str, ...]
    enum_names: tuple[str, ...]
    all_messages: Sequence[descriptor_pb2.DescriptorProto]
    all_enums: Sequence[descriptor_pb2.EnumDescriptorProto]

    @classmethod
    def of(cls, messages: Sequence[descriptor_pb2.DescriptorProto],
           enums: Sequence[descriptor_pb2.EnumDescriptorProto], names: TopLevel | None = None) -> Scope:
        """The scope of ``messages`` and ``enums``; ``names``: theirs, known already (a file's top
        level, which holds no map entry)."""
        if names is not None:
            by_name = at = dict(zip(names[0], range(len(names[0])), strict=True))
            enum_names = dict(zip(names[1], range(len(names[1])), strict=True))
        else:
            by_name, at = {}, {}
            for raw, m in enumerate(messages):
                if not m.options.map_entry:
                    by_name[m.name] = len(by_name)
                    at[m.name] = raw
            enum_names = {e.name: i for i, e in enumerate(enums)}
        return cls(by_name, at, enum_names, tuple(by_name), tuple(enum_names), messages, enums)

    def message(self, name: str) -> descriptor_pb2.DescriptorProto:
        return self.all_messages[self.at[name]]

    def enum(self, name: str) -> descriptor_pb2.EnumDescriptorProto:
        return self.all_enums[self.enums[name]]


class TypeIndex:
    """The named types of one side by full name, each resolved on first use.

    A check reads a few types of a stored version (the messages whose fingerprints
    differ and the types their fields name), so indexing every type of every stored
    version up front would be most of a cold check's cost. Lookups walk the files'
    packages and scopes; a name declared in several files resolves to the last one.
    """

    def __init__(self, files: Files, main: str, origins: Mapping[str, tuple[str, int]],
                 top_level: Scope | None = None) -> None:
        """``top_level``: the scope of ``main``'s top level, when made already."""
        self._roots: list[tuple[str, descriptor_pb2.FileDescriptorProto, str, tuple[str, int] | None, bool]] = []
        for name, fdp in files.items():
            origin = None if name == main else origins.get(name, (f"builtin:{name}", 0))
            package = fdp.package
            self._roots.append((f"{package}." if package else "", fdp, package, origin, fdp.syntax == "proto3"))
        self._roots.reverse()
        self._found: dict[str, TypeInfo | None] = {}
        self._scopes: dict[int, tuple[object, dict[str, int], dict[str, int]]] = {}  # (container kept alive)
        if top_level is not None:
            fdp = files[main]
            self._scopes[id(fdp)] = (fdp, top_level.at, top_level.enums)

    def get(self, name: str) -> TypeInfo | None:
        """The type declared as ``name`` (no leading dot), None when no file declares it."""
        try:
            return self._found[name]
        except KeyError:
            pass
        found = None
        for prefix, fdp, package, origin, proto3 in self._roots:
            if name.startswith(prefix):
                element = self._walk(fdp, name[len(prefix):].split("."))
                if element is not None:
                    found = TypeInfo(element, package, origin, proto3)
                    break
        self._found[name] = found
        return found

    def _walk(self, container: descriptor_pb2.FileDescriptorProto | descriptor_pb2.DescriptorProto,
              parts: list[str]) -> descriptor_pb2.DescriptorProto | descriptor_pb2.EnumDescriptorProto | None:
        for depth, part in enumerate(parts):
            messages, enums = self._scope(container)
            at = messages.get(part)
            if depth == len(parts) - 1:
                if at is not None:
                    return _nested(container)[at]
                enum = enums.get(part)
                return container.enum_type[enum] if enum is not None else None
            if at is None:
                return None
            container = _nested(container)[at]
        return None

    def _scope(self, container: descriptor_pb2.FileDescriptorProto | descriptor_pb2.DescriptorProto) -> tuple[
            dict[str, int], dict[str, int]]:
        found = self._scopes.get(id(container))
        if found is None:
            found = (container, {m.name: i for i, m in enumerate(_nested(container))},
                     {e.name: i for i, e in enumerate(container.enum_type)})
            self._scopes[id(container)] = found
        return found[1], found[2]


def _nested(container: descriptor_pb2.FileDescriptorProto | descriptor_pb2.DescriptorProto) -> Sequence[
        descriptor_pb2.DescriptorProto]:
    return container.nested_type if isinstance(container, descriptor_pb2.DescriptorProto) else container.message_type


@dataclass
class Side:
    """One schema of the comparison: its types by full name, and memoised scopes and fingerprints."""

    types: TypeIndex
    scopes: dict[str | None, Scope] = field(default_factory=dict)
    fingerprints: dict[str, bytes] = field(default_factory=dict)

    def scope(self, name: str | None, messages: Sequence[descriptor_pb2.DescriptorProto],
              enums: Sequence[descriptor_pb2.EnumDescriptorProto]) -> Scope:
        """The scope of message ``name`` (None: the file's top level), indexed once."""
        found = self.scopes.get(name)
        if found is None:
            found = self.scopes[name] = Scope.of(messages, enums)
        return found


def build_side(files: Files, main: str, origins: Mapping[str, tuple[str, int]],
               top_level: TopLevel | None = None) -> Side:
    """The side of ``files``; ``origins`` maps reference files to (subject, version);
    ``top_level``: the names ``main`` declares at its top level, when known.

    Types of ``main`` have no origin; built-in files not in ``origins`` get a
    synthetic one, so the same built-in is never compared with itself.
    """
    if top_level is None:
        return Side(TypeIndex(files, main, origins))
    fdp = files[main]
    scope = Scope.of(fdp.message_type, fdp.enum_type, top_level)
    return Side(TypeIndex(files, main, origins, scope), {None: scope})


def _java_hash(text: str) -> int:
    """Java's ``String.hashCode`` as a signed 32-bit value, spread as HashMap does."""
    h = 0
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "little")) & 0xFFFFFFFF
    return h ^ (h >> 16)


class _JavaHashSet:
    """Insertion into a ``java.util.HashMap``, to iterate its keys in Java's order."""

    def __init__(self, capacity: int = 16) -> None:
        size = 1
        while size < capacity:
            size *= 2
        self.buckets: list[list[str]] = [[] for _ in range(size)]
        self.count = 0

    def add(self, key: str) -> None:
        bucket = self.buckets[_java_hash(key) & (len(self.buckets) - 1)]
        if key in bucket:
            return
        bucket.append(key)
        self.count += 1
        if self.count > len(self.buckets) * 3 // 4:
            keys = list(self)
            self.buckets = [[] for _ in range(len(self.buckets) * 2)]
            for k in keys:
                self.buckets[_java_hash(k) & (len(self.buckets) - 1)].append(k)

    def __iter__(self) -> Iterator[str]:
        for bucket in self.buckets:
            yield from bucket


def java_union_order(original: Sequence[str], update: Sequence[str]) -> list[str]:
    """The iteration order of ``new HashSet<>(origMap.keySet())`` plus ``addAll(updateMap.keySet())``."""
    if not original and not update:
        return []
    if len(original) + len(update) > UNION_MEMO_NAMES:
        return list(_union_order.__wrapped__(tuple(original), tuple(update)))
    return list(_union_order(tuple(original), tuple(update)))


UNION_MEMO_NAMES = 256  # scopes up to this many names are memoised: 4096 of them stay within a few MB


@lru_cache(maxsize=4096)
def _union_order(original: tuple[str, ...], update: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`java_union_order`, memoised: the same scopes recur in every version of a subject."""
    first, second = _JavaHashSet(), _JavaHashSet()
    for key in original:
        first.add(key)
    for key in update:
        second.add(key)
    union = _JavaHashSet(max(int(len(original) / 0.75) + 1, 16))
    for key in list(first) + list(second):
        union.add(key)
    return tuple(union)


@dataclass
class _Field:
    """A field as the diff sees it."""

    proto: descriptor_pb2.FieldDescriptorProto
    oneof: str | None
    label: str | None


@dataclass
class Context:
    """The walk state: both sides, the current name path and the differences."""

    original: Side
    update: Side
    names: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, kind: str, *path: str) -> None:
        self.differences.append(Difference(kind, "#/" + "/".join([*self.names, *path])))

    def compatible(self) -> bool:
        return all(d.compatible for d in self.differences)


def schema_differences(original: Side, original_fdp: descriptor_pb2.FileDescriptorProto,
                       update: Side, update_fdp: descriptor_pb2.FileDescriptorProto) -> list[Difference]:
    """Every difference from ``original`` (old) to ``update`` (new), in order."""
    ctx = Context(original, update)
    if original_fdp.package != update_fdp.package:
        ctx.add("PACKAGE_CHANGED")
    _compare_scopes(ctx, original_fdp.package, update_fdp.package,
                    original.scope(None, original_fdp.message_type, original_fdp.enum_type),
                    update.scope(None, update_fdp.message_type, update_fdp.enum_type))
    return ctx.differences


def _compare_scopes(ctx: Context, original_prefix: str, update_prefix: str,
                    original: Scope, update: Scope) -> None:
    orig, upd = original.messages, update.messages
    for name in java_union_order(original.message_names, update.message_names):
        ctx.names.append(name)
        if name not in upd:
            ctx.add("MESSAGE_REMOVED")
        elif name not in orig:
            ctx.add("MESSAGE_ADDED")
        else:
            original_name, update_name = _join(original_prefix, name), _join(update_prefix, name)
            if (ctx.original.fingerprints.get(original_name) or b"?") != ctx.update.fingerprints.get(update_name):
                _compare_message(ctx, original_name, update_name, original.message(name), update.message(name))
            if orig[name] != upd[name]:
                ctx.add("MESSAGE_MOVED")
        ctx.names.pop()
    orig_enums, upd_enums = original.enums, update.enums
    for name in java_union_order(original.enum_names, update.enum_names):
        ctx.names.append(name)
        if name not in upd_enums:
            ctx.add("ENUM_REMOVED")
        elif name not in orig_enums:
            ctx.add("ENUM_ADDED")
        else:
            _compare_enum(ctx, original.enum(name), update.enum(name))
        ctx.names.pop()


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _compare_enum(ctx: Context, original: descriptor_pb2.EnumDescriptorProto,
                  update: descriptor_pb2.EnumDescriptorProto) -> None:
    orig, upd = _enum_values(original), _enum_values(update)
    if orig == upd:
        return
    for number in sorted(set(orig) | set(upd)):
        if number not in upd:
            ctx.add("ENUM_CONST_REMOVED", str(number))
        elif number not in orig:
            ctx.add("ENUM_CONST_ADDED", str(number))
        elif orig[number] != upd[number]:
            ctx.add("ENUM_CONST_CHANGED", str(number))


def _enum_values(enum: descriptor_pb2.EnumDescriptorProto) -> dict[int, str]:
    return {v.number: v.name for v in enum.value}


def _fields(msg: descriptor_pb2.DescriptorProto, proto3: bool) -> dict[int, _Field]:
    out: dict[int, _Field] = {}
    for f in msg.field:
        oneof = msg.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") and not f.proto3_optional else None
        out[f.number] = _Field(f, oneof, None if oneof else _label(f, proto3))
    return out


def _label(f: descriptor_pb2.FieldDescriptorProto, proto3: bool) -> str | None:
    if f.proto3_optional:
        return "optional"
    if f.label == FDP.LABEL_REPEATED:
        return "repeated"
    if f.label == FDP.LABEL_REQUIRED:
        return "required"
    return None if proto3 else "optional"


def _compare_message(ctx: Context, original_name: str, update_name: str,
                     original: descriptor_pb2.DescriptorProto, update: descriptor_pb2.DescriptorProto) -> None:
    if fingerprint(ctx.original, original_name, original) == fingerprint(ctx.update, update_name, update):
        return
    key = (original_name, update_name)
    if key not in ctx.seen:
        ctx.seen.add(key)
        orig_info, upd_info = ctx.original.types.get(original_name), ctx.update.types.get(update_name)
        _compare_fields(ctx, _fields(original, orig_info.proto3 if orig_info else True),
                        _fields(update, upd_info.proto3 if upd_info else True),
                        [d.name for d in update.oneof_decl])
    _compare_scopes(ctx, original_name, update_name,
                    ctx.original.scope(original_name, original.nested_type, original.enum_type),
                    ctx.update.scope(update_name, update.nested_type, update.enum_type))


def _compare_fields(ctx: Context, orig: dict[int, _Field], upd: dict[int, _Field],
                    upd_oneof_order: list[str]) -> None:
    orig_oneofs = {f.oneof for f in orig.values() if f.oneof}
    upd_oneofs = {f.oneof for f in upd.values() if f.oneof}
    fully_deleted = {name for name in orig_oneofs - upd_oneofs
                     if not any(f.oneof == name and tag in upd for tag, f in orig.items())}
    for name in (n for n in upd_oneof_order if n in upd_oneofs):
        groups: set[object] = set()
        moved = 0
        for tag, f in upd.items():
            if f.oneof != name or tag not in orig:
                continue
            source = orig[tag].oneof
            groups.add(("oneof", source) if source else ("tag", tag))
            moved += source is None
        if len(groups) > 1:
            ctx.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF" if moved > 1 else "FIELD_MOVED_TO_EXISTING_ONEOF", name)
    for name in sorted(orig_oneofs ^ upd_oneofs):
        ctx.add("ONEOF_REMOVED" if name in orig_oneofs else "ONEOF_ADDED", name)
    for tag in sorted(set(orig) | set(upd)):
        o, u = orig.get(tag), upd.get(tag)
        if u is None:
            assert o is not None
            if o.oneof in fully_deleted:
                continue
            if o.oneof:
                ctx.add("ONEOF_FIELD_REMOVED", o.oneof, str(tag))
            else:
                ctx.add("REQUIRED_FIELD_REMOVED" if o.label == "required" else "FIELD_REMOVED", str(tag))
        elif o is None:
            if u.oneof:
                ctx.add("ONEOF_FIELD_ADDED", u.oneof, str(tag))
            else:
                ctx.add("REQUIRED_FIELD_ADDED" if u.label == "required" else "FIELD_ADDED", str(tag))
        else:
            if o.oneof and not u.oneof:
                ctx.add("ONEOF_FIELD_MOVED_TO_TOP_LEVEL", str(tag))
            path = [u.oneof, str(tag)] if u.oneof else [str(tag)]
            _compare_field(ctx, o, u, path)


def _compare_field(ctx: Context, original: _Field, update: _Field, path: list[str]) -> None:
    if original.proto.name != update.proto.name:
        ctx.add("FIELD_NAME_CHANGED", *path)
    _compare_types(ctx, _type_of(ctx.original, original.proto), _type_of(ctx.update, update.proto),
                   path, (original.label, update.label))


FieldType = tuple  # ("scalar", name) | ("enum", full) | ("message", full) | ("map", key, value)


def _type_of(side: Side, f: descriptor_pb2.FieldDescriptorProto) -> FieldType:
    scalar = scalar_name(f.type)
    if scalar:
        return ("scalar", scalar)
    full = f.type_name.lstrip(".")
    info = side.types.get(full)
    if info is None:
        return ("message", full)
    if info.is_enum:
        return ("enum", full)
    if info.is_map:
        by_number = {x.number: x for x in info.element.field}
        return ("map", _type_of(side, by_number[1]), _type_of(side, by_number[2]))
    return ("message", full)


def _kind(t: FieldType) -> str:
    return {"scalar": "SCALAR", "enum": "SCALAR", "map": "MAP"}.get(t[0], "MESSAGE")


def _compare_types(ctx: Context, original: FieldType, update: FieldType, path: list[str],
                   labels: tuple[str | None, str | None] = (None, None)) -> None:
    if _kind(original) != _kind(update):
        ctx.add("FIELD_KIND_CHANGED", *path)
    elif original[0] == "map":
        _compare_types(ctx, original[1], update[1], path)
        _compare_types(ctx, original[2], update[2], path)
    elif _kind(original) == "SCALAR":
        group = _scalar_group(original)
        if group != _scalar_group(update):
            ctx.add("FIELD_SCALAR_KIND_CHANGED", *path)
        elif None not in labels and labels[0] != labels[1]:
            kind = "FIELD_STRING_OR_BYTES_LABEL_CHANGED" if group == "STRING_OR_BYTES" else "FIELD_NUMERIC_LABEL_CHANGED"
            ctx.add(kind, *path)
    else:
        _compare_message_types(ctx, original[1], update[1], path)


def _scalar_group(t: FieldType) -> str:
    return "NUMBER" if t[0] == "enum" else _SCALAR_GROUPS[t[1]]


def _local(name: str, info: TypeInfo | None) -> str:
    if info is not None and info.package and name.startswith(info.package + "."):
        return name[len(info.package) + 1:]
    return name


def _compare_message_types(ctx: Context, original: str, update: str, path: list[str]) -> None:
    orig_info, upd_info = ctx.original.types.get(original), ctx.update.types.get(update)
    if orig_info is None or upd_info is None:
        if original != update:
            ctx.add("FIELD_NAMED_TYPE_CHANGED", *path)
        return
    orig_local, upd_local = _local(original, orig_info), _local(update, upd_info)
    if orig_local != upd_local:
        ctx.add("FIELD_NAMED_TYPE_CHANGED", *path)
        return
    if orig_info.origin == upd_info.origin:
        return
    assert isinstance(orig_info.element, descriptor_pb2.DescriptorProto)
    assert isinstance(upd_info.element, descriptor_pb2.DescriptorProto)
    sub = Context(ctx.original, ctx.update, orig_local.split("."), [], ctx.seen)
    _compare_message(sub, original, update, orig_info.element, upd_info.element)
    ctx.differences.extend(sub.differences)
    if not sub.compatible():
        ctx.add("FIELD_NAMED_TYPE_CHANGED", *path)


FINGERPRINT_VERSION = 1
"""Changed whenever :func:`fingerprint` digests something else: stored compiled forms keep
fingerprints (:meth:`registry.formats.protobuf.ProtobufSchema.compiled`), and those of another
version are not read back."""


def fingerprint(side: Side, name: str, msg: descriptor_pb2.DescriptorProto) -> bytes:
    """A digest of everything the diff of message ``name`` of ``side`` reads, memoised on
    ``side`` (and kept with a stored schema's compiled form): the message's bytes (fields,
    oneofs, nested types and enums) with its fields' type names left out, the file's
    syntax, and how each of those names resolves.

    When two messages have equal fingerprints, comparing them yields no difference.
    Named message types enter as local name and origin: equal on both sides, the diff
    does not look into them. (Bytes also hold what the diff does not read, such as
    options: messages differing only there are compared, with the same verdict.)
    """
    found = side.fingerprints.get(name)
    if found is None:
        info = side.types.get(name)
        named = tuple(_named_type_keys(side, msg))
        if named:
            msg = _without_type_names(msg)
        shape = (msg.SerializeToString(deterministic=True), info.proto3 if info else True, named)
        found = hashlib.blake2b(repr(shape).encode("utf-8", "surrogatepass"), digest_size=16).digest()
        side.fingerprints[name] = found
    return found


def all_fingerprints(side: Side, fdp: descriptor_pb2.FileDescriptorProto) -> dict[str, bytes]:
    """The fingerprint of every message of ``fdp`` (nested ones included), by full name."""
    prefix = f"{fdp.package}." if fdp.package else ""
    stack = [(prefix + m.name, m) for m in fdp.message_type]
    while stack:
        name, msg = stack.pop()
        fingerprint(side, name, msg)
        stack.extend((f"{name}.{m.name}", m) for m in msg.nested_type)
    return dict(side.fingerprints)


def _without_type_names(msg: descriptor_pb2.DescriptorProto) -> descriptor_pb2.DescriptorProto:
    copy = descriptor_pb2.DescriptorProto()
    copy.CopyFrom(msg)
    stack = [copy]
    while stack:
        current = stack.pop()
        for f in current.field:
            f.ClearField("type_name")
        stack.extend(current.nested_type)
    return copy


def _named_type_keys(side: Side, msg: descriptor_pb2.DescriptorProto) -> Iterator[tuple]:
    for f in msg.field:
        if f.type_name:
            yield _type_key(side, _type_of(side, f))
    for nested in msg.nested_type:
        yield from _named_type_keys(side, nested)


def _type_key(side: Side, t: FieldType) -> tuple:
    """What :func:`_compare_types` reads of a field type: enums are all NUMBER scalars,
    message types are compared by local name and origin (or full name when unresolved)."""
    if t[0] == "enum":
        return ("enum",)
    if t[0] == "map":
        return ("map", _type_key(side, t[1]), _type_key(side, t[2]))
    if t[0] == "scalar":
        return t
    info = side.types.get(t[1])
    if info is None:
        return ("unresolved", t[1])
    return ("message", _local(t[1], info), info.origin)
