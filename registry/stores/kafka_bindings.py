"""What one reader of the ``_schemas`` topic has bound: ids and versions, to refuse a record
that rebinds an id (as Confluent's ``validateUpdate``) and to allocate above everything seen.

Kept for every version of the registry, twice (the committed and the uncommitted reader),
so it holds no object per version beyond one dict entry and one tuple, and none per user
of an id: an id holds its content key and how many versions use it.
"""

from __future__ import annotations

import threading

from ..subjects import context_of
from .records import ClearSubjectRecord, DeleteSubjectRecord, Record, SchemaRecord, SchemaTombstone

Version = tuple[int, bytes, bool]
"""A bound version: (id, content key, deleted)."""

Users = tuple[bytes, int] | dict[bytes, int]
"""The versions using an id: (content key, how many); by content key in the rare case that
versions bound it to different contents (only a writer that skipped the check does)."""


def _added(users: Users | None, key: bytes) -> Users:
    if users is None:
        return (key, 1)
    if isinstance(users, tuple):
        if users[0] == key:
            return (key, users[1] + 1)
        users = {users[0]: users[1]}
    users[key] = users.get(key, 0) + 1
    return users


def _removed(users: Users, key: bytes) -> Users | None:
    if isinstance(users, tuple):
        return (users[0], users[1] - 1) if users[1] > 1 else None
    left = users.get(key, 0) - 1
    if left > 0:
        users[key] = left
    else:
        users.pop(key, None)
    if len(users) == 1:
        ((only, count),) = users.items()
        return (only, count)
    return users or None


def _other_than(users: Users | None, key: bytes) -> int:
    """How many of ``users`` bind content other than ``key``."""
    if users is None:
        return 0
    if isinstance(users, tuple):
        return 0 if users[0] == key else users[1]
    return sum(count for bound, count in users.items() if bound != key)


class Bindings:
    """Each subject's versions, the users of each id per context, the highest version of each
    subject and the highest id each context has ever seen. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subjects: dict[str, dict[int, Version]] = {}
        self._tops: dict[str, int] = {}  # each subject's highest version
        self._ids: dict[str, dict[int, Users]] = {}  # context -> id -> users
        self._max_ids: dict[str, int] = {}

    def conflict(self, record: SchemaRecord) -> bool:
        """Whether ``record`` binds an id that another version binds to different content
        (as Confluent's ``validateUpdate`` refuses it)."""
        key = record.content.key
        context = context_of(record.subject)
        with self._lock:
            others = _other_than(self._ids.get(context, {}).get(record.id), key)
            if others:
                own = self._subjects.get(record.subject, {}).get(record.version)
                if own is not None and own[0] == record.id and own[1] != key:
                    others -= 1  # (the version itself, rebound)
            return others > 0

    def max_version(self, subject: str) -> int:
        with self._lock:
            return self._tops.get(subject, 0)

    def latest(self, subject: str) -> tuple[int, int, bytes, bool] | None:
        """The highest version of ``subject``: (version, id, content key, deleted)."""
        with self._lock:
            version = self._tops.get(subject)
            if version is None:
                return None
            schema_id, content, deleted = self._subjects[subject][version]
            return version, schema_id, content, deleted

    def has(self, subject: str, version: int) -> bool:
        with self._lock:
            return version in self._subjects.get(subject, {})

    def high_water(self) -> dict[str, int]:
        with self._lock:
            return dict(self._max_ids)

    def apply(self, record: Record) -> None:
        with self._lock:
            if isinstance(record, SchemaRecord):
                self._bind(record)
            elif isinstance(record, SchemaTombstone):
                self._drop(record.subject, record.version)
            elif isinstance(record, DeleteSubjectRecord):
                versions = self._subjects.get(record.subject, {})
                for version, (schema_id, content, deleted) in list(versions.items()):
                    if version <= record.version and not deleted:
                        versions[version] = (schema_id, content, True)
            elif isinstance(record, ClearSubjectRecord):
                for version, (_, _, deleted) in list(self._subjects.get(record.subject, {}).items()):
                    if deleted:
                        self._drop(record.subject, version)

    def _bind(self, record: SchemaRecord) -> None:
        subject, version = record.subject, record.version
        context = context_of(subject)
        versions = self._subjects.get(subject)
        if versions is None:
            versions = self._subjects[subject] = {}
        replaced = versions.get(version)
        if replaced is not None:  # (a version read again, e.g. a leader's own write: it stays the top)
            self._release(context, replaced)
        key = record.content.key
        versions[version] = (record.id, key, record.deleted)
        if version > self._tops.get(subject, 0):
            self._tops[subject] = version
        ids = self._ids.get(context)
        if ids is None:
            ids = self._ids[context] = {}
        ids[record.id] = _added(ids.get(record.id), key)
        if record.id > self._max_ids.get(context, 0):
            self._max_ids[context] = record.id

    def _drop(self, subject: str, version: int) -> None:
        versions = self._subjects.get(subject)
        found = versions.pop(version, None) if versions is not None else None
        if found is None:
            return
        if not versions:
            del self._subjects[subject]
            del self._tops[subject]
        elif self._tops[subject] == version:
            self._tops[subject] = max(versions)  # (a hard delete of the latest version: rare)
        self._release(context_of(subject), found)

    def _release(self, context: str, bound: Version) -> None:
        """Count one version fewer among the users of ``bound``'s id."""
        schema_id, content, _ = bound
        ids = self._ids.get(context, {})
        users = ids.get(schema_id)
        if users is not None:
            left = _removed(users, content)
            if left is None:
                del ids[schema_id]
            else:
                ids[schema_id] = left
