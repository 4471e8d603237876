"""Operations routes: ``/metrics`` (Prometheus text), ``/health`` (live) and ``/ready``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .api import Api
from .metrics import CONTENT_TYPE, metrics_for
from .routing import Router


def store_ready(api: Api) -> tuple[bool, str]:
    """Whether the store is open and (for a clustered store) caught up with a known leader.

    A store may define ``ready() -> bool`` (e.g. caught up with its log); otherwise
    a cheap read proves it is open, and ``is_leader() or leader_url()`` that a leader is known."""
    store = api.registry.store
    try:
        ready = getattr(store, "ready", None)
        if callable(ready):
            if not ready():
                return False, "store not ready"
        else:
            store.id_high_water()
        if not (store.is_leader() or store.leader_url()):
            return False, "leader not known"
    except Exception as exc:  # a closed or failing store is simply not ready
        return False, f"store unavailable: {type(exc).__name__}"
    return True, "ready"


def add_routes(router: Router, api: Api) -> None:
    metrics = metrics_for(api.registry)

    @router.route("GET", "/metrics")
    async def prometheus(request: Request, p: dict[str, str]) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @router.route("GET", "/health")
    async def health(request: Request, p: dict[str, str]) -> Response:
        return api.json(request, {"status": "UP"})

    @router.route("GET", "/ready")
    async def ready(request: Request, p: dict[str, str]) -> Response:
        ok, reason = store_ready(api)
        return api.json(request, {"status": "UP" if ok else "DOWN", "reason": reason}, status_code=200 if ok else 503)
