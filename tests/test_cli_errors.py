"""Every ``schemahub`` command answers bad input with one line and a non-zero exit, never a
traceback (issue #18's list, item by item), and ``--help`` describes every option with its default.

The list's other items are tested where they live: ``serve --kafka`` to an unreachable broker in
tests/test_kafka_startup.py, the gate's typo glob, configuration without a table and non-UTF-8
files in tests/test_gate_findings.py."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.cli import build_parser, main
from tests.server import REPO

NUMERIC_VARIABLES = {
    "SCHEMAHUB_PORT": "--port", "SCHEMAHUB_REQUEST_TIMEOUT": "--request-timeout",
    "SCHEMAHUB_MAX_SCHEMA_ELEMENTS": "--max-schema-elements", "SCHEMAHUB_MAX_BODY_BYTES": "--max-body-bytes",
    "SCHEMAHUB_HEADER_TIMEOUT": "--header-timeout", "SCHEMAHUB_KEEP_ALIVE_TIMEOUT": "--keep-alive-timeout",
    "SCHEMAHUB_MAX_CONNECTIONS": "--max-connections", "SCHEMAHUB_LEADER_ELIGIBILITY": "--leader-eligibility",
    "SCHEMAHUB_KAFKA_WAIT": "--kafka-wait",
}
SCHEMA_LINE = ('{"key":{"keytype":"SCHEMA","subject":"s","version":1,"magic":1},'
               '"value":{"subject":"s","version":1,"id":1,"schema":"\\"string\\"","deleted":false}}\n')


def _in_process(argv: list[str], capsys: pytest.CaptureFixture, stdin: str = "") -> tuple[int, str, str]:
    capsys.readouterr()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exits
        code = int(exc.code or 0)
    finally:
        sys.stdin = saved
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(code: int, err: str, expected: str, exit_code: int = 2) -> None:
    """One line ``schemahub COMMAND: error: …`` holding ``expected`` (its part after ``error: ``)."""
    assert code == exit_code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    prefix, _, fragment = expected.partition(": error: ")
    assert lines[0].startswith(f"{prefix}: error: ") and fragment in lines[0], err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "bad_json": "\n" + SCHEMA_LINE + "{not json\n",
        "assoc": '{"key":{"keytype":"ASSOC","subject":"s","magic":0},"value":{}}\n',
        "no_key": '{"value": {}}\n',
        "extra_field": '{"key":{"keytype":"NOOP","magic":0},"value":null,"offset":3}\n',
        "bad_schema": '{"key":{"keytype":"SCHEMA","subject":"s","version":1},"value":{"schema":"x"}}\n',
        "users.toml": "this is = not [ toml\n",
        "users.json": '{"users": {"a": {"password": "clear text"}}}\n',
    }
    for name, text in made.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "latin1").write_bytes(SCHEMA_LINE.encode().replace(b'"s"', b'"\xe9"'))
    return {name: tmp_path / name for name in (*made, "latin1")}


def test_numeric_variables_that_are_not_numbers(capsys, monkeypatch):
    for variable, option in NUMERIC_VARIABLES.items():
        monkeypatch.setenv(variable, "abc")
        code, _, err = _in_process(["--help"], capsys)  # help still works
        assert code == 0 and err == ""
        code, _, err = _in_process(["serve", "--help"], capsys)
        assert code == 0 and err == ""
        code, _, err = _in_process(["serve"], capsys)
        _one_line_error(code, err, f"schemahub serve: error: argument {option}: ")
        monkeypatch.delenv(variable)


def test_dump_errors(tmp_path, files, capsys):
    db = tmp_path / "target.db"
    cases = [
        (["export", "--db", str(tmp_path / "mistyped.db")], "no such database file"),
        (["export"], "give --db PATH or --kafka BOOTSTRAP"),
        (["export", "--db", str(files["bad_json"])], "file is not a database"),
        (["import", "-i", str(tmp_path / "missing.jsonl"), "--db", str(db)], "No such file or directory"),
        (["import", "-i", str(files["bad_json"]), "--db", str(db)], "line 3: not JSON"),
        (["import", "-i", str(files["assoc"]), "--db", str(db)], "line 1: unknown record type 'ASSOC'"),
        (["import", "-i", str(files["no_key"]), "--db", str(db)], 'line 1: expected {"key"'),
        (["import", "-i", str(files["extra_field"]), "--db", str(db)], 'line 1: expected {"key"'),
        (["import", "-i", str(files["bad_schema"]), "--db", str(db)], "line 1: bad SCHEMA value"),
        (["import", "-i", str(files["latin1"]), "--db", str(db)], "line 1: not UTF-8 text"),
    ]
    for argv, expected in cases:
        code, _, err = _in_process(argv, capsys)
        _one_line_error(code, err, f"schemahub {argv[0]}: error: {expected}")
    assert not (tmp_path / "mistyped.db").exists()  # export never creates a database
    assert not db.exists()  # import checks every line before it opens the store
    code, _, err = _in_process(["import", "--db", str(db)], capsys, stdin=SCHEMA_LINE + "[]\n")
    _one_line_error(code, err, "schemahub import: error: line 2: expected")
    code, _, err = _in_process(["import", "--db", str(db)], capsys, stdin=SCHEMA_LINE)
    assert code == 0 and err == "imported 1 records\n"
    code, _, err = _in_process(["import", "--db", str(db)], capsys, stdin=SCHEMA_LINE)
    _one_line_error(code, err, "schemahub import: error: the target store already holds schemas", exit_code=1)
    code, _, err = _in_process(["export", "--db", str(db), "-o", str(tmp_path / "no" / "dir.jsonl")], capsys)
    _one_line_error(code, err, "schemahub export: error: no such directory")


def test_users_errors(tmp_path, files, capsys):
    cases = [
        (["users", "check", str(tmp_path / "missing.toml")], "cannot read"),
        (["users", "check", str(files["users.toml"])], "cannot parse"),
        (["users", "check", str(files["users.json"])], "password"),
        (["users", "add", str(tmp_path / "new.toml"), "bob", "--password-stdin"], "empty password"),
        (["users", "add", str(tmp_path / "new.toml"), "a:b", "--password-stdin"], "hold no ':'"),
        (["users", "add", str(files["users.toml"]), "bob", "--password-stdin"], "cannot parse"),
    ]
    for argv, expected in cases:
        code, _, err = _in_process(argv, capsys, stdin="secret\n" if "a:b" in argv else "")
        _one_line_error(code, err, f"schemahub users: error: {expected}")


def test_gate_configuration_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.schemahub]\nproto-paths = 3\n[[tool.schemahub.schemas]]\n'
                                             'files = "*.proto"\nsubject = "x"\n')
    code, _, err = _in_process(["check", "--registry", "http://127.0.0.1:9"], capsys)
    _one_line_error(code, err, "schemahub check: error: 'proto-paths' must be a list of strings, not 3")
    (tmp_path / "pyproject.toml").write_text('[tool.schemahub]\n[[tool.schemahub.schemas]]\n'
                                             'files = "*.avcs"\nsubject = "x"\n')
    code, _, err = _in_process(["register", "--registry", "http://127.0.0.1:9"], capsys)
    _one_line_error(code, err, "schemahub register: error: files = '*.avcs' matches no file")


def test_serve_errors_in_a_real_process(tmp_path):
    """``serve`` starts a server when nothing is wrong, so these run as the installed command would."""
    for argv, expected in (
        (["serve", "--db", "/nonexistent/dir/x.db"], "Cannot open SQLite database /nonexistent/dir/x.db"),
        (["serve", "--log-level", "bogus"], "argument --log-level: 'bogus' is not one of critical"),
        (["serve", "--tls-key", str(tmp_path / "k.pem")], "--tls-key and --tls-client-ca need --tls-cert"),
    ):
        done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
        _one_line_error(done.returncode, done.stderr, f"schemahub serve: error: {expected}")
        assert done.stdout == ""


def _parsers(parser: argparse.ArgumentParser, name: str = "schemahub"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_help_describes_every_option_and_shows_defaults(capsys, monkeypatch):
    for variable in ("SCHEMAHUB_PORT", "SCHEMAHUB_DB", "SCHEMAHUB_TOPIC"):
        monkeypatch.delenv(variable, raising=False)
    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                assert action.help, f"{name} {'/'.join(action.option_strings) or action.dest} has no help"
    _, out, _ = _in_process(["serve", "--help"], capsys)
    text = " ".join(out.split())
    for shown in ("(default: 127.0.0.1)", "(default: 8081)", "(default: ./schemahub.db)", "(default: info)",
                  "(default: _schemas)", "(default: schema-registry)", "(default: 30)"):
        assert shown in text, shown
    monkeypatch.setenv("SCHEMAHUB_PORT", "9000")  # the default in effect is the environment's
    _, out, _ = _in_process(["serve", "--help"], capsys)
    assert "(default: 9000)" in " ".join(out.split())
