"""What every route needs: the registry, response encoding and body decoding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from ..access.caller import Caller
from ..contracts import check_metadata, check_rule_set
from ..errors import BadRequest
from ..formats import DEFAULT_SCHEMA_TYPE, Reference
from ..service import RegisterRequest, Registry
from ..stores.records import SchemaRecord
from . import params
from .auth import caller
from .encode import dumps, stored_text
from .limits import check_schema_size
from .media import read_object, response_media_type
from .workers import Workers
from .workers import shared as shared_workers

T = TypeVar("T")


class Api:
    def __init__(self, registry: Registry, workers: Workers | None = None) -> None:
        self.registry = registry
        self.workers = workers or shared_workers

    def caller(self, request: Request) -> Caller:
        return caller(request)

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """CPU work (parsing, rendering, checking) off the event loop, in the bounded pool."""
        return await self.workers.run(fn, *args, **kwargs)

    def json(self, request: Request, body: Any, status_code: int = 200) -> Response:
        media = response_media_type(request.headers.get("accept"))
        return Response(dumps(body), status_code=status_code, media_type=media)

    def raw(self, request: Request, payload: bytes) -> Response:
        media = response_media_type(request.headers.get("accept"))
        return Response(payload, media_type=media)

    async def schema_text(self, request: Request, record: SchemaRecord, fmt: str | None = None) -> str:
        """The stored text, or the schema rendered in the request's ``format=`` (or ``fmt``),
        rendered off the loop: it may parse (Protobuf compiles after a restart)."""
        fmt = params.text(request, "format") or fmt
        if not fmt:
            return stored_text(record)
        return await self.run(self.registry.schema_text, record, fmt, caller=self.caller(request))

    async def register_request(self, request: Request) -> RegisterRequest:
        return parse_register_request(await read_object(request))


def _typed(body: dict, name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if value is not None and (not isinstance(value, kind) or (isinstance(value, bool) and kind is int)):
        raise BadRequest(f"Field '{name}' must be {what}")
    return value


def parse_register_request(body: dict) -> RegisterRequest:
    """``RegisterSchemaRequest`` from a JSON object; unknown fields are ignored."""
    schema = _typed(body, "schema", str, "a string")
    schema_type = _typed(body, "schemaType", str, "a string") or DEFAULT_SCHEMA_TYPE
    check_schema_size(schema_type.upper(), schema)
    raw_refs = _typed(body, "references", list, "a list of {name, subject, version}") or []
    references = []
    for item in raw_refs:
        if not isinstance(item, dict):
            raise BadRequest("Each reference must be an object {name, subject, version}")
        name, subject, version = item.get("name"), item.get("subject"), item.get("version")
        if not isinstance(name, str) or not isinstance(subject, str) or not name or not subject:
            raise BadRequest("A reference needs a non-empty string 'name' and 'subject'")
        if not isinstance(version, int) or isinstance(version, bool) or not -(2**31) <= version <= INT32_MAX:
            raise BadRequest("A reference needs a 32-bit integer 'version'")
        references.append(Reference(name, subject, version))
    return RegisterRequest(
        schema=schema,
        schema_type=schema_type.upper(),
        references=tuple(references),
        metadata=check_metadata(body.get("metadata")),
        rule_set=check_rule_set(body.get("ruleSet")),
        id=_int32(body, "id"),
        version=_int32(body, "version"),
    )


INT32_MAX = 2**31 - 1


def _int32(body: dict, name: str) -> int | None:
    value = _typed(body, name, int, "an integer")
    if value is not None and not -(2**31) <= value <= INT32_MAX:
        raise BadRequest(f"Field '{name}' must be a 32-bit integer")
    return value
