"""In-memory key–value state store with change tracking.

The working set lives in a dict; every put/delete marks the key dirty. At a commit point the
runtime takes the changes, writes them to the changelog topic and the local SQLite file
(``streams.state_file``); nothing touches disk or Kafka on the per-record path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_MISSING = object()


class KeyValueStore:
    """A named store of one task. Values are whatever the owning processor puts there."""

    __slots__ = ("data", "dirty", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.data: dict[Any, Any] = {}
        self.dirty: set[Any] = set()

    def get(self, key: Any, default: Any = None) -> Any:
        return self.data.get(key, default)

    def put(self, key: Any, value: Any) -> None:
        self.data[key] = value
        self.dirty.add(key)

    def delete(self, key: Any) -> None:
        if self.data.pop(key, _MISSING) is not _MISSING:
            self.dirty.add(key)

    def __contains__(self, key: Any) -> bool:
        return key in self.data

    def __len__(self) -> int:
        return len(self.data)

    def items(self) -> Iterator[tuple[Any, Any]]:
        return iter(list(self.data.items()))

    def take_changes(self) -> list[tuple[Any, Any]]:
        """Dirty entries since the last call as ``(key, value)``; ``value`` None means deleted."""
        data = self.data
        changes = [(key, data.get(key)) for key in self.dirty]
        self.dirty.clear()
        return changes

    def load(self, entries: list[tuple[Any, Any]]) -> None:
        """Apply restored entries (``None`` deletes) without marking them dirty."""
        data = self.data
        for key, value in entries:
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    def clear(self) -> None:
        """Forget every entry without marking anything dirty (before a full restore)."""
        self.data.clear()
        self.dirty.clear()


class SessionStore(KeyValueStore):
    """Also remembers what each changed key held at the last ``take_replaced``.

    A session's end is part of its changelog key, so a session whose end moved needs a tombstone
    under the old key (``streams.codec.SessionCodec``).
    """

    __slots__ = ("replaced",)

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.replaced: dict[Any, Any] = {}

    def put(self, key: Any, value: Any) -> None:
        if key not in self.dirty:
            self.replaced[key] = self.data.get(key)
        self.data[key] = value
        self.dirty.add(key)

    def delete(self, key: Any) -> None:
        if key in self.data:
            if key not in self.dirty:
                self.replaced[key] = self.data[key]
            del self.data[key]
            self.dirty.add(key)

    def take_replaced(self) -> dict[Any, Any]:
        """Values before the changes ``take_changes`` is about to return (``None``: no entry)."""
        replaced, self.replaced = self.replaced, {}
        return replaced

    def clear(self) -> None:
        super().clear()
        self.replaced.clear()
