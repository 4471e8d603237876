"""Byte layouts of state-store entries: the records of changelog topics and the rows of state files.

Each store is written with its key and value serdes (``Materialized``, or the application's
``default.key.serde`` / ``default.value.serde``) in one of four layouts. Equal keys always give
equal bytes, so compaction and tombstones find them; nothing read back can run code.

* ``key-value`` (tables, ``count``/``reduce``/``aggregate``): key = key bytes; value = timestamp
  (8 bytes) + value bytes, Kafka Streams' timestamped key-value store.
* ``window``: key = key bytes + window start (8) + sequence number 0 (4), Java's ``WindowKeySchema``;
  value = timestamp (8) + aggregate bytes.
* ``session``: key = key bytes + end (8) + start (8), Java's ``SessionKeySchema``; value =
  timestamp (8) + aggregate bytes. A session whose end moves gets a tombstone under its old key.
* ``join`` (ours): key = ``0x01`` + key bytes; value = for each buffered record, timestamp (8),
  unmatched (1), length (4) and the value bytes.
* ``suppress`` (ours): key = key bytes + window start (8) + end (8); value = timestamp (8) +
  ``0x01`` + value bytes, or timestamp + ``0x00`` for a buffered tombstone.

All integers are signed big-endian. Bookkeeping entries sit beside the data under keys no data
entry can have: stream time under ``stream-time`` (shorter than a window, session or suppress
suffix; in join stores tagged ``0x00``), a key's own stream time (``stream_time="key"``) under the
window or suppress layout with start ``-1``; their value is the time (8 bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from confluent_kafka.serialization import SerializationContext, SerializationError

from streams.clock import STREAM_TIME
from streams.serdes import KEY, VALUE, Serde
from streams.store import KeyValueStore, SessionStore
from streams.window_aggregate import KEY_TIME
from streams.windows import Windowed

KEY_VALUE, WINDOW, SESSION, JOIN, SUPPRESS = "key-value", "window", "session", "join", "suppress"

Change = tuple[bytes, "bytes | None"]

_LONG = struct.Struct(">q")
_WINDOW_SUFFIX = struct.Struct(">qi")
_SESSION_SUFFIX = struct.Struct(">qq")
_JOIN_RECORD = struct.Struct(">q?I")
STREAM_TIME_KEY = b"stream-time"
_JOIN_DATA, _JOIN_META = b"\x01", b"\x00"


class StoreDecodeError(Exception):
    """A changelog record or state-file row that this store's layout and serdes cannot read."""


class StoreCodec:
    """One store's layout with its serdes bound to the changelog topic's serialization contexts."""

    layout = KEY_VALUE
    store_class: type[KeyValueStore] = KeyValueStore

    def __init__(self, store: str, changelog: str, key_serde: Serde, value_serde: Serde) -> None:
        self.store = store
        key_ctx, value_ctx = SerializationContext(changelog, KEY), SerializationContext(changelog, VALUE)
        key_ser, key_de = key_serde
        value_ser, value_de = value_serde
        self.key_bytes: Callable[[Any], bytes] = _required(key_ser, key_ctx, store, "key")
        self.value_bytes: Callable[[Any], bytes] = _required(value_ser, value_ctx, store, "value")
        self.key_of: Callable[[bytes], Any] = lambda data: key_de(data, key_ctx)
        self.value_of: Callable[[bytes], Any] = lambda data: value_de(data, value_ctx)

    def new_store(self) -> KeyValueStore:
        return self.store_class(self.store)

    def changes(self, store: KeyValueStore) -> list[Change]:
        """Drain the store's changes since the last call, encoded; ``None`` values are tombstones."""
        encode = self.encode
        return [encode(key, value) for key, value in store.take_changes()]

    def encode(self, key: Any, value: Any) -> Change:
        data, ts = value if value is not None else (None, 0)
        return self.key_bytes(key), None if value is None else _LONG.pack(ts) + self.value_bytes(data)

    def decode(self, key: bytes, value: bytes | None) -> tuple[Any, Any]:
        """``(store key, store value)``; ``StoreDecodeError`` when the bytes do not fit."""
        try:
            return self._decode(key, value)
        except Exception as exc:
            raise StoreDecodeError(f"an entry of store {self.store!r} does not decode ({self.layout} layout): {exc}") from exc

    def _decode(self, key: bytes, value: bytes | None) -> tuple[Any, Any]:
        return self.key_of(key), None if value is None else (self.value_of(value[8:]), _long(value[:8]))


class WindowCodec(StoreCodec):
    """Store keys ``(key, start)`` with values ``(aggregate, timestamp)``; bookkeeping as above."""

    layout = WINDOW

    def encode(self, key: Any, value: Any) -> Change:
        if key == STREAM_TIME:
            return STREAM_TIME_KEY, None if value is None else _LONG.pack(value)
        first, second = key
        if first == KEY_TIME:  # (KEY_TIME, key): the key's own stream time
            return self.key_bytes(second) + _WINDOW_SUFFIX.pack(-1, 0), None if value is None else _LONG.pack(value)
        data = None if value is None else _LONG.pack(value[1]) + self.value_bytes(value[0])
        return self.key_bytes(first) + _WINDOW_SUFFIX.pack(second, 0), data

    def _decode(self, key: bytes, value: bytes | None) -> tuple[Any, Any]:
        if len(key) < _WINDOW_SUFFIX.size:
            return _meta(key, value)
        start, _ = _WINDOW_SUFFIX.unpack(key[-_WINDOW_SUFFIX.size :])
        inner = self.key_of(key[: -_WINDOW_SUFFIX.size])
        if start == -1:
            return (KEY_TIME, inner), None if value is None else _long(value)
        if start < 0:
            raise ValueError(f"window start {start} is negative")
        return (inner, start), None if value is None else (self.value_of(value[8:]), _long(value[:8]))


class SessionCodec(StoreCodec):
    """Store keys ``(key, start)`` with values ``(end, aggregate, timestamp)``."""

    layout = SESSION
    store_class = SessionStore

    def changes(self, store: KeyValueStore) -> list[Change]:
        assert isinstance(store, SessionStore)
        replaced = store.take_replaced()
        changes: list[Change] = []
        for key, value in store.take_changes():
            old = replaced.get(key)
            if key != STREAM_TIME and old is not None and (value is None or old[0] != value[0]):
                changes.append(self.encode(key, None, old[0]))
            if value is not None or key == STREAM_TIME:
                changes.append(self.encode(key, value))
        return changes

    def encode(self, key: Any, value: Any, end: int | None = None) -> Change:
        """A session's entry; a tombstone (``value`` None) needs the session's ``end``."""
        if key == STREAM_TIME:
            return STREAM_TIME_KEY, None if value is None else _LONG.pack(value)
        if value is None:
            assert end is not None, "a session tombstone needs the session's end"
            return self.key_bytes(key[0]) + _SESSION_SUFFIX.pack(end, key[1]), None
        end, aggregate, ts = value
        return self.key_bytes(key[0]) + _SESSION_SUFFIX.pack(end, key[1]), _LONG.pack(ts) + self.value_bytes(aggregate)

    def _decode(self, key: bytes, value: bytes | None) -> tuple[Any, Any]:
        if len(key) < _SESSION_SUFFIX.size:
            return _meta(key, value)
        end, start = _SESSION_SUFFIX.unpack(key[-_SESSION_SUFFIX.size :])
        if not 0 <= start <= end:
            raise ValueError(f"session [{start}, {end}] is not a session")
        inner = self.key_of(key[: -_SESSION_SUFFIX.size])
        return (inner, start), None if value is None else (end, self.value_of(value[8:]), _long(value[:8]))


class JoinCodec(StoreCodec):
    """Store keys are record keys, values lists of ``[timestamp, value, matched]``."""

    layout = JOIN

    def encode(self, key: Any, value: Any) -> Change:
        if key == STREAM_TIME:
            return _JOIN_META + STREAM_TIME_KEY, None if value is None else _LONG.pack(value)
        if value is None:
            return _JOIN_DATA + self.key_bytes(key), None
        parts: list[bytes] = []
        for ts, data, matched in value:
            raw = self.value_bytes(data)
            parts += (_JOIN_RECORD.pack(ts, matched, len(raw)), raw)
        return _JOIN_DATA + self.key_bytes(key), b"".join(parts)

    def _decode(self, key: bytes, value: bytes | None) -> tuple[Any, Any]:
        tag, rest = key[:1], key[1:]
        if tag == _JOIN_META:
            return _meta(rest, value)
        if tag != _JOIN_DATA:
            raise ValueError(f"unknown join entry tag {tag!r}")
        if value is None:
            return self.key_of(rest), None
        records, pos, size = [], 0, _JOIN_RECORD.size
        while pos < len(value):
            ts, matched, length = _JOIN_RECORD.unpack_from(value, pos)
            pos += size
            if pos + length > len(value):
                raise ValueError("a join record runs past the end of the entry")
            records.append([ts, self.value_of(value[pos : pos + length]), matched])
            pos += length
        return self.key_of(rest), records


class SuppressCodec(StoreCodec):
    """Store keys are ``Windowed`` keys, values ``(value or None, timestamp)``."""

    layout = SUPPRESS

    def encode(self, key: Any, value: Any) -> Change:
        if key == STREAM_TIME:
            return STREAM_TIME_KEY, None if value is None else _LONG.pack(value)
        if not isinstance(key, Windowed):  # (KEY_TIME, key): the key's own stream time
            return self.key_bytes(key[1]) + _SESSION_SUFFIX.pack(-1, -1), None if value is None else _LONG.pack(value)
        raw_key = self.key_bytes(key.key) + _SESSION_SUFFIX.pack(key.start, key.end)
        if value is None:
            return raw_key, None
        data, ts = value
        return raw_key, _LONG.pack(ts) + (b"\x00" if data is None else b"\x01" + self.value_bytes(data))

    def _decode(self, key: bytes, value: bytes | None) -> tuple[Any, Any]:
        if len(key) < _SESSION_SUFFIX.size:
            return _meta(key, value)
        start, end = _SESSION_SUFFIX.unpack(key[-_SESSION_SUFFIX.size :])
        inner = self.key_of(key[: -_SESSION_SUFFIX.size])
        if start == end == -1:
            return (KEY_TIME, inner), None if value is None else _long(value)
        if not 0 <= start <= end:
            raise ValueError(f"window [{start}, {end}] is not a window")
        if value is None:
            return Windowed(inner, start, end), None
        flag = value[8:9]
        if flag not in (b"\x00", b"\x01"):
            raise ValueError(f"unknown suppress value flag {flag!r}")
        data = self.value_of(value[9:]) if flag == b"\x01" else None
        return Windowed(inner, start, end), (data, _long(value[:8]))


CODECS: dict[str, type[StoreCodec]] = {
    KEY_VALUE: StoreCodec, WINDOW: WindowCodec, SESSION: SessionCodec, JOIN: JoinCodec, SUPPRESS: SuppressCodec,
}


def _meta(key: bytes, value: bytes | None) -> tuple[Any, Any]:
    if key != STREAM_TIME_KEY:
        raise ValueError(f"unknown bookkeeping key {key!r}")
    return STREAM_TIME, None if value is None else _long(value)


def _long(data: bytes) -> int:
    if len(data) != 8:
        raise ValueError(f"expected an 8-byte long, got {len(data)} bytes")
    return _LONG.unpack(data)[0]


def _required(serializer: Callable[[Any, SerializationContext], bytes | None], ctx: SerializationContext,
              store: str, field: str) -> Callable[[Any], bytes]:
    def encode(obj: Any) -> bytes:
        data = serializer(obj, ctx)
        if data is None:
            raise SerializationError(f"the {field} serde of store {store!r} wrote None for {obj!r:.80}")
        return data

    return encode
