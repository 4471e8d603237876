"""The embedded store: one SQLite file in WAL mode.

Tables hold the current state (not a log): a record is applied to the
tables inside one transaction, committed with ``synchronous=FULL`` before
``append`` returns, so an answered write survives a crash or a kill.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from ..errors import StoreError
from ..formats.base import Reference
from ..subjects import context_of
from .base import Apply, Store
from .records import (
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


def _dumps(value: object) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class SQLiteStore(Store):
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._apply: Apply | None = None
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            self._conn = conn
            self._db = sqlite_utils.Database(conn)
            self._create_tables()
        except sqlite3.Error as exc:  # no such directory, not a database, read-only, locked
            raise StoreError(f"Cannot open SQLite database {self.path}: {exc}") from exc

    def _create_tables(self) -> None:
        db = self._db
        db.table("schemas").create(
            {
                "subject": str,
                "version": int,
                "id": int,
                "schema_type": str,
                "schema": str,
                "references_json": str,
                "metadata_json": str,
                "rule_set_json": str,
                "deleted": int,
                "ts": int,
            },
            pk=("subject", "version"),
            if_not_exists=True,
        )
        db.table("configs").create({"key": str, "config_json": str}, pk="key", if_not_exists=True)
        db.table("modes").create({"key": str, "mode": str}, pk="key", if_not_exists=True)
        db.table("contexts").create({"context": str}, pk="context", if_not_exists=True)
        db.table("id_high_water").create({"context": str, "max_id": int}, pk="context", if_not_exists=True)
        db.table("keks").create(
            {"name": str, "kms_type": str, "kms_key_id": str, "kms_props_json": str, "doc": str, "shared": int,
             "deleted": int, "ts": int},
            pk="name", if_not_exists=True,
        )
        db.table("deks").create(
            {"kek_name": str, "subject": str, "algorithm": str, "version": int, "encrypted_key_material": str,
             "deleted": int, "ts": int},
            pk=("kek_name", "subject", "algorithm", "version"), if_not_exists=True,
        )

    def open(self, apply: Apply) -> None:
        self._apply = apply
        for record in self._replay():
            apply(record)

    def _replay(self) -> Iterator[Record]:
        for ctx in self._db.query("SELECT context FROM contexts ORDER BY context"):
            yield ContextRecord(ctx["context"])
        for row in self._db.query("SELECT * FROM schemas ORDER BY subject, version"):
            yield SchemaRecord(
                subject=row["subject"],
                version=row["version"],
                id=row["id"],
                schema_type=row["schema_type"],
                schema=row["schema"],
                references=tuple(Reference(**r) for r in (_loads(row["references_json"]) or [])),
                metadata=_loads(row["metadata_json"]),
                rule_set=_loads(row["rule_set_json"]),
                deleted=bool(row["deleted"]),
                ts=row["ts"] or 0,
            )
        for row in self._db.query("SELECT key, config_json FROM configs"):
            yield ConfigRecord(row["key"], _loads(row["config_json"]))
        for row in self._db.query("SELECT key, mode FROM modes"):
            yield ModeRecord(row["key"], row["mode"])
        for row in self._db.query("SELECT * FROM keks ORDER BY name"):
            yield KekRecord(row["name"], row["kms_type"], row["kms_key_id"], _loads(row["kms_props_json"]) or {},
                            row["doc"], bool(row["shared"]), bool(row["deleted"]), row["ts"] or 0)
        for row in self._db.query("SELECT * FROM deks ORDER BY kek_name, subject, algorithm, version"):
            yield DekRecord(row["kek_name"], row["subject"], row["algorithm"], row["version"],
                            row["encrypted_key_material"], bool(row["deleted"]), row["ts"] or 0)

    def id_high_water(self) -> dict[str, int]:
        return {row["context"]: row["max_id"] for row in self._db.query("SELECT * FROM id_high_water")}

    def append(self, records: Sequence[Record]) -> None:
        if self._apply is None:
            raise StoreError("Store is not open")
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for record in records:
                        self._write(record)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"Error while writing to the store: {exc}") from exc
            for record in records:
                self._apply(record)

    def _write(self, record: Record) -> None:
        execute = self._conn.execute
        if isinstance(record, SchemaRecord):
            execute(
                "INSERT OR REPLACE INTO schemas VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    record.subject,
                    record.version,
                    record.id,
                    record.schema_type,
                    record.schema,
                    _dumps([r.to_json() for r in record.references]) if record.references else None,
                    _dumps(record.metadata),
                    _dumps(record.rule_set),
                    int(record.deleted),
                    record.ts,
                ),
            )
            execute(
                "INSERT INTO id_high_water VALUES (?, ?) ON CONFLICT(context) "
                "DO UPDATE SET max_id = max(max_id, excluded.max_id)",
                (context_of(record.subject), record.id),
            )
        elif isinstance(record, SchemaTombstone):
            execute("DELETE FROM schemas WHERE subject = ? AND version = ?", (record.subject, record.version))
        elif isinstance(record, DeleteSubjectRecord):
            execute(
                "UPDATE schemas SET deleted = 1 WHERE subject = ? AND version <= ?", (record.subject, record.version)
            )
        elif isinstance(record, ClearSubjectRecord):
            execute("DELETE FROM schemas WHERE subject = ? AND deleted = 1", (record.subject,))
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
            self._conn.close()
