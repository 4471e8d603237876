"""serde.SchemaRegistryClient: config keys, retries with backoff, failover, auth,
bounded caches, latest TTL, errors; and the wire-format helpers."""

from __future__ import annotations

import json
import time

import httpx
import pytest

import serde
from serde import Schema, SchemaRegistryClient, SchemaRegistryError, wire
from serde.client import _LRU
from tests.server import free_port


def mock(client: SchemaRegistryClient, handler) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client._http._transport = httpx.MockTransport(record)
    return seen


def test_retries_retriable_statuses_with_backoff() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test", "max.retries": 3, "retries.wait.ms": 1,
                                   "retries.max.wait.ms": 5})
    answers = iter([503, 429, 408])

    def handler(request):
        status = next(answers, 200)
        if status != 200:
            return httpx.Response(status, json={"error_code": status * 100, "message": "busy"})
        return httpx.Response(200, json={"schema": '"string"', "schemaType": "AVRO"})

    seen = mock(client, handler)
    assert client.get_schema(7).schema_str == '"string"'
    assert len(seen) == 4
    assert client.get_schema(7).schema_str == '"string"' and len(seen) == 4  # cached


def test_gives_up_after_max_retries_with_error_fields() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test", "max.retries": 2, "retries.wait.ms": 1})
    seen = mock(client, lambda r: httpx.Response(500, json={"error_code": 50001, "message": "boom"}))
    with pytest.raises(SchemaRegistryError) as err:
        client.get_schema(1)
    assert (err.value.http_status_code, err.value.error_code, err.value.error_message) == (500, 50001, "boom")
    assert len(seen) == 3


def test_non_retriable_error_is_immediate() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test"})
    seen = mock(client, lambda r: httpx.Response(404, json={"error_code": 40403, "message": "Schema not found"}))
    with pytest.raises(SchemaRegistryError) as err:
        client.get_schema(1)
    assert err.value.error_code == 40403 and len(seen) == 1


def test_full_jitter_backoff_bounds() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test", "retries.wait.ms": 100, "retries.max.wait.ms": 300})
    for attempt in range(6):
        for _ in range(50):
            assert 0 <= client._backoff(attempt) <= min(0.3, 0.1 * 2 ** attempt)


def test_failover_to_next_url(live_registry) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = SchemaRegistryClient({"url": f"{dead},{live_registry.url}", "retries.wait.ms": 1})
    schema_id = client.register_schema(f"fo-{time.time_ns()}-value", Schema('"string"', "AVRO"))
    assert client.get_schema(schema_id).schema_str == '"string"'
    assert client._current == 1  # sticks to the URL that answered


def test_basic_auth_and_headers() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test", "basic.auth.user.info": "alice:s3cret"})
    seen = mock(client, lambda r: httpx.Response(200, json={"id": 3, "version": 1, "guid": "g"}))
    client.register_schema("s", Schema('"int"', "AVRO"))
    request = seen[0]
    assert request.headers["authorization"] == "Basic " + __import__("base64").b64encode(b"alice:s3cret").decode()
    assert request.headers["content-type"] == "application/vnd.schemaregistry.v1+json"
    assert request.url.params["normalize"] == "false"
    assert json.loads(request.content) == {"schema": '"int"', "schemaType": "AVRO", "references": []}
    url_auth = SchemaRegistryClient({"url": "http://bob:pw@sr.test"})
    seen = mock(url_auth, lambda r: httpx.Response(200, json=["AVRO"]))
    url_auth.get_schema_types()
    assert seen[0].headers["authorization"].startswith("Basic ") and seen[0].url.host == "sr.test"


def test_subjects_are_percent_encoded() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test"})
    seen = mock(client, lambda r: httpx.Response(200, json={"id": 1, "version": 2, "schema": "x",
                                                            "schemaType": "PROTOBUF"}))
    client.get_version("common/dep.proto", 2, True)
    assert seen[0].url.raw_path.startswith(b"/subjects/common%2Fdep.proto/versions/2")


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="url is required"):
        SchemaRegistryClient({})
    with pytest.raises(ValueError, match="unknown configuration key 'basic.auth.user'"):
        SchemaRegistryClient({"url": "http://x", "basic.auth.user": "a:b"})
    with pytest.raises(ValueError, match="Unrecognized bearer.auth.credentials.source 'STATIC'"):
        SchemaRegistryClient({"url": "http://x", "bearer.auth.credentials.source": "STATIC"})


def test_latest_cache_ttl() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test", "cache.latest.ttl.sec": 0.2})
    versions = iter(range(1, 10))
    seen = mock(client, lambda r: httpx.Response(200, json={"id": 1, "version": next(versions), "schema": '"int"'}))
    assert client.get_latest_version("s").version == 1
    assert client.get_latest_version("s").version == 1
    time.sleep(0.25)
    assert client.get_latest_version("s").version == 2
    assert len(seen) == 2


def test_caches_are_bounded() -> None:
    lru = _LRU(3)
    for i in range(10):
        lru.put(i, i)
    assert len(lru) == 3 and lru.get(0) is None and lru.get(9) == 9
    client = SchemaRegistryClient({"url": "http://sr.test", "cache.capacity": 5})
    mock(client, lambda r: httpx.Response(200, json={"schema": '"int"'}))
    for i in range(50):
        client.get_schema(i)
    assert len(client._by_id) == 5


def test_wire_indexes_and_frames() -> None:
    assert wire.encode_indexes([0]) == b"\x00"
    assert wire.encode_indexes([1]) == b"\x02\x02"
    assert wire.encode_indexes([0, 1]) == b"\x04\x00\x02"
    for path in ([0], [1], [0, 1], [3, 70, 2], [200]):
        data = b"\x00\x00\x00\x00\x05" + wire.encode_indexes(path) + b"rest"
        ref, pos = wire.read_ref(data, 0, protobuf=True)
        assert (ref.id, list(ref.indexes), data[pos:]) == (5, path, b"rest")
    assert wire.decode_indexes(b"\x00", 0) == ((0,), 1)
    ref, pos = wire.read_ref(b"\x00\xff\xff\xff\xffx", 0, protobuf=False)
    assert ref.id == 2**32 - 1 and pos == 5  # unsigned, as confluent-kafka-python reads it
    guid = "d41d8cd9-8f00-3204-a980-0998ecf8427e"
    ref, pos = wire.read_ref(wire.guid_prefix(guid) + b"p", 0, protobuf=False)
    assert ref.guid == guid and pos == 17
    with pytest.raises(serde.SerializationError, match="Invalid magic byte"):
        wire.read_ref(b"\x07abcd", 0, protobuf=False)
    ctx = serde.SerializationContext("t", serde.MessageField.KEY, [("__key_schema_id", wire.guid_prefix(guid))])
    ref, pos = wire.read_frame(b"payload", ctx)
    assert ref.guid == guid and pos == 0


def test_serde_tombstones_need_no_registry() -> None:
    ctx = serde.SerializationContext("t", serde.MessageField.VALUE)
    assert serde.AvroDeserializer(None)(None, ctx) is None
    assert serde.JSONDeserializer('{"type":"object"}')(None, ctx) is None
