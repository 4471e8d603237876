"""One task's stores on local disk: a SQLite file with every store's entries and checkpoints.

A checkpoint is the changelog offset up to which the file is known to be complete; restoring
replays the changelog from there. Replaying records the file already holds is harmless
(changelog records are full values), so a checkpoint may lag but never lead. Rows hold the
changelog records' bytes (``streams.codec``); nothing here decodes them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

Change = tuple[bytes, "bytes | None"]


class StateFile:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS kv (store TEXT, key BLOB, value BLOB, PRIMARY KEY (store, key)) WITHOUT ROWID"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS checkpoints (store TEXT PRIMARY KEY, next_offset INTEGER)")

    def entries(self, store: str) -> list[tuple[bytes, bytes]]:
        return self.db.execute("SELECT key, value FROM kv WHERE store = ?", (store,)).fetchall()

    def checkpoints(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT store, next_offset FROM checkpoints").fetchall())

    def clear(self, store: str) -> None:
        """Forget a store's rows and checkpoint (it will be restored from the whole changelog)."""
        db = self.db
        db.execute("BEGIN")
        db.execute("DELETE FROM kv WHERE store = ?", (store,))
        db.execute("DELETE FROM checkpoints WHERE store = ?", (store,))
        db.execute("COMMIT")

    def write(self, changes: dict[str, list[Change]], checkpoints: dict[str, int]) -> None:
        """Apply every store's changes and advance checkpoints in one SQLite transaction."""
        db = self.db
        db.execute("BEGIN")
        try:
            for store, entries in changes.items():
                db.executemany(
                    "INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", [(store, k, v) for k, v in entries if v is not None]
                )
                db.executemany("DELETE FROM kv WHERE store = ? AND key = ?", [(store, k) for k, v in entries if v is None])
            db.executemany("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", list(checkpoints.items()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()
