"""The interface every schema format (Avro, Protobuf, JSON Schema) implements.

The registry, the serdes and the CI gate only ever talk to a format through
this module: parse text into a :class:`ParsedSchema`, ask it for its canonical
and normalized forms, and ask it whether it can read data written with another
schema of the same format.
"""

from __future__ import annotations

import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import orjson

from .positions import ElementPositions, Position

RECURSION_LIMIT = 50_000


def ensure_recursion_headroom() -> None:
    """Raise the interpreter's recursion limit for deep (but bounded) schema walks.

    Since Python 3.11 pure-Python calls do not use the C stack, so this is
    safe; each format bounds the nesting it accepts before it recurses, and
    the server's worker threads get a large stack (registry/http/app.py).
    """
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)


class InvalidSchemaError(ValueError):
    """The schema text is not a valid schema of its format.

    The message says what is wrong and, where known, where; the registry
    answers it as HTTP 422 with error code 42201.
    """


@dataclass(frozen=True)
class Reference:
    """A reference as it travels on the wire: ``{name, subject, version}``."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True)
class Dependency:
    """A reference resolved to the parsed schema it names.

    ``name`` is the reference name: the full type name (Avro), the import
    path (Protobuf) or the ``$ref`` URL (JSON Schema). ``schema`` carries its
    own dependencies, so a format can walk the whole graph.
    """

    name: str
    schema: ParsedSchema
    subject: str = ""
    version: int = 0


@dataclass(frozen=True)
class Incompatibility:
    """One reason a reader schema cannot read data written with a writer schema.

    ``render(reader_label, writer_label)`` gives Confluent's message string,
    with the two labels ("new"/"old", or the reverse for the forward pass)
    placed where Confluent's templates put their ``%s``.
    """

    error_type: str
    location: str
    template: str = field(repr=False)

    def render(self, reader_label: str, writer_label: str) -> str:
        return self.template.replace("%1", reader_label).replace("%2", writer_label)


@dataclass(frozen=True)
class SchemaText:
    """A parsed schema with the text it was parsed from (what positions point into)."""

    schema: ParsedSchema
    text: str


@dataclass(frozen=True)
class Explanation:
    """One incompatibility told to a person: a sentence naming the element
    (field, message, property) and the change, and where that element is.

    ``new_position`` is the element in the new text, or its nearest enclosing
    element there when the new schema no longer has it; ``old_position`` is
    set only then, for the element in the old text.
    """

    sentence: str
    new_position: Position | None = None
    old_position: Position | None = None


class ParsedSchema(ABC):
    """A schema parsed and validated, with its dependencies resolved."""

    schema_type: ClassVar[str]
    # Bytes of memory a parsed schema (with what checking it builds) takes per character of
    # its text, measured: what caches of parsed schemas count to stay within their bound.
    memory_per_char: ClassVar[int] = 16

    def __init__(self, dependencies: Sequence[Dependency] = ()) -> None:
        self.dependencies: tuple[Dependency, ...] = tuple(dependencies)

    @abstractmethod
    def canonical_string(self) -> str:
        """The text the registry stores and serves for this schema.

        Two registrations whose canonical strings (and references) are equal
        are the same schema and share one id.
        """

    @abstractmethod
    def normalized(self) -> ParsedSchema:
        """The normalized form (what ``normalize=true`` stores and compares)."""

    def formatted(self, fmt: str | None) -> str:
        """The schema text in an alternative ``format=`` (e.g. Protobuf
        ``serialized``); unknown or absent formats give the canonical string."""
        return self.canonical_string()

    def record_name(self) -> str | None:
        """The name a record subject-name strategy would use, if any."""
        return None

    def has_top_level_field(self, name: str) -> bool:
        """Confluent's ``ParsedSchema.hasTopLevelField`` (what ``confluent:reserved`` fields may not be)."""
        return False

    def compiled(self) -> bytes | None:
        """What parsing produced, as bytes :meth:`SchemaFormat.parse_compiled` starts from
        when this schema is read again (a store may keep them); None when re-parsing the
        text costs no more."""
        return None

    @abstractmethod
    def incompatibilities(self, writer: ParsedSchema, policy: str = "STRICT") -> list[Incompatibility]:
        """Why ``self`` (the reader, the new schema in a BACKWARD check)
        cannot read data written with ``writer``; empty when it can.

        ``writer`` is always of the same schema type. ``policy`` is the
        config's ``compatibilityPolicy`` (STRICT or LENIENT), only JSON
        Schema looks at it.
        """


class SchemaFormat(ABC):
    """One schema type: its name and its parser, and what the registry, the gate and
    the serdes decide about its texts."""

    schema_type: ClassVar[str]
    imports_from_roots: ClassVar[bool] = False
    """Whether the files a text names (:meth:`referenced_files`) are found under import
    roots (Protobuf's ``proto_path``), rather than beside the text first, then at the root."""

    @abstractmethod
    def parse(self, text: str, dependencies: Sequence[Dependency] = (), *, strict: bool = True) -> ParsedSchema:
        """Parse and validate ``text``; raise :class:`InvalidSchemaError`.

        ``strict`` is on for new registrations (Avro validates names and
        defaults); stored schemas are re-read with ``strict=False``.
        """

    def parse_compiled(
        self, text: str, compiled: bytes, dependencies: Sequence[Dependency] = ()
    ) -> ParsedSchema | None:
        """A stored schema from the bytes its :meth:`ParsedSchema.compiled` gave, skipping what
        parsing its text again would redo; None when they cannot be used (then parse the text)."""
        return None

    def element_count(self, text: str, limit: int) -> int:
        """How many elements (fields, symbols, properties) ``text`` declares, counting
        no further than past ``limit``; 0 when it cannot tell (the parser will answer)."""
        return json_element_count(text, limit)

    def check_escapes(self, text: str) -> None:
        """InvalidSchemaError for a ``\\u`` escape of an unpaired UTF-16 surrogate: the
        parsers accept one, then the text cannot be stored or answered as UTF-8."""
        if unpaired_surrogate_escape(text):
            raise InvalidSchemaError("Invalid schema: \\u escape of an unpaired UTF-16 surrogate in a string")

    def answer_format(self, text: str) -> str | None:
        """The :meth:`ParsedSchema.formatted` form to answer a registration of ``text`` in,
        when a client expects back the form it sent; None for the canonical text."""
        return None

    def referenced_files(self, text: str) -> list[str]:
        """Names of the schema files ``text`` itself refers to (imports, ``$ref`` URLs)."""
        return []

    def element_positions(self, text: str) -> ElementPositions:
        """Where each element of ``text`` starts, by the paths its incompatibilities name
        (:mod:`registry.formats.positions`); none for a format that does not say."""
        return ElementPositions({})

    def read_message(self, message: str) -> tuple[Incompatibility, bool] | None:
        """The incompatibility behind one of this format's Confluent messages
        (as :meth:`Incompatibility.render` writes it) and whether the new schema
        was the reader in it; None for any other message."""
        return None

    def explain(
        self, issue: Incompatibility, new: SchemaText, old: SchemaText | None, *, new_is_reader: bool
    ) -> Explanation:
        """``issue`` as a sentence about the change from ``old`` to ``new``
        (``old`` None: not at hand), with the element's position."""
        return Explanation(f"{issue.error_type} at {issue.location}.")


def json_element_count(text: str, limit: int) -> int:
    """Objects and array items of a JSON text, counted up to past ``limit``; 0 for text
    that is not JSON (or nested past the decoder's depth)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return 0
    count = 0
    stack = [value]
    while stack and count <= limit:
        item = stack.pop()
        if isinstance(item, dict):
            count += 1
            stack.extend(item.values())
        elif isinstance(item, list):
            count += len(item)
            stack.extend(item)
    return count


_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.S)


def unpaired_surrogate_escape(text: str, *, any_surrogate: bool = False) -> bool:
    """Whether ``text`` holds a ``\\u`` escape of a UTF-16 surrogate without its other
    half (of any surrogate with ``any_surrogate``)."""
    if "\\u" not in text:
        return False
    pending_high = -1  # where a high-surrogate escape ended, waiting for its low half
    for match in _ESCAPE.finditer(text):
        code = int(match.group(1), 16) if match.group(1) else 0
        is_high, is_low = 0xD800 <= code <= 0xDBFF, 0xDC00 <= code <= 0xDFFF
        if any_surrogate and (is_high or is_low):
            return True
        if pending_high >= 0 and not (is_low and match.start() == pending_high):
            return True
        if is_low and pending_high < 0:
            return True
        pending_high = match.end() if is_high else -1
    return pending_high >= 0
