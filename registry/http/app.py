"""The ASGI application: the Confluent REST API over one :class:`Registry`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import deadline
from ..errors import RegistryError
from ..service import Registry
from . import compatibility, config, dek_registry, ops, root, schemas, subjects
from .api import Api
from .auth import Guard
from .encode import dumps
from .forwarding import Forwarding
from .limits import with_timeout
from .media import V1_JSON
from .metrics import metrics_for
from .routing import Router

log = logging.getLogger("schemahub")


def build_router(api: Api) -> Router:
    router = Router()
    root.add_routes(router, api)
    subjects.add_routes(router, api)
    schemas.add_routes(router, api)
    config.add_routes(router, api)
    compatibility.add_routes(router, api)
    ops.add_routes(router, api)
    dek_registry.add_routes(router, api)
    return router


def error_response(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = dumps({"error_code": code, "message": message})
    return Response(body, status_code=status, media_type=V1_JSON, headers=headers)


class RegistryApp:
    """Routes on the raw path and answers every failure as a Confluent error body."""

    def __init__(self, registry: Registry, *, auth=None, tokens=None, request_timeout: float | None = None) -> None:
        self.registry = registry
        self.api = Api(registry)
        self.router = build_router(self.api)
        self.metrics = metrics_for(registry)
        self.request_timeout = request_timeout
        # a registry.access.users.AuthConfig: access control on every route; tokens, a
        # registry.access.tokens.TokenVerifier: bearer tokens beside Basic
        self.guard = Guard(auth, tokens) if auth is not None else None
        self.forwarding = Forwarding(registry.store)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        route, path_params, known = self.router.resolve(scope["method"], raw_path.split(b"?", 1)[0])
        started = time.perf_counter()
        try:
            if self.guard is not None:
                await self.guard.check(request, route, path_params)
            if route is None:
                if known:
                    response = error_response(405, 405, "HTTP 405 Method Not Allowed")
                else:
                    response = error_response(404, 404, "HTTP 404 Not Found")
            else:
                token = deadline.start(self.request_timeout)
                try:
                    work = self.forwarding.dispatch(route, request, path_params)
                    response = await with_timeout(work, self.request_timeout)
                finally:
                    deadline.end(token)
        except RegistryError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.headers)
        except ClientDisconnect:  # the client left (a follower passed its request on): no one to answer
            return
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            response = error_response(500, 50001, "Internal server error")
        template = route.template if route is not None else ""
        self.metrics.observe_request(scope["method"], template, response.status_code, time.perf_counter() - started)
        await response(scope, receive, send)


THREAD_STACK_BYTES = 256 * 1024 * 1024


def create_app(
    registry: Registry, *, auth=None, tokens=None, request_timeout: float | None = None, ui: bool = True
) -> Starlette:
    """The ASGI app. Worker threads get a large stack: the schema engines recurse
    deeply on legitimately deep schemas, and hostile ones must fail cleanly.
    ``auth`` (a :class:`registry.access.users.AuthConfig`) turns on access control;
    ``tokens`` (a :class:`registry.access.tokens.TokenVerifier`) accepts bearer tokens too;
    ``request_timeout`` bounds each handler (408); ``ui`` mounts the web console at ``/ui``, whose
    subject index is built in the background from the lifespan's start."""
    threading.stack_size(THREAD_STACK_BYTES)
    api = RegistryApp(registry, auth=auth, tokens=tokens, request_timeout=request_timeout)
    app = Application(api, ui)
    if ui:
        from ..ui import Console

        console = Console(registry, api.guard)
        app.mount("/ui", console)
        app.state.console = console
    app.state.registry = registry
    return app


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    console = getattr(app.state, "console", None)
    if console is not None:
        console.build_index_in_background()
    yield


class Application(Starlette):
    """Starlette for the console (``/ui``) and the lifespan; an API request goes straight to
    :class:`RegistryApp`, which answers every failure itself, instead of through Starlette's
    error and exception middleware and its router (a third of a cached answer's time)."""

    def __init__(self, api: RegistryApp, ui: bool) -> None:
        super().__init__(lifespan=_lifespan)
        self.router.default = api
        self.api = api
        self.ui = ui

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if not self.ui or not (path == "/ui" or path.startswith("/ui/")):
                await self.api(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
