"""Walking a record's fields for field rules (CEL_FIELD, ENCRYPT), Avro and JSON Schema.

The walk follows confluent-kafka's: every field of every (nested) record, array
item and map value is visited with a :class:`FieldContext` naming it
(``com.acme.Order.card`` for Avro, ``$.card`` for JSON Schema), and the rule's
transform is applied to leaf values (not records, arrays or maps) of fields
whose tags meet the rule's tags (every field when the rule has none). A field
CONDITION fails when the transform answers exactly ``False``.

Unlike confluent-kafka, the caller's record is never modified: a changed field
is written into a copy of its record (copy on write along the path), and the
tags of every field are computed once per schema, so the walk skips subtrees
that hold no field with the rule's tags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.schema_registry.schema_registry_client import RuleKind, Schema

from .core import FieldContext, FieldTransform, FieldType, RuleConditionError, RuleContext, rule_kind
from .wildcard import wildcard_match

__all__ = ["AvroFields", "JsonFields", "metadata_tags"]

_AVRO_TYPES = {
    "record": FieldType.RECORD, "enum": FieldType.ENUM, "array": FieldType.ARRAY, "map": FieldType.MAP,
    "fixed": FieldType.FIXED, "string": FieldType.STRING, "bytes": FieldType.BYTES, "int": FieldType.INT,
    "long": FieldType.LONG, "float": FieldType.FLOAT, "double": FieldType.DOUBLE, "boolean": FieldType.BOOLEAN,
    "null": FieldType.NULL, "error": FieldType.RECORD,
}


def metadata_tags(schema: Schema | None, full_name: str) -> set[str]:
    """Tags ``metadata.tags`` gives ``full_name`` (wildcard paths)."""
    found: set[str] = set()
    if schema is not None and schema.metadata is not None and schema.metadata.tags is not None:
        for path, tags in schema.metadata.tags.tags.items():
            if wildcard_match(full_name, path):
                found.update(tags)
    return found


def _wanted(ctx: RuleContext) -> frozenset[str]:
    return frozenset(ctx.rule.tags or ())


class AvroFields:
    """The fields of one parsed Avro schema (fastavro's form) and their tags."""

    def __init__(self, parsed: Any, named: dict, schema: Schema | None) -> None:
        self.parsed = parsed
        self.named = named
        self.tags: dict[str, frozenset[str]] = {}  # field full name -> tags
        self.subtree: dict[str, frozenset[str]] = {}  # record name -> tags found in its fields, nested
        self._visits: dict[tuple[str, frozenset[str]], list[tuple]] = {}  # (record, wanted) -> fields to walk
        self._collect(parsed, schema, set())

    # -- tags, once per schema ---------------------------------------------------------------

    def _resolve(self, schema: Any) -> Any:
        if isinstance(schema, str):
            return self.named.get(schema, schema)
        return schema

    def _collect(self, schema: Any, target: Schema | None, seen: set[str]) -> frozenset[str]:
        schema = self._resolve(schema)
        if isinstance(schema, list):
            out: frozenset[str] = frozenset()
            for branch in schema:
                out |= self._collect(branch, target, seen)
            return out
        if not isinstance(schema, dict):
            return frozenset()
        kind = schema.get("type")
        if kind == "array":
            return self._collect(schema.get("items"), target, seen)
        if kind == "map":
            return self._collect(schema.get("values"), target, seen)
        if kind not in ("record", "error"):
            return frozenset()
        name = schema.get("name", "")
        if name in seen:
            return self.subtree.get(name, frozenset())
        seen.add(name)
        found: set[str] = set()
        for field in schema.get("fields", ()):
            full = f"{name}.{field['name']}"
            own = frozenset(set(field.get("confluent:tags") or ()) | metadata_tags(target, full))
            self.tags[full] = own
            found |= own
            found |= self._collect(field.get("type"), target, seen)
        self.subtree[name] = frozenset(found)
        return self.subtree[name]

    def _reaches(self, schema: Any, wanted: frozenset[str], field_tags: frozenset[str]) -> bool:
        """Whether walking into this field can meet a field carrying a wanted tag."""
        if not wanted or field_tags & wanted:
            return True
        schema = self._resolve(schema)
        branches = schema if isinstance(schema, list) else [schema]
        for branch in branches:
            branch = self._resolve(branch)
            while isinstance(branch, dict) and branch.get("type") in ("array", "map"):
                branch = self._resolve(branch.get("items") if branch["type"] == "array" else branch.get("values"))
            if isinstance(branch, dict) and branch.get("type") in ("record", "error") \
                    and self.subtree.get(branch.get("name", ""), frozenset()) & wanted:
                return True
        return False

    def inline_tags(self) -> dict[str, frozenset[str]]:
        return self.tags

    # -- the walk ------------------------------------------------------------------------------

    def transformer(self, ctx: RuleContext, transform: FieldTransform, message: Any) -> Any:
        """confluent-kafka's ``FieldTransformer`` signature."""
        condition = rule_kind(ctx.rule) == RuleKind.CONDITION
        return self._walk(ctx, self.parsed, message, transform, _wanted(ctx), condition)

    def _walk(self, ctx: RuleContext, schema: Any, message: Any, transform: FieldTransform,
              wanted: frozenset[str], condition: bool) -> Any:
        schema = self._resolve(schema)
        field = ctx.current_field()
        if field is not None:
            field.field_type = _avro_type(schema)
        if isinstance(schema, list):
            branch, payload = self._branch(schema, message)
            if branch is None:
                return message
            result = self._walk(ctx, branch, payload, transform, wanted, condition)
            if isinstance(message, tuple) and len(message) == 2:
                return (message[0], result)
            return result
        if isinstance(schema, dict):
            kind = schema.get("type")
            if kind in ("record", "error"):
                if not isinstance(message, dict):
                    return message
                return self._record(ctx, schema, message, transform, wanted, condition)
            if kind == "array":
                if not isinstance(message, list):
                    return message
                items = [self._walk(ctx, schema["items"], item, transform, wanted, condition) for item in message]
                return message if all(a is b for a, b in zip(items, message, strict=True)) else items
            if kind == "map":
                if not isinstance(message, dict):
                    return message
                values = {k: self._walk(ctx, schema["values"], v, transform, wanted, condition)
                          for k, v in message.items()}
                return message if all(values[k] is v for k, v in message.items()) else values
        if field is not None and (not wanted or field.tags & wanted):
            return transform(ctx, field, message)
        return message

    def _fields_to_visit(self, schema: dict, wanted: frozenset[str]) -> list[tuple]:
        """``(name, full name, type, field type, tags)`` of the fields that can meet a wanted tag."""
        name = schema.get("name", "")
        found = self._visits.get((name, wanted))
        if found is None:
            found = []
            for spec in schema["fields"]:
                full = f"{name}.{spec['name']}"
                tags = self.tags.get(full, frozenset())
                if self._reaches(spec["type"], wanted, tags):
                    found.append((spec["name"], full, spec["type"], _avro_type(self._resolve(spec["type"])), tags))
            self._visits[(name, wanted)] = found
        return found

    def _record(self, ctx: RuleContext, schema: dict, message: dict, transform: FieldTransform,
                wanted: frozenset[str], condition: bool) -> dict:
        out = message
        for key, full, kind, field_type, tags in self._fields_to_visit(schema, wanted):
            if key not in message:
                continue
            ctx.enter_field(out, full, key, field_type, tags)
            try:
                value = message[key]
                result = self._walk(ctx, kind, value, transform, wanted, condition)
            finally:
                ctx.exit_field()
            if condition:
                if result is False:
                    raise RuleConditionError(ctx.rule)
            elif result is not value:
                if out is message:
                    out = dict(message)
                out[key] = result
        return out

    def _branch(self, union: list, message: Any) -> tuple[Any, Any]:
        """The union branch ``message`` belongs to (tuple notation ``(name, value)`` honoured)."""
        if isinstance(message, tuple) and len(message) == 2 and isinstance(message[0], str):
            for branch in union:
                resolved = self._resolve(branch)
                name = resolved.get("name") if isinstance(resolved, dict) else resolved
                if name == message[0] or (isinstance(name, str) and name.rsplit(".", 1)[-1] == message[0]):
                    return resolved, message[1]
            return None, message
        for branch in union:
            resolved = self._resolve(branch)
            if _avro_accepts(resolved, message):
                return resolved, message
        return None, message


def _avro_type(schema: Any) -> FieldType:
    if isinstance(schema, list):
        return FieldType.COMBINED
    kind = schema.get("type") if isinstance(schema, dict) else schema
    return _AVRO_TYPES.get(kind, FieldType.NULL) if isinstance(kind, str) else FieldType.NULL


def _avro_accepts(schema: Any, value: Any) -> bool:
    """Whether ``value`` fits ``schema`` (as fastavro's validation, one level deep)."""
    kind = schema.get("type") if isinstance(schema, dict) else schema
    if isinstance(kind, dict):  # {"type": {"type": ...}}
        return _avro_accepts(kind, value)
    logical = schema.get("logicalType") if isinstance(schema, dict) else None
    if logical is not None and not isinstance(value, (str, bytes, int, float, dict, list, bool)) \
            and value is not None:
        return True  # datetime, Decimal, UUID: written through the logical type
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "bytes":
        return isinstance(value, (bytes, bytearray))
    if kind == "fixed":
        return isinstance(value, (bytes, bytearray)) and len(value) == schema.get("size")
    if kind == "enum":
        return isinstance(value, str) and value in schema.get("symbols", ())
    if kind == "array":
        return isinstance(value, (list, tuple))
    if kind == "map":
        return isinstance(value, dict)
    if kind in ("record", "error"):
        if not isinstance(value, dict):
            return False
        declared = value.get("-type")
        if declared is not None:
            return declared == schema.get("name")
        names = {f["name"] for f in schema.get("fields", ())}
        required = {f["name"] for f in schema.get("fields", ()) if "default" not in f}
        return set(value) <= names and required <= set(value)
    return False


# -- JSON Schema ---------------------------------------------------------------------------------


def _json_type(schema: Any) -> FieldType:
    if not isinstance(schema, dict):
        return FieldType.COMBINED
    if schema.get("const") is not None or schema.get("enum") is not None:
        return FieldType.ENUM
    kind = schema.get("type")
    if kind == "object":
        return FieldType.RECORD if schema.get("properties") else FieldType.MAP
    simple = {"array": FieldType.ARRAY, "string": FieldType.STRING, "integer": FieldType.INT,
              "number": FieldType.DOUBLE, "boolean": FieldType.BOOLEAN, "null": FieldType.NULL}
    if isinstance(kind, str) and kind in simple:
        return simple[kind]
    if schema.get("properties") is not None:
        return FieldType.RECORD
    return FieldType.NULL


_JSON_LEAVES = frozenset({FieldType.ENUM, FieldType.STRING, FieldType.INT, FieldType.DOUBLE, FieldType.BOOLEAN})


class JsonFields:
    """The properties of one JSON Schema document (``$ref`` within it resolved) and their tags."""

    def __init__(self, root: Any, schema: Schema | None, is_valid: Callable[[Any, Any], bool]) -> None:
        self.root = root
        self.schema = schema
        self.is_valid = is_valid  # is_valid(subschema, instance), for oneOf/anyOf/type lists
        self._tags: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {}

    def _deref(self, schema: Any) -> Any:
        hops = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and hops < 32:
            ref = schema["$ref"]
            if not ref.startswith("#"):
                return schema
            node: Any = self.root
            for part in ref[1:].split("/")[1:] if ref != "#" else []:
                part = part.replace("~1", "/").replace("~0", "~")
                node = node.get(part) if isinstance(node, dict) else None
            schema = node
            hops += 1
        return schema

    def _field_tags(self, full: str, prop: dict) -> frozenset[str]:
        inline = tuple(prop.get("confluent:tags") or ())
        key = (full, inline)
        hit = self._tags.get(key)
        if hit is None:
            hit = self._tags[key] = frozenset(set(inline) | metadata_tags(self.schema, full))
        return hit

    def transformer(self, ctx: RuleContext, transform: FieldTransform, message: Any) -> Any:
        condition = rule_kind(ctx.rule) == RuleKind.CONDITION
        return self._walk(ctx, self.root, "$", message, transform, _wanted(ctx), condition, 0)

    def _walk(self, ctx: RuleContext, schema: Any, path: str, message: Any, transform: FieldTransform,
              wanted: frozenset[str], condition: bool, depth: int) -> Any:
        if message is None or not isinstance(schema, dict) or depth > 64:
            return message
        field = ctx.current_field()
        if field is not None:
            field.field_type = _json_type(schema)
        kinds = schema.get("type")
        if isinstance(kinds, list) and kinds:
            for kind in kinds:
                narrowed = {**schema, "type": kind}
                if self.is_valid(narrowed, message):
                    return self._walk(ctx, narrowed, path, message, transform, wanted, condition, depth + 1)
        combined = [key for key in ("allOf", "anyOf", "oneOf") if isinstance(schema.get(key), list)]
        if combined:
            if "allOf" in combined:
                for sub in schema["allOf"]:
                    message = self._walk(ctx, sub, path, message, transform, wanted, condition, depth + 1)
            elif "oneOf" in combined:
                for sub in schema["oneOf"]:
                    resolved = self._deref(sub)
                    if isinstance(resolved, dict) and self.is_valid(resolved, message):
                        message = self._walk(ctx, resolved, path, message, transform, wanted, condition, depth + 1)
                        break
            else:
                for sub in schema["anyOf"]:
                    resolved = self._deref(sub)
                    if isinstance(resolved, dict) and self.is_valid(resolved, message):
                        message = self._walk(ctx, resolved, path, message, transform, wanted, condition, depth + 1)
            if isinstance(message, dict) and isinstance(schema.get("properties"), dict):
                message = self._object(ctx, schema, path, message, transform, wanted, condition, depth)
            if isinstance(message, list) and schema.get("items") is not None:
                message = [self._walk(ctx, schema["items"], path, item, transform, wanted, condition, depth + 1)
                           for item in message]
            return message
        if schema.get("items") is not None and isinstance(message, list):
            items = [self._walk(ctx, schema["items"], path, item, transform, wanted, condition, depth + 1)
                     for item in message]
            return message if all(a is b for a, b in zip(items, message, strict=True)) else items
        if isinstance(schema.get("$ref"), str):
            return self._walk(ctx, self._deref(schema), path, message, transform, wanted, condition, depth + 1)
        kind = _json_type(schema)
        if kind == FieldType.RECORD:
            if not isinstance(message, dict):
                return message
            return self._object(ctx, schema, path, message, transform, wanted, condition, depth)
        if kind in _JSON_LEAVES and field is not None and (not wanted or field.tags & wanted):
            return transform(ctx, field, message)
        return message

    def _object(self, ctx: RuleContext, schema: dict, path: str, message: dict, transform: FieldTransform,
                wanted: frozenset[str], condition: bool, depth: int) -> dict:
        out = message
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            full = f"{path}.{key}"
            ctx.enter_field(out, full, key, _json_type(prop), self._field_tags(full, prop))
            try:
                value = message.get(key)
                if value is None:
                    continue
                result = self._walk(ctx, prop, full, value, transform, wanted, condition, depth + 1)
            finally:
                ctx.exit_field()
            if condition:
                if result is False:
                    raise RuleConditionError(ctx.rule)
            elif result is not value:
                if out is message:
                    out = dict(message)
                out[key] = result
        return out


__all__ += ["FieldContext"]
