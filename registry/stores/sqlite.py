"""The embedded store: one SQLite file in WAL mode.

Tables hold the current state (not a log): a batch of records is applied to
the tables inside one transaction, committed with ``synchronous=FULL`` before
``append`` returns, so an answered write survives a crash or a kill.

- ``contents``: one row per distinct schema (type, text, references, metadata,
  rule set) with its content key, text key and guid, computed once when first
  written; an index holds every column but the text (``contents_keys``), so
  start-up reads it without reading the texts' pages;
- ``subjects``: one row per subject name;
- ``versions``: (subject, version) -> id, content, deleted, ts.

Start-up reads the versions and the contents' keys but no schema text: a
version's text is read from the file when first needed (the most recent ones
are kept in a cache bounded in characters). Files written by an older
schemahub (one ``schemas`` table holding every text) are migrated in place,
in one transaction, when opened.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import groupby, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from ..bounded import BoundedCache
from ..errors import StoreError
from ..formats.base import Reference
from ..subjects import context_of
from .base import Apply, Store
from .records import (
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

LAYOUT_VERSION = 4
TEXT_CACHE_CHARS = 8 * 1024 * 1024
READ_MMAP_BYTES = 1 << 40  # as much as SQLite allows (its compile-time maximum caps it)
COMPILED_PENDING_BYTES = 64 * 1024 * 1024

_TABLES = """
CREATE TABLE IF NOT EXISTS contents (
    row INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,
    text_key BLOB,
    guid BLOB NOT NULL,
    schema_type TEXT NOT NULL,
    schema TEXT NOT NULL,
    references_json TEXT,
    metadata_json TEXT,
    rule_set_json TEXT,
    compiled BLOB
);
CREATE TABLE IF NOT EXISTS subjects (row INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS versions (
    subject INTEGER NOT NULL,
    version INTEGER NOT NULL,
    id INTEGER NOT NULL,
    content INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (subject, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_by_content ON versions (content);
CREATE INDEX IF NOT EXISTS contents_keys ON contents (
    schema_type, key, guid, text_key, references_json, metadata_json, rule_set_json
);
CREATE TABLE IF NOT EXISTS configs (key TEXT PRIMARY KEY, config_json TEXT);
CREATE TABLE IF NOT EXISTS modes (key TEXT PRIMARY KEY, mode TEXT);
CREATE TABLE IF NOT EXISTS contexts (context TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS id_high_water (context TEXT PRIMARY KEY, max_id INTEGER);
CREATE TABLE IF NOT EXISTS keks (
    name TEXT PRIMARY KEY, kms_type TEXT, kms_key_id TEXT, kms_props_json TEXT, doc TEXT, shared INTEGER,
    deleted INTEGER, ts INTEGER
);
CREATE TABLE IF NOT EXISTS deks (
    kek_name TEXT, subject TEXT, algorithm TEXT, version INTEGER, encrypted_key_material TEXT, deleted INTEGER,
    ts INTEGER,
    PRIMARY KEY (kek_name, subject, algorithm, version)
);
"""


def _dumps(value: object) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _references(text: str | None) -> tuple[Reference, ...]:
    return tuple(Reference(**r) for r in (_loads(text) or []))


def _connect(path: str, *, read_mmap: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with full syncs; ``read_mmap``: a reader that maps the file
    (a text read on demand copies from memory instead of a read call per page)."""
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if read_mmap:
            conn.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
    except sqlite3.Error as exc:
        raise StoreError(f"Cannot open SQLite database {path}: {exc}") from exc
    return conn


class _Contents:
    """A :class:`~registry.stores.records.ContentSource` over the file: texts and compiled
    forms read on demand (the most recent texts cached), compiled forms kept until the
    store writes them (:meth:`take_compiled`).

    ``snapshot`` (a connection of its own, which never writes): reads share one read
    transaction, ended by :meth:`release` around each write of the store, rather than each
    opening and closing one (in WAL mode, shared-memory locks: most of a read's cost)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, *, snapshot: bool = False) -> None:
        self._conn = conn
        self._lock = lock
        self._cursor = conn.cursor()  # one for every read (each under the lock): no cursor made per read
        self._execute = self._cursor.execute
        self._snapshot = snapshot
        self._reading = False  # whether the shared read transaction is open
        self._texts: BoundedCache[str] = BoundedCache(TEXT_CACHE_CHARS, max_item_bytes=TEXT_CACHE_CHARS)
        self._compiled: dict[bytes, bytes] = {}  # content key -> compiled form, until written
        self._compiled_bytes = 0

    def _read(self, sql: str, row: int) -> tuple | None:
        """The one row ``sql`` selects for ``row`` (under the lock); a row the shared read
        transaction does not see is looked for again in a new one."""
        try:
            if not self._snapshot:
                return self._execute(sql, (row,)).fetchone()
            if self._reading:
                fetched = self._execute(sql, (row,)).fetchone()
                if fetched is not None:
                    return fetched
                self._reading = False
                self._execute("COMMIT")
            self._execute("BEGIN")
            self._reading = True
            return self._execute(sql, (row,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"Error while reading the store: {exc}") from exc

    def release(self) -> None:
        """End the shared read transaction: the next read sees every commit made until then (and
        a checkpoint is not held back by it)."""
        with self._lock:
            if self._reading:
                self._reading = False
                try:
                    self._execute("COMMIT")
                except sqlite3.Error as exc:
                    raise StoreError(f"Error while reading the store: {exc}") from exc

    def compiled(self, row: int) -> bytes | None:
        with self._lock:
            fetched = self._read("SELECT compiled FROM contents WHERE row = ?", row)
            return fetched[0] if fetched is not None else None

    def keep_compiled(self, content: Content, compiled: bytes) -> None:
        with self._lock:
            if content.key not in self._compiled and self._compiled_bytes + len(compiled) <= COMPILED_PENDING_BYTES:
                self._compiled[content.key] = compiled
                self._compiled_bytes += len(compiled)

    def take_compiled(self) -> dict[bytes, bytes]:
        """The compiled forms kept since the last call."""
        with self._lock:
            taken, self._compiled, self._compiled_bytes = self._compiled, {}, 0
            return taken

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def ping(self) -> bool:
        with self._lock:
            try:
                return self._conn.execute("SELECT 1").fetchone() == (1,)
            except sqlite3.Error:
                return False

    def text(self, row: int) -> str:
        return self._text(row, keep=True)

    def peek(self, row: int) -> str:
        return self._text(row, keep=False)

    def _text(self, row: int, *, keep: bool) -> str:
        """The text under ``row``: from the texts read lately, else read (and kept if ``keep``)."""
        with self._lock:
            found = self._texts.get(row)
            if found is not None:
                return found
            text: str = self._stored("SELECT schema FROM contents WHERE row = ?", row)
            if keep:
                self._texts.put(row, text, len(text))
            return text

    def _stored(self, sql: str, row: int) -> Any:
        """The one column ``sql`` selects for ``row``, which must be there (under the lock)."""
        fetched = self._read(sql, row)
        if fetched is None:
            raise StoreError(f"Schema text {row} is missing from the store")
        return fetched[0]


class SQLiteStore(Store):
    """``streaming``: replay each version with its own content and text, in one pass that
    holds nothing (for a reader keeping no state, such as export); otherwise a content is
    one object shared by its versions and texts stay in the file until needed."""

    def __init__(self, path: str | Path, *, streaming: bool = False) -> None:
        self.path = str(path)
        self.streaming = streaming
        self._high_water: dict[str, int] = {}  # the id_high_water table, as of the last commit
        self._lock = threading.RLock()
        self._apply: Apply | None = None
        self._conn = _connect(self.path)
        if self.path == ":memory:" or self.path.startswith("file:"):
            self._source = _Contents(self._conn, self._lock)
        else:
            self._source = _Contents(_connect(self.path, read_mmap=True), threading.RLock(), snapshot=True)
        try:
            self._create_tables()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open SQLite database {self.path}: {exc}") from exc

    def _tables(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _create_tables(self) -> None:
        legacy = "schemas" in self._tables()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _TABLES.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            if legacy:
                self._migrate_legacy()
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(contents)")}
            if "compiled" not in columns:  # layout 2
                self._conn.execute("ALTER TABLE contents ADD COLUMN compiled BLOB")
            self._conn.execute(f"PRAGMA user_version = {LAYOUT_VERSION}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _migrate_legacy(self) -> None:
        """Move the rows of the one-table layout (every version with its text) into the
        contents/subjects/versions layout, computing each content's keys once."""
        rows = self._conn.execute(
            "SELECT subject, version, id, schema_type, schema, references_json, metadata_json, rule_set_json, "
            "deleted, ts FROM schemas ORDER BY subject, version"
        )
        for subject, version, schema_id, schema_type, schema, refs, metadata, rule_set, deleted, ts in rows:
            record = SchemaRecord.of(
                subject, version, schema_id, schema_type, schema, _references(refs), _loads(metadata),
                _loads(rule_set), deleted=bool(deleted), ts=ts or 0,
            )
            self._write_version(record)
        self._conn.execute("DROP TABLE schemas")

    # -- replay ----------------------------------------------------------------

    def open(self, apply: Apply) -> None:
        self._apply = apply
        self._high_water = dict(self._conn.execute("SELECT context, max_id FROM id_high_water").fetchall())
        enabled = gc.isenabled()
        gc.disable()  # millions of small objects, none of them cyclic
        try:
            for record in self._replay():
                apply(record)
        finally:
            if enabled:
                gc.enable()

    def _replay(self) -> Iterator[Record]:
        conn = self._conn
        for (context,) in conn.execute("SELECT context FROM contexts ORDER BY context"):
            yield ContextRecord(context)
        if self.streaming:
            yield from self._versions_one_by_one()
        else:
            names = dict(conn.execute("SELECT row, name FROM subjects").fetchall())
            contents = self._contents()
            new, record = tuple.__new__, SchemaRecord  # NamedTuple._make, without its Python frame
            rows = conn.execute(
                "SELECT subject, version, id, content, deleted, ts FROM versions ORDER BY subject, version"
            )
            for row, versions in groupby(rows, itemgetter(0)):
                name = names[row]
                yield SubjectVersions(
                    name, [new(record, (name, v, i, contents[c], d == 1, ts)) for _, v, i, c, d, ts in versions]
                )
        for key, config in conn.execute("SELECT key, config_json FROM configs"):
            yield ConfigRecord(key, _loads(config))
        for key, mode in conn.execute("SELECT key, mode FROM modes"):
            yield ModeRecord(key, mode)
        for name, kms_type, kms_key_id, props, doc, shared, deleted, ts in conn.execute(
            "SELECT name, kms_type, kms_key_id, kms_props_json, doc, shared, deleted, ts FROM keks ORDER BY name"
        ):
            yield KekRecord(name, kms_type, kms_key_id, _loads(props) or {}, doc, bool(shared), bool(deleted), ts or 0)
        for kek_name, subject, algorithm, version, material, deleted, ts in conn.execute(
            "SELECT kek_name, subject, algorithm, version, encrypted_key_material, deleted, ts FROM deks "
            "ORDER BY kek_name, subject, algorithm, version"
        ):
            yield DekRecord(kek_name, subject, algorithm, version, material, bool(deleted), ts or 0)

    def _versions_one_by_one(self) -> Iterator[SchemaRecord]:
        for subject, version, schema_id, deleted, ts, key, text_key, guid, schema_type, schema, refs, metadata, \
                rule_set in self._conn.execute(
            "SELECT s.name, v.version, v.id, v.deleted, v.ts, c.key, c.text_key, c.guid, c.schema_type, "
            "c.schema, c.references_json, c.metadata_json, c.rule_set_json FROM versions v "
            "JOIN subjects s ON s.row = v.subject JOIN contents c ON c.row = v.content ORDER BY v.subject, v.version"
        ):
            content = Content(
                schema_type, _references(refs), _loads(metadata), _loads(rule_set), key, text_key or key, guid, schema
            )
            yield SchemaRecord(subject, version, schema_id, content, deleted == 1, ts)

    def _contents(self) -> dict[int, Content]:
        """Every content by row, its text left in the file. Those of nothing but a type and a
        text (nearly all) are made a column at a time, without a Python step per row."""
        texts = self._source
        found: dict[int, Content] = {}
        make = partial(tuple.__new__, Content)
        types = [sys.intern(t) for (t,) in self._conn.execute("SELECT DISTINCT schema_type FROM contents")]
        for schema_type in types:
            rows = self._conn.execute(
                "SELECT row, key, guid FROM contents WHERE schema_type = ? AND text_key IS NULL AND "
                "references_json IS NULL AND metadata_json IS NULL AND rule_set_json IS NULL", (schema_type,)
            ).fetchall()
            if rows:
                numbers, keys, guids = zip(*rows, strict=True)
                fields = zip(repeat(schema_type), repeat(()), repeat(None), repeat(None), keys, keys, guids,
                             repeat(None), repeat(texts), numbers, strict=False)
                found.update(zip(numbers, map(make, fields), strict=True))
        interned = {t: t for t in types}
        new, content = tuple.__new__, Content
        for row, key, text_key, guid, schema_type, refs, metadata, rule_set in self._conn.execute(
            "SELECT row, key, text_key, guid, schema_type, references_json, metadata_json, rule_set_json "
            "FROM contents WHERE text_key IS NOT NULL OR references_json IS NOT NULL OR metadata_json IS NOT NULL "
            "OR rule_set_json IS NOT NULL"
        ):
            found[row] = new(content, (
                interned.get(schema_type, schema_type),
                _references(refs) if refs else (),
                _loads(metadata) if metadata else None,
                _loads(rule_set) if rule_set else None,
                key,
                text_key or key,
                guid,
                None,
                texts,
                row,
            ))
        return found

    def id_high_water(self) -> dict[str, int]:
        return dict(self._high_water)

    keeps_compiled = True

    def compiled(self, content: Content, basis: bytes) -> bytes | None:
        """The compiled form in the content's row (a row holds one content: the row of a
        content no version holds any longer is dropped, its compiled form with it)."""
        return self._source.compiled(content.row) if content.source is self._source else None

    def keep_compiled(self, content: Content, compiled: bytes, basis: bytes) -> None:
        self._source.keep_compiled(content, compiled)

    def ready(self) -> bool:
        """Whether the file can be read (a query on the reading connection)."""
        return self._source.ping()

    # -- writing ---------------------------------------------------------------

    def append(self, records: Sequence[Record]) -> None:
        if self._apply is None:
            raise StoreError("Store is not open")
        with self._lock:
            self._source.release()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._write_all(records)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"Error while writing to the store: {exc}") from exc
            finally:
                self._source.release()
            for record in records:
                if isinstance(record, SchemaRecord):
                    ctx = context_of(record.subject)
                    if record.id > self._high_water.get(ctx, 0):
                        self._high_water[ctx] = record.id
            for record in records:
                self._apply(record)

    def _write_all(self, records: Iterable[Record]) -> None:
        """Write ``records`` in order, then drop the contents and subjects no version holds;
        write the compiled forms kept meanwhile."""
        orphans: set[int] = set()
        subjects: set[int] = set()
        for record in records:
            self._write(record, orphans, subjects)
        execute = self._conn.execute
        for row in orphans:
            execute("DELETE FROM contents WHERE row = ? AND NOT EXISTS (SELECT 1 FROM versions WHERE content = ?)",
                    (row, row))
        for row in subjects:
            execute("DELETE FROM subjects WHERE row = ? AND NOT EXISTS (SELECT 1 FROM versions WHERE subject = ?)",
                    (row, row))
        self._write_compiled()

    def _write_compiled(self) -> None:
        self._conn.executemany(
            "UPDATE contents SET compiled = ? WHERE key = ?", [(blob, key) for key, blob in self._source.take_compiled().items()]
        )

    def _subject_row(self, name: str, *, create: bool = True) -> int | None:
        found = self._conn.execute("SELECT row FROM subjects WHERE name = ?", (name,)).fetchone()
        if found is None and create:
            found = self._conn.execute("INSERT INTO subjects (name) VALUES (?) RETURNING row", (name,)).fetchone()
        return found[0] if found is not None else None

    def _content_row(self, content: Content) -> int:
        execute = self._conn.execute
        if content.source is self._source:
            if execute("SELECT 1 FROM contents WHERE row = ? AND key = ?", (content.row, content.key)).fetchone():
                return content.row
        found = execute("SELECT row FROM contents WHERE key = ?", (content.key,)).fetchone()
        if found is None:
            found = execute(
                "INSERT INTO contents (key, text_key, guid, schema_type, schema, references_json, metadata_json, "
                "rule_set_json) VALUES (?,?,?,?,?,?,?,?) RETURNING row",
                (
                    content.key,
                    None if content.text_key == content.key else content.text_key,
                    content.guid_bytes,
                    content.schema_type,
                    content.schema,
                    _dumps([r.to_json() for r in content.references]) if content.references else None,
                    _dumps(content.metadata),
                    _dumps(content.rule_set),
                ),
            ).fetchone()
        return int(found[0])

    def _write_version(self, record: SchemaRecord) -> int | None:
        """Insert or replace one version; answer the content row it replaced, if another."""
        execute = self._conn.execute
        subject = self._subject_row(record.subject)
        content = self._content_row(record.content)
        old = execute(
            "SELECT content FROM versions WHERE subject = ? AND version = ?", (subject, record.version)
        ).fetchone()
        execute(
            "INSERT OR REPLACE INTO versions VALUES (?,?,?,?,?,?)",
            (subject, record.version, record.id, content, int(record.deleted), record.ts),
        )
        execute(
            "INSERT INTO id_high_water VALUES (?, ?) ON CONFLICT(context) "
            "DO UPDATE SET max_id = max(max_id, excluded.max_id)",
            (context_of(record.subject), record.id),
        )
        return old[0] if old is not None and old[0] != content else None

    def _write(self, record: Record, orphans: set[int], subjects: set[int]) -> None:
        execute = self._conn.execute
        if isinstance(record, SchemaRecord):
            replaced = self._write_version(record)
            if replaced is not None:
                orphans.add(replaced)
        elif isinstance(record, SchemaTombstone | DeleteSubjectRecord | ClearSubjectRecord):
            subject = self._subject_row(record.subject, create=False)
            if subject is None:
                return
            if isinstance(record, DeleteSubjectRecord):
                execute("UPDATE versions SET deleted = 1 WHERE subject = ? AND version <= ?", (subject, record.version))
                return
            if isinstance(record, SchemaTombstone):
                gone = execute(
                    "DELETE FROM versions WHERE subject = ? AND version = ? RETURNING content",
                    (subject, record.version),
                )
            else:
                gone = execute("DELETE FROM versions WHERE subject = ? AND deleted = 1 RETURNING content", (subject,))
            orphans.update(row for (row,) in gone.fetchall())
            subjects.add(subject)
        elif isinstance(record, ConfigRecord):
            if record.config is None:
                execute("DELETE FROM configs WHERE key = ?", (record.key,))
            else:
                execute("INSERT OR REPLACE INTO configs VALUES (?, ?)", (record.key, _dumps(record.config)))
        elif isinstance(record, ModeRecord):
            if record.mode is None:
                execute("DELETE FROM modes WHERE key = ?", (record.key,))
            else:
                execute("INSERT OR REPLACE INTO modes VALUES (?, ?)", (record.key, record.mode))
        elif isinstance(record, ContextRecord):
            if record.deleted:
                execute("DELETE FROM contexts WHERE context = ?", (record.context,))
            else:
                execute("INSERT OR IGNORE INTO contexts VALUES (?)", (record.context,))
        elif isinstance(record, KekRecord):
            execute("INSERT OR REPLACE INTO keks VALUES (?,?,?,?,?,?,?,?)",
                    (record.name, record.kms_type, record.kms_key_id, _dumps(record.kms_props), record.doc,
                     int(record.shared), int(record.deleted), record.ts))
        elif isinstance(record, KekTombstone):
            execute("DELETE FROM keks WHERE name = ?", (record.name,))
        elif isinstance(record, DekRecord):
            execute("INSERT OR REPLACE INTO deks VALUES (?,?,?,?,?,?,?)",
                    (record.kek_name, record.subject, record.algorithm, record.version,
                     record.encrypted_key_material, int(record.deleted), record.ts))
        elif isinstance(record, DekTombstone):
            execute("DELETE FROM deks WHERE kek_name = ? AND subject = ? AND algorithm = ? AND version = ?",
                    (record.kek_name, record.subject, record.algorithm, record.version))
        else:
            raise StoreError(f"Unknown record {record!r}")

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._write_compiled()
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                pass  # a cache: lost if it cannot be written
            self._source.close()
            self._conn.close()
