"""Compatibility levels, modes and the config/mode lookup chains.

Config and mode are kept per key: a qualified subject, a context (``:.ctx:``),
the default context's global scope (``""``) or the true global scope
(``:.__GLOBAL:``). A subject's effective value is the first one found walking
subject → its context (the global scope for the default context) → true
global → the server default.
"""

from __future__ import annotations

from .errors import InvalidCompatibilityLevel, InvalidMode
from .subjects import DEFAULT_CONTEXT, GLOBAL_CONTEXT, parse_subject

LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT", "FORWARD")
DEFAULT_LEVEL = "BACKWARD"
DEFAULT_MODE = "READWRITE"
GLOBAL_KEY = ""
TRUE_GLOBAL_KEY = f":{GLOBAL_CONTEXT}:"

# Config fields as GET answers them, in Confluent's order.
CONFIG_FIELDS = (
    "alias",
    "normalize",
    "validateFields",
    "validateRules",
    "compatibilityLevel",
    "compatibilityGroup",
    "defaultMetadata",
    "overrideMetadata",
    "defaultRuleSet",
    "overrideRuleSet",
    "compatibilityPolicy",
)


def parse_level(value: object) -> str:
    if not isinstance(value, str) or value.strip().upper() not in LEVELS:
        raise InvalidCompatibilityLevel()
    return value.strip().upper()


def parse_mode(value: object) -> str:
    if not isinstance(value, str) or value.strip().upper() not in MODES:
        raise InvalidMode()
    return value.strip().upper()


def config_key(subject: str | None) -> str:
    """The store key for config or mode addressed by ``subject`` (None = global)."""
    if subject is None:
        return GLOBAL_KEY
    qs = parse_subject(subject)
    if qs.is_context_only:
        if qs.context == DEFAULT_CONTEXT:
            return GLOBAL_KEY
        return f":{qs.context}:"
    return qs.qualified


def lookup_chain(subject: str | None) -> list[str]:
    """The keys consulted, most specific first, for ``subject`` (None = global)."""
    key = config_key(subject)
    chain = [key]
    if subject is not None:
        qs = parse_subject(subject)
        context_key = GLOBAL_KEY if qs.context == DEFAULT_CONTEXT else f":{qs.context}:"
        if context_key not in chain:
            chain.append(context_key)
    if TRUE_GLOBAL_KEY not in chain:
        chain.append(TRUE_GLOBAL_KEY)
    return chain


def effective(values: dict, subject: str | None, default: object) -> object:
    for key in lookup_chain(subject):
        if key in values:
            return values[key]
    return default
