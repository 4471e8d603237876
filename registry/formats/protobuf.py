"""The Protobuf schema format: parsing with protoc, Confluent's canonical text,
normalisation, and the compatibility check of compat-rules §2."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError

from ..bounded import BoundedCache
from . import protobuf_explain, protobuf_stored
from .base import (
    Dependency,
    Explanation,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaFormat,
    SchemaText,
    unpaired_surrogate_escape,
)
from .positions import ElementPositions, proto_positions
from .protobuf_compat import (
    Difference,
    Side,
    all_fingerprints,
    build_side,
    schema_differences,
)
from .protobuf_protoc import MAX_NESTING, FileSet, compile_text, decode_serialized, link_serialized, nesting_depth
from .protobuf_render import default_json_name, render

_CACHE_BYTES = 32 * 1024 * 1024  # compiled files, estimated as 6 bytes per character of source


_IMPORT = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.MULTILINE)


class ProtobufSchema(ParsedSchema):
    """A compiled ``.proto`` file with its imports resolved."""

    schema_type: ClassVar[str] = "PROTOBUF"
    memory_per_char: ClassVar[int] = 8

    def __init__(
        self,
        files: FileSet | None,
        dependencies: Sequence[Dependency] = (),
        normalized: bool = False,
        stored: protobuf_stored.StoredForm | None = None,
    ) -> None:
        """``files``, or (None) the ``stored`` form they are read from when first needed."""
        super().__init__(dependencies)
        self._file_set = files
        self._stored = stored
        self._main = stored.main.name if stored is not None else next(reversed(files or {}))
        self._normalized = normalized
        self._canonical: str | None = None
        self._pool: descriptor_pool.DescriptorPool | None = None
        self._compat_side: Side | None = None

    @property
    def _files(self) -> FileSet:
        if self._file_set is None:
            assert self._stored is not None
            self._file_set = self._stored.files()
        return self._file_set

    def file_descriptor_proto(self) -> descriptor_pb2.FileDescriptorProto:
        """The schema's own ``FileDescriptorProto`` (a copy)."""
        copy = descriptor_pb2.FileDescriptorProto()
        copy.CopyFrom(self._files[self._main])
        return copy

    def canonical_string(self) -> str:
        if self._canonical is None:
            self._canonical = render(self._files, self._main, normalize=self._normalized)
        return self._canonical

    def normalized(self) -> ProtobufSchema:
        if self._normalized:
            return self
        text = render(self._files, self._main, normalize=True)
        return ProtobufSchema(_compile(text, self.dependencies), self.dependencies, normalized=True)

    def compiled(self) -> bytes:
        """The compiled files and the fingerprint of each message the compatibility check
        compares (:mod:`registry.formats.protobuf_stored`)."""
        return protobuf_stored.write(self._files, self._main, all_fingerprints(self._side(), self._files[self._main]))

    def formatted(self, fmt: str | None) -> str:
        if fmt == "serialized":
            return base64.b64encode(self._files[self._main].SerializeToString(deterministic=True)).decode("ascii")
        return self.canonical_string()

    def record_name(self) -> str | None:
        fdp = self._files[self._main]
        if not fdp.message_type:
            return None
        return f"{fdp.package}.{fdp.message_type[0].name}" if fdp.package else fdp.message_type[0].name

    def has_top_level_field(self, name: str) -> bool:
        """A field of the first message (Confluent's ``ProtobufSchema.hasTopLevelField``)."""
        fdp = self._files[self._main]
        return bool(fdp.message_type) and any(f.name == name for f in fdp.message_type[0].field)

    def pool(self) -> descriptor_pool.DescriptorPool:
        """A private descriptor pool holding the schema and all its imports."""
        if self._pool is None:
            pool = descriptor_pool.DescriptorPool()
            for fdp in self._files.values():
                pool.Add(fdp)
            self._pool = pool
        return self._pool

    def message_descriptor(self, full_name: str) -> Descriptor:
        """The descriptor of the message ``full_name`` (no leading dot)."""
        return self.pool().FindMessageTypeByName(full_name)

    def message_class(self, full_name: str | None = None) -> type[Any]:
        """A generated message class for ``full_name`` (default: the first message)."""
        name = full_name or self.record_name()
        if name is None:
            raise KeyError("the schema has no message")
        return message_factory.GetMessageClass(self.message_descriptor(name))

    def name_for_indexes(self, indexes: Sequence[int]) -> str:
        """The full name at a message-index path (top-level index, then nested indexes)."""
        fdp = self._files[self._main]
        path = list(indexes) or [0]
        messages = fdp.message_type
        names = []
        for i in path:
            if not 0 <= i < len(messages):
                raise KeyError(f"no message at index path {list(indexes)}")
            names.append(messages[i].name)
            messages = messages[i].nested_type
        return ".".join(([fdp.package] if fdp.package else []) + names)

    def indexes_for_name(self, full_name: str) -> list[int]:
        """The message-index path of the message ``full_name``."""
        fdp = self._files[self._main]
        prefix = f"{fdp.package}." if fdp.package else ""
        if not full_name.startswith(prefix):
            raise KeyError(full_name)
        parts = full_name[len(prefix):].split(".")
        messages, path = fdp.message_type, []
        for part in parts:
            found = [i for i, m in enumerate(messages) if m.name == part]
            if not found:
                raise KeyError(full_name)
            path.append(found[0])
            messages = messages[found[0]].nested_type
        return path

    def differences(self, original: ProtobufSchema) -> list[Difference]:
        """Every difference from ``original`` (old) to this schema (new), in Confluent's order."""
        return schema_differences(original._side(), original._compat_file(), self._side(), self._compat_file())

    def incompatibilities(self, writer: ParsedSchema, policy: str = "STRICT") -> list[Incompatibility]:
        if not isinstance(writer, ProtobufSchema):
            raise TypeError("a Protobuf schema can only be compared with a Protobuf schema")
        return [protobuf_explain.issue_of(d) for d in self.differences(writer) if not d.compatible]

    def _compat_file(self) -> Any:
        """The schema's own file as the difference algorithm reads it (from the stored form, if
        read back from one: its top-level messages parsed one at a time, as the check asks)."""
        if self._stored is not None:
            return self._stored.main
        return self._files[self._main]

    def _side(self) -> Side:
        """The indexed types the difference algorithm reads, built once per schema."""
        if self._compat_side is None:
            stored = self._stored
            if stored is not None:
                side = build_side(stored.compat_files(), self._main, _origins(self.dependencies), stored.top_level)
                side.fingerprints.update(stored.fingerprints)
            else:
                side = build_side(self._files, self._main, _origins(self.dependencies))
            self._compat_side = side
        return self._compat_side


def _origins(dependencies: Sequence[Dependency]) -> dict[str, tuple[str, int]]:
    """Reference file name -> (subject, version), over the whole dependency graph."""
    out: dict[str, tuple[str, int]] = {}
    stack = list(dependencies)
    while stack:
        dep = stack.pop()
        if dep.name not in out:
            out[dep.name] = (dep.subject or dep.name, dep.version)
            stack.extend(dep.schema.dependencies)
    return out


def _dependency_files(dependencies: Sequence[Dependency]) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Each reference's compiled file under its import path, dependencies first."""
    out: dict[str, descriptor_pb2.FileDescriptorProto] = {}

    def visit(dep: Dependency, trail: tuple[str, ...]) -> None:
        if dep.name in out or dep.name in trail:
            return
        if not isinstance(dep.schema, ProtobufSchema):
            raise InvalidSchemaError(f"Invalid schema: reference {dep.name} is not a Protobuf schema")
        for sub in dep.schema.dependencies:
            visit(sub, (*trail, dep.name))
        fdp = dep.schema.file_descriptor_proto()
        fdp.name = dep.name
        out[dep.name] = fdp

    for dep in dependencies:
        visit(dep, ())
    return out


_cache: BoundedCache[FileSet] = BoundedCache(_CACHE_BYTES)


def _compile(text: str, dependencies: Sequence[Dependency]) -> FileSet:
    """Compile text or a serialized descriptor, with a cache bounded in (estimated) bytes."""
    key = (text, tuple((d.name, d.schema.canonical_string()) for d in dependencies))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    deps = _dependency_files(dependencies)
    fdp = decode_serialized(text)
    files = link_serialized(fdp, deps) if fdp is not None else compile_text(text, deps)
    main = next(reversed(files))
    _strip_default_json_names(files[main])
    _cache.put(key, files, 6 * (len(text) + sum(len(body) for _, body in key[1])))
    return files


def _from_compiled(compiled: bytes, dependencies: Sequence[Dependency]) -> ProtobufSchema | None:
    stored = protobuf_stored.read(compiled)
    if stored is None or any(d.name not in stored.imports for d in dependencies):
        return None
    return ProtobufSchema(None, dependencies, stored=stored)


def _strip_default_json_names(fdp: descriptor_pb2.FileDescriptorProto) -> None:
    """Drop the JSON names protoc fills in, keeping explicit ones."""
    def walk(messages: Any) -> None:
        for msg in messages:
            for f in list(msg.field) + list(msg.extension):
                if f.HasField("json_name") and f.json_name == default_json_name(f.name):
                    f.ClearField("json_name")
            walk(msg.nested_type)

    walk(fdp.message_type)
    for f in fdp.extension:
        if f.HasField("json_name") and f.json_name == default_json_name(f.name):
            f.ClearField("json_name")


class ProtobufFormat(SchemaFormat):
    """The ``PROTOBUF`` schema type."""

    schema_type: ClassVar[str] = "PROTOBUF"
    imports_from_roots: ClassVar[bool] = True

    def parse(self, text: str, dependencies: Sequence[Dependency] = (), *, strict: bool = True) -> ProtobufSchema:
        if not isinstance(text, str) or not text.strip():
            raise InvalidSchemaError("Empty schema")
        schema = ProtobufSchema(_compile(text, dependencies), dependencies)
        if not schema.canonical_string().strip():
            raise InvalidSchemaError("Empty schema: the file declares no package, option, import or type")
        return schema

    def parse_compiled(
        self, text: str, compiled: bytes, dependencies: Sequence[Dependency] = ()
    ) -> ProtobufSchema | None:
        """The schema from :meth:`ProtobufSchema.compiled`, without protoc; None unless the
        bytes are whole and name a file for every reference."""
        try:
            return _from_compiled(compiled, dependencies)
        except (DecodeError, ValueError, IndexError):
            return None

    def element_count(self, text: str, limit: int) -> int:
        """Statements and blocks; 0 for text nested too deep to count (the parser answers 42201)."""
        count = text.count(";") + text.count("{")
        if count > limit and nesting_depth(text) > MAX_NESTING:
            return 0
        return count

    def check_escapes(self, text: str) -> None:
        """Any surrogate escape: protoc accepts one in a string, then the text cannot be answered as UTF-8."""
        if unpaired_surrogate_escape(text, any_surrogate=True):
            raise InvalidSchemaError("Invalid schema: \\u escape of a UTF-16 surrogate in a string")

    def answer_format(self, text: str) -> str | None:
        """A schema sent as a base64 ``FileDescriptorProto`` is answered in that form:
        confluent-kafka caches the register answer's ``schema`` by id and its Protobuf
        deserializer decodes it as base64. Base64 never holds ``;`` or ``{``, which every
        ``.proto`` text does."""
        return "serialized" if text and ";" not in text and "{" not in text else None

    def referenced_files(self, text: str) -> list[str]:
        """The files ``import``ed (also ``public`` and ``weak`` imports)."""
        return _IMPORT.findall(text)

    def read_message(self, message: str) -> tuple[Incompatibility, bool] | None:
        return protobuf_explain.read_message(message)

    def explain(
        self, issue: Incompatibility, new: SchemaText, old: SchemaText | None, *, new_is_reader: bool
    ) -> Explanation:
        return protobuf_explain.explain(issue, new, old, new_is_reader=new_is_reader)

    def element_positions(self, text: str) -> ElementPositions:
        return proto_positions(text)

