"""The JSON Schema diff's structural shortcut: the object diff visits only the
properties whose diff can be non-empty (absent on a side, a changed key, or a
``$ref`` inside), so identical properties must yield nothing in every context
(open, partially open or closed content models, combined schemas, changed
``$ref`` targets, recursion) and the emission order must stay Java's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry.formats import json_compat
from registry.formats.jsonschema import JsonSchemaFormat

FORMAT = JsonSchemaFormat()
SAME = {"type": "string", "maxLength": 5}
INT = {"type": "integer"}


def _object(props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, **extra}


def _node(props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A recursive schema: ``#/definitions/n`` with a ``next`` property pointing at itself."""
    return {"$ref": "#/definitions/n",
            "definitions": {"n": _object({"next": {"$ref": "#/definitions/n"}, **props}, **extra)}}


def _ref_to(definition: dict[str, Any]) -> dict[str, Any]:
    return _object({"a": {"$ref": "#/definitions/d"}, "b": SAME}, definitions={"d": definition})


def _not_ref() -> dict[str, Any]:
    return _object({"a": {"not": {"$ref": "#/definitions/d"}}, "b": {"not": {"type": "string"}}},
                   definitions={"d": {"type": "string"}})


CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str, list[str]]] = {
    "closed to open": (
        _object({"a": SAME, "b": INT}, additionalProperties=False), _object({"a": SAME, "c": INT}), "STRICT",
        ["PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/b",
         "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/c",
         "ADDITIONAL_PROPERTIES_ADDED #/additionalProperties"]),
    "open to closed": (
        _object({"a": SAME, "b": INT}), _object({"a": SAME, "c": INT}, additionalProperties=False), "STRICT",
        ["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/b",
         "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/c",
         "ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties"]),
    "partially open": (
        _object({"a": SAME, "b": INT}, patternProperties={"^c": {"type": "string"}}),
        _object({"a": SAME, "c": INT}, patternProperties={"^b": {"type": "string"}}), "STRICT",
        ["TYPE_CHANGED #/properties/b",
         "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b",
         "TYPE_CHANGED #/properties/c",
         "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/c",
         "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/c"]),
    "required flags of identical properties": (
        _object({"a": SAME, "b": {**INT, "default": 1}, "c": SAME}, required=["a"]),
        _object({"a": SAME, "b": {**INT, "default": 1}, "c": SAME}, required=["b", "c"]), "STRICT",
        ["REQUIRED_ATTRIBUTE_REMOVED #/required/a", "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED #/required/b",
         "REQUIRED_ATTRIBUTE_ADDED #/required/c"]),
    "combined, criterion changed": (
        {"anyOf": [_object({"a": SAME}), {"type": "string"}]},
        {"oneOf": [{"type": "string"}, _object({"a": SAME})]}, "STRICT",
        ["COMBINED_TYPE_CHANGED #/"]),
    "combined, bipartite matching (STRICT)": (
        {"anyOf": [_object({"a": SAME, "x": {"type": "string"}}), _object({"a": SAME})]},
        {"anyOf": [_object({"a": SAME}), _object({"a": SAME, "x": INT})]}, "STRICT",
        ["PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/anyOf/0/properties/x", "COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"]),
    "combined, bipartite matching (LENIENT)": (
        {"anyOf": [_object({"a": SAME}), _object({"a": SAME, "x": INT})]},
        {"anyOf": [_object({"a": SAME, "x": {"type": "string"}}), _object({"a": SAME})]}, "LENIENT",
        ["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/anyOf/0/properties/x",
         "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/anyOf/1/properties/x"]),
    "$ref to a changed definition": (
        _ref_to({"type": "string"}), _ref_to(INT), "STRICT", ["TYPE_CHANGED #/properties/a"]),
    "identical not over a $ref": (_not_ref(), _not_ref(), "STRICT", ["NOT_TYPE_NARROWED #/properties/a/not"]),
    "recursive $ref, a sibling changed": (
        _node({"v": {"type": "string"}, "w": SAME}), _node({"v": INT, "w": SAME}), "STRICT",
        ["TYPE_CHANGED #/properties/next/properties/v", "TYPE_CHANGED #/properties/v"]),
    "recursive $ref, closed (STRICT)": (
        _node({"w": SAME}), _node({"w": SAME}, additionalProperties=False), "STRICT",
        ["ADDITIONAL_PROPERTIES_REMOVED #/properties/next/additionalProperties",
         "ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties"]),
    "recursive $ref, closed (LENIENT)": (
        _node({"w": SAME}), _node({"w": SAME}, additionalProperties=False), "LENIENT",
        ["ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties"]),
    "recursive $ref, opened": (
        _node({"w": SAME}, additionalProperties=False), _node({"w": SAME}), "STRICT",
        ["ADDITIONAL_PROPERTIES_ADDED #/additionalProperties"]),
}


def _wide(changes: dict[str, Any], drop: tuple[str, ...] = (), required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A 40-property object; ``changes`` replace or add properties, ``drop`` removes some."""
    props: dict[str, Any] = {f"p{n}": SAME if n % 2 else INT for n in range(40)}
    props.update(changes)
    return _object({k: v for k, v in props.items() if k not in drop}, required=list(required))


CASES["wide object: changed, added, removed and required, in Java's order"] = (
    _wide({"p3": {"type": "string"}, "zz": INT}, drop=("p20",), required=("p7", "p8")),
    _wide({"p3": INT, "p31": {"type": "string", "maxLength": 4}, "new1": SAME, "q": SAME},
          drop=("p11",), required=("p8", "p9", "q")), "STRICT",
    ["REQUIRED_ATTRIBUTE_REMOVED #/required/p7", "REQUIRED_ATTRIBUTE_ADDED #/required/p9",
     "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/zz",
     "TYPE_CHANGED #/properties/p3",
     "MAX_LENGTH_DECREASED #/properties/p31/maxLength",
     "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/p11",
     "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/new1",
     "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/p20",
     "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/q"])


def _differences(original: dict[str, Any], update: dict[str, Any], policy: str) -> list[str]:
    old = FORMAT.parse(json.dumps(original), strict=False)
    new = FORMAT.parse(json.dumps(update), strict=False)
    return [str(d) for d in json_compat.compare(old.model, new.model, policy)]


@pytest.fixture(params=[True, False], ids=["shortcut", "no-shortcut"])
def shortcut(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Runs a test with the identical-property shortcut on, then off."""
    monkeypatch.setattr(json_compat, "SKIP_IDENTICAL_PROPERTIES", request.param)
    return request.param


@pytest.mark.parametrize("name", list(CASES))
def test_exact_differences(name: str, shortcut: bool) -> None:
    original, update, policy, expected = CASES[name]
    assert _differences(original, update, policy) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_shortcut_matches_full_walk_both_ways_and_policies(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    original, update, _, _ = CASES[name]
    for old, new in ((original, update), (update, original)):
        for policy in ("STRICT", "LENIENT"):
            fast = _differences(old, new, policy)
            monkeypatch.setattr(json_compat, "SKIP_IDENTICAL_PROPERTIES", False)
            full = _differences(old, new, policy)
            monkeypatch.setattr(json_compat, "SKIP_IDENTICAL_PROPERTIES", True)
            assert fast == full, (policy, old, new)


def test_shortcut_visits_only_properties_that_can_differ() -> None:
    def model(props: dict[str, Any]) -> Any:
        return FORMAT.parse(json.dumps(_object(props, definitions={"d": INT}))).model

    ref = {"$ref": "#/definitions/d"}
    old = model({"same": SAME, "changed": SAME, "removed": SAME, "ref": ref})
    new = model({"same": SAME, "changed": INT, "added": SAME, "ref": ref})
    assert sorted(json_compat._changed_properties(old, new)) == ["added", "changed", "ref", "removed"]
    assert json_compat._shared_properties(old, new) == []
