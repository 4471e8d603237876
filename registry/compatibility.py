"""Compatibility checking across versions: levels, which versions, messages.

The format engines answer one question, "can this reader read data written
with that writer?" (:meth:`ParsedSchema.incompatibilities`). This module
turns a level into those questions and assembles Confluent's messages
(``compat-rules.md`` §0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .formats.base import ParsedSchema

OLD_SCHEMA_LIMIT = 10 * 1024


@dataclass(frozen=True)
class PreviousVersion:
    version: int
    schema: ParsedSchema
    text: str


@dataclass(frozen=True)
class CompatibilityResult:
    is_compatible: bool
    messages: list[str]


def _old_schema_message(text: str) -> str:
    if len(text.encode("utf-8")) > OLD_SCHEMA_LIMIT:
        return "{oldSchema: <truncated> '...'}"
    return f"{{oldSchema: '{text}'}}"


def check_pair(
    new: ParsedSchema,
    old: PreviousVersion,
    level: str,
    *,
    policy: str = "STRICT",
    validate_fields: bool = False,
) -> list[str]:
    """Messages for ``new`` against one previous version; empty when compatible."""
    base = level.replace("_TRANSITIVE", "")
    trailer = f"{{validateFields: '{str(validate_fields).lower()}', compatibility: '{level}'}}"
    if base == "NONE":
        return []
    if new.schema_type != old.schema.schema_type:
        return ["Incompatible because of different schema type", trailer]
    messages: list[str] = []
    if base in ("FORWARD", "FULL"):
        messages += [i.render("old", "new") for i in old.schema.incompatibilities(new, policy)]
    if base in ("BACKWARD", "FULL"):
        backward = [i.render("new", "old") for i in new.incompatibilities(old.schema, policy)]
        if backward:
            messages += backward
            messages.append(f"{{oldSchemaVersion: {old.version}}}")
            messages.append(_old_schema_message(old.text))
    if messages:
        messages.append(trailer)
    return messages


def check(
    new: ParsedSchema,
    previous: Sequence[PreviousVersion],
    level: str,
    *,
    policy: str = "STRICT",
    validate_fields: bool = False,
) -> CompatibilityResult:
    """Check ``new`` against ``previous`` (newest first) under ``level``.

    A non-transitive level looks at the newest version only; a transitive
    one walks newest → oldest and stops at the first failing version.
    """
    candidates = list(previous) if level.endswith("_TRANSITIVE") else list(previous[:1])
    for old in candidates:
        messages = check_pair(new, old, level, policy=policy, validate_fields=validate_fields)
        if messages:
            return CompatibilityResult(False, messages)
    return CompatibilityResult(True, [])


def check_texts(
    schema_type: str,
    new: str,
    previous: Sequence[str],
    level: str,
    *,
    dependencies: Sequence = (),
    policy: str = "STRICT",
    normalize: bool = False,
) -> CompatibilityResult:
    """The engines without a registry: check ``new`` against ``previous``
    (oldest first, numbered as versions 1..n) under ``level``.

    ``dependencies`` are :class:`registry.formats.Dependency` objects for the
    references of every schema. Raises
    :class:`registry.formats.InvalidSchemaError` for an unparseable schema.
    """
    from .formats import parse_schema

    parsed_new = parse_schema(schema_type, new, dependencies)
    if normalize:
        parsed_new = parsed_new.normalized()
    olds = [
        PreviousVersion(number, parse_schema(schema_type, text, dependencies, strict=False), text)
        for number, text in enumerate(previous, start=1)
    ]
    return check(parsed_new, list(reversed(olds)), level.upper(), policy=policy)
