"""OAuth 2 / OIDC bearer tokens: who a signed JWT names and the groups it carries.

A token is accepted when its header names an allowed asymmetric algorithm
(``none`` and the HMAC ones never are) and a key of the identity provider's JWKS,
its signature verifies with that key, it has not expired (``exp`` is required,
``nbf`` and ``iat`` are honoured, each with ``leeway`` seconds), and its ``iss``
and ``aud`` are the ones configured. The principal is the ``principal_claim``
(``sub`` by default); the groups are the ``groups_claim`` (a list of strings, or
one space-separated string; a dotted name reaches into objects, as Keycloak's
``realm_access.roles``). Both feed the access rules of the users file, which
name users and groups (:mod:`registry.access.users`).

:class:`SigningKeys` keeps the JWKS: fetched at the first token, again every
``refresh_seconds``, and when a token names a key it does not hold (a rotation),
at most :data:`UNKNOWN_KEY_BURST` times in a row and then once every
:data:`UNKNOWN_KEY_REFILL` seconds, so tokens naming made-up keys cannot make the
registry hammer the identity provider. The document is bounded in bytes and keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from jwt import PyJWK
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    MissingRequiredClaimError,
    PyJWKError,
    PyJWTError,
)

log = logging.getLogger("schemahub.auth")

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
DEFAULT_ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_BYTES = 16 * 1024
MAX_JWKS_BYTES = 1024 * 1024
MAX_KEYS = 100
MAX_GROUPS = 1000
FETCH_TIMEOUT = 5.0
UNKNOWN_KEY_BURST = 3
UNKNOWN_KEY_REFILL = 10.0  # seconds


class InvalidToken(Exception):
    """A token that is not accepted; the message is safe to send back."""


class KeysUnavailable(Exception):
    """The identity provider's signing keys cannot be fetched."""


@dataclass(frozen=True)
class TokenSettings:
    """How bearer tokens are checked (``serve --oauth-*``)."""

    jwks_url: str
    issuer: str
    audience: str
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway: float = 30.0
    principal_claim: str = "sub"
    groups_claim: str | None = "groups"
    refresh_seconds: float = 300.0

    def __post_init__(self) -> None:
        refused = [a for a in self.algorithms if a not in ASYMMETRIC]
        if refused or not self.algorithms:
            raise ValueError(
                f"algorithms {', '.join(refused) or '(none)'} cannot be used with a JWKS: choose among "
                f"{', '.join(ASYMMETRIC)}"
            )
        if not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError(f"the JWKS URL must be http(s)://..., not {self.jwks_url!r}")
        if self.leeway < 0 or self.refresh_seconds <= 0:
            raise ValueError("the leeway must be >= 0 and the JWKS refresh interval > 0")


@dataclass(frozen=True)
class SigningKey:
    """A published key, and the algorithm its JWK declares (None: any its type allows)."""

    key: PyJWK
    algorithm: str | None


@dataclass(frozen=True)
class Identity:
    """Who a token names and the groups it carries."""

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)


class SigningKeys:
    """The identity provider's JWKS, by key id (see the module docstring for when it is fetched)."""

    def __init__(self, url: str, refresh_seconds: float = 300.0, *, clock: Any = time.monotonic) -> None:
        self.url = url
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._keys: dict[str | None, SigningKey] = {}
        self._fetched_at: float | None = None
        self._lock: asyncio.Lock | None = None
        self._credit = float(UNKNOWN_KEY_BURST)
        self._credit_at = clock()
        self.fetches = 0

    async def key(self, kid: str | None) -> SigningKey:
        """The key ``kid`` names (a JWKS of one key also serves tokens without ``kid``)."""
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self.refresh_seconds
        if stale or (self._find(kid) is None and self._spend(now)):
            await self._refresh(unknown=None if stale else kid)
        found = self._find(kid)
        if found is None:
            raise InvalidToken("The token is signed with a key the identity provider does not publish")
        return found

    def _find(self, kid: str | None) -> SigningKey | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _spend(self, now: float) -> bool:
        """Take one unknown-key fetch from the bucket, if it has one."""
        self._credit = min(float(UNKNOWN_KEY_BURST), self._credit + (now - self._credit_at) / UNKNOWN_KEY_REFILL)
        self._credit_at = now
        if self._credit < 1:
            return False
        self._credit -= 1
        return True

    async def _refresh(self, unknown: str | None) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        started = self._clock()
        async with self._lock:
            if self._fetched_at is not None and self._fetched_at >= started:
                return  # fetched by another request meanwhile
            try:
                self._keys = await self._fetch()
            except KeysUnavailable:
                if self._keys and unknown is None:
                    log.warning("keeping the signing keys fetched before: %s is not answering", self.url)
                    self._fetched_at = self._clock()
                    return
                raise
            self._fetched_at = self._clock()
            log.info("fetched %d signing keys from %s", len(self._keys), self.url)

    async def _fetch(self) -> dict[str | None, SigningKey]:
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client:
                async with client.stream("GET", self.url, headers={"Accept": "application/json"}) as answer:
                    if answer.status_code != 200:
                        raise KeysUnavailable(f"{self.url} answered {answer.status_code}")
                    body = bytearray()
                    async for chunk in answer.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_JWKS_BYTES:
                            raise KeysUnavailable(f"{self.url} answered more than {MAX_JWKS_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise KeysUnavailable(f"{self.url}: {exc}") from None
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise KeysUnavailable(f"{self.url} did not answer JSON ({exc})") from None
        listed = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(listed, list) or len(listed) > MAX_KEYS:
            raise KeysUnavailable(f"{self.url} did not answer a JWKS (a 'keys' list of at most {MAX_KEYS})")
        keys: dict[str | None, SigningKey] = {}
        for jwk in listed:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or jwk.get("kty") == "oct":
                continue  # (an encryption key, or a shared secret, which has no place in a public JWKS)
            try:
                key = PyJWK(jwk)
            except PyJWKError:
                continue  # a key type this registry does not use
            alg = jwk.get("alg")
            keys[jwk.get("kid") if isinstance(jwk.get("kid"), str) else None] = SigningKey(
                key, alg if isinstance(alg, str) else None)
        if not keys:
            raise KeysUnavailable(f"{self.url} publishes no signing key this registry can use")
        return keys


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _groups(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) > MAX_GROUPS or not all(isinstance(g, str) for g in items):
        raise InvalidToken("The token's groups claim is not a list of names")
    return frozenset(items)


class TokenVerifier:
    """Checks bearer tokens under :class:`TokenSettings`."""

    def __init__(self, settings: TokenSettings, keys: SigningKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or SigningKeys(settings.jwks_url, settings.refresh_seconds)

    async def verify(self, token: str) -> Identity:
        """The identity ``token`` proves; :class:`InvalidToken` (the reason) or :class:`KeysUnavailable`."""
        settings = self.settings
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("The token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise InvalidToken("The token is not a signed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in settings.algorithms:
            raise InvalidToken(f"The token's algorithm {algorithm!r} is not allowed")
        kid = header.get("kid")
        found = await self.keys.key(kid if isinstance(kid, str) else None)
        if found.algorithm not in (None, algorithm):
            raise InvalidToken("The token's algorithm is not its key's")
        try:
            claims = jwt.decode(
                token, found.key.key, algorithms=[algorithm], audience=settings.audience, issuer=settings.issuer,
                leeway=settings.leeway, options={"require": ["exp"]},
            )
        except ExpiredSignatureError:
            raise InvalidToken("The token has expired") from None
        except ImmatureSignatureError:
            raise InvalidToken("The token is not valid yet") from None
        except InvalidAudienceError:
            raise InvalidToken("The token is not meant for this registry (audience)") from None
        except InvalidIssuerError:
            raise InvalidToken("The token was not issued by the trusted issuer") from None
        except MissingRequiredClaimError as exc:
            raise InvalidToken(f"The token has no {exc.claim!r} claim") from None
        except PyJWTError:
            raise InvalidToken("The token's signature does not verify") from None
        name = _claim(claims, settings.principal_claim)
        if not isinstance(name, str) or not name:
            raise InvalidToken(f"The token names no principal ({settings.principal_claim!r} claim)")
        groups = _groups(_claim(claims, settings.groups_claim)) if settings.groups_claim else frozenset()
        return Identity(name, groups)
