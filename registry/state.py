"""The in-memory state: the replay of every store record, indexed for reads.

Reads never touch the store. Each record is applied by the store (at start
and after each durable write); the indexes kept here answer by-id, latest,
lookup-by-content and reference questions in constant time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from .bounded import BoundedCache, strings_size
from .stores.records import (
    ClearSubjectRecord,
    ConfigRecord,
    ContextRecord,
    DekRecord,
    DekTombstone,
    DeleteSubjectRecord,
    KekRecord,
    KekTombstone,
    ModeRecord,
    Record,
    SchemaRecord,
    SchemaTombstone,
)
from .subjects import DEFAULT_CONTEXT, context_of, resolve_reference_subject

RESPONSE_CACHE_BYTES = 32 * 1024 * 1024
RESPONSE_CACHE_ITEM_BYTES = 1024 * 1024


@dataclass
class Subject:
    """The versions of one subject, soft-deleted ones included.

    Reads run on the event loop while records are applied from worker
    threads, so every read iterates over a snapshot (``list(...)``/``sorted``),
    never over a live dict."""

    name: str
    versions: dict[int, SchemaRecord] = field(default_factory=dict)

    def live(self) -> list[SchemaRecord]:
        return [r for r in self.all() if not r.deleted]

    def all(self) -> list[SchemaRecord]:
        return [r for _, r in sorted(self.versions.items())]

    def latest_live(self) -> SchemaRecord | None:
        live = self.live()
        return live[-1] if live else None

    def has_live(self) -> bool:
        return any(not r.deleted for r in list(self.versions.values()))


class RegistryState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.subjects: dict[str, Subject] = {}
        # (context, id) -> every (subject, version) using that id
        self.id_users: dict[tuple[str, int], dict[tuple[str, int], SchemaRecord]] = {}
        # (context, content key) -> id
        self.content_ids: dict[tuple[str, str], int] = {}
        self.guids: dict[str, set[tuple[str, int]]] = {}
        self.configs: dict[str, dict] = {}
        self.modes: dict[str, str] = {}
        self.contexts: set[str] = {DEFAULT_CONTEXT}
        self.max_ids: dict[str, int] = {}
        # DEK Registry: KEKs by name, DEKs by (KEK name, subject, algorithm, version)
        self.keks: dict[str, KekRecord] = {}
        self.deks: dict[tuple[str, str, str, int], DekRecord] = {}
        # pre-encoded responses (at most RESPONSE_CACHE_BYTES), all dropped whenever a record is applied
        self.response_cache: BoundedCache[bytes] = BoundedCache(
            RESPONSE_CACHE_BYTES, max_item_bytes=RESPONSE_CACHE_ITEM_BYTES
        )
        self.generation = 0

    def apply(self, record: Record) -> None:
        with self.lock:
            self.generation += 1
            self.response_cache.clear()
            if isinstance(record, SchemaRecord):
                self._put_schema(record)
            elif isinstance(record, SchemaTombstone):
                self._drop_schema(record.subject, record.version)
            elif isinstance(record, DeleteSubjectRecord):
                subject = self.subjects.get(record.subject)
                if subject:
                    for version, rec in list(subject.versions.items()):
                        if version <= record.version and not rec.deleted:
                            self._put_schema(replace(rec, deleted=True))
            elif isinstance(record, ClearSubjectRecord):
                subject = self.subjects.get(record.subject)
                if subject:
                    for version, rec in list(subject.versions.items()):
                        if rec.deleted:
                            self._drop_schema(record.subject, version)
            elif isinstance(record, ConfigRecord):
                if record.config is None:
                    self.configs.pop(record.key, None)
                else:
                    self.configs[record.key] = record.config
            elif isinstance(record, ModeRecord):
                if record.mode is None:
                    self.modes.pop(record.key, None)
                else:
                    self.modes[record.key] = record.mode
            elif isinstance(record, ContextRecord):
                if record.deleted:
                    self.contexts.discard(record.context)
                else:
                    self.contexts.add(record.context)
            elif isinstance(record, KekRecord):
                self.keks[record.name] = record
            elif isinstance(record, KekTombstone):
                self.keks.pop(record.name, None)
            elif isinstance(record, DekRecord):
                self.deks[(record.kek_name, record.subject, record.algorithm, record.version)] = record
            elif isinstance(record, DekTombstone):
                self.deks.pop((record.kek_name, record.subject, record.algorithm, record.version), None)

    def _put_schema(self, record: SchemaRecord) -> None:
        ctx = context_of(record.subject)
        subject = self.subjects.setdefault(record.subject, Subject(record.subject))
        old = subject.versions.get(record.version)
        if old is not None:
            self._unindex(old)
        subject.versions[record.version] = record
        self.id_users.setdefault((ctx, record.id), {})[(record.subject, record.version)] = record
        self.content_ids.setdefault((ctx, record.content_key), record.id)
        self.guids.setdefault(record.guid, set()).add((ctx, record.id))
        self.contexts.add(ctx)
        if record.id > self.max_ids.get(ctx, 0):
            self.max_ids[ctx] = record.id

    def _unindex(self, record: SchemaRecord) -> None:
        ctx = context_of(record.subject)
        users = self.id_users.get((ctx, record.id))
        if users is not None:
            users.pop((record.subject, record.version), None)
            if not users:
                del self.id_users[(ctx, record.id)]
                if self.content_ids.get((ctx, record.content_key)) == record.id:
                    del self.content_ids[(ctx, record.content_key)]
                ids = self.guids.get(record.guid)
                if ids is not None:
                    ids.discard((ctx, record.id))
                    if not ids:
                        del self.guids[record.guid]

    def _drop_schema(self, subject_name: str, version: int) -> None:
        subject = self.subjects.get(subject_name)
        if subject is None:
            return
        record = subject.versions.pop(version, None)
        if record is not None:
            self._unindex(record)
        if not subject.versions:
            del self.subjects[subject_name]

    def cache_response(self, key: tuple | None, payload: bytes, generation: int) -> None:
        """Keep ``payload`` for ``key`` unless a record was applied since ``generation``
        (checked and stored under the lock :meth:`apply` holds, so a stale answer cannot
        slip in after the clear). A None key (too large to cache) keeps nothing."""
        if key is None:
            return
        with self.lock:
            if generation == self.generation:
                self.response_cache.put(key, payload, len(payload) + strings_size(key))

    # -- queries -----------------------------------------------------------

    def schema_by_id(self, context: str, schema_id: int) -> SchemaRecord | None:
        """A record carrying ``schema_id``: a live one when there is one."""
        users = self.id_users.get((context, schema_id))
        if not users:
            return None
        best = None
        for record in list(users.values()):
            if not record.deleted:
                return record
            best = best or record
        return best

    def id_for_content(self, context: str, key: str) -> int | None:
        return self.content_ids.get((context, key))

    def next_id(self, context: str, high_water: int = 0) -> int:
        candidate = max(self.max_ids.get(context, 0), high_water) + 1
        while (context, candidate) in self.id_users:
            candidate += 1
        return candidate

    def referrers(self, subject: str, version: int) -> list[SchemaRecord]:
        """Records whose references name ``subject``/``version``."""
        found = []
        for subj in list(self.subjects.values()):
            for record in list(subj.versions.values()):
                ctx = context_of(record.subject)
                for ref in record.references:
                    if ref.version == version and resolve_reference_subject(ref.subject, ctx) == subject:
                        found.append(record)
                        break
        return found

