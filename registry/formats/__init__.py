"""Schema formats behind one interface; see :mod:`registry.formats.base`.

Everything the registry, the gate and the serdes decide per format is asked of
the format here: :data:`FORMATS` names each one (its module, its file name
endings, the other spellings configuration files use), and its
:class:`SchemaFormat` answers the rest. A new format is a module and a row here.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from .base import Dependency, Incompatibility, InvalidSchemaError, ParsedSchema, Reference, SchemaFormat

__all__ = [
    "DEFAULT_SCHEMA_TYPE",
    "FORMATS",
    "SCHEMA_TYPES",
    "Dependency",
    "Incompatibility",
    "InvalidSchemaError",
    "ParsedSchema",
    "Reference",
    "SchemaFormat",
    "find_format",
    "format_entry",
    "format_of_file",
    "get_format",
    "parse_schema",
    "schema_type_named",
]


@dataclass(frozen=True)
class FormatEntry:
    """One schema type: where its :class:`SchemaFormat` lives, and how files and configuration name it."""

    schema_type: str
    module: str  # in this package
    class_name: str
    extensions: tuple[str, ...]  # file name endings, lower case, the usual one first
    syntax: str  # the text's language: "json" or "proto" (what a highlighter or a pretty-printer reads)
    aliases: tuple[str, ...] = ()  # other spellings of ``schema_type`` (upper case)


FORMATS = (
    FormatEntry("AVRO", "avro", "AvroFormat", (".avsc",), "json"),
    FormatEntry("PROTOBUF", "protobuf", "ProtobufFormat", (".proto",), "proto", ("PROTO",)),
    FormatEntry("JSON", "jsonschema", "JsonSchemaFormat", (".json",), "json", ("JSONSCHEMA",)),
)
SCHEMA_TYPES = tuple(entry.schema_type for entry in FORMATS)
DEFAULT_SCHEMA_TYPE = "AVRO"
"""What a request or a stored record without ``schemaType`` is (Confluent's default)."""

_BY_TYPE = {entry.schema_type: entry for entry in FORMATS}


def get_format(schema_type: str) -> SchemaFormat:
    """The format for ``schema_type`` (one of :data:`SCHEMA_TYPES`); InvalidSchemaError otherwise."""
    entry = _BY_TYPE.get(schema_type)
    if entry is None:
        raise InvalidSchemaError(f"Invalid schema type {schema_type}")
    module = importlib.import_module(f"{__name__}.{entry.module}")
    return getattr(module, entry.class_name)()


def find_format(schema_type: str) -> SchemaFormat | None:
    """The format for ``schema_type``, or None for a type schemahub does not know."""
    return get_format(schema_type) if schema_type in _BY_TYPE else None


def schema_type_named(name: str) -> str | None:
    """The schema type a configuration spells ``name`` (``proto``, ``JsonSchema``, …), if any."""
    upper = name.upper()
    return next((e.schema_type for e in FORMATS if upper == e.schema_type or upper in e.aliases), None)


def format_of_file(path: str) -> str | None:
    """The schema type of a file, by its name's ending; None when no format claims it."""
    suffix = PurePosixPath(path).suffix.lower()
    return next((e.schema_type for e in FORMATS if suffix in e.extensions), None)


def format_entry(schema_type: str) -> FormatEntry | None:
    """The :data:`FORMATS` row of ``schema_type``: its file endings and text syntax."""
    return _BY_TYPE.get(schema_type)


def parse_schema(
    schema_type: str, text: str, dependencies: Sequence[Dependency] = (), *, strict: bool = True
) -> ParsedSchema:
    return get_format(schema_type).parse(text, dependencies, strict=strict)
