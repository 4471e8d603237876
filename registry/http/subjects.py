"""``/subjects``: versions, register, lookup, delete, referencedby, metadata."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..formats import find_format
from ..service import RegisterRequest
from . import params
from .api import Api, parse_register_request
from .cache import response_key
from .encode import dumps, registered, schema_object
from .media import decode_object, read_body
from .routing import Router


def _echo_format(body: RegisterRequest) -> str | None:
    """The form to answer a registration in: the one it was sent in, where the format says
    a client expects that (a Protobuf schema sent as a base64 ``FileDescriptorProto``)."""
    fmt = find_format(body.schema_type)
    return fmt.answer_format(body.schema or "") if fmt is not None else None


def add_routes(router: Router, api: Api) -> None:
    """Hot reads (a version, a lookup) answer pre-encoded bytes from the state's
    response cache, which every applied record clears."""
    registry = api.registry
    state = registry.state

    @router.route("GET", "/subjects")
    async def list_subjects(request: Request, p: dict[str, str]) -> Response:
        names = registry.list_subjects(
            prefix=params.text(request, "subjectPrefix"),
            deleted=params.flag(request, "deleted"),
            deleted_only=params.flag(request, "deletedOnly", "deleted_only"),
            caller=api.caller(request),
        )
        return api.json(request, params.paginate(request, names))

    @router.route("GET", "/subjects/{subject}/versions")
    async def list_versions(request: Request, p: dict[str, str]) -> Response:
        versions = registry.list_versions(
            p["subject"],
            deleted=params.flag(request, "deleted"),
            deleted_only=params.flag(request, "deletedOnly", "deleted_only"),
            deleted_as_negative=params.flag(request, "deletedAsNegative"),
        )
        return api.json(request, params.paginate(request, versions))

    @router.route("POST", "/subjects/{subject}/versions")
    async def register(request: Request, p: dict[str, str]) -> Response:
        body = await api.register_request(request)
        record, write = await api.run(
            registry.register_queued,
            p["subject"],
            body,
            normalize=params.optional_flag(request, "normalize"),
            force=params.flag(request, "force"),
            caller=api.caller(request),
        )
        if write is not None:  # durable before the answer, waiting outside the CPU workers
            await api.workers.wait(registry.durable, write)
        text = await api.schema_text(request, record, _echo_format(body))
        return api.json(request, registered(record, text))

    @router.route("POST", "/subjects/{subject}")
    async def lookup(request: Request, p: dict[str, str]) -> Response:
        body = parse_register_request(decode_object(await read_body(request)))
        who = api.caller(request)
        # Keyed on what the answer depends on (never on bytes the body may carry besides).
        key = response_key("lookup", who, request, p["subject"], body)
        cached = state.response_cache.get(key)
        if cached is not None:
            return api.raw(request, cached)
        generation = state.generation
        record = await api.run(
            registry.lookup,
            p["subject"],
            body,
            normalize=params.optional_flag(request, "normalize"),
            deleted=params.flag(request, "deleted"),
            caller=who,
        )
        text = await api.schema_text(request, record)
        payload = dumps(schema_object(record, text, subject=p["subject"]))
        state.cache_response(key, payload, generation)
        return api.raw(request, payload)

    @router.route("GET", "/subjects/{subject}/versions/{version}")
    async def get_version(request: Request, p: dict[str, str]) -> Response:
        key = response_key("version", api.caller(request), request, p["subject"], p["version"])
        cached = state.response_cache.get(key)
        if cached is not None:
            return api.raw(request, cached)
        generation = state.generation
        record = registry.get_version(p["subject"], p["version"], deleted=params.flag(request, "deleted"))
        text = await api.schema_text(request, record)
        payload = dumps(schema_object(record, text, subject=p["subject"]))
        state.cache_response(key, payload, generation)
        return api.raw(request, payload)

    @router.route("GET", "/subjects/{subject}/versions/{version}/schema")
    async def get_version_schema(request: Request, p: dict[str, str]) -> Response:
        record = registry.get_version(p["subject"], p["version"], deleted=params.flag(request, "deleted"))
        return api.raw(request, (await api.schema_text(request, record)).encode("utf-8"))

    @router.route("GET", "/subjects/{subject}/versions/{version}/referencedby")
    async def referenced_by(request: Request, p: dict[str, str]) -> Response:
        ids = registry.referenced_by(
            p["subject"], p["version"], deleted=params.flag(request, "deleted"), caller=api.caller(request)
        )
        return api.json(request, params.paginate(request, ids))

    @router.route("DELETE", "/subjects/{subject}/versions/{version}")
    async def delete_version(request: Request, p: dict[str, str]) -> Response:
        version = await run_in_threadpool(
            registry.delete_version, p["subject"], p["version"], permanent=params.flag(request, "permanent")
        )
        return api.json(request, version)

    @router.route("DELETE", "/subjects/{subject}")
    async def delete_subject(request: Request, p: dict[str, str]) -> Response:
        versions = await run_in_threadpool(
            registry.delete_subject, p["subject"], permanent=params.flag(request, "permanent")
        )
        return api.json(request, versions)

    @router.route("GET", "/subjects/{subject}/metadata")
    async def latest_with_metadata(request: Request, p: dict[str, str]) -> Response:
        keys = request.query_params.getlist("key")
        values = request.query_params.getlist("value")
        record = registry.latest_with_metadata(
            p["subject"], dict(zip(keys, values, strict=False)), deleted=params.flag(request, "deleted")
        )
        text = await api.schema_text(request, record)
        return api.json(request, schema_object(record, text, subject=p["subject"]))
