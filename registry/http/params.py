"""Query parameters parsed the way Confluent's Java server reads them."""

from __future__ import annotations

from starlette.requests import Request

from ..errors import BadRequest


def flag(request: Request, *names: str, default: bool = False) -> bool:
    """A boolean parameter: ``true`` in any case is true (Java's ``Boolean.valueOf``)."""
    for name in names:
        value = request.query_params.get(name)
        if value is not None:
            return value.strip().lower() == "true"
    return default


def optional_flag(request: Request, name: str) -> bool | None:
    value = request.query_params.get(name)
    return None if value is None else value.strip().lower() == "true"


def integer(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Query parameter {name} must be an integer, got '{value}'") from None


def text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def paginate(request: Request, items: list) -> list:
    """Apply ``offset`` and ``limit`` (a negative or zero limit means all)."""
    offset = max(integer(request, "offset", 0), 0)
    limit = integer(request, "limit", -1)
    items = items[offset:]
    if limit > 0:
        items = items[:limit]
    return items
