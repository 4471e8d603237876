"""The console's subjects page on a registry of 100 000 subjects: server time per page.

    .venv/bin/python bench/console.py [--subjects 100000] [--repeat 15]

The registry is a real SQLite store replayed into the in-memory state; requests go
through the whole ASGI app in-process (Starlette's TestClient), so the times are the
server's: routing, access, search, rendering. Beside the wall time, the process's CPU time
per request, which leaves out the time spent waiting for other processes on a busy machine. Each console builds its subject index in the background
at start; a page right after a write updates it for the changed subject; "warm" is a
page of an unchanged registry (the matching rows of the last queries are kept, so
paging is a slice). The baseline,
measured in the same run, is the REST API's ``GET /subjects`` listing every subject.
A user with a glob rule shows the cost of the access rule over every subject.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from starlette.testclient import TestClient

from registry.access.users import hash_password, parse_auth_config
from registry.http.app import create_app
from registry.service import Registry
from registry.stores.records import SchemaRecord
from registry.stores.sqlite import SQLiteStore
from registry.ui.listing import SubjectListing

TYPES = ("AVRO", "PROTOBUF", "JSON")
SCHEMAS = {
    "AVRO": '{"type":"record","name":"R","fields":[{"name":"id","type":"long"}]}',
    "PROTOBUF": 'syntax = "proto3";\nmessage R {\n  int64 id = 1;\n}\n',
    "JSON": '{"type":"object","properties":{"id":{"type":"integer"}}}',
}


def fill(store: SQLiteStore, subjects: int) -> None:
    """``subjects`` subjects (a tenth in a second context), one version each, of the three formats."""
    batch: list[SchemaRecord] = []
    for n in range(subjects):
        schema_type = TYPES[n % 3]
        name = f"team-{n % 97}.orders-{n}-value"
        subject = f":.staging:{name}" if n % 10 == 0 else name
        batch.append(SchemaRecord.of(subject, 1, n + 1, schema_type, SCHEMAS[schema_type], ts=1_700_000_000_000 + n))
        if len(batch) == 10_000:
            store.append(batch)
            batch = []
    if batch:
        store.append(batch)


def timed(get: Callable[[], object], repeat: int) -> list[tuple[float, float]]:
    """(wall ms, CPU ms of this process) per call: the CPU time leaves out waiting for other processes."""
    times = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        get()
        times.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "registry.db"
        store = SQLiteStore(str(db))
        store.open(lambda record: None)
        fill(store, args.subjects)
        store.close()
        started = time.perf_counter()
        registry = Registry(SQLiteStore(str(db)))
        print(f"{len(registry.state.subjects)} subjects replayed in {time.perf_counter() - started:.2f} s")
        auth = parse_auth_config({
            "users": {"admin": {"password": hash_password("a")}, "team": {"password": hash_password("t")}},
            "rules": [
                {"user": "admin", "operations": ["*"], "subjects": ["*"], "global": True},
                {"user": "team", "operations": ["read"], "subjects": ["team-1*", ":.staging:team-2*"]},
            ],
        })
        apps = [create_app(registry), create_app(registry, auth=auth)]
        for app in apps:  # wait for each console's background index build, so that nothing else runs
            next(route.app for route in app.routes if getattr(route, "path", "") == "/ui").listing.index()
        with TestClient(apps[0]) as open_client, TestClient(apps[1]) as secured:
            def page(client: TestClient, url: str, who: tuple[str, str] | None = None) -> None:
                response = client.get(url, auth=who)
                assert response.status_code == 200, (url, response.status_code, response.text[:300])


            counter = iter(range(10**9))

            def cold(client: TestClient, url: str, who: tuple[str, str] | None = None) -> list[tuple[float, float]]:
                times = []
                for _ in range(max(3, args.repeat // 3)):
                    registry.set_config(f"team-1.orders-{next(counter)}-value", {"compatibility": "FULL"})
                    times += timed(lambda: page(client, url, who), 1)
                return times

            build = timed(lambda: SubjectListing(registry.state).index(), 1)  # what each console does at start
            first = timed(lambda: page(open_client, "/ui/subjects"), 1)
            baseline = timed(lambda: page(open_client, "/subjects"), args.repeat)
            page(secured, "/ui/subjects", ("admin", "a"))  # verify the passwords once (scrypt), as a session would
            page(secured, "/ui/subjects", ("team", "t"))
            cases: list[tuple[str, list[tuple[float, float]]]] = [
                ("subject index build (done in the background at start)", build),
                ("first subjects page", first),
                ("subjects page right after a write", cold(open_client, "/ui/subjects")),
                ("subjects page, warm", timed(lambda: page(open_client, "/ui/subjects"), args.repeat)),
                ("last page (2000), warm", timed(lambda: page(open_client, "/ui/subjects?page=2000"), args.repeat)),
                ("substring search, a new text each time", timed(
                    lambda: page(open_client, f"/ui/subjects?q=orders-{next(counter) % 1000}"), args.repeat)),
                ("glob search '*-7?7-value'", timed(lambda: page(open_client, "/ui/subjects?q=*-7%3F7-value"), args.repeat)),
                ("format PROTOBUF, context .staging", timed(
                    lambda: page(open_client, "/ui/subjects?type=PROTOBUF&context=.staging"), args.repeat)),
                ("sorted by last change", timed(lambda: page(open_client, "/ui/subjects?sort=changed"), args.repeat)),
                ("admin (rule '*'), right after a write", cold(secured, "/ui/subjects", ("admin", "a"))),
                ("admin (rule '*'), warm", timed(lambda: page(secured, "/ui/subjects", ("admin", "a")), args.repeat)),
                ("team (two glob rules), right after a write", cold(secured, "/ui/subjects", ("team", "t"))),
                ("team (two glob rules), warm", timed(lambda: page(secured, "/ui/subjects", ("team", "t")), args.repeat)),
                ("a subject's page (referenced-by walks every version)", timed(
                    lambda: page(open_client, "/ui/subjects/team-1.orders-1-value"), args.repeat)),
                ("a version's page", timed(
                    lambda: page(open_client, "/ui/subjects/team-1.orders-1-value/versions/1"), args.repeat)),
                ("a diff page with its compatibility check", timed(
                    lambda: page(open_client, "/ui/subjects/team-1.orders-1-value/diff/1..1"), args.repeat)),
            ]
        registry.close()
    base = statistics.median(w for w, _ in baseline)
    base_cpu = statistics.median(c for _, c in baseline)
    print(f"baseline: REST GET /subjects (all {args.subjects} names as JSON): median {base:.1f} ms, CPU {base_cpu:.1f} ms")
    print(f"{'console page':54} {'median ms':>9} {'worst ms':>9} {'CPU ms':>7} {'x baseline':>10}")
    summary = {}
    for name, times in cases:
        median = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        summary[name] = round(median, 1)
        print(f"{name:54} {median:9.1f} {max(w for w, _ in times):9.1f} {cpu:7.1f} {median / base:10.2f}")
    print(json.dumps({"subjects": args.subjects, "baseline_ms": round(base, 1), "cases": summary}))


if __name__ == "__main__":
    main()
