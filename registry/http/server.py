"""The HTTP/1.1 server: uvicorn on uvloop with the httptools parser, plus connection limits.

uvicorn closes a keep-alive connection idle after a response (``timeout_keep_alive``)
but sets no deadline for the request headers and no cap on open connections: a client
sending its headers a byte at a time, or opening connections and sending nothing, holds
them open for ever. :func:`protocol_class` adds both to uvicorn's httptools protocol:

- a **header deadline**: a new connection, and each further request on a kept-alive
  one from its first byte, must deliver its complete headers within ``header_timeout``
  seconds, else it is answered 408 and closed (the body is bounded by the request
  timeout, which covers the handler reading it);
- a **connection cap**: beyond ``max_connections`` open connections a new one is
  closed at once, before anything is read from it.

It also writes each answer's head and first body bytes in one write, where uvicorn
makes two (:class:`_OneWritePerAnswer`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("schemahub.server")

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0
DEFAULT_MAX_CONNECTIONS = 1000
_TIMEOUT_BODY = b'{"error_code":408,"message":"Request headers not received in time"}'
_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/vnd.schemaregistry.v1+json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


@dataclass(frozen=True)
class ConnectionLimits:
    """Limits on each connection: seconds to deliver request headers, seconds a kept-alive
    connection may stay idle, and the most connections open at once."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def uvicorn_kwargs(self) -> dict[str, Any]:
        """The ``uvicorn.Config`` keywords that serve with these limits."""
        return {"http": protocol_class(self), "loop": "uvloop", "timeout_keep_alive": self.keep_alive_timeout}


class _Refusals:
    """Logs refused connections at most once per ``every`` seconds."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.count = 0
        self._last = 0.0

    def note(self, limit: int) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            log.warning("refusing connections: %d open (--max-connections); %d refused so far", limit, self.count)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a connection cap."""

    limits: ConnectionLimits = ConnectionLimits()
    refusals = _Refusals()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # When the headers being received are due (None: none awaited), and the one timer
        # that checks it: a request re-arms nothing while a timer is pending, so keep-alive
        # requests cost no timer each.
        self._headers_due: float | None = None
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.refusals.note(self.limits.max_connections)
            transport.abort()
            return
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_due = None
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._headers_due is None:
            self._expect_headers()

    def on_headers_complete(self) -> None:
        self._headers_due = None
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not cycle and self.scope["method"] != "HEAD":  # a HEAD answer writes no body
            self.cycle.transport = _OneWritePerAnswer(self.transport)

    def _expect_headers(self) -> None:
        if self.limits.header_timeout > 0:
            self._headers_due = self.loop.time() + self.limits.header_timeout
            if self._header_timer is None:
                self._header_timer = self.loop.call_at(self._headers_due, self._check_headers)

    def _check_headers(self) -> None:
        self._header_timer = None
        due = self._headers_due
        if due is None or self.transport.is_closing():
            return
        if due > self.loop.time():
            self._header_timer = self.loop.call_at(due, self._check_headers)
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined request waits for ours to be answered first
            self._header_timer = self.loop.call_later(self.limits.header_timeout, self._check_headers)
            return
        self.transport.write(_TIMEOUT_ANSWER)
        self.transport.close()


class _OneWritePerAnswer(asyncio.Transport):
    """The connection's transport as one request's cycle sees it. uvicorn writes the status
    line and headers on ``http.response.start`` and the body on ``http.response.body``: two
    system calls and two TCP segments for an answer of a few hundred bytes. The head is held
    here and written with the first body bytes (or before a close). A ``100 Continue`` is
    written at once: the client waits for it before sending the body."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif data[:9] == b"HTTP/1.1 " and data[9:13] != b"100 ":
            self._head = bytes(data)
            return
        self._transport.write(data)

    def close(self) -> None:
        if self._head is not None:
            self._transport.write(self._head)
            self._head = None
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


def protocol_class(limits: ConnectionLimits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to ``limits``."""
    return type("SchemahubHttpProtocol", (LimitedHttpToolsProtocol,), {"limits": limits, "refusals": _Refusals()})
