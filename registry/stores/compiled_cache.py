"""A local cache of compiled forms for a store that keeps none itself (the Kafka store).

What parsing a stored schema produced (:meth:`registry.formats.ParsedSchema.compiled`)
is kept in one SQLite file in WAL mode, by content key, beside the basis it was made
from (the content key and those of the contents its references resolved to): derived
data only. A missing, stale, corrupt or unreadable entry is a miss (the schema is
parsed again), never an answer: the basis must match, and the format checks the bytes
it reads back. The file holds at most ``max_bytes`` of compiled forms, the oldest
written evicted first. Writes are kept in memory (bounded) and written in one
transaction by a background thread, off the request path. Several processes may share
one file (instances of one registry on one machine): SQLite locks it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

from .records import Content

log = logging.getLogger("schemahub.compiled_cache")


class _Damaged(Exception):
    """The file is not a SQLite database, or not a cache of compiled forms."""

CACHE_BYTES = 256 * 1024 * 1024
PENDING_BYTES = 64 * 1024 * 1024
WRITE_DELAY = 0.5  # seconds a kept form waits, so that the forms of one check are written together

_TABLE = """
CREATE TABLE IF NOT EXISTS compiled (
    key BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    basis BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS compiled_sizes ON compiled (size);
"""


def default_path(bootstrap: str, topic: str) -> Path:
    """The cache file of the registry kept in ``topic`` at ``bootstrap``: one file per registry,
    under ``$XDG_CACHE_HOME/schemahub`` (``~/.cache/schemahub``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = hashlib.sha256(f"{bootstrap}\0{topic}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return Path(base) / "schemahub" / f"compiled-{name}.db"


class CompiledCache:
    """Compiled forms by content key, in the file at ``path`` (made if missing; replaced
    if it is not a cache this class can read)."""

    def __init__(self, path: str | Path, *, max_bytes: int = CACHE_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # the connection and the pending forms
        self._pending: dict[bytes, tuple[bytes, bytes]] = {}  # key -> (basis, body), until written
        self._pending_bytes = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._conn = self._open()
        self._writer = threading.Thread(target=self._write_loop, name="compiled-cache", daemon=True)
        self._writer.start()

    def _open(self) -> sqlite3.Connection | None:
        """The file's connection; a damaged file is replaced once; None if it cannot be used
        (an unusable place, or a file another instance holds locked too long)."""
        for attempt in range(2):
            try:
                return self._connect()
            except _Damaged as exc:
                if attempt:
                    break
                log.warning("compiled-form cache %s damaged (%s): starting a new one", self.path, exc)
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            except (sqlite3.Error, OSError) as exc:
                log.warning("compiled-form cache %s not used: %s", self.path, exc)
                return None
        return None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # (made private if new)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=2000")
            conn.execute("PRAGMA journal_mode=WAL")
            # derived data: a write lost to a power cut costs a parse, so no sync on commit (a flush
            # holds the lock readers wait for, and does not hold it across an fsync)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_TABLE)
            columns = [row[1] for row in conn.execute("PRAGMA table_info(compiled)")]
        except sqlite3.Error as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", None) in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
                raise _Damaged(str(exc)) from None
            raise
        if columns != ["key", "size", "basis", "body"]:
            conn.close()
            raise _Damaged("not a compiled-form cache")
        return conn

    def get(self, content: Content, basis: bytes) -> bytes | None:
        """The compiled form of ``content`` made from ``basis``, if kept."""
        with self._lock:
            pending = self._pending.get(content.key)
            if pending is not None:
                return pending[1] if pending[0] == basis else None
            if self._conn is None:
                return None
            try:
                found = self._conn.execute(
                    "SELECT basis, body FROM compiled WHERE key = ?", (content.key,)
                ).fetchone()
            except sqlite3.Error:
                return None
        if found is None or found[0] != basis or not isinstance(found[1], bytes):
            return None
        return found[1]

    def keep(self, content: Content, compiled: bytes, basis: bytes) -> None:
        """Keep ``compiled`` (written soon, in the background; dropped if too much waits)."""
        with self._lock:
            if self._conn is None or self._stop.is_set() or content.key in self._pending:
                return
            if self._pending_bytes + len(compiled) > PENDING_BYTES:
                return
            self._pending[content.key] = (basis, compiled)
            self._pending_bytes += len(compiled)
        self._wake.set()

    def flush(self) -> None:
        """Write the forms kept so far, then evict the oldest beyond ``max_bytes``."""
        with self._lock:
            pending, self._pending, self._pending_bytes = self._pending, {}, 0
            if self._conn is None or not pending:
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO compiled VALUES (?, ?, ?, ?)",
                        [(key, len(body), basis, body) for key, (basis, body) in pending.items()],
                    )
                    self._evict()
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                log.warning("compiled-form cache %s not written: %s", self.path, exc)

    def _evict(self) -> None:
        assert self._conn is not None
        (total,) = self._conn.execute("SELECT total(size) FROM compiled").fetchone()
        if total <= self.max_bytes:
            return
        doomed = []
        for row, size in self._conn.execute("SELECT rowid, size FROM compiled ORDER BY rowid"):
            if total <= self.max_bytes:
                break
            doomed.append((row,))
            total -= size
        self._conn.executemany("DELETE FROM compiled WHERE rowid = ?", doomed)

    def size(self) -> int:
        """Bytes of compiled forms in the file."""
        with self._lock:
            if self._conn is None:
                return 0
            return int(self._conn.execute("SELECT total(size) FROM compiled").fetchone()[0])

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            self._stop.wait(WRITE_DELAY)
            self.flush()

    def close(self) -> None:
        """Write what waits and close the file."""
        self._stop.set()
        self._wake.set()
        self._writer.join(timeout=10)
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
