"""Confluent's messages turned into findings a reviewer reads: one sentence per
incompatibility, at the line and column of the element it is about.

The sentence and the position come from the format (:meth:`SchemaFormat.explain`);
this module pairs each message with the new file and the old version it was
checked against, and keeps Confluent's message beside the sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compatibility import Finding as EngineFinding
from ..formats import get_format
from ..formats.base import Position, SchemaText

CONTEXT_PREFIXES = ("{oldSchemaVersion:", "{oldSchema:", "{validateFields:")


def is_context(message: str) -> bool:
    """Confluent's trailing entries (which version, its text, the level), not incompatibilities."""
    return message.startswith(CONTEXT_PREFIXES)


@dataclass(frozen=True)
class OldVersion:
    """The version a check failed against: its schema and text, and where that text came from."""

    schema: SchemaText
    label: str | None = None  # ``REF:path`` when it is a file at a git revision; None for the registry's copy


@dataclass(frozen=True)
class Finding:
    """One breaking change: a sentence at a place in the new file, with Confluent's message.

    ``removed_at`` is ``REF:path:line:column`` of the element in the old file
    when the change removed it (git checks only).
    """

    line: int
    column: int
    message: str
    confluent: str
    error_type: str | None = None
    removed_at: str | None = None

    def to_json(self) -> dict:
        data = {"line": self.line, "column": self.column, "message": self.message, "confluent": self.confluent}
        if self.error_type:
            data["errorType"] = self.error_type
        if self.removed_at:
            data["removedAt"] = self.removed_at
        return data


def from_messages(schema_type: str, messages: list[str]) -> list[EngineFinding]:
    """Messages a registry answered, read back into the incompatibilities they stand for."""
    fmt = get_format(schema_type)
    out = []
    for message in messages:
        read = None if is_context(message) else fmt.read_message(message)
        if read is None:
            out.append(EngineFinding(message))
        else:
            out.append(EngineFinding(message, read[0], "new" if read[1] else "old"))
    return out


def findings(schema_type: str, found: list[EngineFinding], new: SchemaText, old: OldVersion | None) -> list[Finding]:
    """A finding for each incompatibility (context entries skipped, duplicates merged),
    in the order of their places in the new file."""
    fmt = get_format(schema_type)
    out: list[Finding] = []
    seen: set[tuple[int, int, str]] = set()
    for item in found:
        if is_context(item.message):
            continue
        issue = item.incompatibility
        if issue is None:  # a different schema type, reserved fields: Confluent's words are the sentence
            finding = Finding(1, 1, item.message, item.message)
        else:
            try:
                explanation = fmt.explain(issue, new, old.schema if old else None, new_is_reader=item.reader != "old")
            except (ValueError, KeyError, IndexError, TypeError, RecursionError):
                finding = Finding(1, 1, item.message, item.message, issue.error_type)
            else:
                at = explanation.new_position or Position(1, 1)
                removed_at = None
                if explanation.old_position is not None and old is not None and old.label is not None:
                    removed_at = f"{old.label}:{explanation.old_position.line}:{explanation.old_position.column}"
                finding = Finding(at.line, at.column, explanation.sentence, item.message, issue.error_type, removed_at)
        key = (finding.line, finding.column, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return sorted(out, key=lambda f: (f.line, f.column))
