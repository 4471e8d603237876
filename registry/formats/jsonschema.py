"""The JSON Schema format: parsing, canonical text, normalisation and the
compatibility check (the diff lives in :mod:`registry.formats.json_compat`)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urljoin

import jsonschema
import referencing.jsonschema as specs
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.exceptions import Unresolvable

from . import json_compat, json_explain
from .base import (
    Dependency,
    Explanation,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaFormat,
    SchemaText,
)
from .json_model import ModelBuilder, Node
from .positions import ElementPositions, json_positions

MAX_DEPTH = 200
"""Deepest nesting of JSON arrays and objects a schema may have."""

DRAFTS: dict[str, tuple[str, Any, type[jsonschema.protocols.Validator]]] = {
    "http://json-schema.org/draft-04/schema": ("4", specs.DRAFT4, jsonschema.Draft4Validator),
    "http://json-schema.org/draft-06/schema": ("6", specs.DRAFT6, jsonschema.Draft6Validator),
    "http://json-schema.org/draft-07/schema": ("7", specs.DRAFT7, jsonschema.Draft7Validator),
    "https://json-schema.org/draft/2019-09/schema":
        ("2019-09", specs.DRAFT201909, jsonschema.Draft201909Validator),
    "https://json-schema.org/draft/2020-12/schema":
        ("2020-12", specs.DRAFT202012, jsonschema.Draft202012Validator),
}
DEFAULT_DRAFT = DRAFTS["http://json-schema.org/draft-07/schema"]


class JsonValidationError(ValueError):
    """A JSON value does not conform to a schema; the message says where and why."""


class JsonSchema(ParsedSchema):
    """A parsed and validated JSON Schema (a JSON object or a boolean)."""

    schema_type: ClassVar[str] = "JSON"
    memory_per_char: ClassVar[int] = 48  # the referencing registry and the compatibility model

    def __init__(self, value: Any, dependencies: Sequence[Dependency] = ()) -> None:
        super().__init__(dependencies)
        self.value = value
        draft = DRAFTS.get(_schema_url(value), DEFAULT_DRAFT)
        self.draft: str = draft[0]
        self._spec = draft[1]
        self._validator_class = draft[2]

    def canonical_string(self) -> str:
        return self._canonical

    @cached_property
    def _canonical(self) -> str:
        return dumps(self.value)

    def normalized(self) -> JsonSchema:
        unique = {(d.name, d.subject, d.version): d for d in self.dependencies}
        deps = [unique[k] for k in sorted(unique)]
        return JsonSchema(_sorted(self.value), deps)

    def record_name(self) -> str | None:
        title = self.value.get("title") if isinstance(self.value, dict) else None
        return title if isinstance(title, str) else None

    def has_top_level_field(self, name: str) -> bool:
        properties = self.value.get("properties") if isinstance(self.value, dict) else None
        return isinstance(properties, dict) and name in properties

    def plain_value(self) -> Any:
        """The schema's JSON value with decimals as floats: what JSON validators read."""
        return _floats(self.value)

    @cached_property
    def registry(self) -> Registry:
        """A ``referencing`` registry holding this schema and every dependency."""
        base = self.base_uri
        resources = [(base, self._spec.create_resource(self.value))]
        for dep in _all_dependencies(self.dependencies):
            schema = dep.schema
            contents = schema.value if isinstance(schema, JsonSchema) else {}
            spec = schema._spec if isinstance(schema, JsonSchema) else self._spec
            resource = spec.create_resource(contents)
            resources.append((urljoin(base, dep.name), resource))
            resources.append((dep.name, resource))
        registry = Registry().with_resources(resources)
        try:
            return registry.crawl()
        except (AttributeError, TypeError):
            # referencing's draft 4-7 crawler takes every ``dependencies`` value for a
            # subschema once the first is one (["a"] is not); pointers resolve uncrawled.
            return registry

    @cached_property
    def base_uri(self) -> str:
        """The URI ``$ref``s of the root resolve against (its ``$id``, or empty)."""
        ident = self.value.get("id" if self.draft == "4" else "$id") if isinstance(self.value, dict) else None
        return ident if isinstance(ident, str) else ""

    @cached_property
    def model(self) -> Node:
        """The compatibility model of this schema (built once, every ``$ref`` resolved)."""
        return self._build_model()

    def check_references(self) -> None:
        """Raise :class:`InvalidSchemaError` if a ``$ref`` does not resolve (builds :attr:`model`)."""
        self.model  # noqa: B018 - building the model resolves every reference

    def _build_model(self) -> Node:
        """Build the model once; raise :class:`InvalidSchemaError` on an unresolvable ``$ref``."""
        builder = ModelBuilder(self.draft, self._spec)
        root = builder.build(self.value, self.registry.resolver(base_uri=self.base_uri))
        while builder.pending:
            ref = builder.pending.pop()
            try:
                ref.target()
            except Unresolvable as exc:
                raise InvalidSchemaError(f"Cannot resolve $ref '{ref.ref}': {exc}") from exc
            except (TypeError, AttributeError, KeyError, IndexError) as exc:
                # referencing walks a pointer into a boolean schema or a non-container
                raise InvalidSchemaError(f"Cannot resolve $ref '{ref.ref}': {type(exc).__name__}") from exc
        return root

    @cached_property
    def _validator(self) -> jsonschema.protocols.Validator:
        return self._validator_class(
            self.plain_value(), registry=self.registry,
            format_checker=self._validator_class.FORMAT_CHECKER,
        )

    def validate(self, instance: Any) -> None:
        """Check a JSON value against this schema; raise :class:`JsonValidationError`."""
        error = best_match(self._validator.iter_errors(instance))
        if error is not None:
            where = _pointer(error.absolute_path)
            raise JsonValidationError(f"Value at {where} does not match the schema: {error.message}")

    def differences(self, writer: JsonSchema, policy: str = "STRICT") -> list[json_compat.Difference]:
        """Every difference from ``writer`` (original) to ``self`` (update), in order."""
        return json_compat.compare(writer.model, self.model, policy)

    def incompatibilities(self, writer: ParsedSchema, policy: str = "STRICT") -> list[Incompatibility]:
        if not isinstance(writer, JsonSchema):
            return [Incompatibility("TYPE_MISMATCH", "#/", "Incompatible because of different schema type")]
        allowed = json_compat.compatible_set(policy)
        return [
            Incompatibility(d.type, d.path, json_compat.template(d))
            for d in self.differences(writer, policy)
            if d.type not in allowed
        ]


class JsonSchemaFormat(SchemaFormat):
    """The JSON Schema format (drafts 4, 6, 7, 2019-09 and 2020-12)."""

    schema_type: ClassVar[str] = "JSON"

    def parse(self, text: str, dependencies: Sequence[Dependency] = (), *, strict: bool = True) -> JsonSchema:
        value = loads(text)
        if not isinstance(value, (dict, bool)):
            raise InvalidSchemaError("A JSON Schema must be a JSON object or a boolean")
        schema = JsonSchema(value, dependencies)
        if strict:
            _check_metaschema(schema)
            _check_property_names(value)
        schema.check_references()
        return schema

    def referenced_files(self, text: str) -> list[str]:
        """The documents ``$ref``s name (the part before ``#``), other than absolute URLs."""
        try:
            document = json.loads(text)
        except ValueError:
            return []
        found: list[str] = []
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    url = ref.split("#", 1)[0]
                    if url and "://" not in url and url not in found:
                        found.append(url)
                stack.extend(v for k, v in node.items() if k != "$ref")
            elif isinstance(node, list):
                stack.extend(node)
        return found

    def read_message(self, message: str) -> tuple[Incompatibility, bool] | None:
        return json_explain.read_message(message)

    def explain(
        self, issue: Incompatibility, new: SchemaText, old: SchemaText | None, *, new_is_reader: bool
    ) -> Explanation:
        return json_explain.explain(issue, new, old, new_is_reader=new_is_reader)

    def element_positions(self, text: str) -> ElementPositions:
        return json_positions(text)


def loads(text: str) -> Any:
    """Parse JSON text the way Confluent's Jackson mapper does: key order kept,
    fractions as exact decimals, ``NaN`` and ``Infinity`` allowed."""
    _check_text_depth(text)
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise InvalidSchemaError(f"Invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except (ValueError, TypeError) as exc:
        raise InvalidSchemaError(f"Invalid JSON: {exc}") from exc


def dumps(value: Any) -> str:
    """Compact JSON as Jackson writes it: keys in order, non-ASCII kept,
    decimals in ``BigDecimal.toString`` form, non-finite numbers quoted."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(str(value.copy_abs()) if value.is_zero() else str(value))
    elif isinstance(value, float):
        out.append('"NaN"' if value != value else '"Infinity"' if value > 0 else '"-Infinity"')
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_quote(key))
            out.append(":")
            _write(item, out)
        out.append("}")


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_ESCAPES = {chr(c): _SHORT_ESCAPES.get(chr(c), f"\\u{c:04X}") for c in range(32)}
_ESCAPES.update(_SHORT_ESCAPES)
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def _quote(text: str) -> str:
    return '"' + text.translate(_ESCAPE_TABLE) + '"'


def _sorted(value: Any) -> Any:
    """``value`` with object keys sorted as Java sorts strings (UTF-16 order)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _floats(value: Any) -> Any:
    """``value`` with decimals as floats, for the ``jsonschema`` validators."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def _schema_url(value: Any) -> str:
    url = value.get("$schema") if isinstance(value, dict) else None
    if not isinstance(url, str):
        return ""
    url = url.rstrip("#")
    return url.replace("https://json-schema.org/draft-0", "http://json-schema.org/draft-0")


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_text_depth(text: str) -> None:
    """Reject deep nesting before parsing (the parser itself recurses)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidSchemaError(f"Invalid JSON: nested deeper than {MAX_DEPTH} levels")
        elif token in "]}":
            depth -= 1


def _check_metaschema(schema: JsonSchema) -> None:
    cls = schema._validator_class
    error = best_match(cls(cls.META_SCHEMA).iter_errors(_floats(schema.value)))
    if error is not None:
        raise InvalidSchemaError(
            f"Invalid JSON Schema (draft {schema.draft}) at {_pointer(error.absolute_path)}: {error.message}"
        )


def _check_property_names(value: Any) -> None:
    props = value.get("properties") if isinstance(value, dict) else None
    for name in props if isinstance(props, dict) else ():
        if name.startswith("$$"):
            raise InvalidSchemaError(f"Field names cannot start with $$ prefix: #/properties/{name}")


def _pointer(path: Sequence[Any]) -> str:
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _all_dependencies(dependencies: Sequence[Dependency]) -> list[Dependency]:
    """The dependencies and theirs, transitively, each name once (nearest first)."""
    seen: dict[str, Dependency] = {}
    stack = list(reversed(dependencies))
    while stack:
        dep = stack.pop()
        if dep.name in seen:
            continue
        seen[dep.name] = dep
        stack.extend(reversed(dep.schema.dependencies))
    return list(seen.values())
