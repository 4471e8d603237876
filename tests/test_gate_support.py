"""Helpers for the gate tests: a temporary git project and an in-process ``schemahub`` run."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}

CONFIG = """
[tool.schemahub]
proto-paths = ["protos"]

[[tool.schemahub.schemas]]
files = "avro/*.avsc"
subject = "{stem}-value"

[[tool.schemahub.schemas]]
files = "protos/**/*.proto"
subject = "{path}"

[[tool.schemahub.schemas]]
files = "json/*.json"
subject = "{stem}-json"
level = "FULL"

[tool.schemahub.levels]
"customer-value" = "FORWARD"
"""


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


class Project:
    """A git repository in ``tmp_path`` holding a schemahub project."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
        self.root = root
        self.capsys = capsys
        for key, value in GIT_ENV.items():
            monkeypatch.setenv(key, value)
        for variable in ("URL", "AUTH", "CA", "CERT", "KEY"):
            monkeypatch.delenv(f"SCHEMAHUB_REGISTRY_{variable}", raising=False)
        monkeypatch.chdir(root)
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")
        self.write("pyproject.toml", CONFIG)

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def write(self, path: str, text: str | dict) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text if isinstance(text, str) else json.dumps(text, indent=2) + "\n")

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def run(self, *argv: str, allow_empty: bool = True) -> Run:
        """``schemahub ARGV`` in-process. The shared configuration maps three formats and most
        tests write one, so ``check``/``register`` get ``--allow-empty`` unless ``allow_empty=False``."""
        self.capsys.readouterr()
        extra = ["--allow-empty"] if allow_empty and argv and argv[0] in ("check", "register") else []
        code = main([*argv, *extra])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Project:
    return Project(tmp_path, monkeypatch, capsys)


def avro(*fields: dict, name: str = "Order") -> dict:
    return {"type": "record", "name": name, "namespace": "acme", "fields": list(fields)}


def proto(body: str, package: str = "acme", imports: str = "") -> str:
    return f'syntax = "proto3";\npackage {package};\n{imports}\nmessage Order {{\n{body}\n}}\n'


# The workflow-command syntax (docs.github.com, "Workflow commands for GitHub Actions"):
# ::name key=value,key=value::message, properties escaped (% \r \n : ,), the message escaped (% \r \n).
_PROPERTY = r"[A-Za-z]+=(?:[^%,:\r\n]|%25|%0D|%0A|%3A|%2C)*"
WORKFLOW_COMMAND = re.compile(
    rf"^::(error|warning|notice|debug)(?: {_PROPERTY}(?:,{_PROPERTY})*)?::(?:[^%\r\n]|%25|%0D|%0A)*$"
)


def unescape(value: str) -> str:
    return (value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    assert WORKFLOW_COMMAND.match(line), f"not a workflow command: {line!r}"
    head, message = line[2:].split("::", 1)
    kind, _, props = head.partition(" ")
    properties = dict(p.split("=", 1) for p in props.split(",")) if props else {}
    return kind, {k: unescape(v) for k, v in properties.items()}, unescape(message)
