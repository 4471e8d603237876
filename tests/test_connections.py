"""Connection limits of ``schemahub serve`` (issue 12, item 9): slow headers, silent and
idle connections, and the cap on open connections, against a real server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import RegistryServer

HANG_GUARD = 20.0  # generous: the limits below are 1 s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    args = ("--header-timeout", "1", "--keep-alive-timeout", "1", "--max-connections", "40")
    with RegistryServer(tmp_path_factory.mktemp("connections") / "registry.db", extra_args=args) as srv:
        yield srv


def _connect(server: RegistryServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=HANG_GUARD)
    return sock


def _closed_after(sock: socket.socket) -> tuple[float, bytes]:
    """Seconds until the server closes ``sock``, and what it sent before."""
    start = time.monotonic()
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return time.monotonic() - start, received


def test_headers_sent_a_byte_at_a_time_are_cut_off(server: RegistryServer) -> None:
    request = b"GET /subjects HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    sock = _connect(server)
    sock.settimeout(0.05)
    start = time.monotonic()
    closed = False
    answer = b""
    for byte in request[:-4]:  # never completes
        try:
            sock.send(bytes([byte]))
            answer += sock.recv(65536)
            if answer:
                break
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if time.monotonic() - start > HANG_GUARD:
            break
    elapsed = time.monotonic() - start
    print(f"slow headers cut off after {elapsed:.2f}s")
    assert closed or answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert elapsed < HANG_GUARD
    sock.close()


def test_silent_connections_are_closed(server: RegistryServer) -> None:
    socks = [_connect(server) for _ in range(30)]
    try:
        waits = [_closed_after(sock)[0] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    print(f"silent connections closed after at most {max(waits):.2f}s")
    assert max(waits) < HANG_GUARD


def test_idle_kept_alive_connection_is_closed(server: RegistryServer) -> None:
    sock = _connect(server)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    waited, received = _closed_after(sock)
    sock.close()
    assert received.startswith(b"HTTP/1.1 200"), received[:100]
    print(f"idle keep-alive connection closed after {waited:.2f}s")
    assert waited < HANG_GUARD


def test_connections_beyond_the_cap_are_refused_and_others_still_served(server: RegistryServer) -> None:
    socks = []
    try:
        for _ in range(80):
            socks.append(_connect(server))
        time.sleep(0.2)
        refused = 0
        for sock in socks:
            sock.settimeout(0.01)
            try:
                if sock.recv(1) == b"":
                    refused += 1
            except TimeoutError:
                pass
            except ConnectionResetError:
                refused += 1
        assert refused >= 40, f"only {refused} of 80 connections refused with a cap of 40"
    finally:
        for sock in socks:
            sock.close()
    # once they are gone, a client is served again
    deadline = time.monotonic() + HANG_GUARD
    while True:
        try:
            assert httpx.get(server.url + "/health", timeout=5).json() == {"status": "UP"}
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_bad_limits_are_refused_before_binding(tmp_path: Path) -> None:
    server = RegistryServer(tmp_path / "r.db", extra_args=("--max-connections", "0"))
    with pytest.raises(RuntimeError, match="max-connections"):
        server.start(timeout=20)


class _Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True


def test_an_answer_head_goes_out_with_its_first_body_bytes_in_one_write() -> None:
    from registry.http.server import _OneWritePerAnswer

    connection = _Recording()
    answer = _OneWritePerAnswer(connection)
    answer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert connection.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]  # the client waits for it
    answer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert len(connection.writes) == 1
    answer.write(b"{}")
    assert connection.writes[1:] == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]

    failed = _OneWritePerAnswer(connection := _Recording())
    failed.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    failed.close()  # the app failed after starting its answer: the head still goes out
    assert connection.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"] and connection.closed


def _read_answer(sock: socket.socket, buffered: bytearray, *, head_only: bool = False) -> tuple[bytes, bytes]:
    """The next answer's head and body from ``sock`` (``buffered``: bytes read past the last one)."""
    def more() -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed by the server after {bytes(buffered)!r}")
        buffered.extend(chunk)

    while b"\r\n\r\n" not in buffered:
        more()
    end = buffered.index(b"\r\n\r\n") + 4
    head = bytes(buffered[:end])
    length = 0 if head_only else int(next(line.split(b":")[1] for line in head.lower().split(b"\r\n")
                                          if line.startswith(b"content-length:")))
    while len(buffered) < end + length:
        more()
    body = bytes(buffered[end:end + length])
    del buffered[:end + length]
    return head, body


def test_continue_head_and_pipelined_requests_are_answered_whole(server: RegistryServer) -> None:
    body = json.dumps({"schema": json.dumps({"type": "record", "name": "Whole", "fields": []})}).encode()
    sock = _connect(server)
    buffered = bytearray()
    sock.sendall(b"POST /subjects/whole/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    head, _ = _read_answer(sock, buffered, head_only=True)
    assert head.startswith(b"HTTP/1.1 100 Continue")
    sock.sendall(body)
    head, answer = _read_answer(sock, buffered)
    assert head.startswith(b"HTTP/1.1 200") and json.loads(answer)["id"] >= 1

    sock.sendall(b"HEAD /subjects HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _ = _read_answer(sock, buffered, head_only=True)
    assert head.startswith(b"HTTP/1.1 200") and b"content-length:" in head.lower()
    sock.sendall(b"GET /subjects HTTP/1.1\r\nHost: x\r\n\r\nGET /subjects/whole/versions HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [json.loads(_read_answer(sock, buffered)[1]) for _ in range(2)] == [["whole"], [1]]
    sock.close()
