"""The ASGI application: the Confluent REST API over one :class:`Registry`."""

from __future__ import annotations

import logging
import threading

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..errors import RegistryError
from ..service import Registry
from . import compatibility, config, root, schemas, subjects
from .api import Api
from .encode import dumps
from .media import V1_JSON
from .routing import Router

log = logging.getLogger("schemahub")


def build_router(api: Api) -> Router:
    router = Router()
    root.add_routes(router, api)
    subjects.add_routes(router, api)
    schemas.add_routes(router, api)
    config.add_routes(router, api)
    compatibility.add_routes(router, api)
    return router


def error_response(status: int, code: int, message: str) -> Response:
    return Response(dumps({"error_code": code, "message": message}), status_code=status, media_type=V1_JSON)


class RegistryApp:
    """Routes on the raw path and answers every failure as a Confluent error body."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.api = Api(registry)
        self.router = build_router(self.api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        route, path_params, known = self.router.resolve(scope["method"], raw_path.split(b"?", 1)[0])
        try:
            if route is None:
                if known:
                    response = error_response(405, 405, "HTTP 405 Method Not Allowed")
                else:
                    response = error_response(404, 404, "HTTP 404 Not Found")
            else:
                response = await route.handler(request, path_params)
        except RegistryError as exc:
            response = error_response(exc.status, exc.code, exc.message)
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            response = error_response(500, 50001, "Internal server error")
        await response(scope, receive, send)


THREAD_STACK_BYTES = 256 * 1024 * 1024


def create_app(registry: Registry) -> Starlette:
    """The ASGI app. Worker threads get a large stack: the schema engines recurse
    deeply on legitimately deep schemas, and hostile ones must fail cleanly."""
    threading.stack_size(THREAD_STACK_BYTES)
    app = Starlette()
    app.router.default = RegistryApp(registry)
    app.state.registry = registry
    return app
