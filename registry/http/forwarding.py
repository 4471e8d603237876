"""Writes go to the leader: a follower forwards them over HTTP.

:class:`Forwarding` is consulted by :class:`registry.http.app.RegistryApp`
for every route. Reads and writes on the leader run locally; a write on a
follower is proxied to the leader's advertised URL with Content-Type, Accept,
Authorization and X-Request-ID (as Confluent's ``RequestHeaderBuilder``).
A leader that cannot be reached is tried again (it may be restarting on the
same URL) until another is announced or the wait runs out; one that keeps
silent (a paused process) is left as soon as another leader is announced; a write this
instance admitted as leader but could not write because leadership moved
meanwhile (:class:`LeadershipLost`: nothing was written) goes to the new
leader. No leader known within the wait → 50004; the leader unreachable → 50003.
A single-node store is always the leader, so nothing changes for SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

import httpx
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ForwardingFailed, LeaderNotKnown, LeadershipLost
from ..stores.base import Store
from .media import read_body
from .routing import Route

log = logging.getLogger("schemahub.forwarding")

# (method, route template) of every write.
WRITE_ROUTES = frozenset(
    {
        ("POST", "/subjects/{subject}/versions"),
        ("DELETE", "/subjects/{subject}/versions/{version}"),
        ("DELETE", "/subjects/{subject}"),
        ("PUT", "/config"),
        ("DELETE", "/config"),
        ("PUT", "/config/{subject}"),
        ("DELETE", "/config/{subject}"),
        ("PUT", "/mode"),
        ("DELETE", "/mode"),
        ("PUT", "/mode/{subject}"),
        ("DELETE", "/mode/{subject}"),
        ("DELETE", "/contexts/{context}"),
        ("POST", "/dek-registry/v1/keks"),
        ("PUT", "/dek-registry/v1/keks/{name}"),
        ("DELETE", "/dek-registry/v1/keks/{name}"),
        ("POST", "/dek-registry/v1/keks/{name}/undelete"),
        ("POST", "/dek-registry/v1/keks/{name}/deks"),
        ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}"),
        ("DELETE", "/dek-registry/v1/keks/{name}/deks/{subject}"),
        ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}/undelete"),
        ("DELETE", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}"),
        ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}/undelete"),
    }
)
PASSED_HEADERS = ("content-type", "accept", "authorization", "x-request-id")
FORWARDED_HEADER = "x-schemahub-forwarded"  # how many times the request was forwarded
MAX_HOPS = 2
RETRY_PAUSE = 0.2  # seconds between attempts at a leader that did not answer
LEADER_CHECK = 0.25  # seconds between looks at the announced leader while one does not answer


class Forwarding:
    def __init__(self, store: Store, *, leader_wait: float = 10.0, timeout: float = 30.0) -> None:
        self.store = store
        self.leader_wait = leader_wait
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def is_write(self, route: Route) -> bool:
        return (route.method, route.template) in WRITE_ROUTES

    def dispatch(self, route: Route, request: Request, params: dict[str, str]) -> Awaitable[Response]:
        """The answer to await: the handler's for a read; for a write, the handler's on the
        leader, else the leader's, forwarded."""
        if not self.is_write(route):
            return route.handler(request, params)
        return self._write(route, request, params)

    async def _write(self, route: Route, request: Request, params: dict[str, str]) -> Response:
        try:  # hops so far: a request forwarded to a deposed leader may go on once more, never loop
            hops = int(request.headers.get(FORWARDED_HEADER) or 0)
        except ValueError:
            hops = MAX_HOPS
        forwarded = hops >= MAX_HOPS
        deadline = time.monotonic() + self.leader_wait
        failed: str | None = None
        last_error = ""
        while True:
            if self.store.is_leader():
                try:
                    return await self._local(route, request, params)
                except LeadershipLost:
                    if forwarded or time.monotonic() >= deadline:
                        raise
                    # nothing was written: hand the request to the leader elected meanwhile
            url = self.store.leader_url()
            if url and not forwarded:
                try:
                    response = await self._forward_watching(url, request, hops + 1)
                except httpx.TransportError as exc:
                    # the leader may just have died, or be restarting on the same URL: retry until the deadline
                    if url != failed:
                        log.warning("forwarding to the leader %s failed: %s", url, exc)
                    failed, last_error = url, f"{type(exc).__name__}: {exc}"
                    await asyncio.sleep(RETRY_PAUSE)
                else:
                    if response is None:  # another leader was elected while this one kept silent
                        continue
                    if response.status_code == 200:
                        sync = getattr(self.store, "sync", None)
                        if sync is not None:  # read-your-writes on this follower
                            await asyncio.to_thread(sync, 2.0)
                    return response
            if time.monotonic() >= deadline:
                if failed is not None:
                    raise ForwardingFailed(f"Error while forwarding the request to the leader {failed}: {last_error}")
                raise LeaderNotKnown()
            await asyncio.sleep(0.05)

    async def _local(self, route: Route, request: Request, params: dict[str, str]) -> Response:
        pin = getattr(self.store, "pin_term", None)
        if pin is None or not self.is_write(route):
            return await route.handler(request, params)
        token = pin()
        try:
            return await route.handler(request, params)
        finally:
            self.store.unpin(token)  # type: ignore[attr-defined]

    async def _forward_watching(self, leader: str, request: Request, hops: int) -> Response | None:
        """The leader's answer; None if, while it kept silent, another leader was announced (or this
        instance became it): a stalled leader cannot be writing any more, so the request moves on
        (registering is idempotent, should the stalled one still pass it on when it wakes)."""
        answer = asyncio.ensure_future(self._forward(leader, request, hops))
        try:
            while True:
                done, _ = await asyncio.wait({answer}, timeout=LEADER_CHECK)
                if done:
                    return answer.result()
                now = self.store.leader_url()
                if self.store.is_leader() or now not in (leader, None):
                    log.warning("the leader %s did not answer and %s leads now: passing the request on", leader, now)
                    return None
        finally:
            answer.cancel()

    async def _forward(self, leader: str, request: Request, hops: int) -> Response:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
        headers[FORWARDED_HEADER] = str(hops)
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
        target = leader.rstrip("/") + raw_path.split(b"?", 1)[0].decode("latin-1")
        query = request.scope.get("query_string") or b""
        if query:
            target += "?" + query.decode("latin-1")
        body = getattr(request.state, "body", None)
        if body is None:
            body = await read_body(request)
        answer = await self._client.request(request.method, target, content=body, headers=headers)
        media = answer.headers.get("content-type")
        return Response(
            answer.content, status_code=answer.status_code, headers=_answer_headers(answer), media_type=media
        )


def _answer_headers(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.lower() in ("x-request-id",)}
