"""JSON Schema compatibility: Confluent's ``SchemaDiff`` over the model of
:mod:`registry.formats.json_model` (compat-rules §3).

:func:`compare` lists every difference between an original (old, writer)
and an update (new, reader) in Confluent's emission order; a pair is
compatible when every difference is in the policy's compatible set.

The diff of two schemas with equal structural keys and no ``$ref`` is empty
(:meth:`_Differ.diff`), so the object diff visits only the properties that
can differ (:func:`_changed_properties`), read from each node's memoised
:class:`~registry.formats.json_model.PropIndex`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from .. import deadline, patterns
from .base import ensure_recursion_headroom
from .json_model import (
    MISSING,
    Node,
    hashmap_capacity,
    hashset_capacity,
    java_bucket,
    java_order,
    value_key,
)

Diff = tuple[str, tuple[str, ...]]

STRICT_COMPATIBLE = frozenset("""
ID_CHANGED DESCRIPTION_CHANGED TITLE_CHANGED DEFAULT_CHANGED SCHEMA_REMOVED TYPE_EXTENDED
MAX_LENGTH_INCREASED MAX_LENGTH_REMOVED MIN_LENGTH_DECREASED MIN_LENGTH_REMOVED PATTERN_REMOVED
MAXIMUM_INCREASED MAXIMUM_REMOVED MINIMUM_DECREASED MINIMUM_REMOVED
EXCLUSIVE_MAXIMUM_INCREASED EXCLUSIVE_MAXIMUM_REMOVED EXCLUSIVE_MINIMUM_DECREASED
EXCLUSIVE_MINIMUM_REMOVED MULTIPLE_OF_REDUCED MULTIPLE_OF_REMOVED
REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED REQUIRED_ATTRIBUTE_REMOVED
DEPENDENCY_ARRAY_NARROWED DEPENDENCY_ARRAY_REMOVED DEPENDENCY_SCHEMA_REMOVED
MAX_PROPERTIES_INCREASED MAX_PROPERTIES_REMOVED MIN_PROPERTIES_DECREASED MIN_PROPERTIES_REMOVED
ADDITIONAL_PROPERTIES_ADDED ADDITIONAL_PROPERTIES_EXTENDED
UNEVALUATED_PROPERTIES_ADDED UNEVALUATED_PROPERTIES_EXTENDED
PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL
PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
MAX_ITEMS_INCREASED MAX_ITEMS_REMOVED MIN_ITEMS_DECREASED MIN_ITEMS_REMOVED
MAX_CONTAINS_INCREASED MAX_CONTAINS_REMOVED MIN_CONTAINS_DECREASED MIN_CONTAINS_REMOVED
UNIQUE_ITEMS_REMOVED ADDITIONAL_ITEMS_ADDED ADDITIONAL_ITEMS_EXTENDED
UNEVALUATED_ITEMS_ADDED UNEVALUATED_ITEMS_EXTENDED
ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL ITEM_ADDED_TO_CLOSED_CONTENT_MODEL
ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL
ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
ENUM_ARRAY_EXTENDED COMBINED_TYPE_EXTENDED PRODUCT_TYPE_NARROWED SUM_TYPE_EXTENDED NOT_TYPE_NARROWED
""".split())

LENIENT_COMPATIBLE = STRICT_COMPATIBLE | frozenset("""
ADDITIONAL_PROPERTIES_NARROWED ADDITIONAL_PROPERTIES_REMOVED
UNEVALUATED_PROPERTIES_NARROWED UNEVALUATED_PROPERTIES_REMOVED
REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL
PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL
PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
""".split())

MAX_FIXPOINT_ROUNDS = 8
"""Recursive schemas chain many node pairs; the diff recurses once per pair."""

SKIP_IDENTICAL_PROPERTIES = True
"""Visit only the properties whose diff can be non-empty (False: visit all, for tests)."""


class Difference(NamedTuple):
    """One difference: its type and its JSON path (``#/properties/foo``)."""

    type: str
    path: str

    def __str__(self) -> str:
        return f"{self.type} {self.path}"


def compatible_set(policy: str) -> frozenset[str]:
    """The difference types the policy (STRICT or LENIENT) accepts."""
    return LENIENT_COMPATIBLE if policy.upper() == "LENIENT" else STRICT_COMPATIBLE


def compare(original: Node | None, update: Node | None, policy: str = "STRICT") -> list[Difference]:
    """Every difference between ``original`` (old) and ``update`` (new), in order."""
    ensure_recursion_headroom()
    differ = _Differ(compatible_set(policy))
    return [Difference(t, "#/" + "/".join(p)) for t, p in differ.run(original, update)]


def is_compatible(differences: list[Difference], policy: str = "STRICT") -> bool:
    """True when every difference is allowed by ``policy``."""
    allowed = compatible_set(policy)
    return all(d.type in allowed for d in differences)


def _prefixed(prefix: tuple[str, ...], diffs: list[Diff]) -> list[Diff]:
    return [(t, prefix + p) for t, p in diffs] if prefix else list(diffs)


class _Differ:
    """One comparison run: memoised per node pair, iterated to a fixpoint on cycles."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.memo: dict[tuple[int, int], list[Diff]] = {}
        self.in_progress: set[tuple[int, int]] = set()
        self.assumed: dict[tuple[int, int], list[Diff]] = {}
        self.used: set[tuple[int, int]] = set()

    def run(self, original: Node | None, update: Node | None) -> list[Diff]:
        result: list[Diff] = []
        for _ in range(MAX_FIXPOINT_ROUNDS):
            self.memo.clear()
            self.used.clear()
            result = self.diff(original, update)
            stale = [k for k in self.used
                     if self.ok(self.memo.get(k, [])) != self.ok(self.assumed.get(k, []))]
            for key in self.used:
                self.assumed[key] = self.memo.get(key, [])
            if not stale:
                break
        return result

    def ok(self, diffs: list[Diff]) -> bool:
        return all(t in self.allowed for t, _ in diffs)

    def diff(self, original: Node | None, update: Node | None) -> list[Diff]:
        if original is None and update is None:
            return []
        if original is None:
            return [("SCHEMA_ADDED", ())]
        if update is None:
            return [("SCHEMA_REMOVED", ())]
        original, update = original.resolved(), update.resolved()
        key = (id(original), id(update))
        cached = self.memo.get(key)
        if cached is not None:
            return cached
        if original.key() == update.key() and not original.has_ref:
            return []
        if key in self.in_progress:
            self.used.add(key)
            return self.assumed.get(key, [])
        deadline.check()  # a hostile pair of schemas stops at the request's deadline
        self.in_progress.add(key)
        try:
            result = self._compare(original, update)
        finally:
            self.in_progress.discard(key)
        self.memo[key] = result
        return result

    def _compare(self, o: Node, u: Node) -> list[Diff]:
        special = self._special_cases(o, u)
        if special is not None:
            return special
        if o.kind != u.kind and not (o.is_empty and u.is_empty):
            if o.kind == "false" or u.is_empty or _both_bytes(o, u):
                return []
            return [("TYPE_CHANGED", ())]
        out: list[Diff] = []
        if o.id != u.id:
            out.append(("ID_CHANGED", ()))
        if o.title != u.title:
            out.append(("TITLE_CHANGED", ()))
        if o.description != u.description:
            out.append(("DESCRIPTION_CHANGED", ()))
        if _default_changed(o.default, u.default):
            out.append(("DEFAULT_CHANGED", ()))
        handler = _HANDLERS.get(o.kind)
        if handler is not None:
            handler(self, out, o, u)
        return out

    def _special_cases(self, o: Node, u: Node) -> list[Diff] | None:
        if o.kind != "combined" and u.kind == "combined":
            if len(u.subs) == 1:
                sub = self.diff(o, u.subs[0])
                if self.ok(sub):
                    return sub
            elif u.criterion in ("anyOf", "oneOf"):
                for member in u.subs:
                    sub = self.diff(o, member)
                    if self.ok(sub):
                        return [*sub, ("SUM_TYPE_EXTENDED", ())]
        elif o.kind == "combined" and u.kind != "combined":
            if len(o.subs) == 1:
                sub = self.diff(o.subs[0], u)
                if self.ok(sub):
                    return sub
            elif o.criterion == "allOf":
                for member in o.subs:
                    sub = self.diff(member, u)
                    if self.ok(sub):
                        return [*sub, ("PRODUCT_TYPE_NARROWED", ())]
        return None

    def at(self, out: list[Diff], path: tuple[str, ...], o: Node | None, u: Node | None) -> None:
        out.extend(_prefixed(path, self.diff(o, u)))


def _both_bytes(o: Node, u: Node) -> bool:
    return o.unprocessed.get("connect.type") == "bytes" == u.unprocessed.get("connect.type")


def _default_changed(old: Any, new: Any) -> bool:
    if old is MISSING or new is MISSING:
        return (old is MISSING) != (new is MISSING)
    return value_key(old) != value_key(new)


def _limit(out: list[Diff], name: str, kind: str, old: Any, new: Any) -> None:
    """ADDED/REMOVED/INCREASED/DECREASED of a numeric keyword."""
    if old is None and new is None:
        return
    if old is None:
        out.append((f"{kind}_ADDED", (name,)))
    elif new is None:
        out.append((f"{kind}_REMOVED", (name,)))
    elif old < new:
        out.append((f"{kind}_INCREASED", (name,)))
    elif old > new:
        out.append((f"{kind}_DECREASED", (name,)))


def _string(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    _limit(out, "maxLength", "MAX_LENGTH", o.max_length, u.max_length)
    _limit(out, "minLength", "MIN_LENGTH", o.min_length, u.min_length)
    if o.pattern is None and u.pattern is not None:
        out.append(("PATTERN_ADDED", ("pattern",)))
    elif o.pattern is not None and u.pattern is None:
        out.append(("PATTERN_REMOVED", ("pattern",)))
    elif o.pattern != u.pattern:
        out.append(("PATTERN_CHANGED", ("pattern",)))


def _number(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    _limit(out, "maximum", "MAXIMUM", o.maximum, u.maximum)
    _limit(out, "minimum", "MINIMUM", o.minimum, u.minimum)
    if o.excl_max is not None and u.excl_max is not None:
        if o.excl_max < u.excl_max:
            out.append(("EXCLUSIVE_MAXIMUM_INCREASED", ("exclusiveMaximum",)))
        elif u.maximum is not None and o.excl_max > u.maximum:
            out.append(("EXCLUSIVE_MAXIMUM_DECREASED", ("exclusiveMaximum",)))
    else:
        _limit(out, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", o.excl_max, u.excl_max)
    _limit(out, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", o.excl_min, u.excl_min)
    _multiple_of(out, o.multiple_of, u.multiple_of)
    if o.requires_integer != u.requires_integer:
        out.append(("TYPE_EXTENDED" if o.requires_integer else "TYPE_NARROWED", ()))


def _multiple_of(out: list[Diff], old: Any, new: Any) -> None:
    if old is None and new is None:
        return
    if old is None:
        out.append(("MULTIPLE_OF_ADDED", ("multipleOf",)))
        return
    if new is None:
        out.append(("MULTIPLE_OF_REMOVED", ("multipleOf",)))
        return
    try:
        old_d, new_d = Decimal(str(old)), Decimal(str(new))
        if old_d == new_d:
            return
        if old_d and new_d % old_d == 0:
            kind = "EXPANDED"
        elif new_d and old_d % new_d == 0:
            kind = "REDUCED"
        else:
            kind = "CHANGED"
    except InvalidOperation:
        kind = "CHANGED"
    out.append((f"MULTIPLE_OF_{kind}", ("multipleOf",)))


def _enum(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    old = {value_key(v) for v in o.values}
    new = {value_key(v) for v in u.values}
    if old == new:
        return
    if new >= old:
        out.append(("ENUM_ARRAY_EXTENDED", ("enum",)))
    elif old >= new:
        out.append(("ENUM_ARRAY_NARROWED", ("enum",)))
    else:
        out.append(("ENUM_ARRAY_CHANGED", ("enum",)))


def _const(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    if value_key(o.value) != value_key(u.value):
        out.append(("ENUM_ARRAY_CHANGED", ("const",)))


def _not(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    reversed_ok = d.ok(d.diff(u.sub, o.sub))
    out.append(("NOT_TYPE_NARROWED" if reversed_ok else "NOT_TYPE_EXTENDED", ("not",)))


def _combined(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    if o.criterion != u.criterion:
        single_o, single_u = len(o.subs) == 1, len(u.subs) == 1
        if (u.criterion == "anyOf" or (single_o and single_u)
                or (single_o and u.criterion == "oneOf")
                or (single_u and o.criterion == "allOf")):
            out.append(("COMBINED_TYPE_EXTENDED", ()))
        else:
            out.append(("COMBINED_TYPE_CHANGED", ()))
            return
    old, new = _distinct(o.subs), _distinct(u.subs)
    if len(old) < len(new):
        out.append(("PRODUCT_TYPE_EXTENDED" if u.criterion == "allOf" else "SUM_TYPE_EXTENDED", ()))
    elif len(old) > len(new):
        out.append(("SUM_TYPE_NARROWED" if o.criterion in ("anyOf", "oneOf") else "PRODUCT_TYPE_NARROWED", ()))
    edges: dict[tuple[int, int], list[Diff]] = {}
    for i, old_member in enumerate(old):
        for j, new_member in enumerate(new):
            sub = d.diff(old_member, new_member)
            if d.ok(sub):
                edges[(i, j)] = _prefixed((f"{o.criterion}/{i}",), sub)
    matching = _max_matching(len(old), len(new), edges)
    for edge in sorted(matching):
        out.extend(edges[edge])
    if len(matching) < min(len(old), len(new)):
        out.append(("COMBINED_TYPE_SUBSCHEMAS_CHANGED", ()))


def _distinct(members: list[Node]) -> list[Node]:
    seen: dict[tuple, Node] = {}
    for member in members:
        seen.setdefault(member.key(), member)
    return list(seen.values())


def _max_matching(left: int, right: int, edges: dict[tuple[int, int], list[Diff]]) -> list[tuple[int, int]]:
    """A maximum bipartite matching (augmenting paths), preferring low indexes."""
    adjacent: list[list[int]] = [[j for j in range(right) if (i, j) in edges] for i in range(left)]
    match_right: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in adjacent[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in match_right or augment(match_right[j], seen):
                match_right[j] = i
                return True
        return False

    for i in range(left):
        augment(i, set())
    return [(i, j) for j, i in match_right.items()]


def _object(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    for name in _shared_properties(o, u):
        was, now = name in o.required, name in u.required
        if was and not now:
            out.append(("REQUIRED_ATTRIBUTE_REMOVED", ("required", name)))
        elif now and not was:
            kind = "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" if _has_default(u.props[name]) \
                else "REQUIRED_ATTRIBUTE_ADDED"
            out.append((kind, ("required", name)))
    for name in _changed_properties(o, u):
        _property(d, out, o, u, name)
    _dependencies(d, out, o, u)
    _additional(d, out, "additionalProperties", "ADDITIONAL_PROPERTIES", o, u)
    _unevaluated(d, out, "unevaluatedProperties", "UNEVALUATED_PROPERTIES", o.unevaluated, u.unevaluated)
    _limit(out, "maxProperties", "MAX_PROPERTIES", o.max_props, u.max_props)
    _limit(out, "minProperties", "MIN_PROPERTIES", o.min_props, u.min_props)


def _shared_properties(o: Node, u: Node) -> list[str]:
    """The properties of both ``o`` and ``u`` whose required flag may have changed, in ``o``'s map order."""
    if not SKIP_IDENTICAL_PROPERTIES:
        return [name for name in _map_order(o.props) if name in u.props]
    old, new = o.prop_index(), u.prop_index()
    flipped = [name for name in old.required ^ new.required if name in old.keys and name in new.keys]
    return sorted(flipped, key=old.position.__getitem__)


def _changed_properties(o: Node, u: Node) -> list[str]:
    """The properties whose diff may be non-empty, in :func:`_union_order`: all but those
    on both sides with equal keys and no ``$ref`` (their diff is empty)."""
    if not SKIP_IDENTICAL_PROPERTIES:
        return _union_order(o.props, u.props)
    old, new = o.prop_index(), u.prop_index()
    old_keys, new_keys = old.keys, new.keys
    changed = [name for name, key in old_keys.items() if key is None or new_keys.get(name) != key]
    added = [name for name in new_keys if name not in old_keys]
    capacity = hashset_capacity(len(old_keys), len(old_keys) + len(added))

    def rank(name: str) -> tuple[int, int, int]:
        if name in old_keys:
            return java_bucket(name, capacity), 0, old.position[name]
        return java_bucket(name, capacity), 1, new.position[name]

    return sorted(changed + added, key=rank)


def _property(d: _Differ, out: list[Diff], o: Node, u: Node, name: str) -> None:
    path = ("properties", name)
    old, new = o.props.get(name), u.props.get(name)
    if old is not None and new is not None:
        d.at(out, path, old, new)
    elif new is None:
        if _is_open(u):
            out.append(("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", path))
            return
        cover = _object_cover(u, name)
        if cover is not None:
            _covered(d, out, path, "PROPERTY_REMOVED", old, cover)
        elif old is not None and old.kind == "false":
            out.append(("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", path))
        else:
            out.append(("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", path))
    else:
        required, defaulted = name in u.required, _has_default(new)
        if _is_open(o):
            if new.is_empty:
                kind = "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
            elif required:
                kind = "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL" if defaulted \
                    else "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
            else:
                kind = "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
            out.append((kind, path))
            return
        cover = _object_cover(o, name)
        if cover is not None:
            _covered(d, out, path, "PROPERTY_ADDED", cover, new)
        if required:
            kind = "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL" if defaulted \
                else "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
        else:
            kind = "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
        out.append((kind, path))


def _covered(d: _Differ, out: list[Diff], path: tuple[str, ...], prefix: str,
             old: Node | None, new: Node | None) -> None:
    sub = d.diff(old, new)
    out.extend(_prefixed(path, sub))
    status = "IS_COVERED" if d.ok(sub) else "NOT_COVERED"
    out.append((f"{prefix}_{status}_BY_PARTIALLY_OPEN_CONTENT_MODEL", path))


def _has_default(node: Node) -> bool:
    return node.default is not MISSING


def _is_open(node: Node) -> bool:
    return (not node.pattern_props and node.additional_schema is None and node.additional
            and (node.unevaluated is None or node.unevaluated.is_empty))


def _object_cover(node: Node, name: str) -> Node | None:
    for pattern, schema in node.pattern_props:
        if _search(pattern, name):
            return schema
    if node.additional_schema is not None:
        return node.additional_schema
    return _unevaluated_cover(node)


def _unevaluated_cover(node: Node) -> Node | None:
    uneval = node.unevaluated
    if node.additional and uneval is not None and uneval.kind != "false":
        return uneval
    return None


def _search(pattern: str, text: str) -> bool:
    """A schema's pattern, run by RE2 (linear time); one RE2 cannot run covers nothing."""
    return patterns.search(pattern, text)


def _dependencies(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    for name in _union_order(o.prop_deps, u.prop_deps):
        path = ("dependencies", name)
        old, new = o.prop_deps.get(name), u.prop_deps.get(name)
        if new is None:
            out.append(("DEPENDENCY_ARRAY_REMOVED", path))
        elif old is None:
            out.append(("DEPENDENCY_ARRAY_ADDED", path))
        elif old != new:
            kind = "EXTENDED" if new >= old else "NARROWED" if old >= new else "CHANGED"
            out.append((f"DEPENDENCY_ARRAY_{kind}", path))
    for name in _union_order(o.schema_deps, u.schema_deps):
        path = ("dependencies", name)
        old_s, new_s = o.schema_deps.get(name), u.schema_deps.get(name)
        if new_s is None:
            out.append(("DEPENDENCY_SCHEMA_REMOVED", path))
        elif old_s is None:
            out.append(("DEPENDENCY_SCHEMA_ADDED", path))
        else:
            d.at(out, path, old_s, new_s)


def _additional(d: _Differ, out: list[Diff], name: str, kind: str, o: Node, u: Node) -> None:
    path = (name,)
    if o.additional != u.additional:
        out.append((f"{kind}_ADDED" if u.additional else f"{kind}_REMOVED", path))
    elif o.additional_schema is None and u.additional_schema is not None:
        out.append((f"{kind}_NARROWED", path))
    elif u.additional_schema is None and o.additional_schema is not None:
        out.append((f"{kind}_EXTENDED", path))
    else:
        d.at(out, path, o.additional_schema, u.additional_schema)


def _unevaluated(d: _Differ, out: list[Diff], name: str, kind: str, old: Node | None, new: Node | None) -> None:
    if old is None and new is None:
        return
    path = (name,)
    if old is None:
        assert new is not None
        out.append((f"{kind}_REMOVED" if new.kind == "false" else f"{kind}_NARROWED", path))
    elif new is None:
        out.append((f"{kind}_ADDED" if old.kind == "false" else f"{kind}_EXTENDED", path))
    elif old.kind == "false" and new.kind != "false":
        out.append((f"{kind}_ADDED", path))
    elif old.kind != "false" and new.kind == "false":
        out.append((f"{kind}_REMOVED", path))
    elif old.is_empty and not new.is_empty:
        out.append((f"{kind}_NARROWED", path))
    elif new.is_empty and not old.is_empty:
        out.append((f"{kind}_EXTENDED", path))
    else:
        d.at(out, path, old, new)


def _array(d: _Differ, out: list[Diff], o: Node, u: Node) -> None:
    d.at(out, ("items",), o.all_items, u.all_items)
    old_items, new_items = o.items or [], u.items or []
    common = min(len(old_items), len(new_items))
    for i in range(common):
        d.at(out, (f"items/{i}",), old_items[i], new_items[i])
    for i in range(common, len(old_items)):
        _item_removed(d, out, (f"items/{i}",), old_items[i], u)
    for i in range(common, len(new_items)):
        _item_added(d, out, (f"items/{i}",), new_items[i], o)
    _additional(d, out, "additionalItems", "ADDITIONAL_ITEMS", o, u)
    _unevaluated(d, out, "unevaluatedItems", "UNEVALUATED_ITEMS", o.unevaluated, u.unevaluated)
    _limit(out, "maxItems", "MAX_ITEMS", o.max_items, u.max_items)
    _limit(out, "minItems", "MIN_ITEMS", o.min_items, u.min_items)
    if o.unique != u.unique:
        out.append(("UNIQUE_ITEMS_REMOVED" if o.unique else "UNIQUE_ITEMS_ADDED", ("uniqueItems",)))
    _limit(out, "maxContains", "MAX_CONTAINS", _contains(o, "max"), _contains(u, "max"))
    _limit(out, "minContains", "MIN_CONTAINS", _contains(o, "min"), _contains(u, "min"))


def _contains(node: Node, which: str) -> Any:
    value = getattr(node, f"{which}_contains")
    if value is None:
        value = node.unprocessed.get(f"{which}Contains")
    return value if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else None


def _item_removed(d: _Differ, out: list[Diff], path: tuple[str, ...], old: Node, u: Node) -> None:
    if _is_open(u):
        out.append(("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", path))
        return
    cover = _array_cover(u)
    if cover is not None:
        _covered(d, out, path, "ITEM_REMOVED", old, cover)
    elif old.kind == "false":
        out.append(("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", path))
    else:
        out.append(("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", path))


def _item_added(d: _Differ, out: list[Diff], path: tuple[str, ...], new: Node, o: Node) -> None:
    if _is_open(o):
        kind = "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" if new.is_empty \
            else "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
        out.append((kind, path))
        return
    cover = _array_cover(o)
    if cover is not None:
        _covered(d, out, path, "ITEM_ADDED", cover, new)
    else:
        out.append(("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", path))


def _array_cover(node: Node) -> Node | None:
    if node.additional_schema is not None:
        return node.additional_schema
    return _unevaluated_cover(node)


def _map_order(mapping: dict[str, Any]) -> list[str]:
    return java_order(list(mapping), hashmap_capacity(len(mapping)))


def _union_order(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Iteration order of Java's ``new HashSet<>(old.keySet())`` after ``addAll(new.keySet())``."""
    first = _map_order(old)
    keys = first + [k for k in _map_order(new) if k not in old]
    return java_order(keys, hashset_capacity(len(first), len(keys)))


_HANDLERS = {
    "string": _string,
    "number": _number,
    "enum": _enum,
    "const": _const,
    "not": _not,
    "combined": _combined,
    "object": _object,
    "array": _array,
}


_KEYWORD_ADDED = "The keyword at path '{p}' in the %1 schema is not present in the %2 schema"
_MORE = "The value at path '{p}' in the %1 schema is more than its value in the %2 schema"
_LESS = "The value at path '{p}' in the %1 schema is less than its value in the %2 schema"
_VALUE_CHANGED = "The value at path '{p}' is different between the %1 and %2 schema"
_FEWER = "An array or combined type at path '{p}' has fewer elements in the %1 schema than the %2 schema"
_MORE_ELEMENTS = "An array or combined type at path '{p}' has more elements in the %1 schema than the %2 schema"
_TYPE = "A type at path '{p}' is different between the %1 schema and the %2 schema"
_OPEN = ("The %1 schema has an open content model and has a property or item at path '{p}' "
         "which is missing in the %2 schema")
_UNOPEN = ("The %1 schema has an unopen content model and has a required property at path '{p}' "
           "which is missing in the %2 schema")
_CLOSED = "The %1 has a closed content model and is missing a property or item present at path '{p}' in the %2 schema"
_REMOVED_NOT_COVERED = ("A property or item is missing in the %1 schema but present at path '{p}' in the %2 schema "
                        "and is not covered by its partially open content model")
_ADDED_NOT_COVERED = ("The %1 schema has a property or item at path '{p}' which is missing in the %2 schema "
                      "and is not covered by its partially open content model")

_DESCRIPTIONS: dict[str, str] = {
    **{f"{k}_ADDED": _KEYWORD_ADDED for k in (
        "MAXIMUM", "MINIMUM", "EXCLUSIVE_MAXIMUM", "EXCLUSIVE_MINIMUM", "MULTIPLE_OF", "MAX_LENGTH",
        "MIN_LENGTH", "PATTERN", "REQUIRED_ATTRIBUTE", "MAX_PROPERTIES", "MIN_PROPERTIES",
        "DEPENDENCY_ARRAY", "DEPENDENCY_SCHEMA", "MAX_ITEMS", "MIN_ITEMS", "UNIQUE_ITEMS",
        "MAX_CONTAINS", "MIN_CONTAINS")},
    **{f"{k}_REMOVED": _KEYWORD_ADDED for k in (
        "ADDITIONAL_ITEMS", "ADDITIONAL_PROPERTIES", "UNEVALUATED_ITEMS", "UNEVALUATED_PROPERTIES")},
    **{f"{k}_INCREASED": _MORE for k in (
        "MIN_LENGTH", "MINIMUM", "EXCLUSIVE_MINIMUM", "MIN_PROPERTIES", "MIN_ITEMS", "MIN_CONTAINS")},
    "MULTIPLE_OF_EXPANDED": _MORE,
    **{f"{k}_DECREASED": _LESS for k in (
        "MAX_LENGTH", "MAXIMUM", "EXCLUSIVE_MAXIMUM", "MAX_PROPERTIES", "MAX_ITEMS", "MAX_CONTAINS")},
    **{k: _VALUE_CHANGED for k in ("PATTERN_CHANGED", "MULTIPLE_OF_CHANGED", "DEPENDENCY_ARRAY_CHANGED")},
    **{k: _FEWER for k in (
        "ADDITIONAL_ITEMS_NARROWED", "ADDITIONAL_PROPERTIES_NARROWED", "UNEVALUATED_ITEMS_NARROWED",
        "UNEVALUATED_PROPERTIES_NARROWED", "ENUM_ARRAY_NARROWED", "SUM_TYPE_NARROWED")},
    **{k: _MORE_ELEMENTS for k in (
        "DEPENDENCY_ARRAY_EXTENDED", "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "NOT_TYPE_EXTENDED")},
    **{k: _TYPE for k in (
        "TYPE_CHANGED", "TYPE_NARROWED", "COMBINED_TYPE_CHANGED", "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
        "ENUM_ARRAY_CHANGED")},
    **{k: _OPEN for k in (
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_ADDED_TO_OPEN_CONTENT_MODEL")},
    "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL": _UNOPEN,
    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL": _CLOSED,
    "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL": _CLOSED,
    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": _REMOVED_NOT_COVERED,
    "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": _REMOVED_NOT_COVERED,
    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": _ADDED_NOT_COVERED,
    "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": _ADDED_NOT_COVERED,
}


def template(difference: Difference) -> str:
    """Confluent's verbose message for a difference, with %1/%2 for the labels
    (the unbalanced closing quote is Confluent's)."""
    description = _DESCRIPTIONS.get(difference.type, "").format(p=difference.path)
    return f'{{errorType:"{difference.type}", description:"{description}\'}}'
