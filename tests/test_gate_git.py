"""``schemahub check --against GIT_REF``: temporary git repositories, the engine in-process."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.test_gate_support import REPO_ROOT, avro, project, proto  # noqa: F401

ID = {"name": "id", "type": "string"}
QTY_LONG = {"name": "qty", "type": "long"}


# -- Avro -----------------------------------------------------------------------------


def test_avro_compatible_change_passes(project):
    project.write("avro/order.avsc", avro(ID, QTY_LONG))
    project.commit()
    project.write("avro/order.avsc", avro(ID, QTY_LONG, {"name": "note", "type": "string", "default": ""}))
    run = project.run("check", "--against", "HEAD")
    assert run.code == 0, run.out
    assert run.out.startswith("ok         avro/order.avsc  subject=order-value  level=BACKWARD")


def test_avro_field_added_without_default_is_breaking(project):
    project.write("avro/order.avsc", avro(ID, QTY_LONG))
    sha = project.commit()
    project.write("avro/order.avsc", avro(ID, QTY_LONG, {"name": "note", "type": "string"}))
    run = project.run("check", "--against", "HEAD")
    assert run.code == 1
    assert "BREAKING   avro/order.avsc  subject=order-value  level=BACKWARD" in run.out
    # One sentence at the field's line and column; Confluent's message only with --verbose.
    assert 'avro/order.avsc:15:7:Field "note" on record "acme.Order" was added without a default.' in run.out.splitlines()
    assert "errorType" not in run.out
    run = project.run("check", "--against", "HEAD", "--verbose")
    assert (
        "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'note' at path '/fields/2' in the "
        "new schema has no default value and is missing in the old schema', additionalInfo:'note'}" in run.out
    )
    assert "{oldSchemaVersion: 1}" in run.out
    assert "{validateFields: 'false', compatibility: 'BACKWARD'}" in run.out
    assert f"oldSchemaVersion 1 is avro/order.avsc at commit {sha[:10]}" in run.out


def test_avro_field_removed_without_default_breaks_forward(project):
    # customer-value is FORWARD ([tool.schemahub.levels]): old readers need a default for a removed field.
    project.write("avro/customer.avsc", avro(ID, {"name": "email", "type": "string"}, name="Customer"))
    project.commit()
    project.write("avro/customer.avsc", avro(ID, name="Customer"))
    run = project.run("check", "--against", "HEAD", "--format", "json")
    assert run.code == 1
    (result,) = run.json()["results"]
    assert result["subject"] == "customer-value" and result["level"] == "FORWARD"
    assert result["messages"][0].startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'")
    assert "'email'" in result["messages"][0]
    assert result["messages"][-1] == "{validateFields: 'false', compatibility: 'FORWARD'}"


def test_avro_type_narrowed_is_breaking(project):
    project.write("avro/order.avsc", avro(ID, QTY_LONG))
    project.commit()
    project.write("avro/order.avsc", avro(ID, {"name": "qty", "type": "int"}))
    run = project.run("check", "--against", "HEAD", "--format", "json")
    assert run.code == 1
    data = run.json()
    assert data["ok"] is False and data["exit_code"] == 1
    assert data["results"][0]["messages"][0] == (
        "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/1/type') of a field in the new schema "
        "does not match with the old schema', additionalInfo:'reader type: INT not compatible with writer type: LONG'}"
    )


# -- Protobuf --------------------------------------------------------------------------


def test_protobuf_field_kind_changed_is_breaking(project):
    project.write("protos/acme/order.proto", proto("  string id = 1;\n  int64 qty = 2;"))
    project.commit()
    project.write("protos/acme/order.proto", proto("  string id = 1;\n  string qty = 2;\n  int32 extra = 3;"))
    run = project.run("check", "--against", "HEAD")
    assert run.code == 1
    assert "subject=protos/acme/order  level=BACKWARD" in run.out
    assert ('protos/acme/order.proto:6:3:Field "2" with name "qty" on message "Order" changed type from "int64" '
            'to "string".') in run.out.splitlines()
    run = project.run("check", "--against", "HEAD", "-v")
    assert (
        '{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path \'#/Order/2\' in the '
        'new schema does not match its kind in the old schema"}' in run.out
    )


def test_protobuf_compatible_with_imports(project):
    project.write("protos/acme/address.proto",
                  'syntax = "proto3";\npackage acme;\nmessage Address {\n  string street = 1;\n}\n')
    order = proto("  string id = 1;\n  Address address = 2;", imports='import "acme/address.proto";')
    project.write("protos/acme/order.proto", order)
    project.commit()
    project.write("protos/acme/order.proto", order.replace("}\n", "  int64 qty = 3;\n}\n", 1))
    run = project.run("check", "--against", "HEAD", "protos/acme/order.proto")
    assert run.code == 0, run.out
    # The import is resolved from proto-paths; a type change in the imported file is breaking for it.
    project.write("protos/acme/address.proto",
                  'syntax = "proto3";\npackage acme;\nmessage Address {\n  int64 street = 1;\n}\n')
    run = project.run("check", "--against", "HEAD")
    assert run.code == 1
    assert "BREAKING   protos/acme/address.proto" in run.out
    assert "ok         protos/acme/order.proto" in run.out


# -- JSON Schema -----------------------------------------------------------------------


CLOSED = {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False}


def test_json_property_added_to_closed_model_is_breaking_under_full(project):
    project.write("json/order.json", CLOSED)
    project.commit()
    project.write("json/order.json", {**CLOSED, "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}})
    run = project.run("check", "--against", "HEAD")
    assert run.code == 1
    assert "subject=order-json  level=FULL" in run.out
    assert ('json/order.json:7:5:Property "n" was added; the old schema does not allow it (closed content model).'
            in run.out.splitlines())
    run = project.run("check", "--against", "HEAD", "--verbose")
    assert (
        '{errorType:"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", description:"The old has a closed content model '
        "and is missing a property or item present at path '#/properties/n' in the new schema'}" in run.out
    )


def test_json_compatible_change_and_new_file(project):
    project.write("json/order.json", CLOSED)
    project.commit()
    project.write("json/order.json", {**CLOSED, "properties": {"id": {"type": "string", "description": "key"}}})
    project.write("json/new.json", {"type": "object"})
    run = project.run("check", "--against", "HEAD")
    assert run.code == 0, run.out
    assert "new        json/new.json  subject=new-json" in run.out
    assert "ok         json/order.json" in run.out


# -- history, renames, deletions -------------------------------------------------------


def test_transitive_catches_change_against_an_older_commit(project):
    project.write("avro/order.avsc", avro(ID, QTY_LONG))
    first = project.commit("v1")
    project.write("avro/order.avsc", avro(ID))  # dropping qty: fine for BACKWARD
    project.commit("v2")
    project.git("commit", "-q", "--allow-empty", "-m", "unrelated")
    project.write("avro/order.avsc", avro(ID, {"name": "qty", "type": "string", "default": ""}))
    assert project.run("check", "--against", "HEAD").code == 0  # v2 has no qty: nothing to clash with
    run = project.run("check", "--against", "HEAD", "--transitive", "--verbose")
    assert run.code == 1
    assert "level=BACKWARD_TRANSITIVE" in run.out and "against 2 version(s) of avro/order.avsc up to HEAD" in run.out
    assert 'avro/order.avsc:11:7:Field "qty" on record "acme.Order" changed type from "long" to "string".' in run.out
    assert "{errorType:'TYPE_MISMATCH'" in run.out and "reader type: STRING not compatible with writer type: LONG" in run.out
    assert f"oldSchemaVersion 1 is avro/order.avsc at commit {first[:10]}" in run.out


def test_transitive_follows_renames_through_history(project):
    project.write("avro/order.avsc", avro(ID, QTY_LONG))
    project.commit("v1")
    project.git("mv", "avro/order.avsc", "avro/purchase.avsc")
    project.commit("rename")
    project.write("avro/purchase.avsc", avro(ID))
    project.commit("v2")
    project.write("avro/purchase.avsc", avro(ID, {"name": "qty", "type": "string", "default": ""}))
    run = project.run("check", "--against", "HEAD", "--transitive", "--format", "json")
    (result,) = run.json()["results"]
    assert run.code == 1 and result["subject"] == "purchase-value"
    assert "oldSchemaVersion 1 is avro/order.avsc at commit" in result["notes"][0]


def test_rename_since_ref_is_followed(project):
    project.write("avro/order.avsc", avro(ID, QTY_LONG))
    project.commit()
    project.git("mv", "avro/order.avsc", "avro/purchase.avsc")
    project.write("avro/purchase.avsc", avro(ID, {"name": "qty", "type": "int"}))
    project.git("add", "-A")  # git sees a rename once it is staged (or committed)
    run = project.run("check", "--against", "HEAD")
    assert run.code == 1, run.out
    assert "BREAKING   avro/purchase.avsc  subject=purchase-value" in run.out
    assert "note: renamed from avro/order.avsc" in run.out
    assert "REMOVED" not in run.out


def test_deleted_file_is_a_removal_unless_allowed(project):
    project.write("avro/order.avsc", avro(ID))
    project.write("avro/customer.avsc", avro(ID, name="Customer"))
    project.commit()
    (project.root / "avro/customer.avsc").unlink()
    run = project.run("check", "--against", "HEAD")
    assert run.code == 1
    assert "REMOVED    avro/customer.avsc  subject=customer-value" in run.out
    assert "avro/customer.avsc existed at HEAD and has been deleted" in run.out
    allowed = project.run("check", "--against", "HEAD", "--allow-removal")
    assert allowed.code == 0 and "removal allowed" in allowed.out
    # Named explicitly, a deleted file is a removal too.
    assert project.run("check", "--against", "HEAD", "avro/customer.avsc").code == 1


def test_branch_ref_and_subdirectory_project(project):
    """The project may sit in a subdirectory of the repository; REF may be any commit-ish."""
    (project.root / "pyproject.toml").unlink()
    project.write("svc/schemahub.toml", '[[schemas]]\nfiles = "*.avsc"\nsubject = "svc-{stem}"\n')
    project.write("svc/order.avsc", avro(ID, QTY_LONG))
    project.commit()
    project.git("branch", "base")
    project.write("svc/order.avsc", avro(ID))
    project.commit()
    project.write("svc/order.avsc", avro(ID, {"name": "qty", "type": "int"}))
    run = project.run("check", "--against", "base", "--config", "svc/schemahub.toml", "--format", "github")
    assert run.code == 1
    assert run.out.startswith("::error file=svc/order.avsc,line=")


# -- errors: exit 2, one clear line ---------------------------------------------------


def test_corrupt_schema_file_exits_2(project):
    project.write("avro/order.avsc", avro(ID))
    project.commit()
    project.write("avro/order.avsc", '{"type": "record", "name": ')
    run = project.run("check", "--against", "HEAD")
    assert run.code == 2
    assert "avro/order.avsc: invalid AVRO schema: Invalid schema: not valid JSON" in run.out
    assert "FAILED: errors" in run.out


def test_missing_ref_exits_2_with_one_line(project):
    project.write("avro/order.avsc", avro(ID))
    project.commit()
    run = project.run("check", "--against", "no-such-branch")
    assert run.code == 2 and run.out == ""
    assert run.err.splitlines() == [
        "schemahub check: error: unknown git ref 'no-such-branch' (fetch it first, e.g. actions/checkout with "
        "fetch-depth: 0)"
    ]


def test_errors_in_a_subprocess_print_no_traceback(project):
    project.write("avro/order.avsc", "not json at all")
    project.write("avro/ok.avsc", avro(ID))
    project.commit()
    for argv, expected in (
        (["check", "--against", "HEAD", "--allow-empty"], "avro/order.avsc: invalid AVRO schema"),
        (["check", "--against", "HEAD", "avro/nope.avsc"], "avro/nope.avsc: file not found"),
        (["check", "--against", "HEAD", "pyproject.toml"], "pyproject.toml: no [tool.schemahub] schemas entry"),
        (["check", "--registry", "http://127.0.0.1:9", "avro/ok.avsc"], "cannot reach the registry"),
    ):
        done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], cwd=project.root, capture_output=True,
                              text=True, env={**dict(__import__("os").environ), "PYTHONPATH": str(REPO_ROOT)})
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        assert expected in done.stdout + done.stderr


def test_configuration_errors_exit_2(project):
    project.write("pyproject.toml", '[tool.schemahub]\n[[tool.schemahub.schemas]]\nfiles = "*.avsc"\nsubject = "{oops}"\n')
    run = project.run("check", "--against", "HEAD")
    assert run.code == 2 and "unknown placeholder {oops}" in run.err
    project.write("pyproject.toml", '[tool.schemahub]\n[[tool.schemahub.schemas]]\nfiles = "*.avsc"\nsubject = "x"\n'
                  'level = "SIDEWAYS"\n')
    assert "unknown compatibility level 'SIDEWAYS'" in project.run("check", "--against", "HEAD").err
    (project.root / "pyproject.toml").unlink()
    assert "no schemahub.toml or pyproject.toml" in project.run("check", "--against", "HEAD").err
    assert project.run("check").code == 2


def test_json_output_for_a_run_stopping_error(project):
    project.write("avro/order.avsc", avro(ID))
    project.commit()
    run = project.run("check", "--against", "bogus^^", "--format", "json")
    assert run.code == 2
    assert json.loads(run.out) == {"command": "check", "ok": False, "exit_code": 2,
                                   "error": run.err.split("error: ", 1)[1].strip()}


def test_references_between_files_offline(project):
    """Avro references listed in the entry; JSON Schema ``$ref`` to a sibling file found automatically."""
    project.write("pyproject.toml", """
[[tool.schemahub.schemas]]
files = "avro/order.avsc"
subject = "order-value"
references = [{ name = "acme.Address", file = "avro/address.avsc" }]

[[tool.schemahub.schemas]]
files = "avro/*.avsc"
subject = "{stem}"

[[tool.schemahub.schemas]]
files = "json/*.json"
subject = "{stem}"
""")
    project.write("avro/address.avsc", {"type": "record", "name": "Address", "namespace": "acme",
                                        "fields": [{"name": "street", "type": "string"}]})
    project.write("avro/order.avsc", avro(ID, {"name": "address", "type": "acme.Address"}))
    project.write("json/address.json", {"type": "object", "properties": {"street": {"type": "string"}}})
    project.write("json/order.json", {"type": "object", "properties": {"address": {"$ref": "address.json"}}})
    project.commit()
    project.write("avro/order.avsc", avro(ID, {"name": "address", "type": "acme.Address"},
                                          {"name": "note", "type": ["null", "string"], "default": None}))
    run = project.run("check", "--against", "HEAD")
    assert run.code == 0, run.out
    assert "ok         avro/order.avsc  subject=order-value" in run.out
    # Narrowing the referenced type's field breaks the referenced subject itself.
    project.write("json/address.json", {"type": "object", "properties": {"street": {"type": "integer"}}})
    run = project.run("check", "--against", "HEAD", "--format", "json")
    statuses = {r["file"]: r["status"] for r in run.json()["results"]}
    assert statuses["json/address.json"] == "incompatible" and run.code == 1
    (project.root / "avro/address.avsc").unlink()
    run = project.run("check", "--against", "HEAD", "avro/order.avsc")
    assert run.code == 2 and "referenced file avro/address.avsc (reference 'acme.Address') not found" in run.out
