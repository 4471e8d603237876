"""Keys of the state's response cache (:attr:`registry.state.RegistryState.response_cache`).

A key holds what the answer depends on: the route, the caller (answers differ per
user under access control), the path parameters, the query string and, for a
lookup, the parsed request, never the raw body (bytes a client may pad at will).
A request whose key would be large (a long query string, a large schema) is not
cached at all: :func:`response_key` answers None.
"""

from __future__ import annotations

from collections.abc import Hashable

import orjson
from starlette.requests import Request

from ..access.caller import Caller
from ..service import RegisterRequest

MAX_QUERY_BYTES = 512
MAX_KEY_BYTES = 64 * 1024


def response_key(kind: str, caller: Caller, request: Request, *parts: str | RegisterRequest) -> tuple | None:
    query: bytes = request.scope["query_string"]
    if len(query) > MAX_QUERY_BYTES:
        return None
    items: list[Hashable] = [kind, caller.cache_key, query]
    size = len(query)
    for part in parts:
        if isinstance(part, RegisterRequest):
            extra = orjson.dumps([part.metadata, part.rule_set], option=orjson.OPT_SORT_KEYS)
            items += [part.schema, part.schema_type, part.references, extra, part.id, part.version]
            size += len(part.schema or "") + len(extra) + 64 * len(part.references)
        else:
            items.append(part)
            size += len(part)
    return tuple(items) if size <= MAX_KEY_BYTES else None

