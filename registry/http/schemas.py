"""``/schemas``: by id, by guid, the list and the types."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..errors import SchemaNotFound
from ..formats import SCHEMA_TYPES
from ..subjects import DEFAULT_CONTEXT
from . import params
from .api import Api
from .encode import dumps, schema_object, schema_string, stored_text
from .routing import Router


def _schema_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SchemaNotFound(f"Schema {text} not found") from None
    return value


def add_routes(router: Router, api: Api) -> None:
    registry = api.registry
    state = registry.state

    @router.route("GET", "/schemas/ids/{id}")
    async def by_id(request: Request, p: dict[str, str]) -> Response:
        schema_id = _schema_id(p["id"])
        who = api.caller(request)
        if not request.scope["query_string"]:
            key = ("id", who.cache_key, schema_id)
            cached = state.response_cache.get(key)
            if cached is None:
                generation = state.generation
                record = registry.schema_by_id(schema_id, caller=who)
                cached = dumps(schema_string(record, stored_text(record)))
                state.cache_response(key, cached, generation)
            return api.raw(request, cached)
        subject = params.text(request, "subject")
        record = registry.schema_by_id(schema_id, subject=subject, caller=who)
        max_id = None
        if params.flag(request, "fetchMaxId"):
            max_id = state.max_ids.get(DEFAULT_CONTEXT, 0)
        text = await api.schema_text(request, record)
        return api.json(request, schema_string(record, text, with_subject=subject is not None, max_id=max_id))

    @router.route("GET", "/schemas/ids/{id}/schema")
    async def by_id_raw(request: Request, p: dict[str, str]) -> Response:
        record = registry.schema_by_id(
            _schema_id(p["id"]), subject=params.text(request, "subject"), caller=api.caller(request)
        )
        return api.raw(request, (await api.schema_text(request, record)).encode("utf-8"))

    @router.route("GET", "/schemas/ids/{id}/subjects")
    async def subjects_for_id(request: Request, p: dict[str, str]) -> Response:
        subjects = registry.subjects_for_id(
            _schema_id(p["id"]), subject=params.text(request, "subject"), deleted=params.flag(request, "deleted"),
            caller=api.caller(request),
        )
        return api.json(request, params.paginate(request, subjects))

    @router.route("GET", "/schemas/ids/{id}/versions")
    async def versions_for_id(request: Request, p: dict[str, str]) -> Response:
        records = registry.versions_for_id(
            _schema_id(p["id"]), subject=params.text(request, "subject"), deleted=params.flag(request, "deleted"),
            caller=api.caller(request),
        )
        body = [{"subject": r.subject, "version": r.version} for r in records]
        return api.json(request, params.paginate(request, body))

    @router.route("GET", "/schemas/guids/{guid}")
    async def by_guid(request: Request, p: dict[str, str]) -> Response:
        record = registry.schema_by_guid(p["guid"], caller=api.caller(request))
        return api.json(request, schema_string(record, await api.schema_text(request, record)))

    @router.route("GET", "/schemas/guids/{guid}/ids")
    async def ids_for_guid(request: Request, p: dict[str, str]) -> Response:
        ids = registry.ids_for_guid(p["guid"], caller=api.caller(request))
        return api.json(request, [{"id": i, "context": c} for i, c in ids])

    @router.route("GET", "/schemas/types")
    async def types(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, list(SCHEMA_TYPES))

    @router.route("GET", "/schemas")
    async def list_schemas(request: Request, p: dict[str, str]) -> Response:
        records = registry.list_schemas(
            prefix=params.text(request, "subjectPrefix") or "",
            deleted=params.flag(request, "deleted"),
            latest_only=params.flag(request, "latestOnly"),
            caller=api.caller(request),
        )
        body = [schema_object(r, await api.schema_text(request, r)) for r in params.paginate(request, records)]
        return api.json(request, body)
