"""The registry at scale, each store side by side with small registries, measured in one run.

    .venv/bin/python bench/scale.py [--versions 1000000] [--subjects 100000] [--work DIR]

Writes a dump of Confluent ``_schemas`` messages and loads it with ``schemahub import``
into a SQLite file and into a fresh ``_schemas`` topic (a single-node broker from
``registry.devkafka``, or ``SCHEMAHUB_TEST_KAFKA=host:port``). The dump holds
``--versions`` versions in ``--subjects`` subjects: records of 10 to 40 fields, 80 %
Avro, 10 % Protobuf, 10 % JSON Schema; each schema family evolves over its versions
and is registered under three subjects (``prod.``, ``stage.``, ``dev.``) sharing its
ids; some Avro records reference a shared type; one subject holds 10 000 versions;
three subjects (one per format) hold 500 versions under BACKWARD_TRANSITIVE.

For each store, ``schemahub serve`` is started on the big registry and measured:

- start-up: seconds until it answers ``GET /``, the median of three starts (each printed),
  and its resident memory then; then the first registration and the next (the first
  builds the index of contents by key, which no read needs, so the start does not);
- ``GET /schemas/ids/{id}`` over random ids, 32 connections (wrk): requests/s, p50, p99, the
  medians of 4 runs of 3 s taking turns with the same runs against the 1 000-version registry,
  served at the same time (so that the machine's other load falls on both alike);
- lookup (``POST /subjects/{s}``) of stored schemas, 8 connections: p50, p99;
- registrations/s of one client at versions 10 021-10 420 of the 10 000-version subject,
  at versions 21-420 of a new subject, and at the same versions of a new subject in an
  empty registry served at the same time (the first 20 of each untimed, the rest in blocks
  taking turns), each with the server's CPU time per registration (the rate moves with the
  machine's other load, this far less);
- the first transitive check per format against 500 versions (cold), made after the
  measurements above (whose baselines have parsed none of the 1 500 stored versions),
  the first after a restart (both stores keep what parsing Protobuf produced: SQLite
  in its file, the Kafka store in its local cache), and a check of another new schema
  once the history is parsed (warm); each once the server's start-up work is done. The
  after-restart figure is the median of three restarts, the warm one the median of three
  new schemas (each printed): one check takes 50-300 ms, within the reach of one burst of
  the machine's other load.

Baselines, measured the same way in the same run: a registry of 1 000 versions
built by the same generator (GET p99) and an empty registry (registrations/s).
Benchmarks print; they assert nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.compat import avro_version, json_version, proto_version
from bench.httpbench import cpu_seconds, ensure_wrk, kafka_bootstrap, lua_string, memory_mib, run_wrk
from registry.formats import get_format
from tests.server import RegistryServer

JSON_MEDIA = "application/vnd.schemaregistry.v1+json"
ENVIRONMENTS = ("prod", "stage", "dev")
DOMAINS = ("orders", "payments", "customers", "inventory", "shipping", "billing", "search", "identity")
WORDS = ("id", "name", "amount", "currency", "status", "created_at", "updated_at", "country", "email",
         "quantity", "price", "sku", "reason", "channel", "region", "score", "version", "source", "note", "tier")
BIG_VERSIONS = 10_000
CHECK_VERSIONS = 500
MEASURED_REGISTRATIONS = 400
STARTS = 3  # starts of the big registry timed; the figure is their median
CHECK_REPEATS = 3  # restarts for the check after a restart, new schemas for the warm check; medians
GET_TURNS, GET_TURN_SECONDS = 4, 3  # wrk runs of the GET by id, per registry, taking turns

# -- the dataset ---------------------------------------------------------------


def avro_record(family: int, fields: int, version: int, shared_type: bool) -> str:
    rng = random.Random(family)
    body = []
    for n in range(fields):
        name = f"{WORDS[(family + n) % len(WORDS)]}_{n}"
        kind = rng.randrange(8)
        if kind == 0:
            body.append({"name": name, "type": ["null", "string"], "doc": f"The {name} of it.", "default": None})
        elif kind == 1:
            body.append({"name": name, "type": {"type": "long", "logicalType": "timestamp-millis"}})
        elif kind == 2:
            body.append({"name": name, "type": {"type": "enum", "name": f"E{n}",
                                                "symbols": ["UNKNOWN", "NEW", "ACTIVE", "CLOSED"]},
                         "default": "UNKNOWN"})
        elif kind == 3:
            body.append({"name": name, "type": {"type": "array", "items": "string"}, "default": []})
        elif kind == 4:
            body.append({"name": name, "type": {"type": "map", "values": "long"}, "default": {}})
        else:
            body.append({"name": name, "type": ("string", "long", "double", "boolean")[kind % 4]})
    body += [{"name": f"added_{k}", "type": ["null", "string"], "default": None} for k in range(min(version, 10))]
    if shared_type:
        body.append({"name": "address", "type": ["null", "com.example.common.Address"], "default": None})
    schema = {"type": "record", "name": f"Event{family}", "namespace": f"com.example.{DOMAINS[family % 8]}",
              "doc": f"Revision {version} of the event.", "fields": body}
    return json.dumps(schema, separators=(",", ":"))


ADDRESS = json.dumps({"type": "record", "name": "Address", "namespace": "com.example.common", "fields": [
    {"name": "street", "type": "string"}, {"name": "city", "type": "string"},
    {"name": "postcode", "type": ["null", "string"], "default": None}]}, separators=(",", ":"))
PROTO_SCALARS = ("string", "int64", "int32", "double", "bool", "bytes")


def proto_message(family: int, fields: int, version: int) -> str:
    """A message of ``fields`` scalars and a status enum whose second constant names the revision,
    written as the registry's canonical text (what a registration would store)."""
    package = f"com.example.{DOMAINS[family % 8]}.f{family}"
    lines = ['syntax = "proto3";', f"package {package};", "", f"message Event{family} {{"]
    for n in range(fields):
        lines.append(f"  {PROTO_SCALARS[(family + n) % 6]} {WORDS[(family + n) % len(WORDS)]}_{n} = {n + 1};")
    lines += [f"  string added_{k} = {100 + k};" for k in range(min(version, 10))]
    lines += [f"  .{package}.Event{family}.Status status = 99;", "", "  enum Status {", "    UNKNOWN = 0;",
              f"    REVISION_{version} = 1;", "  }", "}"]
    return "\n".join(lines) + "\n"


def json_object(family: int, fields: int, version: int) -> str:
    props: dict = {}
    for n in range(fields):
        kind = (family + n) % 4
        props[f"{WORDS[(family + n) % len(WORDS)]}_{n}"] = (
            {"type": "string", "maxLength": 200}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
        )[kind]
    for k in range(min(version, 10)):
        props[f"added_{k}"] = {"type": "string"}
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": f"Event{family}",
              "description": f"Revision {version} of the event.", "type": "object", "properties": props,
              "required": list(props)[:3]}
    return json.dumps(schema, separators=(",", ":"))


@dataclass
class Dataset:
    """Families of schemas, each evolving over its versions and registered under three subjects."""

    versions: int
    subjects: int
    seed: int = 13
    ids: int = 0
    lines: int = 0
    families: list[tuple[int, str, int]] = field(default_factory=list)  # (family, schema type, versions)
    big_subject: str = "prod.orders.big-value"
    check_subjects: dict[str, str] = field(default_factory=dict)

    def plan(self) -> None:
        """Share versions among families so that the totals are exact."""
        rng = random.Random(self.seed)
        large = self.versions >= 100_000
        reserved = 1 + BIG_VERSIONS + 3 * CHECK_VERSIONS if large else 1
        family_count = max(1, (self.subjects - (5 if large else 1)) // 3)
        remaining = max(family_count, (self.versions - reserved) // 3)
        weights = [rng.paretovariate(1.6) for _ in range(family_count)]
        scale = remaining / sum(weights)
        counts = [max(1, round(w * scale)) for w in weights]
        counts[-1] = max(1, counts[-1] + remaining - sum(counts))
        for family, count in enumerate(counts):
            kind = "PROTOBUF" if family % 10 == 3 else "JSON" if family % 10 == 7 else "AVRO"
            self.families.append((family, kind, count))

    def records(self) -> Iterator[tuple[dict, dict]]:
        """(key, value) of every message, in registration order."""
        yield from self._version("common-address-value", 1, ADDRESS, "AVRO", ())
        address_ref = ({"name": "com.example.common.Address", "subject": "common-address-value", "version": 1},)
        for family, kind, count in self.families:
            fields = 10 + (family * 7919) % 31
            subjects = [f"{env}.{DOMAINS[family % 8]}.event{family}-value" for env in ENVIRONMENTS]
            shared = kind == "AVRO" and family % 50 == 7
            for version in range(1, count + 1):
                if kind == "AVRO":
                    text = avro_record(family, fields, version, shared)
                elif kind == "PROTOBUF":
                    text = proto_message(family, fields, version)
                else:
                    text = json_object(family, fields, version)
                schema_id = self._next_id()
                for subject in subjects:
                    yield from self._version(subject, version, text, kind, address_ref if shared else (), schema_id)
        if self.versions >= 100_000:
            for version in range(1, BIG_VERSIONS + 1):
                yield from self._version(self.big_subject, version, big_version(version), "AVRO", ())
            for kind, make in (("AVRO", avro_version), ("PROTOBUF", proto_version), ("JSON", json_version)):
                subject = f"compat-{kind.lower()}-value"
                self.check_subjects[kind] = subject
                for i in range(CHECK_VERSIONS):  # stored as a registration stores them: canonical
                    text = get_format(kind).parse(make(i), strict=False).canonical_string()
                    yield from self._version(subject, i + 1, text, kind, ())
                yield ({"keytype": "CONFIG", "subject": subject, "magic": 0},
                       {"subject": subject, "compatibilityLevel": "BACKWARD_TRANSITIVE"})

    def _next_id(self) -> int:
        self.ids += 1
        return self.ids

    def _version(self, subject: str, version: int, text: str, kind: str, refs: tuple,
                 schema_id: int | None = None) -> Iterator[tuple[dict, dict]]:
        value: dict = {"subject": subject, "version": version, "id": schema_id or self._next_id()}
        if kind != "AVRO":
            value["schemaType"] = kind
        if refs:
            value["references"] = list(refs)
        value["schema"] = text
        value["deleted"] = False
        self.lines += 1
        yield {"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}, value

    def write(self, path: Path) -> None:
        self.plan()
        with open(path, "wb") as out:
            for key, value in self.records():
                out.write(orjson.dumps({"key": key, "value": value}) + b"\n")


def big_version(version: int) -> str:
    return avro_record(1_000_003, 25, version, False)


def new_avro(version: int) -> str:
    """Versions of the big subject's record under other revision numbers: the same parse and
    check work as a registration at the end of the big subject."""
    return big_version(1_000_000 + version)


# -- the registries ----------------------------------------------------------------


@dataclass
class Store:
    """Where a registry lives: a SQLite file or a topic, and how to import into it and serve it."""

    name: str
    args: Callable[[str], list[str]]  # store arguments for a registry named so

    def load(self, name: str, dump: Path) -> float:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "registry.cli", "import", *self.args(name), "-i", str(dump)],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.monotonic() - started

    def serve(self, name: str, work: Path) -> tuple[RegistryServer, float]:
        server = RegistryServer(work / f"{self.name}-{name}.db", extra_args=tuple(self.args(name)))
        started = time.monotonic()
        server.start(timeout=900)
        return server, time.monotonic() - started


def sqlite_store(work: Path) -> Store:
    return Store("SQLite", lambda name: ["--db", str(work / f"{name}.db")])


def kafka_store(bootstrap: str) -> Store:
    run = uuid.uuid4().hex[:8]
    return Store("Kafka", lambda name: ["--kafka", bootstrap, "--topic", f"_schemas-{name}-{run}",
                                        "--group-id", f"scale-{name}-{run}"])


# -- measurements ----------------------------------------------------------------------


def register_rates(runs: list[tuple[RegistryServer, str, list[str]]], warm_up: int = 20,
                   blocks: int = 8) -> list[tuple[float, float]]:
    """For each (server, subject, texts) of ``runs`` (servers running side by side), one client's
    registrations/s and the server's CPU ms per registration: the first ``warm_up`` texts of each
    untimed, the rest registered in ``blocks`` blocks, the runs taking turns (first in one block, last
    in the next), so that the machine's other load (which moves from second to second on shared cores)
    falls on every run alike rather than on whichever came first."""
    spent = [[0.0, 0.0] for _ in runs]  # wall s, CPU s
    with contextlib.ExitStack() as clients:
        https = [clients.enter_context(httpx.Client(base_url=server.url, timeout=60)) for server, _, _ in runs]

        def register(n: int, texts: list[str]) -> None:
            subject = runs[n][1]
            for text in texts:
                https[n].post(f"/subjects/{subject}/versions", json={"schema": text}).raise_for_status()

        for n, (_, _, texts) in enumerate(runs):
            register(n, texts[:warm_up])
        for block in range(blocks):
            order = list(range(len(runs)))
            for n in order if block % 2 == 0 else reversed(order):
                server, _, texts = runs[n]
                assert server.process is not None
                timed = texts[warm_up:]
                size = -(-len(timed) // blocks)
                started, cpu = time.perf_counter(), cpu_seconds(server.process.pid)
                register(n, timed[block * size:(block + 1) * size])
                spent[n][0] += time.perf_counter() - started
                spent[n][1] += cpu_seconds(server.process.pid) - cpu
    return [((len(texts) - warm_up) / wall, cpu * 1000 / (len(texts) - warm_up))
            for (_, _, texts), (wall, cpu) in zip(runs, spent, strict=True)]


def wrk_after_warm_up(wrk: str, url: str, connections: int, duration: int, script: str) -> dict:
    run_wrk(wrk, url, connections, 1, script)
    return run_wrk(wrk, url, connections, duration, script)


def wrk_taking_turns(wrk: str, targets: list[tuple[str, str]], connections: int,
                     duration: int = GET_TURN_SECONDS, turns: int = GET_TURNS) -> list[dict]:
    """For each (url, script) of ``targets`` (servers running side by side), the median requests/s, p50
    and p99 of ``turns`` wrk runs of ``duration`` seconds after a warm-up run as long, the targets
    taking turns run by run, so that the machine's other load falls on every target alike rather than
    on whichever came first."""
    for url, script in targets:
        run_wrk(wrk, url, connections, duration, script)
    runs: list[list[dict]] = [[] for _ in targets]
    for _ in range(turns):
        for n, (url, script) in enumerate(targets):
            runs[n].append(run_wrk(wrk, url, connections, duration, script))
    return [{"rps": statistics.median(r["rps"] for r in target),
             "p50": statistics.median(r["p50"] for r in target),
             "p99": statistics.median(r["p99"] for r in target)} for target in runs]


def register_ms(url: str, subject: str, text: str) -> float:
    with httpx.Client(base_url=url, timeout=600) as http:
        started = time.perf_counter()
        http.post(f"/subjects/{subject}/versions", json={"schema": text}).raise_for_status()
        return (time.perf_counter() - started) * 1000


def check_ms(url: str, subject: str, schema_type: str, text: str) -> float:
    with httpx.Client(base_url=url, timeout=600) as http:
        started = time.perf_counter()
        answer = http.post(f"/compatibility/subjects/{subject}/versions",
                           json={"schema": text, "schemaType": schema_type}, params={"verbose": "true"})
        elapsed = (time.perf_counter() - started) * 1000
    body = answer.json()
    if not body.get("is_compatible"):
        print(f"  (unexpected answer for {subject}: {answer.status_code} {body})")
    return elapsed


# per format: the schema checked cold and after each restart, then the CHECK_REPEATS new ones checked warm
NEW_SCHEMAS = {
    "AVRO": (avro_version(None), [avro_version(None).replace('"added"', f'"other{n}"') for n in range(CHECK_REPEATS)]),
    "PROTOBUF": (proto_version(None), [proto_version(None).replace(" added ", f" other{n} ")
                                       for n in range(CHECK_REPEATS)]),
    "JSON": (json_version(None), [json_version(None).replace('"p0": {"type": "string"}',
                                                             f'"p0": {{"type": "string", "maxLength": {100_000 + n}}}')
                                  for n in range(CHECK_REPEATS)]),
}


def get_by_id_script(max_id: int) -> str:
    return f'request = function() return wrk.format("GET", "/schemas/ids/" .. math.random(1, {max_id})) end\n'


def lookup_script(samples: list[tuple[str, str, str]]) -> str:
    lines = ["requests = {}"]
    for subject, schema_type, text in samples:
        body = json.dumps({"schema": text, "schemaType": schema_type})
        lines.append(f'table.insert(requests, wrk.format("POST", "/subjects/{subject}", '
                     f'{{["Content-Type"] = "{JSON_MEDIA}"}}, {lua_string(body)}))')
    lines += ["counter = 0", "request = function()", "  counter = counter + 1",
              "  return requests[(counter % #requests) + 1]", "end"]
    return "\n".join(lines) + "\n"


def lookup_samples(dump: Path, lines: int, count: int) -> list[tuple[str, str, str]]:
    """``count`` stored (subject, type, text) spread over the dump of ``lines`` lines."""
    rng = random.Random(5)
    found = []
    with open(dump, "rb") as dumped:
        for line in dumped:
            if rng.random() < count * 2 / lines:
                item = orjson.loads(line)
                value = item["value"]
                if item["key"].get("keytype") == "SCHEMA" and not value.get("references"):
                    found.append((value["subject"], value.get("schemaType", "AVRO"), value["schema"]))
    return rng.sample(found, min(count, len(found)))


@dataclass
class Figures:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, store: str, what: str, value: str) -> None:
        """A figure, with the machine's load average (1 minute) when it was taken."""
        value = f"{value}  [load {os.getloadavg()[0]:.1f}]"
        self.rows.append((store, what, value))
        print(f"  {store:7} {what:58} {value}", flush=True)


def warm_up(url: str) -> None:
    """Parse one small schema of each format: the server's first use of each parser (module imports,
    protoc's first run) is not what a cold check of stored versions measures; nor is the start-up's
    own work, which a check would share the interpreter with: the console's subject index, built in
    the background at start (~1-3 s of CPU at 1 000 000 versions; its first page waits for it)."""
    with httpx.Client(base_url=url, timeout=600) as http:
        for kind, text in (("AVRO", '"string"'), ("PROTOBUF", 'syntax = "proto3";\nmessage W { int32 a = 1; }\n'),
                           ("JSON", '{"type":"string"}')):
            http.post("/compatibility/subjects/warm-up-value/versions", json={"schema": text, "schemaType": kind})
        http.get("/ui/subjects")


def timed_starts(store: Store, work: Path, times: int) -> tuple[RegistryServer, list[tuple[float, float, float, float]]]:
    """The big registry started ``times`` times (the machine is shared: one start can land in
    another tenant's burst): (ready wall s, CPU s, RSS MiB, peak MiB) of each; the last one serving."""
    starts = []
    for attempt in range(times):
        os.sync()  # the import's or the last start's writes are not flushed during this start
        server, ready = store.serve("big", work)
        assert server.process is not None
        starts.append((ready, cpu_seconds(server.process.pid), *memory_mib(server.process.pid)))
        if attempt < times - 1:
            server.stop()
    return server, starts


def measure_store(store: Store, dump: Path, small: Path, empty_dump: Path, dataset: Dataset, small_ids: int,
                  work: Path, wrk: str, duration: int, figures: Figures) -> None:
    name = store.name
    print(f"\n{name}: importing {dataset.lines} versions ...", flush=True)
    figures.add(name, "import of the big dump (s)", f"{store.load('big', dump):.0f}")
    store.load("small", small)
    store.load("empty", empty_dump)

    # the small registry (the GET baseline) serves beside the big one until the GETs are measured
    small_server, _ = store.serve("small", work)
    try:
        server, starts = timed_starts(store, work, STARTS)
    except BaseException:
        small_server.stop()
        raise
    try:
        ready, cpu, rss, peak = sorted(starts)[len(starts) // 2]
        figures.add(name, f"ready with {dataset.lines} versions, median of {STARTS} starts: wall s (CPU s)",
                    f"{ready:.2f} ({cpu:.2f}); starts: " + ", ".join(f"{w:.2f} ({c:.2f})" for w, c, _, _ in starts))
        figures.add(name, "resident memory when ready, peak (MiB), that start", f"{rss:.0f}, {peak:.0f}")
        warm_up(server.url)
        first, second = (register_ms(server.url, f"first-after-start-{n}", json.dumps(
            {"type": "record", "name": "FirstAfterStart", "fields": [{"name": f"f{n}", "type": "int"}]})) for n in (1, 2))
        figures.add(name, "first registration after the start, then the next: ms",
                    f"{first:.0f}, {second:.0f} (the first builds the content index, which reads do not need)")
        # GETs and registrations first: the 1 000-version and the empty registry they are compared with
        # have not parsed 1 500 stored versions, and neither should the big one have when compared (the
        # parsed forms the checks leave cached are ~900 000 objects: a full collection then pauses ~0.3 s)
        big_get, small_get = wrk_taking_turns(wrk, [(server.url, get_by_id_script(dataset.ids)),
                                                     (small_server.url, get_by_id_script(small_ids))], 32)
        small_server.stop()
        figures.add(name, "GET /schemas/ids/{random id}, 32 conns: req/s", f"{big_get['rps']:.0f} "
                    f"(1 000-version registry: {small_get['rps']:.0f})")
        figures.add(name, "  p50 / p99 ms", f"{big_get['p50']:.2f} / {big_get['p99']:.2f} (1 000-version: "
                    f"{small_get['p50']:.2f} / {small_get['p99']:.2f}; p99 ratio "
                    f"{big_get['p99'] / small_get['p99']:.2f}x)")
        lookup = wrk_after_warm_up(wrk, server.url, 8, duration, lookup_script(lookup_samples(dump, dataset.lines, 200)))
        figures.add(name, "lookup POST /subjects/{s}, 8 conns: p50 / p99 ms",
                    f"{lookup['p50']:.2f} / {lookup['p99']:.2f} ({lookup['rps']:.0f} req/s, "
                    f"{lookup['errors']} non-2xx)")
        # the empty registry (the registration baseline) serves beside the big one while registrations are measured
        empty_server, _ = store.serve("empty", work)
        try:
            fresh = [new_avro(v) for v in range(1, MEASURED_REGISTRATIONS + 21)]
            (at_end, end_cpu), (at_start, start_cpu), (empty_rate, empty_cpu) = register_rates([
                (server, dataset.big_subject,
                 [big_version(v) for v in range(BIG_VERSIONS + 1, BIG_VERSIONS + MEASURED_REGISTRATIONS + 21)]),
                (server, "fresh-value", fresh),
                (empty_server, "fresh-value", fresh),
            ])
        finally:
            empty_server.stop()
        figures.add(name, "registrations/s, 1 client: versions 10 021-10 420 of a subject",
                    f"{at_end:.0f} (server CPU {end_cpu:.1f} ms each)")
        figures.add(name, "registrations/s, 1 client: versions 21-420 of a new subject",
                    f"{at_start:.0f} (server CPU {start_cpu:.1f} ms each; 10 021.. vs 21..: {at_end / at_start:.2f}x)")
        figures.add(name, "registrations/s, 1 client: the same, in an empty registry",
                    f"{empty_rate:.0f} (server CPU {empty_cpu:.1f} ms each; big registry vs empty: "
                    f"{at_start / empty_rate:.2f}x)")
        cold = {kind: check_ms(server.url, subject, kind, NEW_SCHEMAS[kind][0])
                for kind, subject in dataset.check_subjects.items()}
        warm = {kind: [check_ms(server.url, subject, kind, text) for text in NEW_SCHEMAS[kind][1]]
                for kind, subject in dataset.check_subjects.items()}
    finally:
        small_server.stop()
        server.stop()
    again: dict[str, list[float]] = {kind: [] for kind in dataset.check_subjects}
    for _ in range(CHECK_REPEATS):
        server, _ = store.serve("big", work)
        try:
            warm_up(server.url)
            for kind, subject in dataset.check_subjects.items():
                again[kind].append(check_ms(server.url, subject, kind, NEW_SCHEMAS[kind][0]))
        finally:
            server.stop()
    for kind in dataset.check_subjects:
        after, hot = statistics.median(again[kind]), statistics.median(warm[kind])
        figures.add(name, f"{kind} transitive check vs {CHECK_VERSIONS}: cold / after restart / warm ms",
                    f"{cold[kind]:.0f} / {after:.0f} / {hot:.0f} (after restart vs warm: {after / hot:.1f}x; "
                    f"medians of {', '.join(f'{v:.0f}' for v in again[kind])} and "
                    f"{', '.join(f'{v:.0f}' for v in warm[kind])})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk measurement")
    parser.add_argument("--work", type=Path, help="folder for the dumps and databases (default: a temporary one)")
    parser.add_argument("--stores", default="sqlite,kafka", help="stores to measure (sqlite, kafka)")
    args = parser.parse_args()
    wrk = ensure_wrk()
    work = args.work or Path(tempfile.mkdtemp(prefix="schemahub-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    figures = Figures()
    try:
        dataset = Dataset(args.versions, args.subjects)
        dump, small, empty = work / "big.jsonl", work / "small.jsonl", work / "empty.jsonl"
        started = time.monotonic()
        dataset.write(dump)
        small_dataset = Dataset(1000, 100)
        small_dataset.write(small)
        empty.write_bytes(b"")
        subjects = 3 * len(dataset.families) + 2 + len(dataset.check_subjects)
        print(f"dump: {dataset.lines} versions in {subjects} subjects, {dataset.ids} ids, "
              f"{dump.stat().st_size / 2**20:.0f} MiB, written in {time.monotonic() - started:.0f} s; "
              f"small registry: {small_dataset.lines} versions", flush=True)
        stores = []
        if "sqlite" in args.stores:
            stores.append(sqlite_store(work))
        with contextlib.ExitStack() as kafka:
            if "kafka" in args.stores:
                stores.append(kafka_store(kafka.enter_context(kafka_bootstrap())))
            for store in stores:
                measure_store(store, dump, small, empty, dataset, small_dataset.ids, work, wrk, args.duration, figures)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\nsummary")
    for store, what, value in figures.rows:
        print(f"  {store:7} {what:58} {value}")


if __name__ == "__main__":
    main()
