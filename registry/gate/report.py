"""Results of ``check``/``register`` and their renderings: text, JSON and GitHub
workflow commands (SARIF: :mod:`.sarif`; the job summary: :mod:`.summary`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .explain import Finding, is_context

# Statuses that fail the gate (exit 1) and that are errors (exit 2).
FAILING = {"incompatible", "removed"}
ERRORS = {"error"}


@dataclass
class Result:
    file: str  # root-relative path
    status: str  # compatible, incompatible, new, removed, error, unchanged, registered, would-register
    subject: str | None = None
    level: str | None = None
    against: str | None = None
    findings: list[Finding] = field(default_factory=list)  # one per incompatibility, in the file
    messages: list[str] = field(default_factory=list)  # Confluent's messages, or the error
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    id: int | None = None
    version: int | None = None
    annotation_path: str | None = field(default=None, repr=False)  # the path from the repository root
    schema_type: str | None = field(default=None, repr=False)

    @property
    def location(self) -> str:
        return self.annotation_path or self.file

    def to_json(self) -> dict:
        data: dict = {"file": self.file, "status": self.status}
        for key in ("subject", "level", "against"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.findings:
            data["findings"] = [{"file": self.location, **f.to_json()} for f in self.findings]
        for key in ("messages", "notes", "warnings"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        for key in ("id", "version"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


def exit_code(results: list[Result]) -> int:
    if any(r.status in ERRORS for r in results):
        return 2
    if any(r.status in FAILING for r in results):
        return 1
    return 0


LABEL = {
    "compatible": "ok", "incompatible": "BREAKING", "new": "new", "removed": "REMOVED", "error": "ERROR",
    "unchanged": "unchanged", "registered": "registered", "would-register": "would register",
}


def summary(results: list[Result], command: str) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = ", ".join(f"{n} {LABEL.get(s, s).lower()}" for s, n in sorted(counts.items()))
    return f"schemahub {command}: {len(results)} file(s): {parts or 'nothing to check'}; {verdict(results)}"


def verdict(results: list[Result]) -> str:
    return {0: "passed", 1: "FAILED: breaking changes", 2: "FAILED: errors"}[exit_code(results)]


def finding_place(result: Result, finding: Finding) -> str:
    """``path:line:column`` (``REF:path:line:column`` for an element only the old file has)."""
    return finding.removed_at or f"{result.location}:{finding.line}:{finding.column}"


def finding_line(result: Result, finding: Finding) -> str:
    """``path:line:column:sentence``, as ``buf breaking`` prints them."""
    return f"{finding_place(result, finding)}:{finding.message}"


# -- text ------------------------------------------------------------------------


def render_text(results: list[Result], command: str, *, verbose: bool = False) -> str:
    lines: list[str] = []
    for r in results:
        head = f"{LABEL.get(r.status, r.status):<10} {r.file}"
        for key in ("subject", "level", "id", "version"):
            if getattr(r, key) is not None:
                head += f"  {key}={getattr(r, key)}"
        if r.against:
            head += f"  against {r.against}"
        lines.append(head)
        for f in r.findings:
            lines.append(finding_line(r, f))
            if verbose:
                lines.append("    " + f.confluent.replace("\n", "\n      "))
        # With findings, Confluent's messages are behind --verbose (each under its finding, context last).
        shown = [m for m in r.messages if is_context(m)] if verbose else []
        lines += ["    " + m.replace("\n", "\n      ") for m in (shown if r.findings else r.messages)]
        lines += [f"    note: {n}" for n in r.notes]
        lines += [f"    warning: {w}" for w in r.warnings]
    lines.append(summary(results, command))
    return "\n".join(lines)


def render_json(results: list[Result], command: str) -> str:
    code = exit_code(results)
    return json.dumps(
        {"command": command, "ok": code == 0, "exit_code": code, "results": [r.to_json() for r in results]},
        indent=2,
    )


# -- GitHub workflow commands ----------------------------------------------------


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, message: str, **properties: object) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def render_github(results: list[Result], command: str, *, verbose: bool = False) -> str:
    lines: list[str] = []
    for r in results:
        where = f"{r.subject or r.file} ({r.level})" if r.level else str(r.subject or r.file)
        if r.status == "incompatible":
            lines += _breaking_annotations(r, where, verbose)
        elif r.status == "removed":
            lines.append(workflow_command("error", "\n".join(r.messages) or "schema file removed", file=r.location,
                                          title=f"Schema removed: {where}"))
        elif r.status == "error":
            lines.append(workflow_command("error", "\n".join(r.messages), file=r.location, title="schemahub: error"))
        for warning in r.warnings:
            lines.append(workflow_command("warning", warning, file=r.location, title=f"schemahub: {where}"))
    lines.append(workflow_command("notice", summary(results, command), title=f"schemahub {command}"))
    return "\n".join(lines)


def _breaking_annotations(r: Result, where: str, verbose: bool) -> list[str]:
    lines = []
    for f in r.findings or []:
        message = f.message
        if f.removed_at:
            message += f"\n(in the old file: {f.removed_at})"
        if verbose:
            message += "\n" + f.confluent
        if r.against:
            message += f"\nchecked against {r.against}"
        lines.append(workflow_command("error", message, file=r.location, line=f.line, col=f.column,
                                      title=f"Breaking schema change: {where}"))
    if not r.findings:
        lines.append(workflow_command("error", "\n".join(r.messages) or "incompatible", file=r.location,
                                      title=f"Breaking schema change: {where}"))
    return lines
