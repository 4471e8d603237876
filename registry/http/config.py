"""``/config`` and ``/mode``: global, context and subject level."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from . import params
from .api import Api
from .media import read_object
from .routing import Router


def add_routes(router: Router, api: Api) -> None:
    registry = api.registry

    @router.route("GET", "/config")
    async def get_global_config(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, registry.get_config(None))

    @router.route("PUT", "/config")
    async def put_global_config(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, await run_in_threadpool(registry.set_config, None, await read_object(request)))

    @router.route("DELETE", "/config")
    async def delete_global_config(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, await run_in_threadpool(registry.delete_config, None))

    @router.route("GET", "/config/{subject}")
    async def get_config(request: Request, p: dict[str, str]) -> Response:
        config = registry.get_config(p["subject"], default_to_global=params.flag(request, "defaultToGlobal"))
        return api.json(request, config)

    @router.route("PUT", "/config/{subject}")
    async def put_config(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, await run_in_threadpool(registry.set_config, p["subject"], await read_object(request)))

    @router.route("DELETE", "/config/{subject}")
    async def delete_config(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, await run_in_threadpool(registry.delete_config, p["subject"]))

    @router.route("GET", "/mode")
    async def get_global_mode(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {"mode": registry.get_mode(None)})

    @router.route("PUT", "/mode")
    async def put_global_mode(request: Request, p: dict[str, str]) -> Response:
        body = await read_object(request)
        mode = await run_in_threadpool(registry.set_mode, None, body.get("mode"), force=params.flag(request, "force"))
        return api.json(request, {"mode": mode})

    @router.route("DELETE", "/mode")
    async def delete_global_mode(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {"mode": await run_in_threadpool(registry.delete_mode, None)})

    @router.route("GET", "/mode/{subject}")
    async def get_mode(request: Request, p: dict[str, str]) -> Response:
        mode = registry.get_mode(p["subject"], default_to_global=params.flag(request, "defaultToGlobal"))
        return api.json(request, {"mode": mode})

    @router.route("PUT", "/mode/{subject}")
    async def put_mode(request: Request, p: dict[str, str]) -> Response:
        body = await read_object(request)
        mode = await run_in_threadpool(registry.set_mode, p["subject"], body.get("mode"), force=params.flag(request, "force"))
        return api.json(request, {"mode": mode})

    @router.route("DELETE", "/mode/{subject}")
    async def delete_mode(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {"mode": await run_in_threadpool(registry.delete_mode, p["subject"])})
