"""``/compatibility/subjects/{subject}/versions[/{version}]``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..compatibility import CompatibilityResult
from . import params
from .api import Api
from .routing import Router


def _body(result: CompatibilityResult, verbose: bool) -> dict:
    body: dict = {"is_compatible": result.is_compatible}
    if verbose:
        body["messages"] = result.messages
    return body


def add_routes(router: Router, api: Api) -> None:
    registry = api.registry

    @router.route("POST", "/compatibility/subjects/{subject}/versions")
    async def against_all(request: Request, p: dict[str, str]) -> Response:
        verbose = params.flag(request, "verbose")
        result = await api.run(
            registry.check_compatibility,
            p["subject"],
            await api.register_request(request),
            normalize=params.optional_flag(request, "normalize"),
            verbose=verbose,
            caller=api.caller(request),
        )
        return api.json(request, _body(result, verbose))

    @router.route("POST", "/compatibility/subjects/{subject}/versions/{version}")
    async def against_version(request: Request, p: dict[str, str]) -> Response:
        verbose = params.flag(request, "verbose")
        result = await api.run(
            registry.check_compatibility,
            p["subject"],
            await api.register_request(request),
            version=p["version"],
            normalize=params.optional_flag(request, "normalize"),
            verbose=verbose,
            caller=api.caller(request),
        )
        return api.json(request, _body(result, verbose))
