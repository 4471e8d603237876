"""The facts a store keeps, one record per change (the ``_schemas`` topic's model).

Every store replays these records into :class:`registry.state.RegistryState`;
the SQLite store keeps them in tables, the Kafka store as topic records.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..formats.base import Reference


def _stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, eq=False)
class SchemaRecord:
    """One version of a subject: what ``GET /subjects/{s}/versions/{v}`` serves."""

    subject: str
    version: int
    id: int
    schema_type: str
    schema: str
    references: tuple[Reference, ...] = ()
    metadata: dict | None = None
    rule_set: dict | None = None
    deleted: bool = False
    ts: int = 0

    @property
    def content_key(self) -> str:
        """Equal for registrations that must share one id within a context."""
        return content_key(self.schema_type, self.schema, self.references, self.metadata, self.rule_set)

    @property
    def guid(self) -> str:
        return content_guid(self.schema, self.references, self.metadata, self.rule_set)


def content_key(
    schema_type: str, schema: str, references: tuple[Reference, ...], metadata: dict | None, rule_set: dict | None
) -> str:
    return _stable_json(
        [schema_type, schema, [r.to_json() for r in references], metadata or None, rule_set or None]
    )


def content_guid(
    schema: str, references: tuple[Reference, ...], metadata: dict | None, rule_set: dict | None
) -> str:
    """A content-derived GUID: the MD5 of the schema and its context, shown as a UUID."""
    material = schema
    if references or metadata or rule_set:
        material += _stable_json([[r.to_json() for r in references], metadata or None, rule_set or None])
    return str(uuid.UUID(bytes=hashlib.md5(material.encode("utf-8"), usedforsecurity=False).digest()))


@dataclass(frozen=True)
class SchemaTombstone:
    """A version hard-deleted (``permanent=true``)."""

    subject: str
    version: int


@dataclass(frozen=True)
class DeleteSubjectRecord:
    """A subject soft-deleted: every version up to ``version`` is marked deleted."""

    subject: str
    version: int


@dataclass(frozen=True)
class ClearSubjectRecord:
    """Drop the soft-deleted versions of a subject (entering IMPORT mode)."""

    subject: str


@dataclass(frozen=True, eq=False)
class ConfigRecord:
    """Config for a subject, a context (``:.ctx:``), the default context ("")
    or the true global scope (``:.__GLOBAL:``); ``config=None`` deletes it."""

    key: str
    config: dict | None = field(default=None)


@dataclass(frozen=True)
class ModeRecord:
    """Mode for a subject or scope, keyed as :class:`ConfigRecord`; ``None`` deletes it."""

    key: str
    mode: str | None


@dataclass(frozen=True)
class ContextRecord:
    """The first write into a non-default context, or (``deleted``) its removal."""

    context: str
    deleted: bool = False


@dataclass(frozen=True, eq=False)
class KekRecord:
    """A key encryption key of the DEK Registry (Confluent's ``KeyEncryptionKey``)."""

    name: str
    kms_type: str
    kms_key_id: str
    kms_props: dict = field(default_factory=dict)
    doc: str | None = None
    shared: bool = False
    deleted: bool = False
    ts: int = 0


@dataclass(frozen=True)
class KekTombstone:
    """A KEK permanently deleted."""

    name: str


@dataclass(frozen=True)
class DekRecord:
    """A data encryption key version (Confluent's ``DataEncryptionKey``), wrapped by its KEK."""

    kek_name: str
    subject: str
    algorithm: str
    version: int
    encrypted_key_material: str | None
    deleted: bool = False
    ts: int = 0


@dataclass(frozen=True)
class DekTombstone:
    """A DEK version permanently deleted."""

    kek_name: str
    subject: str
    algorithm: str
    version: int


KeyRecord = KekRecord | KekTombstone | DekRecord | DekTombstone
"""DEK Registry records (Confluent keeps them in their own topic, ``_dek_registry_keys``)."""

Record = (
    SchemaRecord | SchemaTombstone | DeleteSubjectRecord | ClearSubjectRecord | ConfigRecord | ModeRecord | ContextRecord
    | KekRecord | KekTombstone | DekRecord | DekTombstone
)
