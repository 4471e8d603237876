"""Content negotiation and request bodies, as Confluent's REST layer does them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request

from ..errors import BadRequest, NotAcceptable, PayloadTooLarge, UnsupportedMediaType

V1_JSON = "application/vnd.schemaregistry.v1+json"
SR_JSON = "application/vnd.schemaregistry+json"
JSON = "application/json"
PRODUCED = (V1_JSON, SR_JSON, JSON)
CONSUMED = frozenset({V1_JSON, SR_JSON, JSON, "application/octet-stream"})
MAX_BODY_BYTES = 8 * 1024 * 1024


def response_media_type(accept: str | None) -> str:
    """The type to answer with for an ``Accept`` header; 406 when none fits."""
    if not accept:
        return V1_JSON
    if len(accept) <= 256:
        return _negotiate_cached(accept)
    return _negotiate(accept)


@lru_cache(maxsize=256)
def _negotiate_cached(accept: str) -> str:
    return _negotiate(accept)


def _negotiate(accept: str) -> str:
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        fields = [f.strip() for f in item.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in ("*/*", "application/*", V1_JSON):
            candidate = V1_JSON
        elif media in PRODUCED:
            candidate = media
        else:
            continue
        rank = (quality, -PRODUCED.index(candidate), candidate)
        if best is None or rank > best:
            best = rank
    if best is None:
        raise NotAcceptable("HTTP 406 Not Acceptable")
    return best[2]


async def read_body(request: Request) -> bytes:
    """The raw request body (also kept as ``request.state.body``); 415 for foreign content types,
    413 when too large."""
    kept = getattr(request.state, "body", None)
    if kept is not None:
        return kept
    content_type = request.headers.get("content-type")
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if media not in CONSUMED:
            raise UnsupportedMediaType("HTTP 415 Unsupported Media Type")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Request body is larger than {MAX_BODY_BYTES} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"Request body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request.state.body = body  # kept: a write may still be forwarded after its handler read it
    return body


def decode_json(body: bytes) -> Any:
    """JSON from body bytes; 400 when empty or malformed."""
    if not body.strip():
        raise BadRequest("Request body is empty: expected a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None


def decode_object(body: bytes) -> dict:
    value = decode_json(body)
    if not isinstance(value, dict):
        raise BadRequest(f"Expected a JSON object as the request body, got {type(value).__name__}")
    return value


async def read_json(request: Request) -> Any:
    return decode_json(await read_body(request))


async def read_object(request: Request) -> dict:
    return decode_object(await read_body(request))
