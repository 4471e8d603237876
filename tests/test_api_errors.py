"""Every error code this registry can produce, with its HTTP status, and hostile bodies.

Runs the ASGI app in-process (Starlette's TestClient); the same app serves
``schemahub serve``; on SQLite and on the Kafka store over the broker's SASL_SSL listener.
"""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

V1 = "application/vnd.schemaregistry.v1+json"


def avro(*fields: str, name: str = "R") -> str:
    return json.dumps({"type": "record", "name": name, "fields": [{"name": f, "type": "string"} for f in fields]})


def register(client: TestClient, subject: str, schema: str, **extra: object):
    return client.post(f"/subjects/{subject}/versions", json={"schema": schema, **extra})


def assert_error(response, status: int, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_40401_subject_not_found(client: TestClient) -> None:
    assert_error(client.get("/subjects/nope/versions"), 404, 40401)
    assert_error(client.get("/subjects/nope/versions/latest"), 404, 40401)
    assert_error(client.delete("/config/nope"), 404, 40401)
    assert_error(client.delete("/mode/nope"), 404, 40401)


def test_40402_version_not_found(client: TestClient) -> None:
    assert register(client, "s", avro("a")).status_code == 200
    body = assert_error(client.get("/subjects/s/versions/7"), 404, 40402)
    assert body["message"] == "Version 7 not found."


def test_40403_schema_not_found(client: TestClient) -> None:
    body = assert_error(client.get("/schemas/ids/4242"), 404, 40403)
    assert body["message"] == "Schema 4242 not found"
    register(client, "s", avro("a"))
    assert_error(client.post("/subjects/s", json={"schema": avro("b")}), 404, 40403)
    assert_error(client.get("/schemas/guids/00000000-0000-0000-0000-000000000000"), 404, 40403)


def test_40404_and_40405_subject_delete_order(client: TestClient) -> None:
    register(client, "s", avro("a"))
    assert_error(client.delete("/subjects/s?permanent=true"), 404, 40405)
    assert client.delete("/subjects/s").json() == [1]
    assert_error(client.delete("/subjects/s"), 404, 40404)
    assert_error(client.get("/subjects/s/versions"), 404, 40401)
    assert client.delete("/subjects/s?permanent=true").json() == [1]


def test_40406_and_40407_version_delete_order(client: TestClient) -> None:
    register(client, "s", avro("a"))
    assert_error(client.delete("/subjects/s/versions/1?permanent=true"), 404, 40407)
    assert client.delete("/subjects/s/versions/1").json() == 1
    assert_error(client.delete("/subjects/s/versions/1"), 404, 40406)
    assert client.delete("/subjects/s/versions/1?permanent=true").json() == 1


def test_40408_and_40409_unset_subject_config_and_mode(client: TestClient) -> None:
    assert_error(client.get("/config/s"), 404, 40408)
    assert_error(client.get("/mode/s"), 404, 40409)
    assert client.get("/config/s?defaultToGlobal=true").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.get("/mode/s?defaultToGlobal=true").json() == {"mode": "READWRITE"}


def test_40901_incompatible(client: TestClient) -> None:
    register(client, "s", avro("a"))
    body = assert_error(register(client, "s", avro("a", "b")), 409, 40901)
    assert body["message"].startswith('Schema being registered is incompatible with an earlier schema for subject "s"')
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in body["message"]
    assert "{oldSchemaVersion: 1}" in body["message"]
    assert "{validateFields: 'false', compatibility: 'BACKWARD'}" in body["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"schema": ""},
        {"schema": "{not json"},
        {"schema": '{"type": "record", "name": "X"}'},
        {"schema": '"string"', "schemaType": "XML"},
        {"schema": avro("a"), "references": [{"name": "x.Y", "subject": "missing", "version": 1}]},
    ],
)
def test_42201_invalid_schema(client: TestClient, body: dict) -> None:
    assert_error(client.post("/subjects/s/versions", json=body), 422, 42201)


def test_42202_invalid_version(client: TestClient) -> None:
    register(client, "s", avro("a"))
    for version in ("0", "-2", "abc", "2147483648"):
        assert_error(client.get(f"/subjects/s/versions/{version}"), 422, 42202)


def test_42203_invalid_level(client: TestClient) -> None:
    assert_error(client.put("/config", json={"compatibility": "SIDEWAYS"}), 422, 42203)
    assert client.put("/config/s", json={"compatibility": "full_transitive"}).json() == {
        "compatibility": "FULL_TRANSITIVE"
    }


def test_42204_invalid_mode(client: TestClient) -> None:
    assert_error(client.put("/mode", json={"mode": "SOMETIMES"}), 422, 42204)


def test_42205_not_permitted(client: TestClient) -> None:
    register(client, "s", avro("a"))
    assert_error(register(client, "t", avro("x"), id=100), 422, 42205)
    assert_error(client.put("/mode", json={"mode": "IMPORT"}), 422, 42205)
    assert client.put("/mode/ro", json={"mode": "READONLY"}).status_code == 200
    assert_error(register(client, "ro", avro("a")), 422, 42205)


def test_import_mode_keeps_ids_and_versions(client: TestClient) -> None:
    assert client.put("/mode/imp?force=true", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
    response = register(client, "imp", avro("a"), id=77, version=3)
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["version"]) == (77, 3)
    assert_error(register(client, "imp", avro("b")), 422, 42205)
    assert client.get("/schemas/ids/77").status_code == 200


def test_42206_referenced_version_cannot_be_deleted(client: TestClient) -> None:
    dep = json.dumps({"type": "record", "name": "Dep", "namespace": "n", "fields": [{"name": "a", "type": "int"}]})
    assert register(client, "dep", dep).status_code == 200
    main = json.dumps({"type": "record", "name": "Main", "namespace": "n", "fields": [{"name": "d", "type": "n.Dep"}]})
    response = register(client, "main", main, references=[{"name": "n.Dep", "subject": "dep", "version": -1}])
    assert response.status_code == 200, response.text
    assert response.json()["references"] == [{"name": "n.Dep", "subject": "dep", "version": 1}]
    assert_error(client.delete("/subjects/dep/versions/1"), 422, 42206)
    assert_error(client.delete("/subjects/dep"), 422, 42206)


def test_42208_invalid_subject(client: TestClient) -> None:
    assert_error(register(client, "__GLOBAL", avro("a")), 422, 42208)
    assert_error(register(client, "bad%01name", avro("a")), 422, 42208)


RULE = {"name": "r", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "true"}


@pytest.mark.parametrize("rule_set", [
    {"domainRules": [{**RULE, "name": "9lives"}]},  # not an identifier
    {"domainRules": [{**RULE, "name": "a b"}]},
    {"domainRules": [{**RULE, "name": ""}]},
    {"domainRules": [{**RULE, "mode": "UPGRADE"}]},  # a domain rule in a migration mode
    {"migrationRules": [{**RULE, "mode": "WRITE"}]},  # a migration rule in a domain mode
    {"encodingRules": [{**RULE, "mode": "UPDOWN"}]},
    {"domainRules": [{**RULE, "onFailure": "ERROR,NONE"}]},  # two actions on a one-direction rule
    {"domainRules": [{**RULE, "type": None}]},
    {"domainRules": [RULE, {**RULE, "mode": "READ"}]},  # duplicate name
    {"domainRules": [RULE], "migrationRules": [{**RULE, "mode": "UPGRADE"}]},  # duplicate across groups
], ids=["9lives", "space", "empty", "domain-upgrade", "migration-write", "encoding-updown", "two-actions",
        "no-type", "duplicate", "duplicate-groups"])
def test_42210_invalid_rule_set(client: TestClient, rule_set: dict) -> None:
    """Confluent's RuleSet.validate, on registration and in defaultRuleSet/overrideRuleSet."""
    body = {"schema": avro("a"), "ruleSet": rule_set}
    assert_error(client.post("/subjects/s/versions", json=body), 422, 42210)
    assert_error(client.put("/config/s", json={"defaultRuleSet": rule_set}), 422, 42210)


def test_rule_set_defaults_and_enum_binding(client: TestClient) -> None:
    """A rule without kind/mode is stored as TRANSFORM/WRITEREAD; WRITEREAD takes two actions; an
    unknown kind fails JSON binding (400, current rest-utils)."""
    body = {"schema": avro("a"), "ruleSet": {"domainRules": [
        {"name": "plain", "type": "ENCRYPT", "tags": ["PII"], "onFailure": "ERROR,NONE"}]}}
    assert client.post("/subjects/s/versions", json=body).status_code == 200
    rule = client.get("/subjects/s/versions/latest").json()["ruleSet"]["domainRules"][0]
    assert (rule["kind"], rule["mode"], rule["onFailure"]) == ("TRANSFORM", "WRITEREAD", "ERROR,NONE")
    bad = {"schema": avro("b"), "ruleSet": {"domainRules": [{**RULE, "kind": "MAGIC"}]}}
    assert_error(client.post("/subjects/s/versions", json=bad), 400, 400)


def test_rule_sets_merge_as_confluent(client: TestClient) -> None:
    """merge(merge(defaultRuleSet, the request's or the latest's), overrideRuleSet), by rule name."""
    default = {"domainRules": [{**RULE, "name": "d"}, {**RULE, "name": "shared", "expr": "1 == 1"}]}
    override = {"domainRules": [{**RULE, "name": "o"}]}
    config = {"compatibility": "NONE", "defaultRuleSet": default, "overrideRuleSet": override}
    assert client.put("/config/s", json=config).status_code == 200
    body = {"schema": avro("a"), "ruleSet": {"domainRules": [{**RULE, "name": "shared", "expr": "2 == 2"}]}}
    assert client.post("/subjects/s/versions", json=body).status_code == 200
    rules = client.get("/subjects/s/versions/latest").json()["ruleSet"]["domainRules"]
    assert [(r["name"], r["expr"]) for r in rules] == [("d", "true"), ("shared", "2 == 2"), ("o", "true")]
    assert client.post("/subjects/s/versions", json={"schema": avro("b")}).status_code == 200
    again = client.get("/subjects/s/versions/latest").json()["ruleSet"]["domainRules"]
    assert [r["name"] for r in again] == ["d", "shared", "o"]  # the latest version's rules carried over


def test_42211_context_not_empty(client: TestClient) -> None:
    register(client, ":.team:s", avro("a"))
    assert_error(client.delete("/contexts/.team"), 422, 42211)


def test_framework_errors(client: TestClient) -> None:
    assert_error(client.get("/no/such/path"), 404, 404)
    assert_error(client.put("/subjects"), 405, 405)
    assert_error(client.get("/subjects", headers={"Accept": "text/html"}), 406, 406)
    response = client.post("/subjects/s/versions", content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert_error(response, 415, 415)


@pytest.mark.parametrize(
    "payload",
    [
        b"{bad json",
        b"",
        b"   ",
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"schema": 12}',
        b'{"schema": "\\"int\\"", "references": "nope"}',
        b'{"schema": "\\"int\\"", "references": [{"name": 1}]}',
        b'{"schema": "\\"int\\"", "metadata": []}',
        b"\xff\xfe\x00garbage",
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
    ],
)
def test_hostile_bodies_get_a_4xx_json_error(client: TestClient, payload: bytes) -> None:
    paths = ["/subjects/s/versions", "/subjects/s", "/compatibility/subjects/s/versions", "/mode"]
    if not payload.startswith(b'{"schema"'):
        paths.append("/config")  # a JSON object with unknown fields is a valid (empty) config update
    for path in paths:
        method = client.put if path in ("/config", "/mode") else client.post
        response = method(path, content=payload, headers={"Content-Type": V1})
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert isinstance(response.json()["error_code"], int)


def test_huge_body_is_413(client: TestClient) -> None:
    payload = json.dumps({"schema": "x" * (20 * 1024 * 1024)}).encode()
    assert_error(client.post("/subjects/s/versions", content=payload, headers={"Content-Type": V1}), 413, 413)


def test_deeply_nested_schema_is_rejected_not_crashed(client: TestClient) -> None:
    nested = '{"type":"array","items":' * 5000 + '"int"' + "}" * 5000
    response = client.post("/subjects/deep/versions", json={"schema": nested})
    assert response.status_code == 422 and response.json()["error_code"] == 42201


def test_media_types(client: TestClient) -> None:
    assert client.get("/subjects").headers["content-type"] == V1
    assert client.get("/subjects", headers={"Accept": "application/json"}).headers["content-type"].startswith(
        "application/json"
    )
    response = client.post(
        "/subjects/s/versions", content=json.dumps({"schema": avro("a")}), headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 200


def test_newline_in_subject_is_a_json_42208(client: TestClient) -> None:
    assert_error(client.post("/subjects/a%0Ab/versions", json={"schema": '"string"'}), 422, 42208)
    assert_error(client.get("/subjects/a%0Ab/versions"), 404, 40401)


@pytest.mark.parametrize(
    "body",
    [
        {"schema": '"string"', "metadata": {"properties": 5}},
        {"schema": '"string"', "metadata": {"properties": [1]}},
        {"schema": '"string"', "metadata": {"tags": {"$.a": "PII"}}},
        {"schema": '"string"', "ruleSet": {"domainRules": [{"name": "r", "disabled": {}}]}},
        {"schema": '"string"', "ruleSet": {"domainRules": [{"name": "r", "params": 5}]}},
        {"schema": '"long"', "id": 5_000_000_000},
        {"schema": '"long"', "version": 1_099_511_627_776},
    ],
)
def test_mistyped_nested_fields_are_400(client: TestClient, body: dict) -> None:
    assert_error(client.post("/subjects/typed/versions", json=body), 400, 400)


@pytest.mark.parametrize(
    "config",
    [{"overrideRuleSet": "x"}, {"defaultMetadata": 5}, {"normalize": "yes"}, {"compatibilityGroup": 3}],
)
def test_mistyped_config_fields_are_400_and_leave_registrations_working(client: TestClient, config: dict) -> None:
    assert_error(client.put("/config/typed", json=config), 400, 400)
    assert register(client, "typed", '"string"').status_code == 200
