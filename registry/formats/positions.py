"""Where each element of a schema text starts: line and column for an incompatibility's location.

The engines name what they compare by a location (:attr:`Incompatibility.location`):
a JSON pointer into the Avro document (``/fields/1/type``), a ``#/`` pointer into the
JSON Schema (``#/properties/amount``), or a ``#/`` path of Protobuf names and numbers
(``#/Order/2``, ``#/Order/payment/5`` inside a oneof, ``#/Status/3`` for an enum value).
:func:`element_positions` reads one text once and answers every location of it; a
location that leads through a named type or a ``$ref`` (so not spelled out in this
text) resolves to its longest prefix that is, and says so (``exact`` false).

Each format says which scanner reads its texts (:meth:`SchemaFormat.element_positions`):
Avro and JSON Schema :func:`json_positions`, Protobuf :func:`proto_positions`. Both
scanners run in time linear in the text and never fail: on text that is not well formed
they index what they could read.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass

__all__ = ["ElementPositions", "Located", "Position", "element_positions", "json_positions", "proto_positions"]

Path = tuple[str, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column (in characters) of a text."""

    line: int
    column: int


@dataclass(frozen=True)
class Located:
    position: Position
    exact: bool  # False: only an enclosing element of the location is in this text


class ElementPositions:
    """The start of every element of one schema text, by path."""

    def __init__(self, positions: dict[Path, Position]) -> None:
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    def find(self, location: str) -> Located | None:
        """The element at ``location``, else its nearest enclosing element in this text."""
        return self.find_path(parse_location(location))

    def find_path(self, path: Path) -> Located | None:
        """:meth:`find` for a location already split into tokens."""
        for size in range(len(path), -1, -1):
            found = self._positions.get(path[:size])
            if found is not None:
                return Located(found, size == len(path))
        return None

    def at(self, path: Path) -> Position | None:
        """The element at exactly ``path``; None when this text does not spell it out."""
        return self._positions.get(tuple(path))


def parse_location(location: str) -> Path:
    """The tokens of a location: ``#/a/b`` and ``/a/b`` both give ``("a", "b")``;
    JSON pointer escapes (``~1``, ``~0``) are undone."""
    text = location[1:] if location.startswith("#") else location
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text.split("/") if t)


def element_positions(schema_type: str, text: str) -> ElementPositions:
    """Index ``text`` (a schema of ``schema_type``) by element path, as its format reads it."""
    from . import get_format

    return get_format(schema_type).element_positions(text)


class _Lines:
    """Offsets to positions."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        return Position(line + 1, offset - self.starts[line] + 1)


# -- JSON documents (Avro, JSON Schema) -------------------------------------------------------

_JSON_TOKEN = re.compile(r'//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:[^"\\]|\\.)*"?|[{}\[\]:,]|[^\s{}\[\]:,"/]+|/', re.DOTALL)


def strip_json_comments(text: str) -> str:
    """``text`` with ``//`` and ``/* */`` comments (which Avro's parser allows) blanked out."""
    if "/" not in text:
        return text
    return "".join(" " if m.group().startswith(("//", "/*")) else m.group() for m in _JSON_TOKEN.finditer(text))


def _json_string(token: str) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return token.strip('"')
    return value if isinstance(value, str) else token


def json_positions(text: str) -> ElementPositions:
    """Each value's start in a JSON document; an object member's is where its key starts."""
    return ElementPositions(_json_positions(text))


def _json_positions(text: str) -> dict[Path, Position]:
    lines = _Lines(text)
    positions: dict[Path, Position] = {}
    # Each open container: [path, is_object, next array index, pending key, pending key offset].
    stack: list[list] = []
    expecting_key = False
    for match in _JSON_TOKEN.finditer(text):
        token, start = match.group(), match.start()
        if token.startswith(("//", "/*")):
            continue
        top = stack[-1] if stack else None
        if token in ",:":
            if token == "," and top is not None:
                expecting_key = top[1]
            continue
        if token in "]}":
            if stack:
                stack.pop()
            expecting_key = False
            continue
        if top is not None and top[1] and expecting_key:
            if token.startswith('"'):
                top[3], top[4] = _json_string(token), start
            expecting_key = False
            continue
        # A value starts here.
        if top is None:
            path: Path = ()
            where = start
        elif top[1]:
            if top[3] is None:
                continue
            path, where = (*top[0], top[3]), top[4]
            top[3] = None
        else:
            path, where = (*top[0], str(top[2])), start
            top[2] += 1
        positions.setdefault(path, lines.at(where))
        if token in "{[":
            stack.append([path, token == "{", 0, None, 0])
            expecting_key = token == "{"
    return positions


# -- Protobuf ---------------------------------------------------------------------------------

_PROTO_TOKEN = re.compile(
    r'//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:[^"\\\n]|\\.)*"?|\'(?:[^\'\\\n]|\\.)*\'?|[A-Za-z_][\w.]*|[-+]?\d[\w.]*|\S',
    re.DOTALL,
)
_BLOCKS = {"message", "enum", "oneof", "service", "extend"}


def proto_positions(text: str) -> ElementPositions:
    """Each element of a ``.proto`` text: the package statement at the root path, messages
    and enums by their nested names, oneofs by ``names/oneof``, fields by
    ``names/[oneof/]number`` (and ``names/number``), enum values by ``enum names/number``."""
    return ElementPositions(_proto_positions(text))


def _proto_positions(text: str) -> dict[Path, Position]:
    lines = _Lines(text)
    positions: dict[Path, Position] = {}
    scopes: list[tuple[str, str]] = []  # (kind, name) of each open block
    statement: list[tuple[str, int]] = []
    depth = 0  # brackets and angle brackets inside a statement

    def names() -> Path:
        return tuple(name for kind, name in scopes if kind in ("message", "enum"))

    def field(start: int, tokens: list[tuple[str, int]]) -> None:
        """A field or enum value: ``... name = number``."""
        words = [t for t, _ in tokens]
        if "=" not in words:
            return
        at = words.index("=")
        if at + 1 >= len(words) or not words[at + 1].lstrip("-+").isdigit():
            return
        number = str(int(words[at + 1]))
        if words[0] in ("option", "reserved", "extensions", "syntax", "package", "import", "edition"):
            return
        where = lines.at(start)
        inner = tuple(name for _, name in scopes if name)
        positions.setdefault((*inner, number), where)
        positions.setdefault((*names(), number), where)

    for match in _PROTO_TOKEN.finditer(text):
        token, start = match.group(), match.start()
        if token.startswith(("//", "/*")):
            continue
        if token in "[(<" and statement:
            depth += 1
        elif token in "])>" and depth:
            depth -= 1
        if depth:
            statement.append((token, start))
            continue
        if token == "{":
            head = [t for t, _ in statement]
            if head and head[0] in _BLOCKS and len(head) >= 2:
                kind, name = head[0], head[1]
                scopes.append((kind, name if kind in ("message", "enum", "oneof") else ""))
                if kind in ("message", "enum"):
                    positions.setdefault(names(), lines.at(statement[0][1]))
                elif kind == "oneof":
                    positions.setdefault((*names(), name), lines.at(statement[0][1]))
            elif "group" in head and "=" in head:  # proto2: optional group Name = 3 { ... }
                field(statement[0][1], statement)
                scopes.append(("message", head[head.index("group") + 1]))
                positions.setdefault(names(), lines.at(statement[0][1]))
            else:
                scopes.append(("other", ""))
            statement = []
        elif token == "}":
            if scopes:
                scopes.pop()
            statement = []
        elif token == ";":
            if statement and scopes and scopes[-1][0] in ("message", "enum", "oneof"):
                field(statement[0][1], statement)
            elif statement and not scopes and statement[0][0] == "package":
                positions.setdefault((), lines.at(statement[0][1]))
            statement = []
        else:
            statement.append((token, start))
    return positions
