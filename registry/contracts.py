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
    return _non_empty(cleaned)


def validate_rule_set(rule_set: dict | None) -> None:
    """Reject a rule set whose rules lack a name, a known kind or mode, or a type (42210)."""
    if rule_set is None:
        return
    names: set[str] = set()
    for group in RULE_GROUPS:
        for rule in rule_set.get(group) or []:
            name = rule.get("name")
            if not name:
                raise InvalidRuleSet(f"Invalid rule set: every rule in {group} needs a name")
            if name in names:
                raise InvalidRuleSet(f"Invalid rule set: duplicate rule name {name}")
            names.add(name)
            if str(rule.get("kind", "")).upper() not in RULE_KINDS:
                raise InvalidRuleSet(f"Invalid rule set: rule {name} has an invalid kind")
            if str(rule.get("mode", "")).upper() not in RULE_MODES:
                raise InvalidRuleSet(f"Invalid rule set: rule {name} has an invalid mode")
            if not rule.get("type"):
                raise InvalidRuleSet(f"Invalid rule set: rule {name} needs a type")
