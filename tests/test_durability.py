"""A SIGKILL while 8 clients register loses no answered registration and reuses no id."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from tests.server import RegistryServer

CLIENTS = 8


def schema(client: int, n: int) -> str:
    return json.dumps(
        {"type": "record", "name": f"R{client}_{n}", "fields": [{"name": f"f{n}", "type": "int"}]}
    )


def test_sigkill_during_registrations_loses_nothing_answered(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    server = RegistryServer(db).start()
    httpx.put(server.url + "/config", json={"compatibility": "NONE"}).raise_for_status()

    answered: list[tuple[str, int, int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(client: int) -> None:
        with httpx.Client(base_url=server.url, timeout=5.0) as http:
            n = 0
            while not stop.is_set():
                subject = f"durable-{client}-{n % 3}"
                text = schema(client, n)
                try:
                    response = http.post(f"/subjects/{subject}/versions", json={"schema": text})
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    body = response.json()
                    with lock:
                        answered.append((subject, body["version"], body["id"], text))
                n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(answered) >= 200:
                break
        time.sleep(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(answered) >= 50, "too few registrations were answered before the kill"

    ids = [a[2] for a in answered]
    assert len(set(ids)) == len(ids), "two different schemas were answered with one id"

    restarted = RegistryServer(db, port=server.port).start()
    try:
        with httpx.Client(base_url=restarted.url) as http:
            for subject, version, schema_id, text in answered:
                got = http.get(f"/subjects/{subject}/versions/{version}").json()
                assert got["id"] == schema_id, (subject, version)
                assert json.loads(got["schema"]) == json.loads(text)
            fresh = http.post("/subjects/after-restart/versions", json={"schema": schema(99, 0)}).json()
            assert fresh["id"] > max(ids), "an id was handed out again after the restart"
    finally:
        restarted.stop()
