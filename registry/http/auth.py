"""HTTP Basic authentication and the route check, consulted before every handler.

:class:`Guard` is a thin layer: :meth:`Guard.check` runs in ``RegistryApp`` after
routing and before the handler. It authenticates the caller
(:class:`registry.access.passwords.PasswordChecker`), refuses what the route itself
needs and the caller lacks (:func:`registry.access.routes.authorize`) and leaves
the caller in the request scope, where :func:`caller` finds it for the registry's
operations, which filter what they answer (:mod:`registry.access.caller`).
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from ..access.caller import ANYONE, Caller
from ..access.passwords import PasswordChecker
from ..access.routes import PUBLIC, authorize
from ..access.users import AuthConfig
from ..errors import Unauthenticated
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


class Guard:
    """Authenticates every request against an :class:`AuthConfig` and checks its route."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.passwords = PasswordChecker(config.verify)

    async def authenticate(self, request: Request) -> str:
        credentials = basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            raise Unauthenticated("Unauthorized: credentials are required (HTTP Basic)", self.config.realm)
        user, password = credentials
        client = request.scope.get("client")
        address = client[0] if client else ""
        if not await self.passwords.check(user, password, address):
            raise Unauthenticated("Unauthorized: bad user name or password", self.config.realm)
        return user

    async def check(self, request: Request, route: Route | None, params: dict[str, str]) -> None:
        """Raise 401, 403 or 429 unless the caller may use ``route`` with ``params``."""
        if route is not None and (route.method, route.template) in PUBLIC:
            request.scope[CALLER_KEY] = Caller(None, self.config)  # may read nothing
            return
        who = Caller(await self.authenticate(request), self.config)
        request.scope[CALLER_KEY] = who
        if route is None:
            return  # 404 / 405 follow
        authorize(who, route.method, route.template, params, force=flag(request, "force"))


def caller(request: Request) -> Caller:
    """Who asks: the authenticated caller, or :data:`ANYONE` without access control."""
    return request.scope.get(CALLER_KEY, ANYONE)
