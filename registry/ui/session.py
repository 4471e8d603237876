"""Browser sessions and CSRF tokens, held in signed cookies.

A cookie carries ``user``, an expiry and a random nonce, signed with HMAC-SHA256
under a key drawn when the server starts (a restart signs everyone out). Two cookies:
``SESSION_COOKIE`` once signed in with the form, and ``ANONYMOUS_COOKIE`` for every
visitor, so that every form, the login form included, carries a CSRF token: an HMAC
of the nonce and the user, checked on each POST. Signing in issues a fresh nonce, so
a token learnt before does not carry over; a page of another site that makes the
browser replace the anonymous cookie cannot sign anyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass

SESSION_COOKIE = "schemahub_session"
ANONYMOUS_COOKIE = "schemahub_visitor"
LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    user: str | None  # None: not signed in with the form
    nonce: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    def __init__(self, key: bytes | None = None, *, lifetime: int = LIFETIME_SECONDS) -> None:
        self._key = key or os.urandom(32)
        self.lifetime = lifetime

    def _mac(self, purpose: str, *parts: str) -> str:
        message = "\0".join((purpose, *parts)).encode("utf-8", "surrogatepass")
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def new(self, user: str | None = None) -> Session:
        return Session(user, _b64(os.urandom(18)), int(time.time()) + self.lifetime)

    def encode(self, session: Session) -> str:
        user = _b64((session.user or "").encode("utf-8", "surrogatepass"))
        marker = "u" if session.user is not None else "a"
        body = f"{marker}.{user}.{session.expires}.{session.nonce}"
        return f"{body}.{self._mac('session', body)}"

    def decode(self, value: str | None) -> Session | None:
        """The session in a cookie value; None when absent, forged, malformed or expired."""
        if not value or len(value) > 1024:
            return None
        body, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            marker, user, expires, nonce = body.split(".")
            name = _unb64(user).decode("utf-8")
            deadline = int(expires)
        except ValueError:
            return None
        if deadline < time.time():
            return None
        return Session(name if marker == "u" else None, nonce, deadline)

    def csrf_token(self, session: Session, user: str | None) -> str:
        """The token every form of this session (for this user) must send back."""
        return self._mac("csrf", session.nonce, user or "")

    def csrf_ok(self, session: Session | None, user: str | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(session, user))
