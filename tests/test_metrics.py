"""``/metrics`` (Prometheus text format), ``/health`` and ``/ready``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry.http.app import create_app
from registry.service import Registry
from registry.stores.sqlite import SQLiteStore

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')
V1 = '{"type":"record","name":"M","fields":[{"name":"a","type":"int"}]}'
V2 = '{"type":"record","name":"M","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":0}]}'
BAD = '{"type":"record","name":"M","fields":[{"name":"a","type":"string"}]}'


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, Registry]]:
    registry = Registry(SQLiteStore(tmp_path / "metrics.db"))
    with TestClient(create_app(registry)) as client:
        yield client, registry
    registry.close()


def parse(text: str) -> dict[str, float]:
    """Every sample, keyed by ``name{labels}``; fails on a line that is not the text format."""
    samples: dict[str, float] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        if line.startswith("# HELP ") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        base = re.sub(r"_(bucket|sum|count)$", "", match.group(1))
        assert match.group(1) in types or base in types, f"sample without # TYPE: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def test_metrics_count_requests_schemas_and_checks(app_client: tuple[TestClient, Registry]) -> None:
    client, _ = app_client
    assert client.post("/subjects/m-value/versions", json={"schema": V1}).status_code == 200
    assert client.post("/subjects/m-value/versions", json={"schema": V2}).status_code == 200
    assert client.post("/subjects/m-value/versions", json={"schema": BAD}).status_code == 409
    assert client.post("/compatibility/subjects/m-value/versions/latest", json={"schema": BAD}).json() == {
        "is_compatible": False}
    assert client.post("/subjects/other/versions", json={"schema": V1}).status_code == 200
    assert client.get("/subjects/nope/versions").status_code == 404
    assert client.get("/no/such/route").status_code == 404

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse(response.text)

    requests = 'schemahub_http_requests_total{method="POST",route="/subjects/{subject}/versions",status="200"}'
    assert samples[requests] == 3
    assert samples['schemahub_http_requests_total{method="POST",route="/subjects/{subject}/versions",status="409"}'] == 1
    assert samples['schemahub_http_requests_total{method="GET",route="/subjects/{subject}/versions",status="404"}'] == 1
    assert samples['schemahub_http_requests_total{method="GET",route="unmatched",status="404"}'] == 1
    latency = 'schemahub_http_request_duration_seconds_count{method="POST",route="/subjects/{subject}/versions"}'
    assert samples[latency] == 4
    inf = 'schemahub_http_request_duration_seconds_bucket{method="POST",route="/subjects/{subject}/versions",le="+Inf"}'
    assert samples[inf] == 4
    assert samples["schemahub_subjects"] == 2
    assert samples["schemahub_schemas"] == 2  # V1 shared by both subjects, V2
    assert samples["schemahub_schema_versions"] == 3
    assert samples['schemahub_compatibility_checks_total{result="compatible"}'] >= 1
    assert samples['schemahub_compatibility_checks_total{result="incompatible"}'] == 2
    assert samples["schemahub_store_write_duration_seconds_count"] == 3
    assert samples["schemahub_leader"] == 1
    assert samples["schemahub_store_replay_lag"] == 0


def test_histogram_buckets_are_cumulative(app_client: tuple[TestClient, Registry]) -> None:
    client, _ = app_client
    for _ in range(5):
        client.get("/subjects")
    samples = parse(client.get("/metrics").text)
    buckets = [(k, v) for k, v in samples.items()
               if k.startswith('schemahub_http_request_duration_seconds_bucket{method="GET",route="/subjects"')]
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and counts[-1] == 5


def test_health_and_ready(app_client: tuple[TestClient, Registry]) -> None:
    client, registry = app_client
    assert client.get("/health").json() == {"status": "UP"}
    assert client.get("/ready").json() == {"status": "UP", "reason": "ready"}
    registry.store.close()
    response = client.get("/ready")
    assert response.status_code == 503 and response.json()["status"] == "DOWN"
    assert client.get("/health").status_code == 200


def test_metrics_labels_are_escaped() -> None:
    from registry.http.metrics import Counter

    counter = Counter("x_total", "help", ("route",))
    counter.inc('a"b\\c\nd')
    assert parse("# TYPE x_total counter\n" + "\n".join(counter.render()[2:])) == {
        'x_total{route="a\\"b\\\\c\\nd"}': 1.0}


def test_made_up_methods_add_no_series(app_client: tuple[TestClient, Registry]) -> None:
    """Issue 12, item 6: labels take no value a client made up (h11 and other servers pass any
    token as the method): 10 000 distinct methods are one ``other`` series."""
    from registry.http.metrics import metrics_for

    _, registry = app_client
    metrics = metrics_for(registry)
    before = len(metrics.render())
    for n in range(10_000):
        metrics.observe_request(f"X{n}METHOD", "", 405, 0.001)
    after = metrics.render()
    assert len(after) < before + 4096, (before, len(after))
    assert 'method="other"' in after and "X17METHOD" not in after
