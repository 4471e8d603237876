"""``schemahub check --registry`` and ``schemahub register`` against a live ``schemahub serve``."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.test_gate_support import avro, project, proto  # noqa: F401

ID = {"name": "id", "type": "string"}
HEADERS = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


@pytest.fixture
def gate(project, live_registry):
    """A project whose subjects are unique to the test (the registry is shared by the session)."""
    tag = uuid.uuid4().hex[:8]
    project.write("pyproject.toml", f"""
[tool.schemahub]
registry = "{live_registry.url}"
proto-paths = ["protos"]

[[tool.schemahub.schemas]]
files = "avro/*.avsc"
subject = "{tag}-{{stem}}-value"

[[tool.schemahub.schemas]]
files = "protos/**/*.proto"
subject = "{tag}-{{path}}"

[[tool.schemahub.schemas]]
files = "json/*.json"
subject = "{tag}-{{stem}}"
""")
    project.tag = tag
    project.url = live_registry.url
    return project


def put(url: str, path: str, body: dict) -> dict:
    response = httpx.request("PUT" if path.startswith("/config") else "POST", url + path, json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def test_check_uses_each_subjects_level(gate):
    url, tag = gate.url, gate.tag
    v1 = avro(ID, {"name": "email", "type": "string"})
    import json as _json

    for stem, level in (("backward", "BACKWARD"), ("forward", "FORWARD"), ("none", "NONE")):
        put(url, f"/config/{tag}-{stem}-value", {"compatibility": level})
        put(url, f"/subjects/{tag}-{stem}-value/versions", {"schema": _json.dumps(v1)})
        gate.write(f"avro/{stem}.avsc", avro(ID))  # email removed without a default
    gate.write("avro/brandnew.avsc", avro(ID, {"name": "x", "type": "int"}))
    run = gate.run("check", "--format", "json")  # the registry URL comes from [tool.schemahub]
    assert run.code == 1, run.out
    results = {r["file"]: r for r in run.json()["results"]}
    assert results["avro/backward.avsc"]["status"] == "compatible"
    assert results["avro/backward.avsc"]["level"] == "BACKWARD"
    assert results["avro/none.avsc"]["status"] == "compatible"
    assert results["avro/brandnew.avsc"]["status"] == "new"  # a subject that does not exist yet passes
    forward = results["avro/forward.avsc"]
    assert forward["status"] == "incompatible" and forward["level"] == "FORWARD"
    assert forward["messages"][0].startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'")
    assert forward["messages"][-1] == "{validateFields: 'false', compatibility: 'FORWARD'}"
    # Only the compatible ones: exit 0.
    assert gate.run("check", "--registry", url, "avro/backward.avsc", "avro/none.avsc").code == 0


def test_check_transitive_level_and_json_closed_model(gate):
    url, tag = gate.url, gate.tag
    import json as _json

    closed = {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False}
    put(url, f"/config/{tag}-order", {"compatibility": "FULL"})
    put(url, f"/subjects/{tag}-order/versions", {"schemaType": "JSON", "schema": _json.dumps(closed)})
    gate.write("json/order.json", {**closed, "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}})
    run = gate.run("check", "--registry", url)
    assert run.code == 1
    assert f"BREAKING   json/order.json  subject={tag}-order  level=FULL" in run.out
    # The registry's messages, explained against the version it names (fetched from the registry).
    assert ('json/order.json:7:5:Property "n" was added; the old schema does not allow it (closed content model).'
            in run.out.splitlines())
    assert "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" in gate.run("check", "--registry", url, "--verbose").out

    # BACKWARD_TRANSITIVE: fine against v2, breaking against v1.
    subject = f"{tag}-history-value"
    put(url, f"/config/{subject}", {"compatibility": "BACKWARD_TRANSITIVE"})
    put(url, f"/subjects/{subject}/versions", {"schema": _json.dumps(avro(ID, {"name": "qty", "type": "long"}))})
    put(url, f"/subjects/{subject}/versions", {"schema": _json.dumps(avro(ID))})
    gate.write("avro/history.avsc", avro(ID, {"name": "qty", "type": "string", "default": ""}))
    run = gate.run("check", "--registry", url, "avro/history.avsc", "--verbose")
    assert run.code == 1 and "level=BACKWARD_TRANSITIVE" in run.out and "{oldSchemaVersion: 1}" in run.out
    # Explained against version 1 (the one that fails), not the latest.
    assert 'avro/history.avsc:11:7:Field "qty" on record "acme.Order" changed type from "long" to "string".' in run.out


def test_protobuf_with_import_references_and_register(gate):
    url, tag = gate.url, gate.tag
    gate.write("protos/acme/address.proto", 'syntax = "proto3";\npackage acme;\nmessage Address {\n  string street = 1;\n}\n')
    order = proto("  string id = 1;\n  Address address = 2;", imports='import "acme/address.proto";')
    gate.write("protos/acme/order.proto", order)
    # register --dry-run changes nothing.
    dry = gate.run("register", "--dry-run", "--registry", url, "protos/acme/order.proto")
    assert dry.code == 0, dry.out
    assert dry.out.count("\nwould register protos/") == 1 and dry.out.startswith("would register protos/acme/address")
    assert httpx.get(f"{url}/subjects/{tag}-protos%2Facme%2Faddress/versions").status_code == 404
    # register: the reference first, then the file that imports it.
    reg = gate.run("register", "--registry", url, "protos/acme/order.proto")
    assert reg.code == 0, reg.out
    lines = reg.out.splitlines()
    assert lines[0].startswith(f"registered protos/acme/address.proto  subject={tag}-protos/acme/address")
    assert lines[1].startswith(f"registered protos/acme/order.proto  subject={tag}-protos/acme/order")
    assert "version=1" in lines[1]
    again = gate.run("register", "--registry", url)
    assert again.code == 0 and again.out.count("unchanged  protos/") == 2, again.out
    latest = httpx.get(f"{url}/subjects/{tag}-protos%2Facme%2Forder/versions/latest").json()
    assert latest["references"] == [{"name": "acme/address.proto", "subject": f"{tag}-protos/acme/address", "version": 1}]
    # The import changed but is not registered with its new content: check says so (exit 2)...
    gate.write("protos/acme/address.proto",
               'syntax = "proto3";\npackage acme;\nmessage Address {\n  string street = 1;\n  string city = 2;\n}\n')
    gate.write("protos/acme/order.proto", order.replace("}\n", "  int64 qty = 3;\n}\n", 1))
    run = gate.run("check", "--registry", url, "protos/acme/order.proto")
    assert run.code == 2 and "reference 'acme/address.proto' (protos/acme/address.proto) is not registered" in run.out
    # ... unless asked to register references as needed.
    run = gate.run("check", "--registry", url, "--register-references", "protos/acme/order.proto")
    assert run.code == 0, run.out
    assert f"registered protos/acme/address.proto  subject={tag}-protos/acme/address  id=" in run.out
    # A field kind change is caught by the registry.
    gate.write("protos/acme/order.proto", order.replace("Address address = 2;", "int64 address = 2;"))
    run = gate.run("check", "--registry", url, "--format", "github")
    assert run.code == 1
    assert run.out.startswith(f"::error file=protos/acme/order.proto,line=6,col=3,title=Breaking schema change%3A {tag}-")
    assert 'Field "2" with name "address" on message "Order" changed type from "acme.Address" to "int64".' in run.out


def test_register_incompatible_and_declared_level(gate):
    url, tag = gate.url, gate.tag
    gate.write("pyproject.toml", (gate.root / "pyproject.toml").read_text() + f'\n[tool.schemahub.levels]\n"{tag}-order-value" = "FORWARD"\n')
    gate.write("avro/order.avsc", avro(ID, {"name": "email", "type": "string"}))
    first = gate.run("register", "--registry", url)
    assert first.code == 0, first.out
    assert "subject level set to FORWARD" in first.out and "version=1" in first.out
    assert httpx.get(f"{url}/config/{tag}-order-value").json()["compatibilityLevel"] == "FORWARD"
    gate.write("avro/order.avsc", avro(ID))
    dry = gate.run("register", "--dry-run", "--registry", url)
    assert dry.code == 1
    assert ('avro/order.avsc:3:3:Field "email" on record "acme.Order" was removed; the old schema gives it no default.'
            in dry.out.splitlines())
    real = gate.run("register", "--registry", url)
    assert real.code == 1 and "BREAKING" in real.out
    assert httpx.get(f"{url}/subjects/{tag}-order-value/versions").json() == [1]


def test_unreachable_registry_exits_2(gate):
    gate.write("avro/order.avsc", avro(ID))
    for command in ("check", "register"):
        run = gate.run(command, "--registry", "http://127.0.0.1:9")
        assert run.code == 2 and run.out == ""
        assert run.err.startswith(f"schemahub {command}: error: cannot reach the registry at http://127.0.0.1:9")
        assert len(run.err.splitlines()) == 1
