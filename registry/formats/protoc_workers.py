"""protoc in worker processes: concurrent, stoppable, with each compile's errors its own.

grpc_tools runs protoc in-process and writes its errors to file descriptor 2.
Capturing them there means swapping the whole process's stderr, which loses
other threads' output and mixes it into a client's error; and a compile cannot
be stopped. Here each compile runs in one of :data:`WORKERS` long-lived
processes (``python -m registry.formats.protoc_workers``), one compile at a
time per process, so that swapping *its* fd 2 touches nothing else. The parent
waits at most until the request's deadline (:mod:`registry.deadline`, else
:data:`DEFAULT_TIMEOUT`), then kills the worker and starts another.

The protocol over the worker's stdin/stdout is length-prefixed frames: a JSON
header, the ``.proto`` text and the serialized dependency set; the answer is a
JSON header (exit code, error text) and the serialized output set.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .. import deadline
from ..errors import RequestTimeout

WORKERS = 2
DEFAULT_TIMEOUT = 60.0
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Compiled:
    code: int
    error: str
    output: bytes


class WorkerFailed(RuntimeError):
    """A worker process died or answered garbage."""


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _write_frames(stream: IO[bytes], *frames: bytes) -> None:
    stream.write(b"".join(_LENGTH.pack(len(f)) + f for f in frames))
    stream.flush()


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "registry.formats.protoc_workers"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        self._buffer = b""

    def _read(self, size: int, until: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while len(self._buffer) < size:
            left = until - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise WorkerFailed("the protoc worker exited")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _frame(self, until: float) -> bytes:
        (size,) = _LENGTH.unpack(self._read(_LENGTH.size, until))
        return self._read(size, until)

    def compile(self, header: dict, text: bytes, deps: bytes, until: float) -> Compiled:
        assert self.process.stdin is not None
        try:
            _write_frames(self.process.stdin, json.dumps(header).encode(), text, deps)
        except (BrokenPipeError, OSError) as exc:
            raise WorkerFailed(f"the protoc worker is gone: {exc}") from None
        answer = json.loads(self._frame(until))
        output = self._frame(until)
        return Compiled(int(answer["code"]), str(answer["error"]), output)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class ProtocPool:
    """At most ``size`` worker processes, started on first use."""

    def __init__(self, size: int = WORKERS) -> None:
        self.size = size
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._started = 0
        self._lock = threading.Lock()
        self._all: list[_Worker] = []

    def _take(self, until: float) -> _Worker:
        with self._lock:
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                worker = _Worker()
                self._all.append(worker)
                return worker
        try:
            return self._idle.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            raise TimeoutError from None

    def _retire(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            self._started -= 1
            if worker in self._all:
                self._all.remove(worker)

    def compile(self, header: dict, text: bytes, deps: bytes) -> Compiled:
        """Run one compile; 408 when the request's deadline passes first."""
        left = deadline.remaining()
        until = time.monotonic() + (DEFAULT_TIMEOUT if left is None else left)
        try:
            worker = self._take(until)
        except TimeoutError:
            raise RequestTimeout("Request timed out waiting to compile a Protobuf schema") from None
        try:
            result = worker.compile(header, text, deps, until)
        except TimeoutError:
            self._retire(worker)  # it may be compiling for ever: stop it
            raise RequestTimeout("Request timed out compiling a Protobuf schema") from None
        except (WorkerFailed, EOFError, ValueError, KeyError):
            self._retire(worker)
            raise
        self._idle.put(worker)
        return result

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
            self._started = 0
        for worker in workers:
            worker.stop()
        while not self._idle.empty():
            self._idle.get_nowait()


pool = ProtocPool()
atexit.register(pool.close)


# -- the worker process --------------------------------------------------------------


def _compile_here(header: dict, text: bytes, deps: bytes) -> tuple[dict, bytes]:
    """In the worker: write the files, run protoc with fd 2 captured, read the output."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory(prefix="schemahub-protoc-") as workdir:
        src = os.path.join(workdir, "src")
        os.mkdir(src)
        Path(src, header["main"]).write_bytes(text)
        args = [f"-I{src}", *(f"-I{path}" for path in header["includes"])]
        if deps:
            Path(workdir, "deps.pb").write_bytes(deps)
            args.append(f"--descriptor_set_in={os.path.join(workdir, 'deps.pb')}")
        out = os.path.join(workdir, "out.pb")
        args += [f"--descriptor_set_out={out}", "--include_imports", header["main"]]
        err_path = os.path.join(workdir, "stderr.txt")
        saved = os.dup(2)
        try:
            with open(err_path, "wb") as err:
                os.dup2(err.fileno(), 2)
                code = protoc.main(["protoc", *args])
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        error = Path(err_path).read_text(errors="replace")
        error = error.replace(src + os.sep, "").replace(workdir + os.sep, "")
        output = Path(out).read_bytes() if code == 0 and os.path.exists(out) else b""
    return {"code": code, "error": error}, output


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The worker's loop: one compile per request until stdin closes."""
    while True:
        try:
            frames = []
            for _ in range(3):
                (size,) = _LENGTH.unpack(_read_exactly(stdin, _LENGTH.size))
                frames.append(_read_exactly(stdin, size))
        except EOFError:
            return
        answer, output = _compile_here(json.loads(frames[0]), frames[1], frames[2])
        _write_frames(stdout, json.dumps(answer).encode(), output)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
