"""JSON Schema incompatibilities told to a person, at the line and column of
the property or keyword they are about.

A difference's path (``#/properties/order/properties/amount/maxLength``) is a
JSON pointer through the reader schema (:mod:`.json_compat`), with local
``$ref``s followed. Sentences compare the values both texts hold there, so
they read as the change from the old schema to the new one whichever side
was the reader.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import Explanation, Incompatibility, Position, SchemaText
from .json_compat import Difference, template
from .positions import Path, json_positions

_MESSAGE = re.compile(r'\{errorType:"([A-Z_]+)", description:"(.*)\'\}\Z', re.S)
_PATH = re.compile(r"'(#/[^']*)'")
_NAMED = ("properties", "patternProperties", "definitions", "$defs", "dependencies", "dependentSchemas")
_SINGLE = ("additionalProperties", "additionalItems", "unevaluatedProperties", "unevaluatedItems", "not",
           "contains", "propertyNames", "if", "then", "else")
_COMBINED = ("allOf", "anyOf", "oneOf")
_ABSENT = object()


def read_message(message: str) -> tuple[Incompatibility, bool] | None:
    found = _MESSAGE.match(message)
    if found is None:
        return None
    where = _PATH.search(found.group(2))
    difference = Difference(found.group(1), where.group(1) if where else "#/")
    issue = Incompatibility(difference.type, difference.path, template(difference))
    old_reads_new = issue.render("old", "new") == message != issue.render("new", "old")
    return issue, not old_reads_new


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class _Doc:
    """One side's text, walked along difference paths with local ``$ref``s followed."""

    def __init__(self, side: SchemaText) -> None:
        self.document = json.loads(side.text)
        self.positions = json_positions(side.text)

    def walk(self, tokens: list[str]) -> tuple[Path, Any, bool]:
        """The text path a token list leads to, the value there and whether every token was found."""
        path: Path = ()
        node: Any = self.document
        jumps = 0
        for token in tokens:
            if isinstance(node, dict) and token not in node and isinstance(node.get("$ref"), str) \
                    and node["$ref"].startswith("#") and jumps < 32:
                jumps += 1
                target, node, found = self.walk([_unescape(t) for t in node["$ref"][1:].split("/") if t])
                if not found:
                    return path, node, False
                path = target
            if isinstance(node, dict) and token in node:
                node, path = node[token], (*path, token)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node, path = node[int(token)], (*path, token)
            elif isinstance(node, list) and token in node:  # a name in "required"
                path = (*path, str(node.index(token)))
                node = token
            else:
                return path, node, False
        return path, node, True

    def value(self, tokens: list[str]) -> Any:
        _, node, found = self.walk(tokens)
        return node if found else _ABSENT

    def position(self, tokens: list[str]) -> Position:
        """The element the tokens lead to, or the nearest enclosing one this text spells out."""
        path, _, _ = self.walk(tokens)
        found = self.positions.find_path(path)
        return found.position if found else Position(1, 1)


def _split(tokens: list[str]) -> tuple[list[str], list[str]]:
    """The element's tokens (properties, items, …) and the keyword tokens after them."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in _NAMED and i + 1 < len(tokens):
            i += 2
        elif token in _COMBINED and i + 1 < len(tokens) and tokens[i + 1].isdigit():
            i += 2
        elif token == "items":
            i += 2 if i + 1 < len(tokens) and tokens[i + 1].isdigit() else 1
        elif token in _SINGLE:
            i += 1
        else:
            break
    return tokens[:i], tokens[i:]


def element_name(tokens: list[str]) -> str:
    """``order.tags[]`` for ``properties/order/properties/tags/items``; empty for the root."""
    parts: list[str] = []
    i = 0
    while i < len(tokens):
        token, following = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else None
        if token == "properties" and following is not None:
            parts.append("." + following)
            i += 2
        elif token in _NAMED and following is not None:
            parts.append(f".{token}/{following}")
            i += 2
        elif token in ("items", *_COMBINED) and following is not None and following.isdigit():
            parts.append(f"{'' if token == 'items' else '.' + token}[{following}]")
            i += 2
        elif token == "items":
            parts.append("[]")
            i += 1
        else:
            parts.append("." + token)
            i += 1
    return "".join(parts).lstrip(".")


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def explain(issue: Incompatibility, new: SchemaText, old: SchemaText | None, *, new_is_reader: bool) -> Explanation:
    tokens = [_unescape(t) for t in issue.location.removeprefix("#").split("/") if t]
    return _Explainer(issue, tokens, _Doc(new), _Doc(old) if old is not None else None, new_is_reader).explain()


_KEYWORD_CHANGE = re.compile(
    r"(MAX_LENGTH|MIN_LENGTH|MAXIMUM|MINIMUM|EXCLUSIVE_MAXIMUM|EXCLUSIVE_MINIMUM|MULTIPLE_OF|MAX_PROPERTIES|"
    r"MIN_PROPERTIES|MAX_ITEMS|MIN_ITEMS|MAX_CONTAINS|MIN_CONTAINS|PATTERN|UNIQUE_ITEMS|ADDITIONAL_PROPERTIES|"
    r"ADDITIONAL_ITEMS|UNEVALUATED_PROPERTIES|UNEVALUATED_ITEMS|DEPENDENCY_ARRAY|DEPENDENCY_SCHEMA)_"
    r"(ADDED|REMOVED|INCREASED|DECREASED|CHANGED|EXPANDED|REDUCED|NARROWED|EXTENDED)\Z"
)

# Why an added or removed property (or item) breaks, by difference type: {r} is the
# reader schema ("new" or "old"), {w} the writer.
_REASONS = {
    "OPEN_CONTENT_MODEL": "the {w} schema allowed any value under that name (open content model)",
    "UNOPEN_CONTENT_MODEL": "the {r} schema requires it and data written with the {w} schema lacks it",
    "CLOSED_CONTENT_MODEL": "the {r} schema does not allow it (closed content model)",
    "REMOVED_NOT_COVERED": "the {r} schema's patternProperties/additionalProperties do not cover it",
    "ADDED_NOT_COVERED": "the {w} schema's patternProperties/additionalProperties do not cover it",
}


class _Explainer:
    def __init__(self, issue: Incompatibility, tokens: list[str], new: _Doc, old: _Doc | None,
                 new_is_reader: bool) -> None:
        self.issue, self.tokens, self.new, self.old = issue, tokens, new, old
        self.element_tokens, self.keyword = _split(tokens)
        self.reader, self.writer = ("new", "old") if new_is_reader else ("old", "new")

    def explain(self) -> Explanation:
        kind = self.issue.error_type
        if _KEYWORD_CHANGE.match(kind):
            return self._keyword()
        if kind.startswith(("TYPE_", "COMBINED_TYPE_", "SUM_TYPE_", "PRODUCT_TYPE_", "NOT_TYPE_")):
            return self._type()
        if kind.startswith("ENUM_ARRAY"):
            return self._enum()
        if kind.startswith("REQUIRED_ATTRIBUTE"):
            return self._required()
        if kind.startswith(("PROPERTY_", "REQUIRED_PROPERTY", "OPTIONAL_PROPERTY", "ITEM_")):
            return self._member()
        return Explanation(f"{self._element()}: {kind.lower().replace('_', ' ')}.", self._new_at(self.tokens))

    # -- helpers -----------------------------------------------------------------------

    def _element(self, tokens: list[str] | None = None) -> str:
        name = element_name(self.element_tokens if tokens is None else tokens)
        return f'Property "{name}"' if name else "The schema"

    def _values(self, tokens: list[str]) -> tuple[Any, Any]:
        old = self.old.value(tokens) if self.old is not None else _ABSENT
        return old, self.new.value(tokens)

    def _new_at(self, tokens: list[str]) -> Position:
        return self.new.position(tokens)

    # -- sentences -----------------------------------------------------------------------

    def _keyword(self) -> Explanation:
        keyword = self.keyword[0] if self.keyword else self.issue.error_type.lower()
        old, new = self._values(self.tokens)
        where = self._new_at(self.tokens)
        if self.old is None:
            sentence = f'{self._element()} changed "{keyword}" (now {_show(new)}).'
        elif old is _ABSENT:
            sentence = f'{self._element()} added "{keyword}": {_show(new)}.'
        elif new is _ABSENT:
            sentence = f'{self._element()} removed "{keyword}" (was {_show(old)}).'
        else:
            sentence = f'{self._element()} changed "{keyword}" from {_show(old)} to {_show(new)}.'
        return Explanation(sentence, where)

    def _type(self) -> Explanation:
        old, new = self._values(self.element_tokens)
        where = self._new_at(self.element_tokens)
        return Explanation(f"{self._element()} changed type from {_kind(old)} to {_kind(new)}.", where)

    def _enum(self) -> Explanation:
        keyword = self.keyword[0] if self.keyword else "enum"
        old, new = self._values([*self.element_tokens, keyword])
        where = self._new_at([*self.element_tokens, keyword])
        if isinstance(old, list) and isinstance(new, list):
            removed = [v for v in old if v not in new]
            added = [v for v in new if v not in old]
            parts = []
            if removed:
                parts.append("removed enum value" + ("s " if len(removed) > 1 else " ") + ", ".join(map(_show, removed)))
            if added:
                parts.append("added enum value" + ("s " if len(added) > 1 else " ") + ", ".join(map(_show, added)))
            if parts:
                return Explanation(f"{self._element()} {' and '.join(parts)}.", where)
        return Explanation(f'{self._element()} changed "{keyword}" from {_show(old)} to {_show(new)}.', where)

    def _required(self) -> Explanation:
        name = self.keyword[1] if len(self.keyword) > 1 else "?"
        prop = self._element([*self.element_tokens, "properties", name])
        old, new = self._values([*self.element_tokens, "required"])
        now_required = isinstance(new, list) and name in new
        was_required = isinstance(old, list) and name in old
        where = self._new_at(self.tokens)
        if now_required and not was_required:
            return Explanation(f"{prop} became required.", where)
        if was_required and not now_required:
            return Explanation(f"{prop} is no longer required.", where)
        return Explanation(f"{prop}: {self.issue.error_type.lower().replace('_', ' ')}.", where)

    def _member(self) -> Explanation:
        kind = self.issue.error_type
        old, new = self._values(self.tokens)
        noun = self._element(self.tokens) if not kind.startswith("ITEM_") else \
            f'Item {self.tokens[-1]} of {self._element(self.tokens[:-2]).lower()}'
        reason = next((text for key, text in _REASONS.items() if key in kind and
                       not (key == "OPEN_CONTENT_MODEL" and ("UNOPEN" in kind or "PARTIALLY" in kind))), "")
        reason = reason.format(r=self.reader, w=self.writer)
        suffix = f"; {reason}." if reason else "."
        if new is _ABSENT and old is not _ABSENT:
            old_at = self.old.position(self.tokens) if self.old is not None else None
            return Explanation(f"{noun} was removed{suffix}", self._new_at(self.tokens), old_at)
        required = "REQUIRED" in kind and "WITH_DEFAULT" not in kind
        lead = noun.replace("Property", "Required property", 1) if required else noun
        return Explanation(f"{lead} was added{suffix}", self._new_at(self.tokens))


def _kind(node: Any) -> str:
    """A schema's type in a few words: ``"integer"``, ``["string", "null"]``, ``an "anyOf" of 2``."""
    if node is _ABSENT:
        return "absent"
    if node is True or node == {}:
        return "any value"
    if node is False:
        return "no value"
    if not isinstance(node, dict):
        return _show(node)
    if "type" in node:
        return _show(node["type"])
    for keyword in _COMBINED:
        if isinstance(node.get(keyword), list):
            return f'"{keyword}" of {len(node[keyword])}'
    for keyword in ("enum", "const", "$ref", "not"):
        if keyword in node:
            return f'"{keyword}" {_show(node[keyword])}'
    return "any value"
