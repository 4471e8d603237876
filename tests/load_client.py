"""A small HTTP/1.1 load client for hostile-traffic tests: raw requests, keep-alive, many connections.

Requests are given as bytes (anything a hostile client may send, methods and all);
answers are counted by status. Connections the server closes are reopened.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx


def basic(user: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()


def request(method: str, target: str, *, auth: tuple[str, str] | None = None, body: bytes = b"") -> bytes:
    head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    if body:
        head.append("Content-Type: application/vnd.schemaregistry.v1+json")
    if auth is not None:
        head.append(f"Authorization: {basic(auth)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


async def _drive(port: int, make: Callable[[int], bytes], count: int, connections: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    numbers = iter(range(count))

    async def connection() -> None:
        reader = writer = None
        for n in numbers:
            for _ in range(3):  # reconnect when the server closed the connection
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    assert reader is not None
                    writer.write(make(n))
                    status, keep = await _answer(reader)
                    statuses[status] += 1
                    if not keep:
                        writer.close()
                        reader = writer = None
                    break
                except (ConnectionError, asyncio.IncompleteReadError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
            else:
                statuses[0] += 1  # no answer at all
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses


def drive(port: int, make: Callable[[int], bytes], count: int, connections: int = 8) -> Counter[int]:
    """Send ``make(0) … make(count - 1)`` over ``connections`` kept-alive connections."""
    return asyncio.run(_drive(port, make, count, connections))


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid``, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid``, from /proc."""
    import os

    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Prober(threading.Thread):
    """Another client: GET /health and GET /schemas/ids/1 in turn, keeping the slowest answer."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.auth = url, auth
        self.halt = threading.Event()
        self.worst = 0.0
        self.answers = 0
        self.failures: list[str] = []

    def reset(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst

    def run(self) -> None:
        with httpx.Client(base_url=self.url, auth=self.auth, timeout=60) as client:
            while not self.halt.is_set():
                for path in ("/health", "/schemas/ids/1"):
                    start = time.perf_counter()
                    try:
                        response = client.get(path)
                        if response.status_code != 200:
                            self.failures.append(f"{path}: {response.status_code} {response.text[:100]}")
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{path}: {exc!r}")
                    self.worst = max(self.worst, time.perf_counter() - start)
                    self.answers += 1
                self.halt.wait(0.02)
