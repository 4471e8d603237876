"""Hostile input against a real server: each answered with a clean 4xx within a second,
while another client's reads keep being served. Plus concurrent registrations.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from registry.http.app import create_app
from registry.service import Registry
from registry.stores.sqlite import SQLiteStore
from tests.server import RegistryServer

# A hang guard, not a speed claim (timings are printed; these machines are shared and noisy).
DEADLINE = 30.0
DEEP = 10_000
WIDE = 100_000


class Reader(threading.Thread):
    """Another client: reads a schema in a loop and records the slowest answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.slowest = 0.0
        self.count = 0
        self.errors: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.is_set():
                start = time.perf_counter()
                try:
                    response = client.get("/subjects/reader-value/versions/1")
                    if response.status_code != 200:
                        self.errors.append(f"{response.status_code} {response.text[:100]}")
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                self.slowest = max(self.slowest, time.perf_counter() - start)
                self.count += 1
                time.sleep(0.01)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("hostile") / "registry.db") as srv:
        httpx.post(srv.url + "/subjects/reader-value/versions", json={"schema": '"string"'}).raise_for_status()
        reader = Reader(srv.url)
        reader.start()
        srv.reader = reader  # type: ignore[attr-defined]
        yield srv
        reader.stop.set()
        reader.join(5)
        assert reader.count > 0
        assert reader.errors == []


@pytest.fixture(autouse=True)
def reads_keep_flowing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Another client's reads are served within the deadline during each test."""
    if "server" not in request.fixturenames:
        yield
        return
    reader: Reader = request.getfixturevalue("server").reader
    reader.slowest = 0.0
    yield
    slowest, reader.slowest = reader.slowest, 0.0
    print(f"SLOWEST {request.node.name} {slowest:.3f}")
    assert slowest < DEADLINE, f"a concurrent read took {slowest:.2f}s"


def _post(server: RegistryServer, path: str, *, json_body: object = None, content: bytes | None = None,
          headers: dict | None = None) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        if content is not None:
            response = client.post(path, content=content, headers=headers or {"Content-Type": "application/json"})
        else:
            response = client.post(path, json=json_body)
    return response, time.perf_counter() - start


def _assert_clean_4xx(response: httpx.Response, elapsed: float, *codes: int) -> None:
    assert 400 <= response.status_code < 500, response.text[:300]
    body = response.json()
    assert set(body) == {"error_code", "message"}
    if codes:
        assert body["error_code"] in codes, body
    assert elapsed < DEADLINE, f"answered in {elapsed:.2f}s"
    print(f"ANSWERED {response.status_code} in {elapsed:.3f}s")


# -- deep nesting ------------------------------------------------------------------------

DEEP_SCHEMAS: dict[str, Callable[[], tuple[str, str]]] = {
    "avro-arrays": lambda: ("AVRO", '{"type":"array","items":' * DEEP + '"int"' + "}" * DEEP),
    "avro-unions": lambda: ("AVRO", "[" * DEEP + '"int"' + "]" * DEEP),
    "avro-records": lambda: ("AVRO", "".join(
        f'{{"type":"record","name":"r{i}","fields":[{{"name":"f","type":' for i in range(DEEP)) + '"int"' + "}]}" * DEEP),
    "avro-maps": lambda: ("AVRO", '{"type":"map","values":' * DEEP + '"int"' + "}" * DEEP),
    "json-properties": lambda: ("JSON", '{"type":"object","properties":{"a":' * DEEP + "{}" + "}}" * DEEP),
    "json-items": lambda: ("JSON", '{"items":' * DEEP + "{}" + "}" * DEEP),
    "json-allof": lambda: ("JSON", '{"allOf":[' * DEEP + "{}" + "]}" * DEEP),
    "json-arrays": lambda: ("JSON", '{"enum":[' + "[" * DEEP + "]" * DEEP + "]}"),
    "protobuf-messages": lambda: ("PROTOBUF", 'syntax = "proto3";\n' + "message M {\n" * DEEP + "}\n" * DEEP),
    "protobuf-braces": lambda: ("PROTOBUF", 'syntax = "proto3"; message M { option (x) = ' + "{" * DEEP + "}" * DEEP + "; }"),
}


@pytest.mark.parametrize("kind", sorted(DEEP_SCHEMAS))
@pytest.mark.parametrize("route", ["/subjects/deep-{}/versions", "/compatibility/subjects/reader-value/versions",
                                   "/subjects/reader-value"])
def test_deep_nesting(server: RegistryServer, kind: str, route: str) -> None:
    schema_type, text = DEEP_SCHEMAS[kind]()
    response, elapsed = _post(server, route.format(kind), json_body={"schemaType": schema_type, "schema": text})
    if route.startswith("/subjects/reader-value") and response.status_code == 404:
        # lookup of an unregistered schema may say "not found" before parsing; still clean and quick
        _assert_clean_4xx(response, elapsed, 40403, 40401)
        return
    _assert_clean_4xx(response, elapsed, 42201)


def test_deeply_nested_request_body(server: RegistryServer) -> None:
    body = b'{"schema": "\\"int\\"", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response, elapsed = _post(server, "/subjects/deep-body/versions", content=body)
    _assert_clean_4xx(response, elapsed, 400)


# -- size ------------------------------------------------------------------------------------


def test_20_mb_body_with_content_length(server: RegistryServer) -> None:
    body = b'{"schema":"' + b"a" * (20 * 1024 * 1024) + b'"}'
    response, elapsed = _post(server, "/subjects/big/versions", content=body)
    _assert_clean_4xx(response, elapsed, 413)


def test_20_mb_chunked_body(server: RegistryServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"schema":"'
        for _ in range(20):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    start = time.perf_counter()
    try:
        response, _ = _post(server, "/subjects/big/versions", content=chunks())  # type: ignore[arg-type]
    except httpx.HTTPError:
        # the server answered 413 and closed while the client was still sending: also fine,
        # as long as it did so quickly and the server still serves
        assert time.perf_counter() - start < DEADLINE
        assert httpx.get(server.url + "/").status_code == 200
        return
    _assert_clean_4xx(response, time.perf_counter() - start, 413)


WIDE_SCHEMAS: dict[str, Callable[[], tuple[str, str]]] = {
    "avro-fields": lambda: ("AVRO", json.dumps(
        {"type": "record", "name": "R", "fields": [{"name": f"f{i}", "type": "int"} for i in range(WIDE)]})),
    "avro-enum": lambda: ("AVRO", json.dumps({"type": "enum", "name": "E", "symbols": [f"S{i}" for i in range(WIDE)]})),
    "avro-union": lambda: ("AVRO", json.dumps([{"type": "fixed", "name": f"F{i}", "size": 1} for i in range(WIDE)])),
    "json-properties": lambda: ("JSON", json.dumps(
        {"type": "object", "properties": {f"f{i}": {"type": "integer"} for i in range(WIDE)}})),
    "json-enum": lambda: ("JSON", json.dumps({"enum": list(range(WIDE))})),
    "json-anyof": lambda: ("JSON", json.dumps({"anyOf": [{"const": i} for i in range(WIDE)]})),
    "protobuf-fields": lambda: ("PROTOBUF", 'syntax = "proto3"; message M {'
                                + "".join(f"int32 f{i} = {i + 1};" for i in range(WIDE)) + "}"),
    "protobuf-enum": lambda: ("PROTOBUF", 'syntax = "proto3"; enum E {'
                              + "".join(f"E{i} = {i};" for i in range(WIDE)) + "}"),
    "protobuf-messages": lambda: ("PROTOBUF", 'syntax = "proto3";' + "".join(f"message M{i} {{}}" for i in range(WIDE))),
}


@pytest.mark.parametrize("kind", sorted(WIDE_SCHEMAS))
def test_100_000_elements(server: RegistryServer, kind: str) -> None:
    schema_type, text = WIDE_SCHEMAS[kind]()
    for route in (f"/subjects/wide-{kind}/versions", "/compatibility/subjects/reader-value/versions"):
        response, elapsed = _post(server, route, json_body={"schemaType": schema_type, "schema": text})
        _assert_clean_4xx(response, elapsed, 42209)


def test_a_long_schema_string_of_one_element(server: RegistryServer) -> None:
    text = json.dumps({"type": "string", "doc": "x" * 6_000_000})
    response, elapsed = _post(server, "/subjects/long-doc/versions", json_body={"schema": text})
    assert response.status_code == 200 and elapsed < 2 * DEADLINE


# -- references ------------------------------------------------------------------------------


def test_reference_chain_is_bounded(server: RegistryServer) -> None:
    """Each link references the previous one; the registry refuses the chain long before 1000."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        previous = None
        refused_at = None
        for i in range(1000):
            fields = [{"name": "id", "type": "long"}]
            refs = []
            if previous is not None:
                fields.append({"name": "prev", "type": f"C{i - 1}"})
                refs = [{"name": f"C{i - 1}", "subject": previous, "version": 1}]
            body = {"schema": json.dumps({"type": "record", "name": f"C{i}", "fields": fields}), "references": refs}
            start = time.perf_counter()
            response = client.post(f"/subjects/chain-{i}/versions", json=body)
            elapsed = time.perf_counter() - start
            assert elapsed < DEADLINE, f"link {i} took {elapsed:.2f}s"
            if response.status_code != 200:
                _assert_clean_4xx(response, elapsed, 42201)
                refused_at = i
                break
            previous = f"chain-{i}"
        assert refused_at is not None and refused_at < 1000
        # and a request that names 1000 references at once
        refs = [{"name": f"r{i}.avsc", "subject": "chain-0", "version": 1} for i in range(1000)]
        response, elapsed = _post(server, "/subjects/many-refs/versions",
                                  json_body={"schema": '"string"', "references": refs})
        assert elapsed < DEADLINE and response.status_code in (200, 422), response.text[:200]


def test_reference_cycles_and_self_references(server: RegistryServer) -> None:
    cases = [
        # a subject referencing its own (not yet existing) first version
        ("/subjects/cycle-a/versions", {"schema": json.dumps({"type": "record", "name": "A", "fields": [
            {"name": "b", "type": "B"}]}), "references": [{"name": "B", "subject": "cycle-a", "version": 1}]}),
        # references to -1 (latest) of a subject with no versions
        ("/subjects/cycle-b/versions", {"schema": '"string"', "references": [
            {"name": "x", "subject": "cycle-b", "version": -1}]}),
    ]
    for path, body in cases:
        response, elapsed = _post(server, path, json_body=body)
        _assert_clean_4xx(response, elapsed, 42201)
    # A v1; B v1 -> A v1; A v2 -> B v1: the closest the API allows to a cycle. Quick, clean.
    a1 = {"schema": json.dumps({"type": "record", "name": "A", "fields": [{"name": "x", "type": "int"}]})}
    assert _post(server, "/subjects/cyc-a/versions", json_body=a1)[0].status_code == 200
    b1 = {"schema": json.dumps({"type": "record", "name": "B", "fields": [{"name": "a", "type": "A"}]}),
          "references": [{"name": "A", "subject": "cyc-a", "version": 1}]}
    assert _post(server, "/subjects/cyc-b/versions", json_body=b1)[0].status_code == 200
    a2 = {"schema": json.dumps({"type": "record", "name": "A", "fields": [
        {"name": "x", "type": "int"}, {"name": "b", "type": ["null", "B"], "default": None}]}),
        "references": [{"name": "B", "subject": "cyc-b", "version": 1}]}
    response, elapsed = _post(server, "/subjects/cyc-a/versions", json_body=a2)
    assert elapsed < DEADLINE and response.status_code < 500


@pytest.mark.parametrize("schema", [
    '{"$ref": "#"}',
    '{"definitions": {"a": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"}',
    '{"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"}',
    '{"type": "object", "properties": {"next": {"$ref": "#"}}}',
    '{"$ref": "#/definitions/missing"}',
    '{"$ref": "http://example.com/elsewhere.json"}',
])
def test_self_referencing_json_schemas(server: RegistryServer, schema: str) -> None:
    subject = f"selfref-{abs(hash(schema))}"
    for path in (f"/subjects/{subject}/versions", f"/subjects/{subject}/versions",
                 f"/compatibility/subjects/{subject}/versions?verbose=true"):
        body = {"schemaType": "JSON", "schema": schema}
        response, elapsed = _post(server, path, json_body=body)
        assert response.status_code < 500 and elapsed < DEADLINE, response.text[:200]
    # and against a different recursive schema (the compatibility engine must terminate)
    other = '{"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "string"}}}'
    response, elapsed = _post(server, f"/compatibility/subjects/{subject}/versions?verbose=true",
                              json_body={"schemaType": "JSON", "schema": other})
    assert response.status_code < 500 and elapsed < DEADLINE


def test_recursive_avro_and_protobuf(server: RegistryServer) -> None:
    avro = json.dumps({"type": "record", "name": "Node", "fields": [
        {"name": "next", "type": ["null", "Node"], "default": None}]})
    proto = 'syntax = "proto3"; message Node { Node next = 1; repeated Node kids = 2; }'
    for schema_type, text in (("AVRO", avro), ("PROTOBUF", proto)):
        for _ in range(2):
            response, elapsed = _post(server, f"/subjects/rec-{schema_type}/versions",
                                      json_body={"schemaType": schema_type, "schema": text})
            assert response.status_code == 200 and elapsed < DEADLINE, response.text[:200]


# -- encoding --------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    b'{"schema":"\xff\xfe"}',
    b'{"schema":"\\"int\\"", "\xc0\xaf": 1}',
    b'\xef\xbb\xbf{"schema":"\\"int\\""}',
    b'{"schema":"\\ud800"}',
    b'{"schema":"{\\"type\\":\\"enum\\",\\"name\\":\\"E\\",\\"symbols\\":[\\"\\udfff\\"]}"}',
    b"\x00\x00\x00",
])
def test_invalid_utf8_and_encodings(server: RegistryServer, content: bytes) -> None:
    response, elapsed = _post(server, "/subjects/utf8/versions", content=content)
    _assert_clean_4xx(response, elapsed)


@pytest.mark.parametrize("schema_type, text", [
    ("JSON", '{"$\\ud800schema": 1}'),
    ("JSON", '{"title": "\\udc00"}'),
    ("AVRO", '{"type": "record", "name": "R", "doc": "\\ud800", "fields": []}'),
    ("AVRO", '{"type": "string", "x": "\\ud83d x"}'),
    ("PROTOBUF", 'syntax = "proto3"; message M { string a = 1 [json_name = "\\ud800"]; }'),
])
def test_escaped_lone_surrogates_in_schema_text(server: RegistryServer, schema_type: str, text: str) -> None:
    """The body is valid UTF-8; the schema inside escapes half a surrogate pair: refused, not a 500."""
    response, elapsed = _post(server, "/subjects/surrogate/versions", json_body={"schemaType": schema_type, "schema": text})
    _assert_clean_4xx(response, elapsed, 42201)


@pytest.mark.parametrize("text", [
    'syntax = "proto3"; message M { string a = 1 [json_name = "\\xff"]; }',
    'syntax = "proto3"; option java_package = "\\xff\\xfe"; message M { string a = 1; }',
    'syntax = "proto2"; message M { optional string a = 1 [default = "\\377"]; }',
])
def test_protobuf_strings_that_are_not_utf8(server: RegistryServer, text: str) -> None:
    for _ in range(2):  # registered, then found again from its canonical form
        response, elapsed = _post(server, "/subjects/proto-bytes/versions",
                                  json_body={"schemaType": "PROTOBUF", "schema": text})
        assert response.status_code < 500 and elapsed < DEADLINE, response.text[:200]


def test_invalid_utf8_in_the_path(server: RegistryServer) -> None:
    start = time.perf_counter()
    response = httpx.get(server.url + "/subjects/%FF%FE/versions")
    _assert_clean_4xx(response, time.perf_counter() - start, 40401)


# -- concurrency -----------------------------------------------------------------------------


def test_100_concurrent_registrations_of_one_schema(server: RegistryServer) -> None:
    body = {"schema": json.dumps({"type": "record", "name": "Same", "fields": [{"name": "a", "type": "int"}]})}

    def register(_: int) -> tuple[int, int]:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            response = client.post("/subjects/concurrent-same/versions", json=body)
            response.raise_for_status()
            return response.json()["id"], response.json()["version"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = set(pool.map(register, range(100)))
    assert len(results) == 1
    assert httpx.get(server.url + "/subjects/concurrent-same/versions").json() == [1]


def test_100_concurrent_different_schemas_under_none(server: RegistryServer) -> None:
    subject = "concurrent-many"
    httpx.put(f"{server.url}/config/{subject}", json={"compatibility": "NONE"}).raise_for_status()

    def register(i: int) -> tuple[int, int]:
        schema = json.dumps({"type": "record", "name": f"Many{i}", "fields": [{"name": "a", "type": "int"}]})
        with httpx.Client(base_url=server.url, timeout=30) as client:
            response = client.post(f"/subjects/{subject}/versions", json={"schema": schema})
            response.raise_for_status()
            return response.json()["id"], response.json()["version"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(register, range(100)))
    ids = [i for i, _ in results]
    versions = sorted(v for _, v in results)
    assert versions == list(range(1, 101))
    assert len(set(ids)) == 100
    assert httpx.get(f"{server.url}/subjects/{subject}/versions").json() == list(range(1, 101))


# -- the request deadline ----------------------------------------------------------------------


def test_request_timeout_answers_408(tmp_path: Path) -> None:
    registry = Registry(SQLiteStore(tmp_path / "timeout.db"))
    original = registry.register_queued  # (what the route runs in a worker)
    release = threading.Event()

    def stuck_register(*args, **kwargs):
        release.wait(30)
        return original(*args, **kwargs)

    registry.register_queued = stuck_register  # type: ignore[method-assign]
    try:
        with TestClient(create_app(registry, request_timeout=0.2)) as client:
            response = client.post("/subjects/slow/versions", json={"schema": '"int"'})
            assert response.status_code == 408, "the handler was still blocked: only the timeout can answer"
            assert response.json()["error_code"] == 40801
            assert client.get("/subjects").status_code == 200
    finally:
        release.set()
        time.sleep(0.5)  # let the abandoned worker finish before closing the store
        registry.close()
