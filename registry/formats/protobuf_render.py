"""Printing a ``FileDescriptorProto`` as ``.proto`` text.

The layout is the one Confluent stores (Wire elements printed by
``ProtobufSchemaUtils``): syntax, package, imports, options, then per scope
messages before enums, each body as reserved, options, fields, oneofs,
extension ranges, nested types. Type names are fully qualified with a
leading dot and maps are written ``map<K, V>``, so a schema given as text and
the same schema given as a serialized descriptor print alike. ``normalize``
gives the normalized form (compat-rules §2.6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor

FDP = descriptor_pb2.FieldDescriptorProto
MAX_TAG = 536870911

_SCALARS = {
    FDP.TYPE_DOUBLE: "double", FDP.TYPE_FLOAT: "float", FDP.TYPE_INT64: "int64",
    FDP.TYPE_UINT64: "uint64", FDP.TYPE_INT32: "int32", FDP.TYPE_FIXED64: "fixed64",
    FDP.TYPE_FIXED32: "fixed32", FDP.TYPE_BOOL: "bool", FDP.TYPE_STRING: "string",
    FDP.TYPE_BYTES: "bytes", FDP.TYPE_UINT32: "uint32", FDP.TYPE_SFIXED32: "sfixed32",
    FDP.TYPE_SFIXED64: "sfixed64", FDP.TYPE_SINT32: "sint32", FDP.TYPE_SINT64: "sint64",
}
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\", "'": "\\'", '"': '\\"'}


def scalar_name(field_type: int) -> str | None:
    """The ``.proto`` keyword of a scalar field type, None for messages/enums/groups."""
    return _SCALARS.get(field_type)


def escape(text: str | bytes) -> str:
    """Escape a string literal the way Confluent does."""
    if isinstance(text, bytes):  # a string value that is not UTF-8 (protoc takes \xff escapes)
        return "".join(_ESCAPES.get(chr(b), chr(b)) if 32 <= b < 127 else f"\\{b:03o}" for b in text)
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def default_json_name(name: str) -> str:
    """protoc's JSON name for a field name (underscores dropped, next letter upper-cased)."""
    out: list[str] = []
    upper = False
    for ch in name:
        if ch == "_":
            upper = True
        else:
            out.append(ch.upper() if upper else ch)
            upper = False
    return "".join(out)


def indent(text: str) -> str:
    """Indent every line of ``text`` by two spaces."""
    return "".join(f"  {line}\n" for line in text.rstrip("\n").split("\n"))


def message_index(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> dict[str, descriptor_pb2.DescriptorProto]:
    """Every message of ``files`` by full name (no leading dot)."""
    index: dict[str, descriptor_pb2.DescriptorProto] = {}

    def walk(prefix: str, messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
        for msg in messages:
            name = f"{prefix}{msg.name}"
            index[name] = msg
            walk(name + ".", msg.nested_type)

    for fdp in files:
        walk(f"{fdp.package}." if fdp.package else "", fdp.message_type)
    return index


class _Options:
    """Reads option messages with the custom options the file set defines."""

    def __init__(self, files: Mapping[str, descriptor_pb2.FileDescriptorProto]) -> None:
        self._pool: descriptor_pool.DescriptorPool | None = None
        if "google/protobuf/descriptor.proto" in files:
            pool = descriptor_pool.DescriptorPool()
            try:
                for fdp in files.values():
                    pool.Add(fdp)
                self._pool = pool
            except (TypeError, ValueError, KeyError):
                self._pool = None

    def fields(self, options: Any) -> list[tuple[FieldDescriptor, Any]]:
        """The set fields of ``options``: standard ones in declaration order,
        then Confluent's extensions, then other extensions by number."""
        if not options.ByteSize():
            return []
        msg = options
        if self._pool is not None:
            desc = self._pool.FindMessageTypeByName(options.DESCRIPTOR.full_name)
            msg = message_factory.GetMessageClass(desc).FromString(options.SerializeToString())
        listed = msg.ListFields()
        order = {f.name: i for i, f in enumerate(msg.DESCRIPTOR.fields)}
        standard = sorted((p for p in listed if not p[0].is_extension), key=lambda p: order[p[0].name])
        ext = sorted((p for p in listed if p[0].is_extension),
                     key=lambda p: (not p[0].full_name.startswith("confluent."), p[0].number))
        return standard + ext


def _is_repeated(field: FieldDescriptor) -> bool:
    return field.is_repeated


def _primitive(field: FieldDescriptor, value: Any) -> str:
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else str(value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if field.type == FieldDescriptor.TYPE_STRING:
        return f'"{escape(value)}"'
    if field.type == FieldDescriptor.TYPE_BYTES:
        return '"' + "".join(ch if 32 <= ord(ch) < 127 and ch not in "\\\"'" else f"\\{ord(ch):03o}"
                             for ch in value.decode("latin-1")) + '"'
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else str(value)
    return str(value)


class _OptionPrinter:
    """Formats option values as Confluent prints Wire option elements."""

    def __init__(self, normalize: bool) -> None:
        self.normalize = normalize

    def value(self, field: FieldDescriptor, value: Any, meta: bool) -> str:
        if field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            return "{\n" + self.body(value, meta) + "}"
        return _primitive(field, value)

    def body(self, msg: Any, meta: bool) -> str:
        entries = [(f.full_name if f.is_extension else f.name, f, v) for f, v in msg.ListFields()]
        if self.normalize:
            entries.sort(key=lambda e: e[0])
        lines = []
        for key, field, value in entries:
            label = f"[{key}]" if field.is_extension else key
            lines.append(f"{label}: {self.field_value(field, value, meta)}")
        return "".join(indent(line + ("," if i < len(lines) - 1 else "")) for i, line in enumerate(lines))

    def field_value(self, field: FieldDescriptor, value: Any, meta: bool) -> str:
        if not _is_repeated(field):
            return self.value(field, value, meta)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            items = [self.map_entry(field.message_type, k, value[k], meta) for k in sorted(value)]
        else:
            items = [self.value(field, v, meta) for v in value]
        return "[\n" + "".join(indent(v + ("," if i < len(items) - 1 else "")) for i, v in enumerate(items)) + "]"

    def map_entry(self, entry: Any, key: Any, value: Any, meta: bool) -> str:
        key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
        parts = [f"key: {_primitive(key_field, key)}", f"value: {self.value(value_field, value, meta)}"]
        if meta and key in ("precision", "scale") and not self.normalize:
            parts.reverse()
        return "{\n" + "".join(indent(p + ("," if i == 0 else "")) for i, p in enumerate(parts)) + "}"

    def option(self, field: FieldDescriptor, value: Any) -> str:
        name = f"({field.full_name})" if field.is_extension else field.name
        meta = field.is_extension and field.full_name.startswith("confluent.")
        return f"{name} = {self.value(field, value, meta)}"


class Renderer:
    """Prints one file of a compiled file set."""

    def __init__(self, files: Mapping[str, descriptor_pb2.FileDescriptorProto], normalize: bool = False) -> None:
        self.files = files
        self.normalize = normalize
        self.messages = message_index(files.values())
        self.options = _Options(files)
        self.printer = _OptionPrinter(normalize)
        self.proto3 = False

    def option_items(self, options: Any, extra: Iterable[str] = ()) -> list[str]:
        items: list[tuple[str, str]] = []
        for field, value in self.options.fields(options):
            for v in (value if _is_repeated(field) else [value]):
                items.append((field.full_name if field.is_extension else field.name, self.printer.option(field, v)))
        items += [(e.split(" ", 1)[0], e) for e in extra]
        if self.normalize:
            items.sort(key=lambda item: item[0])
        return [text for _, text in items]

    def option_lines(self, options: Any) -> str:
        return "".join(f"option {item};\n" for item in self.option_items(options))

    def render(self, fdp: descriptor_pb2.FileDescriptorProto) -> str:
        """The ``.proto`` text of ``fdp``."""
        self.proto3 = fdp.syntax == "proto3"
        out = []
        if fdp.syntax in ("proto3",) or (fdp.syntax == "editions" and not self.normalize):
            out.append(f'syntax = "{fdp.syntax}";\n')
        if fdp.package:
            out.append(f"package {fdp.package};\n")
        public = set(fdp.public_dependency)
        imports = [d for i, d in enumerate(fdp.dependency) if i not in public]
        publics = [d for i, d in enumerate(fdp.dependency) if i in public]
        if self.normalize:
            imports, publics = sorted(set(imports)), sorted(set(publics))
        if imports or publics:
            out.append("\n" + "".join(f'import "{d}";\n' for d in imports)
                       + "".join(f'import public "{d}";\n' for d in publics))
        if fdp.HasField("options") and self.option_items(fdp.options):
            out.append("\n" + self.option_lines(fdp.options))
        prefix = f"{fdp.package}." if fdp.package else ""
        types = [self.message(prefix, m) for m in fdp.message_type] + [self.enum(e) for e in fdp.enum_type]
        if types:
            out.append("\n" + "".join(types))
        if fdp.extension:
            out.append("\n" + self.extends(fdp.extension))
        if fdp.service:
            out.append("\n" + "".join(self.service(s) for s in fdp.service))
        return "".join(out)

    def extends(self, fields: Iterable[descriptor_pb2.FieldDescriptorProto]) -> str:
        groups: dict[str, list[str]] = {}
        for field in fields:
            groups.setdefault(field.extendee, []).append(self.field(field, in_oneof=False))
        return "".join(f"extend {name} {{\n" + "".join(indent(f) for f in body) + "}\n"
                       for name, body in groups.items())

    def message(self, prefix: str, msg: descriptor_pb2.DescriptorProto) -> str:
        return f"message {msg.name} {{" + self.message_body(prefix + msg.name, msg) + "}\n"

    def message_body(self, full_name: str, msg: descriptor_pb2.DescriptorProto) -> str:
        out = []
        reserved = self.ranges("reserved", msg.reserved_range, 1) + [f'reserved "{n}";\n' for n in msg.reserved_name]
        if reserved:
            out.append("\n" + "".join(indent(r) for r in self.sorted_ranges(reserved)))
        if msg.HasField("options"):
            items = [i for i in self.option_items(msg.options) if not i.startswith("map_entry")]
            if items:
                out.append("\n" + "".join(indent(f"option {i};") for i in items))
        groups = {f.type_name.rsplit(".", 1)[-1] for f in msg.field if f.type == FDP.TYPE_GROUP}
        plain = [f for f in msg.field if not self.in_oneof(f)]
        if self.normalize:
            plain.sort(key=lambda f: f.number)
        if plain:
            out.append("\n" + "".join(indent(self.field(f, False, full_name)) for f in plain))
        oneofs = self.oneofs(full_name, msg)
        if oneofs:
            out.append("\n" + "".join(indent(o) for o in oneofs))
        extensions = self.ranges("extensions", msg.extension_range, 1)
        if extensions:
            out.append("\n" + "".join(indent(r) for r in self.sorted_ranges(extensions)))
        nested = [self.message(full_name + ".", m) for m in msg.nested_type
                  if not m.options.map_entry and m.name not in groups]
        nested += [self.enum(e) for e in msg.enum_type]
        if nested:
            out.append("\n" + "".join(indent(n) for n in nested))
        if msg.extension:
            out.append("\n" + indent(self.extends(msg.extension)))
        return "".join(out)

    def in_oneof(self, field: descriptor_pb2.FieldDescriptorProto) -> bool:
        return field.HasField("oneof_index") and not field.proto3_optional

    def oneofs(self, full_name: str, msg: descriptor_pb2.DescriptorProto) -> list[str]:
        members: list[list[descriptor_pb2.FieldDescriptorProto]] = [[] for _ in msg.oneof_decl]
        for field in msg.field:
            if self.in_oneof(field) and field.oneof_index < len(members):
                members[field.oneof_index].append(field)
        decls = [(d, m) for d, m in zip(msg.oneof_decl, members, strict=False) if m]
        if self.normalize:
            decls = [(d, sorted(m, key=lambda f: f.number)) for d, m in decls]
            decls.sort(key=lambda dm: dm[1][0].number)
        out = []
        for decl, fields in decls:
            body = ""
            if decl.HasField("options") and self.option_items(decl.options):
                body += "\n" + indent(self.option_lines(decl.options))
            body += "\n" + "".join(indent(self.field(f, True, full_name)) for f in fields)
            out.append(f"oneof {decl.name} {{{body}}}\n")
        return out

    def ranges(self, keyword: str, ranges: Iterable[Any], end_offset: int) -> list[str]:
        out = []
        for r in ranges:
            end = r.end - end_offset
            value = str(r.start) if r.start == end else f"{r.start} to {'max' if end >= MAX_TAG else end}"
            out.append(f"{keyword} {value};\n")
        return out

    def sorted_ranges(self, lines: list[str]) -> list[str]:
        if not self.normalize:
            return lines

        def key(line: str) -> tuple[int, str]:
            head = line.split(" ", 1)[1].split(" ", 1)[0].rstrip(";\n")
            return (int(head) if head.isdigit() else 2**31, line)

        return sorted(lines, key=key)

    def label(self, field: descriptor_pb2.FieldDescriptorProto, in_oneof: bool) -> str | None:
        if in_oneof:
            return None
        if field.proto3_optional:
            return "optional"
        if field.label == FDP.LABEL_REPEATED:
            return "repeated"
        if field.label == FDP.LABEL_REQUIRED:
            return "required"
        return None if self.proto3 else "optional"

    def map_entry(self, field: descriptor_pb2.FieldDescriptorProto) -> descriptor_pb2.DescriptorProto | None:
        if field.type != FDP.TYPE_MESSAGE or field.label != FDP.LABEL_REPEATED:
            return None
        entry = self.messages.get(field.type_name.lstrip("."))
        return entry if entry is not None and entry.options.map_entry else None

    def type_name(self, field: descriptor_pb2.FieldDescriptorProto) -> str:
        return scalar_name(field.type) or field.type_name

    def field(self, field: descriptor_pb2.FieldDescriptorProto, in_oneof: bool, scope: str = "") -> str:
        entry = self.map_entry(field)
        if entry is not None:
            key, value = sorted(entry.field, key=lambda f: f.number)[:2]
            head = f"map<{self.type_name(key)}, {self.type_name(value)}>"
        else:
            label = self.label(field, in_oneof)
            head = (f"{label} " if label else "") + self.type_name(field)
        extra = []
        if field.HasField("default_value") and not self.proto3:
            extra.append(f"default = {self.default(field)}")
        if field.HasField("json_name") and field.json_name != default_json_name(field.name):
            extra.append(f'json_name = "{escape(field.json_name)}"')
        items = self.option_items(field.options, extra) if field.HasField("options") else list(extra)
        if self.normalize:
            items.sort(key=lambda item: item.split(" ", 1)[0].strip("()"))
        if field.type == FDP.TYPE_GROUP:
            group = self.messages.get(field.type_name.lstrip("."))
            body = self.message_body(field.type_name.lstrip("."), group) if group else ""
            head = head.replace(field.type_name, "group " + field.type_name.rsplit(".", 1)[-1])
            return f"{head} = {field.number}{self.options_suffix(items)} {{{body}}}\n"
        return f"{head} {field.name} = {field.number}{self.options_suffix(items)};\n"

    def options_suffix(self, items: list[str]) -> str:
        if not items:
            return ""
        if len(items) == 1:
            return f" [{items[0]}]"
        return " [\n" + "".join(indent(i + ("," if n < len(items) - 1 else "")) for n, i in enumerate(items)) + "]"

    def default(self, field: descriptor_pb2.FieldDescriptorProto) -> str:
        if field.type == FDP.TYPE_STRING:
            return f'"{escape(field.default_value)}"'
        if field.type == FDP.TYPE_BYTES:
            return f'"{field.default_value}"'
        return field.default_value

    def enum(self, enum: descriptor_pb2.EnumDescriptorProto) -> str:
        body = []
        if enum.HasField("options"):
            body += [f"option {i};\n" for i in self.option_items(enum.options)]
        reserved = [f"reserved {r.start};\n" if r.start == r.end else
                    f"reserved {r.start} to {'max' if r.end >= 2**31 - 1 else r.end};\n" for r in enum.reserved_range]
        body += self.sorted_ranges(reserved) + [f'reserved "{n}";\n' for n in enum.reserved_name]
        values = list(enum.value)
        if self.normalize:
            values.sort(key=lambda v: (v.number, v.name))
        for value in values:
            items = self.option_items(value.options) if value.HasField("options") else []
            body.append(f"{value.name} = {value.number}{self.options_suffix(items)};\n")
        inner = ("\n" + "".join(indent(b) for b in body)) if body else ""
        return f"enum {enum.name} {{{inner}}}\n"

    def service(self, service: descriptor_pb2.ServiceDescriptorProto) -> str:
        out = f"service {service.name} {{"
        if service.HasField("options") and self.option_items(service.options):
            out += "\n" + indent(self.option_lines(service.options))
        if service.method:
            out += "\n" + "".join(indent(self.rpc(m)) for m in service.method)
        return out + "}\n"

    def rpc(self, method: descriptor_pb2.MethodDescriptorProto) -> str:
        request = ("stream " if method.client_streaming else "") + method.input_type
        response = ("stream " if method.server_streaming else "") + method.output_type
        out = f"rpc {method.name} ({request}) returns ({response})"
        items = self.option_items(method.options) if method.HasField("options") else []
        if items:
            out += " {\n" + "".join(indent(f"option {i};") for i in items) + "}"
        return out + ";\n"


def render(files: Mapping[str, descriptor_pb2.FileDescriptorProto], name: str, normalize: bool = False) -> str:
    """The ``.proto`` text of file ``name`` of the compiled set ``files``."""
    return Renderer(files, normalize).render(files[name])
