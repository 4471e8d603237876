"""``--format github``: every line is a workflow command, escaped, on the right file and line."""

from __future__ import annotations

from registry.gate.project import glob_regex
from registry.gate.report import escape_data, escape_property, workflow_command
from tests.test_gate_support import WORKFLOW_COMMAND, avro, parse_workflow_command, project, proto  # noqa: F401

ID = {"name": "id", "type": "string"}


def test_escaping():
    assert escape_data("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert escape_property("a,b: c%\n") == "a%2Cb%3A c%25%0A"
    line = workflow_command("error", "50%\nnext", file="dir,x/a:b.avsc", line=3, title="t: x, y")
    assert line == "::error file=dir%2Cx/a%3Ab.avsc,line=3,title=t%3A x%2C y::50%25%0Anext"
    assert parse_workflow_command(line) == ("error", {"file": "dir,x/a:b.avsc", "line": "3", "title": "t: x, y"},
                                            "50%\nnext")
    for bad in ("::error file=a,b::m", "::error title=a:b::m", "::error::50% off", "::error::a\nb", "error::m"):
        assert not WORKFLOW_COMMAND.match(bad), bad


def test_every_output_line_is_a_workflow_command_on_the_right_line(project):
    project.write("avro/order.avsc", avro(ID, {"name": "qty", "type": "long"}))
    project.write("protos/acme/order.proto", proto("  string id = 1;\n  int64 qty = 2;"))
    project.write("json/order.json", {"type": "object", "properties": {"id": {"type": "string"}},
                                      "additionalProperties": False})
    project.write("avro/gone.avsc", avro(ID, name="Gone"))
    project.write("avro/odd, 100%: name.avsc", avro(ID, name="Odd"))
    project.commit()
    project.write("avro/order.avsc", avro(ID, {"name": "qty", "type": "int"}, {"name": "n", "type": "int"}))
    project.write("avro/odd, 100%: name.avsc", avro(ID, {"name": "z", "type": "int"}, name="Odd"))
    project.write("protos/acme/order.proto", proto("  string id = 1;\n  string qty = 2;"))
    project.write("json/order.json", {"type": "object", "additionalProperties": False,
                                      "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}})
    (project.root / "avro/gone.avsc").unlink()
    run = project.run("check", "--against", "HEAD", "--format", "github")
    assert run.code == 1
    commands = [parse_workflow_command(line) for line in run.out.splitlines()]
    errors = [(props["file"], int(props["line"]) if "line" in props else None, props["title"], message,
               int(props["col"]) if "col" in props else None)
              for kind, props, message in commands if kind == "error"]
    by_file: dict[str, list] = {}
    for error in errors:
        by_file.setdefault(error[0], []).append(error)
    avro_text = (project.root / "avro/order.avsc").read_text().splitlines()
    type_error, missing_default = sorted(by_file["avro/order.avsc"], key=lambda e: e[1])
    assert avro_text[type_error[1] - 1][type_error[4] - 1:] == '"name": "qty",'  # line and column of the field
    assert type_error[3].startswith('Field "qty" on record "acme.Order" changed type from "long" to "int".\n')
    assert avro_text[missing_default[1] - 1][missing_default[4] - 1:] == '"name": "n",'
    assert missing_default[3].startswith('Field "n" on record "acme.Order" was added without a default.')
    ((_, line, title, message, _),) = by_file["avro/odd, 100%: name.avsc"]  # file and title escaped and back
    assert title == "Breaking schema change: odd, 100%: name-value (BACKWARD)" and "FORWARD" not in message
    assert type_error[2] == "Breaking schema change: order-value (BACKWARD)"
    assert "\nchecked against HEAD (" in type_error[3] and "errorType" not in type_error[3]
    ((_, line, _, message, column),) = by_file["protos/acme/order.proto"]
    assert (line, column) == (6, 3)  # `  string qty = 2;`
    assert message.startswith('Field "2" with name "qty" on message "Order" changed type from "int64" to "string".')
    ((_, line, title, message, column),) = by_file["json/order.json"]
    assert message.startswith('Property "n" was added; the old schema does not allow it (closed content model).')
    assert (project.root / "json/order.json").read_text().splitlines()[line - 1][column - 1:] == '"n": {'
    assert title == "Breaking schema change: order-json (FULL)"
    ((_, line, title, message, _),) = by_file["avro/gone.avsc"]
    assert title == "Schema removed: gone-value" and "has been deleted" in message
    kind, _props, message = commands[-1]
    assert kind == "notice" and message.startswith("schemahub check: 5 file(s)")
    verbose = project.run("check", "--against", "HEAD", "--format", "github", "--verbose")
    assert "errorType:'TYPE_MISMATCH'" in verbose.out  # Confluent's message under the sentence


def test_parse_errors_and_stopping_errors_are_annotations(project):
    project.write("avro/order.avsc", "{broken")
    project.commit()
    run = project.run("check", "--against", "HEAD", "--format", "github")
    assert run.code == 2
    kind, props, message = parse_workflow_command(run.out.splitlines()[0])
    assert kind == "error" and props["file"] == "avro/order.avsc" and "invalid AVRO schema" in message
    run = project.run("check", "--against", "missing", "--format", "github")
    assert run.code == 2 and len(run.out.splitlines()) == 1
    assert parse_workflow_command(run.out.strip())[2].startswith("unknown git ref 'missing'")


def test_glob_regex_matches_like_path_glob():
    assert glob_regex("schemas/**/*.avsc").match("schemas/a.avsc")
    assert glob_regex("schemas/**/*.avsc").match("schemas/x/y/a.avsc")
    assert not glob_regex("schemas/*.avsc").match("schemas/x/a.avsc")
    assert glob_regex("s/[!x]?.json").match("s/ab.json") and not glob_regex("s/[!x]?.json").match("s/xb.json")
