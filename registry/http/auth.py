"""HTTP Basic authentication and per-subject authorisation, consulted before every handler.

:class:`Guard` is a thin layer: :meth:`Guard.check` runs in ``RegistryApp``
after routing and before the handler, and :meth:`Guard.filter` is the hook the
list routes call (through ``Api.readable``) to drop what the caller may not read.

The resource a request touches is decided from the route template and the
*decoded* route parameters (never from the raw path), normalised to the
qualified subject name, so ``%2F``, ``..``, double encoding or a changed case
name a different (literal, case-sensitive) subject, never a denied one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..access.users import AuthConfig
from ..errors import Forbidden, SchemaNotFound, Unauthenticated
from ..service import Registry
from ..subjects import DEFAULT_CONTEXT, parse_subject
from .routing import Route

PRINCIPAL_KEY = "schemahub.user"

# Routes answered without credentials (liveness/readiness probes).
PUBLIC = frozenset({("GET", "/health"), ("GET", "/ready")})

# What each route needs: (kind, operation). Kinds: "any" (any authenticated user),
# "subject" (the {subject} parameter), "global" (global config/mode, contexts),
# "id" / "guid" (readable if some subject using the schema is), "list" (any
# authenticated user; the route filters its answer through Guard.filter).
POLICY: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/"): ("any", "read"),
    ("POST", "/"): ("any", "read"),
    ("GET", "/v1/metadata/id"): ("any", "read"),
    ("GET", "/v1/metadata/version"): ("any", "read"),
    ("GET", "/v1/metadata/deployment"): ("any", "read"),
    ("GET", "/contexts"): ("any", "read"),
    ("DELETE", "/contexts/{context}"): ("global", "delete"),
    ("GET", "/associations/resources/{namespace}/{name}"): ("any", "read"),
    ("GET", "/subjects"): ("list", "read"),
    ("GET", "/subjects/{subject}/versions"): ("subject", "read"),
    ("POST", "/subjects/{subject}/versions"): ("subject", "write"),
    ("POST", "/subjects/{subject}"): ("subject", "read"),
    ("GET", "/subjects/{subject}/versions/{version}"): ("subject", "read"),
    ("GET", "/subjects/{subject}/versions/{version}/schema"): ("subject", "read"),
    ("GET", "/subjects/{subject}/versions/{version}/referencedby"): ("subject", "read"),
    ("DELETE", "/subjects/{subject}/versions/{version}"): ("subject", "delete"),
    ("DELETE", "/subjects/{subject}"): ("subject", "delete"),
    ("GET", "/subjects/{subject}/metadata"): ("subject", "read"),
    ("GET", "/schemas/ids/{id}"): ("id", "read"),
    ("GET", "/schemas/ids/{id}/schema"): ("id", "read"),
    ("GET", "/schemas/ids/{id}/subjects"): ("id", "read"),
    ("GET", "/schemas/ids/{id}/versions"): ("id", "read"),
    ("GET", "/schemas/guids/{guid}"): ("guid", "read"),
    ("GET", "/schemas/guids/{guid}/ids"): ("guid", "read"),
    ("GET", "/schemas/types"): ("any", "read"),
    ("GET", "/schemas"): ("list", "read"),
    ("GET", "/config"): ("any", "read"),
    ("PUT", "/config"): ("global", "config"),
    ("DELETE", "/config"): ("global", "config"),
    ("GET", "/config/{subject}"): ("subject", "read"),
    ("PUT", "/config/{subject}"): ("subject", "config"),
    ("DELETE", "/config/{subject}"): ("subject", "config"),
    ("GET", "/mode"): ("any", "read"),
    ("PUT", "/mode"): ("global", "config"),
    ("DELETE", "/mode"): ("global", "config"),
    ("GET", "/mode/{subject}"): ("subject", "read"),
    ("PUT", "/mode/{subject}"): ("subject", "config"),
    ("DELETE", "/mode/{subject}"): ("subject", "config"),
    ("POST", "/compatibility/subjects/{subject}/versions"): ("subject", "read"),
    ("POST", "/compatibility/subjects/{subject}/versions/{version}"): ("subject", "read"),
    ("GET", "/metrics"): ("any", "read"),
    # DEK Registry: KEKs are registry-wide (reading one shows only its KMS key id); creating,
    # changing or deleting one needs global config rights. DEKs belong to their subject.
    ("GET", "/dek-registry/v1/keks"): ("any", "read"),
    ("POST", "/dek-registry/v1/keks"): ("global", "config"),
    ("GET", "/dek-registry/v1/keks/{name}"): ("any", "read"),
    ("PUT", "/dek-registry/v1/keks/{name}"): ("global", "config"),
    ("DELETE", "/dek-registry/v1/keks/{name}"): ("global", "config"),
    ("POST", "/dek-registry/v1/keks/{name}/undelete"): ("global", "config"),
    ("GET", "/dek-registry/v1/keks/{name}/deks"): ("list", "read"),
    ("POST", "/dek-registry/v1/keks/{name}/deks"): ("global", "config"),  # legacy: the subject is in the body
    ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}"): ("subject", "write"),
    ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}"): ("subject", "read"),
    ("DELETE", "/dek-registry/v1/keks/{name}/deks/{subject}"): ("subject", "delete"),
    ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}/undelete"): ("subject", "delete"),
    ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}/versions"): ("subject", "read"),
    ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}"): ("subject", "read"),
    ("DELETE", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}"): ("subject", "delete"),
    ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}/undelete"): ("subject", "delete"),
}
# A route missing from POLICY (added later without a rule) needs global config rights.
DEFAULT_POLICY = ("global", "config")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        return None
    return user, password


def qualified(subject: str) -> str:
    return parse_subject(subject).qualified


class Guard:
    """Authenticates every request against an :class:`AuthConfig` and authorises it."""

    CACHE_SIZE = 1024
    CACHE_SECONDS = 300.0

    def __init__(self, config: AuthConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        # Verified credentials, keyed by a keyed digest (never the password itself),
        # so that a client sending Basic on every request pays scrypt once.
        self._key = os.urandom(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    # -- authentication ---------------------------------------------------------

    def _digest(self, user: str, password: str) -> bytes:
        return hashlib.blake2b(f"{user}\0{password}".encode("utf-8", "surrogatepass"), key=self._key).digest()

    def _cached(self, digest: bytes) -> bool:
        with self._lock:
            stamp = self._verified.get(digest)
            if stamp is None or time.monotonic() - stamp > self.CACHE_SECONDS:
                return False
            self._verified.move_to_end(digest)
            return True

    def _remember(self, digest: bytes) -> None:
        with self._lock:
            self._verified[digest] = time.monotonic()
            while len(self._verified) > self.CACHE_SIZE:
                self._verified.popitem(last=False)

    async def authenticate(self, request: Request) -> str:
        credentials = basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            raise Unauthenticated("Unauthorized: credentials are required (HTTP Basic)", self.config.realm)
        user, password = credentials
        digest = self._digest(user, password)
        if not self._cached(digest):
            if not await run_in_threadpool(self.config.verify, user, password):
                raise Unauthenticated("Unauthorized: bad user name or password", self.config.realm)
            self._remember(digest)
        return user

    # -- authorisation ----------------------------------------------------------

    async def check(self, request: Request, route: Route | None, params: dict[str, str]) -> None:
        """Raise 401 or 403 unless the caller may use ``route`` with ``params``."""
        method = request.scope["method"]
        if method == "HEAD":
            method = "GET"
        if route is not None and (route.method, route.template) in PUBLIC:
            return
        user = await self.authenticate(request)
        request.scope[PRINCIPAL_KEY] = user
        if route is None:
            return  # 404 / 405 follow
        kind, operation = POLICY.get((route.method, route.template), DEFAULT_POLICY)
        if kind in ("any", "list"):
            return
        if kind == "global":
            if not self.config.may_global(user, operation):
                raise Forbidden(f"User {user} is not permitted to {operation} the global configuration")
            return
        if kind == "subject":
            subject = qualified(params.get("subject", ""))
            if not self.config.may(user, operation, subject):
                raise Forbidden(f"User {user} is not permitted to {operation} subject '{subject}'")
            return
        if kind == "id":
            subjects = self._subjects_for_id(params.get("id", ""), request.query_params.get("subject"))
        elif kind == "guid":
            subjects = self._subjects_for_guid(params.get("guid", ""))
        else:  # pragma: no cover - POLICY only holds the kinds above
            raise Forbidden(f"User {user} is not permitted to do this")
        if subjects and not any(self.config.may(user, operation, s) for s in subjects):
            raise Forbidden(f"User {user} is not permitted to read this schema")

    def _subjects_for_id(self, text: str, hint: str | None) -> set[str]:
        """The subjects using schema ``text`` (in the hint's context, and the default one);
        empty when there is no such schema, so the handler answers 404."""
        try:
            schema_id = int(text)
        except ValueError:
            return set()
        contexts = {DEFAULT_CONTEXT}
        if hint:
            contexts.add(parse_subject(hint).context)
        state = self.registry.state
        found: set[str] = set()
        for context in contexts:
            found.update(subject for subject, _ in state.id_users.get((context, schema_id), {}))
            record = state.schema_by_id(context, schema_id)
            if record is not None:
                found.add(record.subject)
        return found

    def _subjects_for_guid(self, guid: str) -> set[str]:
        try:
            ids = self.registry.ids_for_guid(guid)
        except SchemaNotFound:
            return set()
        state = self.registry.state
        found: set[str] = set()
        for schema_id, context in ids:
            found.update(subject for subject, _ in state.id_users.get((context, schema_id), {}))
            record = state.schema_by_id(context, schema_id)
            if record is not None:
                found.add(record.subject)
        return found

    # -- list filtering -----------------------------------------------------------

    def filter(self, request: Request, items: list, subject_of: Callable[[Any], str]) -> list:
        """The items whose subject the caller may read."""
        user = request.scope.get(PRINCIPAL_KEY)
        if user is None:
            return []
        may = self.config.may
        return [item for item in items if may(user, "read", qualified(subject_of(item)))]


def caller(request: Request) -> str | None:
    """The authenticated user of a request (None without access control)."""
    return request.scope.get(PRINCIPAL_KEY)
