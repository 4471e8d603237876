"""Turning Protobuf schema text into descriptors: protoc (in worker processes,
:mod:`.protoc_workers`), or a base64 serialized ``FileDescriptorProto``.

Imports resolve against the reference files handed in (as compiled
descriptors), then the built-in files: the ``google/protobuf`` well-known
types shipped with grpc_tools, the ``google/type`` files of
googleapis-common-protos when installed, and Confluent's ``confluent/meta.proto``
and ``confluent/type/decimal.proto``.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import re
import shutil
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError

from . import protoc_workers
from .base import InvalidSchemaError

FileSet = dict[str, descriptor_pb2.FileDescriptorProto]

MAIN_FILE = "schema.proto"
MAX_SCHEMA_CHARS = 4 * 1024 * 1024
MAX_NESTING = 100
MAX_ERROR_LINES = 20

GOOGLE_TYPE_FILES = (
    "calendar_period", "color", "date", "datetime", "dayofweek", "decimal", "expr", "fraction",
    "interval", "latlng", "money", "month", "phone_number", "postal_address", "quaternion",
    "timeofday",
)

_CONFLUENT_META = """syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option go_package = "../confluent";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
  repeated Rule rules = 4;
}

message Rule {
  string name = 1;
  string doc = 2;
  string expr = 3;
  string sql = 4;
}

extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
"""

_CONFLUENT_DECIMAL = """syntax = "proto3";
package confluent.type;

message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
"""

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SKIPPED = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|//[^\n]*|/\*.*?(?:\*/|$)', re.S)
_BRACKETS = re.compile(r"[{}\[\]()<>]")
_LOG_LINE = re.compile(r"[IWEF]\d{4} |WARNING: All log messages before absl::InitializeLog")


def _grpc_include() -> str:
    import grpc_tools

    return str(Path(grpc_tools.__file__).parent / "_proto")


@lru_cache(maxsize=1)
def builtin_include_dir() -> str:
    """A directory holding the Confluent files and the ``google/type`` files (one per
    process, removed when it exits)."""
    root = Path(tempfile.mkdtemp(prefix="schemahub-proto-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    (root / "confluent" / "type").mkdir(parents=True)
    (root / "confluent" / "meta.proto").write_text(_CONFLUENT_META)
    (root / "confluent" / "type" / "decimal.proto").write_text(_CONFLUENT_DECIMAL)
    try:
        import google.type as google_type
    except ImportError:
        return str(root)
    source = Path(next(iter(google_type.__path__)))
    (root / "google" / "type").mkdir(parents=True)
    for name in GOOGLE_TYPE_FILES:
        path = source / f"{name}.proto"
        if path.exists():
            (root / "google" / "type" / path.name).write_bytes(path.read_bytes())
    return str(root)


def is_builtin(name: str) -> bool:
    """Whether ``name`` is an import the registry resolves without a reference."""
    return Path(builtin_include_dir(), name).is_file() or Path(_grpc_include(), name).is_file()


def _protoc_error(error: str, code: int) -> str:
    """protoc's error text for a client: log lines dropped, at most MAX_ERROR_LINES."""
    lines = [line for line in error.strip().splitlines() if not _LOG_LINE.match(line)]
    if len(lines) > MAX_ERROR_LINES:
        lines = [*lines[:MAX_ERROR_LINES], f"... {len(lines) - MAX_ERROR_LINES} more errors"]
    return "\n".join(lines) or f"protoc failed with status {code}"


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of ``text``, outside strings and comments.

    protoc recurses on nested option values without a limit, so deep input
    must be refused before it reaches protoc.
    """
    depth = deepest = 0
    for match in _BRACKETS.finditer(_SKIPPED.sub(" ", text)):
        if match.group() in "{[(<":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def compile_text(text: str, deps: Mapping[str, descriptor_pb2.FileDescriptorProto]) -> FileSet:
    """Compile ``.proto`` text; return every file it needs, the schema last.

    ``deps`` maps import paths to the compiled reference files.
    """
    if len(text) > MAX_SCHEMA_CHARS:
        raise InvalidSchemaError(f"Invalid schema: larger than {MAX_SCHEMA_CHARS} characters")
    if nesting_depth(text) > MAX_NESTING:
        raise InvalidSchemaError(f"Invalid schema: nested deeper than {MAX_NESTING} levels")
    main = MAIN_FILE if MAIN_FILE not in deps else "__schemahub_main__.proto"
    dep_set = descriptor_pb2.FileDescriptorSet(file=list(deps.values())).SerializeToString() if deps else b""
    header = {"main": main, "includes": [builtin_include_dir(), _grpc_include()]}
    compiled = protoc_workers.pool.compile(header, text.encode("utf-8", "surrogatepass"), dep_set)
    if compiled.code != 0:
        raise InvalidSchemaError(f"Invalid schema: {_protoc_error(compiled.error, compiled.code)}")
    result = descriptor_pb2.FileDescriptorSet.FromString(compiled.output)
    return {f.name: f for f in result.file}


def decode_serialized(text: str) -> descriptor_pb2.FileDescriptorProto | None:
    """The ``FileDescriptorProto`` that ``text`` encodes in base64, if it does."""
    compact = text.strip()
    if not compact or len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    try:
        fdp = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(compact, validate=True))
    except (binascii.Error, DecodeError, ValueError):
        return None
    if not fdp.name and not fdp.message_type and not fdp.enum_type:
        return None
    return fdp


@lru_cache(maxsize=1)
def _builtin_files() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every built-in file, compiled once."""
    names = []
    for base in (builtin_include_dir(), _grpc_include()):
        for path in Path(base).rglob("*.proto"):
            rel = path.relative_to(base).as_posix()
            if "/compiler/" not in rel and not rel.endswith("_features.proto"):
                names.append(rel)
    text = "".join(f'import "{n}";\n' for n in sorted(set(names)))
    files = compile_text('syntax = "proto3";\n' + text, {})
    files.popitem()
    return files


def link_serialized(
    fdp: descriptor_pb2.FileDescriptorProto, deps: Mapping[str, descriptor_pb2.FileDescriptorProto]
) -> FileSet:
    """Validate a decoded descriptor against its imports; return its files, it last."""
    known = {**_builtin_files(), **deps}
    files: FileSet = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in files:
            return
        if name not in known:
            raise InvalidSchemaError(f"Invalid schema: import \"{name}\" was not found")
        if name in trail:
            raise InvalidSchemaError(f"Invalid schema: import cycle through \"{name}\"")
        for sub in known[name].dependency:
            visit(sub, (*trail, name))
        files[name] = known[name]

    main = descriptor_pb2.FileDescriptorProto()
    main.CopyFrom(fdp)
    if not main.name or main.name in known:
        main.name = MAIN_FILE if MAIN_FILE not in known else "__schemahub_main__.proto"
    for dep in main.dependency:
        visit(dep, (main.name,))
    files[main.name] = main
    pool = descriptor_pool.DescriptorPool()
    try:
        for item in files.values():
            pool.Add(item)
        pool.FindFileByName(main.name)
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidSchemaError(f"Invalid schema: {exc}") from exc
    return files
