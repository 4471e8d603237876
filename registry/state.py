"""The in-memory state: the replay of every store record, indexed for reads.

Reads never touch the store. Each record is applied by the store (at start
and after each durable write); the indexes kept here answer by-id, latest,
lookup-by-content and reference questions without walking the registry, and
a subject's questions without walking its versions.

Records are applied by one thread at a time (under ``lock``) while reads run
on others without it: a read never iterates over a dict that an apply may
resize. It walks ``Subject.numbers`` (a list only ever appended to or
replaced by a new one) and looks records up one by one, or takes a snapshot.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

from .bounded import BoundedCache, strings_size
from .stores.records import (
    ClearSubjectRecord,
    ConfigRecord,
    Content,
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
    SubjectVersions,
)
from .subjects import DEFAULT_CONTEXT, context_of, resolve_reference_subject

RESPONSE_CACHE_BYTES = 32 * 1024 * 1024
RESPONSE_CACHE_ITEM_BYTES = 1024 * 1024
CHANGE_LOG_SIZE = 10_000

Coordinates = tuple[str, int]
"""A (qualified subject, version)."""
GuidIds = int | tuple[tuple[str, int], ...]
"""The ids with one guid: an int when it is one id of the default context (most guids), else
(context, id) pairs in the order applied. No list: the index stays out of the collector's sight."""


def _guid_ids(held: GuidIds | None) -> tuple[tuple[str, int], ...]:
    return () if held is None else held if isinstance(held, tuple) else ((DEFAULT_CONTEXT, held),)


def _packed(ids: tuple[tuple[str, int], ...]) -> GuidIds:
    return ids[0][1] if len(ids) == 1 and ids[0][0] == DEFAULT_CONTEXT else ids


def _add_content(index: dict[str, dict[bytes, int]], context: str, schema_id: int, content: Content) -> None:
    keys = index.get(context)
    if keys is None:
        keys = index[context] = {}
    keys.setdefault(content.key, schema_id)


def _add_guid(index: dict[bytes, GuidIds], context: str, schema_id: int, content: Content) -> None:
    """One more id for the content's guid, in a pair of its own (a pair shared with a frozen
    object would stay tracked, and keep the tuple and the index holding it tracked)."""
    held = index.get(content.guid_bytes)
    index[content.guid_bytes] = (
        schema_id if held is None and context == DEFAULT_CONTEXT else (*_guid_ids(held), (context, schema_id))
    )


class Subject:
    """The versions of one subject, soft-deleted ones included, in version order."""

    __slots__ = ("_by_text", "_lock", "context", "latest", "live_count", "name", "numbers", "versions")

    def __init__(self, name: str, lock: threading.RLock | None = None) -> None:
        self.name = name
        self._lock = lock or threading.RLock()  # the state's: applies hold it
        self.context = context_of(name)
        self.versions: dict[int, SchemaRecord] = {}
        self.numbers: list[int] = []  # the keys of ``versions``, ascending
        self.latest: SchemaRecord | None = None  # the newest live version
        self.live_count = 0
        self._by_text: dict[bytes, list[int]] | None = None  # text key -> versions, built on first use

    # -- reads ---------------------------------------------------------------

    def newest_first(self, *, deleted: bool = False) -> Iterator[SchemaRecord]:
        """Versions from the newest, live ones only unless ``deleted``; lazily."""
        versions = self.versions
        for number in reversed(self.numbers):
            record = versions.get(number)
            if record is not None and (deleted or not record.deleted):
                yield record

    def all(self) -> list[SchemaRecord]:
        versions = self.versions
        return [r for r in map(versions.get, self.numbers) if r is not None]

    def live(self) -> list[SchemaRecord]:
        return [r for r in self.all() if not r.deleted]

    def latest_live(self) -> SchemaRecord | None:
        return self.latest

    def has_live(self) -> bool:
        return self.live_count > 0

    def has_deleted(self) -> bool:
        return len(self.versions) > self.live_count

    def max_version(self) -> int:
        numbers = self.numbers
        return numbers[-1] if numbers else 0

    def with_text(self, text_key: bytes) -> list[SchemaRecord]:
        """The versions whose type, text and references have ``text_key``, newest first."""
        index = self._by_text
        if index is None:
            with self._lock:
                index = self._by_text
                if index is None:
                    index = {}
                    for number in self.numbers:
                        index.setdefault(self.versions[number].content.text_key, []).append(number)
                    self._by_text = index
        numbers = list(index.get(text_key, ()))
        versions = self.versions
        return [r for r in map(versions.get, reversed(numbers)) if r is not None]

    # -- applying (under the state's lock) ----------------------------------

    def _put(self, record: SchemaRecord, old: SchemaRecord | None) -> None:
        number = record.version
        self.versions[number] = record
        if old is None:
            numbers = self.numbers
            if not numbers or number > numbers[-1]:
                numbers.append(number)
            else:
                self.numbers = sorted((*numbers, number))
            if not record.deleted:
                self.live_count += 1
                latest = self.latest
                if latest is None or number > latest.version:
                    self.latest = record
            if self._by_text is not None:
                self._by_text.setdefault(record.content.text_key, []).append(number)
                if len(self._by_text[record.content.text_key]) > 1:
                    self._by_text[record.content.text_key].sort()
            return
        if self._by_text is not None:
            if old is not None:
                self._unindex_text(old)
            found = self._by_text.setdefault(record.content.text_key, [])
            found.append(number)
            if len(found) > 1 and number < found[-2]:
                found.sort()
        self.live_count += (not record.deleted) - (old is not None and not old.deleted)
        latest = self.latest
        if not record.deleted:
            if latest is None or number >= latest.version:
                self.latest = record
        elif latest is not None and latest.version == number:
            self._find_latest()

    def _drop(self, number: int) -> SchemaRecord | None:
        record = self.versions.pop(number, None)
        if record is None:
            return None
        self.numbers = [n for n in self.numbers if n != number]
        if self._by_text is not None:
            self._unindex_text(record)
        if not record.deleted:
            self.live_count -= 1
            if self.latest is not None and self.latest.version == number:
                self._find_latest()
        return record

    def _unindex_text(self, record: SchemaRecord) -> None:
        assert self._by_text is not None
        found = self._by_text.get(record.content.text_key)
        if found is not None and record.version in found:
            found.remove(record.version)
            if not found:
                del self._by_text[record.content.text_key]

    def _find_latest(self) -> None:
        self.latest = next(self.newest_first(), None)


class IdUsers:
    """The versions using one (context, id), in the order they were applied."""

    __slots__ = ("live", "records")

    def __init__(self) -> None:
        self.records: list[SchemaRecord] = []
        self.live = 0  # how many of them are not soft-deleted


class RegistryState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.subjects: dict[str, Subject] = {}
        # (context, id) -> the versions using that id, in the order they were applied
        self.id_users: dict[tuple[str, int], IdUsers] = {}
        # context -> content key -> id, and guid bytes -> the ids with that guid: what writes and
        # guid queries ask, built from ``id_users`` on first use (None until then), so a start-up
        # at a million versions does not build them for reads that never ask. They hold bytes,
        # ints and tuples, so the collector leaves them untracked: with tuple keys or list values,
        # each new entry made it walk all of them again (~20 ms at 340 000 ids, once per
        # generation) in the collections that follow a registration
        self.content_ids: dict[str, dict[bytes, int]] | None = None
        self.guids: dict[bytes, GuidIds] | None = None
        # referenced (subject, version) -> the (subject, version) of each version naming it
        self.referrer_index: dict[Coordinates, list[Coordinates]] = {}
        self.configs: dict[str, dict] = {}
        self.modes: dict[str, str] = {}
        self.contexts: set[str] = {DEFAULT_CONTEXT}
        self.max_ids: dict[str, int] = {}
        # DEK Registry: KEKs by name, DEKs by (KEK name, subject, algorithm, version)
        self.keks: dict[str, KekRecord] = {}
        self.deks: dict[tuple[str, str, str, int], DekRecord] = {}
        # counts kept for the metrics, so a scrape walks nothing
        self.live_versions = 0
        self.live_subjects = 0
        self.live_ids = 0
        # pre-encoded responses (at most RESPONSE_CACHE_BYTES), each kept the second time it is
        # asked for (so a scan of every id flushes nothing), all dropped whenever a record is applied
        self.response_cache: BoundedCache[bytes] = BoundedCache(
            RESPONSE_CACHE_BYTES, max_item_bytes=RESPONSE_CACHE_ITEM_BYTES, doorkeeper=True
        )
        self.generation = 0
        # (generation, subject) of the latest schema changes, oldest first: an index kept
        # beside the state (the console's subject list) catches up without a full walk.
        self.changes: deque[tuple[int, str]] = deque(maxlen=CHANGE_LOG_SIZE)

    def apply(self, record: Record) -> None:
        with self.lock:
            self.generation += 1
            if self.response_cache:
                self.response_cache.clear()
            if type(record) is SchemaRecord:
                self._put_schema(record)
            elif isinstance(record, SubjectVersions):
                self._load_subject(record)
            elif isinstance(record, SchemaTombstone):
                self._drop_schema(record.subject, record.version)
            elif isinstance(record, DeleteSubjectRecord):
                subject = self.subjects.get(record.subject)
                if subject:
                    for rec in subject.all():
                        if rec.version <= record.version and not rec.deleted:
                            self._put_schema(rec.soft_deleted())
            elif isinstance(record, ClearSubjectRecord):
                subject = self.subjects.get(record.subject)
                if subject:
                    for rec in subject.all():
                        if rec.deleted:
                            self._drop_schema(record.subject, rec.version)
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
        name, number, schema_id, content, deleted, _ = record
        self.changes.append((self.generation, name))
        subject = self.subjects.get(name)
        if subject is None:
            subject = self.subjects[name] = Subject(name, self.lock)
        ctx = subject.context
        cid = (ctx, schema_id)
        users = self.id_users.get(cid)
        if users is not None:
            shared = users.records[0].content  # one Content object per id: its text is held once
            if shared is not content and shared.key == content.key:
                content = shared
                record = record._replace(content=shared)
        old = subject.versions.get(number)
        if old is not None:
            self._unindex(subject, old)
            users = self.id_users.get(cid)
        was_live = subject.live_count > 0
        subject._put(record, old)
        if not was_live and subject.live_count:
            self.live_subjects += 1
        elif was_live and not subject.live_count:
            self.live_subjects -= 1
        if users is None:
            users = self.id_users[cid] = IdUsers()
            self._index_content(cid, content)
            if schema_id > self.max_ids.get(ctx, 0):
                self.max_ids[ctx] = schema_id
            if ctx != DEFAULT_CONTEXT:
                self.contexts.add(ctx)
        users.records.append(record)
        if not deleted:
            users.live += 1
            self.live_versions += 1
            if users.live == 1:
                self.live_ids += 1
        if content.references:
            for ref in content.references:
                target = (resolve_reference_subject(ref.subject, ctx), ref.version)
                self.referrer_index.setdefault(target, []).append((name, number))

    def _load_subject(self, load: SubjectVersions) -> None:
        """:meth:`_put_schema` for every version of a subject not held yet, in fewer steps."""
        self.changes.append((self.generation, load.subject))
        if load.subject in self.subjects or not load.versions:
            for record in load.versions:
                self._put_schema(record)
            return
        records = load.versions
        numbers = [r[1] for r in records]
        versions = dict(zip(numbers, records, strict=True))
        if len(versions) != len(numbers) or numbers != sorted(numbers):
            for record in records:  # not in ascending order: one at a time
                self._put_schema(record)
            return
        subject = self.subjects[load.subject] = Subject(load.subject, self.lock)
        ctx = subject.context
        subject.versions = versions
        subject.numbers = numbers
        id_users, indexed = self.id_users, self.content_ids is not None or self.guids is not None
        live = live_ids = 0
        max_id = self.max_ids.get(ctx, 0)
        latest = None
        for record in records:
            schema_id = record[2]
            cid = (ctx, schema_id)
            users = id_users.get(cid)
            content = record[3]
            if users is None:
                users = id_users[cid] = IdUsers()
                if indexed:
                    self._index_content(cid, content)
                if schema_id > max_id:
                    max_id = schema_id
            users.records.append(record)
            if not record[4]:
                live += 1
                users.live += 1
                if users.live == 1:
                    live_ids += 1
                latest = record
            if content.references:
                for ref in content.references:
                    target = (resolve_reference_subject(ref.subject, ctx), ref.version)
                    self.referrer_index.setdefault(target, []).append((load.subject, record[1]))
        subject.latest = latest
        self.live_ids += live_ids
        subject.live_count = live
        self.live_versions += live
        self.live_subjects += live > 0
        self.max_ids[ctx] = max_id
        if ctx != DEFAULT_CONTEXT:
            self.contexts.add(ctx)

    def _unindex(self, subject: Subject, record: SchemaRecord) -> None:
        """Drop ``record`` from the registry-wide indexes (not from its subject)."""
        ctx = subject.context
        cid = (ctx, record.id)
        content = record.content
        for ref in content.references:
            target = (resolve_reference_subject(ref.subject, ctx), ref.version)
            found = self.referrer_index.get(target)
            if found is not None:
                found.remove((record.subject, record.version))
                if not found:
                    del self.referrer_index[target]
        users = self.id_users.get(cid)
        if users is None:
            return
        users.records = [r for r in users.records if r.subject != record.subject or r.version != record.version]
        if not record.deleted:
            users.live -= 1
            self.live_versions -= 1
            self.live_ids -= users.live == 0
        if users.records:
            return
        del self.id_users[cid]
        keys = self.content_ids.get(ctx) if self.content_ids is not None else None
        if keys is not None and keys.get(content.key) == record.id:
            del keys[content.key]
        guids = self.guids
        if guids is not None:
            left = tuple(ids for ids in _guid_ids(guids.get(content.guid_bytes)) if ids != cid)
            if left:
                guids[content.guid_bytes] = _packed(left)
            else:
                guids.pop(content.guid_bytes, None)

    def _drop_schema(self, subject_name: str, version: int) -> None:
        self.changes.append((self.generation, subject_name))
        subject = self.subjects.get(subject_name)
        if subject is None:
            return
        record = subject.versions.get(version)
        if record is not None:
            self._unindex(subject, record)
            was_live = subject.live_count > 0
            subject._drop(version)
            self.live_subjects -= was_live and subject.live_count == 0
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

    def users_of(self, context: str, schema_id: int) -> list[SchemaRecord]:
        """The versions using ``schema_id`` in ``context`` (a list no apply changes)."""
        users = self.id_users.get((context, schema_id))
        return users.records if users is not None else []

    def schema_by_id(self, context: str, schema_id: int) -> SchemaRecord | None:
        """A record carrying ``schema_id``: a live one when there is one."""
        users = self.users_of(context, schema_id)
        for record in users:
            if not record.deleted:
                return record
        return users[0] if users else None

    def changed_since(self, generation: int) -> set[str] | None:
        """The subjects whose schemas changed after ``generation``; None when the log
        no longer reaches back that far."""
        with self.lock:
            if len(self.changes) == self.changes.maxlen and self.changes[0][0] > generation:
                return None
            found: set[str] = set()
            for stamp, subject in reversed(self.changes):
                if stamp <= generation:
                    break
                found.add(subject)
            return found

    def _index_content(self, cid: tuple[str, int], content: Content) -> None:
        """Add a new id to the content and guid indexes that are built."""
        if self.content_ids is not None:
            _add_content(self.content_ids, *cid, content)
        if self.guids is not None:
            _add_guid(self.guids, *cid, content)

    def _content_index(self) -> dict[str, dict[bytes, int]]:
        index = self.content_ids
        if index is None:
            with self.lock:
                index = self.content_ids
                if index is None:
                    index = {}
                    for (ctx, schema_id), users in self.id_users.items():  # in the order first applied
                        _add_content(index, ctx, schema_id, users.records[0].content)
                    self.content_ids = index
        return index

    def _guid_index(self) -> dict[bytes, GuidIds]:
        index = self.guids
        if index is None:
            with self.lock:
                index = self.guids
                if index is None:
                    index = {}
                    for (ctx, schema_id), users in self.id_users.items():
                        _add_guid(index, ctx, schema_id, users.records[0].content)
                    self.guids = index
        return index

    def id_for_content(self, context: str, key: bytes) -> int | None:
        keys = self._content_index().get(context)
        return keys.get(key) if keys is not None else None

    def content_for(self, context: str, key: bytes) -> Content | None:
        """The content object already stored under ``key`` in ``context``, to share."""
        schema_id = self.id_for_content(context, key)
        if schema_id is None:
            return None
        record = self.schema_by_id(context, schema_id)
        return record.content if record is not None and record.content.key == key else None

    def ids_for_guid(self, guid: bytes) -> list[tuple[str, int]]:
        return sorted(_guid_ids(self._guid_index().get(guid)))

    def next_id(self, context: str, high_water: int = 0) -> int:
        candidate = max(self.max_ids.get(context, 0), high_water) + 1
        while (context, candidate) in self.id_users:
            candidate += 1
        return candidate

    def is_referenced(self, subject: str, version: int) -> bool:
        return (subject, version) in self.referrer_index

    def referrers(self, subject: str, version: int) -> list[SchemaRecord]:
        """Records whose references name ``subject``/``version``."""
        found = []
        for name, number in list(self.referrer_index.get((subject, version), ())):
            subj = self.subjects.get(name)
            record = subj.versions.get(number) if subj is not None else None
            if record is not None:
                found.append(record)
        return found
