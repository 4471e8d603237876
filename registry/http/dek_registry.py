"""``/dek-registry/v1``: Confluent's DEK Registry routes over :mod:`registry.dek_registry`."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..access.caller import readable_names
from ..service import parse_version
from . import params
from .api import Api
from .media import read_object
from .routing import Router

PREFIX = "/dek-registry/v1/keks"


def add_routes(router: Router, api: Api) -> None:
    keys = api.registry.keys

    def no_content() -> Response:
        return Response(status_code=204)

    @router.route("GET", PREFIX)
    async def list_keks(request: Request, p: dict[str, str]) -> Response:
        prefixes = request.query_params.getlist("subjectPrefix")
        names = keys.kek_names(prefixes, params.flag(request, "deleted"))
        return api.json(request, params.paginate(request, names))

    @router.route("POST", PREFIX)
    async def create_kek(request: Request, p: dict[str, str]) -> Response:
        body = await read_object(request)
        return api.json(request, await run_in_threadpool(keys.create_kek, body))

    @router.route("GET", PREFIX + "/{name}")
    async def get_kek(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, keys.get_kek(p["name"], params.flag(request, "deleted")))

    @router.route("PUT", PREFIX + "/{name}")
    async def update_kek(request: Request, p: dict[str, str]) -> Response:
        body = await read_object(request)
        return api.json(request, await run_in_threadpool(keys.update_kek, p["name"], body))

    @router.route("DELETE", PREFIX + "/{name}")
    async def delete_kek(request: Request, p: dict[str, str]) -> Response:
        await run_in_threadpool(keys.delete_kek, p["name"], params.flag(request, "permanent"))
        return no_content()

    @router.route("POST", PREFIX + "/{name}/undelete")
    async def undelete_kek(request: Request, p: dict[str, str]) -> Response:
        await run_in_threadpool(keys.undelete_kek, p["name"])
        return no_content()

    @router.route("GET", PREFIX + "/{name}/deks")
    async def list_dek_subjects(request: Request, p: dict[str, str]) -> Response:
        subjects = readable_names(api.caller(request), keys.dek_subjects(p["name"], params.flag(request, "deleted")))
        return api.json(request, params.paginate(request, subjects))

    @router.route("POST", PREFIX + "/{name}/deks")
    async def create_dek(request: Request, p: dict[str, str]) -> Response:
        body = await read_object(request)
        return api.json(request, await run_in_threadpool(keys.create_dek, p["name"], None, body))

    @router.route("POST", PREFIX + "/{name}/deks/{subject}")
    async def create_dek_for_subject(request: Request, p: dict[str, str]) -> Response:
        body = await read_object(request)
        return api.json(request, await run_in_threadpool(keys.create_dek, p["name"], p["subject"], body))

    @router.route("GET", PREFIX + "/{name}/deks/{subject}")
    async def get_dek(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, keys.get_dek(p["name"], p["subject"], 1, params.text(request, "algorithm"),
                                              params.flag(request, "deleted")))

    @router.route("DELETE", PREFIX + "/{name}/deks/{subject}")
    async def delete_dek(request: Request, p: dict[str, str]) -> Response:
        await run_in_threadpool(keys.delete_dek, p["name"], p["subject"], None, params.text(request, "algorithm"),
                                params.flag(request, "permanent"))
        return no_content()

    @router.route("POST", PREFIX + "/{name}/deks/{subject}/undelete")
    async def undelete_dek(request: Request, p: dict[str, str]) -> Response:
        await run_in_threadpool(keys.undelete_dek, p["name"], p["subject"], None, params.text(request, "algorithm"))
        return no_content()

    @router.route("GET", PREFIX + "/{name}/deks/{subject}/versions")
    async def list_dek_versions(request: Request, p: dict[str, str]) -> Response:
        versions = keys.dek_versions(p["name"], p["subject"], params.text(request, "algorithm"),
                                     params.flag(request, "deleted"))
        return api.json(request, params.paginate(request, versions))

    @router.route("GET", PREFIX + "/{name}/deks/{subject}/versions/{version}")
    async def get_dek_version(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, keys.get_dek(p["name"], p["subject"], parse_version(p["version"]),
                                              params.text(request, "algorithm"), params.flag(request, "deleted")))

    @router.route("DELETE", PREFIX + "/{name}/deks/{subject}/versions/{version}")
    async def delete_dek_version(request: Request, p: dict[str, str]) -> Response:
        await run_in_threadpool(keys.delete_dek, p["name"], p["subject"], parse_version(p["version"]),
                                params.text(request, "algorithm"), params.flag(request, "permanent"))
        return no_content()

    @router.route("POST", PREFIX + "/{name}/deks/{subject}/versions/{version}/undelete")
    async def undelete_dek_version(request: Request, p: dict[str, str]) -> Response:
        await run_in_threadpool(keys.undelete_dek, p["name"], p["subject"], parse_version(p["version"]),
                                params.text(request, "algorithm"))
        return no_content()
