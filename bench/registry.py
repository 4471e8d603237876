"""Registry HTTP throughput and latency next to a bare Starlette ceiling, measured in one run.

    .venv/bin/python bench/registry.py [--duration 5]

Starts ``schemahub serve`` (SQLite in a temporary folder) and a bare
Starlette app answering a fixed JSON body, each on the same uvicorn with the
access log off, and drives both with ``wrk`` (installed from Debian's
packages when missing) at 1 and 32 connections. Prints requests/s, p50 and
p99 latency, and each ratio against the ceiling at the same concurrency.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.httpbench import ensure_wrk, run_wrk
from tests.server import RegistryServer, free_port

CEILING_APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    BODY = b'{"schemaType":"AVRO","schema":"{\\\\"type\\\\":\\\\"record\\\\",\\\\"name\\\\":\\\\"R\\\\"}","guid":"x"}'

    async def fixed(request):
        return Response(BODY, media_type="application/vnd.schemaregistry.v1+json")

    app = Starlette(routes=[Route("/schemas/ids/{id}", fixed)])
    """
)

SCHEMA = {"type": "record", "name": "Bench", "fields": [{"name": "f1", "type": "string"}]}

LOOKUP_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/vnd.schemaregistry.v1+json"
wrk.body = [==[%s]==]
"""

REGISTER_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"schema": "{\\\\"type\\\\":\\\\"record\\\\",\\\\"name\\\\":\\\\"N' .. counter .. '_' .. math.random(1, 1000000000) .. '\\\\",\\\\"fields\\\\":[{\\\\"name\\\\":\\\\"f\\\\",\\\\"type\\\\":\\\\"int\\\\"}]}"}'
  return wrk.format("POST", "/subjects/bench-new-" .. counter .. "/versions",
    {["Content-Type"] = "application/vnd.schemaregistry.v1+json"}, body)
end
"""


def start_ceiling(folder: Path) -> tuple[subprocess.Popen, str]:
    (folder / "ceiling_app.py").write_text(CEILING_APP)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "ceiling_app:app", "--port", str(port), "--no-access-log",
         "--log-level", "warning"],
        cwd=folder,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/schemas/ids/1", timeout=0.5)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("ceiling app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    args = parser.parse_args()
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ceiling, ceiling_url = start_ceiling(folder)
        server = RegistryServer(folder / "bench.db").start()
        try:
            with httpx.Client(base_url=server.url) as http:
                http.put("/config", json={"compatibility": "NONE"}).raise_for_status()
                body = http.post("/subjects/bench-value/versions", json={"schema": json.dumps(SCHEMA)}).json()
            schema_id = body["id"]
            lookup_body = json.dumps({"schema": json.dumps(SCHEMA)})
            rows = []
            for connections in (1, 32):
                base = run_wrk(wrk, f"{ceiling_url}/schemas/ids/{schema_id}", connections, args.duration)
                rows.append(("ceiling: bare Starlette fixed JSON", connections, base, base))
                get = run_wrk(wrk, f"{server.url}/schemas/ids/{schema_id}", connections, args.duration)
                rows.append(("GET /schemas/ids/{id}", connections, get, base))
                lookup = run_wrk(
                    wrk, f"{server.url}/subjects/bench-value", connections, args.duration,
                    LOOKUP_LUA % lookup_body,
                )
                rows.append(("POST /subjects/{s} (lookup)", connections, lookup, base))
                register = run_wrk(wrk, server.url, connections, args.duration, REGISTER_LUA)
                rows.append(("POST /subjects/{s}/versions (new)", connections, register, base))
        finally:
            server.stop()
            ceiling.terminate()
            ceiling.wait()
    print(f"{'scenario':40} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs ceiling':>10} {'non-2xx':>8}")
    for name, connections, result, base in rows:
        ratio = result["rps"] / base["rps"]
        print(
            f"{name:40} {connections:>5} {result['rps']:>9.0f} {result['p50']:>8.2f} {result['p99']:>8.2f} "
            f"{ratio:>9.2f}x {result['errors']:>8}"
        )


if __name__ == "__main__":
    main()
