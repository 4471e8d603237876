"""Results of ``check``/``register`` and their three renderings: text, JSON, GitHub."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

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
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    id: int | None = None
    version: int | None = None
    # Not rendered: where the file is for annotations, and its text for line lookup.
    annotation_path: str | None = field(default=None, repr=False)
    text: str | None = field(default=None, repr=False)
    schema_type: str | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("annotation_path", "text", "schema_type"):
            data.pop(key)
        return {k: v for k, v in data.items() if v not in (None, [])}


def exit_code(results: list[Result]) -> int:
    if any(r.status in ERRORS for r in results):
        return 2
    if any(r.status in FAILING for r in results):
        return 1
    return 0


# -- text ------------------------------------------------------------------------

_LABEL = {
    "compatible": "ok", "incompatible": "BREAKING", "new": "new", "removed": "REMOVED", "error": "ERROR",
    "unchanged": "unchanged", "registered": "registered", "would-register": "would register",
}


def render_text(results: list[Result], command: str) -> str:
    lines: list[str] = []
    for r in results:
        head = f"{_LABEL.get(r.status, r.status):<10} {r.file}"
        if r.subject is not None:
            head += f"  subject={r.subject}"
        if r.level is not None:
            head += f"  level={r.level}"
        if r.id is not None:
            head += f"  id={r.id}"
        if r.version is not None:
            head += f"  version={r.version}"
        if r.against:
            head += f"  against {r.against}"
        lines.append(head)
        lines += ["    " + m.replace("\n", "\n      ") for m in r.messages]
        lines += [f"    note: {n}" for n in r.notes]
        lines += [f"    warning: {w}" for w in r.warnings]
    lines.append(summary(results, command))
    return "\n".join(lines)


def summary(results: list[Result], command: str) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = ", ".join(f"{n} {_LABEL.get(s, s).lower()}" for s, n in sorted(counts.items()))
    verdict = {0: "passed", 1: "FAILED: breaking changes", 2: "FAILED: errors"}[exit_code(results)]
    return f"schemahub {command}: {len(results)} file(s): {parts or 'nothing to check'}; {verdict}"


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


def _is_context(message: str) -> bool:
    return message.startswith(("{oldSchemaVersion:", "{oldSchema:", "{validateFields:"))


def render_github(results: list[Result], command: str) -> str:
    lines: list[str] = []
    for r in results:
        path = r.annotation_path or r.file
        where = f"{r.subject} ({r.level})" if r.level else str(r.subject or r.file)
        if r.status == "incompatible":
            context = [m for m in r.messages if _is_context(m) and not m.startswith("{oldSchema:")]
            issues = [m for m in r.messages if not _is_context(m)] or ["incompatible"]
            suffix = ("\n" + "\n".join(context)) if context else ""
            if r.against:
                suffix += f"\nchecked against {r.against}"
            for message in issues:
                line = locate_line(r.schema_type, r.text or "", message)
                lines.append(
                    workflow_command(
                        "error", message + suffix, file=path, line=line, title=f"Breaking schema change: {where}"
                    )
                )
        elif r.status == "removed":
            lines.append(
                workflow_command(
                    "error", "\n".join(r.messages) or "schema file removed", file=path,
                    title=f"Schema removed: {where}",
                )
            )
        elif r.status == "error":
            lines.append(workflow_command("error", "\n".join(r.messages), file=path, title="schemahub: error"))
        for warning in r.warnings:
            lines.append(workflow_command("warning", warning, file=path, title=f"schemahub: {where}"))
    lines.append(workflow_command("notice", summary(results, command), title=f"schemahub {command}"))
    return "\n".join(lines)


# -- which line a message is about -------------------------------------------------

_AVRO_PATH = re.compile(r"path '(/[^']*)'")
_HASH_PATH = re.compile(r"path '#(/[^']*)'")


def locate_line(schema_type: str | None, text: str, message: str) -> int:
    """The 1-based line of ``text`` the message points at; 1 when unknown."""
    try:
        if schema_type == "AVRO":
            found = _AVRO_PATH.search(message)
            if found:
                return _json_pointer_line(text, found.group(1), name_key="name")
        elif schema_type == "JSON":
            found = _HASH_PATH.search(message)
            if found:
                return _json_pointer_line(text, found.group(1), name_key=None)
        elif schema_type == "PROTOBUF":
            found = _HASH_PATH.search(message)
            if found:
                return _proto_line(text, found.group(1))
    except Exception:
        return 1
    return 1


def _line_of(text: str, pattern: str, start: int = 0) -> int | None:
    found = re.compile(pattern).search(text, start)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _json_pointer_line(text: str, pointer: str, name_key: str | None) -> int:
    """Walk the pointer through the document, remembering the deepest key or
    (Avro) ``name`` seen, then find that token's line."""
    node: object = json.loads(text)
    tokens: list[str] = []
    for raw in pointer.strip("/").split("/"):
        if not raw:
            continue
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            if name_key is None and token not in ("properties", "items", "definitions", "$defs"):
                tokens.append(token)
            node = node[token]
        else:
            break
        if name_key and isinstance(node, dict) and isinstance(node.get(name_key), str):
            tokens.append(node[name_key])
    for token in reversed(tokens):
        if name_key:
            line = _line_of(text, rf'"{name_key}"\s*:\s*"{re.escape(token)}"')
        else:
            line = _line_of(text, rf'"{re.escape(token)}"\s*:')
        if line:
            return line
    return 1


def _proto_line(text: str, path: str) -> int:
    """``/Outer/Inner/7`` → the line of field 7 in message Inner (or the message's line)."""
    parts = [p for p in path.split("/") if p]
    position, line = 0, 1
    for part in parts:
        if part.isdigit():
            found = re.compile(rf"=\s*{part}\s*[;\[]").search(text, position)
            if found:
                return text.count("\n", 0, found.start()) + 1
            return line
        found = re.compile(rf"\b(?:message|enum)\s+{re.escape(part)}\b").search(text, position)
        if not found:
            return line
        position = found.end()
        line = text.count("\n", 0, found.start()) + 1
    return line
