"""Checking Basic credentials without letting wrong ones cost the server.

scrypt (16 MiB, ~50 ms of CPU per check) is the price of a stolen users file
being useless; :class:`PasswordChecker` keeps that price on the caller:

- **verified credentials are remembered** while used at least every
  :attr:`~PasswordChecker.remember_seconds`, as a keyed digest of user and password (never the password), at most
  :data:`VERIFIED_ENTRIES` of them, so a client sending Basic on every request pays
  scrypt once;
- **failures are throttled** per user name and per client address: after
  :data:`USER_FREE_FAILURES` failures in a row for a user name (or
  :data:`ADDRESS_FREE_FAILURES` from an address, which many users may share), the
  next check of credentials not remembered is refused (429, ``Retry-After``) for
  1 s, doubling with each further failure up to :data:`MAX_LOCKOUT` s; a success
  clears the user's and the address's count. Remembered credentials keep working during a lockout.
  Both tables hold at most :data:`THROTTLE_ENTRIES` entries (least recently
  failed dropped first);
- **hashing is bounded**: at most :data:`HASHING_SLOTS` scrypt runs at once and
  :data:`HASHING_QUEUE` waiting; beyond that a check is refused (429) at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable

from ..errors import TooManyAttempts

VERIFIED_ENTRIES = 4096
REMEMBER_SECONDS = 60.0
USER_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
MAX_LOCKOUT = 60.0
THROTTLE_ENTRIES = 10_000
HASHING_SLOTS = 2
HASHING_QUEUE = 16


class _Failures:
    """Failures in a row per key, and until when the key is locked out (bounded LRU)."""

    def __init__(self, free: int, entries: int = THROTTLE_ENTRIES) -> None:
        self.free = free
        self.entries = entries
        self._table: OrderedDict[bytes, tuple[int, float]] = OrderedDict()

    def locked_for(self, key: bytes, now: float) -> float:
        found = self._table.get(key)
        return max(0.0, found[1] - now) if found else 0.0

    def fail(self, key: bytes, now: float) -> None:
        count = self._table.pop(key, (0, 0.0))[0] + 1
        lockout = 0.0 if count < self.free else min(MAX_LOCKOUT, 2.0 ** (count - self.free))
        self._table[key] = (count, now + lockout)
        while len(self._table) > self.entries:
            self._table.popitem(last=False)

    def clear(self, key: bytes) -> None:
        self._table.pop(key, None)


class PasswordChecker:
    """Verifies ``(user, password)`` with ``verify`` (scrypt, run in a thread), cached and throttled.

    Used from one event loop: its tables are touched only there."""

    def __init__(self, verify: Callable[[str, str], bool], *, remember_seconds: float = REMEMBER_SECONDS) -> None:
        self.verify = verify
        self.remember_seconds = remember_seconds
        self._key = os.urandom(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._users = _Failures(USER_FREE_FAILURES)
        self._addresses = _Failures(ADDRESS_FREE_FAILURES)
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0
        self.refused = 0

    def _digest(self, *parts: str) -> bytes:
        text = "\0".join(parts).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(text, key=self._key, digest_size=16).digest()

    def _remembered(self, digest: bytes, now: float) -> bool:
        """Whether these credentials were verified and used within the last ``remember_seconds``."""
        stamp = self._verified.get(digest)
        if stamp is None or now - stamp > self.remember_seconds:
            return False
        self._verified[digest] = now
        self._verified.move_to_end(digest)
        return True

    async def check(self, user: str, password: str, address: str) -> bool:
        """True for right credentials, False for wrong ones; 429 (:class:`TooManyAttempts`)
        when the user or address is locked out or too many checks are waiting."""
        now = time.monotonic()
        digest = self._digest(user, password)
        if self._remembered(digest, now):
            return True
        user_key, address_key = self._digest("user", user), self._digest("address", address)
        wait = max(self._users.locked_for(user_key, now), self._addresses.locked_for(address_key, now))
        if wait > 0:
            self.refused += 1
            raise TooManyAttempts("Too many failed logins: try again later", wait)
        ok = await self._hash(user, password)
        now = time.monotonic()
        if ok:
            self._users.clear(user_key)
            self._addresses.clear(address_key)
            self._verified[digest] = now
            while len(self._verified) > VERIFIED_ENTRIES:
                self._verified.popitem(last=False)
        else:
            self._users.fail(user_key, now)
            self._addresses.fail(address_key, now)
        return ok

    async def _hash(self, user: str, password: str) -> bool:
        if self._slots is None:
            self._slots = asyncio.Semaphore(HASHING_SLOTS)
        if self._waiting >= HASHING_SLOTS + HASHING_QUEUE:
            self.refused += 1
            raise TooManyAttempts("Too many logins at once: try again later", 1.0)
        self._waiting += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(self.verify, user, password)
        finally:
            self._waiting -= 1
