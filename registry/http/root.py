"""Root, server metadata, contexts and the association read the clients make."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import __version__
from . import params
from .api import Api
from .media import read_json
from .routing import Router


def add_routes(router: Router, api: Api) -> None:
    registry = api.registry

    @router.route("GET", "/")
    async def root(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {})

    @router.route("POST", "/")
    async def root_post(request: Request, p: dict[str, str]) -> Response:
        await read_json(request)
        return api.json(request, {})

    @router.route("GET", "/v1/metadata/id")
    async def metadata_id(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {"scope": {"path": [], "clusters": registry.store.cluster_ids()}})

    @router.route("GET", "/v1/metadata/version")
    async def metadata_version(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {"version": __version__, "commitId": "schemahub"})

    @router.route("GET", "/v1/metadata/deployment")
    async def metadata_deployment(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {"attributes": ["schemahub"]})

    @router.route("GET", "/contexts")
    async def contexts(request: Request, p: dict[str, str]) -> Response:
        names = registry.contexts(caller=api.caller(request))
        prefix = params.text(request, "contextPrefix")
        if prefix:
            names = [n for n in names if n.startswith(prefix)]
        return api.json(request, params.paginate(request, names))

    @router.route("DELETE", "/contexts/{context}")
    async def delete_context(request: Request, p: dict[str, str]) -> Response:
        await api.run(registry.delete_context, p["context"])
        return Response(status_code=204)

    @router.route("GET", "/associations/resources/{namespace}/{name}")
    async def associations(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, [])
