"""A router that matches on the raw path, one percent-decoded segment at a time.

Confluent clients percent-encode subjects with ``safe=''``, so a subject such
as ``common/dep.proto`` arrives as ``common%2Fdep.proto``. Routing on the
decoded path would split it; routing on raw segments keeps it whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    segments: tuple[str, ...]

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for want, got in zip(self.segments, parts, strict=False):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._by_head: dict[tuple[str, int], list[Route]] = {}

    def add(self, method: str, template: str, handler: Handler) -> None:
        segments = tuple(s for s in template.split("/") if s)
        route = Route(method, template, handler, segments)
        self.routes.append(route)
        head = segments[0] if segments else ""
        self._by_head.setdefault((head, len(segments)), []).append(route)

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    def resolve(self, method: str, raw_path: bytes) -> tuple[Route | None, dict[str, str], bool]:
        """The route for ``method`` and the raw path, its parameters, and whether
        the path matched some other method (for 405)."""
        text = raw_path.decode("latin-1")
        if "%" in text:
            parts = [unquote(p, encoding="utf-8", errors="replace") for p in text.split("/") if p]
        else:
            parts = [p for p in text.split("/") if p]
        head = parts[0] if parts else ""
        path_known = False
        for route in self._by_head.get((head, len(parts)), ()):
            params = route.match(parts)
            if params is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, params, True
            path_known = True
        return None, {}, path_known
