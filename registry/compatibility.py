"""Compatibility checking across versions: levels, which versions, messages.

The format engines answer one question, "can this reader read data written
with that writer?" (:meth:`ParsedSchema.incompatibilities`). This module
turns a level into those questions and assembles Confluent's messages
(``compat-rules.md`` §0), as Confluent's ``SchemaValidatorBuilder`` and
``AbstractSchemaRegistry.isCompatibleWithPrevious`` do:

- BACKWARD: the new-reads-old errors, then ``{oldSchemaVersion: N}`` and
  ``{oldSchema: '...'}``;
- FORWARD: the old-reads-new errors, then the same two entries;
- FULL: the old-reads-new errors (without the two entries), then the
  new-reads-old errors with them;
- a previous version of another schema type gives only
  ``Incompatible because of different schema type`` for that version;
- with ``validateFields`` the ``confluent:reserved`` messages come first;
- when anything failed, ``{validateFields: '<bool>', compatibility: '<LEVEL>'}`` last.

Engine verdicts for a (reader, writer, policy) pair are cached by content
(:func:`pair_incompatibilities`), so a transitive check re-run against a long
history only runs the engines for pairs it has not seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import deadline
from .bounded import BoundedCache
from .formats.base import Incompatibility, ParsedSchema

OLD_SCHEMA_LIMIT = 10 * 1024  # Java characters (UTF-16 code units)
DIFFERENT_SCHEMA_TYPE = "Incompatible because of different schema type"
RESERVED = "confluent:reserved"
RESERVED_FIELD_REMOVED = (
    "The new schema has reserved field %s removed from its metadata which is present in the old schema's metadata."
)
FIELD_CONFLICTS_WITH_RESERVED_FIELD = "The new schema has field that conflicts with the reserved field %s."
PAIR_CACHE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class PreviousVersion:
    version: int | None
    schema: ParsedSchema
    text: str
    metadata: dict | None = None


@dataclass(frozen=True)
class Finding:
    """One message of a verdict and, when an engine found it, the incompatibility behind it:
    its location is in the ``reader`` schema ("new" or "old"), checked against ``version``."""

    message: str
    incompatibility: Incompatibility | None = None
    reader: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class CompatibilityResult:
    is_compatible: bool
    messages: list[str]
    findings: list[Finding] = field(default_factory=list)  # the messages, with what each is about


# -- the engines, memoised by content ------------------------------------------

_pair_cache: BoundedCache[tuple[Incompatibility, ...]] = BoundedCache(PAIR_CACHE_BYTES)
_FINGERPRINT_ATTR = "_schemahub_compat_fingerprint"


def fingerprint(schema: ParsedSchema, text: str | None = None) -> str:
    """A digest of everything a verdict depends on: the schema type, the text
    and, recursively, the referenced schemas by name.

    The text is the canonical string, or ``text`` when the caller has the text
    the schema was parsed from (a stored version: saves rendering it). Either
    identifies the content: equal keys mean equal schemas; the same schema
    under two keys only costs a cache miss. Computed once per object.
    """
    found = getattr(schema, _FINGERPRINT_ATTR, None)
    if found is not None:
        return found
    digest = hashlib.sha256()
    digest.update(schema.schema_type.encode())
    digest.update(b"\0")
    digest.update((schema.canonical_string() if text is None else text).encode("utf-8", "surrogatepass"))
    for dep in schema.dependencies:
        digest.update(b"\0ref\0")
        digest.update(dep.name.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
        digest.update(fingerprint(dep.schema).encode())
    value = digest.hexdigest()
    try:
        setattr(schema, _FINGERPRINT_ATTR, value)
    except AttributeError:  # a schema class with __slots__: just recompute next time
        pass
    return value


def pair_incompatibilities(reader: ParsedSchema, writer: ParsedSchema, policy: str = "STRICT") -> list[Incompatibility]:
    """``reader.incompatibilities(writer, policy)``, cached by content (bounded LRU)."""
    key = (fingerprint(reader), fingerprint(writer), policy)
    cached = _pair_cache.get(key)
    if cached is not None:
        return list(cached)
    deadline.check()  # between versions of a long transitive check
    found = tuple(reader.incompatibilities(writer, policy))
    size = sum(len(i.error_type) + len(i.location) + len(i.template) + 100 for i in found) + 140
    _pair_cache.put(key, found, size)
    return list(found)


def clear_cache() -> None:
    """Forget every cached engine verdict (tests and benchmarks)."""
    _pair_cache.clear()


def cache_size() -> int:
    return len(_pair_cache)


# -- message assembly -----------------------------------------------------------


def _java_length(text: str) -> int:
    """``String.length()`` in Java: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _java_prefix(text: str, units: int) -> str:
    """The first ``units`` UTF-16 code units of ``text`` (a split surrogate pair is dropped)."""
    out = []
    used = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > units:
            break
        out.append(ch)
        used += width
    return "".join(out)


def old_schema_message(text: str) -> str:
    """``{oldSchema: '<text>'}``; above 10 KiB Java characters, the first 10 240 and ``...``."""
    if _java_length(text) <= OLD_SCHEMA_LIMIT:
        return f"{{oldSchema: '{text}'}}"
    return f"{{oldSchema: <truncated> '{_java_prefix(text, OLD_SCHEMA_LIMIT)}...'}}"


def trailer(level: str, validate_fields: bool) -> str:
    return f"{{validateFields: '{str(bool(validate_fields)).lower()}', compatibility: '{level}'}}"


def _with_old_schema(findings: list[Finding], old: PreviousVersion) -> list[Finding]:
    if findings:
        if old.version is not None:
            findings.append(Finding(f"{{oldSchemaVersion: {old.version}}}", version=old.version))
        findings.append(Finding(old_schema_message(old.text), version=old.version))
    return findings


def _found(found: list[Incompatibility], reader: str, old: PreviousVersion) -> list[Finding]:
    writer = "old" if reader == "new" else "new"
    return [Finding(i.render(reader, writer), i, reader, old.version) for i in found]


def pair_findings(new: ParsedSchema, old: PreviousVersion, level: str, *, policy: str = "STRICT") -> list[Finding]:
    """:func:`pair_messages` with the incompatibility behind each message."""
    base = level.replace("_TRANSITIVE", "")
    if base == "NONE":
        return []
    if new.schema_type != old.schema.schema_type:
        return [Finding(DIFFERENT_SCHEMA_TYPE, version=old.version)]
    fingerprint(old.schema, old.text)
    if base == "BACKWARD":
        return _with_old_schema(_found(pair_incompatibilities(new, old.schema, policy), "new", old), old)
    if base == "FORWARD":
        return _with_old_schema(_found(pair_incompatibilities(old.schema, new, policy), "old", old), old)
    if base == "FULL":
        forward = _found(pair_incompatibilities(old.schema, new, policy), "old", old)
        backward = _found(pair_incompatibilities(new, old.schema, policy), "new", old)
        return forward + _with_old_schema(backward, old)
    raise ValueError(f"unknown compatibility level {level}")


def pair_messages(new: ParsedSchema, old: PreviousVersion, level: str, *, policy: str = "STRICT") -> list[str]:
    """Messages for ``new`` against one previous version, without the trailer; empty when compatible."""
    return [f.message for f in pair_findings(new, old, level, policy=policy)]


# -- confluent:reserved (validateFields) ------------------------------------------


def _java_string_hash(text: str) -> int:
    """``String.hashCode()`` as an unsigned 32-bit value."""
    data = text.encode("utf-16-be", "surrogatepass")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def java_hash_set_order(items: Iterable[str]) -> list[str]:
    """The iteration order of a ``java.util.HashSet<String>`` filled with ``items``
    (what ``Collectors.toSet()`` gives Confluent's ``getReservedFields``)."""
    unique: list[str] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    capacity = 16
    while len(unique) > capacity * 3 // 4:
        capacity *= 2

    def bucket(item: str) -> int:
        h = _java_string_hash(item)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(unique, key=bucket)  # stable: insertion order within a bucket


def reserved_fields(metadata: dict | None) -> list[str]:
    """The ``confluent:reserved`` metadata property: a comma list, trimmed, empties dropped."""
    properties = (metadata or {}).get("properties") or {}
    value = properties.get(RESERVED) if isinstance(properties, dict) else None
    if not isinstance(value, str):
        return []
    return java_hash_set_order(part.strip() for part in value.split(",") if part.strip())


def reserved_field_messages(
    new: ParsedSchema, new_metadata: dict | None, latest_metadata: dict | None, *, has_latest: bool
) -> list[str]:
    """Confluent's ``validateReservedFields``: reserved fields the latest version had and
    the new metadata dropped, then reserved fields the new schema uses as top-level fields."""
    messages = []
    updated = reserved_fields(new_metadata)
    if has_latest:
        messages += [RESERVED_FIELD_REMOVED % f for f in reserved_fields(latest_metadata) if f not in updated]
    messages += [FIELD_CONFLICTS_WITH_RESERVED_FIELD % f for f in updated if new.has_top_level_field(f)]
    return messages


# -- the level over the versions --------------------------------------------------

_LATEST = object()


def check(
    new: ParsedSchema,
    previous: Sequence[PreviousVersion],
    level: str,
    *,
    policy: str = "STRICT",
    validate_fields: bool = False,
    new_metadata: dict | None = None,
    latest: Any = _LATEST,
) -> CompatibilityResult:
    """Check ``new`` against ``previous`` (newest first) under ``level``.

    A non-transitive level looks at the newest version only; a transitive
    one walks newest → oldest and stops at the first failing version.
    With ``validate_fields`` the ``confluent:reserved`` rules run first,
    against ``latest`` (the subject's latest live version, before any
    ``compatibilityGroup`` filtering; by default ``previous[0]``).
    """
    findings: list[Finding] = []
    if validate_fields:
        holder = (previous[0] if previous else None) if latest is _LATEST else latest
        findings += [
            Finding(m)
            for m in reserved_field_messages(
                new, new_metadata, holder.metadata if holder else None, has_latest=holder is not None
            )
        ]
    candidates = list(previous) if level.endswith("_TRANSITIVE") else list(previous[:1])
    for old in candidates:
        found = pair_findings(new, old, level, policy=policy)
        if found:
            findings += found
            break
    if findings:
        findings.append(Finding(trailer(level, validate_fields)))
        return CompatibilityResult(False, [f.message for f in findings], findings)
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
    ``{oldSchema: ...}`` carries the old schema's canonical string, as the
    registry stores it.
    """
    from .formats import parse_schema

    parsed_new = parse_schema(schema_type, new, dependencies)
    if normalize:
        parsed_new = parsed_new.normalized()
    olds = []
    for number, text in enumerate(previous, start=1):
        parsed = parse_schema(schema_type, text, dependencies, strict=False)
        olds.append(PreviousVersion(number, parsed, parsed.canonical_string()))
    return check(parsed_new, list(reversed(olds)), level.upper(), policy=policy)
