"""Avro incompatibilities told to a person, at the line and column of the
field, symbol or named type they are about.

The checker's location is a JSON pointer through the reader schema
(:mod:`.avro_compat`); :func:`explain` walks the reader and writer models
along it as the checker did, names the innermost field and its record, and
finds that element in the schema text by the record's full name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .avro_compat import UNEXPECTED, _Unexpected, _writer_field, incompatibility
from .avro_model import Array, AvroType, Enum, Field, Fixed, Map, Named, Record, Union, logical_type
from .base import Explanation, Incompatibility, Position, SchemaText
from .positions import Path, json_positions, strip_json_comments

_MESSAGE = re.compile(r"\{errorType:'([A-Z_]+)', description:'.*', additionalInfo:'(.*)'\}\Z", re.S)
_PATH = re.compile(r"path '(/[^']*)'")


def read_message(message: str) -> tuple[Incompatibility, bool] | None:
    """The incompatibility in one of the Avro messages :func:`.avro_compat.incompatibility` writes."""
    found = _MESSAGE.match(message)
    if found is None:
        return None
    error_type, info = found.groups()
    where = _PATH.search(message)
    issue = incompatibility(error_type, info, where.group(1) if where else "/")
    old_reads_new = issue.render("old", "new") == message != issue.render("new", "old")
    return issue, not old_reads_new


@dataclass
class _Spot:
    """Where a location leads in the reader and the writer model."""

    reader: AvroType | None
    writer: AvroType | None
    records: tuple[Record | None, Record | None] = (None, None)  # reader's, writer's
    fields: tuple[Field | None, Field | None] = (None, None)
    writer_union: Union | None = None  # the writer union whose branch ``writer`` is


def _walk(reader: AvroType | None, writer: AvroType | None, tokens: list[str]) -> _Spot:
    spot = _Spot(reader, writer)
    i = 0
    while i < len(tokens):
        token, r, w = tokens[i], spot.reader, spot.writer
        if isinstance(w, Union) and r is not None and not isinstance(r, Union) and not token.isdigit():
            spot.writer = w = _branch_like(w, r)
        if token == "fields" and isinstance(r, Record) and i + 1 < len(tokens) and tokens[i + 1].isdigit():
            pos = int(tokens[i + 1])
            reader_field = r.fields[pos] if pos < len(r.fields) else None
            writer_field = _matching_field(w, reader_field)
            spot.records, spot.fields = (r, w if isinstance(w, Record) else None), (reader_field, writer_field)
            if i + 2 < len(tokens) and tokens[i + 2] == "type":
                spot.reader = reader_field.type if reader_field else None
                spot.writer = writer_field.type if writer_field else None
                i += 3
                continue
            i += 2
            continue
        if token == "items":
            spot.reader = r.items if isinstance(r, Array) else None
            spot.writer = w.items if isinstance(w, Array) else None
        elif token == "values":
            spot.reader = r.values if isinstance(r, Map) else None
            spot.writer = w.values if isinstance(w, Map) else None
        elif token.isdigit() and isinstance(w, Union) and int(token) < len(w.types):
            spot.writer_union, spot.writer = w, w.types[int(token)]
        else:
            break  # name, size, symbols: the element itself
        i += 1
    return spot


def _branch_like(union: Union, reader: AvroType) -> AvroType:
    """The writer branch the checker most likely compared with ``reader``."""
    for branch in union.types:
        if branch.kind == reader.kind and getattr(branch, "full", None) == getattr(reader, "full", None):
            return branch
    for branch in union.types:
        if branch.kind == reader.kind:
            return branch
    return union.types[0] if union.types else union


def _matching_field(writer: AvroType | None, field: Field | None) -> Field | None:
    if not isinstance(writer, Record) or field is None:
        return None
    try:
        return _writer_field(writer, field)
    except _Unexpected:
        return None


def type_name(t: AvroType | None, depth: int = 0) -> str:
    """A short spelling of a type: ``long``, ``acme.Order``, ``array<string>``, ``[null, string]``."""
    if t is None:
        return "?"
    if depth > 3:
        return "…"
    if isinstance(t, Named):
        return t.full
    if isinstance(t, Array):
        return f"array<{type_name(t.items, depth + 1)}>"
    if isinstance(t, Map):
        return f"map<{type_name(t.values, depth + 1)}>"
    if isinstance(t, Union):
        return "[" + ", ".join(type_name(b, depth + 1) for b in t.types) + "]"
    logical = logical_type(t)
    return f"{t.kind} ({logical})" if logical else t.kind


_KIND = {"record": "Record", "enum": "Enum", "fixed": "Fixed"}


class _Text:
    """A schema text with its named types found by full name."""

    def __init__(self, text: str) -> None:
        self.value = json.loads(strip_json_comments(text))
        self.positions = json_positions(text)
        self.named: dict[str, Path] = {}
        self._visit(self.value, (), None)

    def _visit(self, node: Any, path: Path, space: str | None) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                self._visit(item, (*path, str(i)), space)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind in ("record", "error", "enum", "fixed") and isinstance(node.get("name"), str):
            name, namespace = node["name"], node.get("namespace")
            if "." not in name and isinstance(namespace, str):
                space = namespace or None
            full = name if "." in name or not space else f"{space}.{name}"
            self.named.setdefault(full, path)
            inner = full.rpartition(".")[0] or None
            for i, field in enumerate(node.get("fields") or []):
                if isinstance(field, dict):
                    self._visit(field.get("type"), (*path, "fields", str(i), "type"), inner)
        elif kind == "array":
            self._visit(node.get("items"), (*path, "items"), space)
        elif kind == "map":
            self._visit(node.get("values"), (*path, "values"), space)
        elif isinstance(kind, (dict, list)):
            self._visit(kind, (*path, "type"), space)

    def _member(self, full: str | None, key: str, match: str | None) -> Path | None:
        """The path of member ``key`` (with ``match``: the item of that list named ``match``)."""
        base = self.named.get(full or "")
        if base is None:
            return None
        node: Any = self.value
        for token in base:
            node = node[int(token)] if isinstance(node, list) else node[token]
        if match is None:
            return (*base, key) if key in node else base
        for i, item in enumerate(node.get(key) or []):
            if item == match or (isinstance(item, dict) and item.get("name") == match):
                return (*base, key, str(i))
        return None

    def field(self, record: str | None, name: str) -> Position | None:
        """Where the field is: its ``"name"`` member, the line that names it."""
        path = self._member(record, "fields", name)
        return None if path is None else self.positions.at((*path, "name")) or self.positions.at(path)

    def symbol(self, enum: str | None, symbol: str) -> Position | None:
        path = self._member(enum, "symbols", symbol)
        return None if path is None else self.positions.at(path)

    def named_type(self, full: str | None, key: str | None = None) -> Position | None:
        """The named type's definition, or its member ``key`` (``name``, ``size``, ``symbols``)."""
        path = self._member(full, key or "name", None)
        return None if path is None else self.positions.at(path)

    def root(self) -> Position:
        return self.positions.at(()) or Position(1, 1)


def _info(issue: Incompatibility) -> str:
    found = re.search(r"additionalInfo:'(.*)'\}\Z", issue.template, re.S)
    return found.group(1) if found else ""


def explain(issue: Incompatibility, new: SchemaText, old: SchemaText | None, *, new_is_reader: bool) -> Explanation:
    if issue.error_type == UNEXPECTED:
        return Explanation(issue.template)
    new_root = getattr(new.schema, "root", None)
    old_root = getattr(old.schema, "root", None) if old is not None else None
    reader, writer = (new_root, old_root) if new_is_reader else (old_root, new_root)
    tokens = [t for t in issue.location.split("/") if t]
    spot = _walk(reader, writer, tokens)
    return _Explainer(issue, spot, new, old, new_is_reader).explanation()


class _Explainer:
    """One explanation: the spot's two sides seen as old and new."""

    def __init__(self, issue: Incompatibility, spot: _Spot, new: SchemaText, old: SchemaText | None,
                 new_is_reader: bool) -> None:
        self.issue, self.spot, self.new_is_reader = issue, spot, new_is_reader
        self.new_text = _Text(new.text)
        self.old_text = _Text(old.text) if old is not None else None
        pick = (lambda pair: (pair[1], pair[0])) if new_is_reader else (lambda pair: pair)
        self.old_record, self.new_record = pick(spot.records)
        self.old_field, self.new_field = pick(spot.fields)
        self.old_type, self.new_type = pick((spot.reader, spot.writer))

    # -- naming --------------------------------------------------------------

    def element(self) -> str:
        field = self.new_field or self.old_field
        record = self.new_record or self.old_record
        if field is not None:
            return f'Field "{field.name}" on record "{record.full if record else "?"}"'
        named = self.new_type if isinstance(self.new_type, Named) else self.old_type
        if isinstance(named, Named):
            return f'{_KIND.get(named.kind, "Type")} "{named.full}"'
        return "The schema"

    # -- positions -----------------------------------------------------------

    def field_position(self) -> Explanation:
        """Where the field (or, failing that, its record) is: new text first."""
        new_record = self.new_record.full if self.new_record else None
        if self.new_field is not None:
            found = self.new_text.field(new_record, self.new_field.name)
            if found:
                return Explanation("", found)
        enclosing = self.new_text.named_type(new_record) or self.new_text.root()
        old_at = None
        if self.old_field is not None and self.old_text is not None and self.old_record is not None:
            old_at = self.old_text.field(self.old_record.full, self.old_field.name)
        return Explanation("", enclosing, old_at)

    def type_position(self) -> Explanation:
        if self.new_field is not None or self.old_field is not None:
            return self.field_position()
        named = self.new_type.full if isinstance(self.new_type, Named) else None
        return Explanation("", self.new_text.named_type(named) or self.new_text.root())

    # -- sentences -----------------------------------------------------------

    def explanation(self) -> Explanation:
        handler = getattr(self, "_" + self.issue.error_type.lower(), None)
        sentence, where = handler() if handler else (f"{self.element()}: {_info(self.issue)}.", self.type_position())
        return Explanation(sentence, where.new_position, where.old_position)

    def _type_mismatch(self) -> tuple[str, Explanation]:
        old, new = self._types()
        return f'{self.element()} changed type from "{old}" to "{new}".', self.type_position()

    def _types(self) -> tuple[str, str]:
        info = re.match(r"reader type: (\S+) not compatible with writer type: (\S+)", _info(self.issue))
        old, new = type_name(self.old_type), type_name(self.new_type)
        if info:  # without the other schema at hand, the kinds the message names
            reader_kind, writer_kind = (k.lower() for k in info.groups())
            old_kind, new_kind = (writer_kind, reader_kind) if self.new_is_reader else (reader_kind, writer_kind)
            old = old if self.old_type is not None else old_kind
            new = new if self.new_type is not None else new_kind
        return old, new

    def _missing_union_branch(self) -> tuple[str, Explanation]:
        spot = self.spot
        union = spot.writer_union
        reader_t, writer_t = spot.reader, union if union is not None else spot.writer
        old_t, new_t = (writer_t, reader_t) if self.new_is_reader else (reader_t, writer_t)
        sentence = f'{self.element()} changed type from "{type_name(old_t)}" to "{type_name(new_t)}"'
        if union is not None:
            branch = type_name(spot.writer)
            sentence += f' ("{branch}" removed from the union)' if self.new_is_reader else \
                f' ("{branch}" added to the union)'
        return sentence + ".", self.type_position()

    def _reader_field_missing_default_value(self) -> tuple[str, Explanation]:
        where = self.field_position()
        if self.new_is_reader:
            return f"{self.element()} was added without a default.", where
        return f"{self.element()} was removed; the old schema gives it no default.", where

    def _missing_enum_symbols(self) -> tuple[str, Explanation]:
        symbols = [s.strip() for s in _info(self.issue).strip("[]").split(",") if s.strip()]
        listed = ", ".join(f'"{s}"' for s in symbols)
        enum = self.new_type if isinstance(self.new_type, Enum) else self.old_type
        enum_name = enum.full if isinstance(enum, Named) else "?"
        plural = "s" if len(symbols) > 1 else ""
        new_name = self.new_type.full if isinstance(self.new_type, Named) else None
        if self.new_is_reader:  # the old schema had them
            old_name = self.old_type.full if isinstance(self.old_type, Named) else None
            old_at = self.old_text.symbol(old_name, symbols[0]) if self.old_text and symbols else None
            new_at = self.new_text.named_type(new_name, "symbols") or self.type_position().new_position
            sentence = f'Enum "{enum_name}" removed symbol{plural} {listed}'
            return sentence + self._where_field() + ".", Explanation("", new_at, old_at)
        new_at = (self.new_text.symbol(new_name, symbols[0]) if symbols else None) or self.type_position().new_position
        sentence = f'Enum "{enum_name}" added symbol{plural} {listed}, which the old schema cannot read (no enum default)'
        return sentence + self._where_field() + ".", Explanation("", new_at)

    def _where_field(self) -> str:
        field, record = self.new_field or self.old_field, self.new_record or self.old_record
        if field is None or record is None:
            return ""
        return f' (field "{field.name}" on record "{record.full}")'

    def _name_mismatch(self) -> tuple[str, Explanation]:
        expected = _info(self.issue).removeprefix("expected: ")  # the writer's name
        named = self.spot.reader
        reader_name = named.full if isinstance(named, Named) else "?"
        # The message does not say which side read: the new text tells which name is new.
        old, new = (reader_name, expected) if expected in self.new_text.named else (expected, reader_name)
        kind = _KIND.get(named.kind, "Type") if named is not None else "Type"
        where = self.new_text.named_type(new, "name") or self.type_position().new_position
        return f'{kind} "{old}" was renamed to "{new}" (keep "{old}" in its aliases).', Explanation("", where)

    def _fixed_size_mismatch(self) -> tuple[str, Explanation]:
        sizes = re.match(r"expected: (\d+), found: (\d+)", _info(self.issue))
        writer_size, reader_size = sizes.groups() if sizes else ("?", "?")
        old, new = (writer_size, reader_size) if self.new_is_reader else (reader_size, writer_size)
        named = self.new_type if isinstance(self.new_type, Fixed) else None
        where = self.new_text.named_type(named.full if named else None, "size") or self.type_position().new_position
        return f'{self.element()} changed size from {old} to {new}.', Explanation("", where)
