"""``--format sarif``: results as a SARIF 2.1.0 log, for code scanning
(GitHub's ``upload-sarif`` action shows each finding on its line).

One run; one rule per Confluent error type (``avro/TYPE_MISMATCH``,
``protobuf/FIELD_SCALAR_KIND_CHANGED``, …) plus ``schemahub/*`` rules for
removed files, errors and warnings. Locations are relative to the repository
root (``%SRCROOT%``); Confluent's message travels in each result's properties.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from .explain import Finding
from .report import Result, exit_code

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

_GATE_RULES = {
    "schemahub/incompatible": "A schema change that the subject's compatibility level rejects",
    "schemahub/removed-file": "A schema file that existed at the base revision was deleted",
    "schemahub/error": "The file could not be checked (parse, reference or registry error)",
    "schemahub/warning": "The configuration and the registry disagree",
}


def _tool_version() -> str:
    try:
        return package_version("schemahub")
    except PackageNotFoundError:
        return "0"


class _Log:
    def __init__(self) -> None:
        self.rules: dict[str, dict] = {}
        self.results: list[dict] = []

    def rule(self, rule_id: str, description: str) -> int:
        if rule_id not in self.rules:
            self.rules[rule_id] = {"id": rule_id, "shortDescription": {"text": description}}
        return list(self.rules).index(rule_id)

    def add(self, rule_id: str, description: str, level: str, text: str, path: str,
            line: int | None = None, column: int | None = None, properties: dict | None = None) -> None:
        location: dict = {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"}}
        if line is not None:
            location["region"] = {"startLine": line, **({"startColumn": column} if column else {})}
        result = {
            "ruleId": rule_id, "ruleIndex": self.rule(rule_id, description), "level": level,
            "message": {"text": text}, "locations": [{"physicalLocation": location}],
        }
        if properties:
            result["properties"] = properties
        self.results.append(result)


def _finding(log: _Log, r: Result, f: Finding, schema_type: str | None) -> None:
    if f.error_type and schema_type:
        rule_id, description = f"{schema_type.lower()}/{f.error_type}", f"{schema_type} {f.error_type}"
    else:
        rule_id, description = "schemahub/incompatible", _GATE_RULES["schemahub/incompatible"]
    properties = {"confluent": f.confluent, "subject": r.subject, "level": r.level, "against": r.against,
                  "removedAt": f.removed_at}
    log.add(rule_id, description, "error", f.message, r.location, f.line, f.column,
            {k: v for k, v in properties.items() if v is not None})


def render_sarif(results: list[Result], command: str, *, error: str | None = None) -> str:
    """The SARIF log of a run; ``error`` for a run stopped before it had results."""
    log = _Log()
    for r in results:
        if r.status == "incompatible":
            for f in r.findings:
                _finding(log, r, f, r.schema_type)
            if not r.findings:
                log.add("schemahub/incompatible", _GATE_RULES["schemahub/incompatible"], "error",
                        "\n".join(r.messages) or "incompatible", r.location)
        elif r.status == "removed":
            log.add("schemahub/removed-file", _GATE_RULES["schemahub/removed-file"], "error",
                    "\n".join(r.messages) or "schema file removed", r.location)
        elif r.status == "error":
            log.add("schemahub/error", _GATE_RULES["schemahub/error"], "error", "\n".join(r.messages), r.location)
        for warning in r.warnings:
            log.add("schemahub/warning", _GATE_RULES["schemahub/warning"], "warning", warning, r.location)
    code = 2 if error is not None else exit_code(results)
    invocation: dict = {"executionSuccessful": code != 2, "exitCode": code, "commandLine": f"schemahub {command}"}
    if error is not None:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": error}}]
    driver = {"name": "schemahub", "version": _tool_version(), "rules": list(log.rules.values())}
    run = {"tool": {"driver": driver}, "invocations": [invocation], "results": log.results}
    return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, indent=2)
