"""Registry HTTP throughput and latency next to a bare Starlette ceiling, measured in one run.

    .venv/bin/python bench/registry.py [--duration 5] [--stores sqlite,kafka]

Starts ``schemahub serve`` (SQLite in a temporary folder) and a bare Starlette
app answering a fixed JSON body on the same server stack (uvicorn, uvloop,
httptools, access log off), and drives both with ``wrk`` (installed from
Debian's packages when missing): GET by id and lookup at 1 and 32 connections,
and Karapace-comparable registration runs (new schemas, each in a new subject)
at 1 and 8 connections. Also measured, the same way: the same registry app on
the stack it had before (the plain asyncio loop and uvicorn's pure-Python h11
parser: the issue's "today"), and the registration runs on the Kafka store (a
single-node broker from ``registry.devkafka``, or ``SCHEMAHUB_TEST_KAFKA``).
Prints requests/s, p50 and p99 latency, and each ratio against the ceiling at
the same concurrency.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.httpbench import cpu_seconds, ensure_wrk, kafka_bootstrap, run_wrk
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


def wait_for(url: str, polls: int, failure: str) -> None:
    """Return once ``url`` answers at all, polled every 50 ms at most ``polls`` times, with one
    client for every poll (a client per poll builds a TLS context: ~40 ms of CPU each)."""
    with httpx.Client(timeout=0.5) as client:
        for _ in range(polls):
            try:
                client.get(url)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
    raise SystemExit(failure)


def start_ceiling(folder: Path) -> tuple[subprocess.Popen, str]:
    (folder / "ceiling_app.py").write_text(CEILING_APP)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "ceiling_app:app", "--port", str(port), "--no-access-log",
         "--log-level", "warning"],
        cwd=folder,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/schemas/ids/1", 200, "ceiling app did not start")
    return proc, url


BEFORE_STACK = textwrap.dedent(
    """
    import sys
    import uvicorn
    from registry.http.app import create_app
    from registry.service import Registry
    from registry.stores.sqlite import SQLiteStore

    registry = Registry(SQLiteStore(sys.argv[1]))
    uvicorn.run(create_app(registry), port=int(sys.argv[2]), loop="asyncio", http="h11", access_log=False,
                log_level="warning")
    """
)


def start_before_stack(db: Path) -> tuple[subprocess.Popen, str]:
    """The registry app over ``db`` on the plain asyncio loop with the h11 parser."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BEFORE_STACK, str(db), str(port)], cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/", 400, "the registry on the asyncio/h11 stack did not start")
    return proc, url


def prepare(url: str) -> tuple[int, str]:
    """Compatibility NONE and one registered schema: its id and a lookup body for it."""
    with httpx.Client(base_url=url, timeout=30) as http:
        http.put("/config", json={"compatibility": "NONE"}).raise_for_status()
        body = http.post("/subjects/bench-value/versions", json={"schema": json.dumps(SCHEMA)}).json()
    return body["id"], json.dumps({"schema": json.dumps(SCHEMA)})


Row = tuple[str, int, dict, dict]


def measure_registrations(wrk: str, name: str, server: RegistryServer, duration: int,
                          ceiling: dict[int, dict]) -> list[Row]:
    """New registrations at 1 and 8 connections, with the server's CPU time per registration
    (what the machine's other load does not change much, unlike requests/s)."""
    assert server.process is not None
    rows = []
    for connections in (1, 8):
        before = cpu_seconds(server.process.pid)
        register = run_wrk(wrk, server.url, connections, duration, REGISTER_LUA)
        done = register["rps"] * duration
        register["cpu_ms"] = (cpu_seconds(server.process.pid) - before) * 1000 / done if done else float("nan")
        rows.append((f"{name}POST /subjects/{{s}}/versions (new)", connections, register,
                     ceiling.get(connections) or ceiling[1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--stores", default="sqlite,kafka", help="stores whose registrations to measure")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each read scenario, the servers in turn (the median is shown)")
    args = parser.parse_args()
    wrk = ensure_wrk()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ceiling_proc, ceiling_url = start_ceiling(folder)
        server = RegistryServer(folder / "bench.db").start()
        before = None
        try:
            schema_id, lookup_body = prepare(server.url)
            before, before_url = start_before_stack(folder / "bench.db")
            # Rounds alternate the servers, so that a busy moment of the machine weighs on all.
            targets = [("ceiling: bare Starlette fixed JSON", f"{ceiling_url}/schemas/ids/1", None),
                       ("GET /schemas/ids/{id}", f"{server.url}/schemas/ids/{schema_id}", None),
                       ("asyncio+h11 stack: GET /schemas/ids/{id}", f"{before_url}/schemas/ids/{schema_id}", None),
                       ("POST /subjects/{s} (lookup)", f"{server.url}/subjects/bench-value", LOOKUP_LUA % lookup_body)]
            ceiling: dict[int, dict] = {}
            for connections in (1, 8, 32):
                measured = [t for t in targets if connections != 8 or t is targets[0]]
                runs: dict[str, list[dict]] = {name: [] for name, _, _ in measured}
                for _ in range(args.rounds):
                    for name, url, script in measured:
                        runs[name].append(run_wrk(wrk, url, connections, args.duration, script))
                for name, _, _ in measured:
                    result = sorted(runs[name], key=lambda r: r["rps"])[len(runs[name]) // 2]
                    ceiling.setdefault(connections, result)
                    rows.append((name, connections, result, ceiling[connections]))
            if "sqlite" in args.stores:
                rows += measure_registrations(wrk, "SQLite: ", server, args.duration, ceiling)
        finally:
            server.stop()
            ceiling_proc.terminate()
            ceiling_proc.wait()
            if before is not None:
                before.terminate()
                before.wait()
        if "kafka" in args.stores:
            with kafka_bootstrap() as bootstrap:
                topic = f"_schemas-bench-{uuid.uuid4().hex[:8]}"
                server = RegistryServer(folder / "kafka.db", extra_args=(
                    "--kafka", bootstrap, "--topic", topic, "--group-id", f"bench-{topic}")).start(timeout=120)
                try:
                    wait_leader(server.url)
                    prepare(server.url)
                    rows += measure_registrations(wrk, "Kafka: ", server, args.duration, ceiling)
                finally:
                    server.stop()
    print(f"{'scenario':48} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs ceiling':>10} {'non-2xx':>8} "
          f"{'server CPU ms/req':>17} {'load':>5}")
    for name, connections, result, base in rows:
        ratio = result["rps"] / base["rps"]
        cpu = f"{result['cpu_ms']:.2f}" if "cpu_ms" in result else ""
        print(
            f"{name:48} {connections:>5} {result['rps']:>9.0f} {result['p50']:>8.2f} {result['p99']:>8.2f} "
            f"{ratio:>9.2f}x {result['errors']:>8} {cpu:>17} {result['load']:>5.1f}"
        )


def wait_leader(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not _leads(url):
        if time.monotonic() > deadline:
            raise SystemExit("the Kafka-backed registry did not become the leader")
        time.sleep(0.1)


def _leads(url: str) -> bool:
    return "schemahub_leader 1" in httpx.get(url + "/metrics", timeout=5).text


if __name__ == "__main__":
    main()
