"""The schema model the JSON Schema compatibility diff runs over.

Confluent diffs JSON Schemas over everit's object model (drafts 4 to 7) or
over json-sKema's model translated into everit's (2019-09 and 2020-12). This
module builds an equivalent model from parsed JSON: each :class:`Node` has the
``kind`` of the everit class it stands for and the fields the diff reads.

Drafts 4-7 follow everit's loader: ``enum``, the combinators, ``not``,
``const`` and ``type`` each give a part, leftover type-specific keywords give
more parts, several parts make a synthetic ``allOf``, and ``$ref`` hides its
siblings. The modern drafts follow Confluent's translator: every keyword gives
a part, parts of the same kind merge, and the rest form a synthetic ``allOf``.
``$ref`` nodes are resolved lazily through ``referencing``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from referencing import Specification

if TYPE_CHECKING:
    from referencing._core import Resolver

MISSING: Any = object()
"""Marks an absent ``default``."""

MODERN_DRAFTS = frozenset({"2019-09", "2020-12"})
ID_KEYWORD = {"4": "id"}

ARRAY_KEYWORDS = ("items", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains")
OBJECT_KEYWORDS = (
    "properties", "required", "minProperties", "maxProperties", "dependencies",
    "patternProperties", "additionalProperties", "propertyNames",
)
NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
CONDITIONAL_KEYWORDS = ("if", "then", "else")
MERGEABLE = frozenset({"array", "number", "object", "string"})


class Node:
    """One schema in the model; ``kind`` names the everit class it mirrors.

    Kinds: empty, true, false, boolean, null, string, number, enum, const,
    not, combined, object, array, conditional and ref. Only the fields of the
    node's kind are meaningful.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.id: str | None = None
        self.title: str | None = None
        self.description: str | None = None
        self.default: Any = MISSING
        self.unprocessed: dict[str, Any] = {}
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.pattern: str | None = None
        self.minimum: Any = None
        self.maximum: Any = None
        self.excl_min: Any = None
        self.excl_max: Any = None
        self.multiple_of: Any = None
        self.requires_integer = False
        self.values: list[Any] = []
        self.value: Any = None
        self.sub: Node | None = None
        self.criterion = ""
        self.subs: list[Node] = []
        self.props: dict[str, Node] = {}
        self.required: list[str] = []
        self.pattern_props: list[tuple[str, Node]] = []
        self.additional = True
        self.additional_schema: Node | None = None
        self.prop_deps: dict[str, frozenset[str]] = {}
        self.schema_deps: dict[str, Node] = {}
        self.min_props: int | None = None
        self.max_props: int | None = None
        self.unevaluated: Node | None = None
        self.all_items: Node | None = None
        self.items: list[Node] | None = None
        self.min_items: int | None = None
        self.max_items: int | None = None
        self.unique = False
        self.min_contains: Any = None
        self.max_contains: Any = None
        self.ref = ""
        self._target: Callable[[], Node] | None = None
        self._key: tuple | None = None
        self._has_ref = False
        self._prop_index: PropIndex | None = None

    @property
    def is_empty(self) -> bool:
        """True for everit's EmptySchema and its subclass TrueSchema."""
        return self.kind in ("empty", "true")

    def resolved(self) -> Node:
        """The schema a ``$ref`` chain ends at; a chain that loops is empty."""
        node, seen = self, set()
        while node.kind == "ref":
            if id(node) in seen:
                return EMPTY_LOOP
            seen.add(id(node))
            node = node.target()
        return node

    def target(self) -> Node:
        """The node a ``ref`` node points at (resolved once, on first use)."""
        if self.sub is None:
            assert self._target is not None
            self.sub = self._target()
        return self.sub

    def key(self) -> tuple:
        """A structural identity: equal keys mean equal schemas, unless :attr:`has_ref`."""
        if self._key is None:
            self._key = _structural_key(self)
        return self._key

    @property
    def has_ref(self) -> bool:
        """True when the schema holds a ``$ref`` (its key does not cover the target)."""
        self.key()
        return self._has_ref

    def prop_index(self) -> PropIndex:
        """The :class:`PropIndex` of :attr:`props` and :attr:`required` (built once)."""
        if self._prop_index is None:
            self._prop_index = _prop_index(self)
        return self._prop_index


class PropIndex(NamedTuple):
    """What the object diff reads of a node's properties, precomputed."""

    position: dict[str, int]
    """Each property's place in Java's ``HashMap`` iteration order of :attr:`Node.props`."""
    keys: dict[str, tuple | None]
    """Each property's structural key, or None when its schema holds a ``$ref``."""
    required: frozenset[str]
    """The names of :attr:`Node.required`."""


def _prop_index(node: Node) -> PropIndex:
    order = java_order(list(node.props), hashmap_capacity(len(node.props)))
    keys = {name: None if sub.has_ref else sub.key() for name, sub in node.props.items()}
    return PropIndex({name: i for i, name in enumerate(order)}, keys, frozenset(node.required))


EMPTY_LOOP = Node("empty")
_KEY_FIELDS = tuple((name, default) for name, default in vars(Node("empty")).items()
                    if not name.startswith("_") and name != "kind")
"""The fields a structural key covers, in :class:`Node`'s order, with their defaults."""


def value_key(value: Any) -> Any:
    """A hashable key that compares JSON values the way Java's ``equals`` does."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int):
        return ("i", value)
    if isinstance(value, Decimal):
        sign, digits, exponent = value.as_tuple()
        return ("d", 0 if not any(digits) else sign, digits, exponent)
    if isinstance(value, float):
        return ("f", repr(value))
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(value_key(v) for v in value))
    return ("o", frozenset((k, value_key(v)) for k, v in value.items()))


def _structural_key(node: Node) -> tuple:
    if node.kind == "ref":
        node._has_ref = True
        return ("ref", node.ref, node.title, node.description)
    attrs = vars(node)
    fields = []
    for name, default in _KEY_FIELDS:
        val = attrs[name]
        if val is default or (type(val) is type(default) and val == default):
            continue
        fields.append((name, _field_key(node, val)))
    return (node.kind, tuple(fields))


def _field_key(owner: Node, val: Any) -> Any:
    if isinstance(val, Node):
        key = val.key()
        owner._has_ref = owner._has_ref or val._has_ref
        return key
    if isinstance(val, (list, tuple)):
        return tuple(_field_key(owner, v) for v in val)
    if isinstance(val, dict):
        return frozenset((k, _field_key(owner, v)) for k, v in val.items())
    if isinstance(val, frozenset):
        return val
    if val is MISSING:
        return ("missing",)
    return value_key(val)


class ModelBuilder:
    """Builds the model of one schema document and the documents it references."""

    def __init__(self, draft: str, spec: Specification) -> None:
        self.draft = draft
        self.spec = spec
        self.modern = draft in MODERN_DRAFTS
        self._memo: dict[int, Node] = {}
        self.pending: list[Node] = []

    def build(self, value: Any, resolver: Resolver) -> Node:
        """The node for a schema value (a dict or a boolean)."""
        if value is True:
            return Node("true")
        if value is False:
            return Node("false")
        if not isinstance(value, dict):
            return Node("empty")
        node = self._memo.get(id(value))
        if node is None:
            resolver = self._enter(value, resolver)
            node = self._modern(value, resolver) if self.modern else self._classic(value, resolver)
            self._memo[id(value)] = node
        return node

    def _enter(self, value: dict, resolver: Resolver) -> Resolver:
        ident = value.get(ID_KEYWORD.get(self.draft, "$id"))
        if isinstance(ident, str) and ident:
            return resolver.in_subresource(self.spec.create_resource(value))
        return resolver

    def _ref(self, ref: str, resolver: Resolver) -> Node:
        node = Node("ref")
        node.ref = ref

        def lookup() -> Node:
            resolved = resolver.lookup(ref)
            return self.build(resolved.contents, resolved.resolver)

        node._target = lookup
        self.pending.append(node)
        return node

    def _common(self, node: Node, value: dict, with_id: bool = True) -> None:
        ident = value.get(ID_KEYWORD.get(self.draft, "$id"))
        if with_id and isinstance(ident, str):
            node.id = ident
        if isinstance(value.get("title"), str):
            node.title = value["title"]
        if isinstance(value.get("description"), str):
            node.description = value["description"]
        if "default" in value:
            node.default = value["default"]

    def _classic(self, value: dict, resolver: Resolver) -> Node:
        if "$ref" in value and isinstance(value["$ref"], str):
            node = self._ref(value["$ref"], resolver)
            self._common(node, value)
            return node
        consumed: set[str] = set()
        parts = list(self._classic_parts(value, resolver, consumed))
        node = _combine(parts)
        self._common(node, value)
        consumed.update(("$id", "id", "title", "description", "default"))
        node.unprocessed = {k: v for k, v in value.items() if k not in consumed}
        return node

    def _classic_parts(self, value: dict, resolver: Resolver, consumed: set[str]) -> Iterable[Node]:
        if "enum" in value:
            consumed.add("enum")
            yield _leaf("enum", values=list(value["enum"]))
        for criterion in java_order([k for k in ("allOf", "anyOf", "oneOf") if k in value], 16):
            consumed.add(criterion)
            yield self._combined(criterion, value[criterion], resolver)
        if "not" in value:
            consumed.add("not")
            yield _leaf("not", sub=self.build(value["not"], resolver))
        if self.draft != "4" and "const" in value:
            consumed.add("const")
            yield _leaf("const", value=value["const"])
        if "type" in value:
            consumed.add("type")
            types = value["type"]
            if isinstance(types, list):
                yield _anyof([self._typed(t, value, resolver, consumed) for t in types])
            else:
                yield self._typed(types, value, resolver, consumed)
        yield from self._sniffed(value, resolver, consumed)

    def _sniffed(self, value: dict, resolver: Resolver, consumed: set[str]) -> Iterable[Node]:
        def present(keys: Iterable[str]) -> bool:
            return any(k in value and k not in consumed for k in keys)

        if present(self._array_keywords()):
            yield self._typed("array", value, resolver, consumed)
        if present(self._object_keywords()):
            yield self._typed("object", value, resolver, consumed)
        if present(NUMBER_KEYWORDS):
            yield self._typed("number", value, resolver, consumed)
        if present(STRING_KEYWORDS):
            yield self._typed("string", value, resolver, consumed)
        if self.draft == "7" and present(CONDITIONAL_KEYWORDS):
            consumed.update(CONDITIONAL_KEYWORDS)
            yield self._conditional(value, resolver)

    def _array_keywords(self) -> tuple[str, ...]:
        return ARRAY_KEYWORDS[:-1] if self.draft == "4" else ARRAY_KEYWORDS

    def _object_keywords(self) -> tuple[str, ...]:
        return OBJECT_KEYWORDS[:-1] if self.draft == "4" else OBJECT_KEYWORDS

    def _typed(self, type_name: Any, value: dict, resolver: Resolver, consumed: set[str]) -> Node:
        if type_name == "string":
            consumed.update(STRING_KEYWORDS)
            return _string(value)
        if type_name in ("integer", "number"):
            consumed.update(NUMBER_KEYWORDS)
            node = _number(value, self.draft == "4")
            node.requires_integer = type_name == "integer"
            return node
        if type_name == "array":
            consumed.update(self._array_keywords())
            return self._array(value, resolver)
        if type_name == "object":
            consumed.update(self._object_keywords())
            return self._object(value, resolver)
        if type_name in ("boolean", "null"):
            return Node(type_name)
        return Node("empty")

    def _combined(self, criterion: str, members: Any, resolver: Resolver) -> Node:
        node = Node("combined")
        node.criterion = criterion
        node.subs = [self.build(m, resolver) for m in members if isinstance(m, (dict, bool))]
        return node

    def _conditional(self, value: dict, resolver: Resolver) -> Node:
        node = Node("conditional")
        node.subs = [self.build(value[k], resolver) for k in CONDITIONAL_KEYWORDS if k in value]
        return node

    def _object(self, value: dict, resolver: Resolver) -> Node:
        node = Node("object")
        for name, sub in _dict(value.get("properties")).items():
            node.props[name] = self.build(sub, resolver)
        node.required = [r for r in _list(value.get("required")) if isinstance(r, str)]
        for pattern, sub in _dict(value.get("patternProperties")).items():
            node.pattern_props.append((pattern, self.build(sub, resolver)))
        self._additional(node, value.get("additionalProperties", True), resolver)
        for name, dep in _dict(value.get("dependencies")).items():
            if isinstance(dep, list):
                node.prop_deps[name] = frozenset(dep)
            else:
                node.schema_deps[name] = self.build(dep, resolver)
        for name, dep in _dict(value.get("dependentRequired")).items():
            node.prop_deps[name] = frozenset(_list(dep))
        for name, dep in _dict(value.get("dependentSchemas")).items():
            node.schema_deps[name] = self.build(dep, resolver)
        node.min_props = _int(value.get("minProperties"))
        node.max_props = _int(value.get("maxProperties"))
        return node

    def _additional(self, node: Node, spec: Any, resolver: Resolver) -> None:
        if spec is False:
            node.additional = False
        elif isinstance(spec, dict):
            node.additional_schema = self.build(spec, resolver)

    def _array(self, value: dict, resolver: Resolver) -> Node:
        node = Node("array")
        items = value.get("items")
        if isinstance(items, list):
            node.items = [self.build(i, resolver) for i in items]
        elif items is not None:
            node.all_items = self.build(items, resolver)
        self._additional(node, value.get("additionalItems", True), resolver)
        node.min_items = _int(value.get("minItems"))
        node.max_items = _int(value.get("maxItems"))
        node.unique = value.get("uniqueItems") is True
        return node

    def _modern(self, value: dict, resolver: Resolver) -> Node:
        parts: list[Node] = []
        handled: set[str] = {"$schema", "$id", "$defs", "definitions", "$anchor", "$dynamicAnchor",
                             "$dynamicRef", "$comment", "$vocabulary", "format", "title",
                             "description", "default", "minContains", "maxContains", "then", "else"}
        for keyword, arg in value.items():
            part = self._keyword(keyword, arg, value, resolver)
            if part is not None:
                handled.add(keyword)
                parts.append(part)
        node = _accumulate(parts)
        self._common(node, value, with_id=False)
        node.unprocessed = {**node.unprocessed, **{k: v for k, v in value.items() if k not in handled}}
        return node

    def _keyword(self, keyword: str, arg: Any, value: dict, resolver: Resolver) -> Node | None:
        handler = _MODERN_KEYWORDS.get(keyword)
        return handler(self, arg, value, resolver) if handler else None

    def _modern_items(self, arg: Any, value: dict, resolver: Resolver) -> Node | None:
        if isinstance(arg, list):
            return _leaf("array", items=[self.build(i, resolver) for i in arg])
        node = Node("array")
        if arg is False:
            node.additional = False
        elif isinstance(arg, dict):
            sub = self.build(arg, resolver)
            if "prefixItems" in value:
                node.additional_schema = sub
            else:
                node.all_items = sub
        return node

    def _modern_contains(self, arg: Any, value: dict, resolver: Resolver) -> Node:
        node = _leaf("array", sub=self.build(arg, resolver))
        node.min_contains = value.get("minContains", 1)
        node.max_contains = value.get("maxContains")
        return node

    def _modern_type(self, arg: Any, value: dict, resolver: Resolver) -> Node:
        if isinstance(arg, list):
            return _anyof([_typed_leaf(t) for t in arg])
        return _typed_leaf(arg)

    def _modern_object(self, keyword: str, arg: Any, value: dict, resolver: Resolver) -> Node | None:
        node = Node("object")
        if keyword in ("properties", "patternProperties", "dependentRequired") and not _dict(arg):
            return None
        if keyword == "properties":
            node.props = {k: self.build(v, resolver) for k, v in arg.items()}
        elif keyword == "patternProperties":
            node.pattern_props = [(k, self.build(v, resolver)) for k, v in arg.items()]
        elif keyword == "additionalProperties":
            self._additional(node, arg, resolver)
        elif keyword == "unevaluatedProperties":
            node.unevaluated = self.build(arg, resolver)
        elif keyword in ("required", "dependentRequired", "dependentSchemas",
                         "minProperties", "maxProperties"):
            node = self._object({keyword: arg}, resolver)
        return node


def _typed_leaf(type_name: Any) -> Node:
    if type_name == "integer":
        return _leaf("number", requires_integer=True)
    if type_name in ("string", "number", "boolean", "null", "array", "object"):
        return Node(type_name)
    return Node("empty")


def _modern_leaf(kind: str, **fields: Callable[[Any], Any]) -> Callable[..., Node]:
    def make(builder: ModelBuilder, arg: Any, value: dict, resolver: Resolver) -> Node:
        return _leaf(kind, **{name: conv(arg) for name, conv in fields.items()})

    return make


def _modern_object_keyword(keyword: str) -> Callable[..., Node | None]:
    def make(builder: ModelBuilder, arg: Any, value: dict, resolver: Resolver) -> Node | None:
        return builder._modern_object(keyword, arg, value, resolver)

    return make


def _modern_combined(criterion: str) -> Callable[..., Node]:
    def make(builder: ModelBuilder, arg: Any, value: dict, resolver: Resolver) -> Node:
        return builder._combined(criterion, _list(arg), resolver)

    return make


def _ident(arg: Any) -> Any:
    return arg


def _additional_items(builder: ModelBuilder, arg: Any, resolver: Resolver) -> Node:
    node = Node("array")
    builder._additional(node, arg, resolver)
    return node


def _leaf(kind: str, **fields: Any) -> Node:
    node = Node(kind)
    for name, val in fields.items():
        setattr(node, name, val)
    return node


def _anyof(subs: list[Node]) -> Node:
    return _leaf("combined", criterion="anyOf", subs=subs)


def _combine(parts: list[Node]) -> Node:
    if not parts:
        return Node("empty")
    if len(parts) == 1:
        return parts[0]
    return _leaf("combined", criterion="allOf", subs=parts)


def _accumulate(parts: list[Node]) -> Node:
    merged: list[Node] = []
    for part in parts:
        target = next((m for m in merged if m.kind == part.kind and m.kind in MERGEABLE), None)
        if target is None:
            merged.append(part)
        else:
            _merge(target, part)
    return _combine(merged)


_DEFAULTS = Node("empty")


def _merge(target: Node, part: Node) -> None:
    for name, val in vars(part).items():
        if name.startswith("_") or name == "kind":
            continue
        if isinstance(val, dict) and val:
            setattr(target, name, {**getattr(target, name), **val})
        elif isinstance(val, list) and name in ("required", "pattern_props") and val:
            setattr(target, name, getattr(target, name) + val)
        elif val != getattr(_DEFAULTS, name) or (name == "additional" and val is False):
            setattr(target, name, val)


def _string(value: dict) -> Node:
    return _leaf("string", min_length=_int(value.get("minLength")),
                 max_length=_int(value.get("maxLength")),
                 pattern=value.get("pattern") if isinstance(value.get("pattern"), str) else None)


def _number(value: dict, draft4: bool) -> Node:
    node = _leaf("number", minimum=_num(value.get("minimum")), maximum=_num(value.get("maximum")),
                 multiple_of=_num(value.get("multipleOf")))
    if not draft4:
        node.excl_min = _num(value.get("exclusiveMinimum"))
        node.excl_max = _num(value.get("exclusiveMaximum"))
    return node


def _num(value: Any) -> Any:
    return value if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    num = _num(value)
    return int(num) if num is not None and num == num and abs(num) != float("inf") else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode`` (over UTF-16 code units), as a signed 32-bit int;
    memoised for names up to 64 characters (the cache stays under ~10 MB)."""
    return _short_string_hash(text) if len(text) <= 64 else _string_hash(text)


@functools.lru_cache(maxsize=65536)
def _short_string_hash(text: str) -> int:
    return _string_hash(text)


def _string_hash(text: str) -> int:
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def java_order(keys: list[str], capacity: int) -> list[str]:
    """The iteration order of a Java ``HashMap``/``HashSet`` of ``keys``
    (given in insertion order) with a table of ``capacity`` buckets."""
    return sorted(keys, key=lambda key: java_bucket(key, capacity))


def java_bucket(key: str, capacity: int) -> int:
    """The bucket of ``key`` in a Java hash table of ``capacity`` (a power of two) buckets."""
    h = java_string_hash(key)
    return (h ^ (h >> 16)) & (capacity - 1)


def hashmap_capacity(size: int) -> int:
    """The table size of a default ``HashMap`` after ``size`` insertions."""
    capacity = 16
    while size > capacity * 3 // 4:
        capacity *= 2
    return capacity


def hashset_capacity(initial: int, size: int) -> int:
    """The table size of ``new HashSet<>(c)`` (``c`` of ``initial`` items) grown to ``size``."""
    wanted = max(int(initial / 0.75) + 1, 16)
    capacity = 1
    while capacity < wanted:
        capacity *= 2
    while size > capacity * 3 // 4:
        capacity *= 2
    return capacity


_MODERN_KEYWORDS: dict[str, Callable[..., Node | None]] = {
    "type": ModelBuilder._modern_type,
    "enum": _modern_leaf("enum", values=lambda a: list(_list(a))),
    "const": _modern_leaf("const", value=_ident),
    "not": lambda b, a, v, r: _leaf("not", sub=b.build(a, r)),
    "allOf": _modern_combined("allOf"),
    "anyOf": _modern_combined("anyOf"),
    "oneOf": _modern_combined("oneOf"),
    "$ref": lambda b, a, v, r: b._ref(a, r) if isinstance(a, str) else None,
    "minLength": _modern_leaf("string", min_length=_int),
    "maxLength": _modern_leaf("string", max_length=_int),
    "pattern": _modern_leaf("string", pattern=_ident),
    "minimum": _modern_leaf("number", minimum=_ident),
    "maximum": _modern_leaf("number", maximum=_ident),
    "exclusiveMinimum": _modern_leaf("number", excl_min=_ident),
    "exclusiveMaximum": _modern_leaf("number", excl_max=_ident),
    "multipleOf": _modern_leaf("number", multiple_of=_ident),
    "minItems": _modern_leaf("array", min_items=_int),
    "maxItems": _modern_leaf("array", max_items=_int),
    "uniqueItems": _modern_leaf("array", unique=lambda a: a is True),
    "items": ModelBuilder._modern_items,
    "prefixItems": lambda b, a, v, r: _leaf("array", items=[b.build(i, r) for i in _list(a)]),
    "additionalItems": lambda b, a, v, r: _additional_items(b, a, r),
    "contains": ModelBuilder._modern_contains,
    "unevaluatedItems": lambda b, a, v, r: _leaf("array", unevaluated=b.build(a, r)),
    "if": lambda b, a, v, r: b._conditional(v, r),
    **{k: _modern_object_keyword(k) for k in (
        "properties", "patternProperties", "additionalProperties", "unevaluatedProperties",
        "propertyNames", "required", "dependentRequired", "dependentSchemas",
        "minProperties", "maxProperties")},
}
