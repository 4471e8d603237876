"""HTTP Basic and bearer-token authentication and the route check, consulted before every handler.

:class:`Guard` is a thin layer: :meth:`Guard.check` runs in ``RegistryApp`` after
routing and before the handler. It authenticates the caller
(:class:`registry.access.passwords.PasswordChecker` for Basic,
:class:`registry.access.tokens.TokenVerifier` for ``Authorization: Bearer`` when
tokens are on), refuses what the route itself needs and the caller lacks
(:func:`registry.access.routes.authorize`) and leaves the caller in the request
scope, where :func:`caller` finds it for the registry's operations, which filter
what they answer (:mod:`registry.access.caller`). A refused token is a 401 with
``WWW-Authenticate: Bearer error="invalid_token"`` and the reason.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from ..access.caller import ANYONE, Caller
from ..access.passwords import PasswordChecker
from ..access.routes import PUBLIC, authorize
from ..access.tokens import InvalidToken, KeysUnavailable, TokenVerifier
from ..access.users import AuthConfig
from ..errors import AuthUnavailable, Unauthenticated
from .params import flag
from .routing import Route

CALLER_KEY = "schemahub.caller"


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


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    scheme, _, value = (header or "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


class Guard:
    """Authenticates every request against an :class:`AuthConfig` (and bearer tokens with a
    :class:`TokenVerifier`) and checks its route."""

    def __init__(self, config: AuthConfig, tokens: TokenVerifier | None = None) -> None:
        self.config = config
        self.tokens = tokens
        self.passwords = PasswordChecker(config.verify)

    def _challenge(self, error: str | None = None) -> str | None:
        """The ``WWW-Authenticate`` value: Basic, and Bearer (with ``error``) when tokens are on."""
        realm = self.config.realm
        if self.tokens is None:
            return None
        bearer = f'Bearer realm="{realm}"' + (f', error="invalid_token", error_description="{_quoted(error)}"'
                                             if error else "")
        if error or not self.config.users:
            return bearer
        return f'Basic realm="{realm}", charset="UTF-8", {bearer}'

    async def authenticate(self, request: Request) -> Caller:
        header = request.headers.get("authorization")
        token = bearer_token(header)
        if token is not None and self.tokens is not None:
            try:
                identity = await self.tokens.verify(token)
            except InvalidToken as exc:
                raise Unauthenticated(f"Unauthorized: {exc}", self.config.realm, self._challenge(str(exc))) from None
            except KeysUnavailable as exc:
                raise AuthUnavailable(f"Cannot check the bearer token: the signing keys are unavailable ({exc})") from None
            return Caller(identity.name, self.config, identity.groups)
        credentials = basic_credentials(header)
        if credentials is None:
            wanted = "HTTP Basic or a bearer token" if self.tokens is not None else "HTTP Basic"
            raise Unauthenticated(f"Unauthorized: credentials are required ({wanted})", self.config.realm,
                                  self._challenge())
        user, password = credentials
        client = request.scope.get("client")
        address = client[0] if client else ""
        if not await self.passwords.check(user, password, address):
            raise Unauthenticated("Unauthorized: bad user name or password", self.config.realm, self._challenge())
        return Caller(user, self.config)

    async def check(self, request: Request, route: Route | None, params: dict[str, str]) -> None:
        """Raise 401, 403 or 429 unless the caller may use ``route`` with ``params``."""
        if route is not None and (route.method, route.template) in PUBLIC:
            request.scope[CALLER_KEY] = Caller(None, self.config)  # may read nothing
            return
        who = await self.authenticate(request)
        request.scope[CALLER_KEY] = who
        if route is None:
            return  # 404 / 405 follow
        authorize(who, route.method, route.template, params, force=flag(request, "force"))


def caller(request: Request) -> Caller:
    """Who asks: the authenticated caller, or :data:`ANYONE` without access control."""
    return request.scope.get(CALLER_KEY, ANYONE)
