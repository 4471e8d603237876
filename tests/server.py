"""A real registry: ``schemahub serve`` in a subprocess on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RegistryServer:
    """One ``schemahub serve`` process; ``url`` is where it answers, ready once ``probe_path``
    answers 200 (checked with ``verify``, the client side of TLS)."""

    probe_path = "/"
    verify: ssl.SSLContext | bool = True

    def __init__(
        self, db: Path, *, port: int | None = None, extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> None:
        self.db = db
        self.port = port or free_port()
        self.extra_args = extra_args
        self.env = env or {}  # variables added to this process's environment
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = db.with_suffix(".log")

    def start(self, timeout: float = 30.0) -> RegistryServer:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "serve", "--port", str(self.port), "--db", str(self.db),
             "--log-level", "warning", *self.extra_args],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        deadline = time.monotonic() + timeout
        # one client for every poll: a client per poll builds a TLS context each time (~40 ms of
        # CPU), which polling every 50 ms turns into a second busy process beside the starting one
        with httpx.Client(timeout=1.0, verify=self.verify) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"registry exited: {self.log_path.read_text()[-2000:]}")
                try:
                    if client.get(self.url + self.probe_path).status_code == 200:
                        return self
                except (httpx.HTTPError, ssl.SSLError, OSError):
                    time.sleep(0.05)
        raise RuntimeError(f"registry did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
