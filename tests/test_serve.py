"""``schemahub serve`` as a user runs it: flags, environment variables, logging, shutdown."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from registry.cli.serve import freeze_after
from tests.server import REPO, RegistryServer, free_port


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:  # one client for every poll
        while time.monotonic() < deadline:
            assert process.poll() is None, "server exited early"
            try:
                client.get(url)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
    raise AssertionError("server did not come up")


def test_empty_registry_lists_no_subjects_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    server = RegistryServer(tmp_path / "r.db").start()
    assert httpx.get(server.url + "/subjects").text == "[]"
    assert server.stop() == 0


def test_environment_variables_configure_the_server(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "from-env.db"
    env = {**os.environ, "SCHEMAHUB_PORT": str(port), "SCHEMAHUB_DB": str(db), "SCHEMAHUB_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/", process)
        assert httpx.get(url + "/subjects").json() == []
        httpx.get(url + "/subjects/none/versions")
        assert db.exists()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    log = output.decode()
    assert '"GET /subjects HTTP/1.1" 200' in log
    assert '"GET /subjects/none/versions HTTP/1.1" 404' in log


def test_help_documents_every_flag() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "registry.cli", "serve", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--host", "--port", "--db", "SCHEMAHUB_HOST", "SCHEMAHUB_PORT", "SCHEMAHUB_DB"):
        assert flag in out


def test_what_is_built_after_the_start_goes_out_of_the_collectors_sight() -> None:
    built: list[list[object]] = []
    try:
        freeze_after(lambda: built.append([object()]))
        assert gc.get_freeze_count() > 0
        assert not any(obj is built[0] for obj in gc.get_objects())  # in no generation a collection walks
    finally:
        gc.unfreeze()
