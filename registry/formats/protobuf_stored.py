"""The compiled form of a Protobuf schema (what a store keeps: :meth:`ProtobufSchema.compiled`),
and reading it back a part at a time.

A cold compatibility check reads every stored version of a subject, and of each it compares
few messages (those whose fingerprints differ): parsing each whole file, and making a Python
object per message, was most of its cost. The form is a ``FileDescriptorSet`` (imports first,
the schema last) whose schema file is written as its header (every field but the top-level
messages) followed by each top-level message, with where each of those lies; then the names
of the top-level messages and enums, and the fingerprint of every message. Read back, the
header is parsed at once, each top-level message when first asked for, the whole set only
when something needs it (rendering, a descriptor pool).

Layout: magic, then sections (4-byte big-endian length, bytes): the set; the spans (offset and
length, 4 bytes each, of the imports, the header and each top-level message, within the set); a BLAKE2b
digest of the set; the top-level message names, the enum names and the fingerprinted names
(each ``\\n``-joined); then 16-byte fingerprints to the end. A form of another layout or
that does not hold together is not read (the schema is compiled again).
"""

from __future__ import annotations

import hashlib
import operator
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from google.protobuf import descriptor_pb2

from .protobuf_compat import FINGERPRINT_VERSION
from .protobuf_protoc import FileSet

MAGIC = f"schemahub-protobuf-{FINGERPRINT_VERSION}.3\n".encode()
_SET_FILE = 1  # FileDescriptorSet.file
_FILE_MESSAGE = 4  # FileDescriptorProto.message_type


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> tuple[bytes, bytes]:
    """The tag and length of a length-delimited field."""
    return _varint(number << 3 | 2), _varint(len(payload))


def _section(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _joined(names: Iterable[str]) -> bytes:
    return "\n".join(names).encode("utf-8", "surrogatepass")


def write(files: FileSet, main: str, fingerprints: dict[str, bytes]) -> bytes:
    """The compiled form of ``files`` (``main`` last) and the fingerprints of ``main``'s messages."""
    schema = files[main]
    imports = descriptor_pb2.FileDescriptorSet(file=[f for name, f in files.items() if name != main])
    header_file = descriptor_pb2.FileDescriptorProto()
    header_file.CopyFrom(schema)
    header_file.ClearField("message_type")
    header = header_file.SerializeToString(deterministic=True)
    messages = [m.SerializeToString(deterministic=True) for m in schema.message_type]
    body = [header]
    spans = []
    at = len(header)
    for message in messages:
        tag, size = _field(_FILE_MESSAGE, message)
        at += len(tag) + len(size)
        spans.append((at, len(message)))
        body += (tag, size, message)
        at += len(message)
    schema_bytes = b"".join(body)
    imports_bytes = imports.SerializeToString(deterministic=True)
    prefix = imports_bytes + b"".join(_field(_SET_FILE, schema_bytes))
    spans = [(0, len(imports_bytes)), (len(prefix), len(header))] + [(len(prefix) + o, s) for o, s in spans]
    file_set = prefix + schema_bytes
    ordered = sorted(fingerprints.items())
    return b"".join((
        MAGIC,
        _section(file_set),
        _section(struct.pack(f">{2 * len(spans)}I", *(n for span in spans for n in span))),
        _section(hashlib.blake2b(file_set, digest_size=16).digest()),
        _section(_joined(m.name for m in schema.message_type)),
        _section(_joined(e.name for e in schema.enum_type)),
        _section(_joined(name for name, _ in ordered)),
        *(digest for _, digest in ordered),
    ))


class StoredMessages(Sequence[Any]):
    """The top-level messages of a stored schema file, each parsed when first asked for."""

    def __init__(self, file_set: bytes, spans: list[tuple[int, int]]) -> None:
        self._file_set = file_set
        self._spans = spans
        self._parsed: list[descriptor_pb2.DescriptorProto | None] = [None] * len(spans)

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        found = self._parsed[index]
        if found is None:
            offset, size = self._spans[index]
            found = self._parsed[index] = descriptor_pb2.DescriptorProto.FromString(
                self._file_set[offset : offset + size]
            )
        return found

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))


class StoredFile:
    """A stored schema's own file as the compatibility check reads it: the fields of its header,
    its top-level messages read one at a time (:class:`StoredMessages`)."""

    def __init__(self, header: descriptor_pb2.FileDescriptorProto, messages: StoredMessages) -> None:
        self.header = header
        self.name: str = header.name
        self.package: str = header.package
        self.syntax: str = header.syntax
        self.enum_type = header.enum_type
        self.message_type = messages


class StoredForm:
    """A compiled form read back: the imported files and the schema's header parsed, the rest
    when needed (:meth:`files`)."""

    def __init__(self, file_set: bytes, imports: FileSet, main: StoredFile, top_level: tuple[list[str], list[str]],
                 fingerprints: dict[str, bytes]) -> None:
        self.file_set = file_set
        self.imports = imports
        self.main = main
        self.top_level = top_level
        self.fingerprints = fingerprints

    def files(self) -> FileSet:
        """Every file, parsed whole (imports first, the schema last)."""
        files = descriptor_pb2.FileDescriptorSet.FromString(self.file_set).file
        return {f.name: f for f in files}

    def compat_files(self) -> dict[str, Any]:
        """The files as the compatibility check reads them: the schema's as a :class:`StoredFile`."""
        return {**self.imports, self.main.name: self.main}


def read(compiled: bytes) -> StoredForm | None:
    """The form :func:`write` made; None when it is of another layout or does not hold together
    (raises ``DecodeError`` or ``ValueError`` for bytes that do not parse)."""
    if not compiled.startswith(MAGIC):
        return None
    view = memoryview(compiled)
    at = len(MAGIC)

    def section() -> bytes:
        nonlocal at
        size = int.from_bytes(view[at : at + 4], "big")
        if at + 4 + size > len(view):
            raise ValueError("truncated")
        at += 4 + size
        return bytes(view[at - size : at])

    def names() -> list[str]:
        text = section().decode("utf-8", "surrogatepass")
        return text.split("\n") if text else []

    file_set, span_bytes, digest = section(), section(), section()
    messages, enums, fingerprinted = names(), names(), names()
    digests = bytes(view[at:])
    if hashlib.blake2b(file_set, digest_size=16).digest() != digest or len(digests) != 16 * len(fingerprinted):
        return None
    if len(span_bytes) != 8 * (2 + len(messages)):
        return None
    numbers = struct.unpack(f">{len(span_bytes) // 4}I", span_bytes)
    offsets, sizes = numbers[0::2], numbers[1::2]
    if offsets[0] != 0 or max(map(operator.add, offsets, sizes)) > len(file_set):
        return None
    spans = list(zip(offsets, sizes, strict=True))
    (_, imports_size), (header_at, header_size) = spans[:2]
    imports = descriptor_pb2.FileDescriptorSet.FromString(file_set[:imports_size]).file
    header = descriptor_pb2.FileDescriptorProto.FromString(file_set[header_at : header_at + header_size])
    if len(header.enum_type) != len(enums) or header.message_type:
        return None
    fingerprints = dict(zip(fingerprinted, [digests[i : i + 16] for i in range(0, len(digests), 16)], strict=True))
    main = StoredFile(header, StoredMessages(file_set, spans[2:]))
    found = {f.name: f for f in imports}
    if len(found) != len(imports) or main.name in found:
        return None
    return StoredForm(file_set, found, main, (messages, enums), fingerprints)

