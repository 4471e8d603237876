"""Schema text for reading: pretty-printed, split into lines of classed tokens.

The console renders each token as a ``<span class="...">`` through the escaping
template engine, so highlighting never builds HTML from schema text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..formats import format_entry

Token = tuple[str, str]  # (css class, text); "" for plain text


@dataclass(frozen=True)
class Line:
    number: int
    tokens: tuple[Token, ...]

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.tokens)


def _syntax(schema_type: str) -> str:
    entry = format_entry(schema_type)
    return entry.syntax if entry is not None else "json"


def pretty(schema_type: str, text: str) -> str:
    """JSON documents (Avro, JSON Schema) indented by two, keys in their order; ``.proto`` as stored."""
    if _syntax(schema_type) != "json":
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, indent=2, ensure_ascii=False)


_JSON = re.compile(
    r'(?P<str>"(?:[^"\\\n]|\\.)*"?)(?P<colon>\s*:)?|(?P<num>-?\d[\d.eE+-]*)|(?P<lit>\b(?:true|false|null)\b)'
    r'|(?P<punct>[{}\[\],:])|(?P<other>\s+|[^\s"\d{}\[\],:]+)',
    re.DOTALL,
)
_PROTO_KEYWORDS = frozenset(
    "syntax edition package import option message enum oneof map service rpc returns stream extend extensions "
    "reserved optional required repeated group to max weak public true false".split()
)
_PROTO_TYPES = frozenset(
    "double float int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 sfixed32 sfixed64 bool string bytes".split()
)
_PROTO = re.compile(
    r'(?P<com>//[^\n]*|/\*.*?(?:\*/|\Z))|(?P<str>"(?:[^"\\\n]|\\.)*"?|\'(?:[^\'\\\n]|\\.)*\'?)'
    r"|(?P<word>[A-Za-z_][\w.]*)|(?P<num>-?\d[\w.]*)|(?P<other>[^A-Za-z_\d\"'/]+|/)",
    re.DOTALL,
)


def _json_tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _JSON.finditer(text):
        kind = match.lastgroup
        if match.group("str") is not None:
            tokens.append(("key" if match.group("colon") else "str", match.group("str")))
            if match.group("colon"):
                tokens.append(("punct", match.group("colon")))
        elif kind == "num":
            tokens.append(("num", match.group()))
        elif kind == "lit":
            tokens.append(("lit", match.group()))
        elif kind == "punct":
            tokens.append(("punct", match.group()))
        else:
            tokens.append(("", match.group()))
    return tokens


def _proto_tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _PROTO.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "word":
            css = "kw" if value in _PROTO_KEYWORDS else "type" if value in _PROTO_TYPES else ""
        else:
            css = {"com": "com", "str": "str", "num": "num"}.get(kind or "", "")
        tokens.append((css, value))
    return tokens


def highlight(schema_type: str, text: str) -> list[Line]:
    """``text`` as numbered lines of classed tokens (every character kept, in order)."""
    tokens = _proto_tokens(text) if _syntax(schema_type) == "proto" else _json_tokens(text)
    covered = sum(len(t) for _, t in tokens)
    if covered != len(text):  # the tokenizer skipped something: show the text plain
        tokens = [("", text)]
    lines: list[list[Token]] = [[]]
    for css, value in tokens:
        parts = value.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append([])
            if part:
                lines[-1].append((css, part))
    return [Line(n, tuple(toks)) for n, toks in enumerate(lines, start=1)]
