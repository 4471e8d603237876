"""The facts a store keeps, one record per change (the ``_schemas`` topic's model).

Every store replays these records into :class:`registry.state.RegistryState`;
the SQLite store keeps them in tables, the Kafka store as topic records.

A version (:class:`SchemaRecord`) holds its schema as a :class:`Content`: one
object per distinct schema, shared by every version holding it, its key and
guid derived once when it is made (or read back from the store that persisted
them), never again on a write or at start-up.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from ..formats.base import Reference


def _stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class ContentSource(Protocol):
    """Where a store keeps the text a content does not hold in memory."""

    def text(self, row: int) -> str:
        """The schema text stored under ``row``."""
        ...

    def peek(self, row: int) -> str:
        """:meth:`text`, not kept among the texts read lately: read for an answer, which is
        cached itself (reads of random ids would flush the texts checks read again and again)."""
        ...


class Content(NamedTuple):
    """One distinct schema: type, text, references, metadata and rule set.

    ``key`` is equal for registrations that must share one id within a context
    (SHA-256 over every field); ``text_key`` leaves out metadata and rule set
    (what a lookup compares; the same object as ``key`` when both are empty);
    ``guid_bytes`` is the content GUID. A store that keeps texts elsewhere sets
    ``source`` and ``row`` instead of ``text``. Contents are equal when their
    keys are."""

    schema_type: str
    references: tuple[Reference, ...]
    metadata: dict | None
    rule_set: dict | None
    key: bytes
    text_key: bytes
    guid_bytes: bytes
    text: str | None
    source: ContentSource | None = None
    row: int = 0

    @classmethod
    def of(
        cls,
        schema_type: str,
        schema: str,
        references: tuple[Reference, ...] = (),
        metadata: dict | None = None,
        rule_set: dict | None = None,
    ) -> Content:
        """The content of a schema, its keys and guid derived here."""
        metadata = metadata or None
        rule_set = rule_set or None
        key = content_key(schema_type, schema, references, metadata, rule_set)
        text_key = content_key(schema_type, schema, references, None, None) if metadata or rule_set else key
        return cls(
            schema_type, references, metadata, rule_set, key, text_key,
            guid_digest(schema, references, metadata, rule_set), schema,
        )

    @property
    def schema(self) -> str:
        """The schema text (read from the store when it is not held here)."""
        text = self.text
        if text is None:
            assert self.source is not None
            return self.source.text(self.row)
        return text

    def peek_schema(self) -> str:
        """:attr:`schema`, read without keeping it (:meth:`ContentSource.peek`)."""
        text = self.text
        if text is None:
            assert self.source is not None
            return self.source.peek(self.row)
        return text

    @property
    def guid(self) -> str:
        """The GUID as a UUID string (what ``str(uuid.UUID(bytes=...))`` gives, without the object)."""
        h = self.guid_bytes.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Content) and self.key == other.key

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Content({self.schema_type}, guid={self.guid})"


_NOTHING_ELSE = _utf8(_stable_json([[], None, None]))
"""The rest of a content with no references, metadata or rule set, as :func:`content_key` digests it."""


def content_key(
    schema_type: str, schema: str, references: tuple[Reference, ...], metadata: dict | None, rule_set: dict | None
) -> bytes:
    """SHA-256 over the type, the text and the stable JSON of the rest, each length-prefixed."""
    digest = hashlib.sha256()
    rest = (
        _utf8(_stable_json([[r.to_json() for r in references], metadata or None, rule_set or None]))
        if references or metadata or rule_set
        else _NOTHING_ELSE
    )
    for part in (_utf8(schema_type), _utf8(schema), rest):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def guid_digest(
    schema: str, references: tuple[Reference, ...], metadata: dict | None, rule_set: dict | None
) -> bytes:
    """The content GUID: the MD5 of the schema and its context (shown as a UUID)."""
    material = schema
    if references or metadata or rule_set:
        material += _stable_json([[r.to_json() for r in references], metadata or None, rule_set or None])
    return hashlib.md5(_utf8(material), usedforsecurity=False).digest()


def guid_bytes(guid: str) -> bytes | None:
    """The 16 bytes of a GUID as clients write it; None when it is not one."""
    try:
        return uuid.UUID(guid).bytes
    except ValueError:
        return None


class SchemaRecord(NamedTuple):
    """One version of a subject: what ``GET /subjects/{s}/versions/{v}`` serves."""

    subject: str
    version: int
    id: int
    content: Content
    deleted: bool = False
    ts: int = 0

    @classmethod
    def of(
        cls,
        subject: str,
        version: int,
        id: int,
        schema_type: str,
        schema: str,
        references: tuple[Reference, ...] = (),
        metadata: dict | None = None,
        rule_set: dict | None = None,
        *,
        deleted: bool = False,
        ts: int = 0,
    ) -> SchemaRecord:
        """A record over a new :class:`Content`."""
        return cls(subject, version, id, Content.of(schema_type, schema, references, metadata, rule_set), deleted, ts)

    @property
    def schema_type(self) -> str:
        return self.content.schema_type

    @property
    def schema(self) -> str:
        return self.content.schema

    @property
    def references(self) -> tuple[Reference, ...]:
        return self.content.references

    @property
    def metadata(self) -> dict | None:
        return self.content.metadata

    @property
    def rule_set(self) -> dict | None:
        return self.content.rule_set

    @property
    def content_key(self) -> bytes:
        return self.content.key

    @property
    def guid(self) -> str:
        return self.content.guid

    def soft_deleted(self) -> SchemaRecord:
        return self._replace(deleted=True)


@dataclass(frozen=True)
class SubjectVersions:
    """Every version of one subject, in version order: how a store that keeps its
    state in tables replays a subject in one step. Never appended to a store."""

    subject: str
    versions: list[SchemaRecord]


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
    SchemaRecord
    | SubjectVersions
    | SchemaTombstone
    | DeleteSubjectRecord
    | ClearSubjectRecord
    | ConfigRecord
    | ModeRecord
    | ContextRecord
    | KekRecord
    | KekTombstone
    | DekRecord
    | DekTombstone
)
