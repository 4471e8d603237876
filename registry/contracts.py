"""Shape checks for data-contract fields: ``metadata`` and ``ruleSet``.

Confluent deserialises these into typed Java objects, so a field of the wrong
JSON type is a 400; a rule set that is well typed but meaningless (no name,
an unknown kind or mode) is 42210.
"""

from __future__ import annotations

from typing import Any

from .errors import BadRequest, InvalidRuleSet

RULE_GROUPS = ("migrationRules", "domainRules", "encodingRules")
RULE_KINDS = frozenset({"TRANSFORM", "CONDITION"})
RULE_MODES = frozenset({"UPGRADE", "DOWNGRADE", "UPDOWN", "WRITE", "READ", "WRITEREAD"})
RULE_STRINGS = ("name", "doc", "kind", "mode", "type", "expr", "onSuccess", "onFailure")


def _fail(where: str, what: str) -> BadRequest:
    return BadRequest(f"Field '{where}' must be {what}")


def _string_list(value: Any, where: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, "a list of strings")


def _string_map(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _fail(where, "an object of strings")


def _non_empty(value: dict) -> dict | None:
    """Drop null and empty fields, as Confluent's ``NON_EMPTY`` serialisation does."""
    kept = {k: v for k, v in value.items() if v is not None and v != "" and v != [] and v != {}}
    return kept or None


def check_metadata(value: Any, where: str = "metadata") -> dict | None:
    """``{properties: {str: str}, tags: {str: [str]}, sensitive: [str]}``; 400 otherwise.

    Returns the metadata with empty fields dropped (None when nothing is left)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(where, "an object")
    if value.get("properties") is not None:
        _string_map(value["properties"], f"{where}.properties")
    if value.get("tags") is not None:
        tags = value["tags"]
        if not isinstance(tags, dict):
            raise _fail(f"{where}.tags", "an object of string lists")
        for path, names in tags.items():
            _string_list(names, f"{where}.tags.{path}")
    if value.get("sensitive") is not None:
        _string_list(value["sensitive"], f"{where}.sensitive")
    return _non_empty(value)


def check_rule_set(value: Any, where: str = "ruleSet") -> dict | None:
    """Rule groups of typed rules; 400 for wrong JSON types.

    Returns the rule set with empty fields dropped (None when nothing is left)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(where, "an object")
    for group in RULE_GROUPS:
        rules = value.get(group)
        if rules is None:
            continue
        if not isinstance(rules, list):
            raise _fail(f"{where}.{group}", "a list of rules")
        for index, rule in enumerate(rules):
            at = f"{where}.{group}[{index}]"
            if not isinstance(rule, dict):
                raise _fail(at, "an object")
            for name in RULE_STRINGS:
                if rule.get(name) is not None and not isinstance(rule[name], str):
                    raise _fail(f"{at}.{name}", "a string")
            if rule.get("tags") is not None:
                _string_list(rule["tags"], f"{at}.tags")
            if rule.get("params") is not None:
                _string_map(rule["params"], f"{at}.params")
            if rule.get("disabled") is not None and not isinstance(rule["disabled"], bool):
                raise _fail(f"{at}.disabled", "a boolean")
    if value.get("enableAt") is not None and not isinstance(value["enableAt"], str):
        raise _fail(f"{where}.enableAt", "a string")
    cleaned = dict(value)
    for group in RULE_GROUPS:
        if cleaned.get(group):
            cleaned[group] = [_non_empty(rule) or {} for rule in cleaned[group]]
    return normalize_rule_set(_non_empty(cleaned))


NAME_MAX_LENGTH = 256
MIGRATION_MODES = frozenset({"UPGRADE", "DOWNGRADE", "UPDOWN"})
DOMAIN_MODES = frozenset({"WRITE", "READ", "WRITEREAD"})
TWO_ACTION_MODES = frozenset({"WRITEREAD", "UPDOWN"})
_GROUP_MODES = {"migrationRules": (MIGRATION_MODES, "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN"),
                "domainRules": (DOMAIN_MODES, "Domain rules can only be WRITE, READ, WRITEREAD"),
                "encodingRules": (DOMAIN_MODES, "Encoding rules can only be WRITE, READ, WRITEREAD")}


def _check_rule_name(name: Any) -> None:
    """Confluent's ``Rule.validateName``: an identifier (letter or ``_``, then letters, digits, ``_``, ``-``)."""
    if name is None:
        raise InvalidRuleSet("Missing rule name")
    if not name:
        raise InvalidRuleSet("Empty rule name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidRuleSet("Rule name too long")
    if not (name[0].isalpha() or name[0] == "_"):
        raise InvalidRuleSet(f"Illegal initial character in rule name: {name}")
    if not all(c.isalnum() or c in "_-" for c in name[1:]):
        raise InvalidRuleSet(f"Illegal character in rule name: {name}")


def normalize_rule_set(rule_set: dict | None) -> dict | None:
    """Rules as Confluent stores them: a missing ``kind`` is TRANSFORM, a missing ``mode`` WRITEREAD;
    enum values in upper case (400 for one that is not a kind or a mode, as Jackson's binding)."""
    if rule_set is None:
        return None
    out = dict(rule_set)
    for group in RULE_GROUPS:
        rules = out.get(group)
        if not rules:
            continue
        normalized = []
        for rule in rules:
            rule = dict(rule)
            kind = str(rule.get("kind") or "TRANSFORM").upper()
            mode = str(rule.get("mode") or "WRITEREAD").upper()
            if kind not in RULE_KINDS:
                raise BadRequest(f"Field 'kind' must be one of {', '.join(sorted(RULE_KINDS))}, not {rule['kind']!r}")
            if mode not in RULE_MODES:
                raise BadRequest(f"Field 'mode' must be one of {', '.join(sorted(RULE_MODES))}, not {rule['mode']!r}")
            normalized.append(_ordered({**rule, "kind": kind, "mode": mode}))
        out[group] = normalized
    return out


_RULE_ORDER = ("name", "doc", "kind", "mode", "type", "tags", "params", "expr", "onSuccess", "onFailure", "disabled")


def _ordered(rule: dict) -> dict:
    """Confluent's field order (``Rule``'s properties), then anything else."""
    return {**{k: rule[k] for k in _RULE_ORDER if k in rule}, **{k: v for k, v in rule.items() if k not in _RULE_ORDER}}


def validate_rule_set(rule_set: dict | None) -> None:
    """Confluent's ``RuleSet.validate`` (42210): unique, well-formed names, a type, the modes each
    group allows, and two comma-separated actions only for WRITEREAD and UPDOWN rules."""
    if rule_set is None:
        return
    names: set[str] = set()
    for group in RULE_GROUPS:
        modes, wrong_mode = _GROUP_MODES[group]
        for rule in rule_set.get(group) or []:
            name = rule.get("name")
            if name in names:
                raise InvalidRuleSet(f"Found rule with duplicate name '{name}'")
            names.add(name)
            _check_rule_name(name)
            if not rule.get("type"):
                raise InvalidRuleSet("Missing rule type")
            mode = str(rule.get("mode") or "WRITEREAD").upper()
            for action in (rule.get("onSuccess"), rule.get("onFailure")):
                if action and "," in action and mode not in TWO_ACTION_MODES:
                    raise InvalidRuleSet("Multiple actions only valid with WRITEREAD and UPDOWN")
            if mode not in modes:
                raise InvalidRuleSet(wrong_mode)


def merge_metadata(old: dict | None, new: dict | None) -> dict | None:
    """Confluent's ``Metadata.mergeMetadata``: tags and properties key by key (new wins), sensitive united."""
    if not old:
        return new
    if not new:
        return old
    merged: dict[str, Any] = {}
    for name in ("tags", "properties"):
        a, b = old.get(name) or {}, new.get(name) or {}
        value = dict(sorted({**a, **b}.items())) if a and b else (b or a)
        if value:
            merged[name] = value
    sensitive = sorted(set(old.get("sensitive") or ()) | set(new.get("sensitive") or ()))
    if sensitive:
        merged["sensitive"] = sensitive
    return merged or None


def merge_rule_sets(old: dict | None, new: dict | None) -> dict | None:
    """Confluent's ``RuleSet.mergeRuleSets``: per group, the old rules not named in the new ones, then
    the new ones; ``enableAt`` from the new set when it has one."""
    if not old:
        return new
    if not new:
        return old
    merged: dict[str, Any] = {}
    for group in RULE_GROUPS:
        a, b = old.get(group) or [], new.get(group) or []
        if a and b:
            names = {rule.get("name") for rule in b}
            value = [rule for rule in a if rule.get("name") not in names] + list(b)
        else:
            value = b or a
        if value:
            merged[group] = value
    enable_at = new.get("enableAt") or old.get("enableAt")
    if enable_at:
        merged["enableAt"] = enable_at
    return merged or None
