"""A least-recently-used cache bounded in bytes: every cache holding what callers sent uses it.

Sizes are what the caller states (the encoded bytes of an answer, an estimate
for parsed schemas); an entry larger than ``max_item_bytes`` is not kept, so one
huge request cannot flush everything else. Thread-safe.

A cache made with ``doorkeeper=True`` keeps a key only the second time it is put
within a while (TinyLFU's doorkeeper): a key asked for once, as in a scan of every
id, costs neither the store nor the eviction of an answer asked for again and again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

V = TypeVar("V")

ENTRY_OVERHEAD = 200  # bytes of bookkeeping per entry (key tuple, dict slot, size record)
DOORKEEPER_SLOTS = 1 << 16  # one byte per slot, marked by a key's hash
DOORKEEPER_MARKS = 1 << 14  # marks after which the doorkeeper forgets them all


class BoundedCache(Generic[V]):
    def __init__(self, max_bytes: int, *, max_item_bytes: int | None = None, doorkeeper: bool = False) -> None:
        self.max_bytes = max_bytes
        self.max_item_bytes = max_item_bytes if max_item_bytes is not None else max_bytes // 16
        self.nbytes = 0
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._seen = bytearray(DOORKEEPER_SLOTS) if doorkeeper else None
        self._marks = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep ``value`` under ``key``, ``size`` bytes (plus overhead); evict the least recently used."""
        size += ENTRY_OVERHEAD
        if size > self.max_item_bytes:
            return
        with self._lock:
            if self._seen is not None and key not in self._entries and self._first_sight(key):
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self.nbytes -= old[1]
            self._entries[key] = (value, size)
            self.nbytes += size
            while self.nbytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.nbytes -= dropped

    def _first_sight(self, key: Hashable) -> bool:
        """Whether the doorkeeper has not seen ``key`` lately (and marks it seen). A key sharing
        a slot with one seen passes as seen: the doorkeeper only ever lets too much in."""
        assert self._seen is not None
        slot = hash(key) & (DOORKEEPER_SLOTS - 1)
        if self._seen[slot]:
            return False
        if self._marks == DOORKEEPER_MARKS:
            self._seen[:] = bytes(DOORKEEPER_SLOTS)
            self._marks = 0
        self._seen[slot] = 1
        self._marks += 1
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.nbytes = 0


def strings_size(items: Iterable[object]) -> int:
    """Bytes held by the strings and bytes among ``items`` (a cache key's payload)."""
    return sum(len(item) for item in items if isinstance(item, (str, bytes)))
