"""A deterministic sample of the shared corpus through HTTP against a live ``schemahub serve``.

For each sampled case (unique subject per case): the references are registered
as their own subjects, the history is registered under compatibility NONE,
the case's level (and JSON policy) is set, then

- ``POST /compatibility/subjects/{s}/versions?verbose=true`` must give
  Confluent's verdict and, when incompatible, exactly the messages of
  compat-rules.md §0.3: the engine's errors for the failing version
  (newest first, transitive levels stop at the first failure; FULL lists
  old-reads-new first), ``{oldSchemaVersion: N}`` and ``{oldSchema: '...'}``
  (with the stored canonical text), then ``{validateFields: 'false',
  compatibility: 'LEVEL'}``;
- ``POST /subjects/{s}/versions`` must give 200, or 409 / 40901 with
  ``Schema being registered is incompatible with an earlier schema for
  subject "s", details: [...]`` carrying the same messages.

The expected messages are assembled here from the format engines directly,
independently of ``registry/compatibility.py``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.formats import Dependency, ParsedSchema, parse_schema
from tests.server import RegistryServer
from tests.shared import SHARED, shared_path

PER_FORMAT_MINIMUM = 30
TYPES_DIR = ("corpus", "schema-registry", "protobuf-types", "src", "main", "proto")
FORMATS = {"AVRO": "avro", "PROTOBUF": "protobuf", "JSON": "json"}
PREFIX = 'Schema being registered is incompatible with an earlier schema for subject "{}", details: ['


def _cases(name: str) -> list[dict[str, Any]]:
    path = SHARED / "corpus" / "extracted" / f"{name}-cases.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _runnable(case: dict[str, Any]) -> bool:
    # skip_reason cases are invalid schemas (tested below); bad.Message is an unresolvable type.
    return "skip_reason" not in case and "bad.Message" not in case["reader_or_new"]


def _sample(cases: list[dict[str, Any]], step: int, always: Any = lambda c: False) -> list[tuple[int, dict]]:
    """Every ``step``-th runnable case, every case ``always`` selects, and the first
    case of each (level, policy, verdict) not yet covered."""
    chosen: dict[int, dict] = {}
    runnable = [(i, c) for i, c in enumerate(cases) if _runnable(c)]
    for n, (i, case) in enumerate(runnable):
        if n % step == 0 or always(case):
            chosen[i] = case
    seen = {(c["level"], c.get("policy"), c["expected_compatible"]) for c in chosen.values()}
    for i, case in runnable:
        key = (case["level"], case.get("policy"), case["expected_compatible"])
        if key not in seen:
            chosen[i], seen = case, seen | {key}
    return sorted(chosen.items())


SAMPLES: dict[str, list[tuple[int, dict]]] = {
    "AVRO": _sample(_cases("avro"), 8, lambda c: "endpoint" in c or ("history_old_to_new" in c and len(
        c["history_old_to_new"]) > 2)),
    "PROTOBUF": _sample(_cases("protobuf"), 4, lambda c: bool(c.get("old_references") or c.get("new_references"))
                        or c["level"] != "BACKWARD"),
    "JSON": _sample(_cases("json"), 9, lambda c: c["level"] != "BACKWARD" or "old_metadata" in c),
}
PARAMS = [(fmt, i, c) for fmt, sample in SAMPLES.items() for i, c in sample]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("compat-http") / "registry.db") as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server: RegistryServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        yield client


# -- references ------------------------------------------------------------------------


def _reference_text(ref: dict[str, Any]) -> str:
    if ref.get("schema"):
        return ref["schema"]
    name = ref.get("schema_file") or ref["name"]
    if name.startswith("google/protobuf/"):
        import grpc_tools

        return (Path(grpc_tools.__file__).parent / "_proto" / name).read_text()
    return shared_path(*TYPES_DIR, name).read_text()


def _imports(text: str) -> set[str]:
    return set(re.findall(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"', text, re.M))


class Side:
    """One side's references: registered as subjects over HTTP and parsed locally."""

    def __init__(self, http: httpx.Client, case_subject: str, refs: list[dict[str, Any]],
                 registered: dict[tuple, str]) -> None:
        self.wire: list[dict[str, Any]] = []
        self.deps: list[Dependency] = []
        for ref in refs:  # each may import the ones before it
            text = _reference_text(ref)
            wanted = _imports(text)
            wire_refs = [r for r in self.wire if r["name"] in wanted]
            deps = [d for d in self.deps if d.name in wanted]
            key = (ref["subject"], ref.get("version", 1), ref["name"], text)
            subject = registered.get(key)
            if subject is None:
                subject = f"{case_subject}-ref{len(registered)}"
                response = http.post(f"/subjects/{subject}/versions",
                                     json={"schemaType": "PROTOBUF", "schema": text, "references": wire_refs})
                assert response.status_code == 200, response.text
                registered[key] = subject
            self.wire.append({"name": ref["name"], "subject": subject, "version": 1})
            self.deps.append(Dependency(ref["name"], parse_schema("PROTOBUF", text, deps), subject, 1))


# -- expected messages (compat-rules §0.3), independent of registry/compatibility.py --------


def _engine(reader: ParsedSchema, writer: ParsedSchema, policy: str, labels: tuple[str, str]) -> list[str]:
    return [i.render(*labels) for i in reader.incompatibilities(writer, policy)]


def _expected(new: ParsedSchema, olds: list[tuple[int, ParsedSchema, str]], level: str, policy: str) -> list[str]:
    """``olds`` newest first: (version, parsed, stored text)."""
    base = level.replace("_TRANSITIVE", "")
    for version, old, text in olds if level.endswith("_TRANSITIVE") else olds[:1]:
        forward = _engine(old, new, policy, ("old", "new")) if base in ("FORWARD", "FULL") else []
        backward = _engine(new, old, policy, ("new", "old")) if base in ("BACKWARD", "FULL") else []
        tail = [f"{{oldSchemaVersion: {version}}}", f"{{oldSchema: '{text}'}}"]
        if base == "FULL":
            messages = forward + (backward + tail if backward else [])
        else:
            messages = forward + backward + tail if forward or backward else []
        if messages:
            return [*messages, f"{{validateFields: 'false', compatibility: '{level}'}}"]
    return []


def _error_types(messages: list[str]) -> set[str]:
    return {m for message in messages for m in re.findall(r"""errorType:["']([A-Z_]+)["']""", message)}


# -- the test ----------------------------------------------------------------------------------

REGISTERED_REFS: dict[tuple, str] = {}


@pytest.mark.parametrize("fmt,index,case", PARAMS, ids=[f"{FORMATS[f]}-{i}" for f, i, _ in PARAMS])
def test_case_over_http(http: httpx.Client, fmt: str, index: int, case: dict[str, Any]) -> None:
    shared_path("corpus", "extracted", f"{FORMATS[fmt]}-cases.jsonl")
    subject = f"http-{FORMATS[fmt]}-{index}"
    level = case["level"]
    policy = case.get("policy", "STRICT")
    old_side = Side(http, subject, case.get("old_references", []), REGISTERED_REFS)
    new_side = Side(http, subject, case.get("new_references", []), REGISTERED_REFS)

    assert http.put(f"/config/{subject}", json={"compatibility": "NONE"}).status_code == 200
    history = case.get("history_old_to_new") or [case["writer_or_old"]]
    olds: list[tuple[int, ParsedSchema, str]] = []
    for text in history:
        body: dict[str, Any] = {"schemaType": fmt, "schema": text, "references": old_side.wire}
        if case.get("old_metadata"):
            body["metadata"] = case["old_metadata"]
        response = http.post(f"/subjects/{subject}/versions", json=body)
        assert response.status_code == 200, response.text
        version = response.json()["version"]
        stored = http.get(f"/subjects/{subject}/versions/{version}").json()["schema"]
        parsed = parse_schema(fmt, text, old_side.deps, strict=False)
        olds = [o for o in olds if o[0] != version]
        olds.insert(0, (version, parsed, stored))
    config: dict[str, Any] = {"compatibility": level}
    if policy != "STRICT":
        config["compatibilityPolicy"] = policy
    assert http.put(f"/config/{subject}", json=config).status_code == 200

    new_body: dict[str, Any] = {"schemaType": fmt, "schema": case["reader_or_new"], "references": new_side.wire}
    if case.get("new_metadata"):
        new_body["metadata"] = case["new_metadata"]
    path = f"/compatibility/subjects/{subject}/versions"
    if case.get("endpoint", "").endswith("/versions/latest"):
        path += "/latest"
        olds = olds[:1]
    response = http.post(path, params={"verbose": "true"}, json=new_body)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_compatible"] is case["expected_compatible"], (case.get("description"), body)

    new = parse_schema(fmt, case["reader_or_new"], new_side.deps)
    expected = _expected(new, olds, level, policy)
    if case["expected_compatible"]:
        assert body["messages"] == [] and expected == []
    else:
        assert body["messages"] == expected, case.get("description")
        assert body["messages"][-1] == f"{{validateFields: 'false', compatibility: '{level}'}}"
        if level.replace("_TRANSITIVE", "") != "FULL" or any("oldSchemaVersion" in m for m in expected):
            assert any(re.fullmatch(r"\{oldSchemaVersion: \d+\}", m) for m in body["messages"])
            assert any(m.startswith("{oldSchema: '") for m in body["messages"])
        types = _error_types(body["messages"])
        for error in case.get("expected_errors", []):
            assert error["type"] in types, (error, body["messages"])
        changes = {c.split(" ", 1)[0] for c in case.get("expected_changes", [])}
        if changes and fmt != "AVRO" and level == "BACKWARD":
            assert types and types <= changes, (types, changes)

    if path.endswith("/latest") and not case["expected_compatible"]:
        return  # registering checks every version under a transitive level, not only the latest
    response = http.post(f"/subjects/{subject}/versions", json=new_body)
    if case["expected_compatible"]:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 409, response.text
        error = response.json()
        assert error["error_code"] == 40901
        assert error["message"] == PREFIX.format(subject) + ", ".join(expected) + "]"


def test_sample_size_and_levels() -> None:
    shared_path("corpus", "extracted", "avro-cases.jsonl")
    for fmt, sample in SAMPLES.items():
        assert len(sample) >= PER_FORMAT_MINIMUM, (fmt, len(sample))
        levels = {c["level"] for c in _cases(FORMATS[fmt]) if _runnable(c)}
        assert levels == {c["level"] for _, c in sample}, fmt
        assert {True, False} <= {c["expected_compatible"] for _, c in sample}
    assert sum(bool(c.get("old_references")) for _, c in SAMPLES["PROTOBUF"]) >= 10
    print("\nHTTP compatibility sample: " + ", ".join(f"{f} {len(s)}" for f, s in SAMPLES.items()))


@pytest.mark.parametrize("fmt", ["AVRO", "PROTOBUF"])
def test_skip_reason_cases_are_invalid_schemas_over_http(http: httpx.Client, fmt: str) -> None:
    """The corpus' skip_reason cases: Confluent rejects the schema (42201); a verbose
    compatibility check answers is_compatible false with the error text."""
    shared_path("corpus", "extracted", f"{FORMATS[fmt]}-cases.jsonl")
    cases = [c for c in _cases(FORMATS[fmt]) if "skip_reason" in c]
    assert cases, "the corpus has skip_reason cases for this format"
    for n, case in enumerate(cases):
        subject = f"http-invalid-{FORMATS[fmt]}-{n}"
        # (the Protobuf case's old schema uses field number 0 as well)
        old = http.post(f"/subjects/{subject}/versions", json={"schemaType": fmt, "schema": case["writer_or_old"]})
        assert old.status_code in (200, 422), old.text
        body = {"schemaType": fmt, "schema": case["reader_or_new"]}
        response = http.post(f"/subjects/{subject}/versions", json=body)
        assert response.status_code == 422 and response.json()["error_code"] == 42201, response.text
        verbose = http.post(f"/compatibility/subjects/{subject}/versions", params={"verbose": "true"}, json=body)
        assert verbose.status_code == 200
        assert verbose.json()["is_compatible"] is False and verbose.json()["messages"]


def test_http_sample_rerun_answers(http: httpx.Client) -> None:
    """Re-running one transitive case answers again (its time is printed, not asserted)."""
    start = time.perf_counter()
    response = http.post("/compatibility/subjects/http-avro-0/versions", params={"verbose": "true"},
                         json={"schema": '"string"'})
    assert response.status_code == 200
    print(f"\nre-run of a transitive HTTP check: {time.perf_counter() - start:.3f}s")
