"""The byte order in which Kafka Streams' stores iterate keys, for ties it breaks by key.

Kafka Streams orders store entries by their serialized key bytes (unsigned, lexicographic). Keys are
objects here; ``key_bytes`` gives the bytes Java's default serdes would write for the common types:
UTF-8 for strings, the bytes themselves, 8-byte big-endian for integers, and the UTF-8 of ``repr``
for anything else (a stable, if arbitrary, order).
"""

from __future__ import annotations

import struct
from typing import Any

from streams.windows import Windowed

_LONG = struct.Struct(">q")


def key_bytes(key: Any) -> bytes:
    if isinstance(key, str):
        return key.encode()
    if isinstance(key, bytes):
        return key
    if isinstance(key, bool):
        return b"\x01" if key else b"\x00"
    if isinstance(key, int) and -(2**63) <= key < 2**63:
        return _LONG.pack(key)
    if isinstance(key, Windowed):
        return key_bytes(key.key) + _LONG.pack(key.start)
    return repr(key).encode()
