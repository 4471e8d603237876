"""Schema formats behind one interface; see :mod:`registry.formats.base`."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Dependency, Incompatibility, InvalidSchemaError, ParsedSchema, Reference, SchemaFormat

__all__ = [
    "SCHEMA_TYPES",
    "Dependency",
    "Incompatibility",
    "InvalidSchemaError",
    "ParsedSchema",
    "Reference",
    "SchemaFormat",
    "get_format",
    "parse_schema",
]

SCHEMA_TYPES = ("AVRO", "PROTOBUF", "JSON")


def get_format(schema_type: str) -> SchemaFormat:
    """The format for ``schema_type`` (``AVRO``, ``PROTOBUF`` or ``JSON``)."""
    if schema_type == "AVRO":
        from .avro import AvroFormat

        return AvroFormat()
    if schema_type == "PROTOBUF":
        from .protobuf import ProtobufFormat

        return ProtobufFormat()
    if schema_type == "JSON":
        from .jsonschema import JsonSchemaFormat

        return JsonSchemaFormat()
    raise InvalidSchemaError(f"Invalid schema type {schema_type}")


def parse_schema(
    schema_type: str, text: str, dependencies: Sequence[Dependency] = (), *, strict: bool = True
) -> ParsedSchema:
    return get_format(schema_type).parse(text, dependencies, strict=strict)
