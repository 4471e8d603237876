"""Encoding of state-store keys and values for SQLite and the changelog topics.

Store contents are Python objects (tuples, ints, user aggregates), so they are pickled. Only this
application writes and reads its own ``-changelog`` topics and state files; never point a store at
a topic other producers write to.
"""

from __future__ import annotations

import pickle
from typing import Any

_PROTOCOL = 5


def encode(obj: Any) -> bytes:
    return pickle.dumps(obj, _PROTOCOL)


def decode(data: bytes) -> Any:
    return pickle.loads(data)  # noqa: S301 - being replaced by canonical encodings (issue #11)


def encode_value(obj: Any) -> bytes | None:
    """``None`` (a deletion) stays ``None`` so it becomes a tombstone."""
    return None if obj is None else pickle.dumps(obj, _PROTOCOL)


def decode_value(data: bytes | None) -> Any:
    return None if data is None else pickle.loads(data)  # noqa: S301 - being replaced by canonical encodings (issue #11)
