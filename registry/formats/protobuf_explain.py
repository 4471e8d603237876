"""Protobuf incompatibilities told to a person, in the words of ``buf breaking``
(``Field "2" with name "amount" on message "Order" changed type from "int64"
to "string".``), at the line and column protoc records for the element.

A difference's path is ``#/`` + message names (relative to the package),
then a oneof name and a field number where it is about one
(:mod:`.protobuf_compat`): the same path :func:`.positions.proto_positions`
indexes the text by. Names and types come from the parsed descriptors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2

from .base import Explanation, Incompatibility, Position, SchemaText
from .positions import ElementPositions, proto_positions
from .protobuf_compat import Difference
from .protobuf_render import scalar_name

FDP = descriptor_pb2.FieldDescriptorProto
_MESSAGE = re.compile(r'\{errorType:"([A-Z_]+)", description:"(.*)"\}\Z', re.S)
_PATH = re.compile(r"'(#/[^']*)'")
_LABELS = {FDP.LABEL_OPTIONAL: "optional", FDP.LABEL_REPEATED: "repeated", FDP.LABEL_REQUIRED: "required"}



def issue_of(difference: Difference) -> Incompatibility:
    """The incompatibility for a difference, with Confluent's message template."""
    template = f'{{errorType:"{difference.type}", description:"{difference.description()}"}}'
    return Incompatibility(difference.type, difference.path, template)


def read_message(message: str) -> tuple[Incompatibility, bool] | None:
    found = _MESSAGE.match(message)
    if found is None:
        return None
    where = _PATH.search(found.group(2))
    issue = issue_of(Difference(found.group(1), where.group(1) if where else "#/"))
    old_reads_new = issue.render("old", "new") == message != issue.render("new", "old")
    return issue, not old_reads_new


@dataclass
class _Element:
    """What a path names in one file: messages, then a oneof or a field."""

    messages: list[tuple[str, descriptor_pb2.DescriptorProto]] = field(default_factory=list)
    oneof: str | None = None
    field: descriptor_pb2.FieldDescriptorProto | None = None

    @property
    def message_name(self) -> str:
        return ".".join(name for name, _ in self.messages)


class _File:
    """One side: its descriptor, and where each element is in its text."""

    def __init__(self, side: SchemaText) -> None:
        self.fdp: descriptor_pb2.FileDescriptorProto = side.schema.file_descriptor_proto()  # type: ignore[attr-defined]
        self.positions: ElementPositions = proto_positions(side.text)

    def resolve(self, tokens: list[str]) -> _Element:
        element = _Element()
        messages = self.fdp.message_type
        current: descriptor_pb2.DescriptorProto | None = None
        for token in tokens:
            message = next((m for m in messages if m.name == token), None)
            if message is not None and element.oneof is None:
                element.messages.append((token, message))
                current, messages = message, message.nested_type
            elif current is not None and token.isdigit():
                element.field = next((f for f in current.field if f.number == int(token)), None)
                return element
            elif current is not None and element.oneof is None and any(o.name == token for o in current.oneof_decl):
                element.oneof = token
            else:
                return element
        return element

    def type_of(self, f: descriptor_pb2.FieldDescriptorProto) -> str:
        scalar = scalar_name(f.type)
        if scalar:
            return scalar
        name = f.type_name.lstrip(".")
        entry = self._map_entry(name)
        if entry is not None:
            key, value = sorted(entry.field, key=lambda x: x.number)[:2]
            return f"map<{self.type_of(key)}, {self.type_of(value)}>"
        return name

    def _map_entry(self, full: str) -> descriptor_pb2.DescriptorProto | None:
        prefix = f"{self.fdp.package}." if self.fdp.package else ""
        if not full.startswith(prefix):
            return None
        messages = self.fdp.message_type
        found = None
        for part in full[len(prefix):].split("."):
            found = next((m for m in messages if m.name == part), None)
            if found is None:
                return None
            messages = found.nested_type
        return found if found is not None and found.options.map_entry else None


def explain(issue: Incompatibility, new: SchemaText, old: SchemaText | None, *, new_is_reader: bool) -> Explanation:
    tokens = [t for t in issue.location.removeprefix("#").split("/") if t]
    return _Explainer(issue, tokens, _File(new), _File(old) if old is not None else None, new_is_reader).explain()


class _Explainer:
    def __init__(self, issue: Incompatibility, tokens: list[str], new: _File, old: _File | None,
                 new_is_reader: bool) -> None:
        self.issue, self.tokens, self.new_file, self.old_file = issue, tokens, new, old
        self.new_is_reader = new_is_reader
        self.new = new.resolve(tokens)
        self.old = old.resolve(tokens) if old is not None else _Element()

    def explain(self) -> Explanation:
        handler = getattr(self, "_" + self.issue.error_type.lower(), None)
        if handler is None:
            kind = self.issue.error_type.lower().replace("_", " ")
            return Explanation(f"{self._element()}: {kind}.", self._new_position())
        return handler()

    # -- naming and positions ------------------------------------------------------

    def _field(self) -> descriptor_pb2.FieldDescriptorProto | None:
        return self.new.field or self.old.field

    def _message(self) -> str:
        return self.new.message_name or self.old.message_name or "/".join(t for t in self.tokens if not t.isdigit())

    def _element(self, *, previously: bool = False) -> str:
        f = self._field()
        number = next((t for t in reversed(self.tokens) if t.isdigit()), None)
        lead = "Previously present field" if previously else "Field"
        if f is not None:
            oneof = self.new.oneof or self.old.oneof
            where = f' on oneof "{oneof}" of message' if oneof and previously else " on message"
            return f'{lead} "{f.number}" with name "{f.name}"{where} "{self._message()}"'
        if number is not None:
            return f'{lead} "{number}" on message "{self._message()}"'
        return f'Message "{self._message()}"'

    def _new_position(self) -> Position:
        """The element in the new file, or the nearest enclosing element there."""
        found = self.new_file.positions.find_path(tuple(self.tokens))
        return found.position if found else Position(1, 1)

    def _removed(self, sentence: str) -> Explanation:
        """An element that only the old file has: point there too."""
        old_at = self.old_file.positions.at(tuple(self.tokens)) if self.old_file else None
        return Explanation(sentence, self._new_position(), old_at)

    def _added(self, sentence: str) -> Explanation:
        return Explanation(sentence, self._new_position())

    # -- sentences by Confluent's difference type ----------------------------------

    def _package_changed(self) -> Explanation:
        old = self.old_file.fdp.package if self.old_file else "?"
        return Explanation(f'Package changed from "{old}" to "{self.new_file.fdp.package}".', self._new_position())

    def _message_removed(self) -> Explanation:
        name = "/".join(self.tokens)
        if self.new_is_reader:
            return self._removed(f'Previously present message "{name.replace("/", ".")}" was deleted.')
        return self._added(f'Message "{name.replace("/", ".")}" was added; the old schema does not have it.')

    def _type_change(self) -> Explanation:
        new_f, old_f = self.new.field, self.old.field
        old_type = self.old_file.type_of(old_f) if self.old_file and old_f is not None else "?"
        new_type = self.new_file.type_of(new_f) if new_f is not None else "?"
        if old_type == new_type:
            return self._added(f'{self._element()} has type "{new_type}", which changed incompatibly.')
        return self._added(f'{self._element()} changed type from "{old_type}" to "{new_type}".')

    _field_kind_changed = _field_scalar_kind_changed = _field_named_type_changed = _type_change

    def _field_numeric_label_changed(self) -> Explanation:
        new_f, old_f = self.new.field, self.old.field
        old_label = _LABELS.get(old_f.label, "?") if old_f is not None else "?"
        if old_f is not None and old_f.proto3_optional:
            old_label = "optional"
        new_label = _LABELS.get(new_f.label, "?") if new_f is not None else "?"
        return self._added(f'{self._element()} changed cardinality from "{old_label}" to "{new_label}".')

    def _field_added(self, required: bool) -> Explanation:
        f = self._field()
        kind = "Required field" if required else "Field"
        named = f' with name "{f.name}"' if f is not None else ""
        number = f.number if f is not None else self.tokens[-1]
        oneof = self.new.oneof or self.old.oneof
        into = f'oneof "{oneof}" on message' if oneof else "message"
        return self._added(f'{kind} "{number}"{named} was added to {into} "{self._message()}".')

    def _required_field_added(self) -> Explanation:
        if self.new_is_reader:
            return self._field_added(required=True)
        return self._removed(self._element(previously=True).replace("field", "required field", 1) + " was deleted.")

    def _required_field_removed(self) -> Explanation:
        if self.new_is_reader:
            return self._removed(self._element(previously=True).replace("field", "required field", 1) + " was deleted.")
        return self._field_added(required=True)

    def _oneof_field_removed(self) -> Explanation:
        if self.new_is_reader:
            return self._removed(self._element(previously=True) + " was deleted.")
        return self._field_added(required=False)

    def _oneof_move(self, several: bool) -> Explanation:
        oneof = self.tokens[-1] if self.tokens else "?"
        fields = "Fields" if several else "A field"
        if self.new_is_reader:
            return self._added(f'{fields} of message "{self._message()}" moved into the oneof "{oneof}".')
        return self._added(f'{fields} of the oneof "{oneof}" on message "{self._message()}" moved out of it.')

    def _multiple_fields_moved_to_oneof(self) -> Explanation:
        return self._oneof_move(several=True)

    def _field_moved_to_existing_oneof(self) -> Explanation:
        return self._oneof_move(several=False)
